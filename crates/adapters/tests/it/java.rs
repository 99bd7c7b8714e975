//! Java targets: the npm `minecraft-protocol` server, our `JavaResponder` (Forge data,
//! chat components) and `LegacyResponder` (the legacy fallback), SRV through dnsmasq.

use std::net::SocketAddr;
use std::time::Duration;

use mc_protocol::java::JavaStatus;
use mc_protocol::java::status::favicon_data_url;
use mc_protocol::legacy::{LegacyStatus, LegacyVersion};
use mc_protocol::net::java::JavaResponder;
use mc_protocol::net::legacy::LegacyResponder;
use mcstat_adapters::{LookupMode, NetworkSource};
use mcstat_core::ports::StatusSource;
use mcstat_core::{Protocol, Target, TargetPolicy};
use serde_json::json;

use crate::dns::Dnsmasq;
use crate::support::spawn_node_peer;
use crate::util::{NOW, clock, literal_source, loopback, online, options};

/// A 1×1 PNG.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50,
    0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn target(s: &str) -> Target {
    s.parse().expect("target")
}

#[tokio::test]
async fn minecraft_protocol_server_maps_into_a_report() {
    let config = json!({
        "version": "1.20.4",
        "motd": "Adapters §aGreen §lBold",
        "maxPlayers": 42,
        "online": 3,
        "sample": [
            {"name": "Alex", "id": "ec561538-f3fd-461d-aff5-086b22154bce"},
            {"name": "Steve", "id": "8667ba71-b85a-4004-af54-457a9734eed7"}
        ],
        "favicon": favicon_data_url(PNG),
    });
    let peer = spawn_node_peer("java-server.js", &[&config.to_string()]).await;
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t = target(&format!("127.0.0.1:{}", peer.port));
    let report = online(source.status(&t).await.expect("status"));

    assert_eq!(report.target, t);
    assert_eq!(report.protocol, Protocol::Java);
    assert_eq!(report.answered_by, Some(loopback(peer.port).to_string()));
    assert_eq!(report.version.as_deref(), Some("1.20.4"));
    assert_eq!(report.protocol_version, Some(765));
    assert_eq!(
        (report.players_online, report.players_max),
        (Some(3), Some(42))
    );
    assert_eq!(report.sample, ["Alex", "Steve"]);
    assert_eq!(report.motd.plain(), "Adapters Green Bold");
    assert!(!report.motd.bedrock, "Java palette");
    assert!(report.motd.legacy.contains("§a"), "{:?}", report.motd);
    assert_eq!(report.icon_png.as_deref(), Some(PNG));
    // minecraft-protocol answers the ping.
    assert!(report.latency_ms.is_some(), "no latency: {report:?}");
    assert_eq!(report.mod_count, None);
    assert_eq!((report.game_mode, report.map), (None, None));
    assert_eq!(report.taken_at, NOW);
}

#[tokio::test]
async fn forge_mods_and_chat_component_colours_come_through() {
    let status = JavaStatus::from_json(
        &json!({
            "version": {"name": "1.16.5", "protocol": 754},
            "players": {"max": 10, "online": 0},
            "description": {"text": "", "extra": [
                {"text": "Red ", "color": "red"},
                {"text": "hex", "color": "#123456"}
            ]},
            "forgeData": {
                "channels": [],
                "mods": [
                    {"modId": "forge", "modmarker": "36.2.0"},
                    {"modId": "jei", "modmarker": "7.7.1"},
                    {"modId": "create", "modmarker": "0.3.2"}
                ],
                "fmlNetworkVersion": 2
            }
        })
        .to_string(),
    )
    .expect("status json");
    let responder = JavaResponder::bind(loopback(0), move |_| status.clone())
        .await
        .expect("bind")
        .spawn();
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t = target(&responder.local_addr().to_string());
    let report = online(source.status(&t).await.expect("status"));
    assert_eq!(report.protocol, Protocol::Java);
    assert_eq!(report.mod_count, Some(3));
    assert_eq!(report.motd.plain(), "Red hex");
    assert!(report.motd.legacy.contains("§c"), "{:?}", report.motd);
    // Hex colours survive in the Spigot form.
    assert!(
        report.motd.legacy.to_lowercase().contains("§x§1§2§3§4§5§6"),
        "{:?}",
        report.motd
    );
    assert_eq!(report.icon_png, None);
    assert!(report.sample.is_empty());
}

#[tokio::test]
async fn pre_1_7_server_answers_through_the_legacy_fallback() {
    let status = LegacyStatus {
        version: Some(LegacyVersion {
            protocol: 78,
            name: "1.6.4".into(),
        }),
        motd: "Old §cserver".into(),
        online: 2,
        max: 10,
    };
    let responder = LegacyResponder::bind(loopback(0), status)
        .await
        .expect("bind")
        .spawn();
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t = target(&responder.local_addr().to_string());
    let report = online(source.status(&t).await.expect("status"));
    assert_eq!(report.protocol, Protocol::Legacy);
    assert_eq!(report.answered_by, Some(responder.local_addr().to_string()));
    assert_eq!(report.version.as_deref(), Some("1.6.4"));
    assert_eq!(report.protocol_version, Some(78));
    assert_eq!(
        (report.players_online, report.players_max),
        (Some(2), Some(10))
    );
    assert_eq!(report.motd.plain(), "Old server");
    assert!(report.latency_ms.is_some());
    assert!(report.sample.is_empty());
}

