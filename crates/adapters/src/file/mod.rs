//! [`FileStore`]: the embedded, crash-safe single-file store (feature `file`).
//!
//! One [redb](https://docs.rs/redb) file holds chat state, watches, the history of
//! watched servers ([`mcstat_core::history`]: a head and byte chunks per target),
//! the audit log and the outbox of messages waiting to be sent
//! ([`OutboxStore`](mcstat_core::ports::OutboxStore); its tables are additive to
//! format 3, see the format module). Every write is one redb transaction committed with redb's default
//! (immediate) durability, so a write that returned `Ok` survives a crash of the
//! process or the machine. redb is synchronous: every transaction runs on tokio's
//! blocking pool (`spawn_blocking`), never on the async workers, except history
//! appends, which one writer thread commits in groups (many concurrent
//! `append_samples` calls, one transaction).
//!
//! The file carries a format version (see [`FileStore::FORMAT_VERSION`]); opening an
//! older file migrates it forward (resumably: see the format module), and a newer or
//! corrupt file is refused with a [`FileStoreError`], never reset.

mod format;
mod history;
mod outbox;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use mcstat_core::history::{HistoryConfig, Stream};
use mcstat_core::ports::{AuditLog, ChatStore, HistoryStore, StoreError, WatchStore};
use mcstat_core::{AuditEntry, ChatRef, ChatState, HistorySample, Target, Timestamp, Watch};
use redb::{Database, DatabaseError, ReadableTable, StorageError, TableDefinition, TableError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use format::{
    AUDIT, AUDIT_SEQ_KEY, CHAT_STATE, HISTORY_CHUNK, HISTORY_HEAD, META, WATCHES, WATCHES_BY_CHAT,
};

/// Why a [`FileStore`] could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileStoreError {
    /// The file is not a readable store: garbage bytes, a damaged header, a store
    /// without a format version, or data a migration cannot read. The file is left
    /// as it is.
    #[error("the store file is corrupt: {detail}")]
    Corrupt {
        /// What is wrong.
        detail: String,
    },
    /// The file was written by a newer mcstat with a format this build does not know.
    #[error("the store file has format version {found}; this build supports up to {supported}")]
    TooNew {
        /// The file's format version.
        found: u64,
        /// The newest format this build reads.
        supported: u64,
    },
    /// Another process (or another `FileStore` in this one) has the file open.
    #[error("the store file is in use by another process")]
    Locked,
    /// The file cannot be read or created (permissions, missing directory, ...).
    #[error("cannot open the store file")]
    Io(#[source] std::io::Error),
    /// Any other database failure.
    #[error("the store failed: {detail}")]
    Backend {
        /// The database's message.
        detail: String,
    },
}

/// How much room a [`FileStore`] takes ([`FileStore::space`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSpace {
    /// The file's size on disk (redb grows it in steps and reuses freed pages).
    pub file_bytes: u64,
    /// Bytes of the pages the data occupies (keys, values, B-tree structure,
    /// fragmentation): what the data costs.
    pub allocated_bytes: u64,
    /// Bytes of the keys and values themselves.
    pub stored_bytes: u64,
    /// Bytes of B-tree branch keys and other metadata.
    pub metadata_bytes: u64,
    /// Bytes lost to fragmentation inside pages.
    pub fragmented_bytes: u64,
}

