//! What happens around every request: a request id and a log span, the client's IP,
//! the per-IP rate limit, problem details for every 4xx, metrics and one access log
//! line.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use tracing::Instrument as _;

use crate::metrics as m;
use crate::problem::{ApiError, Problem, ProblemCode, problem_response};

/// The request id header, read (when sane) and always written.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client's address as the API sees it (IPv6 addresses as their /64, which is
/// what one client usually holds). In the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The rate limit and user key: IPv4 as is, IPv6 as its /64 network.
    #[must_use]
    pub fn key(self) -> IpAddr {
        match self.0.to_canonical() {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
            v4 => v4,
        }
    }
}

/// The request's id. In the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The route label of the response, for metrics (set by [`route_label`]).
#[derive(Debug, Clone, Copy)]
struct RouteLabel(&'static str);

/// Request ids: a per-process prefix and a counter (`3f9a1c-17`).
#[derive(Debug)]
pub(crate) struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> Self {
        // A random-enough prefix without a random number crate: the std hasher's
        // per-process random keys over the start time.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mixed = RandomState::new().hash_one(nanos);
        Self {
            prefix: format!("{:06x}", mixed >> 40),
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> String {
        format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// A request id a client or proxy sent is kept when it is short and plain.
fn sane_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')))
    .then(|| s.to_owned())
}

/// The client's IP: from `header` when the API is behind a reverse proxy that sets
/// it (the last valid address of `X-Forwarded-For`, which is the one the proxy
/// added), else the peer address.
fn client_ip(headers: &HeaderMap, header: Option<&HeaderName>, peer: Option<IpAddr>) -> IpAddr {
    let from_header = header.and_then(|name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| parse_forwarded_ip(s.trim()))
            .next_back()
    });
    from_header
        .or(peer)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
        .to_canonical()
}

/// `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or `203.0.113.7:443`.
fn parse_forwarded_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    s.parse::<SocketAddr>().ok().map(|a| a.ip())
}

/// What the outer middleware needs.
#[derive(Debug, Clone)]
pub(crate) struct Outer {
    pub(crate) ids: Arc<RequestIds>,
    pub(crate) client_ip_header: Option<HeaderName>,
}

/// The outermost layer: request id, span, client IP, problem details for every 4xx,
/// metrics and the access log line.
pub(crate) async fn outer(State(state): State<Outer>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| state.ids.next());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(req.headers(), state.client_ip_header.as_ref(), peer);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    req.extensions_mut().insert(ClientIp(ip));
    req.extensions_mut().insert(RequestId(id.clone()));

    let span = tracing::info_span!("request", request_id = %id, %method, path = %path);
    let mut response = next.run(req).instrument(span.clone()).await;

    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        response = finish_problem(response, &id, &path);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }

    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unmatched", |r| r.0);
    let outcome = response
        .extensions()
        .get::<Problem>()
        .map_or("ok", |p| p.code.as_str());
    let elapsed = started.elapsed();
    metrics::counter!(m::REQUESTS, "route" => route, "outcome" => outcome).increment(1);
    metrics::histogram!(m::REQUEST_SECONDS, "route" => route).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            route,
            outcome,
            ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "request"
        );
    });
    response
}

/// Add the request id and instance to a handler's problem, or turn another error
/// response (unknown route, wrong method, a framework rejection) into a problem.
/// Responses of the operations routes (`/readyz`'s 503) are left as they are.
fn finish_problem(response: Response, id: &str, path: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let problem = match parts.extensions.remove::<Problem>() {
        Some(p) => p,
        None => {
            let code = match parts.status {
                StatusCode::NOT_FOUND => ProblemCode::NotFound,
                StatusCode::METHOD_NOT_ALLOWED => ProblemCode::MethodNotAllowed,
                s if s.is_client_error() => ProblemCode::BadRequest,
                _ => return Response::from_parts(parts, body),
            };
            let detail = match code {
                ProblemCode::NotFound => "no such route; see /openapi.json".to_owned(),
                ProblemCode::MethodNotAllowed => "this route does not take this method".to_owned(),
                _ => parts
                    .status
                    .canonical_reason()
                    .unwrap_or("bad request")
                    .to_owned(),
            };
            let mut p = ApiError::new(code, detail).problem();
            // Keep the exact status (e.g. 415, 413) of a framework rejection.
            p.status = parts.status.as_u16();
            p
        }
    };
    let problem = Problem {
        instance: Some(path.to_owned()),
        request_id: Some(id.to_owned()),
        ..problem
    };
    let mut rendered = problem_response(&problem);
    // Keep headers such as `Allow` (405) and `Retry-After`.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    if let Some(label) = parts.extensions.get::<RouteLabel>() {
        rendered.extensions_mut().insert(*label);
    }
    rendered
}

