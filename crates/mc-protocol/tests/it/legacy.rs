//! Legacy ping: our client against our responder in every form, and both against
//! hostile peers written here with raw sockets.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mc_protocol::DecodeError;
use mc_protocol::legacy::{
    LegacyForm, LegacyKickS2c, LegacyPingC2s, LegacyStatus, LegacyVersion, PingHost,
};
use mc_protocol::net::legacy::{LegacyResponder, LegacyResponderHandle, status, status_timed};
use mc_protocol::net::{ClientOptions, NetError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn opts(timeout_ms: u64) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(timeout_ms),
        ..ClientOptions::default()
    }
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

/// A responder that records every request it answers.
async fn recording_responder() -> (LegacyResponderHandle, Arc<Mutex<Vec<LegacyPingC2s>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let responder = LegacyResponder::bind_with(localhost(), move |request| {
        log.lock().expect("lock").push(request.clone());
        sample()
    })
    .await
    .expect("bind");
    (responder.spawn(), seen)
}

#[tokio::test]
async fn every_form_against_our_responder() {
    let (responder, seen) = recording_responder().await;
    let addr = responder.local_addr();
    let beta = status(addr, "mc.example", 25565, LegacyForm::Beta, &opts(3000))
        .await
        .expect("beta");
    assert_eq!(
        beta,
        LegacyStatus {
            version: None,
            ..sample()
        }
    );
    for form in [LegacyForm::V1_4, LegacyForm::V1_6] {
        let reply = status_timed(addr, "mc.example", 25570, form, &opts(3000))
            .await
            .expect("status");
        assert_eq!(reply.status, sample(), "{form:?}");
        assert!(reply.latency < Duration::from_secs(3));
    }
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(
        seen,
        [
            LegacyPingC2s::Beta,
            LegacyPingC2s::V1_4,
            LegacyPingC2s::V1_6(Some(PingHost {
                protocol_version: 78,
                hostname: "mc.example".into(),
                port: 25570,
            })),
        ]
    );
}

#[tokio::test]
async fn beta_motd_with_section_signs_survives() {
    let status_in = LegacyStatus {
        version: None,
        motd: "§6Gold§r and §1blue §".into(),
        online: 0,
        max: 5,
    };
    let responder = LegacyResponder::bind(localhost(), status_in.clone())
        .await
        .expect("bind")
        .spawn();
    let got = status(
        responder.local_addr(),
        "h",
        1,
        LegacyForm::Beta,
        &opts(3000),
    )
    .await
    .expect("status");
    assert_eq!(got, status_in);
    // The same status asked in 1.4 form gets a default version.
    let got = status(
        responder.local_addr(),
        "h",
        1,
        LegacyForm::V1_4,
        &opts(3000),
    )
    .await
    .expect("status");
    assert_eq!(got.version, Some(LegacyVersion::default()));
    assert_eq!(got.motd, status_in.motd);
}

