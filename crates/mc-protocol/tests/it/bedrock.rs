//! Bedrock: our client against our responder, and both against hostile peers
//! written here with raw UDP sockets.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mc_protocol::DecodeError;
use mc_protocol::bedrock::{BedrockStatus, Edition, MAGIC, UnconnectedPingC2s, UnconnectedPongS2c};
use mc_protocol::net::bedrock::{BedrockResponder, status};
use mc_protocol::net::{ClientOptions, NetError, RESEND_FIRST};
use tokio::net::UdpSocket;

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn opts(timeout_ms: u64) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(timeout_ms),
        ..ClientOptions::default()
    }
}

fn sample() -> BedrockStatus {
    BedrockStatus {
        edition: Edition::Mcpe,
        motd: "§bOur; server".into(),
        protocol: 594,
        version: "1.20.1".into(),
        online: 3,
        max: 30,
        server_id: Some("1234567890".into()),
        sub_motd: Some("Level".into()),
        game_mode: Some("Survival".into()),
        game_mode_numeric: Some(0),
        port_v4: Some(19132),
        port_v6: Some(19133),
        extra: vec!["0".into()],
    }
}

#[tokio::test]
async fn client_against_our_responder() {
    let responder = BedrockResponder::bind(localhost(), sample())
        .await
        .expect("bind")
        .with_server_guid(-77)
        .spawn();
    let reply = status(responder.local_addr(), &opts(3000))
        .await
        .expect("status");
    assert_eq!(reply.status, sample());
    assert_eq!(reply.server_guid, -77);
    assert_eq!(responder.server_guid(), -77);
    assert!(reply.latency < Duration::from_secs(3));
}

#[tokio::test]
async fn responder_answers_both_ping_ids_and_ignores_junk() {
    let responder = BedrockResponder::bind_with(localhost(), |ping| BedrockStatus {
        // The provider sees the ping it answers.
        motd: format!("guid {}", ping.client_guid),
        ..sample()
    })
    .await
    .expect("bind")
    .spawn();
    let socket = UdpSocket::bind(localhost()).await.expect("bind");
    socket
        .connect(responder.local_addr())
        .await
        .expect("connect");
    // Junk first: too short, wrong id, bad magic, oversized. None gets an answer.
    let ping = UnconnectedPingC2s {
        time: 99,
        client_guid: 5,
        open_connections_only: true,
    };
    let mut good = Vec::new();
    ping.encode(&mut good);
    let mut bad_magic = good.clone();
    bad_magic[12] ^= 1;
    let mut wrong_id = good.clone();
    wrong_id[0] = 0x05;
    for junk in [vec![0x01], wrong_id, bad_magic, vec![0x01; 4000]] {
        socket.send(&junk).await.expect("send");
    }
    socket.send(&good).await.expect("send");
    let mut buf = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(3), socket.recv(&mut buf))
        .await
        .expect("a pong")
        .expect("recv");
    let pong = UnconnectedPongS2c::decode(&buf[..n]).expect("pong");
    assert_eq!(pong.time, 99);
    assert_eq!(pong.status().expect("status").motd, "guid 5");
    // Exactly one answer: nothing else is queued.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), socket.recv(&mut buf))
            .await
            .is_err()
    );
}

/// A hostile server: answers each ping with whatever `reply` makes of it.
async fn hostile_server<F>(reply: F) -> SocketAddr
where
    F: Fn(UnconnectedPingC2s) -> Vec<Vec<u8>> + Send + 'static,
{
    let socket = UdpSocket::bind(localhost()).await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(ping) = UnconnectedPingC2s::decode(&buf[..n]) else {
                continue;
            };
            for datagram in reply(ping) {
                let _ = socket.send_to(&datagram, peer).await;
            }
        }
    });
    addr
}

fn pong(time: i64, status: &BedrockStatus) -> Vec<u8> {
    let mut out = Vec::new();
    UnconnectedPongS2c {
        time,
        server_guid: 1,
        info: status.to_info_string(),
    }
    .encode(&mut out);
    out
}

async fn expect_error_within(addr: SocketAddr, o: ClientOptions) -> NetError {
    let start = Instant::now();
    let err = status(addr, &o).await.expect_err("hostile server");
    assert!(
        start.elapsed() < o.timeout + Duration::from_millis(500),
        "took {:?}: {err:?}",
        start.elapsed()
    );
    err
}