#[tokio::test]
async fn srv_record_leads_to_the_server_and_its_handshake_host() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let status =
        JavaStatus::from_json(r#"{"description":"via SRV","players":{"max":1,"online":0}}"#)
            .expect("json");
    let responder = JavaResponder::bind(loopback(0), move |handshake| {
        record
            .lock()
            .expect("lock")
            .push((handshake.server_address.clone(), handshake.server_port));
        status.clone()
    })
    .await
    .expect("bind")
    .spawn();
    let port = responder.local_addr().port();
    let dns = Dnsmasq::start(port).await;
    let source = NetworkSource::with_nameserver(
        TargetPolicy::with_loopback(),
        options(Duration::from_secs(5)),
        dns.addr,
        clock(),
    )
    .expect("source");
    let report = online(source.status(&target("mc.test")).await.expect("status"));
    assert_eq!(report.protocol, Protocol::Java);
    assert_eq!(report.motd.plain(), "via SRV");
    assert_eq!(
        report.answered_by,
        Some(SocketAddr::from(([127, 0, 0, 1], port)).to_string())
    );
    // As the vanilla client: the SRV target and port go into the handshake.
    assert_eq!(
        seen.lock().expect("lock").first().cloned(),
        Some(("target.mc.test".to_owned(), port))
    );
    dns.stop().await;
}

#[tokio::test]
async fn watch_mode_skips_the_ping_and_the_icon() {
    let mut status = JavaStatus::from_json(
        &json!({
            "version": {"name": "1.21", "protocol": 767},
            "players": {"max": 20, "online": 2, "sample": [{"name": "Alex", "id": ""}]},
            "description": "watched",
            "forgeData": {"channels": [], "mods": [{"modId": "forge", "modmarker": "1"}]}
        })
        .to_string(),
    )
    .expect("status json");
    status.favicon = Some(favicon_data_url(PNG));
    let responder = JavaResponder::bind(loopback(0), move |_| status.clone())
        .await
        .expect("bind")
        .spawn();
    let t = target(&responder.local_addr().to_string());
    let full = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    assert_eq!(full.mode(), LookupMode::Full);
    let watch = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5)).for_watches();
    assert_eq!(watch.mode(), LookupMode::Watch);

    let full_report = online(full.status(&t).await.expect("status"));
    let watch_report = online(watch.status(&t).await.expect("status"));
    assert_eq!(full_report.icon_png.as_deref(), Some(PNG));
    assert_eq!(full_report.mod_count, Some(1));
    assert!(full_report.latency_ms.is_some());
    // What a watch poll keeps is all there; the icon and mod list are not decoded.
    assert_eq!(watch_report.protocol, Protocol::Java);
    assert_eq!(
        (watch_report.players_online, watch_report.players_max),
        (Some(2), Some(20))
    );
    assert_eq!(watch_report.sample, ["Alex"]);
    assert_eq!(watch_report.version.as_deref(), Some("1.21"));
    assert_eq!(watch_report.motd.plain(), "watched");
    assert!(watch_report.latency_ms.is_some(), "status round trip");
    assert_eq!(
        (watch_report.icon_png, watch_report.mod_count),
        (None, None)
    );
    assert_eq!(watch_report.taken_at, NOW);

    // A server that never answers the ping: the full lookup waits for the pong until
    // its deadline and reports no latency; the watch lookup sends no ping at all.
    let listener = tokio::net::TcpListener::bind(loopback(0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (pinged_tx, mut pinged_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let pinged = pinged_tx.clone();
            tokio::spawn(async move {
                use mc_protocol::java::{FrameDecoder, Packet, StatusResponseS2c};
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut decoder = FrameDecoder::new();
                let mut frames = 0;
                let mut buf = [0u8; 1024];
                // Handshake and status request, then whatever else comes.
                loop {
                    while let Ok(Some(_)) = decoder.try_next_frame() {
                        frames += 1;
                        if frames == 2 {
                            let json = r#"{"description":"stalls","players":{"max":1,"online":0}}"#;
                            let frame = StatusResponseS2c { json: json.into() }.to_frame_bytes();
                            stream.write_all(&frame).await.expect("write");
                        }
                    }
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => decoder.queue_bytes(&buf[..n]),
                    }
                }
                let _ = pinged.send(frames > 2);
            });
        }
    });
    let t = target(&addr.to_string());
    let deadline = Duration::from_millis(800);
    let full = literal_source(TargetPolicy::with_loopback(), deadline);
    let watch = literal_source(TargetPolicy::with_loopback(), deadline).for_watches();

    let start = std::time::Instant::now();
    let report = online(watch.status(&t).await.expect("status"));
    assert!(
        start.elapsed() < Duration::from_millis(600),
        "{:?}",
        start.elapsed()
    );
    assert!(report.latency_ms.is_some());
    assert_eq!(
        pinged_rx.recv().await,
        Some(false),
        "watch mode sent a ping"
    );

    let start = std::time::Instant::now();
    let report = online(full.status(&t).await.expect("status"));
    assert!(
        start.elapsed() >= Duration::from_millis(700),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(report.latency_ms, None);
    assert_eq!(pinged_rx.recv().await, Some(true), "full mode pings");
    server.abort();
}
