//! The on-disk format of [`FileStore`](super::FileStore): tables, the format version
//! and the forward migrations.
//!
//! Format 3 (current). Chat state, watches and the audit log are JSON texts; history
//! is the bytes of [`mcstat_core::history`] (a head and chunks per target, see its
//! module docs), which the store keeps without reading them:
//!
//! | table             | key                              | value |
//! |-------------------|----------------------------------|-------|
//! | `meta`            | `"format_version"`, `"audit_seq"` | `u64` |
//! | `chat_state`      | chat key (`telegram:42`)         | [`ChatState`] |
//! | `watches`         | (target key, chat key)           | [`Watch`](mcstat_core::Watch) |
//! | `watches_by_chat` | (chat key, target key)           | `()` (index) |
//! | `history_head`    | target key                       | head bytes ([`SeriesHead`](mcstat_core::history::SeriesHead)) |
//! | `history_chunk`   | (target key, [`Stream::code`](mcstat_core::history::Stream::code), chunk index) | chunk bytes |
//! | `history_chunk_by_index` | ([`Stream::code`](mcstat_core::history::Stream::code), chunk index, target key) | `()` (index for pruning) |
//! | `audit`           | (scope key, at ms, sequence)     | [`AuditEntry`](mcstat_core::AuditEntry) |
//! | `outbox`          | (platform, entry id)             | (due ms, [`Priority::rank`](mcstat_core::outbox::Priority::rank), created ms, chat key, [`OutboxEntry`](mcstat_core::outbox::OutboxEntry) JSON bytes) |
//! | `outbox_due`      | (platform, priority rank, due ms, entry id) | `()` (index: `claim` reads it in order) |
//! | `outbox_created`  | (platform, priority rank, created ms, entry id) | `()` (index: counts and the oldest entry per priority) |
//! | `outbox_by_chat`  | (chat key, entry id)             | `()` (index for `drop_chat`) |
//! | `outbox_seen`     | (platform, entry id)             | `u64`: remembered until (ms) |
//! | `outbox_seen_expiry` | (remembered until ms, platform, entry id) | `()` (index: forgetting ids) |
//!
//! The six `outbox*` tables ([`OutboxStore`](mcstat_core::ports::OutboxStore), see
//! the outbox module) are **additive to format 3**, so they do not bump the format
//! version: they are created by the first outbox write (a file that never had an
//! outbox reads as an empty one), and a build that predates them opens a file that
//! has them as format 3 and never looks at them. Only the outbox's rows are in them;
//! no table of format 3 changed. A downgraded bot loses nothing but its pending
//! messages, which it would not have sent anyway.
//!
//! `history_chunk_by_index` lists every chunk by stream and number: a chunk's end,
//! and so its expiry ([`HistoryConfig::expires_at`]), grows with its number, so
//! pruning reads each stream's index from the start and stops at the first chunk
//! that is still kept, with the retention configured *now* (a shortened retention
//! prunes the chunks it no longer keeps).
//!
//! Format 2 kept history as one JSON [`HistorySample`] per (target, ms) in `history`
//! (key (target key, at ms)) with the index `history_by_time` ((at ms, target key) →
//! `()`); the other tables were as in format 3. [`prepare`] migrates it **one target
//! per write transaction**: the target's samples, oldest first, go through
//! [`history::prepare`](mcstat_core::history::prepare) into the new tables and its old
//! rows are deleted in the same transaction. A crash during the migration leaves the
//! finished targets migrated and the others in the old tables; the next open goes on.
//! The format version becomes 3 (and the old tables are dropped) once the old tables
//! are empty. Samples older than the raw window stay in the raw chunks until the next
//! prune; the rollups get every sample.
//!
//! Format 1 (pre-release) kept chat state in a table `chat` as
//! `{"last": "host:port", "recent": [...], "lang": "en"}`; the other tables were as in
//! format 2. [`prepare`] migrates it to format 2 in one write transaction (a crash
//! leaves the format-1 file untouched), then on to format 3.

use std::collections::BTreeMap;

use mcstat_core::history::HistoryConfig;
use mcstat_core::ports::StoreError;
use mcstat_core::{ChatState, HistorySample, Target};
use redb::{Database, ReadableTable, TableDefinition, TableError, TableHandle};
use serde::Deserialize;

use super::FileStoreError;

/// The format this build writes.
pub(crate) const CURRENT: u64 = 3;

pub(crate) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
pub(crate) const FORMAT_KEY: &str = "format_version";
pub(crate) const AUDIT_SEQ_KEY: &str = "audit_seq";

pub(crate) const CHAT_STATE: TableDefinition<'_, &str, &str> = TableDefinition::new("chat_state");
pub(crate) const WATCHES: TableDefinition<'_, (&str, &str), &str> = TableDefinition::new("watches");
pub(crate) const WATCHES_BY_CHAT: TableDefinition<'_, (&str, &str), ()> =
    TableDefinition::new("watches_by_chat");
pub(crate) const HISTORY_HEAD: TableDefinition<'_, &str, &[u8]> =
    TableDefinition::new("history_head");
