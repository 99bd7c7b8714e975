//! Query: our client against our responder, the responder against raw requests, and
//! the client against hostile servers written here with raw UDP sockets.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mc_protocol::DecodeError;
use mc_protocol::net::query::{self, QueryResponder};
use mc_protocol::net::{ClientOptions, NetError};
use mc_protocol::query::{
    FullStatC2s, FullStatS2c, HandshakeC2s, HandshakeS2c, QueryFull, QueryPlugins, QueryRequestC2s,
    SessionId,
};
use tokio::net::UdpSocket;

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

fn opts(timeout_ms: u64) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(timeout_ms),
        ..ClientOptions::default()
    }
}

fn sample() -> QueryFull {
    QueryFull {
        motd: "§aA §lQuery§r test".into(),
        game_type: "SMP".into(),
        game_id: "MINECRAFT".into(),
        version: "1.21.4".into(),
        plugins: QueryPlugins::from_parts("Paper on 1.21.4", &["WorldEdit 7.3.9", "LuckPerms"]),
        map: "overworld".into(),
        online: 3,
        max: 50,
        host_port: 25565,
        host_ip: "0.0.0.0".into(),
        players: vec!["Notch".into(), "jeb_".into(), "Dinnerbone".into()],
        extra: vec![("whitelist".into(), "off".into())],
    }
}

async fn responder(stat: QueryFull) -> (query::QueryResponderHandle, SocketAddr) {
    let responder = QueryResponder::bind(localhost(), stat).await.expect("bind");
    let addr = responder.local_addr().expect("addr");
    (responder.spawn(), addr)
}

#[tokio::test]
async fn full_stat_from_our_responder() {
    let (_handle, addr) = responder(sample()).await;
    let stat = query::full(addr, &opts(3000)).await.expect("full stat");
    assert_eq!(stat, sample());
    assert_eq!(stat.players, ["Notch", "jeb_", "Dinnerbone"]);
    assert_eq!(stat.plugins.server_mod, "Paper on 1.21.4");
    assert_eq!(stat.plugins.plugins, ["WorldEdit 7.3.9", "LuckPerms"]);
}

#[tokio::test]
async fn basic_stat_from_our_responder() {
    let (_handle, addr) = responder(sample()).await;
    let stat = query::basic(addr, &opts(3000)).await.expect("basic stat");
    assert_eq!(stat, sample().basic());
    assert_eq!((stat.online, stat.max, stat.host_port), (3, 50, 25565));
}

#[tokio::test]
async fn responder_serves_the_providers_current_value() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let c = counter.clone();
    let responder = QueryResponder::bind_with(localhost(), move || QueryFull {
        online: c.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        ..sample()
    })
    .await
    .expect("bind");
    let addr = responder.local_addr().expect("addr");
    let _handle = responder.spawn();
    assert_eq!(query::basic(addr, &opts(3000)).await.expect("1").online, 0);
    assert_eq!(query::full(addr, &opts(3000)).await.expect("2").online, 1);
}

async fn recv_within(socket: &UdpSocket, ms: u64) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(Duration::from_millis(ms), socket.recv(&mut buf))
        .await
        .ok()?
        .expect("recv");
    buf.truncate(n);
    Some(buf)
}