/// Sends `request` raw and reads the whole answer until the responder closes.
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), async {
        // Read until the responder half-closes; then close our side.
        let mut buf = [0u8; 1024];
        loop {
            // A reset after the answer ends the exchange like a close does.
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("responder answers and closes");
    answer
}

#[tokio::test]
async fn responder_answers_sloppy_clients_in_the_1_4_format() {
    let (responder, seen) = recording_responder().await;
    let addr = responder.local_addr();
    // mcstatus sends a bare FE 01 FA; minecraft-server-util a malformed plugin
    // message (UTF-8 text, u16 port).
    let util = hex::decode(
        "fe01fa000b4d437c50696e67486f73740010 4a00093132372e302e302e3163dd".replace(' ', ""),
    )
    .expect("hex");
    for request in [hex::decode("fe01fa").expect("hex"), util] {
        let answer = raw_exchange(addr, &request).await;
        let kick = LegacyKickS2c::decode(&answer).expect("one kick packet");
        assert!(kick.reason.starts_with("§1\0"), "{:?}", kick.reason);
        assert_eq!(kick.status(), Ok(sample()));
    }
    assert_eq!(
        *seen.lock().expect("lock"),
        [LegacyPingC2s::V1_6(None), LegacyPingC2s::V1_6(None)]
    );
}

#[tokio::test]
async fn responder_ignores_what_is_not_a_legacy_ping() {
    let (responder, seen) = recording_responder().await;
    // A modern handshake starts with a length VarInt, not FE.
    let answer = raw_exchange(responder.local_addr(), &[0x10, 0x00, 0xff]).await;
    assert!(answer.is_empty());
    // FE followed by a byte that no client sends.
    let answer = raw_exchange(responder.local_addr(), &[0xfe, 0x07]).await;
    assert!(answer.is_empty());
    assert!(seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn responder_bounds_a_flood_and_still_answers() {
    let (responder, _) = recording_responder().await;
    // A well-formed channel, then an endless stream: the responder decides from the
    // oversized data length, answers, and discards the rest.
    let mut stream = TcpStream::connect(responder.local_addr())
        .await
        .expect("connect");
    let mut request =
        hex::decode("fe01fa000b004d0043007c00500069006e00670048006f00730074ffff").expect("hex");
    request.extend_from_slice(&[0x41; 64 * 1024]);
    let (mut read, mut write) = stream.split();
    let writer = async {
        // The responder drains, so this whole write completes.
        write.write_all(&request).await.expect("write");
        write.shutdown().await.expect("shutdown");
    };
    let reader = async {
        let mut answer = Vec::new();
        read.read_to_end(&mut answer).await.expect("read");
        answer
    };
    let ((), answer) = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(writer, reader)
    })
    .await
    .expect("within the deadline");
    assert_eq!(
        LegacyKickS2c::decode(&answer).expect("kick").status(),
        Ok(sample())
    );
}

#[tokio::test]
async fn responder_drops_a_silent_client_at_its_deadline() {
    let responder = LegacyResponder::bind(localhost(), sample())
        .await
        .expect("bind")
        .with_timeout(Duration::from_millis(200))
        .spawn();
    let mut stream = TcpStream::connect(responder.local_addr())
        .await
        .expect("connect");
    let start = Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .expect("responder hangs up")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// A hostile server: accepts one connection, reads the request, writes `reply`, then
/// either keeps the connection open (`hold`) or closes it.
async fn hostile_server(reply: Vec<u8>, hold: bool) -> SocketAddr {
    let listener = TcpListener::bind(localhost()).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf).await;
        let _ = stream.write_all(&reply).await;
        if hold {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
    addr
}

async fn expect_error_within(addr: SocketAddr, o: ClientOptions, limit: Duration) -> NetError {
    let start = Instant::now();
    let err = status(addr, "h", 1, LegacyForm::V1_6, &o)
        .await
        .expect_err("hostile server");
    assert!(
        start.elapsed() < limit,
        "took {:?}: {err:?}",
        start.elapsed()
    );
    err
}

#[tokio::test]
async fn stalled_server_times_out_within_the_deadline() {
    let addr = hostile_server(Vec::new(), true).await;
    let err = expect_error_within(addr, opts(300), Duration::from_secs(2)).await;
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn huge_kick_length_without_body() {
    // Held open: the client waits for 128 KiB that never come, until its deadline.
    let addr = hostile_server(vec![0xff, 0xff, 0xff], true).await;
    let err = expect_error_within(addr, opts(300), Duration::from_secs(2)).await;
    assert!(matches!(err, NetError::Timeout(_)), "{err:?}");
    // Closed: the client notices at once.
    let addr = hostile_server(vec![0xff, 0xff, 0xff], false).await;
    let err = expect_error_within(addr, opts(3000), Duration::from_secs(2)).await;
    assert!(matches!(err, NetError::Closed), "{err:?}");
    // Against a small frame limit: refused from the header alone.
    let addr = hostile_server(vec![0xff, 0xff, 0xff], true).await;
    let small = ClientOptions {
        max_frame: 1024,
        ..opts(3000)
    };
    let err = expect_error_within(addr, small, Duration::from_secs(2)).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::FrameTooLarge {
                size: 131_073,
                max: 1024
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_replies_are_typed_errors() {
    // Not a kick packet (a modern server's status frame).
    let addr = hostile_server(vec![0x05, 0x00, 0x03], false).await;
    let err = expect_error_within(addr, opts(3000), Duration::from_secs(2)).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::UnexpectedPacketId {
                expected: 0xff,
                found: 0x05
            })
        ),
        "{err:?}"
    );
    // A lone surrogate.
    let addr = hostile_server(vec![0xff, 0x00, 0x01, 0xd8, 0x00], false).await;
    let err = expect_error_within(addr, opts(3000), Duration::from_secs(2)).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::InvalidText {
                encoding: "UTF-16BE"
            })
        ),
        "{err:?}"
    );
    // Valid text, not a status: "§1\0x\0..." with a non-numeric protocol.
    let mut reply = Vec::new();
    LegacyKickS2c {
        reason: ["§1", "x", "1.6", "m", "0", "20"].join("\0"),
    }
    .encode(&mut reply);
    let addr = hostile_server(reply, false).await;
    let err = expect_error_within(addr, opts(3000), Duration::from_secs(2)).await;
    assert!(
        matches!(
            err,
            NetError::Decode(DecodeError::InvalidField {
                field: "protocol",
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let listener = TcpListener::bind(localhost()).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = expect_error_within(addr, opts(3000), Duration::from_secs(2)).await;
    assert!(matches!(err, NetError::Connect(_)), "{err:?}");
}
