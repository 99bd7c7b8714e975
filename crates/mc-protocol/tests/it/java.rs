//! Java Server List Ping over TCP: our client against our responder, and against
//! hostile servers written here with raw sockets. Every failure must be a typed
//! error within the deadline.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mc_protocol::DecodeError;
use mc_protocol::java::frame::encode_frame;
use mc_protocol::java::status::{decode_favicon, favicon_data_url};
use mc_protocol::java::{
    FrameDecoder, HandshakeC2s, JavaPlayers, JavaStatus, JavaVersion, NextState, Packet,
    PingRequestC2s, PlayerSample, PongResponseS2c, StatusRequestC2s, StatusResponseS2c,
};
use mc_protocol::net::java::{JavaOptions, JavaResponder, LatencyFrom, status, status_with};
use mc_protocol::net::{ClientOptions, NetError};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50,
    0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn opts(secs: f64) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs_f64(secs),
        ..ClientOptions::default()
    }
}

fn sample_status() -> JavaStatus {
    let mut status = JavaStatus {
        version: Some(JavaVersion {
            name: "mcstat 1.21".into(),
            protocol: 767,
        }),
        players: Some(JavaPlayers {
            max: 20,
            online: 2,
            sample: Some(vec![
                PlayerSample {
                    name: "Alex".into(),
                    id: "ec561538-f3fd-461d-aff5-086b22154bce".into(),
                },
                PlayerSample {
                    name: "Steve".into(),
                    id: "8667ba71-b85a-4004-af54-457a9734eed7".into(),
                },
            ]),
        }),
        description: json!({"text": "Hello ", "extra": [{"text": "world", "color": "#55FF55"}]}),
        favicon: Some(favicon_data_url(PNG)),
        enforces_secure_chat: Some(false),
        ..JavaStatus::default()
    };
    status
        .extra
        .insert("customField".into(), json!({"nested": [1, 2, 3]}));
    status
}

async fn responder(reply: impl Fn() -> String + Send + Sync + 'static) -> (SocketAddr, impl Drop) {
    let r = JavaResponder::bind(local(), move |_: &HandshakeC2s| reply())
        .await
        .expect("bind");
    let handle = r.spawn();
    (handle.local_addr(), handle)
}

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A server that accepts one connection and runs `script` on it.
async fn hostile<F, Fut>(script: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind(local()).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            script(stream).await;
        }
    });
    addr
}

/// Reads the client's handshake and status request (so the client has sent them).
async fn read_request(stream: &mut TcpStream, decoder: &mut FrameDecoder) {
    let handshake = next_frame(stream, decoder).await;
    let hs = HandshakeC2s::from_frame(&handshake).expect("handshake");
    assert_eq!(hs.next_state, NextState::Status);
    StatusRequestC2s::from_frame(&next_frame(stream, decoder).await).expect("status request");
}

async fn next_frame(
    stream: &mut TcpStream,
    decoder: &mut FrameDecoder,
) -> mc_protocol::java::Frame {
    let mut buf = [0u8; 1024];
    loop {
        if let Some(f) = decoder.try_next_frame().expect("client frames are valid") {
            return f;
        }
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "client closed early");
        decoder.queue_bytes(&buf[..n]);
    }
}

fn status_frame(json: &str) -> Vec<u8> {
    StatusResponseS2c { json: json.into() }.to_frame_bytes()
}

#[tokio::test]
async fn our_client_against_our_responder() {
    let seen = Arc::new(Mutex::new(None));
    let seen2 = Arc::clone(&seen);
    let expected = sample_status();
    let status_for_responder = expected.clone();
    let r = JavaResponder::bind(local(), move |h: &HandshakeC2s| {
        *seen2.lock().expect("lock") = Some(h.clone());
        status_for_responder.clone()
    })
    .await
    .expect("bind");
    let handle = r.spawn();

    let reply = status(handle.local_addr(), "mc.example.org", 25565, &opts(3.0))
        .await
        .expect("status");
    assert_eq!(reply.status, expected);
    assert_eq!(JavaStatus::from_json(&reply.json), Ok(expected.clone()));
    let latency = reply.latency.expect("latency");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    assert_eq!(
        reply.status.extra["customField"],
        json!({"nested": [1, 2, 3]})
    );
    assert_eq!(reply.status.favicon_png(), Some(Ok(PNG.to_vec())));
    assert_eq!(reply.status.sample_names(), ["Alex", "Steve"]);
    assert_eq!(
        reply.status.description["extra"][0]["color"],
        json!("#55FF55")
    );
    let hs = seen.lock().expect("lock").clone().expect("handshake seen");
    assert_eq!(hs.server_address, "mc.example.org");
    assert_eq!(hs.server_port, 25565);
    assert_eq!(hs.protocol_version, HandshakeC2s::PROTOCOL_ANY);
    assert_eq!(
        decode_favicon(reply.status.favicon.as_deref().expect("favicon")),
        Ok(PNG.to_vec())
    );

    // The responder serves many clients, one after the other and at once.
    let addr = handle.local_addr();
    let many = (0..8).map(|_| tokio::spawn(async move { status(addr, "h", 1, &opts(3.0)).await }));
    for task in many {
        let reply = task.await.expect("join").expect("status");
        assert_eq!(reply.status.players.map(|p| p.online), Some(2));
    }
}

