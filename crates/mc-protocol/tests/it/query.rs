//! Query: our client against our responder, the responder against raw requests, and
//! the client against hostile servers written here with raw UDP sockets.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mc_protocol::DecodeError;
use mc_protocol::net::query::{self, QueryResponder};
use mc_protocol::net::{ClientOptions, NetError, RESEND_FIRST};
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
    // Type 5 where the stat should be. (A handshake answer there is a late one for a
    // resent handshake: see `a_server_answering_with_new_tokens_cannot_make_the_client_loop`.)
    let (_task, addr) = raw_server(scripted(|s| [&[5u8][..], s, b"7\0"].concat())).await;
    let err = query::full(addr, &opts(3000))
        .await
        .expect_err("wrong type");
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::UnexpectedPacketId {
                expected: 0,
                found: 5
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

// ---------------------------------------------------------------------------------
// Lost, late and duplicate datagrams

/// Every request a test peer received, in order.
type Requests = Arc<Mutex<Vec<Vec<u8>>>>;

/// The packet types of the requests received (`9` handshake, `0` stat).
fn types(requests: &Requests) -> Vec<u8> {
    let requests = requests.lock().expect("lock");
    requests
        .iter()
        .map(|r| r.get(2).copied().unwrap_or(0xFF))
        .collect()
}

/// A test peer between the client and `upstream` (our responder): forwards every
/// request, except those `drop(type, how many of that type came before)` says to drop,
/// and sends every answer back `copies` times.
async fn lossy_proxy(
    upstream: SocketAddr,
    drop: impl Fn(u8, usize) -> bool + Send + 'static,
    copies: usize,
) -> (tokio::task::JoinHandle<()>, SocketAddr, Requests) {
    let front = UdpSocket::bind(localhost()).await.expect("bind");
    let addr = front.local_addr().expect("addr");
    let back = UdpSocket::bind(localhost()).await.expect("bind");
    back.connect(upstream).await.expect("connect");
    let requests = Requests::default();
    let seen = requests.clone();
    let task = tokio::spawn(async move {
        let (mut request, mut answer) = (vec![0u8; 1024], vec![0u8; 65_536]);
        let mut client = None;
        loop {
            tokio::select! {
                received = front.recv_from(&mut request) => {
                    let Ok((n, peer)) = received else { continue };
                    client = Some(peer);
                    let request = &request[..n];
                    let kind = request.get(2).copied().unwrap_or(0xFF);
                    let before = types(&seen).iter().filter(|&&t| t == kind).count();
                    seen.lock().expect("lock").push(request.to_vec());
                    if !drop(kind, before) {
                        let _ = back.send(request).await;
                    }
                }
                received = back.recv(&mut answer) => {
                    let (Ok(n), Some(client)) = (received, client) else { continue };
                    for _ in 0..copies {
                        let _ = front.send_to(&answer[..n], client).await;
                    }
                }
            }
        }
    });
    (task, addr, requests)
}

#[tokio::test]
async fn lost_handshake_and_stat_request_are_resent() {
    let (_handle, upstream) = responder(sample()).await;
    // The first handshake and the first stat request are lost.
    let (_proxy, addr, requests) = lossy_proxy(upstream, |_, before| before == 0, 1).await;
    let started = Instant::now();
    let stat = query::full(addr, &opts(5000)).await.expect("full stat");
    let took = started.elapsed();
    assert_eq!(stat, sample());
    assert_eq!(types(&requests), [9, 9, 0, 0]);
    // One retransmission timeout per lost request, far from the deadline.
    assert!(took >= 2 * RESEND_FIRST, "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn duplicate_answers_do_not_confuse_the_client() {
    let (_handle, upstream) = responder(sample()).await;
    // Every answer arrives twice; the first handshake is lost as well, so two
    // handshakes are answered (with the same token, four answers in all).
    let (_proxy, addr, requests) =
        lossy_proxy(upstream, |t, before| t == 9 && before == 0, 2).await;
    let stat = query::basic(addr, &opts(5000)).await.expect("basic stat");
    assert_eq!(stat, sample().basic());
    let (_proxy, addr, _) = lossy_proxy(upstream, |_, _| false, 2).await;
    let stat = query::full(addr, &opts(5000)).await.expect("full stat");
    assert_eq!(stat, sample());
    assert_eq!(types(&requests), [9, 9, 0]);
}

#[tokio::test]
async fn a_peer_that_drops_everything_fails_at_the_deadline() {
    let requests = Requests::default();
    let seen = requests.clone();
    let (_task, addr) = raw_server(move |r| {
        seen.lock().expect("lock").push(r.to_vec());
        None
    })
    .await;
    let started = Instant::now();
    let err = query::full(addr, &opts(1200)).await.expect_err("no answer");
    let took = started.elapsed();
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    assert!(took >= Duration::from_millis(1200), "{took:?}");
    assert!(took < Duration::from_millis(1700), "{took:?}");
    // Sent at 0, 250 ms and 750 ms; the next one (1750 ms) is past the deadline.
    assert_eq!(types(&requests), [9, 9, 9]);
}

/// A peer that hands out challenge tokens like vanilla: a new one (1, 2, ...) for
/// every handshake, and a stat request is answered only with the latest. It stalls
/// `stall` before handling the first handshake (the client resends meanwhile), and
/// with `forget_first` it forgets token 1 right after issuing it (vanilla drops every
/// token every 30 s).
async fn vanilla_peer(
    stall: Duration,
    forget_first: bool,
) -> (tokio::task::JoinHandle<()>, SocketAddr, Requests) {
    let socket = UdpSocket::bind(localhost()).await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    let requests = Requests::default();
    let seen = requests.clone();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        let (mut issued, mut valid) = (0i32, None);
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let request = buf[..n].to_vec();
            seen.lock().expect("lock").push(request.clone());
            let Some(session) = request.get(3..7) else {
                continue;
            };
            let answer = match request[2] {
                9 => {
                    if issued == 0 {
                        tokio::time::sleep(stall).await;
                    }
                    issued += 1;
                    valid = (issued > 1 || !forget_first).then_some(issued);
                    [&[9u8][..], session, format!("{issued}\0").as_bytes()].concat()
                }
                _ => {
                    let token = request
                        .get(7..11)
                        .map(|t| i32::from_be_bytes(t.try_into().expect("4")));
                    if token.is_none() || token != valid {
                        continue;
                    }
                    full_stat_bytes(session, SHUFFLED, &["alice"])
                }
            };
            let _ = socket.send_to(&answer, peer).await;
        }
    });
    (task, addr, requests)
}