pub(crate) const HISTORY_CHUNK: TableDefinition<'_, (&str, u8, u64), &[u8]> =
    TableDefinition::new("history_chunk");
pub(crate) const HISTORY_CHUNK_BY_INDEX: TableDefinition<'_, (u8, u64, &str), ()> =
    TableDefinition::new("history_chunk_by_index");
pub(crate) const AUDIT: TableDefinition<'_, (&str, u64, u64), &str> = TableDefinition::new("audit");

/// An outbox entry's row: (due ms, priority rank, created ms, chat key, entry JSON).
pub(crate) type OutboxRow<'a> = (u64, u8, u64, &'a str, &'a [u8]);
pub(crate) const OUTBOX: TableDefinition<'_, (&str, &str), OutboxRow<'static>> =
    TableDefinition::new("outbox");
pub(crate) const OUTBOX_DUE: TableDefinition<'_, (&str, u8, u64, &str), ()> =
    TableDefinition::new("outbox_due");
pub(crate) const OUTBOX_CREATED: TableDefinition<'_, (&str, u8, u64, &str), ()> =
    TableDefinition::new("outbox_created");
pub(crate) const OUTBOX_BY_CHAT: TableDefinition<'_, (&str, &str), ()> =
    TableDefinition::new("outbox_by_chat");
pub(crate) const OUTBOX_SEEN: TableDefinition<'_, (&str, &str), u64> =
    TableDefinition::new("outbox_seen");
pub(crate) const OUTBOX_SEEN_EXPIRY: TableDefinition<'_, (u64, &str, &str), ()> =
    TableDefinition::new("outbox_seen_expiry");

/// Format 2's history samples.
const V2_HISTORY: TableDefinition<'_, (&str, u64), &str> = TableDefinition::new("history");
/// Format 2's history index for pruning.
const V2_HISTORY_BY_TIME: TableDefinition<'_, (u64, &str), ()> =
    TableDefinition::new("history_by_time");

/// Format 1's chat table.
const V1_CHAT: TableDefinition<'_, &str, &str> = TableDefinition::new("chat");

/// Format 1's chat state value.
#[derive(Deserialize)]
struct V1Chat {
    last: Option<String>,
    #[serde(default)]
    recent: Vec<String>,
    #[serde(default)]
    lang: Option<String>,
}

fn corrupt(detail: impl std::fmt::Display) -> FileStoreError {
    FileStoreError::Corrupt {
        detail: detail.to_string(),
    }
}

/// Map a redb error met while reading the format to a [`FileStoreError`].
fn db(e: impl Into<redb::Error>) -> FileStoreError {
    match e.into() {
        redb::Error::Corrupted(detail) => FileStoreError::Corrupt { detail },
        e @ (redb::Error::TableTypeMismatch { .. }
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TableIsNotMultimap(_)
        | redb::Error::TypeDefinitionChanged { .. }) => corrupt(e),
        e => FileStoreError::Backend {
            detail: e.to_string(),
        },
    }
}

/// Read the format version, create a fresh file's tables, or migrate an old file
/// (history with `config`).
pub(crate) fn prepare(db_: &Database, config: &HistoryConfig) -> Result<(), FileStoreError> {
    let read = db_.begin_read().map_err(db)?;
    let found = match read.open_table(META) {
        Ok(meta) => meta.get(FORMAT_KEY).map_err(db)?.map(|v| v.value()),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(db(e)),
    };
    let has_tables = read.list_tables().map_err(db)?.next().is_some();
    drop(read);
    match found {
        None if has_tables => Err(corrupt(
            "the file holds tables but no format version (not an mcstat store?)",
        )),
        None => init(db_),
        Some(v) if v == CURRENT => Ok(()),
        Some(v) if v > CURRENT => Err(FileStoreError::TooNew {
            found: v,
            supported: CURRENT,
        }),
        Some(1) => {
            migrate_v1_to_v2(db_)?;
            migrate_v2_to_v3(db_, config)
        }
        Some(2) => migrate_v2_to_v3(db_, config),
        Some(v) => Err(corrupt(format!("unknown format version {v}"))),
    }
}

/// Create every table of the current format and record the version.
fn init(db_: &Database) -> Result<(), FileStoreError> {
    let txn = db_.begin_write().map_err(db)?;
    create_tables(&txn)?;
    txn.open_table(META)
        .map_err(db)?
        .insert(FORMAT_KEY, CURRENT)
        .map_err(db)?;
    txn.commit().map_err(db)
}

fn create_tables(txn: &redb::WriteTransaction) -> Result<(), FileStoreError> {
    txn.open_table(META).map_err(db)?;
    txn.open_table(CHAT_STATE).map_err(db)?;
    txn.open_table(WATCHES).map_err(db)?;
    txn.open_table(WATCHES_BY_CHAT).map_err(db)?;
    txn.open_table(HISTORY_HEAD).map_err(db)?;
    txn.open_table(HISTORY_CHUNK).map_err(db)?;
    txn.open_table(HISTORY_CHUNK_BY_INDEX).map_err(db)?;
    txn.open_table(AUDIT).map_err(db)?;
    Ok(())
}

