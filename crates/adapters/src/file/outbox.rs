//! The outbox in the file store: [`OutboxStore`] for [`FileStore`].
//!
//! Six tables (see the format module; they are additive to format 3 and created by
//! the first outbox write): the entries, an index by due time that `claim` reads in
//! order, an index by creation time for [`stats`](OutboxStore::stats), an index by
//! chat for [`drop_chat`](OutboxStore::drop_chat), and the remembered ids with an
//! index by the time they are forgotten.
//!
//! Every mutating call is one redb write transaction on the blocking pool, committed
//! with the store's immediate durability before it returns (the history's
//! group-commit writer is for history alone: outbox writes are few and each caller
//! waits for its own). A `claim` that finds nothing due and a `drop_chat` that finds
//! nothing abort their transaction instead (an idle dispatcher polling every 200 ms
//! costs no disk syncs). `stats` is one read transaction.
//!
//! An entry whose stored bytes cannot be read (over
//! [`MAX_OUTBOX_ENTRY_BYTES`](crate::MAX_OUTBOX_ENTRY_BYTES), not JSON
//! of an [`OutboxEntry`], or naming another id) is never returned: `claim` logs it,
//! skips it and makes it due again after the claim's TTL like the entries it
//! returns, so it neither blocks the queue nor is lost for a build that can read it
//! (`complete` and `drop_chat` still remove it).

use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::outbox::{OutboxEntry, OutboxStats, Priority, QueueStats};
use mcstat_core::ports::{OutboxStore, StoreError};
use mcstat_core::{ChatRef, Platform, Timestamp};
use redb::{ReadableTable, Table, WriteTransaction};

use super::format::{
    OUTBOX, OUTBOX_BY_CHAT, OUTBOX_CREATED, OUTBOX_DUE, OUTBOX_SEEN, OUTBOX_SEEN_EXPIRY, OutboxRow,
};
use super::{DbResult, FileStore, read_table};
use crate::outbox_json;

/// How many forgotten ids one `push` deletes at most (the rest go in later pushes).
const PRUNE_PER_PUSH: usize = 256;

/// An entry's row, owned.
struct Stored {
    due: u64,
    rank: u8,
    created: u64,
    chat: String,
    json: Vec<u8>,
}

impl Stored {
    fn from_row(row: OutboxRow<'_>) -> Self {
        let (due, rank, created, chat, json) = row;
        Self {
            due,
            rank,
            created,
            chat: chat.to_owned(),
            json: json.to_vec(),
        }
    }

    fn row(&self) -> OutboxRow<'_> {
        (
            self.due,
            self.rank,
            self.created,
            self.chat.as_str(),
            self.json.as_slice(),
        )
    }
}

/// The outbox tables, open in one write transaction.
struct Tables<'txn> {
    entries: Table<'txn, (&'static str, &'static str), OutboxRow<'static>>,
    due: Table<'txn, (&'static str, u8, u64, &'static str), ()>,
    created: Table<'txn, (&'static str, u8, u64, &'static str), ()>,
    by_chat: Table<'txn, (&'static str, &'static str), ()>,
    seen: Table<'txn, (&'static str, &'static str), u64>,
    seen_expiry: Table<'txn, (u64, &'static str, &'static str), ()>,
}