#[tokio::test]
async fn responder_ignores_wrong_tokens_and_garbage() {
    let (_handle, addr) = responder(sample()).await;
    let socket = UdpSocket::bind(localhost()).await.expect("bind");
    socket.connect(addr).await.expect("connect");
    let session_id = SessionId(0x1020_3040);

    socket.send(b"\xfe\xfd\x07garbage").await.expect("send");
    let handshake = QueryRequestC2s::Handshake(HandshakeC2s { session_id });
    socket.send(&handshake.to_bytes()).await.expect("send");
    // The garbage got no answer: the first answer is the handshake's, echoing the
    // unmasked session id.
    let answer = recv_within(&socket, 2000).await.expect("token");
    let token = HandshakeS2c::decode(&answer).expect("handshake answer");
    assert_eq!(token.session_id, session_id);

    let wrong = FullStatC2s {
        session_id,
        token: token.token.wrapping_add(1),
    };
    socket
        .send(&QueryRequestC2s::FullStat(wrong).to_bytes())
        .await
        .expect("send");
    assert_eq!(
        recv_within(&socket, 300).await,
        None,
        "wrong token answered"
    );

    let right = FullStatC2s {
        session_id,
        token: token.token,
    };
    socket
        .send(&QueryRequestC2s::FullStat(right).to_bytes())
        .await
        .expect("send");
    let answer = recv_within(&socket, 2000).await.expect("full stat");
    let full = FullStatS2c::decode(&answer).expect("full stat answer");
    assert_eq!((full.session_id, full.stat), (session_id, sample()));
}

/// A raw server answering every datagram with what `answer(request)` returns.
async fn raw_server(
    answer: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static,
) -> (tokio::task::JoinHandle<()>, SocketAddr) {
    let socket = UdpSocket::bind(localhost()).await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            if let Some(reply) = answer(&buf[..n]) {
                socket.send_to(&reply, peer).await.expect("send");
            }
        }
    });
    (task, addr)
}

/// Answers the handshake with token 7 and a stat request with `stat(session id bytes)`.
fn scripted(stat: impl Fn(&[u8]) -> Vec<u8> + Send + 'static) -> impl Fn(&[u8]) -> Option<Vec<u8>> {
    move |request: &[u8]| {
        let session = request.get(3..7)?.to_vec();
        match request.get(2)? {
            9 => Some([&[9u8][..], &session, b"7\0"].concat()),
            _ => Some(stat(&session)),
        }
    }
}

