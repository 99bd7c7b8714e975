//! History in the file store: applying prepared samples in a write transaction,
//! pruning, and the group-commit writer.
//!
//! Every [`append_samples`](mcstat_core::ports::HistoryStore::append_samples) call
//! sends its samples to one writer thread. The writer takes every request waiting
//! when it wakes, applies them all in one redb write transaction, commits once
//! (durable: redb's immediate durability) and then answers every caller: many polls
//! finishing together cost one commit, not one each. When a transaction of several
//! requests fails, each request is retried in a transaction of its own, so a caller
//! gets the error of its own samples only. The thread ends when the last
//! [`FileStore`](super::FileStore) clone is dropped (the drop waits for it, so the
//! file is unlocked when the drop returns).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use mcstat_core::history::{ChunkKey, HistoryConfig, SeriesHead, Stream, prepare};
use mcstat_core::ports::StoreError;
use mcstat_core::{HistorySample, Timestamp};
use redb::{Database, ReadableTable, WriteTransaction};
use tokio::sync::oneshot;

use super::format::{HISTORY_CHUNK, HISTORY_CHUNK_BY_INDEX, HISTORY_HEAD};
use super::{DbResult, db_err};

/// Apply `samples` (grouped by target key) in `txn`: per target, prepare against its
/// stored head, apply every chunk write, store the new head. Returns how many
/// samples were accepted.
pub(crate) fn write(
    txn: &WriteTransaction,
    config: &HistoryConfig,
    samples: BTreeMap<String, Vec<HistorySample>>,
) -> Result<usize, StoreError> {
    let mut heads = txn.open_table(HISTORY_HEAD).db()?;
    let mut chunks = txn.open_table(HISTORY_CHUNK).db()?;
    let mut index = txn.open_table(HISTORY_CHUNK_BY_INDEX).db()?;
    let mut accepted = 0;
    for (target, samples) in samples {
        let head = heads.get(target.as_str()).db()?.map(|v| v.value().to_vec());
        let prepared = prepare(head.as_deref(), &samples, config)
            .map_err(|e| StoreError::Corrupt(format!("history head of {target}: {e}")))?;
        if prepared.accepted == 0 {
            continue;
        }
        accepted += prepared.accepted;
        for write in &prepared.writes {
            let key = (target.as_str(), write.key.stream.code(), write.key.index);
            let stored = chunks.get(key).db()?.map(|v| v.value().to_vec());
            if stored.is_none() {
                index
                    .insert(
                        (write.key.stream.code(), write.key.index, target.as_str()),
                        (),
                    )
                    .db()?;
            }
            let new = write.apply(stored.as_deref());
            chunks.insert(key, new.as_slice()).db()?;
        }
        heads
            .insert(target.as_str(), prepared.head_bytes.as_slice())
            .db()?;
    }
    Ok(accepted)
}

/// Group samples by their target's key.
pub(crate) fn by_target<'a>(
    samples: impl IntoIterator<Item = &'a HistorySample>,
) -> BTreeMap<String, Vec<HistorySample>> {
    let mut out: BTreeMap<String, Vec<HistorySample>> = BTreeMap::new();
    for s in samples {
        out.entry(s.target.key()).or_default().push(s.clone());
    }
    out
}