/// A route layer: the matched route's template as the metrics label.
pub(crate) async fn route_label(req: Request, next: Next) -> Response {
    let route: &'static str = match req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some("/v1/status/{address}") => "/v1/status/{address}",
        Some("/v1/players/{address}") => "/v1/players/{address}",
        Some("/v1/icon/{address}") => "/v1/icon/{address}",
        Some("/openapi.json") => "/openapi.json",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/metrics") => "/metrics",
        Some(_) => "other",
        None => "unmatched",
    };
    let mut response = next.run(req).await;
    response.extensions_mut().insert(RouteLabel(route));
    response
}

type Limiter = RateLimiter<IpAddr, HashMapStateStore<IpAddr>, DefaultClock>;

/// How often (in checks) idle buckets are dropped.
const HOUSEKEEPING_EVERY: u64 = 1024;

/// The per-client-IP rate limit (keyed by [`ClientIp::key`]).
#[derive(Debug)]
pub struct IpLimiter {
    limiter: Limiter,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl IpLimiter {
    /// `burst` requests at once, then one more every `every`.
    #[must_use]
    pub fn new(burst: u32, every: Duration) -> Self {
        let quota = Quota::with_period(every.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: RateLimiter::hashmap(quota),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Spend a token of `ip`'s bucket, or say how long until one is available.
    ///
    /// # Errors
    /// The wait, when the bucket is empty.
    pub fn check(&self, ip: ClientIp) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY
            == HOUSEKEEPING_EVERY - 1
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&ip.key())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// A route layer on the `/v1` routes: the per-IP rate limit.
pub(crate) async fn rate_limit(
    State(limiter): State<Option<Arc<IpLimiter>>>,
    req: Request,
    next: Next,
) -> Response {
    if let (Some(limiter), Some(ip)) = (limiter, req.extensions().get::<ClientIp>().copied())
        && let Err(wait) = limiter.check(ip)
    {
        metrics::counter!(m::RATE_LIMITED, "scope" => "client").increment(1);
        tracing::info!(client = %ip.key(), wait_ms = wait.as_millis(), "rate limited (client IP)");
        return ApiError::rate_limited("too many requests from this client", wait).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ip_comes_from_the_proxy_header_only_when_configured() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 198.51.100.4"),
        );
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("garbage, 203.0.113.9:4431"),
        );
        let peer = Some(IpAddr::from([10, 0, 0, 1]));
        assert_eq!(client_ip(&h, None, peer), IpAddr::from([10, 0, 0, 1]));
        let xff = HeaderName::from_static("x-forwarded-for");
        assert_eq!(
            client_ip(&h, Some(&xff), peer),
            IpAddr::from([203, 0, 113, 9])
        );
        let real = HeaderName::from_static("x-real-ip");
        assert_eq!(
            client_ip(&h, Some(&real), peer),
            IpAddr::from([10, 0, 0, 1])
        );
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(
            client_ip(&HeaderMap::new(), None, Some(mapped)),
            IpAddr::from([192, 0, 2, 1])
        );
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a = ClientIp("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = ClientIp("2001:db8:1:2:bbbb::2".parse().expect("ip"));
        let c = ClientIp("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
        let limiter = IpLimiter::new(1, Duration::from_secs(60));
        assert!(limiter.check(a).is_ok());
        let wait = limiter.check(b).expect_err("same /64");
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(limiter.check(c).is_ok());
    }

    #[test]
    fn request_ids_are_sane_and_unique() {
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert!(sane_request_id(&HeaderValue::from_str(&a).expect("header")).is_some());
        assert!(sane_request_id(&HeaderValue::from_static("abc def")).is_none());
        assert!(sane_request_id(&HeaderValue::from_static("")).is_none());
        let long = "a".repeat(65);
        assert!(sane_request_id(&HeaderValue::from_str(&long).expect("header")).is_none());
    }
}