fn has_table(txn: &redb::WriteTransaction, name: &str) -> Result<bool, FileStoreError> {
    Ok(txn.list_tables().map_err(db)?.any(|t| t.name() == name))
}

/// Format 2 → 3: history samples become heads and chunks, one target per
/// transaction (see the module docs); the last transaction records format 3 and
/// drops the old tables.
fn migrate_v2_to_v3(db_: &Database, config: &HistoryConfig) -> Result<(), FileStoreError> {
    while migrate_v2_target(db_, config)? {}
    Ok(())
}

/// Migrate the first target left in the format-2 history (one write transaction);
/// `false` when none was left and the format became 3.
fn migrate_v2_target(db_: &Database, config: &HistoryConfig) -> Result<bool, FileStoreError> {
    let txn = db_.begin_write().map_err(db)?;
    create_tables(&txn)?;
    let first = if has_table(&txn, V2_HISTORY.name())? {
        let old = txn.open_table(V2_HISTORY).map_err(db)?;
        let first = old.first().map_err(db)?;
        first.map(|(key, _)| key.value().0.to_owned())
    } else {
        None
    };
    let Some(target) = first else {
        txn.delete_table(V2_HISTORY).map_err(db)?;
        txn.delete_table(V2_HISTORY_BY_TIME).map_err(db)?;
        txn.open_table(META)
            .map_err(db)?
            .insert(FORMAT_KEY, CURRENT)
            .map_err(db)?;
        txn.commit().map_err(db)?;
        return Ok(false);
    };
    let mut samples = Vec::new();
    {
        let mut old = txn.open_table(V2_HISTORY).map_err(db)?;
        let mut by_time = if has_table(&txn, V2_HISTORY_BY_TIME.name())? {
            Some(txn.open_table(V2_HISTORY_BY_TIME).map_err(db)?)
        } else {
            None
        };
        let mut times = Vec::new();
        for row in old
            .range((target.as_str(), 0)..=(target.as_str(), u64::MAX))
            .map_err(db)?
        {
            let (key, value) = row.map_err(db)?;
            let at = key.value().1;
            let sample: HistorySample = serde_json::from_str(value.value()).map_err(|e| {
                corrupt(format!(
                    "format 2 history sample of {target} at {at} is unreadable: {e}"
                ))
            })?;
            times.push(at);
            samples.push(sample);
        }
        for at in times {
            old.remove((target.as_str(), at)).map_err(db)?;
            if let Some(by_time) = &mut by_time {
                by_time.remove((at, target.as_str())).map_err(db)?;
            }
        }
    }
    // Oldest first (the table's order); `prepare` sorts anyway.
    let mut by_target: BTreeMap<String, Vec<HistorySample>> = BTreeMap::new();
    by_target.insert(target.clone(), samples);
    super::history::write(&txn, config, by_target).map_err(|e| match e {
        StoreError::Corrupt(detail) => corrupt(format!(
            "format 2 history of {target} cannot be migrated: {detail}"
        )),
        e => FileStoreError::Backend {
            detail: e.to_string(),
        },
    })?;
    txn.commit().map_err(db)?;
    Ok(true)
}

/// Format 1 → 2: the `chat` table becomes `chat_state` with [`ChatState`] values.
fn migrate_v1_to_v2(db_: &Database) -> Result<(), FileStoreError> {
    let txn = db_.begin_write().map_err(db)?;
    txn.open_table(META).map_err(db)?;
    txn.open_table(CHAT_STATE).map_err(db)?;
    let exists = txn
        .list_tables()
        .map_err(db)?
        .any(|t| t.name() == V1_CHAT.name());
    if exists {
        let old = txn.open_table(V1_CHAT).map_err(db)?;
        let mut new = txn.open_table(CHAT_STATE).map_err(db)?;
        for row in old.iter().map_err(db)? {
            let (key, value) = row.map_err(db)?;
            let v1: V1Chat = serde_json::from_str(value.value()).map_err(|e| {
                corrupt(format!(
                    "format 1 chat state of {} is unreadable: {e}",
                    key.value()
                ))
            })?;
            let target = |s: &str| {
                s.parse::<Target>().map_err(|e| {
                    corrupt(format!(
                        "format 1 chat state of {} names an invalid server {s:?}: {e}",
                        key.value()
                    ))
                })
            };
            let state = ChatState {
                last_server: v1.last.as_deref().map(target).transpose()?,
                recent: v1
                    .recent
                    .iter()
                    .map(|s| target(s))
                    .collect::<Result<_, _>>()?,
                language: v1.lang,
            };
            let json = serde_json::to_string(&state).map_err(corrupt)?;
            new.insert(key.value(), json.as_str()).map_err(db)?;
        }
        drop(new);
        drop(old);
        txn.delete_table(V1_CHAT).map_err(db)?;
    }
    txn.open_table(META)
        .map_err(db)?
        .insert(FORMAT_KEY, 2)
        .map_err(db)?;
    txn.commit().map_err(db)
}
