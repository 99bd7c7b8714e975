//! `GET /v1/history/{address}`: the recorded history of a watched server in buckets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcstat_core::history::DownCause;
use mcstat_core::{HistorySample, Target, Timestamp};

use crate::harness::TestApi;

const MIN: u64 = 60_000;

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits")
}

/// A poll a minute over the last 3 hours (the newest a minute ago): players going
/// round 0..=9, latency 20 or 40 ms, down for the 10 polls of the second hour's
/// first 10 minutes.
fn three_hours(t: &Target, now: u64) -> Vec<HistorySample> {
    let start = now - now % MIN - 180 * MIN;
    (0..180)
        .map(|m| {
            let down = (60..70).contains(&m);
            HistorySample {
                target: t.clone(),
                at: Timestamp(start + m * MIN),
                online: !down,
                players: (!down).then(|| u32::try_from(m % 10).expect("small")),
                latency_ms: (!down).then_some(if m % 2 == 0 { 20 } else { 40 }),
                cause: down.then_some(DownCause::Refused),
            }
        })
        .collect()
}

#[tokio::test]
async fn every_range_reads_its_tier_and_the_points_add_up() {
    let t: Target = "play.example.net".parse().expect("target");
    let now = now_ms();
    let samples = three_hours(&t, now);
    let api = TestApi::with_history(&samples).await;

    let r = api.get("/v1/history/play.example.net").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let h = r.json();
    assert_eq!(h["address"], "play.example.net");
    assert_eq!(
        (h["range"].as_str(), h["step"].as_str()),
        (Some("24h"), Some("raw"))
    );
    let (from, to) = (
        h["from_ms"].as_u64().expect("from"),
        h["to_ms"].as_u64().expect("to"),
    );
    assert!(to >= now && to - from == 24 * 60 * MIN, "{from} {to}");
    let points = h["points"].as_array().expect("points");
    assert_eq!(points.len(), 180, "one point per poll");
    let first = &points[0];
    assert_eq!(first["start_ms"], samples[0].at.as_millis());
    assert_eq!(
        (first["samples"].as_u64(), first["online"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (first["known_ms"].as_u64(), first["up_ms"].as_u64()),
        (Some(MIN), Some(MIN))
    );
    assert_eq!(first["uptime"], 1.0);
    assert_eq!(
        first["players"],
        serde_json::json!({"min": 0, "avg": 0.0, "max": 0})
    );
    assert_eq!(
        first["latency_ms"],
        serde_json::json!({"min": 20, "avg": 20.0, "max": 20})
    );
    let down = &points[60];
    assert_eq!(
        (down["online"].as_u64(), down["up_ms"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(down["uptime"], 0.0);
    assert!(
        down["players"].is_null() && down["latency_ms"].is_null(),
        "{down}"
    );

    for (query, step, max_points) in [
        ("range=7d", "5m", 37),
        ("range=24h&step=5m", "5m", 37),
        ("range=30d", "1h", 4),
        ("range=90d", "1h", 4),
        ("range=90d&step=1d", "1d", 2),
        ("range=1y", "1d", 2),
    ] {
        let r = api
            .get(&format!("/v1/history/play.example.net?{query}"))
            .await;
        assert_eq!(
            r.status,
            200,
            "{query}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let h = r.json();
        assert_eq!(h["step"], step, "{query}");
        let points = h["points"].as_array().expect("points");
        assert!(
            !points.is_empty() && points.len() <= max_points,
            "{query}: {} points",
            points.len()
        );
        let sum = |k: &str| -> u64 { points.iter().map(|p| p[k].as_u64().expect(k)).sum() };
        assert_eq!((sum("samples"), sum("online")), (180, 170), "{query}");
        assert!(
            points
                .windows(2)
                .all(|w| w[0]["start_ms"].as_u64() < w[1]["start_ms"].as_u64()),
            "{query}: oldest first"
        );
        // A bucket of many polls holds their band.
        let busy = points
            .iter()
            .max_by_key(|p| p["samples"].as_u64())
            .expect("a point");
        if busy["samples"].as_u64() > Some(10) {
            assert_eq!(busy["players"]["min"], 0, "{query}");
            assert_eq!(busy["players"]["max"], 9, "{query}");
            assert_eq!(busy["latency_ms"]["min"], 20, "{query}");
            assert_eq!(busy["latency_ms"]["max"], 40, "{query}");
        }
    }
}

#[tokio::test]
async fn a_server_without_history_has_no_points() {
    let api = TestApi::with_history(&[]).await;
    let h = api
        .get("/v1/history/bedrock:nobody.example?range=1y")
        .await
        .json();
    assert_eq!(h["address"], "bedrock:nobody.example");
    assert_eq!(
        (h["range"].as_str(), h["step"].as_str()),
        (Some("1y"), Some("1d"))
    );
    assert_eq!(h["points"], serde_json::json!([]));
    let day = 86_400_000;
    assert_eq!(
        h["from_ms"].as_u64().expect("from") % day,
        0,
        "aligned to the step"
    );
}

#[tokio::test]
async fn a_step_finer_than_the_range_keeps_is_refused() {
    let api = TestApi::with_history(&[]).await;
    for (query, says) in [
        (
            "range=30d&step=raw",
            "step=raw is not kept for range=30d: use step=1h, step=1d",
        ),
        (
            "range=7d&step=raw",
            "step=raw is not kept for range=7d: use step=5m, step=1h, step=1d",
        ),
        (
            "range=90d&step=5m",
            "step=5m is not kept for range=90d: use step=1h, step=1d",
        ),
        (
            "range=1y&step=1h",
            "step=1h is not kept for range=1y: use step=1d",
        ),
    ] {
        let p = api
            .get(&format!("/v1/history/play.example.net?{query}"))
            .await
            .problem(400, "bad_request");
        assert_eq!(p["detail"], says, "{query}");
    }
    for query in ["range=2y", "step=10m", "range=", "step=RAW"] {
        let p = api
            .get(&format!("/v1/history/play.example.net?{query}"))
            .await
            .problem(400, "bad_request");
        let detail = p["detail"].as_str().expect("detail");
        assert!(
            detail.contains("range is 24h, 7d, 30d, 90d or 1y"),
            "{query}: {detail}"
        );
    }
    api.get("/v1/history/exa%20mple.net")
        .await
        .problem(400, "bad_address");
    // The document lists the route.
    let doc = api.get("/openapi.json").await.json();
    let op = &doc["paths"]["/v1/history/{address}"]["get"];
    assert!(op.is_object(), "{doc}");
    let names: Vec<&str> = op["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["address", "range", "step", "edition"]);
    assert_eq!(
        doc["components"]["schemas"]["ApiRange"]["enum"],
        serde_json::json!(["24h", "7d", "30d", "90d", "1y"])
    );
    let _ = Duration::ZERO;
}
