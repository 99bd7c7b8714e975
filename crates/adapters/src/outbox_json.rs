//! The stored form of an [`OutboxEntry`], shared by the file and Redis outboxes:
//! its JSON, at most [`MAX_OUTBOX_ENTRY_BYTES`] long.

use mcstat_core::outbox::OutboxEntry;
use mcstat_core::ports::StoreError;

/// The longest stored outbox entry (its JSON) a store writes or reads. Notifications
/// are far smaller (a key of at most 512 bytes, a server address, a player name);
/// a store refuses to push a longer one and skips (with a log line) a longer one it
/// finds stored.
pub const MAX_OUTBOX_ENTRY_BYTES: usize = 64 * 1024;

/// The JSON of `entry`.
///
/// # Errors
/// [`StoreError::Backend`] when it is over [`MAX_OUTBOX_ENTRY_BYTES`].
pub(crate) fn encode(entry: &OutboxEntry) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(entry).map_err(|e| StoreError::Backend(Box::new(e)))?;
    if json.len() > MAX_OUTBOX_ENTRY_BYTES {
        return Err(StoreError::Backend(
            format!(
                "outbox entry {:?} is {} bytes long, over the limit of {MAX_OUTBOX_ENTRY_BYTES}",
                entry.id,
                json.len()
            )
            .into(),
        ));
    }
    Ok(json)
}

/// The entry in `json`, if it is one: at most [`MAX_OUTBOX_ENTRY_BYTES`], an
/// [`OutboxEntry`] of `platform` (its name) with id `id`. Else `None`, logged.
pub(crate) fn decode(platform: &str, id: &str, json: &[u8]) -> Option<OutboxEntry> {
    if json.len() > MAX_OUTBOX_ENTRY_BYTES {
        tracing::warn!(
            platform,
            id,
            bytes = json.len(),
            "outbox entry over the size limit skipped"
        );
        return None;
    }
    match serde_json::from_slice::<OutboxEntry>(json) {
        Ok(entry) if entry.id == id && entry.platform().as_str() == platform => Some(entry),
        Ok(entry) => {
            tracing::warn!(
                platform,
                id,
                stored_id = entry.id,
                stored_platform = entry.platform().as_str(),
                "outbox entry stored under another id skipped"
            );
            None
        }
        Err(e) => {
            tracing::warn!(platform, id, error = %e, "unreadable outbox entry skipped");
            None
        }
    }
}
