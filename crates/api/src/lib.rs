//! mcstat HTTP status API: a thin axum frontend over the core's lookup service.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/status/{address}` | [`dto::StatusResponse`] (Java; `?edition=bedrock` or a `bedrock:` prefix for Bedrock) |
//! | `GET /v1/players/{address}` | [`dto::PlayersResponse`] |
//! | `GET /v1/icon/{address}` | the server icon (`image/png`) |
//! | `GET /v1/history/{address}?range=24h\|7d\|30d\|90d\|1y&step=raw\|5m\|1h\|1d` | [`dto::HistoryResponse`]: the recorded history of a watched server in buckets ([`routes::history`], [`routes::allowed_steps`]) |
//! | `GET /openapi.json` | the OpenAPI document, generated from this crate ([`openapi::ApiDoc`]) |
//! | `GET /healthz`, `/readyz`, `/metrics` | `mcstat_service::ops` |
//!
//! Errors are RFC 9457 problem details with a stable `code` ([`problem`]). Every
//! request gets a request id (the `x-request-id` header, in every log line of the
//! request), and is counted in the metrics ([`metrics`]).
//!
//! Rate limits: this crate limits requests per client IP ([`middleware::IpLimiter`],
//! IPv6 per /64; the address comes from a reverse proxy's header when configured);
//! the core's [`LookupService`] limits how often one server is asked, whoever asks.
//! The lookup service's own per-user limit is off here: the per-IP limit is that
//! limit, spent before the address is even parsed.
//!
//! Architecture invariant: no lookup logic here. Handlers parse, call
//! [`LookupService`], and shape the answer; the caches, stores and policies are the
//! same as the bots' (built by `mcstat_service::backend`).

pub mod config;
pub mod dto;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mcstat_core::watch::WatchService;
use mcstat_core::{LookupConfig, LookupService};
use mcstat_service::ServiceConfig;
use mcstat_service::backend::Backend;
use mcstat_service::ops::{self, Ops};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use config::ApiConfig;
use middleware::{IpLimiter, Outer, REQUEST_ID, RequestIds};
use problem::{ApiError, ProblemCode};
use routes::AppState;

/// Why the API stopped with an error.
pub type RunError = Box<dyn std::error::Error + Send + Sync>;

/// The lookup service the API uses: the backend's ports, the configured target
/// policy, the core's TTLs and per-target limit, and no per-user limit (the API's
/// per-IP limit is that).
#[must_use]
pub fn lookup_service(backend: &Backend, service: &ServiceConfig) -> Arc<LookupService> {
    Arc::new(LookupService::new(
        Arc::clone(&backend.source),
        Arc::clone(&backend.cache),
        Arc::clone(&backend.clock),
        LookupConfig {
            policy: service.policy(),
            per_user: None,
            ..LookupConfig::default()
        },
    ))
}

/// The whole HTTP application: `/v1`, `/openapi.json` and the operations routes,
/// with the request middleware and CORS. Serve it with [`serve`] (which provides the
/// peer address the per-IP limit needs). `watches` serves `/v1/history` (build it
/// with [`Backend::watch_service`]).
pub fn app(
    lookups: Arc<LookupService>,
    watches: Arc<WatchService>,
    backend: &Backend,
    api: &ApiConfig,
    metrics: PrometheusHandle,
) -> Router {
    let limiter = api
        .per_ip_limit()
        .map(|(burst, every)| Arc::new(IpLimiter::new(burst, every)));
    let v1 = Router::new()
        .route("/v1/status/{address}", get(routes::status))
        .route("/v1/players/{address}", get(routes::players))
        .route("/v1/icon/{address}", get(routes::icon))
        .route("/v1/history/{address}", get(routes::history))
        .route_layer(axum::middleware::from_fn_with_state(
            limiter,
            middleware::rate_limit,
        ))
        .with_state(AppState {
            lookups,
            watches,
            clock: Arc::clone(&backend.clock),
        });
    let router = Router::new()
        .route("/openapi.json", get(openapi_json))
        .merge(v1)
        .merge(ops::router(Ops::new(Arc::clone(&backend.chats), metrics)));
    with_layers(router, api)
}

/// The layers around every route: route labels, the 404 fallback, CORS, panics as
/// 500 problems, and the outer request middleware.
fn with_layers(router: Router, api: &ApiConfig) -> Router {
    let mut router = router
        .route_layer(axum::middleware::from_fn(middleware::route_label))
        .fallback(not_found);
    if let Some(cors) = cors(api) {
        router = router.layer(cors);
    }
    router.layer(CatchPanicLayer::custom(panic_response)).layer(
        axum::middleware::from_fn_with_state(
            Outer {
                ids: Arc::new(RequestIds::new()),
                client_ip_header: api.api_client_ip_header.clone(),
            },
            middleware::outer,
        ),
    )
}

fn cors(api: &ApiConfig) -> Option<CorsLayer> {
    let origins = match &api.api_cors_origins {
        config::CorsOrigins::None => return None,
        config::CorsOrigins::Any => AllowOrigin::any(),
        config::CorsOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::HEAD])
            .expose_headers([header::RETRY_AFTER, REQUEST_ID])
            .max_age(Duration::from_secs(3600)),
    )
}

/// A handler that panicked (a bug) answers 500 `internal`; the request's span and id
/// are in the log line.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %message, "handler panicked");
    ApiError::new(ProblemCode::Internal, "internal error").into_response()
}

async fn openapi_json() -> Response {
    match openapi::json() {
        Ok(doc) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            doc,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise the OpenAPI document");
            ApiError::new(ProblemCode::Internal, "internal error").into_response()
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::new(ProblemCode::NotFound, "no such route; see /openapi.json")
}

/// Serve `router` on `listener` (with each connection's peer address) until
/// `shutdown` resolves; requests in flight then are finished first.
///
/// # Errors
/// The I/O error that ended the server.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Run the API until SIGTERM or Ctrl-C.
///
/// # Errors
/// When the backend cannot be built or the address cannot be bound.
pub async fn run(service: ServiceConfig, api: ApiConfig) -> Result<(), RunError> {
    let metrics = ops::install_metrics()?;
    let backend = Backend::build(&service).await?;
    let lookups = lookup_service(&backend, &service);
    let addr = match service.http_addr {
        Some(addr) => addr,
        None => config::DEFAULT_ADDR.parse()?,
    };
    let watches = backend.watch_service(&service);
    let router = app(Arc::clone(&lookups), watches, &backend, &api, metrics);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (MCSTAT_HTTP_ADDR): {e}"))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        per_ip_limit = ?api.per_ip_limit(),
        cors = ?api.api_cors_origins,
        client_ip_header = ?api.api_client_ip_header,
        store = ?service.store,
        cache = ?service.cache,
        "HTTP API listening"
    );
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            lookups.housekeeping();
        }
    });
    let result = serve(listener, router, mcstat_service::shutdown_signal()).await;
    housekeeping.abort();
    tracing::info!("HTTP API stopped; requests in flight finished");
    result.map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem_and_the_server_lives_on() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let router = with_layers(
            Router::new().route("/boom", get(boom)),
            &ApiConfig::default(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(serve(listener, router, std::future::pending()));
        for _ in 0..2 {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .expect("write");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("read");
            assert!(out.starts_with("HTTP/1.1 500"), "{out}");
            assert!(out.contains("application/problem+json"), "{out}");
            assert!(out.contains("\"code\":\"internal\""), "{out}");
            assert!(out.contains("x-request-id"), "{out}");
        }
    }
}