fn full_stat_bytes(session: &[u8], kv: &[(&str, &str)], players: &[&str]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(session);
    out.extend_from_slice(b"splitnum\0\x80\0");
    for (k, v) in kv {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out.push(0);
    out.extend_from_slice(b"\x01player_\0\0");
    for p in players {
        out.extend_from_slice(p.as_bytes());
        out.push(0);
    }
    out.push(0);
    out
}

const SHUFFLED: &[(&str, &str)] = &[
    ("hostport", "25570"),
    ("extra_key", "kept"),
    ("numplayers", "2"),
    ("hostname", "Shuffled"),
    ("plugins", ""),
    ("maxplayers", "10"),
    ("version", "1.20.1"),
    ("map", "world"),
    ("gametype", "SMP"),
    ("game_id", "MINECRAFT"),
    ("hostip", "10.0.0.2"),
];

#[tokio::test]
async fn client_reads_out_of_order_keys() {
    let (_task, addr) = raw_server(scripted(|s| {
        full_stat_bytes(s, SHUFFLED, &["alice", "bob"])
    }))
    .await;
    let stat = query::full(addr, &opts(3000)).await.expect("full stat");
    assert_eq!(stat.motd, "Shuffled");
    assert_eq!((stat.online, stat.max, stat.host_port), (2, 10, 25570));
    assert_eq!(stat.version, "1.20.1");
    assert_eq!(stat.players, ["alice", "bob"]);
    assert_eq!(stat.extra, [("extra_key".to_owned(), "kept".to_owned())]);
}

#[tokio::test]
async fn stalled_server_times_out_within_the_deadline() {
    let (_task, addr) = raw_server(|_| None).await;
    let started = Instant::now();
    let err = query::full(addr, &opts(300)).await.expect_err("no answer");
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn handshake_only_server_times_out() {
    let (_task, addr) = raw_server(|r| {
        (r.get(2) == Some(&9))
            .then(|| [&[9u8][..], r.get(3..7).unwrap_or_default(), b"1\0"].concat())
    })
    .await;
    let started = Instant::now();
    let err = query::full(addr, &opts(300)).await.expect_err("no stat");
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn foreign_session_id_is_a_mismatch() {
    // The token answer is fine; the stat answer carries another session's id.
    let (_task, addr) = raw_server(scripted(|s| {
        let foreign: Vec<u8> = s.iter().map(|b| (b + 1) & 0x0F).collect();
        full_stat_bytes(&foreign, SHUFFLED, &[])
    }))
    .await;
    let err = query::full(addr, &opts(3000)).await.expect_err("foreign");
    assert!(matches!(err, NetError::Mismatch(_)), "{err:?}");

    // Already at the handshake.
    let (_task, addr) = raw_server(|r| {
        Some(
            [
                &[9u8][..],
                &r.get(3..7)?.iter().map(|b| b ^ 1).collect::<Vec<_>>(),
                b"5\0",
            ]
            .concat(),
        )
    })
    .await;
    let err = query::basic(addr, &opts(3000)).await.expect_err("foreign");
    assert!(matches!(err, NetError::Mismatch(_)), "{err:?}");
}

#[tokio::test]
async fn truncated_full_stat_is_a_decode_error() {
    let (_task, addr) = raw_server(scripted(|s| {
        let mut bytes = full_stat_bytes(s, SHUFFLED, &["alice"]);
        bytes.truncate(bytes.len() - 4);
        bytes
    }))
    .await;
    let err = query::full(addr, &opts(3000)).await.expect_err("truncated");
    assert!(
        matches!(err, NetError::Decode(DecodeError::UnexpectedEof { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_answer_type_is_a_decode_error() {
    // A handshake answer where the stat should be.
    let (_task, addr) = raw_server(scripted(|s| [&[9u8][..], s, b"7\0"].concat())).await;
    let err = query::full(addr, &opts(3000))
        .await
        .expect_err("wrong type");
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::UnexpectedPacketId {
                expected: 0,
                found: 9
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn huge_player_announcements_are_bounded() {
    // 70000 announced, 100 listed: the count is just a number.
    let names: Vec<String> = (0..100).map(|i| format!("p{i}")).collect();
    let (_task, addr) = raw_server(scripted(move |s| {
        let mut kv = SHUFFLED.to_vec();
        kv[2] = ("numplayers", "70000");
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        full_stat_bytes(s, &kv, &names)
    }))
    .await;
    let stat = query::full(addr, &opts(3000)).await.expect("full stat");
    assert_eq!((stat.online, stat.players.len()), (70000, 100));

    // 30000 names (as many as fit in one datagram) exceed the cap: a typed error.
    let (_task, addr) = raw_server(scripted(|s| {
        let mut bytes = full_stat_bytes(s, SHUFFLED, &[]);
        bytes.pop();
        for _ in 0..30_000 {
            bytes.extend_from_slice(b"x\0");
        }
        bytes.push(0);
        bytes
    }))
    .await;
    let err = query::full(addr, &opts(3000)).await.expect_err("too many");
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::InvalidField {
                field: "players",
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn datagram_over_max_frame_is_refused() {
    let (_task, addr) = raw_server(scripted(|s| full_stat_bytes(s, SHUFFLED, &["alice"]))).await;
    let small = ClientOptions {
        max_frame: 64,
        ..opts(3000)
    };
    let err = query::full(addr, &small).await.expect_err("too large");
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::FrameTooLarge { max: 64, .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn stopping_the_handle_stops_the_responder() {
    let (handle, addr) = responder(sample()).await;
    assert!(query::basic(addr, &opts(3000)).await.is_ok());
    handle.stop().await;
    let err = query::basic(addr, &opts(300)).await.expect_err("stopped");
    assert!(
        matches!(err, NetError::Timeout(_) | NetError::Connect(_)),
        "{err:?}"
    );
}

/// As for Bedrock: a closed UDP port (ICMP port unreachable on loopback) is
/// `Connect`, so callers (the CLI) move on to the next address as they do for TCP.
#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let socket = tokio::net::UdpSocket::bind(localhost())
        .await
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    drop(socket);
    let err = query::full(addr, &opts(3000))
        .await
        .expect_err("closed port");
    assert!(matches!(err, NetError::Connect(_)), "{err:?}");
}
