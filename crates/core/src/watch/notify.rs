//! [`NotifierRouter`]: one [`Notifier`] for every platform, routing each
//! notification by its chat's platform.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::Platform;
use crate::ports::{Notification, Notifier, NotifyError};

/// Why a platform has no notifier.
#[derive(Debug, thiserror::Error)]
#[error("no notifier for the {0} platform")]
pub struct NoNotifier(pub Platform);

/// Routes each notification to the notifier of its chat's platform. A notification
/// for a platform without one fails with [`NotifyError::Failed`] (the watch is kept:
/// that bot may just not run in this process).
#[derive(Clone, Default)]
pub struct NotifierRouter {
    routes: HashMap<Platform, Arc<dyn Notifier>>,
}

impl fmt::Debug for NotifierRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifierRouter")
            .field("platforms", &self.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl NotifierRouter {
    /// A router without routes.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Deliver `platform`'s notifications through `notifier` (replacing any
    /// previous one).
    #[must_use]
    pub fn with(mut self, platform: Platform, notifier: Arc<dyn Notifier>) -> Self {
        self.routes.insert(platform, notifier);
        self
    }

    /// Whether `platform` has a notifier.
    #[must_use]
    pub fn routes(&self, platform: Platform) -> bool {
        self.routes.contains_key(&platform)
    }
}

#[async_trait]
impl Notifier for NotifierRouter {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        let platform = notification.chat.platform();
        match self.routes.get(&platform) {
            Some(notifier) => notifier.notify(notification).await,
            None => Err(NotifyError::Failed(Box::new(NoNotifier(platform)))),
        }
    }

    async fn notify_digest(&self, batch: &[Notification]) -> Result<(), NotifyError> {
        let Some(first) = batch.first() else {
            return Ok(());
        };
        let platform = first.chat.platform();
        match self.routes.get(&platform) {
            Some(notifier) => notifier.notify_digest(batch).await,
            None => Err(NotifyError::Failed(Box::new(NoNotifier(platform)))),
        }
    }

    /// Idempotent when every route is (and there is one).
    fn idempotent(&self) -> bool {
        !self.routes.is_empty() && self.routes.values().all(|n| n.idempotent())
    }
}
