//! Where updates come from: long polling (default) or a webhook. Both feed one bounded
//! queue that the dispatcher drains, so the rest of the bot does not know which.
//!
//! Shutdown: the [`Stopper`] sets a [`StopFlag`]; the poller stops asking
//! for updates and the webhook answers 503 (Telegram redelivers those later, possibly
//! to another replica); updates already queued are still handled, then the stream
//! ends and the dispatcher waits for the handlers in flight.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use futures_util::Stream;
use futures_util::task::AtomicWaker;
use mcstat_service::Secret;
use teloxide::Bot;
use teloxide::prelude::Requester as _;
use teloxide::requests::HasPayload as _;
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{AllowedUpdate, Update};
use tokio::sync::mpsc;

/// How many received updates may wait for the dispatcher.
pub const QUEUE_CAPACITY: usize = 256;

/// The update kinds the bot handles (asked of Telegram in polling and webhook mode).
#[must_use]
pub fn allowed_updates() -> Vec<AllowedUpdate> {
    vec![
        AllowedUpdate::Message,
        AllowedUpdate::CallbackQuery,
        AllowedUpdate::InlineQuery,
    ]
}

/// The receiving end of the queue: a stream of updates for
/// [`dispatch`](crate::dispatch::dispatch), which ends after [`Stopper::stop`] once
/// the updates accepted before it are taken.
pub struct Updates {
    rx: mpsc::Receiver<Update>,
    flag: StopFlag,
    stopper: Stopper,
    stopped: bool,
}

/// Stops the poller, the webhook and the [`Updates`] stream (see [`Updates`]).
#[derive(Clone)]
pub struct Stopper {
    token: StopToken,
    /// The stream's own waker: the flag's clones (poller, webhook, stream) share one
    /// waker slot, and the stream must be woken whoever polled the flag last.
    woken: Arc<AtomicWaker>,
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper").finish_non_exhaustive()
    }
}

impl Stopper {
    /// Stop: the poller asks no more, the webhook answers 503, the stream ends once
    /// what they accepted is taken.
    pub fn stop(&self) {
        self.token.stop();
        self.woken.wake();
    }
}

/// The producing end: the poller or the webhook pushes here.
#[derive(Clone)]
pub struct Queue {
    tx: mpsc::Sender<Update>,
    flag: StopFlag,
}

impl std::fmt::Debug for Updates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updates").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

impl Queue {
    /// Whether the listener was told to stop.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.flag.is_stopped()
    }

    /// Resolves when the listener is told to stop.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        self.flag.clone()
    }
}

impl Updates {
    /// What stops the poller, the webhook and this stream.
    #[must_use]
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }
}

impl Stream for Updates {
    type Item = Update;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Update>> {
        let state = &mut *self;
        if !state.stopped {
            state.stopper.woken.register(cx.waker());
            state.stopped = state.flag.is_stopped();
        }
        if state.stopped {
            // Drain what was accepted before the stop, then end.
            return Poll::Ready(state.rx.try_recv().ok());
        }
        state.rx.poll_recv(cx)
    }
}

/// A queue and the stream that drains it.
#[must_use]
pub fn queue() -> (Queue, Updates) {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let (token, flag) = mk_stop_token();
    (
        Queue {
            tx,
            flag: flag.clone(),
        },
        Updates {
            rx,
            flag,
            stopper: Stopper {
                token,
                woken: Arc::default(),
            },
            stopped: false,
        },
    )
}

/// Long polling: `getUpdates` in a loop until the queue is stopped.
///
/// A server that ignores `timeout` and answers an empty list at once (telegram-test-api
/// does) is asked at most every 200 ms. Failures back off up to 30 s; a 429 waits
/// `retry_after`.
pub async fn poll(bot: Bot, queue: Queue, timeout: Duration) {
    let mut offset = 0_i32;
    let mut failures = 0_u32;
    let stopped = queue.stopped();
    tokio::pin!(stopped);
    let timeout_secs = u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX);
    loop {
        let mut request = bot.get_updates();
        let payload = request.payload_mut();
        payload.offset = Some(offset);
        payload.timeout = Some(timeout_secs);
        payload.allowed_updates = Some(allowed_updates());
        let started = Instant::now();
        let result = tokio::select! {
            () = &mut stopped => break,
            r = request => r,
        };
        let wait = match result {
            Ok(updates) => {
                failures = 0;
                let empty = updates.is_empty();
                for update in updates {
                    // `as_offset` is already the id plus one: one more would confirm
                    // (and so lose) the next update unseen.
                    offset = update.id.as_offset();
                    if queue.tx.send(update).await.is_err() {
                        return;
                    }
                }
                (empty && started.elapsed() < Duration::from_millis(100))
                    .then_some(Duration::from_millis(200))
            }
            Err(teloxide::RequestError::RetryAfter(s)) => Some(s.duration()),
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = Duration::from_secs(1 << failures.min(5)).min(Duration::from_secs(30));
                tracing::warn!(error = %e, wait_s = wait.as_secs(), "getUpdates failed");
                Some(wait)
            }
        };
        if let Some(wait) = wait {
            tokio::select! {
                () = &mut stopped => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
    tracing::info!("polling stopped");
}

/// The header Telegram sends with every webhook request.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// How long a webhook request may wait for room in a full queue before it is refused
/// with 503 (Telegram retries it later).
pub const ENQUEUE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct WebhookState {
    queue: Queue,
    secret: Secret,
}

/// The webhook route: `POST path` with the secret token header checked (in constant
/// time) before anything else is looked at.
///
/// Answers: 401 without the right secret; 400 for a body that is not an update; 503
/// while shutting down or when the queue stays full; 200 once the update is queued.
pub fn webhook_router(path: &str, secret: Secret, queue: Queue) -> Router {
    Router::new()
        .route(path, post(webhook))
        .with_state(WebhookState { queue, secret })
}

async fn webhook(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(axum::http::HeaderValue::as_bytes)
        .unwrap_or_default();
    if !constant_time_eq(given, state.secret.expose().as_bytes()) {
        metrics::counter!("mcstat_telegram_webhook_refused_total").increment(1);
        tracing::warn!("webhook request without the right secret token refused");
        return StatusCode::UNAUTHORIZED;
    }
    if state.queue.is_stopped() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, len = body.len(), "webhook body is not an update");
            return StatusCode::BAD_REQUEST;
        }
    };
    match tokio::time::timeout(ENQUEUE_TIMEOUT, state.queue.tx.send(update)).await {
        Ok(Ok(())) => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Equality whose time depends only on the lengths, not on where the bytes differ.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt as _;

    use super::{constant_time_eq, queue};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_stream_ends_at_the_stop_whoever_watched_the_flag_last() {
        let (queue, mut updates) = queue();
        let stopper = updates.stopper();
        let ended = tokio::spawn(async move { updates.next().await.is_none() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The poller waits on its clone of the flag after the stream did.
        let poller = tokio::spawn(queue.stopped());
        tokio::time::sleep(Duration::from_millis(50)).await;
        stopper.stop();
        let ended = tokio::time::timeout(Duration::from_secs(2), ended)
            .await
            .expect("the stream ends at the stop")
            .expect("the stream's task");
        assert!(ended);
        poller.await.expect("the poller sees the stop too");
        assert!(queue.is_stopped());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