/// The embedded single-file store: implements [`ChatStore`], [`WatchStore`],
/// [`HistoryStore`] and [`AuditLog`] (so it is a
/// [`SessionStore`](mcstat_core::ports::SessionStore)), and the
/// [`OutboxStore`](mcstat_core::ports::OutboxStore) (every call one write
/// transaction, durable on return).
///
/// Cheap to clone (the database is shared). The file is locked while any clone is
/// alive: a second [`FileStore::open`] of the same file fails with
/// [`FileStoreError::Locked`].
///
/// History is kept as [`mcstat_core::history`] says, with the retention of the
/// store's [`HistoryConfig`] ([`HistoryConfig::default`] unless set with
/// [`with_history`](Self::with_history)): samples are accepted in time order per
/// target (a sample not newer than the target's newest is dropped), and
/// [`prune`](HistoryStore::prune) deletes the chunks past their retention.
/// `append_samples` calls are committed together by one writer thread (see
/// [`HistoryStore::append_samples`]; durable on return). Audit entries come back
/// newest first by time, and by insertion order among equal times.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mcstat_adapters::FileStore;
/// use mcstat_core::ports::ChatStore;
/// use mcstat_core::{ChatRef, ChatState, Platform};
///
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::open(dir.path().join("mcstat.redb")).await?;
/// let chat = ChatRef::new(Platform::Telegram, "-100123")?;
/// let mut state = ChatState::default();
/// state.remember(&"play.example.net".parse()?);
/// store.put_chat(&chat, &state).await?; // durable once this returns
/// assert_eq!(store.chat(&chat).await?, Some(state));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FileStore {
    db: Arc<Database>,
    path: Arc<PathBuf>,
    history: Arc<HistoryConfig>,
    /// The group-commit writer of history; the last clone's drop ends it (and so
    /// releases its handle on the database).
    writer: Arc<history::Writer>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// The format version this build writes (older ones are migrated on open).
    pub const FORMAT_VERSION: u64 = format::CURRENT;

    /// Open the store at `path`, creating the file if it does not exist and migrating
    /// an older format forward, keeping history as [`HistoryConfig::default`] says
    /// (see [`open_with`](Self::open_with)). Runs on the blocking pool.
    ///
    /// # Errors
    /// [`FileStoreError`]: `Corrupt`, `TooNew`, `Locked`, `Io`, `Backend`.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, FileStoreError> {
        Self::open_with(path, HistoryConfig::default()).await
    }

    /// [`open`](Self::open), keeping history as `history` says; format-2 history is
    /// migrated with it too (its gap cap and outage threshold: open with the
    /// deployment's [`WatchConfig::history_config`](mcstat_core::WatchConfig::history_config)
    /// so migrated rollups count time as the running bot will).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn open_with(
        path: impl Into<PathBuf>,
        history: HistoryConfig,
    ) -> Result<Self, FileStoreError> {
        let path = path.into();
        tokio::task::spawn_blocking(move || Self::open_blocking_with(path, history))
            .await
            .map_err(|e| FileStoreError::Backend {
                detail: e.to_string(),
            })?
    }

    /// [`FileStore::open`] for synchronous callers (not on an async worker thread).
    ///
    /// # Errors
    /// As [`FileStore::open`].
    pub fn open_blocking(path: impl Into<PathBuf>) -> Result<Self, FileStoreError> {
        Self::open_blocking_with(path, HistoryConfig::default())
    }

    /// [`FileStore::open_with`] for synchronous callers.
    ///
    /// # Errors
    /// As [`FileStore::open`].
    pub fn open_blocking_with(
        path: impl Into<PathBuf>,
        history: HistoryConfig,
    ) -> Result<Self, FileStoreError> {
        let path = path.into();
        let db = match Database::builder().create(&path) {
            Ok(db) => db,
            Err(DatabaseError::DatabaseAlreadyOpen) => return Err(FileStoreError::Locked),
            Err(DatabaseError::Storage(StorageError::Io(e)))
                if e.kind() == std::io::ErrorKind::InvalidData =>
            {
                return Err(FileStoreError::Corrupt {
                    detail: "not a store file (bad magic number)".into(),
                });
            }
            Err(DatabaseError::Storage(StorageError::Io(e))) => return Err(FileStoreError::Io(e)),
            Err(DatabaseError::Storage(StorageError::Corrupted(detail))) => {
                return Err(FileStoreError::Corrupt { detail });
            }
            Err(e @ DatabaseError::UpgradeRequired(_)) => {
                return Err(FileStoreError::Corrupt {
                    detail: e.to_string(),
                });
            }
            Err(e) => {
                return Err(FileStoreError::Backend {
                    detail: e.to_string(),
                });
            }
        };
        format::prepare(&db, &history)?;
        let db = Arc::new(db);
        let writer = history::Writer::start(Arc::clone(&db)).map_err(FileStoreError::Io)?;
        Ok(Self {
            db,
            path: Arc::new(path),
            history: Arc::new(history),
            writer: Arc::new(writer),
        })
    }

    /// Keep history as `config` says (retention per stream, gap cap, outage
    /// threshold) instead of [`HistoryConfig::default`]. Applies to this value and
    /// the clones made from it afterwards; [`prune`](HistoryStore::prune) deletes
    /// what `config` no longer keeps, whatever kept it before.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mcstat_adapters::FileStore;
    /// use mcstat_core::history::HistoryConfig;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = FileStore::open(dir.path().join("mcstat.redb"))
    ///     .await?
    ///     .with_history(HistoryConfig::from_retention_days(30));
    /// assert_eq!(store.history_config(), &HistoryConfig::from_retention_days(30));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_history(mut self, config: HistoryConfig) -> Self {
        self.history = Arc::new(config);
        self
    }

    /// How history is kept.
    #[must_use]
    pub fn history_config(&self) -> &HistoryConfig {
        &self.history
    }

    /// How much of the file the data takes (redb's page accounting): for operators
    /// and the history benchmark. Waits for a write transaction (it writes nothing).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn space(&self) -> Result<StoreSpace, StoreError> {
        let path = Arc::clone(&self.path);
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            let stats = txn.stats().db()?;
            txn.abort().db()?;
            Ok(StoreSpace {
                file_bytes: std::fs::metadata(path.as_path()).map_or(0, |m| m.len()),
                allocated_bytes: stats
                    .allocated_pages()
                    .saturating_mul(stats.page_size() as u64),
                stored_bytes: stats.stored_bytes(),
                metadata_bytes: stats.metadata_bytes(),
                fragmented_bytes: stats.fragmented_bytes(),
            })
        })
        .await
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?
    }
}

