//! The on-disk format of [`FileStore`](super::FileStore): tables, the format version
//! and the forward migrations.
//!
//! Format 2 (current), every value a JSON text:
//!
//! | table             | key                              | value |
//! |-------------------|----------------------------------|-------|
//! | `meta`            | `"format_version"`, `"audit_seq"` | `u64` |
//! | `chat_state`      | chat key (`telegram:42`)         | [`ChatState`] |
//! | `watches`         | (target key, chat key)           | [`Watch`](mcstat_core::Watch) |
//! | `watches_by_chat` | (chat key, target key)           | `()` (index) |
//! | `history`         | (target key, at ms)              | [`HistorySample`](mcstat_core::HistorySample) |
//! | `history_by_time` | (at ms, target key)              | `()` (index for pruning) |
//! | `audit`           | (scope key, at ms, sequence)     | [`AuditEntry`](mcstat_core::AuditEntry) |
//!
//! Format 1 (pre-release) kept chat state in a table `chat` as
//! `{"last": "host:port", "recent": [...], "lang": "en"}`; the other tables were the same.
//! [`prepare`] migrates it forward in one write transaction, so a crash during the
//! migration leaves the format-1 file untouched.

use mcstat_core::{ChatState, Target};
use redb::{Database, ReadableTable, TableDefinition, TableError, TableHandle};
use serde::Deserialize;

use super::FileStoreError;

/// The format this build writes.
pub(crate) const CURRENT: u64 = 2;

pub(crate) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
pub(crate) const FORMAT_KEY: &str = "format_version";
pub(crate) const AUDIT_SEQ_KEY: &str = "audit_seq";

pub(crate) const CHAT_STATE: TableDefinition<'_, &str, &str> = TableDefinition::new("chat_state");
pub(crate) const WATCHES: TableDefinition<'_, (&str, &str), &str> = TableDefinition::new("watches");
pub(crate) const WATCHES_BY_CHAT: TableDefinition<'_, (&str, &str), ()> =
    TableDefinition::new("watches_by_chat");
pub(crate) const HISTORY: TableDefinition<'_, (&str, u64), &str> = TableDefinition::new("history");
pub(crate) const HISTORY_BY_TIME: TableDefinition<'_, (u64, &str), ()> =
    TableDefinition::new("history_by_time");
pub(crate) const AUDIT: TableDefinition<'_, (&str, u64, u64), &str> = TableDefinition::new("audit");

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

/// Read the format version, create a fresh file's tables, or migrate an old file.
pub(crate) fn prepare(db_: &Database) -> Result<(), FileStoreError> {
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
        Some(1) => migrate_v1_to_v2(db_),
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
    txn.open_table(HISTORY).map_err(db)?;
    txn.open_table(HISTORY_BY_TIME).map_err(db)?;
    txn.open_table(AUDIT).map_err(db)?;
    Ok(())
}

/// Format 1 → 2: the `chat` table becomes `chat_state` with [`ChatState`] values.
fn migrate_v1_to_v2(db_: &Database) -> Result<(), FileStoreError> {
    let txn = db_.begin_write().map_err(db)?;
    create_tables(&txn)?;
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
        .insert(FORMAT_KEY, CURRENT)
        .map_err(db)?;
    txn.commit().map_err(db)
}
