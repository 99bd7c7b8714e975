//! [`Pacer`]: who may send next, and when.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use futures_util::{FutureExt as _, StreamExt as _};

use super::{DropReason, EventSink, MemoryLimiter, OutboxEvent, PlatformLimits, Priority};
use crate::domain::{ChatRef, Timestamp};
use crate::ports::{Clock, Pace, SendLimiter};

/// A turn was not given: its deadline passed first, or the pacer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no turn to send before the deadline")]
pub struct Stale;

struct Request {
    chat: ChatRef,
    priority: Priority,
    deadline: Option<Timestamp>,
    seq: u64,
    /// Not before this (the chat's limit said to wait).
    ready_at: Timestamp,
    reply: oneshot::Sender<Result<(), Stale>>,
}

/// Grants turns to send, one at a time, keeping the bot inside its
/// [`PlatformLimits`]: the most urgent [`Priority`] first, in order of asking
/// within one; a chat's own limit holds only that chat back. The limits are kept
/// in a [`SendLimiter`] (shared by every replica on Redis); while it fails, the
/// pacer keeps them in a limiter of its own process.
///
/// [`admit`](Self::admit) waits for a turn; [`run`](Self::run) hands them out and
/// must be running (a bot spawns it once).
pub struct Pacer {
    limits: PlatformLimits,
    limiter: Arc<dyn SendLimiter>,
    fallback: MemoryLimiter,
    clock: Arc<dyn Clock>,
    events: EventSink,
    tx: mpsc::UnboundedSender<Request>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Request>>>,
    seq: AtomicU64,
    degraded: AtomicBool,
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// A pacer for `limits`, counting in `limiter`.
    #[must_use]
    pub fn new(
        limits: PlatformLimits,
        limiter: Arc<dyn SendLimiter>,
        clock: Arc<dyn Clock>,
        events: EventSink,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded();
        Self {
            limits,
            limiter,
            fallback: MemoryLimiter::new(Arc::clone(&clock)),
            clock,
            events,
            tx,
            rx: Mutex::new(Some(rx)),
            seq: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
        }
    }

    /// The limits kept.
    #[must_use]
    pub const fn limits(&self) -> &PlatformLimits {
        &self.limits
    }