/// Map any redb error to a [`StoreError`].
fn db_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(detail) => StoreError::Corrupt(detail),
        e @ (redb::Error::TableTypeMismatch { .. }
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TableIsNotMultimap(_)
        | redb::Error::TypeDefinitionChanged { .. }) => StoreError::Corrupt(e.to_string()),
        redb::Error::Io(e) => StoreError::Backend(Box::new(e)),
        e => StoreError::Backend(e.to_string().into()),
    }
}

trait DbResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> DbResult<T> for Result<T, E> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(db_err)
    }
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(Box::new(e)))
}

fn decode<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Open a table for reading; a table that does not exist reads as empty (`None`).
fn read_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    def: TableDefinition<'_, K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(db_err(e)),
    }
}

#[async_trait]
impl ChatStore for FileStore {
    async fn chat(&self, chat: &ChatRef) -> Result<Option<ChatState>, StoreError> {
        let key = chat.key();
        self.blocking(move |db| {
            let txn = db.begin_read().db()?;
            let Some(table) = read_table(&txn, CHAT_STATE)? else {
                return Ok(None);
            };
            table
                .get(key.as_str())
                .db()?
                .map(|v| decode(&format!("chat state of {key}"), v.value()))
                .transpose()
        })
        .await
    }

    async fn put_chat(&self, chat: &ChatRef, state: &ChatState) -> Result<(), StoreError> {
        let key = chat.key();
        let json = encode(state)?;
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            txn.open_table(CHAT_STATE)
                .db()?
                .insert(key.as_str(), json.as_str())
                .db()?;
            txn.commit().db()
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().db()?;
            read_table(&txn, META)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl WatchStore for FileStore {
    async fn add_watch(&self, watch: &Watch) -> Result<bool, StoreError> {
        let (target, chat) = (watch.target.key(), watch.chat.key());
        let json = encode(watch)?;
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            let old = txn
                .open_table(WATCHES)
                .db()?
                .insert((target.as_str(), chat.as_str()), json.as_str())
                .db()?
                .is_some();
            txn.open_table(WATCHES_BY_CHAT)
                .db()?
                .insert((chat.as_str(), target.as_str()), ())
                .db()?;
            txn.commit().db()?;
            Ok(!old)
        })
        .await
    }

