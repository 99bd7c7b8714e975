//! The OpenAPI document, generated from the handlers' and types' annotations (served
//! at `/openapi.json`).

use utoipa::OpenApi;

use crate::dto::{
    ApiEdition, ApiPlayerSource, ApiProtocol, ApiRange, ApiStep, CacheInfo, HistoryPoint,
    HistoryResponse, MotdInfo, OfflineInfo, OfflineKind, PlayerCounts, PlayersResponse, Spread,
    StatusResponse, VersionInfo,
};
use crate::problem::{Problem, ProblemCode};

/// The API's OpenAPI description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "mcstat HTTP API",
        description = "Minecraft server status (Java and Bedrock) as JSON. Errors are RFC 9457 problem details with a stable `code`. Every response carries an `x-request-id` header.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        crate::routes::status,
        crate::routes::players,
        crate::routes::icon,
        crate::routes::history,
        healthz,
        readyz,
        metrics,
    ),
    components(schemas(
        StatusResponse,
        PlayersResponse,
        CacheInfo,
        MotdInfo,
        VersionInfo,
        PlayerCounts,
        OfflineInfo,
        OfflineKind,
        ApiEdition,
        ApiProtocol,
        ApiPlayerSource,
        HistoryResponse,
        HistoryPoint,
        Spread,
        ApiRange,
        ApiStep,
        Problem,
        ProblemCode,
    )),
    tags(
        (name = "lookups", description = "Server lookups"),
        (name = "history", description = "The recorded history of watched servers"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

// The operations routes are served by `mcstat_service::ops`; these items only
// describe them.

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = String, content_type = "text/plain")))]
#[allow(dead_code)]
fn healthz() {}

/// Readiness: 200 when the store answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "The store does not answer", body = String, content_type = "text/plain"),
    ))]
#[allow(dead_code)]
fn readyz() {}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
#[allow(dead_code)]
fn metrics() {}

/// The document as JSON.
///
/// # Errors
/// When it cannot be serialised (a bug).
pub fn json() -> Result<String, serde_json::Error> {
    serde_json::to_string(&ApiDoc::openapi())
}
