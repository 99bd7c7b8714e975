//! The `/v1` handlers: parse the address, call the core's lookup service, shape the
//! answer. Nothing else happens here.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use mc_protocol::address::Edition;
use mcstat_core::lookup::LimitScope;
use mcstat_core::{
    Freshness, LookupError, LookupService, Observed, Platform, StatusOutcome, Target, UserRef,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::dto::{ApiEdition, PlayersResponse, PngBytes, StatusResponse};
use crate::metrics as m;
use crate::middleware::ClientIp;
use crate::problem::{ApiError, Problem, ProblemCode};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The core's lookup service (policy, per-target limit, cache, single-flight).
    pub lookups: Arc<LookupService>,
}

/// The query parameters of every `/v1` route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EditionQuery {
    /// The edition to ask the server as: `java` (default) or `bedrock`. A `bedrock:`
    /// or `java:` prefix on the address does the same; the two must agree.
    pub edition: Option<ApiEdition>,
}

/// Parse the `{address}` segment and `?edition=`.
///
/// # Errors
/// `bad_address` when the address is invalid, `bad_request` when the prefix and the
/// parameter disagree.
pub fn parse_target(raw: &str, edition: Option<ApiEdition>) -> Result<Target, ApiError> {
    let trimmed = raw.trim();
    let (prefixed, rest) = split_edition(trimmed);
    let edition = match (prefixed, edition) {
        (Some(p), Some(q)) if p != Edition::from(q) => {
            return Err(ApiError::new(
                ProblemCode::BadRequest,
                "the address' edition prefix and the edition parameter disagree",
            ));
        }
        (Some(p), _) => p,
        (None, Some(q)) => q.into(),
        (None, None) => Edition::Java,
    };
    if rest.is_empty() {
        return Err(ApiError::new(
            ProblemCode::BadAddress,
            "the address is empty; write host, host:port or [IPv6]:port",
        ));
    }
    Target::parse(rest, edition).map_err(|e| {
        ApiError::new(
            ProblemCode::BadAddress,
            format!("not a server address: {e}"),
        )
    })
}

fn split_edition(s: &str) -> (Option<Edition>, &str) {
    for (prefix, edition) in [("bedrock:", Edition::Bedrock), ("java:", Edition::Java)] {
        if let Some(head) = s.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            return (Some(edition), &s[prefix.len()..]);
        }
    }
    (None, s)
}

fn target_from(
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<EditionQuery>, QueryRejection>,
) -> Result<Target, ApiError> {
    let Path(address) = path.map_err(|e| {
        ApiError::new(
            ProblemCode::BadAddress,
            format!("not a server address: {e}"),
        )
    })?;
    let Query(query) = query.map_err(|e| {
        ApiError::new(
            ProblemCode::BadRequest,
            format!("{} (edition is java or bedrock)", e.body_text()),
        )
    })?;
    parse_target(&address, query.edition)
}

/// The lookup service's user for a client: its IP (or /64), in the id alphabet.
fn user(client: ClientIp) -> Result<UserRef, ApiError> {
    let id = client.key().to_string().replace('.', "-");
    UserRef::new(Platform::Api, id)
        .map_err(|e| ApiError::new(ProblemCode::Internal, format!("client key: {e}")))
}

fn lookup_error(e: LookupError) -> ApiError {
    match &e {
        LookupError::RateLimited { scope, .. } => {
            let scope = match scope {
                LimitScope::User => "user",
                LimitScope::Target => "target",
            };
            metrics::counter!(m::RATE_LIMITED, "scope" => scope).increment(1);
        }
        LookupError::Backend(source) => {
            tracing::warn!(error = &**source as &dyn std::error::Error, "lookup failed");
        }
        _ => {}
    }
    e.into()
}

/// Cache hit or miss; the duration of a lookup that asked the server.
fn record<T>(kind: &'static str, observed: &Observed<T>, protocol: &'static str, started: Instant) {
    match observed.freshness {
        Freshness::Cached { .. } => {
            metrics::counter!(m::CACHE, "kind" => kind, "result" => "hit").increment(1);
        }
        Freshness::Live => {
            metrics::counter!(m::CACHE, "kind" => kind, "result" => "miss").increment(1);
            metrics::histogram!(m::LOOKUP_SECONDS, "kind" => kind, "protocol" => protocol)
                .record(started.elapsed().as_secs_f64());
        }
    }
}

fn protocol_label(outcome: &StatusOutcome) -> &'static str {
    match outcome {
        StatusOutcome::Online(r) => r.protocol.as_str(),
        StatusOutcome::Offline { .. } => "offline",
    }
}

async fn lookup_status(
    state: &AppState,
    client: ClientIp,
    target: &Target,
) -> Result<Observed<StatusOutcome>, ApiError> {
    let user = user(client)?;
    let started = Instant::now();
    let observed = state
        .lookups
        .status(&user, target)
        .await
        .map_err(lookup_error)?;
    record(
        "status",
        &observed,
        protocol_label(&observed.value),
        started,
    );
    Ok(observed)
}

