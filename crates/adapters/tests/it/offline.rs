//! Offline outcomes: refused, timeout within the deadline, invalid answer, not found.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use mcstat_adapters::NetworkSource;
use mcstat_core::ports::StatusSource;
use mcstat_core::{OfflineReason, StatusOutcome, Target, TargetPolicy};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::dns::Dnsmasq;
use crate::util::{NOW, clock, closed_tcp_port, free_udp_port, literal_source, loopback, options};

fn offline_reason(outcome: StatusOutcome, expected_target: &Target) -> OfflineReason {
    match outcome {
        StatusOutcome::Offline {
            target,
            reason,
            taken_at,
        } => {
            assert_eq!(&target, expected_target);
            assert_eq!(taken_at, NOW);
            reason
        }
        online @ StatusOutcome::Online(_) => panic!("expected offline, got {online:?}"),
    }
}

#[tokio::test]
async fn closed_port_is_refused() {
    let port = closed_tcp_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t: Target = format!("127.0.0.1:{port}").parse().expect("target");
    let reason = offline_reason(source.status(&t).await.expect("status"), &t);
    assert_eq!(reason, OfflineReason::Refused);
    // And for Bedrock: the host reports the UDP port closed.
    let port = free_udp_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let t: Target = format!("bedrock:127.0.0.1:{port}").parse().expect("target");
    let reason = offline_reason(source.status(&t).await.expect("status"), &t);
    assert_eq!(reason, OfflineReason::Refused);
}

#[tokio::test]
async fn stalled_server_times_out_within_the_deadline() {
    // Accepts and holds every connection, never says a word.
    let listener = TcpListener::bind(loopback(0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let deadline = Duration::from_millis(600);
    let source = literal_source(TargetPolicy::with_loopback(), deadline);
    let t: Target = addr.to_string().parse().expect("target");
    let started = Instant::now();
    let reason = offline_reason(source.status(&t).await.expect("status"), &t);
    let took = started.elapsed();
    assert_eq!(reason, OfflineReason::Timeout { after_ms: 600 });
    // One deadline for the whole lookup: generous margin, upper bound only.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    holder.abort();
}

#[tokio::test]
async fn garbage_is_an_invalid_answer_after_trying_legacy() {
    let listener = TcpListener::bind(loopback(0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let mut connections = 0usize;
        while let Ok((mut stream, _)) = listener.accept().await {
            connections += 1;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            drop(stream);
            if connections == 2 {
                break;
            }
        }
        connections
    });
    let source = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(5));
    let t: Target = addr.to_string().parse().expect("target");
    let reason = offline_reason(source.status(&t).await.expect("status"), &t);
    match reason {
        OfflineReason::InvalidAnswer { detail } => assert!(!detail.is_empty()),
        other => panic!("expected an invalid answer, got {other:?}"),
    }
    // The modern ping, then the legacy one.
    let connections = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server done")
        .expect("server task");
    assert_eq!(connections, 2);
}

#[tokio::test]
async fn unknown_name_is_not_found() {
    let dns = Dnsmasq::start(1).await;
    let source = NetworkSource::with_nameserver(
        TargetPolicy::with_loopback(),
        options(Duration::from_secs(5)),
        dns.addr,
        clock(),
    )
    .expect("source");
    for text in ["nosuch.test", "nosuch.test:25565", "bedrock:nosuch.test"] {
        let t: Target = text.parse().expect("target");
        let reason = offline_reason(source.status(&t).await.expect("status"), &t);
        assert_eq!(reason, OfflineReason::NotFound, "{text}");
        assert_eq!(source.players(&t).await.expect("players"), None, "{text}");
    }
    dns.stop().await;
}

#[tokio::test]
async fn an_unbounded_deadline_is_accepted() {
    // `Duration::MAX` means "no practical deadline", not an overflow panic.
    let port = closed_tcp_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let source = literal_source(TargetPolicy::with_loopback(), Duration::MAX);
    let t: Target = format!("127.0.0.1:{port}").parse().expect("target");
    let reason = offline_reason(source.status(&t).await.expect("status"), &t);
    assert_eq!(reason, OfflineReason::Refused);
}
