//! `players()`: Query's full list when the server answers Query on its game port, else
//! the status sample, else the counts; `None` when offline.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mc_protocol::java::JavaStatus;
use mc_protocol::net::java::{JavaResponder, JavaResponderHandle};
use mc_protocol::net::query::{QueryResponder, QueryResponderHandle};
use mc_protocol::query::{QueryFull, QueryPlugins};
use mcstat_core::ports::StatusSource;
use mcstat_core::{PlayerSource, Target, TargetPolicy};
use serde_json::json;

use crate::support::spawn_node_peer;
use crate::util::{NOW, closed_tcp_port, free_udp_port, literal_source, loopback};

fn status_with_sample(names: &[&str], online: i64) -> JavaStatus {
    let sample: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": n, "id": format!("00000000-0000-0000-0000-{i:012}")}))
        .collect();
    JavaStatus::from_json(
        &json!({
            "description": "players",
            "players": {"max": 20, "online": online, "sample": sample},
        })
        .to_string(),
    )
    .expect("json")
}

async fn java(status: JavaStatus) -> JavaResponderHandle {
    JavaResponder::bind(loopback(0), move |_| status.clone())
        .await
        .expect("bind")
        .spawn()
}

fn query_stat(players: &[&str]) -> QueryFull {
    QueryFull {
        motd: "players".into(),
        game_type: "SMP".into(),
        game_id: "MINECRAFT".into(),
        version: "1.21.4".into(),
        plugins: QueryPlugins::default(),
        map: "world".into(),
        online: u32::try_from(players.len()).expect("small"),
        max: 100,
        host_port: 25565,
        host_ip: "127.0.0.1".into(),
        players: players.iter().map(|p| (*p).to_owned()).collect(),
        extra: vec![],
    }
}

/// A Java responder and a Query responder on the same port number (TCP and UDP).
async fn java_and_query(
    sample: &[&str],
    query: &[&str],
) -> (JavaResponderHandle, QueryResponderHandle) {
    for _ in 0..20 {
        let j = java(status_with_sample(sample, 9)).await;
        if let Ok(q) = QueryResponder::bind(j.local_addr(), query_stat(query)).await {
            return (j, q.spawn());
        }
    }
    panic!("no port free for both TCP and UDP");
}

#[tokio::test]
async fn query_gives_every_name_when_the_server_answers_it() {
    let everyone = ["Alex", "Steve", "Notch", "Jeb", "Dinnerbone"];
    let (j, _q) = java_and_query(&["Alex"], &everyone).await;
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t: Target = j.local_addr().to_string().parse().expect("target");
    let list = source.players(&t).await.expect("players").expect("online");
    assert_eq!(list.source, PlayerSource::Query);
    assert_eq!(list.names, everyone);
    assert_eq!((list.online, list.max), (Some(5), Some(100)));
    assert_eq!(list.target, t);
    assert_eq!(list.taken_at, NOW);
}

#[tokio::test]
async fn without_query_the_status_sample_is_the_list() {
    let j = java(status_with_sample(&["Alex", "Steve"], 9)).await;
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t: Target = j.local_addr().to_string().parse().expect("target");
    let list = source.players(&t).await.expect("players").expect("online");
    assert_eq!(list.source, PlayerSource::Sample);
    assert_eq!(list.names, ["Alex", "Steve"]);
    assert_eq!((list.online, list.max), (Some(9), Some(20)));

    let j = java(status_with_sample(&[], 3)).await;
    let t: Target = j.local_addr().to_string().parse().expect("target");
    let list = source.players(&t).await.expect("players").expect("online");
    assert_eq!(list.source, PlayerSource::CountOnly);
    assert!(list.names.is_empty());
    assert_eq!(list.online, Some(3));
}

#[tokio::test]
async fn a_silent_query_port_costs_only_the_query_sub_deadline() {
    // A UDP socket on the game port that swallows Query requests.
    let (j, silent) = loop {
        let j = java(status_with_sample(&["Alex"], 1)).await;
        if let Ok(s) = tokio::net::UdpSocket::bind(j.local_addr()).await {
            break (j, s);
        }
    };
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(30))
        .with_query_timeout(Duration::from_millis(300));
    let t: Target = j.local_addr().to_string().parse().expect("target");
    let started = Instant::now();
    let list = source.players(&t).await.expect("players").expect("online");
    let took = started.elapsed();
    assert_eq!(list.source, PlayerSource::Sample);
    assert_eq!(list.names, ["Alex"]);
    // Far below the 30 s lookup deadline: the sub-deadline bounded Query.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Query was asked (the handshake arrived) and not answered.
    let mut buf = [0u8; 64];
    let (n, _) = silent
        .try_recv_from(&mut buf)
        .expect("a Query handshake arrived");
    assert_eq!(buf.get(..2), Some(&[0xfe, 0xfd][..]), "{:?}", &buf[..n]);
}

#[tokio::test]
async fn minecraft_protocol_sample_and_offline_is_none() {
    let config = json!({
        "online": 2,
        "maxPlayers": 8,
        "sample": [
            {"name": "Alex", "id": "ec561538-f3fd-461d-aff5-086b22154bce"},
            {"name": "Steve", "id": "8667ba71-b85a-4004-af54-457a9734eed7"}
        ],
    });
    let peer = spawn_node_peer("java-server.js", &[&config.to_string()]).await;
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t: Target = format!("127.0.0.1:{}", peer.port).parse().expect("target");
    let list = source.players(&t).await.expect("players").expect("online");
    assert_eq!(list.source, PlayerSource::Sample);
    assert_eq!(list.names, ["Alex", "Steve"]);
    assert_eq!((list.online, list.max), (Some(2), Some(8)));

    let port = closed_tcp_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let t: Target = format!("127.0.0.1:{port}").parse().expect("target");
    assert_eq!(source.players(&t).await.expect("players"), None);
}

#[tokio::test]
async fn bedrock_players_are_counts_and_query_on_the_same_port() {
    let port = free_udp_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let config = json!({"port": port, "maxPlayers": 6});
    let peer = spawn_node_peer("bedrock-server.js", &[&config.to_string()]).await;
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5))
        .with_query_timeout(Duration::from_millis(300));
    let t: Target = format!("bedrock:127.0.0.1:{}", peer.port)
        .parse()
        .expect("target");
    let list = source.players(&t).await.expect("players").expect("online");
    assert_eq!(list.source, PlayerSource::CountOnly);
    assert_eq!((list.online, list.max), (Some(0), Some(6)));
    assert_eq!(
        SocketAddr::from(([127, 0, 0, 1], peer.port)).port(),
        port,
        "the peer listens where it was told"
    );
}