/// The status of a server.
#[utoipa::path(
    get,
    path = "/v1/status/{address}",
    tag = "lookups",
    params(
        ("address" = String, Path, description = "`host`, `host:port`, `[IPv6]:port` or an IDN; prefix `bedrock:` for Bedrock. Percent-encode `[`, `]` and `/`.", example = "play.example.net"),
        EditionQuery,
    ),
    responses(
        (status = 200, description = "The server's status; `online: false` when it did not answer", body = StatusResponse),
        (status = 400, description = "`bad_address` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`refused_target`: the address is in a network that may not be looked up", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<EditionQuery>, QueryRejection>,
) -> Result<Json<StatusResponse>, ApiError> {
    let target = target_from(path, query)?;
    let observed = lookup_status(&state, client, &target).await?;
    Ok(Json(StatusResponse::new(&observed)))
}

/// Who is on a server.
#[utoipa::path(
    get,
    path = "/v1/players/{address}",
    tag = "lookups",
    params(
        ("address" = String, Path, description = "As for `/v1/status/{address}`", example = "play.example.net"),
        EditionQuery,
    ),
    responses(
        (status = 200, description = "The players; `online: false` when the server did not answer", body = PlayersResponse),
        (status = 400, description = "`bad_address` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`refused_target`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn players(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<EditionQuery>, QueryRejection>,
) -> Result<Json<PlayersResponse>, ApiError> {
    let target = target_from(path, query)?;
    let user = user(client)?;
    let started = Instant::now();
    let observed = state
        .lookups
        .players(&user, &target)
        .await
        .map_err(lookup_error)?;
    let protocol = match &observed.value {
        Some(list) => match list.source {
            mcstat_core::PlayerSource::Query => "query",
            _ if target.edition() == Edition::Bedrock => "bedrock",
            _ => "java",
        },
        None => "offline",
    };
    record("players", &observed, protocol, started);
    Ok(Json(PlayersResponse::new(&target, &observed)))
}

/// The server icon, a 64×64 PNG.
#[utoipa::path(
    get,
    path = "/v1/icon/{address}",
    tag = "lookups",
    params(
        ("address" = String, Path, description = "As for `/v1/status/{address}`", example = "play.example.net"),
        EditionQuery,
    ),
    responses(
        (status = 200, description = "The icon", content_type = "image/png", body = PngBytes),
        (status = 400, description = "`bad_address` or `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`refused_target`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`no_icon` (online without an icon) or `server_offline`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn icon(
    State(state): State<AppState>,
    Extension(client): Extension<ClientIp>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<EditionQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let target = target_from(path, query)?;
    let observed = lookup_status(&state, client, &target).await?;
    match observed.value {
        StatusOutcome::Online(report) => match report.icon_png {
            Some(png) => Ok((
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=60"),
                    ),
                ],
                png,
            )
                .into_response()),
            None => Err(ApiError::new(
                ProblemCode::NoIcon,
                format!("{target} is online but has no icon"),
            )),
        },
        StatusOutcome::Offline { reason, .. } => Err(ApiError::new(
            ProblemCode::ServerOffline,
            format!("{target} is offline: {reason}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_a_prefix_or_the_parameter_but_not_both_disagreeing() {
        let t = parse_target("play.example.net", None).expect("java");
        assert_eq!(t.edition(), Edition::Java);
        let t = parse_target("BEDROCK:play.example.net:19133", None).expect("bedrock");
        assert_eq!(t.edition(), Edition::Bedrock);
        assert_eq!(t.key(), "bedrock:play.example.net:19133");
        let t = parse_target("play.example.net", Some(ApiEdition::Bedrock)).expect("param");
        assert_eq!(t.edition(), Edition::Bedrock);
        let t = parse_target("bedrock:a.example", Some(ApiEdition::Bedrock)).expect("agree");
        assert_eq!(t.edition(), Edition::Bedrock);
        let e = parse_target("bedrock:a.example", Some(ApiEdition::Java)).expect_err("disagree");
        assert_eq!(e.code, ProblemCode::BadRequest);
        for bad in [
            "",
            "  ",
            "bedrock:",
            "a..b",
            "host:99999",
            "[::1",
            "exa mple.net",
        ] {
            let e = parse_target(bad, None).expect_err(bad);
            assert_eq!(e.code, ProblemCode::BadAddress, "{bad}");
        }
    }

    #[test]
    fn users_are_client_keys() {
        let u = user(ClientIp("192.0.2.7".parse().expect("ip"))).expect("v4");
        assert_eq!(u.key(), "api:192-0-2-7");
        let u = user(ClientIp("2001:db8::5".parse().expect("ip"))).expect("v6");
        assert_eq!(u.key(), "api:2001:db8::");
    }
}
