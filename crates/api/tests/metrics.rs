//! Metrics scraped from `/metrics` after a scripted run. Its own test binary: the
//! Prometheus recorder is process-wide, and exact counts need a process to themselves.

#[path = "../../../tests/interop/support.rs"]
mod support;

#[path = "it/harness.rs"]
mod harness;

use harness::{TestApi, closed_port, java_peer};
use mcstat_api::ApiConfig;

/// The value of the sample `name{labels}` (labels in the exporter's order).
fn sample(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(name_and_labels)?
            .strip_prefix(' ')?
            .parse()
            .ok()
    })
}

#[tokio::test]
async fn counters_after_a_scripted_run() {
    let peer = java_peer().await;
    let api = TestApi::with(ApiConfig {
        api_rate_burst: 8,
        api_rate_per_minute: 1,
        ..ApiConfig::default()
    })
    .await;
    let online = format!("/v1/status/127.0.0.1:{}", peer.port);
    let offline = format!("/v1/status/127.0.0.1:{}", closed_port().await);
    // 8 /v1 requests: the per-IP burst.
    assert_eq!(api.get(&online).await.status, 200); // miss, java
    assert_eq!(api.get(&online).await.status, 200); // hit
    assert_eq!(api.get(&online).await.status, 200); // hit
    assert_eq!(api.get(&offline).await.status, 200); // miss, offline
    assert_eq!(
        api.get(&format!("/v1/players/127.0.0.1:{}", peer.port))
            .await
            .status,
        200
    ); // miss
    assert_eq!(
        api.get(&format!("/v1/icon/127.0.0.1:{}", peer.port))
            .await
            .status,
        200
    ); // hit (status cache)
    assert_eq!(api.get("/v1/status/bad..name").await.status, 400);
    assert_eq!(api.get("/v1/status/10.0.0.1").await.status, 403);
    // Over the burst.
    assert_eq!(api.get(&online).await.status, 429);
    assert_eq!(api.get(&online).await.status, 429);
    assert_eq!(api.get("/nowhere").await.status, 404);

    let m = api.get("/metrics").await;
    assert_eq!(m.status, 200);
    let m = String::from_utf8(m.body).expect("text");
    let expect = [
        (
            r#"mcstat_api_requests_total{route="/v1/status/{address}",outcome="ok"}"#,
            4.0,
        ),
        (
            r#"mcstat_api_requests_total{route="/v1/players/{address}",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"mcstat_api_requests_total{route="/v1/icon/{address}",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"mcstat_api_requests_total{route="/v1/status/{address}",outcome="bad_address"}"#,
            1.0,
        ),
        (
            r#"mcstat_api_requests_total{route="/v1/status/{address}",outcome="refused_target"}"#,
            1.0,
        ),
        (
            r#"mcstat_api_requests_total{route="/v1/status/{address}",outcome="rate_limited"}"#,
            2.0,
        ),
        (
            r#"mcstat_api_requests_total{route="unmatched",outcome="not_found"}"#,
            1.0,
        ),
        (
            r#"mcstat_api_cache_total{kind="status",result="miss"}"#,
            2.0,
        ),
        (r#"mcstat_api_cache_total{kind="status",result="hit"}"#, 3.0),
        (
            r#"mcstat_api_cache_total{kind="players",result="miss"}"#,
            1.0,
        ),
        (r#"mcstat_api_rate_limited_total{scope="client"}"#, 2.0),
        (
            r#"mcstat_api_lookup_seconds_count{kind="status",protocol="java"}"#,
            1.0,
        ),
        (
            r#"mcstat_api_lookup_seconds_count{kind="status",protocol="offline"}"#,
            1.0,
        ),
        (
            r#"mcstat_api_lookup_seconds_count{kind="players",protocol="java"}"#,
            1.0,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&m, series), Some(value), "{series} in\n{m}");
    }
    assert!(
        sample(
            &m,
            r#"mcstat_api_request_seconds_count{route="/v1/status/{address}"}"#
        )
        .is_some_and(|n| n >= 8.0),
        "{m}"
    );
}
