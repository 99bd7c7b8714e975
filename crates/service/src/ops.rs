//! The operations HTTP server: `/healthz`, `/readyz`, `/metrics`.
//!
//! - `/livez`: 200 while the process runs (liveness: what a restart policy should
//!   probe).
//! - `/healthz`: 200 `ok`, or 503 `degraded: …` while a bot's outbox has a
//!   notification waiting longer than `MCSTAT_OUTBOX_STALE_SECS` (delivery is stuck
//!   or far behind: alert on it; restarting does not help, the outbox is durable).
//! - `/readyz`: 200 when the store answers a ping within [`READY_TIMEOUT`], 503
//!   otherwise (readiness: a load balancer stops sending webhooks to this replica).
//! - `/metrics`: the Prometheus text format of everything recorded through the
//!   `metrics` crate since [`install_metrics`].
//!
//! A frontend merges its own routes (e.g. the Telegram webhook) into [`router`] and
//! serves the result with [`serve`].

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use mcstat_core::ports::ChatStore;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// How long `/readyz` waits for the store.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the metrics recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the Prometheus metrics recorder: {0}")]
pub struct MetricsError(String);

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The histogram buckets (seconds) of every metric whose name ends in `_seconds`
/// (lookups, requests, updates): 5 ms to 30 s. Other histograms are summaries.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Install the process-wide Prometheus recorder (once; later calls return the same
/// handle).
///
/// # Errors
/// [`MetricsError`] when another `metrics` recorder is already installed.
pub fn install_metrics() -> Result<PrometheusHandle, MetricsError> {
    // One installation at a time: two racing first calls would otherwise both try to
    // install, and the loser would fail although a recorder of ours is in place.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handle) = METRICS.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .map_err(|e| MetricsError(e.to_string()))?
        .install_recorder()
        .map_err(|e| MetricsError(e.to_string()))?;
    Ok(METRICS.get_or_init(|| handle).clone())
}

/// What the operations routes need.
#[derive(Clone)]
pub struct Ops {
    store: Arc<dyn ChatStore>,
    metrics: PrometheusHandle,
    outboxes: Vec<Arc<crate::delivery::OutboxHealth>>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").finish_non_exhaustive()
    }
}

impl Ops {
    /// Readiness pings `store`; `/metrics` renders `metrics`.
    #[must_use]
    pub fn new(store: Arc<dyn ChatStore>, metrics: PrometheusHandle) -> Self {
        Self {
            store,
            metrics,
            outboxes: Vec::new(),
        }
    }

    /// `/healthz` also reports `health`'s outbox.
    #[must_use]
    pub fn with_outbox(mut self, health: Arc<crate::delivery::OutboxHealth>) -> Self {
        self.outboxes.push(health);
        self
    }
}

/// The `/healthz`, `/readyz` and `/metrics` routes.
pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

async fn livez() -> &'static str {
    "ok\n"
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    match ops.outboxes.iter().find_map(|h| h.problem()) {
        None => (StatusCode::OK, "ok\n".to_owned()),
        Some(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: {problem}\n"),
        ),
    }
}

async fn readyz(State(ops): State<Ops>) -> impl IntoResponse {
    match tokio::time::timeout(READY_TIMEOUT, ops.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %error_chain(&e), "readiness: store ping failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
        Err(_) => {
            tracing::warn!("readiness: store ping timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ops.metrics.render(),
    )
}

/// Serve `router` on `listener` until `shutdown` resolves; requests in flight then are
/// finished before this returns.
///
/// # Errors
/// The I/O error that ended the server.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// An error and its sources on one line (`a: b: c`), for logs.
#[must_use]
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use mcstat_core::ports::{MockChatStore, StoreError};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn racing_first_installs_all_get_the_recorder() {
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    install_metrics().map(drop)
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().expect("thread").is_ok());
        }
    }

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn health_readiness_and_metrics_over_http() {
        let mut store = MockChatStore::new();
        let mut calls = 0;
        store.expect_ping().times(2).returning(move || {
            calls += 1;
            if calls == 1 {
                Ok(())
            } else {
                Err(StoreError::Unavailable("redis down".into()))
            }
        });
        let handle = install_metrics().expect("recorder");
        metrics::counter!("mcstat_test_total").increment(3);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router(Ops::new(Arc::new(store), handle)),
            async {
                let _ = stop_rx.await;
            },
        ));
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        let m = get(addr, "/metrics").await;
        assert!(m.contains("mcstat_test_total 3"), "{m}");
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
        stop_tx.send(()).expect("stop");
        server.await.expect("join").expect("served");
    }

    #[tokio::test]
    async fn healthz_is_degraded_while_a_notification_waits_too_long() {
        use mcstat_core::Timestamp;
        use mcstat_core::outbox::{OutboxEvent, OutboxStats, QueueStats};

        let handle = install_metrics().expect("recorder");
        let health = Arc::new(crate::delivery::OutboxHealth::new(Duration::from_secs(300)));
        let sink =
            crate::delivery::event_sink(mcstat_core::Platform::Telegram, Arc::clone(&health));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router(Ops::new(Arc::new(MockChatStore::new()), handle).with_outbox(health)),
            async {
                let _ = stop_rx.await;
            },
        ));
        let at = Timestamp(1_700_000_000_000);
        let waiting = |age_secs: u64| {
            let mut stats = OutboxStats::default();
            stats.queues[1] = QueueStats {
                pending: 12,
                oldest: Some(Timestamp(at.0 - age_secs * 1000)),
            };
            OutboxEvent::Stats { stats, at }
        };
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        sink(waiting(299));
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        sink(waiting(301));
        let degraded = get(addr, "/healthz").await;
        assert!(degraded.starts_with("HTTP/1.1 503"), "{degraded}");
        assert!(
            degraded.contains("degraded: the oldest pending notification has waited 301 s"),
            "{degraded}"
        );
        assert!(degraded.contains("12 pending"), "{degraded}");
        // Liveness does not depend on it.
        assert!(get(addr, "/livez").await.starts_with("HTTP/1.1 200"));
        let m = get(addr, "/metrics").await;
        assert!(
            m.contains("mcstat_outbox_pending{platform=\"telegram\",priority=\"notification\"} 12"),
            "{m}"
        );
        sink(waiting(0));
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        stop_tx.send(()).expect("stop");
        server.await.expect("join").expect("served");
    }
}