#[tokio::test]
async fn silent_server_times_out_within_the_deadline() {
    let addr = hostile_server(|_| Vec::new()).await;
    let err = expect_error_within(addr, opts(1500)).await;
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn a_lost_ping_is_resent() {
    // The first two pings are lost: resent after 250 ms, then 500 ms more.
    let pings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = pings.clone();
    let addr = hostile_server(move |ping| {
        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            return Vec::new();
        }
        vec![pong(ping.time, &sample())]
    })
    .await;
    let started = Instant::now();
    let reply = status(addr, &opts(5000)).await.expect("status");
    let took = started.elapsed();
    assert_eq!(reply.status, sample());
    assert_eq!(pings.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(took >= RESEND_FIRST * 3, "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    // The latency is the round trip of the copy answered (each copy has its own
    // time), not the wait for the lost ones.
    assert!(reply.latency < RESEND_FIRST, "{:?}", reply.latency);
}

#[tokio::test]
async fn wrong_magic_is_bad_magic() {
    let addr = hostile_server(|ping| {
        let mut out = pong(ping.time, &sample());
        out[17..33].copy_from_slice(&[0xaa; 16]);
        vec![out]
    })
    .await;
    let err = expect_error_within(addr, opts(3000)).await;
    assert!(
        matches!(err, NetError::Decode(DecodeError::BadMagic { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_time_is_a_mismatch() {
    let addr = hostile_server(|ping| vec![pong(ping.time.wrapping_add(1), &sample())]).await;
    let err = expect_error_within(addr, opts(3000)).await;
    assert!(matches!(err, NetError::Mismatch(_)), "{err:?}");
}

#[tokio::test]
async fn other_raknet_packets_are_ignored() {
    // An "incompatible protocol" packet (0x19) and an empty datagram come first.
    let addr = hostile_server(|ping| {
        let mut other = vec![0x19, 10];
        other.extend_from_slice(&MAGIC);
        vec![other, Vec::new(), pong(ping.time, &sample())]
    })
    .await;
    let reply = status(addr, &opts(3000)).await.expect("status");
    assert_eq!(reply.status, sample());
    assert_eq!(reply.server_guid, 1);
}

#[tokio::test]
async fn oversized_and_malformed_pongs_are_typed_errors() {
    let big = BedrockStatus {
        motd: "x".repeat(4000),
        ..sample()
    };
    let addr = hostile_server(move |ping| vec![pong(ping.time, &big)]).await;
    let small = ClientOptions {
        max_frame: 1024,
        ..opts(3000)
    };
    let err = expect_error_within(addr, small).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::FrameTooLarge { max: 1024, .. })
        ),
        "{err:?}"
    );

    let addr = hostile_server(|ping| {
        let mut out = Vec::new();
        UnconnectedPongS2c {
            time: ping.time,
            server_guid: 1,
            info: "MCPE;only;three".into(),
        }
        .encode(&mut out);
        vec![out]
    })
    .await;
    let err = expect_error_within(addr, opts(3000)).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::InvalidField {
                field: "bedrock status",
                ..
            })
        ),
        "{err:?}"
    );

    // The string length claims more than the datagram holds.
    let addr = hostile_server(|ping| {
        let mut out = pong(ping.time, &sample());
        out[33] = 0xff;
        vec![out]
    })
    .await;
    let err = expect_error_within(addr, opts(3000)).await;
    assert!(
        matches!(err, NetError::Decode(DecodeError::UnexpectedEof { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let socket = UdpSocket::bind(localhost()).await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    drop(socket);
    let err = expect_error_within(addr, opts(3000)).await;
    // Loopback reports the closed port (ICMP), which the connected socket surfaces.
    assert!(matches!(err, NetError::Connect(_)), "{err:?}");
}

/// A server that floods the client with datagrams that are not pongs (RakNet
/// frames) as fast as it can: the client ignores them, but the deadline still ends
/// the exchange, with a typed timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_flood_still_ends_at_the_deadline() {
    let socket = UdpSocket::bind(localhost()).await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        let Ok((_, peer)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let junk = [0x84u8, 0, 0, 0, 0x40, 0, 0x90, 0, 0, 0];
        // Until the client's socket is gone (then sends fail with "refused").
        let mut failures = 0;
        while failures < 100 {
            if socket.send_to(&junk, peer).await.is_err() {
                failures += 1;
            }
        }
    });
    let started = Instant::now();
    let err = status(addr, &opts(300)).await.expect_err("junk only");
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
