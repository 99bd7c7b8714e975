//! Java Server List Ping interop: our client against the npm `minecraft-protocol`
//! server, and PyPI `mcstatus` and npm `minecraft-server-util` against our
//! [`JavaResponder`].

use std::net::SocketAddr;
use std::time::Duration;

use mc_protocol::java::status::favicon_data_url;
use mc_protocol::java::{HandshakeC2s, JavaPlayers, JavaStatus, JavaVersion, PlayerSample};
use mc_protocol::net::ClientOptions;
use mc_protocol::net::java::{JavaResponder, JavaResponderHandle, status};
use serde_json::{Value, json};

use crate::support::{run_node, run_python, spawn_node_peer};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50,
    0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn opts() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn our_client_against_minecraft_protocol_server() {
    let config = json!({
        "version": "1.20.4",
        "motd": "Interop §aMOTD",
        "maxPlayers": 42,
        "online": 3,
        "sample": [
            {"name": "Alex", "id": "ec561538-f3fd-461d-aff5-086b22154bce"},
            {"name": "Steve", "id": "8667ba71-b85a-4004-af54-457a9734eed7"}
        ],
        "favicon": favicon_data_url(PNG),
    });
    let peer = spawn_node_peer("java-server.js", &[&config.to_string()]).await;
    let reply = status(loopback(peer.port), "localhost", peer.port, &opts())
        .await
        .expect("status from minecraft-protocol");
    let s = &reply.status;
    assert_eq!(
        s.version,
        Some(JavaVersion {
            name: "1.20.4".into(),
            protocol: 765
        })
    );
    let players = s.players.as_ref().expect("players");
    assert_eq!((players.online, players.max), (3, 42));
    assert_eq!(s.sample_names(), ["Alex", "Steve"]);
    assert_eq!(
        players.sample.as_ref().expect("sample")[1].id,
        "8667ba71-b85a-4004-af54-457a9734eed7"
    );
    assert_eq!(s.description, json!({"text": "Interop §aMOTD"}));
    assert_eq!(s.favicon_png(), Some(Ok(PNG.to_vec())));
    // minecraft-protocol answers the ping after the status, then closes.
    let latency = reply.latency.expect("pong from minecraft-protocol");
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    // The raw JSON is what the server sent.
    let raw: Value = serde_json::from_str(&reply.json).expect("json");
    assert_eq!(raw["players"]["max"], 42);
}

#[tokio::test]
async fn our_client_against_minecraft_protocol_chat_component_and_old_version() {
    let config = json!({
        "version": "1.12.2",
        "description": {"text": "", "extra": [{"text": "Red", "color": "red"}, {"translate": "x.y"}]},
        "maxPlayers": 1,
    });
    let peer = spawn_node_peer("java-server.js", &[&config.to_string()]).await;
    let reply = status(loopback(peer.port), "127.0.0.1", peer.port, &opts())
        .await
        .expect("status");
    let s = &reply.status;
    assert_eq!(
        s.version,
        Some(JavaVersion {
            name: "1.12.2".into(),
            protocol: 340
        })
    );
    assert_eq!(s.description["extra"][0]["color"], "red");
    assert_eq!(s.description["extra"][1]["translate"], "x.y");
    assert_eq!(s.players.as_ref().map(|p| (p.online, p.max)), Some((0, 1)));
    assert!(s.sample_names().is_empty());
    assert_eq!(s.favicon, None);
}

fn responder_status() -> JavaStatus {
    let mut status = JavaStatus {
        version: Some(JavaVersion {
            name: "mcstat-test 1.21".into(),
            protocol: 767,
        }),
        players: Some(JavaPlayers {
            max: 64,
            online: 7,
            sample: Some(vec![
                PlayerSample {
                    name: "Notch".into(),
                    id: "069a79f4-44e9-4726-a5be-fca90e38aaf5".into(),
                },
                PlayerSample {
                    name: "jeb_".into(),
                    id: "853c80ef-3c37-49fd-aa49-938b674adae6".into(),
                },
            ]),
        }),
        description: json!({"text": "Hello from ", "extra": [{"text": "mcstat", "color": "gold"}]}),
        favicon: Some(favicon_data_url(PNG)),
        enforces_secure_chat: Some(true),
        ..JavaStatus::default()
    };
    status.extra.insert("customField".into(), json!("kept"));
    status
}