    async fn remove_watch(&self, chat: &ChatRef, target: &Target) -> Result<bool, StoreError> {
        let (target, chat) = (target.key(), chat.key());
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            let existed = txn
                .open_table(WATCHES)
                .db()?
                .remove((target.as_str(), chat.as_str()))
                .db()?
                .is_some();
            txn.open_table(WATCHES_BY_CHAT)
                .db()?
                .remove((chat.as_str(), target.as_str()))
                .db()?;
            txn.commit().db()?;
            Ok(existed)
        })
        .await
    }

    async fn watches_of(&self, chat: &ChatRef) -> Result<Vec<Watch>, StoreError> {
        let chat = chat.key();
        self.blocking(move |db| {
            let txn = db.begin_read().db()?;
            let (Some(index), Some(watches)) = (
                read_table(&txn, WATCHES_BY_CHAT)?,
                read_table(&txn, WATCHES)?,
            ) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for row in index.range((chat.as_str(), "")..).db()? {
                let (key, _) = row.db()?;
                let (c, target) = key.value();
                if c != chat {
                    break;
                }
                let value = watches.get((target, c)).db()?.ok_or_else(|| {
                    StoreError::Corrupt(format!("watch index names a missing watch {target} {c}"))
                })?;
                out.push(decode("watch", value.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn all_watches(&self) -> Result<Vec<Watch>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().db()?;
            let Some(watches) = read_table(&txn, WATCHES)? else {
                return Ok(Vec::new());
            };
            watches
                .iter()
                .db()?
                .map(|row| decode("watch", row.db()?.1.value()))
                .collect()
        })
        .await
    }
}

#[async_trait]
impl HistoryStore for FileStore {
    /// Sends the samples to the writer thread, which commits them together with
    /// every other call waiting (one transaction), and answers once committed.
    async fn append_samples(&self, samples: &[HistorySample]) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        self.writer
            .append(samples.to_vec(), Arc::clone(&self.history))
            .await
    }

    async fn head(&self, target: &Target) -> Result<Option<Vec<u8>>, StoreError> {
        let target = target.key();
        self.blocking(move |db| {
            let txn = db.begin_read().db()?;
            let Some(heads) = read_table(&txn, HISTORY_HEAD)? else {
                return Ok(None);
            };
            Ok(heads.get(target.as_str()).db()?.map(|v| v.value().to_vec()))
        })
        .await
    }

    async fn chunks(
        &self,
        target: &Target,
        stream: Stream,
        first: u64,
        last: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let target = target.key();
        let code = stream.code();
        self.blocking(move |db| {
            if first > last {
                return Ok(Vec::new());
            }
            let txn = db.begin_read().db()?;
            let Some(chunks) = read_table(&txn, HISTORY_CHUNK)? else {
                return Ok(Vec::new());
            };
            chunks
                .range((target.as_str(), code, first)..=(target.as_str(), code, last))
                .db()?
                .map(|row| {
                    let (key, value) = row.db()?;
                    Ok((key.value().2, value.value().to_vec()))
                })
                .collect()
        })
        .await
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        let config = Arc::clone(&self.history);
        self.blocking(move |db| history::prune(db, &config, now))
            .await
    }
}

#[async_trait]
impl AuditLog for FileStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let scope = entry.scope.key();
        let at = entry.at.as_millis();
        let json = encode(entry)?;
        self.blocking(move |db| {
            let txn = db.begin_write().db()?;
            {
                let mut meta = txn.open_table(META).db()?;
                let seq = meta.get(AUDIT_SEQ_KEY).db()?.map_or(0, |v| v.value()) + 1;
                meta.insert(AUDIT_SEQ_KEY, seq).db()?;
                txn.open_table(AUDIT)
                    .db()?
                    .insert((scope.as_str(), at, seq), json.as_str())
                    .db()?;
            }
            txn.commit().db()
        })
        .await
    }

    async fn audit_entries(
        &self,
        scope: &ChatRef,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let scope = scope.key();
        self.blocking(move |db| {
            let txn = db.begin_read().db()?;
            let Some(audit) = read_table(&txn, AUDIT)? else {
                return Ok(Vec::new());
            };
            audit
                .range((scope.as_str(), 0, 0)..=(scope.as_str(), u64::MAX, u64::MAX))
                .db()?
                .rev()
                .take(limit)
                .map(|row| decode("audit entry", row.db()?.1.value()))
                .collect()
        })
        .await
    }
}
