//! Problem details, rate limits, CORS and the operations routes over HTTP.

use axum::http::{HeaderName, HeaderValue};
use mcstat_api::ApiConfig;
use mcstat_api::config::CorsOrigins;

use crate::harness::{TestApi, closed_port, request};

#[tokio::test]
async fn bad_addresses_and_parameters_are_400_problems() {
    let api = TestApi::start().await;
    for path in [
        "/v1/status/bad..address",
        "/v1/status/host:99999",
        "/v1/players/%5B::1",
        "/v1/icon/exa%20mple.net",
        "/v1/status/bedrock:",
    ] {
        let p = api.get(path).await.problem(400, "bad_address");
        assert_eq!(p["instance"], path.split('?').next().expect("path"), "{p}");
    }
    let p = api
        .get("/v1/status/a.example?edition=wii")
        .await
        .problem(400, "bad_request");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("java or bedrock")),
        "{p}"
    );
    api.get("/v1/status/bedrock:a.example?edition=java")
        .await
        .problem(400, "bad_request");
}

#[tokio::test]
async fn refused_targets_unknown_routes_and_methods() {
    let api = TestApi::start().await;
    let p = api
        .get("/v1/status/10.1.2.3")
        .await
        .problem(403, "refused_target");
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("10.1.2.3")),
        "{p}"
    );
    api.get("/v1/status/[fe80::1]:25565")
        .await
        .problem(403, "refused_target");
    api.get("/v2/status/a.example")
        .await
        .problem(404, "not_found");
    api.get("/v1/status/a/b").await.problem(404, "not_found");
    let r = request(
        api.addr,
        "POST",
        "/v1/status/a.example",
        &[("content-length", "0")],
    )
    .await;
    r.problem(405, "method_not_allowed");
    assert!(
        r.header("allow").is_some_and(|a| a.contains("GET")),
        "{:?}",
        r.headers
    );
}

#[tokio::test]
async fn a_request_id_from_the_client_is_kept_when_sane() {
    let api = TestApi::start().await;
    let r = api
        .get_with("/v1/status/10.0.0.1", &[("x-request-id", "edge-42.a")])
        .await;
    assert_eq!(r.header("x-request-id"), Some("edge-42.a"));
    assert_eq!(r.json()["request_id"], "edge-42.a");
    let r = api
        .get_with("/v1/status/10.0.0.1", &[("x-request-id", "<script>")])
        .await;
    let id = r.header("x-request-id").expect("id");
    assert_ne!(id, "<script>");
    assert!(
        id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "{id}"
    );
}

#[tokio::test]
async fn the_per_ip_limit_answers_429_with_retry_after() {
    let api = TestApi::with(ApiConfig {
        api_rate_burst: 2,
        api_rate_per_minute: 1,
        ..ApiConfig::default()
    })
    .await;
    // Refused targets are cheap: no server is contacted, but the request counts.
    for _ in 0..2 {
        assert_eq!(api.get("/v1/status/10.0.0.1").await.status, 403);
    }
    let r = api.get("/v1/players/10.0.0.1").await;
    let p = r.problem(429, "rate_limited");
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(p["retry_after_s"], retry);
    // Not spent by routes outside /v1.
    assert_eq!(api.get("/healthz").await.status, 200);
    assert_eq!(api.get("/openapi.json").await.status, 200);
}

#[tokio::test]
async fn behind_a_proxy_the_limit_is_per_forwarded_client() {
    let api = TestApi::with(ApiConfig {
        api_rate_burst: 1,
        api_rate_per_minute: 1,
        api_client_ip_header: Some(HeaderName::from_static("x-forwarded-for")),
        ..ApiConfig::default()
    })
    .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    assert_eq!(
        api.get_with("/v1/status/10.0.0.1", &from("198.51.100.1"))
            .await
            .status,
        403
    );
    api.get_with("/v1/status/10.0.0.1", &from("198.51.100.1"))
        .await
        .problem(429, "rate_limited");
    assert_eq!(
        api.get_with("/v1/status/10.0.0.1", &from("198.51.100.2"))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn the_per_target_limit_of_the_core_answers_429_too() {
    // The core allows 6 lookups of one host at once (then one per 10 s): the 7th
    // lookup of a new port on 127.0.0.1 is refused before contacting it.
    let api = TestApi::start().await;
    let mut ports = Vec::new();
    for _ in 0..7 {
        ports.push(closed_port().await);
    }
    for port in &ports[..6] {
        let r = api.get(&format!("/v1/status/127.0.0.1:{port}")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let r = api.get(&format!("/v1/status/127.0.0.1:{}", ports[6])).await;
    let p = r.problem(429, "rate_limited");
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("server")),
        "{p}"
    );
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn cors_allows_exactly_the_configured_origins() {
    let api = TestApi::with(ApiConfig {
        api_cors_origins: CorsOrigins::List(vec![HeaderValue::from_static("https://app.example")]),
        api_rate_per_minute: 0,
        ..ApiConfig::default()
    })
    .await;
    let ok = api
        .get_with("/v1/status/10.0.0.1", &[("origin", "https://app.example")])
        .await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let exposed = ok
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(
        exposed.contains("retry-after") && exposed.contains("x-request-id"),
        "{exposed}"
    );
    let other = api
        .get_with("/v1/status/10.0.0.1", &[("origin", "https://evil.example")])
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    let preflight = request(
        api.addr,
        "OPTIONS",
        "/v1/status/a.example",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    assert!(preflight.status < 300, "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example")
    );

    let none = TestApi::start().await;
    let r = none
        .get_with("/v1/status/10.0.0.1", &[("origin", "https://app.example")])
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        None,
        "no CORS unless configured"
    );
}

#[tokio::test]
async fn openapi_health_and_readiness() {
    let api = TestApi::start().await;
    let doc = api.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), Some("application/json"));
    let doc = doc.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/status/{address}",
        "/v1/players/{address}",
        "/v1/icon/{address}",
        "/v1/history/{address}",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }
    let codes = &doc["components"]["schemas"]["ProblemCode"]["enum"];
    for code in [
        "bad_address",
        "refused_target",
        "rate_limited",
        "unavailable",
        "not_found",
    ] {
        assert!(
            codes
                .as_array()
                .is_some_and(|c| c.iter().any(|v| v == code)),
            "{code} in {codes}"
        );
    }
    assert_eq!(api.get("/healthz").await.status, 200);
    assert_eq!(api.get("/readyz").await.status, 200);
    let m = api.get("/metrics").await;
    assert_eq!(m.status, 200);
}

#[tokio::test]
async fn head_requests_work_like_get() {
    let api = TestApi::start().await;
    let port = closed_port().await;
    let r = request(
        api.addr,
        "HEAD",
        &format!("/v1/status/127.0.0.1:{port}"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}
