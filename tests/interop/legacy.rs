//! Legacy ping interop: our client against npm `minecraft-protocol`'s server, and
//! independent clients (PyPI `mcstatus`, npm `minecraft-server-util`) against our
//! responder.

use std::net::SocketAddr;
use std::time::Duration;

use mc_protocol::legacy::{LegacyForm, LegacyStatus, LegacyVersion};
use mc_protocol::net::ClientOptions;
use mc_protocol::net::legacy::{LegacyResponder, LegacyResponderHandle, status};
use serde_json::Value;

use crate::support::{run_node, run_python, spawn_node_peer};

fn opts() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn our_client_against_minecraft_protocol() {
    let config = serde_json::json!({
        "motd": "Legacy §aInterop§r §lMOTD",
        "maxPlayers": 33,
        "version": "1.20.4",
    });
    let peer = spawn_node_peer("java-server.js", &[&config.to_string()]).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], peer.port));
    for form in [LegacyForm::Beta, LegacyForm::V1_4, LegacyForm::V1_6] {
        let got = status(addr, "127.0.0.1", peer.port, form, &opts())
            .await
            .unwrap_or_else(|e| panic!("{form:?}: {e:?}"));
        // The legacy reply carries the real player count (0), not a configured one.
        let expected = LegacyStatus {
            version: (form != LegacyForm::Beta).then(|| LegacyVersion {
                protocol: 765,
                name: "1.20.4".into(),
            }),
            motd: "Legacy §aInterop§r §lMOTD".into(),
            online: 0,
            max: 33,
        };
        assert_eq!(got, expected, "{form:?}");
    }
}

async fn our_responder(status: LegacyStatus) -> LegacyResponderHandle {
    LegacyResponder::bind(SocketAddr::from(([127, 0, 0, 1], 0)), status)
        .await
        .expect("bind")
        .spawn()
}

fn sample() -> LegacyStatus {
    LegacyStatus {
        version: Some(LegacyVersion {
            protocol: 78,
            name: "1.6.4".into(),
        }),
        motd: "§aGreen §lbold".into(),
        online: 7,
        max: 42,
    }
}

fn json_line(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test]
async fn mcstatus_against_our_responder() {
    let responder = our_responder(sample()).await;
    let address = responder.local_addr().to_string();
    // mcstatus sends a bare `FE 01 FA`; the responder answers it after its grace.
    let out = run_python(&["-m", "mcstatus", "--legacy", &address, "json"]).await;
    assert!(out.success, "mcstatus failed: {}", out.stderr);
    let json = json_line(&out.stdout);
    assert_eq!(json["online"], true, "{json}");
    let status = &json["status"];
    assert_eq!(status["players"]["online"], 7, "{json}");
    assert_eq!(status["players"]["max"], 42, "{json}");
    assert_eq!(status["version"]["name"], "1.6.4", "{json}");
    assert_eq!(status["version"]["protocol"], 78, "{json}");
    assert_eq!(status["motd"], "§aGreen §lbold", "{json}");

    // The human-readable command agrees.
    let out = run_python(&["-m", "mcstatus", "--legacy", &address, "status"]).await;
    assert!(out.success, "mcstatus failed: {}", out.stderr);
    assert!(out.stdout.contains("players: 7/42"), "{}", out.stdout);
    assert!(out.stdout.contains("1.6.4 (protocol 78)"), "{}", out.stdout);
}

#[tokio::test]
async fn mcstatus_reads_a_beta_style_motd_with_section_signs() {
    // mcstatus always asks in the 1.6 form, so it gets the §1 format; a MOTD with
    // NUL-free `§` codes and a default version survives.
    let responder = our_responder(LegacyStatus {
        version: None,
        motd: "§6Gold§r and §1blue".into(),
        online: 0,
        max: 5,
    })
    .await;
    let out = run_python(&[
        "-m",
        "mcstatus",
        "--legacy",
        &responder.local_addr().to_string(),
        "json",
    ])
    .await;
    assert!(out.success, "mcstatus failed: {}", out.stderr);
    let json = json_line(&out.stdout);
    assert_eq!(json["status"]["motd"], "§6Gold§r and §1blue", "{json}");
    assert_eq!(json["status"]["players"]["max"], 5, "{json}");
}

async fn util(function: &str, responder: &LegacyResponderHandle) -> Value {
    let addr = responder.local_addr();
    let out = run_node(
        "util-legacy-client.js",
        &[function, "127.0.0.1", &addr.port().to_string()],
    )
    .await;
    assert!(out.success, "{function} failed: {}", out.stderr);
    json_line(&out.stdout)
}

/// Our responder on a port below 32768: minecraft-server-util's statusFE01FA writes
/// the port with `writeInt16BE`, which throws for larger ports (the kernel's
/// ephemeral range starts at 32768, so port 0 never gives one).
async fn our_responder_on_a_low_port(status: LegacyStatus) -> LegacyResponderHandle {
    let start = 20_000 + (std::process::id() % 10_000) as u16;
    for offset in 0..500 {
        let port = 20_000 + (start - 20_000 + offset * 7) % 12_000;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if let Ok(responder) = LegacyResponder::bind(addr, status.clone()).await {
            return responder.spawn();
        }
    }
    panic!("no free TCP port between 20000 and 32000");
}

#[tokio::test]
async fn minecraft_server_util_against_our_responder() {
    let responder = our_responder_on_a_low_port(sample()).await;
    // FE 01 (statusFE01 and statusLegacy) and its malformed FE 01 FA (statusFE01FA)
    // all get the §1 format.
    for function in ["statusFE01", "statusFE01FA"] {
        let json = util(function, &responder).await;
        assert_eq!(json["protocolVersion"], 78, "{function}: {json}");
        assert_eq!(json["version"], "1.6.4", "{function}: {json}");
        assert_eq!(json["players"]["online"], 7, "{function}: {json}");
        assert_eq!(json["players"]["max"], 42, "{function}: {json}");
        assert_eq!(json["motd"]["clean"], "Green bold", "{function}: {json}");
    }
    let json = util("statusLegacy", &responder).await;
    assert_eq!(json["version"]["name"], "1.6.4", "{json}");
    assert_eq!(json["version"]["protocol"], 78, "{json}");
    assert_eq!(json["players"]["online"], 7, "{json}");
    assert_eq!(json["players"]["max"], 42, "{json}");
    assert_eq!(json["motd"]["clean"], "Green bold", "{json}");
}

#[tokio::test]
async fn minecraft_server_util_beta_ping_against_our_responder() {
    // statusFE splits the beta reply on the *first* `§` (PEERS.md), so it is checked
    // with a MOTD without one; ours splits on the last two.
    let responder = our_responder(LegacyStatus {
        version: None,
        motd: "A beta server".into(),
        online: 2,
        max: 8,
    })
    .await;
    let json = util("statusFE", &responder).await;
    assert_eq!(json["motd"], "A beta server", "{json}");
    assert_eq!(json["players"]["online"], 2, "{json}");
    assert_eq!(json["players"]["max"], 8, "{json}");
}
