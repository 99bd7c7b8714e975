//! Bedrock targets (the npm `bedrock-protocol` server), and the Bedrock fallback of
//! Java targets (our `BedrockResponder`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mc_protocol::bedrock::{BedrockStatus, Edition};
use mc_protocol::net::bedrock::{BedrockResponder, BedrockResponderHandle};
use mcstat_adapters::BedrockFallback;
use mcstat_core::ports::StatusSource;
use mcstat_core::{OfflineReason, Protocol, StatusOutcome, Target, TargetPolicy};
use serde_json::json;

use crate::support::spawn_node_peer;
use crate::util::{NOW, free_udp_port, literal_source, online};

#[tokio::test]
async fn bedrock_protocol_server_maps_into_a_report() {
    let port = free_udp_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let config = json!({
        "port": port,
        "motd": "Bedrock §bAdapters",
        "levelName": "Adapters Level",
        "maxPlayers": 7,
        "version": "1.21.50",
    });
    let peer = spawn_node_peer("bedrock-server.js", &[&config.to_string()]).await;
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t: Target = format!("bedrock:127.0.0.1:{}", peer.port)
        .parse()
        .expect("target");
    let report = online(source.status(&t).await.expect("status"));
    assert_eq!(report.protocol, Protocol::Bedrock);
    assert_eq!(
        report.answered_by,
        Some(SocketAddr::from(([127, 0, 0, 1], peer.port)).to_string())
    );
    assert_eq!(report.version.as_deref(), Some("1.21.50"));
    assert_eq!(report.protocol_version, Some(766));
    assert_eq!(
        (report.players_online, report.players_max),
        (Some(0), Some(7))
    );
    assert!(report.motd.bedrock, "Bedrock palette");
    assert_eq!(report.motd.plain(), "Bedrock Adapters");
    assert!(report.motd.legacy.contains("§b"), "{:?}", report.motd);
    assert_eq!(report.map.as_deref(), Some("Adapters Level"));
    assert_eq!(report.game_mode.as_deref(), Some("Creative"));
    assert!(report.latency_ms.is_some());
    assert_eq!(report.icon_png, None);
    assert_eq!(report.taken_at, NOW);
}

fn sample() -> BedrockStatus {
    BedrockStatus {
        edition: Edition::Mcpe,
        motd: "§aFallback".into(),
        protocol: 594,
        version: "1.20.1".into(),
        online: 4,
        max: 40,
        server_id: Some("4242".into()),
        sub_motd: Some("World".into()),
        game_mode: Some("Survival".into()),
        game_mode_numeric: Some(0),
        port_v4: None,
        port_v6: None,
        extra: vec![],
    }
}

/// A Bedrock responder on `ip` counting the pings it answers.
async fn counting_responder(ip: Ipv4Addr) -> (BedrockResponderHandle, Arc<AtomicUsize>) {
    let pings = Arc::new(AtomicUsize::new(0));
    let count = pings.clone();
    let responder = BedrockResponder::bind_with(SocketAddr::from((ip, 0)), move |_| {
        count.fetch_add(1, Ordering::SeqCst);
        sample()
    })
    .await
    .expect("bind")
    .spawn();
    (responder, pings)
}

/// A loopback address of its own, where nothing listens on the Java default port
/// (checked, so the test cannot pass or fail because of something else).
fn quiet_ip() -> Ipv4Addr {
    let ip = Ipv4Addr::new(127, 0, 0, 87);
    assert!(
        std::net::TcpStream::connect_timeout(
            &SocketAddr::from((ip, 25565)),
            Duration::from_secs(1)
        )
        .is_err(),
        "something listens on {ip}:25565; these tests need it closed"
    );
    ip
}

#[tokio::test]
async fn java_target_without_port_that_refuses_is_asked_over_bedrock() {
    let ip = quiet_ip();
    let (responder, pings) = counting_responder(ip).await;
    let fallback = BedrockFallback {
        port: responder.local_addr().port(),
        timeout: Duration::from_secs(2),
    };
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5))
        .with_bedrock_fallback(Some(fallback));
    let t: Target = ip.to_string().parse().expect("target");
    let report = online(source.status(&t).await.expect("status"));
    assert_eq!(report.protocol, Protocol::Bedrock, "says which answered");
    assert_eq!(report.target, t);
    assert_eq!(report.answered_by, Some(responder.local_addr().to_string()));
    assert_eq!(report.motd.plain(), "Fallback");
    assert_eq!(report.map.as_deref(), Some("World"));
    assert_eq!(pings.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn no_bedrock_fallback_with_an_explicit_port_or_when_disabled() {
    let ip = quiet_ip();
    let (responder, pings) = counting_responder(ip).await;
    let fallback = BedrockFallback {
        port: responder.local_addr().port(),
        timeout: Duration::from_secs(2),
    };
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5))
        .with_bedrock_fallback(Some(fallback));
    // An explicit port: the user meant a Java server there.
    let t: Target = format!("{ip}:25565").parse().expect("target");
    match source.status(&t).await.expect("status") {
        StatusOutcome::Offline { reason, .. } => assert_eq!(reason, OfflineReason::Refused),
        online => panic!("expected offline, got {online:?}"),
    }
    // Fallback disabled.
    let source = source.with_bedrock_fallback(None);
    let t: Target = ip.to_string().parse().expect("target");
    match source.status(&t).await.expect("status") {
        StatusOutcome::Offline { reason, .. } => assert_eq!(reason, OfflineReason::Refused),
        online => panic!("expected offline, got {online:?}"),
    }
    assert_eq!(pings.load(Ordering::SeqCst), 0, "Bedrock was never asked");
}
