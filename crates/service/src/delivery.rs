//! [`Delivery`]: the outbox of one bot process — its pacer, dispatcher and the
//! notifier the watch scheduler queues through — with metrics and health.
//!
//! A bot builds it with [`Backend::delivery`](crate::backend::Backend::delivery),
//! gives [`Delivery::notifier`] to the scheduler, [`Delivery::pacer`] to the code
//! that answers commands, and spawns [`Delivery::run`].

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mcstat_core::outbox::{Dispatcher, EventSink, OutboxEvent, OutboxStats, Pacer, Priority};
use mcstat_core::ports::Notifier;
use mcstat_core::{Platform, Timestamp};

/// The outbox's state for `/healthz`: degraded while a notification has waited
/// longer than the configured age.
#[derive(Debug)]
pub struct OutboxHealth {
    stale_after: Duration,
    last: Mutex<Option<(OutboxStats, Timestamp)>>,
}

impl OutboxHealth {
    /// Degraded past `stale_after`.
    #[must_use]
    pub fn new(stale_after: Duration) -> Self {
        Self {
            stale_after,
            last: Mutex::default(),
        }
    }

    fn record(&self, stats: OutboxStats, at: Timestamp) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((stats, at));
    }

    /// Why delivery is degraded, if it is: the oldest pending notification (or
    /// report) has waited longer than allowed.
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        let (stats, at) = (*self.last.lock().unwrap_or_else(PoisonError::into_inner))?;
        [Priority::Notification, Priority::Report]
            .into_iter()
            .filter_map(|p| Some((p, stats.oldest_age(p, at)?)))
            .find(|(_, age)| *age > self.stale_after)
            .map(|(p, age)| {
                format!(
                    "the oldest pending {} has waited {} s (more than {} s); {} pending",
                    p.as_str(),
                    age.as_secs(),
                    self.stale_after.as_secs(),
                    stats.of(p).pending
                )
            })
    }
}

/// Turns outbox events into metrics (labelled with the platform) and health.
#[must_use]
pub fn event_sink(platform: Platform, health: Arc<OutboxHealth>) -> EventSink {
    let p = platform.as_str();
    Arc::new(move |event| match event {
        OutboxEvent::Sent {
            priority,
            notifications,
        } => {
            metrics::counter!("mcstat_outbox_sent_total", "platform" => p, "priority" => priority.as_str())
                .increment(1);
            metrics::counter!("mcstat_outbox_notifications_sent_total", "platform" => p)
                .increment(notifications as u64);
        }
        OutboxEvent::RateLimited { global } => {
            metrics::counter!("mcstat_outbox_rate_limited_total", "platform" => p, "scope" => if global { "global" } else { "chat" })
                .increment(1);
        }
        OutboxEvent::Retried => {
            metrics::counter!("mcstat_outbox_retries_total", "platform" => p).increment(1);
        }
        OutboxEvent::Dropped { reason, count } => {
            metrics::counter!("mcstat_outbox_dropped_total", "platform" => p, "reason" => reason.as_str())
                .increment(count as u64);
        }
        OutboxEvent::Stats { stats, at } => {
            for priority in Priority::ALL {
                let q = stats.of(priority);
                metrics::gauge!("mcstat_outbox_pending", "platform" => p, "priority" => priority.as_str())
                    .set(q.pending as f64);
                metrics::gauge!("mcstat_outbox_oldest_seconds", "platform" => p, "priority" => priority.as_str())
                    .set(stats.oldest_age(priority, at).map_or(0.0, |d| d.as_secs_f64()));
            }
            health.record(stats, at);
        }
        _ => {}
    })
}

/// One platform's outbox in this process.
pub struct Delivery {
    /// Turns to send: answers ask it before each send.
    pub pacer: Arc<Pacer>,
    /// The scheduler's notifier: queues durably, once per notification key.
    pub notifier: Arc<dyn Notifier>,
    /// For `/healthz`.
    pub health: Arc<OutboxHealth>,
    pub(crate) dispatcher: Dispatcher,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").finish_non_exhaustive()
    }
}

impl Delivery {
    /// Send until `shutdown` completes: the dispatcher finishes the sends in
    /// flight, then the pacer stops.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let pacer = self.pacer.run(async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|s| *s).await;
        });
        let dispatcher = async {
            self.dispatcher.run(shutdown).await;
            let _ = stop.send(true);
        };
        tokio::join!(pacer, dispatcher);
    }
}