fn stat_tokens(requests: &Requests) -> Vec<i32> {
    let requests = requests.lock().expect("lock");
    requests
        .iter()
        .filter(|r| r.get(2) == Some(&0))
        .filter_map(|r| Some(i32::from_be_bytes(r.get(7..11)?.try_into().ok()?)))
        .collect()
}

#[tokio::test]
async fn a_newer_token_for_a_resent_handshake_is_used_at_once() {
    // The first handshake's answer comes late, after the client resent it: two answers,
    // tokens 1 and 2, and the server accepts only 2 by then.
    let (_task, addr, requests) = vanilla_peer(Duration::from_millis(400), false).await;
    let started = Instant::now();
    let stat = query::full(addr, &opts(5000)).await.expect("full stat");
    let took = started.elapsed();
    assert_eq!(stat.players, ["alice"]);
    assert_eq!(&types(&requests)[..2], [9, 9]);
    // The request with token 2 left as soon as its handshake answer came, not after a
    // retransmission timeout of the (refused) request with token 1.
    assert_eq!(&stat_tokens(&requests)[..2], [1, 2]);
    assert!(took < Duration::from_millis(400) + RESEND_FIRST, "{took:?}");
}

#[tokio::test]
async fn a_forgotten_token_gets_a_new_handshake() {
    let (_task, addr, requests) = vanilla_peer(Duration::ZERO, true).await;
    let started = Instant::now();
    let stat = query::full(addr, &opts(5000)).await.expect("full stat");
    let took = started.elapsed();
    assert_eq!(stat.players, ["alice"]);
    // Three unanswered stat requests (0, 250, 750 ms), then a handshake (1750 ms).
    assert_eq!(types(&requests), [9, 0, 0, 0, 9, 0]);
    assert_eq!(stat_tokens(&requests), [1, 1, 1, 2]);
    assert!(took >= Duration::from_millis(1750), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[tokio::test]
async fn a_server_answering_with_new_tokens_cannot_make_the_client_loop() {
    // Every stat request gets a handshake answer with a new token, never a stat.
    let requests = Requests::default();
    let seen = requests.clone();
    let (_task, addr) = raw_server(move |r| {
        let mut seen = seen.lock().expect("lock");
        seen.push(r.to_vec());
        let token = format!("{}\0", seen.len());
        Some([&[9u8][..], r.get(3..7)?, token.as_bytes()].concat())
    })
    .await;
    let err = query::full(addr, &opts(1000)).await.expect_err("no stat");
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    // One handshake, one token taken; the stat request is only resent on the schedule
    // (0, 250, 750 ms).
    assert_eq!(types(&requests), [9, 0, 0, 0]);
}

#[tokio::test]
async fn a_duplicated_late_token_does_not_hide_the_newer_one() {
    // The first handshake's answer is late (the client resends), and the network
    // delivers every answer twice: token 1, token 1 again, then token 2, which is the
    // only one a vanilla server still accepts.
    let (_task, upstream, _) = vanilla_peer(Duration::from_millis(400), false).await;
    let (_proxy, addr, requests) = lossy_proxy(upstream, |_, _| false, 2).await;
    let started = Instant::now();
    let stat = query::full(addr, &opts(5000)).await.expect("full stat");
    let took = started.elapsed();
    assert_eq!(stat.players, ["alice"]);
    assert_eq!(&types(&requests)[..2], [9, 9]);
    // No third handshake: the newer token was used at once.
    assert!(
        took < Duration::from_millis(400) + RESEND_FIRST,
        "{took:?} {:?}",
        types(&requests)
    );
}
