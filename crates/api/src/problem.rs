//! Errors as RFC 9457 problem details (`application/problem+json`) with a stable
//! `code` per kind of error.
//!
//! A handler returns an [`ApiError`]; its response carries the [`Problem`] in its
//! extensions too, so the request middleware can add the request id and the
//! `instance` (the request path) before the body is sent. Any other 4xx response
//! (unknown route, wrong method) is turned into a problem by the same middleware.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcstat_core::LookupError;
use mcstat_core::lookup::LimitScope;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The stable error codes. Clients may match on them; they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// 400: the address is not a valid server address.
    BadAddress,
    /// 400: a query parameter is invalid (e.g. an unknown `edition`), or the
    /// address' `bedrock:`/`java:` prefix contradicts `edition`.
    BadRequest,
    /// 403: the address is not allowed (private, loopback, link-local and other
    /// special-purpose networks are refused unless the operator allows them).
    RefusedTarget,
    /// 404: no such route.
    NotFound,
    /// 404: the server is online but has no icon.
    NoIcon,
    /// 404: the server is offline, so it has no icon to give.
    ServerOffline,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 429: too many requests from this client, or for this server; see
    /// `Retry-After`.
    RateLimited,
    /// 503: the lookup could not be done (e.g. no DNS); retry later.
    Unavailable,
    /// 500: a bug; the request id in the logs says more.
    Internal,
}

impl ProblemCode {
    /// The code as text (as in JSON and metrics labels).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadAddress => "bad_address",
            Self::BadRequest => "bad_request",
            Self::RefusedTarget => "refused_target",
            Self::NotFound => "not_found",
            Self::NoIcon => "no_icon",
            Self::ServerOffline => "server_offline",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            Self::BadAddress | Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::RefusedTarget => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NoIcon | Self::ServerOffline => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    const fn title(self) -> &'static str {
        match self {
            Self::BadAddress => "Invalid server address",
            Self::BadRequest => "Invalid request",
            Self::RefusedTarget => "Address not allowed",
            Self::NotFound => "Not found",
            Self::NoIcon => "The server has no icon",
            Self::ServerOffline => "The server is offline",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RateLimited => "Too many requests",
            Self::Unavailable => "Lookup unavailable",
            Self::Internal => "Internal error",
        }
    }
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:mcstat:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem (the same for every occurrence).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The stable error code, for programs.
    pub code: ProblemCode,
    /// The request id (also in the `x-request-id` header and the server's logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// With `rate_limited`: seconds to wait (as in `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

/// An error a handler returns: rendered as a [`Problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The code.
    pub code: ProblemCode,
    /// What went wrong, for people.
    pub detail: String,
    /// For [`ProblemCode::RateLimited`]: how long to wait.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error with `code` and `detail`.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// A rate-limit refusal.
    #[must_use]
    pub fn rate_limited(detail: impl Into<String>, retry_after: Duration) -> Self {
        Self {
            code: ProblemCode::RateLimited,
            detail: detail.into(),
            retry_after: Some(retry_after),
        }
    }

    /// The retry delay in whole seconds, rounded up, at least 1.
    #[must_use]
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// The problem object, without request id and instance.
    #[must_use]
    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: format!("urn:mcstat:problem:{}", self.code.as_str()),
            title: self.code.title().into(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            instance: None,
            code: self.code,
            request_id: None,
            retry_after_s: self.retry_after_secs(),
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Policy(v) => Self::new(ProblemCode::RefusedTarget, v.to_string()),
            LookupError::RateLimited { scope, retry_after } => {
                let detail = match scope {
                    LimitScope::User => "too many lookups from this client",
                    LimitScope::Target => {
                        "this server was asked too often recently; it is not asked again yet"
                    }
                };
                Self::rate_limited(detail, retry_after)
            }
            LookupError::Backend(_) => Self::new(
                ProblemCode::Unavailable,
                "the lookup could not be done right now; try again later",
            ),
            // LookupError is non-exhaustive: a new kind is a bug until mapped.
            _ => Self::new(ProblemCode::Internal, "internal error"),
        }
    }
}

/// Render `problem` as a response with `status` and, if set, `Retry-After`.
pub(crate) fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(problem)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(secs) = problem.retry_after_s {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response.extensions_mut().insert(problem.clone());
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&self.problem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let e = ApiError::rate_limited("x", Duration::from_millis(1200));
        assert_eq!(e.retry_after_secs(), Some(2));
        let e = ApiError::rate_limited("x", Duration::ZERO);
        assert_eq!(e.retry_after_secs(), Some(1));
        let p = e.problem();
        assert_eq!(p.status, 429);
        assert_eq!(p.type_uri, "urn:mcstat:problem:rate_limited");
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["code"], "rate_limited");
        assert_eq!(json["retry_after_s"], 1);
        assert!(json.get("instance").is_none());
    }

    #[test]
    fn lookup_errors_map_to_codes() {
        let e = ApiError::from(LookupError::RateLimited {
            scope: LimitScope::Target,
            retry_after: Duration::from_secs(9),
        });
        assert_eq!(e.code, ProblemCode::RateLimited);
        assert_eq!(e.retry_after_secs(), Some(9));
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "9");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);

        let backend = mcstat_core::ports::SourceError::Backend("no resolv.conf".into());
        let e = ApiError::from(LookupError::Backend(std::sync::Arc::new(backend)));
        assert_eq!(e.code, ProblemCode::Unavailable);
        assert!(
            !e.detail.contains("resolv.conf"),
            "internals stay in the logs"
        );
        assert_eq!(e.into_response().status(), StatusCode::SERVICE_UNAVAILABLE);

        let ip = "192.168.1.2".parse().expect("ip");
        let violation = mcstat_core::TargetPolicy::public_only()
            .check(ip)
            .expect_err("private");
        let e = ApiError::from(LookupError::Policy(violation));
        assert_eq!(e.code, ProblemCode::RefusedTarget);
        assert_eq!(e.problem().status, 403);
    }
}
