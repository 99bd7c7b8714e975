//! Bedrock interop: our client against npm `bedrock-protocol`'s server (pure-JS
//! RakNet), and independent clients (PyPI `mcstatus`, npm `minecraft-server-util`)
//! against our responder.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use mc_protocol::bedrock::{BedrockStatus, Edition};
use mc_protocol::net::ClientOptions;
use mc_protocol::net::bedrock::{BedrockResponder, BedrockResponderHandle, status};
use serde_json::Value;

use crate::support::{run_node, run_python, spawn_node_peer};

/// A UDP port that was free a moment ago (bedrock-protocol cannot bind port 0 and
/// report it, so the test picks one).
fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind(("127.0.0.1", 0)).expect("bind");
    socket.local_addr().expect("addr").port()
}

#[tokio::test]
async fn our_client_against_bedrock_protocol() {
    let port = free_udp_port();
    let config = serde_json::json!({
        "port": port,
        "motd": "Bedrock §bInterop",
        "levelName": "Interop Level",
        "maxPlayers": 12,
        "version": "1.21.50",
    });
    let peer = spawn_node_peer("bedrock-server.js", &[&config.to_string()]).await;
    let opts = ClientOptions {
        timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    };
    let reply = status(SocketAddr::from(([127, 0, 0, 1], peer.port)), &opts)
        .await
        .expect("status");
    let s = &reply.status;
    assert_eq!(s.edition, Edition::Mcpe);
    assert_eq!(s.motd, "Bedrock §bInterop");
    assert_eq!((s.protocol, s.version.as_str()), (766, "1.21.50"));
    assert_eq!((s.online, s.max), (0, 12));
    // jsp-raknet advertises its RakNet GUID as the server id.
    assert_eq!(s.server_id, Some(reply.server_guid.to_string()));
    assert_eq!(s.sub_motd.as_deref(), Some("Interop Level"));
    assert_eq!(s.game_mode.as_deref(), Some("Creative"));
    assert_eq!(s.game_mode_numeric, Some(1));
    assert_eq!((s.port_v4, s.port_v6), (Some(port), Some(port)));
    // bedrock-protocol appends one field of its own.
    assert_eq!(s.extra, ["0"]);
}

fn sample() -> BedrockStatus {
    BedrockStatus {
        edition: Edition::Mcpe,
        motd: "§aOur responder".into(),
        protocol: 594,
        version: "1.20.1".into(),
        online: 4,
        max: 40,
        server_id: Some("4242".into()),
        sub_motd: Some("Our level".into()),
        game_mode: Some("Survival".into()),
        game_mode_numeric: Some(0),
        port_v4: Some(19132),
        port_v6: Some(19133),
        extra: vec![],
    }
}

async fn our_responder() -> BedrockResponderHandle {
    BedrockResponder::bind(SocketAddr::from(([127, 0, 0, 1], 0)), sample())
        .await
        .expect("bind")
        .with_server_guid(987_654_321)
        .spawn()
}

fn json_line(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test]
async fn mcstatus_against_our_responder() {
    let responder = our_responder().await;
    let address = responder.local_addr().to_string();
    let out = run_python(&["-m", "mcstatus", "--bedrock", &address, "json"]).await;
    assert!(out.success, "mcstatus failed: {}", out.stderr);
    let json = json_line(&out.stdout);
    assert_eq!(json["online"], true, "{json}");
    let status = &json["status"];
    assert_eq!(status["players"]["online"], 4, "{json}");
    assert_eq!(status["players"]["max"], 40, "{json}");
    assert_eq!(status["version"]["name"], "1.20.1", "{json}");
    assert_eq!(status["version"]["protocol"], 594, "{json}");
    assert_eq!(status["version"]["brand"], "MCPE", "{json}");
    assert_eq!(status["motd"], "§aOur responder", "{json}");
    assert_eq!(status["map_name"], "Our level", "{json}");
    assert_eq!(status["gamemode"], "Survival", "{json}");
}

#[tokio::test]
async fn minecraft_server_util_against_our_responder() {
    let responder = our_responder().await;
    let out = run_node(
        "util-bedrock-client.js",
        &["127.0.0.1", &responder.local_addr().port().to_string()],
    )
    .await;
    assert!(out.success, "statusBedrock failed: {}", out.stderr);
    let json = json_line(&out.stdout);
    assert_eq!(json["edition"], "MCPE", "{json}");
    // It joins the MOTD and sub-MOTD with a newline.
    assert_eq!(json["motd"]["clean"], "Our responder\nOur level", "{json}");
    assert_eq!(json["version"]["name"], "1.20.1", "{json}");
    assert_eq!(json["version"]["protocol"], 594, "{json}");
    assert_eq!(json["players"]["online"], 4, "{json}");
    assert_eq!(json["players"]["max"], 40, "{json}");
    assert_eq!(json["serverGUID"], "987654321", "{json}");
    assert_eq!(json["serverID"], "4242", "{json}");
    assert_eq!(json["gameMode"], "Survival", "{json}");
    assert_eq!(json["gameModeID"], 0, "{json}");
    assert_eq!(json["portIPv4"], 19132, "{json}");
    assert_eq!(json["portIPv6"], 19133, "{json}");
}
