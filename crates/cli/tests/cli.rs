//! The `mcstat` binary end to end: against the npm `minecraft-protocol` server (an
//! independent implementation) and against our own responders for Query and Bedrock.

#[path = "../../../tests/interop/support.rs"]
mod support;

use std::process::Output;

use mc_protocol::bedrock::{BedrockStatus, Edition};
use mc_protocol::net::bedrock::BedrockResponder;
use mc_protocol::net::query::QueryResponder;
use mc_protocol::query::{QueryFull, QueryPlugins};
use serde_json::Value;

async fn mcstat(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mcstat"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run mcstat")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn mcstat_json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let out = mcstat(&all).await;
    let text = stdout(&out);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (out.status.code(), json)
}

#[tokio::test]
async fn status_card_and_json_against_minecraft_protocol_server() {
    let peer = support::spawn_node_peer(
        "java-server.js",
        &[r#"{"motd":"§aHello §lWorld","maxPlayers":50,"online":2,"sample":[{"name":"Alex","id":"ec561538-f3fd-461d-aff5-086b22154bce"},{"name":"Steve","id":"8667ba71-b85a-4004-af54-457a9734eed7"}]}"#],
    )
    .await;
    let addr = format!("127.0.0.1:{}", peer.port);

    let out = mcstat(&["status", &addr]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let card = stdout(&out);
    assert!(card.contains(&format!("{addr} is online (java")), "{card}");
    assert!(card.contains("Hello World"), "{card}");
    assert!(card.contains("1.20.4 (protocol 765)"), "{card}");
    assert!(card.contains("2/50: Alex, Steve"), "{card}");
    assert!(
        !card.contains('\x1b'),
        "NO_COLOR must disable colours: {card:?}"
    );

    let (code, json) = mcstat_json(&["status", &addr]).await;
    assert_eq!(code, Some(0));
    assert_eq!(json["online"], true);
    assert_eq!(json["protocol"], "java");
    assert_eq!(json["motd"]["plain"], "Hello World");
    assert_eq!(json["version"]["protocol"], 765);
    assert_eq!(json["players"]["online"], 2);
    assert_eq!(json["players"]["max"], 50);
    assert_eq!(json["players"]["sample"][1], "Steve");
    assert!(json["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));

    for (form, version) in [("1.6", Some(765)), ("1.4", Some(765)), ("beta", None)] {
        let (code, json) = mcstat_json(&["legacy", &addr, "--form", form]).await;
        assert_eq!(code, Some(0), "{form}: {json}");
        assert_eq!(json["protocol"], "legacy");
        assert_eq!(json["motd"]["plain"], "Hello World", "{form}");
        assert_eq!(json["players"]["max"], 50, "{form}");
        assert_eq!(json["version"]["protocol"].as_i64(), version, "{form}");
    }

    let (code, json) = mcstat_json(&["ping", &addr]).await;
    assert_eq!(code, Some(0), "{json}");
    assert!(json["latency_ms"].is_number());
}

#[tokio::test]
async fn query_and_bedrock_against_our_responders() {
    let full = QueryFull {
        motd: "§bQuery §ftest".into(),
        game_type: "SMP".into(),
        game_id: "MINECRAFT".into(),
        version: "1.20.4".into(),
        plugins: QueryPlugins::from_parts("Paper on 1.20.4", &["EssentialsX", "LuckPerms"]),
        map: "world".into(),
        online: 2,
        max: 10,
        host_port: 25565,
        host_ip: "127.0.0.1".into(),
        players: vec!["Alex".into(), "Steve".into()],
        extra: Vec::new(),
    };
    let query = QueryResponder::bind("127.0.0.1:0".parse().expect("addr"), full)
        .await
        .expect("bind query")
        .spawn();
    let (code, json) = mcstat_json(&[
        "query",
        &query.local_addr().expect("query addr").to_string(),
    ])
    .await;
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["protocol"], "query");
    assert_eq!(json["motd"]["plain"], "Query test");
    assert_eq!(
        json["players"]["sample"],
        serde_json::json!(["Alex", "Steve"])
    );
    assert_eq!(json["status"]["map"], "world");
    assert_eq!(json["status"]["plugins"]["plugins"][1], "LuckPerms");

    let status = BedrockStatus::parse(
        "MCPE;§eBedrock §rworld;671;1.20.80;3;30;12345;Survival map;Survival;1;19132;19133;",
    )
    .expect("info string");
    assert_eq!(status.edition, Edition::Mcpe);
    let bedrock = BedrockResponder::bind("127.0.0.1:0".parse().expect("addr"), status)
        .await
        .expect("bind bedrock")
        .spawn();
    let addr = bedrock.local_addr().to_string();
    let out = mcstat(&["bedrock", &addr]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let card = stdout(&out);
    assert!(card.contains("Bedrock world"), "{card}");
    assert!(card.contains("1.20.80 (protocol 671)"), "{card}");
    assert!(card.contains("3/30"), "{card}");
    assert!(card.contains("Survival map"), "{card}");
}

#[tokio::test]
async fn failures_are_typed_and_friendly() {
    // A bound but never accepting listener would be a stall; a closed port refuses.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = listener.local_addr().expect("addr");
    drop(listener);
    // Exit status: 2 offline, 1 the command could not run, 0 online.
    let (code, json) = mcstat_json(&["status", &closed.to_string(), "--timeout", "2"]).await;
    assert_eq!(code, Some(2));
    assert_eq!(json["online"], false);
    assert_eq!(json["error_kind"], "connect");

    // A server that accepts and never answers: timeout within the deadline.
    let stall = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let stall_addr = stall.local_addr().expect("addr").to_string();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = stall.accept().await {
            held.push(s);
        }
    });
    let started = std::time::Instant::now();
    let (code, json) = mcstat_json(&["status", &stall_addr, "--timeout", "0.5"]).await;
    assert_eq!(code, Some(2));
    assert_eq!(json["error_kind"], "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    let out = mcstat(&["status", "http://play.example.net"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("play.example.net:25565"),
        "hint expected: {err}"
    );

    let out = mcstat(&["status", "127.0.0.1:99999"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("65535"));

    let out = mcstat(&["status", "127.0.0.1", "--timeout", "soon"]).await;
    assert_eq!(out.status.code(), Some(1));
    // Help and version are answers.
    assert_eq!(mcstat(&["--help"]).await.status.code(), Some(0));
    assert_eq!(mcstat(&["--version"]).await.status.code(), Some(0));
    assert_eq!(mcstat(&["no-such-command"]).await.status.code(), Some(1));
}

#[path = "cli/diagnose.rs"]
mod diagnose;
#[path = "cli/generated.rs"]
mod generated;