impl<'txn> Tables<'txn> {
    /// Open (creating on first use) every outbox table.
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            entries: txn.open_table(OUTBOX).db()?,
            due: txn.open_table(OUTBOX_DUE).db()?,
            created: txn.open_table(OUTBOX_CREATED).db()?,
            by_chat: txn.open_table(OUTBOX_BY_CHAT).db()?,
            seen: txn.open_table(OUTBOX_SEEN).db()?,
            seen_expiry: txn.open_table(OUTBOX_SEEN_EXPIRY).db()?,
        })
    }

    fn get(&self, platform: &str, id: &str) -> Result<Option<Stored>, StoreError> {
        Ok(self
            .entries
            .get((platform, id))
            .db()?
            .map(|v| Stored::from_row(v.value())))
    }

    /// Add a new entry (not pending) and its index rows.
    fn add(&mut self, platform: &str, id: &str, stored: &Stored) -> Result<(), StoreError> {
        self.entries.insert((platform, id), stored.row()).db()?;
        self.due
            .insert((platform, stored.rank, stored.due, id), ())
            .db()?;
        self.created
            .insert((platform, stored.rank, stored.created, id), ())
            .db()?;
        self.by_chat.insert((stored.chat.as_str(), id), ()).db()?;
        Ok(())
    }

    /// Make a pending entry due at `due`.
    fn set_due(
        &mut self,
        platform: &str,
        id: &str,
        stored: &mut Stored,
        due: u64,
    ) -> Result<(), StoreError> {
        self.due
            .remove((platform, stored.rank, stored.due, id))
            .db()?;
        stored.due = due;
        self.due.insert((platform, stored.rank, due, id), ()).db()?;
        self.entries.insert((platform, id), stored.row()).db()?;
        Ok(())
    }

    /// Remove a pending entry and its index rows; whether it was pending.
    fn remove(&mut self, platform: &str, id: &str) -> Result<bool, StoreError> {
        let Some(stored) = self
            .entries
            .remove((platform, id))
            .db()?
            .map(|v| Stored::from_row(v.value()))
        else {
            return Ok(false);
        };
        self.due
            .remove((platform, stored.rank, stored.due, id))
            .db()?;
        self.created
            .remove((platform, stored.rank, stored.created, id))
            .db()?;
        self.by_chat.remove((stored.chat.as_str(), id)).db()?;
        Ok(true)
    }

    /// Remember `id` until `until` (replacing an older, forgotten remember).
    fn remember(&mut self, platform: &str, id: &str, until: u64) -> Result<(), StoreError> {
        if let Some(old) = self.seen.insert((platform, id), until).db()? {
            let old = old.value();
            self.seen_expiry.remove((old, platform, id)).db()?;
        }
        self.seen_expiry.insert((until, platform, id), ()).db()?;
        Ok(())
    }

    /// Forget at most [`PRUNE_PER_PUSH`] ids remembered until `now` or earlier.
    fn prune_seen(&mut self, now: u64) -> Result<(), StoreError> {
        let mut forgotten: Vec<(u64, String, String)> = Vec::new();
        for row in self.seen_expiry.iter().db()? {
            let (key, _) = row.db()?;
            let (until, platform, id) = key.value();
            if until > now || forgotten.len() >= PRUNE_PER_PUSH {
                break;
            }
            forgotten.push((until, platform.to_owned(), id.to_owned()));
        }
        for (until, platform, id) in &forgotten {
            self.seen_expiry
                .remove((*until, platform.as_str(), id.as_str()))
                .db()?;
            self.seen.remove((platform.as_str(), id.as_str())).db()?;
        }
        Ok(())
    }
}

