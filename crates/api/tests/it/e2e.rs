//! Status, players and icon against a real Minecraft server (npm minecraft-protocol).

use std::time::Duration;

use crate::harness::{PNG, TestApi, closed_port, java_peer};

#[tokio::test]
async fn status_json_then_the_cached_answer_with_its_age() {
    let peer = java_peer().await;
    let api = TestApi::start().await;
    let path = format!("/v1/status/127.0.0.1:{}", peer.port);

    let live = api.get(&path).await;
    assert_eq!(live.status, 200, "{}", String::from_utf8_lossy(&live.body));
    assert_eq!(live.header("content-type"), Some("application/json"));
    assert!(live.header("x-request-id").is_some_and(|id| !id.is_empty()));
    let s = live.json();
    assert_eq!(s["address"], format!("127.0.0.1:{}", peer.port).as_str());
    assert_eq!(s["edition"], "java");
    assert_eq!(s["online"], true);
    assert_eq!(s["protocol"], "java");
    assert_eq!(
        s["answered_by"],
        format!("127.0.0.1:{}", peer.port).as_str()
    );
    assert_eq!(s["cache"]["hit"], false);
    assert_eq!(s["cache"]["age_ms"], 0);
    assert_eq!(s["version"]["name"], "1.20.4");
    assert_eq!(s["version"]["protocol"], 765);
    assert_eq!(s["players"]["online"], 3);
    assert_eq!(s["players"]["max"], 20);
    assert_eq!(s["players"]["sample"], serde_json::json!(["Alex", "Steve"]));
    // Raw is the legacy text as stored (codes may be re-emitted, e.g. the colour
    // again before a format code), so compare what it means.
    let raw = s["motd"]["raw"].as_str().expect("raw");
    assert!(
        raw.starts_with("§aGreen ") && raw.contains("§lbold <tag>"),
        "{raw}"
    );
    assert_eq!(s["motd"]["plain"], "Green bold <tag>");
    let html = s["motd"]["html"].as_str().expect("html");
    assert!(
        html.contains("Green") && html.contains("&lt;tag&gt;"),
        "{html}"
    );
    assert!(html.contains("color:#55ff55"), "green is styled: {html}");
    assert!(
        html.contains("<b>bold &lt;tag&gt;</b>"),
        "bold is styled: {html}"
    );
    assert!(!html.contains("<tag>"), "{html}");
    assert_eq!(
        s["icon_url"],
        format!("/v1/icon/127.0.0.1:{}", peer.port).as_str()
    );
    assert!(s["latency_ms"].is_u64(), "{s}");
    assert!(s["offline"].is_null(), "{s}");
    let taken_at = s["taken_at_ms"].as_u64().expect("taken_at_ms");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let cached = api.get(&path).await.json();
    assert_eq!(cached["cache"]["hit"], true, "{cached}");
    let age = cached["cache"]["age_ms"].as_u64().expect("age");
    assert!((300..60_000).contains(&age), "age {age}");
    assert_eq!(cached["taken_at_ms"], taken_at, "the same answer");
    assert_eq!(cached["motd"], s["motd"]);
}

#[tokio::test]
async fn players_and_icon_from_the_same_server() {
    let peer = java_peer().await;
    let api = TestApi::start().await;

    let p = api
        .get(&format!("/v1/players/127.0.0.1:{}", peer.port))
        .await;
    assert_eq!(p.status, 200, "{}", String::from_utf8_lossy(&p.body));
    let p = p.json();
    assert_eq!(p["online"], true);
    assert_eq!(
        p["source"], "sample",
        "the npm server answers no Query: {p}"
    );
    assert_eq!(p["players_online"], 3);
    assert_eq!(p["players_max"], 20);
    assert_eq!(p["names"], serde_json::json!(["Alex", "Steve"]));
    assert_eq!(p["cache"]["hit"], false);
    assert!(p["taken_at_ms"].is_u64());

    // The `java:` prefix names the same server.
    let icon = api
        .get(&format!("/v1/icon/java:127.0.0.1:{}", peer.port))
        .await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/png"));
    assert_eq!(icon.body, PNG, "the PNG the server sent, byte for byte");
    assert!(icon.body.starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[tokio::test]
async fn a_server_without_icon_has_no_icon_url_and_a_404_icon() {
    let config = serde_json::json!({ "motd": "plain" });
    let peer = crate::support::spawn_node_peer("java-server.js", &[&config.to_string()]).await;
    let api = TestApi::start().await;
    let s = api
        .get(&format!("/v1/status/127.0.0.1:{}", peer.port))
        .await
        .json();
    assert_eq!(s["online"], true, "{s}");
    assert!(s["icon_url"].is_null(), "{s}");
    let icon = api.get(&format!("/v1/icon/127.0.0.1:{}", peer.port)).await;
    icon.problem(404, "no_icon");
}

#[tokio::test]
async fn an_offline_server_is_an_answer_not_an_error() {
    let port = closed_port().await;
    let api = TestApi::start().await;
    let r = api.get(&format!("/v1/status/127.0.0.1:{port}")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let s = r.json();
    assert_eq!(s["online"], false);
    assert_eq!(s["offline"]["reason"], "refused", "{s}");
    assert!(
        s["offline"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("refused"))
    );
    for field in ["protocol", "version", "players", "motd", "icon_url"] {
        assert!(s[field].is_null(), "{field} in {s}");
    }
    let p = api
        .get(&format!("/v1/players/127.0.0.1:{port}"))
        .await
        .json();
    assert_eq!(p["online"], false, "{p}");
    assert_eq!(p["names"], serde_json::json!([]));
    let icon = api.get(&format!("/v1/icon/127.0.0.1:{port}")).await;
    let problem = icon.problem(404, "server_offline");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("refused"))
    );
}

#[tokio::test]
async fn bedrock_by_parameter_and_by_prefix() {
    let port = {
        let s = std::net::UdpSocket::bind(("127.0.0.1", 0)).expect("bind");
        s.local_addr().expect("addr").port()
    };
    let config = serde_json::json!({
        "port": port,
        "motd": "Bedrock §bAPI",
        "levelName": "API Level",
        "maxPlayers": 12,
        "version": "1.21.50",
    });
    let peer = crate::support::spawn_node_peer("bedrock-server.js", &[&config.to_string()]).await;
    let api = TestApi::start().await;
    let by_param = api
        .get(&format!(
            "/v1/status/127.0.0.1:{}?edition=bedrock",
            peer.port
        ))
        .await;
    assert_eq!(by_param.status, 200);
    let s = by_param.json();
    assert_eq!(s["online"], true, "{s}");
    assert_eq!(s["edition"], "bedrock");
    assert_eq!(s["protocol"], "bedrock");
    assert_eq!(
        s["address"],
        format!("bedrock:127.0.0.1:{}", peer.port).as_str()
    );
    assert_eq!(s["motd"]["plain"], "Bedrock API");
    assert_eq!(s["map"], "API Level");
    assert_eq!(s["players"]["max"], 12);
    let by_prefix = api
        .get(&format!("/v1/status/bedrock:127.0.0.1:{}", peer.port))
        .await
        .json();
    assert_eq!(
        by_prefix["cache"]["hit"], true,
        "same target, same cache entry"
    );
    assert_eq!(by_prefix["protocol"], "bedrock");
}
