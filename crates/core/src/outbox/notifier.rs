//! [`OutboxNotifier`]: the watch scheduler's [`Notifier`] that queues durably.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{MemoryOutbox, OutboxConfig, OutboxEntry, Priority};
use crate::ports::{Clock, Notification, Notifier, NotifyError, OutboxStore};

/// Takes a notification by writing it to the outbox (once per
/// [`Notification::key`]); the [`Dispatcher`](super::Dispatcher) sends it. While
/// the store fails, notifications go to an in-process [`MemoryOutbox`] that the
/// dispatcher drains too (they survive the store's outage, not a restart of the
/// process meanwhile), so the scheduler never loses one to a store failure.
pub struct OutboxNotifier {
    outbox: Arc<dyn OutboxStore>,
    fallback: MemoryOutbox,
    clock: Arc<dyn Clock>,
    config: OutboxConfig,
}

impl fmt::Debug for OutboxNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxNotifier").finish_non_exhaustive()
    }
}

impl OutboxNotifier {
    /// Queue into `outbox`, else into `fallback` (give the dispatcher the same one).
    #[must_use]
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        fallback: MemoryOutbox,
        clock: Arc<dyn Clock>,
        config: OutboxConfig,
    ) -> Self {
        Self {
            outbox,
            fallback,
            clock,
            config,
        }
    }
}

#[async_trait]
impl Notifier for OutboxNotifier {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        let now = self.clock.now();
        let entry = OutboxEntry::notification(notification.clone(), Priority::Notification, now);
        let entries = std::slice::from_ref(&entry);
        match self.outbox.push(entries, now, self.config.remember).await {
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(
                    chat = %notification.chat,
                    error = &error as &dyn std::error::Error,
                    "outbox write failed; queued in memory until it works"
                );
                self.fallback
                    .push(entries, now, self.config.remember)
                    .await
                    .map(drop)
                    .map_err(|e| NotifyError::Failed(Box::new(e)))
            }
        }
    }

    fn idempotent(&self) -> bool {
        true
    }
}