    /// Wait for a turn to send one message to `chat`.
    ///
    /// # Errors
    /// [`Stale`] when `deadline` passes first (counted as a
    /// [`DropReason::Stale`] drop) or the pacer is not running.
    pub async fn admit(
        &self,
        chat: &ChatRef,
        priority: Priority,
        deadline: Option<Timestamp>,
    ) -> Result<(), Stale> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            chat: chat.clone(),
            priority,
            deadline,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            ready_at: Timestamp(0),
            reply,
        };
        if self.tx.unbounded_send(request).is_err() {
            return Err(Stale);
        }
        answer.await.unwrap_or(Err(Stale))
    }

    /// The platform answered `429` with `retry_after`: hold back `chat` (or every
    /// send, when the limit was `global`) that long.
    pub async fn rate_limited(&self, chat: &ChatRef, retry_after: Duration, global: bool) {
        let (key, pace) = if global {
            (self.limits.global_key(), self.limits.global)
        } else {
            (self.limits.chat_key(chat), self.limits.chat_pace(chat))
        };
        if let Err(error) = self.limiter.block(&key, pace, retry_after).await {
            self.degrade(&error);
        }
        // The process's own limiter always hears of it too.
        let _ = self.fallback.block(&key, pace, retry_after).await;
    }

    fn degrade(&self, error: &(dyn std::error::Error + 'static)) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                platform = %self.limits.platform,
                error,
                "the shared send limiter fails; pacing with this process's own"
            );
        }
    }

    async fn acquire(&self, key: &str, pace: Pace) -> Duration {
        if pace.interval.is_zero() {
            return Duration::ZERO;
        }
        match self.limiter.acquire(key, pace).await {
            Ok(wait) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!(platform = %self.limits.platform, "the shared send limiter works again");
                }
                wait
            }
            Err(error) => {
                self.degrade(&error);
                self.fallback
                    .acquire(key, pace)
                    .await
                    .unwrap_or(Duration::ZERO)
            }
        }
    }

    /// Hand out turns until `shutdown` completes. Call it once (a second call
    /// returns at once); waiting requests are refused when it ends.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let Some(mut rx) = self
            .rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            tracing::warn!("Pacer::run called twice");
            return;
        };
        let mut shutdown = std::pin::pin!(shutdown);
        let mut pending: Vec<Request> = Vec::new();
        // When each chat may send next, as far as this process knows.
        let mut chat_ready: HashMap<ChatRef, Timestamp> = HashMap::new();
        let mut stopped = false;
        loop {
            if stopped || shutdown.as_mut().now_or_never().is_some() {
                break;
            }
            while let Ok(request) = rx.try_recv() {
                pending.push(request);
            }
            let now = self.clock.now();
            let mut stale = 0;
            pending.retain_mut(|r| {
                if r.reply.is_canceled() {
                    return false;
                }
                if r.deadline.is_some_and(|d| d <= now) {
                    stale += 1;
                    let reply = std::mem::replace(&mut r.reply, oneshot::channel().0);
                    let _ = reply.send(Err(Stale));
                    return false;
                }
                true
            });
            if stale > 0 {
                (self.events)(OutboxEvent::Dropped {
                    reason: DropReason::Stale,
                    count: stale,
                });
            }
            if chat_ready.len() > 10_000 {
                chat_ready.retain(|_, t| *t > now);
            }
            let best = pending
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.ready_at <= now && chat_ready.get(&r.chat).is_none_or(|t| *t <= now)
                })
                .min_by_key(|(_, r)| (r.priority, r.seq))
                .map(|(i, _)| i);
            let Some(i) = best else {
                // Nothing may go now: wait for a new request, the first parked one
                // or deadline, or the end.
                let wake = pending
                    .iter()
                    .flat_map(|r| {
                        let ready = chat_ready
                            .get(&r.chat)
                            .map_or(r.ready_at, |t| r.ready_at.max(*t));
                        [Some(ready), r.deadline]
                    })
                    .flatten()
                    .min();
                let mut sleep = wake.map(|at| {
                    self.clock
                        .sleep(at.since(now).max(Duration::from_millis(1)))
                        .boxed()
                });
                let new = std::future::poll_fn(|cx| {
                    if let Poll::Ready(r) = rx.poll_next_unpin(cx) {
                        return Poll::Ready(r);
                    }
                    if shutdown.as_mut().poll(cx).is_ready() {
                        stopped = true;
                        return Poll::Ready(None);
                    }
                    if let Some(sleep) = sleep.as_mut()
                        && sleep.as_mut().poll(cx).is_ready()
                    {
                        return Poll::Ready(None);
                    }
                    Poll::Pending
                })
                .await;
                if let Some(request) = new {
                    pending.push(request);
                }
                continue;
            };
            // The bot's limit first: while it says wait, everyone waits (new
            // requests queue meanwhile, and the most urgent goes first after).
            let wait = self
                .acquire(&self.limits.global_key(), self.limits.global)
                .await;
            if !wait.is_zero() {
                let mut sleep = self.clock.sleep(round_up_ms(wait)).boxed();
                let end = std::future::poll_fn(|cx| {
                    if shutdown.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(true);
                    }
                    sleep.as_mut().poll(cx).map(|()| false)
                })
                .await;
                if end {
                    break;
                }
                continue;
            }
            // Then the chat's, right before the send: a chat's messages are spaced
            // by its limit as they leave, not as they queue. A refusal here (another
            // replica sent to the chat) costs one global turn.
            let request = &mut pending[i];
            let pace = self.limits.chat_pace(&request.chat);
            let wait = self
                .acquire(&self.limits.chat_key(&request.chat), pace)
                .await;
            if !wait.is_zero() {
                let at = now.plus(round_up_ms(wait));
                request.ready_at = at;
                chat_ready.insert(request.chat.clone(), at);
                continue;
            }
            chat_ready.insert(request.chat.clone(), now.plus(round_up_ms(pace.interval)));
            let request = pending.swap_remove(i);
            let _ = request.reply.send(Ok(()));
        }
        // Refuse what waits; later `admit`s are refused as the receiver is gone.
        rx.close();
        for request in pending {
            let _ = request.reply.send(Err(Stale));
        }
        while let Ok(request) = rx.try_recv() {
            let _ = request.reply.send(Err(Stale));
        }
    }
}

/// `d` rounded up to whole milliseconds (the clock's resolution).
fn round_up_ms(d: Duration) -> Duration {
    let ms = d.as_micros().div_ceil(1000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}