/// Delete every chunk with [`HistoryConfig::expires_at`] `<= now`, then the heads of
/// series whose newest sample is past the longest retention and that have no chunk
/// left (as [`MemoryHistory`](mcstat_core::history::MemoryHistory) does). Returns
/// how many chunks were deleted.
pub(crate) fn prune(
    db: &Database,
    config: &HistoryConfig,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let txn = db.begin_write().db()?;
    let mut deleted = 0;
    {
        let mut chunks = txn.open_table(HISTORY_CHUNK).db()?;
        let mut index = txn.open_table(HISTORY_CHUNK_BY_INDEX).db()?;
        let mut expired: Vec<(u8, u64, String)> = Vec::new();
        for stream in Stream::ALL {
            let code = stream.code();
            // A chunk's expiry grows with its number: read up to the first one kept.
            for row in index.range((code, 0, "")..).db()? {
                let (key, _) = row.db()?;
                let (c, n, target) = key.value();
                if c != code || config.expires_at(ChunkKey { stream, index: n }) > now {
                    break;
                }
                expired.push((c, n, target.to_owned()));
            }
        }
        for (code, n, target) in &expired {
            index.remove((*code, *n, target.as_str())).db()?;
            if chunks.remove((target.as_str(), *code, *n)).db()?.is_some() {
                deleted += 1;
            }
        }
        let mut heads = txn.open_table(HISTORY_HEAD).db()?;
        let mut gone = Vec::new();
        for row in heads.iter().db()? {
            let (target, head) = row.db()?;
            let alive = SeriesHead::decode(head.value())
                .ok()
                .and_then(|h| h.last)
                .is_some_and(|p| Timestamp(p.at).plus(config.longest()) > now);
            if alive {
                continue;
            }
            let target = target.value();
            let has_chunks = chunks
                .range((target, 0, 0)..=(target, u8::MAX, u64::MAX))
                .db()?
                .next()
                .is_some();
            if !has_chunks {
                gone.push(target.to_owned());
            }
        }
        for target in gone {
            heads.remove(target.as_str()).db()?;
        }
    }
    txn.commit().db()?;
    Ok(deleted)
}

/// One `append_samples` call waiting for the writer.
struct Request {
    samples: Vec<HistorySample>,
    config: Arc<HistoryConfig>,
    /// Taken when answered.
    reply: Option<oneshot::Sender<Result<(), StoreError>>>,
}

/// The writer thread and the way to reach it; dropping it ends the thread and waits
/// for it.
pub(crate) struct Writer {
    requests: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Start the writer on `db`.
    pub(crate) fn start(db: Arc<Database>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mcstat-history-writer".into())
            .spawn(move || run(&db, &rx))?;
        Ok(Self {
            requests: Some(tx),
            thread: Some(thread),
        })
    }

    /// Append `samples` with `config`: returns once they are committed (or failed).
    pub(crate) async fn append(
        &self,
        samples: Vec<HistorySample>,
        config: Arc<HistoryConfig>,
    ) -> Result<(), StoreError> {
        let stopped = || StoreError::Backend("the history writer failed or stopped".into());
        let (reply, answer) = oneshot::channel();
        self.requests
            .as_ref()
            .ok_or_else(stopped)?
            .send(Request {
                samples,
                config,
                reply: Some(reply),
            })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it answered what is queued.
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer loop: wait for a request, take every other one waiting, commit them
/// together (one transaction per run of requests with the same config), answer.
fn run(db: &Database, requests: &mpsc::Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        batch.extend(requests.try_iter());
        let mut rest = batch.as_mut_slice();
        while !rest.is_empty() {
            let same = rest
                .iter()
                .take_while(|r| r.config == rest[0].config)
                .count();
            let (group, tail) = rest.split_at_mut(same);
            // A panic (a bug) fails this group's callers (their replies are dropped:
            // "the history writer failed or stopped"), not the writer.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                commit_group(db, group);
            }));
            rest = tail;
        }
    }
}

/// Commit `group` in one transaction and answer every caller; when that fails and
/// there are several, one transaction per request.
fn commit_group(db: &Database, group: &mut [Request]) {
    let config = Arc::clone(&group[0].config);
    let result = commit(db, &config, group.iter().flat_map(|r| r.samples.iter()));
    match result {
        Ok(()) => {
            for request in group {
                answer(request, Ok(()));
            }
        }
        Err(e) if group.len() == 1 => answer(&mut group[0], Err(e)),
        Err(_) => {
            for request in group {
                let result = commit(db, &config, request.samples.iter());
                answer(request, result);
            }
        }
    }
}

fn answer(request: &mut Request, result: Result<(), StoreError>) {
    // The caller may be gone (its future dropped): the samples are stored anyway.
    if let Some(reply) = request.reply.take() {
        let _ = reply.send(result);
    }
}

fn commit<'a>(
    db: &Database,
    config: &HistoryConfig,
    samples: impl IntoIterator<Item = &'a HistorySample>,
) -> Result<(), StoreError> {
    let txn = db.begin_write().db()?;
    write(&txn, config, by_target(samples))?;
    txn.commit().map_err(db_err)
}