#[tokio::test]
async fn responder_serves_raw_json_and_invalid_json_is_typed() {
    let (addr, _h) = responder(|| r#"{"description":"raw","x":1}"#.to_owned()).await;
    let reply = status(addr, "h", 1, &opts(2.0)).await.expect("status");
    assert_eq!(reply.json, r#"{"description":"raw","x":1}"#);
    assert_eq!(reply.status.extra["x"], 1);

    let (addr, _h) = responder(|| "{not json".to_owned()).await;
    let err = status(addr, "h", 1, &opts(2.0)).await.expect_err("invalid");
    assert!(
        matches!(err, NetError::Decode(DecodeError::InvalidJson(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn responder_survives_garbage_and_login() {
    let (addr, _h) = responder(|| r#"{"description":"ok"}"#.to_owned()).await;
    // Garbage: a 2 GiB length prefix; the responder closes the connection at once.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&[0xff, 0xff, 0xff, 0xff, 0x07])
        .await
        .expect("write");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("closed promptly");
    assert!(matches!(n, Ok(0) | Err(_)));
    // A sixth VarInt byte, then random bytes.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0xde, 0xad])
        .await
        .expect("write");
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("closed promptly");
    assert!(matches!(n, Ok(0) | Err(_)));
    // A login handshake is not answered.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let login = HandshakeC2s {
        next_state: NextState::Login,
        ..HandshakeC2s::status(767, "h", 1)
    };
    s.write_all(&login.to_frame_bytes()).await.expect("write");
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("closed promptly");
    assert!(matches!(n, Ok(0) | Err(_)));
    // Still serving.
    let reply = status(addr, "h", 1, &opts(2.0)).await.expect("status");
    assert_eq!(reply.status.description, json!("ok"));
}

#[tokio::test]
async fn responder_closes_stalled_clients_and_answers_a_bare_ping() {
    let r = JavaResponder::bind(local(), |_: &HandshakeC2s| "{}")
        .await
        .expect("bind")
        .with_timeout(Duration::from_millis(300));
    let handle = r.spawn();
    let addr = handle.local_addr();
    // A client that says nothing is dropped at the per-connection deadline.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let start = Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf))
        .await
        .expect("closed by the responder");
    assert!(matches!(n, Ok(0) | Err(_)));
    assert!(start.elapsed() < Duration::from_secs(2));
    // Handshake then a ping without a status request: answered like vanilla.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut wire = HandshakeC2s::status(-1, "h", 1).to_frame_bytes();
    PingRequestC2s { payload: 99 }.encode(&mut wire);
    s.write_all(&wire).await.expect("write");
    let mut d = FrameDecoder::new();
    let pong = PongResponseS2c::from_frame(&next_frame(&mut s, &mut d).await).expect("pong");
    assert_eq!(pong.payload, 99);
    handle.abort();
}

async fn assert_timeout_within(addr: SocketAddr, deadline: f64) {
    let start = Instant::now();
    let err = status(addr, "h", 1, &opts(deadline))
        .await
        .expect_err("must time out");
    let elapsed = start.elapsed();
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    assert!(
        elapsed < Duration::from_secs_f64(deadline + 0.5),
        "took {elapsed:?} for a {deadline}s deadline"
    );
}

#[tokio::test]
async fn stalled_server_times_out() {
    let addr = hostile(|mut s| async move {
        // Accepts and reads, never writes.
        let mut buf = [0u8; 256];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    assert_timeout_within(addr, 1.0).await;
}

#[tokio::test]
async fn one_byte_per_second_server_times_out() {
    let addr = hostile(|mut s| async move {
        let frame = status_frame(r#"{"description":"slow"}"#);
        for b in frame {
            if s.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    assert_timeout_within(addr, 1.5).await;
}

async fn decode_error_from(wire: Vec<u8>) -> (NetError, Duration) {
    let addr = hostile(move |mut s| async move {
        let _ = s.write_all(&wire).await;
        // Keep the connection open: the client must fail on the bytes alone.
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let start = Instant::now();
    let err = status(addr, "h", 1, &opts(3.0))
        .await
        .expect_err("must fail");
    (err, start.elapsed())
}

#[tokio::test]
async fn two_gib_length_prefix_fails_fast() {
    let (err, elapsed) = decode_error_from(vec![0xff, 0xff, 0xff, 0xff, 0x07]).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::FrameTooLarge {
                size: 0x7fff_ffff,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
}

#[tokio::test]
async fn sixth_varint_byte_is_refused() {
    let (err, elapsed) = decode_error_from(vec![0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).await;
    assert!(
        matches!(err, NetError::Decode(DecodeError::VarIntTooLong { max: 5 })),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
}

#[tokio::test]
async fn invalid_utf8_json_is_refused() {
    let mut wire = Vec::new();
    encode_frame(0x00, &[0x03, b'{', 0xff, b'}'], &mut wire);
    let (err, _) = decode_error_from(wire).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::InvalidText { encoding: "UTF-8" })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_json_is_refused() {
    let (err, _) = decode_error_from(status_frame(r#"{"version":"#)).await;
    assert!(
        matches!(err, NetError::Decode(DecodeError::InvalidJson(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_packet_id_is_refused() {
    let (err, _) = decode_error_from(PongResponseS2c { payload: 1 }.to_frame_bytes()).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::UnexpectedPacketId {
                expected: 0,
                found: 1
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_pong_is_a_mismatch() {
    let addr = hostile(|mut s| async move {
        let mut d = FrameDecoder::new();
        read_request(&mut s, &mut d).await;
        s.write_all(&status_frame("{}")).await.expect("write");
        let ping = PingRequestC2s::from_frame(&next_frame(&mut s, &mut d).await).expect("ping");
        let pong = PongResponseS2c {
            payload: ping.payload.wrapping_add(1),
        };
        s.write_all(&pong.to_frame_bytes()).await.expect("write");
    })
    .await;
    let err = status(addr, "h", 1, &opts(2.0))
        .await
        .expect_err("mismatch");
    assert!(matches!(err, NetError::Mismatch(_)), "{err:?}");
}

#[tokio::test]
async fn second_packet_after_status_does_not_corrupt_it() {
    let addr = hostile(|mut s| async move {
        let mut d = FrameDecoder::new();
        read_request(&mut s, &mut d).await;
        // Status and a second packet in one write, as some modded servers do.
        let mut wire = status_frame(r#"{"description":"first"}"#);
        wire.extend_from_slice(&status_frame(r#"{"description":"second"}"#));
        s.write_all(&wire).await.expect("write");
        let ping = PingRequestC2s::from_frame(&next_frame(&mut s, &mut d).await).expect("ping");
        s.write_all(
            &PongResponseS2c {
                payload: ping.payload,
            }
            .to_frame_bytes(),
        )
        .await
        .expect("write");
    })
    .await;
    let reply = status(addr, "h", 1, &opts(2.0)).await.expect("status");
    assert_eq!(reply.status.description, json!("first"));
    assert!(
        reply.latency.is_some(),
        "the pong after the extra packet counts"
    );
}

#[tokio::test]
async fn status_without_pong_has_no_latency() {
    // Closes after the status.
    let addr = hostile(|mut s| async move {
        let mut d = FrameDecoder::new();
        read_request(&mut s, &mut d).await;
        s.write_all(&status_frame(r#"{"description":"no pong"}"#))
            .await
            .expect("write");
    })
    .await;
    let reply = status(addr, "h", 1, &opts(2.0)).await.expect("status");
    assert_eq!(reply.status.description, json!("no pong"));
    assert_eq!(reply.latency, None);

    // Stalls after the status: the status comes back at the deadline.
    let addr = hostile(|mut s| async move {
        let mut d = FrameDecoder::new();
        read_request(&mut s, &mut d).await;
        s.write_all(&status_frame("{}")).await.expect("write");
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let start = Instant::now();
    let reply = status(addr, "h", 1, &opts(1.0)).await.expect("status");
    assert_eq!(reply.latency, None);
    assert!(start.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn without_ping_latency_is_the_status_round_trip() {
    // The server stalls after the status and records whether anything else came:
    // without a ping the client closes at once, and its latency is still measured.
    let (after_tx, after_rx) = tokio::sync::oneshot::channel();
    let addr = hostile(|mut s| async move {
        let mut d = FrameDecoder::new();
        read_request(&mut s, &mut d).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.write_all(&status_frame(r#"{"description":"light"}"#))
            .await
            .expect("write");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut rest)).await;
        let _ = after_tx.send(read.map(|r| r.map(|_| rest.len()).ok()));
    })
    .await;
    let java = JavaOptions::default().without_ping();
    assert_eq!(java.latency, LatencyFrom::StatusRoundTrip);
    let start = Instant::now();
    let reply = status_with(addr, "h", 1, &opts(3.0), java)
        .await
        .expect("status");
    assert_eq!(reply.status.description, json!("light"));
    let latency = reply.latency.expect("a round trip");
    assert!(latency >= Duration::from_millis(20), "{latency:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "did not wait for a pong"
    );
    // The client closed the connection without sending a ping.
    assert_eq!(after_rx.await.expect("server ran"), Ok(Some(0)));

    // Against our responder, with the protocol version announced.
    let seen = Arc::new(Mutex::new(None));
    let seen2 = Arc::clone(&seen);
    let r = JavaResponder::bind(local(), move |h: &HandshakeC2s| {
        *seen2.lock().expect("lock") = Some(h.protocol_version);
        sample_status()
    })
    .await
    .expect("bind");
    let handle = r.spawn();
    let java = JavaOptions {
        protocol_version: 767,
        latency: LatencyFrom::StatusRoundTrip,
    };
    let reply = status_with(handle.local_addr(), "h", 1, &opts(3.0), java)
        .await
        .expect("status");
    assert_eq!(reply.status, sample_status());
    assert!(reply.latency.is_some());
    assert_eq!(*seen.lock().expect("lock"), Some(767));
}

#[tokio::test]
async fn closed_before_status_and_refused_connection() {
    let addr = hostile(|s| async move { drop(s) }).await;
    let err = status(addr, "h", 1, &opts(2.0)).await.expect_err("closed");
    assert!(matches!(err, NetError::Closed | NetError::Io(_)), "{err:?}");

    // Nothing listens on a port we just released.
    let addr = {
        let l = TcpListener::bind(local()).await.expect("bind");
        l.local_addr().expect("addr")
    };
    let err = status(addr, "h", 1, &opts(2.0)).await.expect_err("refused");
    assert!(matches!(err, NetError::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn frame_limit_from_options() {
    let (addr, _h) = responder(|| format!(r#"{{"description":"{}"}}"#, "x".repeat(5000))).await;
    let small = ClientOptions {
        max_frame: 1024,
        ..opts(2.0)
    };
    let err = status(addr, "h", 1, &small).await.expect_err("too large");
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::FrameTooLarge { max: 1024, .. })
        ),
        "{err:?}"
    );
    let reply = status(addr, "h", 1, &opts(2.0))
        .await
        .expect("default fits");
    assert_eq!(reply.json.len(), 5000 + 18);
}

/// `Duration::MAX` ("no practical deadline") must not overflow the deadline
/// arithmetic: every other client accepts it through `with_deadline`.
#[tokio::test]
async fn huge_timeout_does_not_overflow() {
    let (addr, _handle) = responder(|| sample_status().to_json()).await;
    let opts = ClientOptions {
        timeout: Duration::MAX,
        ..ClientOptions::default()
    };
    let reply = status(addr, "localhost", addr.port(), &opts)
        .await
        .expect("status");
    assert_eq!(reply.status, sample_status());
    assert!(reply.latency.is_some());
}

/// "No cap" spelled `usize::MAX` must not panic the responder's task (tokio's
/// semaphore has a smaller maximum).
#[tokio::test]
async fn responder_accepts_any_connection_cap() {
    let json = sample_status().to_json();
    let handle = JavaResponder::bind(local(), move |_: &HandshakeC2s| json.clone())
        .await
        .expect("bind")
        .with_max_connections(usize::MAX)
        .spawn();
    let addr = handle.local_addr();
    let reply = status(addr, "localhost", addr.port(), &opts(2.0))
        .await
        .expect("status");
    assert_eq!(reply.status, sample_status());
}

/// The connection cap holds: with one slot taken by an idle client, a second client
/// is not served until the first one leaves.
#[tokio::test]
async fn responder_connection_cap_holds() {
    let json = sample_status().to_json();
    let handle = JavaResponder::bind(local(), move |_: &HandshakeC2s| json.clone())
        .await
        .expect("bind")
        .with_max_connections(1)
        .spawn();
    let addr = handle.local_addr();
    let idle = TcpStream::connect(addr).await.expect("connect");
    // The listen backlog is FIFO: the idle connection is accepted first and takes
    // the only permit, whenever the responder gets to it.
    let err = status(addr, "localhost", addr.port(), &opts(0.3))
        .await
        .expect_err("the only slot is taken");
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    drop(idle);
    let reply = status(addr, "localhost", addr.port(), &opts(2.0))
        .await
        .expect("served once the slot is free");
    assert_eq!(reply.status, sample_status());
}