/// Commit a claim that found entries; abort one that found none (an idle poll:
/// nothing to commit, no disk sync).
fn settle_claim(
    txn: WriteTransaction,
    claimed: Option<Vec<OutboxEntry>>,
) -> Result<Vec<OutboxEntry>, StoreError> {
    match claimed {
        Some(claimed) => {
            txn.commit().db()?;
            Ok(claimed)
        }
        None => {
            txn.abort().db()?;
            Ok(Vec::new())
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The stored form of a new entry, due at its `not_before`.
fn encode_entry(entry: &OutboxEntry) -> Result<(Platform, String, Stored), StoreError> {
    Ok((
        entry.platform(),
        entry.id.clone(),
        Stored {
            due: entry.not_before.0,
            rank: entry.priority.rank(),
            created: entry.created.0,
            chat: entry.chat.key(),
            json: outbox_json::encode(entry)?,
        },
    ))
}

#[async_trait]
impl OutboxStore for FileStore {
    /// One write transaction; it also forgets up to 256 ids whose remember time
    /// has passed. Fails with [`StoreError::Backend`] (adding nothing) when an
    /// entry's JSON is over [`MAX_OUTBOX_ENTRY_BYTES`](crate::MAX_OUTBOX_ENTRY_BYTES).
    async fn push(
        &self,
        entries: &[OutboxEntry],
        now: Timestamp,
        remember: Duration,
    ) -> Result<usize, StoreError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let rows = entries
            .iter()
            .map(encode_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let now = now.0;
        let until = now.saturating_add(duration_ms(remember));
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            let added = {
                let mut t = Tables::open(&txn)?;
                t.prune_seen(now)?;
                let mut added = 0;
                for (platform, id, stored) in &rows {
                    let platform = platform.as_str();
                    if t.entries.get((platform, id.as_str())).db()?.is_some() {
                        continue;
                    }
                    let remembered = t.seen.get((platform, id.as_str())).db()?;
                    if remembered.is_some_and(|until| until.value() > now) {
                        continue;
                    }
                    t.remember(platform, id, until)?;
                    t.add(platform, id, stored)?;
                    added += 1;
                }
                added
            };
            txn.commit().db()?;
            Ok(added)
        })
        .await
    }

    async fn claim(
        &self,
        platform: Platform,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let platform = platform.as_str();
        let now = now.0;
        let again = now.saturating_add(duration_ms(ttl));
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            let claimed = {
                let mut t = Tables::open(&txn)?;
                let mut due_ids: Vec<(u8, u64, String)> = Vec::new();
                for rank in Priority::ALL.map(Priority::rank) {
                    let room = max - due_ids.len();
                    if room == 0 {
                        break;
                    }
                    for row in t.due.range((platform, rank, 0, "")..).db()?.take(room) {
                        let (key, _) = row.db()?;
                        let (p, r, due, id) = key.value();
                        if p != platform || r != rank || due > now {
                            break;
                        }
                        due_ids.push((rank, due, id.to_owned()));
                    }
                }
                if due_ids.is_empty() {
                    None
                } else {
                    let mut claimed = Vec::with_capacity(due_ids.len());
                    for (rank, due, id) in &due_ids {
                        let Some(mut stored) = t.get(platform, id)? else {
                            // An index row without its entry: tidy it away.
                            t.due.remove((platform, *rank, *due, id.as_str())).db()?;
                            continue;
                        };
                        t.set_due(platform, id, &mut stored, again)?;
                        if let Some(entry) = outbox_json::decode(platform, id, &stored.json) {
                            claimed.push(entry);
                        }
                    }
                    Some(claimed)
                }
            };
            settle_claim(txn, claimed)
        })
        .await
    }

    async fn claim_chat(
        &self,
        chat: &ChatRef,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let platform = chat.platform().as_str();
        let chat = chat.key();
        let now = now.0;
        let again = now.saturating_add(duration_ms(ttl));
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            let claimed = {
                let mut t = Tables::open(&txn)?;
                let mut ids: Vec<String> = Vec::new();
                for row in t.by_chat.range((chat.as_str(), "")..).db()? {
                    let (key, _) = row.db()?;
                    let (c, id) = key.value();
                    if c != chat {
                        break;
                    }
                    ids.push(id.to_owned());
                }
                let mut due: Vec<(u8, u64, String, Stored)> = Vec::new();
                for id in ids {
                    if let Some(stored) = t.get(platform, &id)?
                        && stored.due <= now
                    {
                        due.push((stored.rank, stored.due, id, stored));
                    }
                }
                due.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
                due.truncate(max);
                if due.is_empty() {
                    None
                } else {
                    let mut claimed = Vec::with_capacity(due.len());
                    for (_, _, id, mut stored) in due {
                        t.set_due(platform, &id, &mut stored, again)?;
                        if let Some(entry) = outbox_json::decode(platform, &id, &stored.json) {
                            claimed.push(entry);
                        }
                    }
                    Some(claimed)
                }
            };
            settle_claim(txn, claimed)
        })
        .await
    }

    async fn complete(&self, platform: Platform, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let platform = platform.as_str();
        let ids = ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            {
                let mut t = Tables::open(&txn)?;
                for id in &ids {
                    t.remove(platform, id)?;
                }
            }
            txn.commit().db()
        })
        .await
    }

    async fn reschedule(&self, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let updates: Vec<(Platform, String, u32, Timestamp)> = entries
            .iter()
            .map(|e| (e.platform(), e.id.clone(), e.attempts, e.not_before))
            .collect();
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            {
                let mut t = Tables::open(&txn)?;
                for (platform, id, attempts, not_before) in &updates {
                    let platform = platform.as_str();
                    let Some(mut stored) = t.get(platform, id)? else {
                        continue;
                    };
                    let Some(mut entry) = outbox_json::decode(platform, id, &stored.json) else {
                        continue;
                    };
                    entry.attempts = *attempts;
                    entry.not_before = *not_before;
                    stored.json = outbox_json::encode(&entry)?;
                    t.set_due(platform, id, &mut stored, not_before.0)?;
                }
            }
            txn.commit().db()
        })
        .await
    }

    async fn drop_chat(&self, chat: &ChatRef) -> Result<usize, StoreError> {
        let platform = chat.platform().as_str();
        let chat = chat.key();
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            let (dropped, found) = {
                let mut t = Tables::open(&txn)?;
                let mut ids: Vec<String> = Vec::new();
                for row in t.by_chat.range((chat.as_str(), "")..).db()? {
                    let (key, _) = row.db()?;
                    let (c, id) = key.value();
                    if c != chat {
                        break;
                    }
                    ids.push(id.to_owned());
                }
                let mut dropped = 0;
                for id in &ids {
                    if t.remove(platform, id)? {
                        dropped += 1;
                    } else {
                        // An index row without its entry: tidy it away.
                        t.by_chat.remove((chat.as_str(), id.as_str())).db()?;
                    }
                }
                (dropped, !ids.is_empty())
            };
            if found {
                txn.commit().db()?;
            } else {
                txn.abort().db()?;
            }
            Ok(dropped)
        })
        .await
    }

    /// Counts by reading the creation index of `platform` (linear in its pending
    /// entries: a few milliseconds for a hundred thousand).
    async fn stats(&self, platform: Platform) -> Result<OutboxStats, StoreError> {
        let platform = platform.as_str();
        self.blocking(move |db| {
            let txn = db.begin_read().db()?;
            let mut stats = OutboxStats::default();
            let Some(created) = read_table(&txn, OUTBOX_CREATED)? else {
                return Ok(stats);
            };
            for priority in Priority::ALL {
                let rank = priority.rank();
                let queue: &mut QueueStats = &mut stats.queues[usize::from(rank)];
                for row in created.range((platform, rank, 0, "")..).db()? {
                    let (key, _) = row.db()?;
                    let (p, r, at, _) = key.value();
                    if p != platform || r != rank {
                        break;
                    }
                    queue.oldest.get_or_insert(Timestamp(at));
                    queue.pending += 1;
                }
            }
            Ok(stats)
        })
        .await
    }
}
