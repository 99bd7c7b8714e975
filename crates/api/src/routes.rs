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

use mcstat_core::history::{HistoryConfig, MAX_READ_ENTRIES, Tier};
use mcstat_core::ports::Clock;
use mcstat_core::watch::WatchService;

use crate::dto::{
    ApiEdition, ApiRange, ApiStep, HistoryPoint, HistoryResponse, PlayersResponse, PngBytes,
    StatusResponse,
};
use crate::metrics as m;
use crate::middleware::ClientIp;
use crate::problem::{ApiError, Problem, ProblemCode};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The core's lookup service (policy, per-target limit, cache, single-flight).
    pub lookups: Arc<LookupService>,
    /// The watch service, for the recorded history.
    pub watches: Arc<WatchService>,
    /// The clock the history is read at.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("lookups", &self.lookups)
            .finish_non_exhaustive()
    }
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

/// The query parameters of `/v1/history/{address}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How far back: `24h` (default), `7d`, `30d`, `90d` or `1y`.
    pub range: Option<ApiRange>,
    /// The bucket length: `raw` (every poll), `5m`, `1h` or `1d`. By default the
    /// finest one kept for the whole range (24h → raw, 7d → 5m, 30d and 90d → 1h,
    /// 1y → 1d). A step is allowed when its tier keeps the whole range and the range
    /// holds at most 2,200 of its buckets (raw: polls counted one a minute); with the
    /// default retention: raw for 24h; 5m for 24h and 7d; 1h up to 90d; 1d always.
    pub step: Option<ApiStep>,
    /// The edition, as for `/v1/status/{address}`.
    pub edition: Option<ApiEdition>,
}

/// The steps `config` allows over `range` (see [`HistoryQuery::step`]), finest first.
#[must_use]
pub fn allowed_steps(config: &HistoryConfig, range: ApiRange) -> Vec<ApiStep> {
    let span = range.chart_range().span();
    let span_ms = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
    [Tier::Raw, Tier::Min5, Tier::Hour, Tier::Day]
        .into_iter()
        .filter(|tier| {
            let per_entry = if *tier == Tier::Raw {
                60_000
            } else {
                tier.bucket_ms()
            };
            // The coarsest tier is always read (as the watch service does), even
            // when it is kept for less than the range.
            *tier == Tier::Day
                || (config.keep(tier.stream()) >= span && span_ms / per_entry <= MAX_READ_ENTRIES)
        })
        .map(ApiStep::from)
        .collect()
}

/// The step to read `range` at: `step` if `config` allows it, else `bad_request`
/// naming the steps allowed.
///
/// # Errors
/// `bad_request` for a step finer than the history keeps for the range.
pub fn history_step(
    config: &HistoryConfig,
    range: ApiRange,
    step: Option<ApiStep>,
) -> Result<ApiStep, ApiError> {
    let allowed = allowed_steps(config, range);
    let name = |s: ApiStep| Tier::from(s).name();
    match step {
        None => Ok(ApiStep::from(config.tier_for(range.chart_range().span()))),
        Some(step) if allowed.contains(&step) => Ok(step),
        Some(step) => {
            let list: Vec<&str> = allowed.iter().map(|s| name(*s)).collect();
            Err(ApiError::new(
                ProblemCode::BadRequest,
                format!(
                    "step={} is not kept for range={}: use step={}",
                    name(step),
                    range.chart_range().as_str(),
                    list.join(", step=")
                ),
            ))
        }
    }
}

/// The recorded history of a watched server, in buckets.
#[utoipa::path(
    get,
    path = "/v1/history/{address}",
    tag = "history",
    params(
        ("address" = String, Path, description = "As for `/v1/status/{address}`", example = "play.example.net"),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "The buckets with anything recorded, oldest first; no points for a server nobody watches", body = HistoryResponse),
        (status = 400, description = "`bad_address`, or `bad_request`: an unknown range or step, or a step finer than the history keeps for the range (e.g. `raw` for `30d`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`unavailable`: the store does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<HistoryResponse>, ApiError> {
    let Path(address) = path.map_err(|e| {
        ApiError::new(
            ProblemCode::BadAddress,
            format!("not a server address: {e}"),
        )
    })?;
    let Query(query) = query.map_err(|e| {
        ApiError::new(
            ProblemCode::BadRequest,
            format!(
                "{} (range is 24h, 7d, 30d, 90d or 1y; step is raw, 5m, 1h or 1d; edition is java or bedrock)",
                e.body_text()
            ),
        )
    })?;
    let target = parse_target(&address, query.edition)?;
    let range = query.range.unwrap_or_default();
    let config = state.watches.config().history_config();
    let step = history_step(&config, range, query.step)?;
    let span = range.chart_range().span();
    let now = state.clock.now();
    let (tier, points) = state
        .watches
        .series(&target, span, Some(step.into()))
        .await
        .map_err(|e| {
            tracing::warn!(error = &e as &dyn std::error::Error, "history read failed");
            ApiError::new(
                ProblemCode::Unavailable,
                "the history could not be read; retry later",
            )
        })?;
    Ok(Json(HistoryResponse {
        address: target.to_string(),
        range,
        step: tier.into(),
        from_ms: tier.align(now.minus(span).as_millis()),
        to_ms: now.as_millis(),
        points: points.iter().map(HistoryPoint::new).collect(),
    }))
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
    fn history_steps_follow_what_each_tier_keeps() {
        let config = HistoryConfig::default();
        let allowed = |r| allowed_steps(&config, r);
        assert_eq!(
            allowed(ApiRange::Day),
            [ApiStep::Raw, ApiStep::Min5, ApiStep::Hour, ApiStep::Day]
        );
        assert_eq!(
            allowed(ApiRange::Week),
            [ApiStep::Min5, ApiStep::Hour, ApiStep::Day]
        );
        assert_eq!(allowed(ApiRange::Month), [ApiStep::Hour, ApiStep::Day]);
        assert_eq!(allowed(ApiRange::Quarter), [ApiStep::Hour, ApiStep::Day]);
        assert_eq!(allowed(ApiRange::Year), [ApiStep::Day]);
        let default = |r| history_step(&config, r, None).expect("default");
        assert_eq!(
            [
                ApiRange::Day,
                ApiRange::Week,
                ApiRange::Month,
                ApiRange::Quarter,
                ApiRange::Year
            ]
            .map(default),
            [
                ApiStep::Raw,
                ApiStep::Min5,
                ApiStep::Hour,
                ApiStep::Hour,
                ApiStep::Day
            ]
        );
        let e = history_step(&config, ApiRange::Month, Some(ApiStep::Raw)).expect_err("raw");
        assert_eq!(e.code, ProblemCode::BadRequest);
        assert_eq!(
            e.detail,
            "step=raw is not kept for range=30d: use step=1h, step=1d"
        );
        // The old single retention of 30 days keeps no hourly buckets for 90 days.
        let short = HistoryConfig::from_retention_days(30);
        assert_eq!(
            allowed_steps(&short, ApiRange::Quarter),
            [ApiStep::Day],
            "daily buckets are read even when they hold less than the range"
        );
    }

    #[test]
    fn users_are_client_keys() {
        let u = user(ClientIp("192.0.2.7".parse().expect("ip"))).expect("v4");
        assert_eq!(u.key(), "api:192-0-2-7");
        let u = user(ClientIp("2001:db8::5".parse().expect("ip"))).expect("v6");
        assert_eq!(u.key(), "api:2001:db8::");
    }
}