async fn spawn_responder() -> JavaResponderHandle {
    let status = responder_status();
    JavaResponder::bind(loopback(0), move |_: &HandshakeC2s| status.clone())
        .await
        .expect("bind")
        .spawn()
}

#[tokio::test]
async fn mcstatus_json_against_our_responder() {
    let handle = spawn_responder().await;
    let addr = format!("127.0.0.1:{}", handle.local_addr().port());
    let out = run_python(&["-m", "mcstatus", &addr, "json"]).await;
    assert!(out.success, "mcstatus failed: {}", out.stderr);
    let v: Value = serde_json::from_str(out.stdout.trim()).expect("mcstatus prints JSON");
    assert_eq!(v["online"], true, "{v}");
    let st = &v["status"];
    assert_eq!(st["version"]["name"], "mcstat-test 1.21");
    assert_eq!(st["version"]["protocol"], 767);
    assert_eq!(st["players"]["online"], 7);
    assert_eq!(st["players"]["max"], 64);
    let names: Vec<&str> = st["players"]["sample"]
        .as_array()
        .expect("sample")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["Notch", "jeb_"]);
    // mcstatus renders the component to a Minecraft string (§6 = gold).
    let motd = st["motd"].as_str().expect("motd");
    assert!(motd.contains("Hello from"), "{motd}");
    assert!(motd.contains("§6mcstat"), "{motd}");
    assert_eq!(st["icon"], favicon_data_url(PNG));
    assert_eq!(st["enforces_secure_chat"], true);
    assert_eq!(st["raw"]["customField"], "kept");
    let latency = st["latency"].as_f64().expect("latency");
    assert!(latency > 0.0 && latency < 2000.0, "{latency}");
}

#[tokio::test]
async fn mcstatus_ping_and_status_against_our_responder() {
    let handle = spawn_responder().await;
    let addr = format!("127.0.0.1:{}", handle.local_addr().port());
    // `ping` sends a bare ping (no status request) first; a fallback to status
    // would print a warning on stderr.
    let out = run_python(&["-m", "mcstatus", &addr, "ping"]).await;
    assert!(out.success, "mcstatus ping failed: {}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let ms: f64 = out.stdout.trim().parse().expect("latency in ms");
    assert!((0.0..2000.0).contains(&ms), "{ms}");

    let out = run_python(&["-m", "mcstatus", &addr, "status"]).await;
    assert!(out.success, "mcstatus status failed: {}", out.stderr);
    assert!(
        out.stdout.contains("mcstat-test 1.21 (protocol 767)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("players: 7/64"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Notch (069a79f4-44e9-4726-a5be-fca90e38aaf5)"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn minecraft_server_util_against_our_responder() {
    let handle = spawn_responder().await;
    let port = handle.local_addr().port().to_string();
    let out = run_node("util-java-client.js", &["127.0.0.1", &port]).await;
    assert!(out.success, "minecraft-server-util failed: {}", out.stderr);
    let v: Value = serde_json::from_str(out.stdout.trim()).expect("JSON line");
    assert_eq!(v["version"]["name"], "mcstat-test 1.21");
    assert_eq!(v["version"]["protocol"], 767);
    assert_eq!(v["players"]["online"], 7);
    assert_eq!(v["players"]["max"], 64);
    assert_eq!(v["players"]["sample"][1]["name"], "jeb_");
    assert_eq!(v["motd"]["clean"], "Hello from mcstat");
    assert_eq!(v["motd"]["raw"], "§fHello from §6mcstat");
    assert_eq!(v["favicon"], favicon_data_url(PNG));
    // The pong matched (else it rejects) and the latency was measured.
    let rtt = v["roundTripLatency"].as_f64().expect("roundTripLatency");
    assert!((0.0..2000.0).contains(&rtt), "{rtt}");
}
