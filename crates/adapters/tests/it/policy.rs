//! The target policy on real sockets: every resolved IP is checked right before
//! connecting, refused IPs are never contacted (a counting listener proves it), and a
//! lookup with no allowed IP is `SourceError::Policy`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mc_protocol::address::Edition;
use mc_protocol::java::JavaStatus;
use mc_protocol::net::java::JavaResponder;
use mcstat_adapters::NetworkSource;
use mcstat_core::policy::IpNet;
use mcstat_core::ports::{SourceError, StatusSource};
use mcstat_core::{Protocol, Target, TargetPolicy};

use crate::dns::Dnsmasq;
use crate::util::{CountingListener, clock, literal_source, loopback, online, options};

fn dns_source(dns: &Dnsmasq, policy: TargetPolicy) -> NetworkSource {
    NetworkSource::with_nameserver(policy, options(Duration::from_secs(3)), dns.addr, clock())
        .expect("source")
}

fn expect_policy(result: Result<impl std::fmt::Debug, SourceError>, ip: &str) {
    match result {
        Err(SourceError::Policy(violation)) => {
            assert_eq!(violation.ip, ip.parse::<IpAddr>().expect("ip"));
            assert_eq!(violation.kind, "loopback");
        }
        other => panic!("expected a policy refusal of {ip}, got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_literal_is_refused_by_default_and_allowed_on_request() {
    let listener = CountingListener::bind(loopback(0)).await;
    let t: Target = listener.addr.to_string().parse().expect("target");

    let strict = literal_source(TargetPolicy::public_only(), Duration::from_secs(3));
    expect_policy(strict.status(&t).await, "127.0.0.1");
    expect_policy(strict.players(&t).await, "127.0.0.1");
    let b: Target = format!("bedrock:{}", listener.addr)
        .parse()
        .expect("target");
    expect_policy(strict.status(&b).await, "127.0.0.1");
    let v6: Target = "[::1]:25565".parse().expect("target");
    match strict.status(&v6).await {
        Err(SourceError::Policy(v)) => assert_eq!(v.ip, "::1".parse::<IpAddr>().expect("ip")),
        other => panic!("expected a policy refusal, got {other:?}"),
    }
    assert_eq!(listener.accepted(), 0, "a refused address was contacted");

    // Control: the same lookup with loopback allowed does connect.
    let open = literal_source(TargetPolicy::with_loopback(), Duration::from_secs(3));
    let _ = open.status(&t).await.expect("status");
    assert!(
        listener.accepted() >= 1,
        "the allowed lookup never connected"
    );
}

#[tokio::test]
async fn name_resolving_to_loopback_is_refused_without_connecting() {
    let listener = CountingListener::bind(loopback(0)).await;
    let port = listener.addr.port();
    let dns = Dnsmasq::start(port).await;
    // The name really resolves to 127.0.0.1 (else the test would prove nothing).
    let resolved = dns
        .resolve(&format!("evil.test:{port}"), Edition::Java)
        .await
        .expect("evil.test resolves");
    assert_eq!(
        resolved.socket_addrs().collect::<Vec<_>>(),
        [SocketAddr::from(([127, 0, 0, 1], port))]
    );

    let strict = dns_source(&dns, TargetPolicy::public_only());
    let t: Target = format!("evil.test:{port}").parse().expect("target");
    expect_policy(strict.status(&t).await, "127.0.0.1");
    expect_policy(strict.players(&t).await, "127.0.0.1");
    // Without a port (SRV lookup first, then A) and as Bedrock, the same.
    expect_policy(
        strict.status(&"evil.test".parse().expect("t")).await,
        "127.0.0.1",
    );
    let b: Target = format!("bedrock:evil.test:{port}").parse().expect("target");
    expect_policy(strict.status(&b).await, "127.0.0.1");
    // An SRV record pointing at loopback is refused too.
    expect_policy(
        strict.status(&"mc.test".parse().expect("t")).await,
        "127.0.0.1",
    );
    assert_eq!(listener.accepted(), 0, "a refused address was contacted");

    // Control: with loopback allowed, the same name is contacted.
    let open = dns_source(&dns, TargetPolicy::with_loopback());
    let _ = open.status(&t).await.expect("status");
    assert!(
        listener.accepted() >= 1,
        "the allowed lookup never connected"
    );
    dns.stop().await;
}

#[tokio::test]
async fn mixed_answer_connects_only_to_the_allowed_address() {
    let dns = Dnsmasq::start(1).await;
    // mixed.test has two A records, 127.0.0.1 and 127.0.0.2. The one the resolver
    // lists first is the refused one, so the source must skip it, not merely never
    // reach it.
    let order: Vec<IpAddr> = dns
        .resolve("mixed.test:1", Edition::Java)
        .await
        .expect("mixed.test resolves")
        .socket_addrs()
        .map(|a| a.ip())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "127.0.0.1".parse::<IpAddr>().expect("ip"),
            "127.0.0.2".parse().expect("ip")
        ],
        "mixed.test must have both A records"
    );
    let (refused_ip, allowed_ip) = (order[0], order[1]);

    // The server on the allowed IP, a counting listener on the refused one, same port.
    let (responder, listener) = loop {
        let status =
            JavaStatus::from_json(r#"{"description":"allowed","players":{"max":5,"online":1}}"#)
                .expect("json");
        let responder =
            JavaResponder::bind(SocketAddr::new(allowed_ip, 0), move |_| status.clone())
                .await
                .expect("bind the allowed address")
                .spawn();
        let port = responder.local_addr().port();
        if std::net::TcpListener::bind((refused_ip, port)).is_ok() {
            break (
                responder,
                CountingListener::bind(SocketAddr::new(refused_ip, port)).await,
            );
        }
    };
    let port = responder.local_addr().port();

    // Only the allowed IP is on the allow list: the other stays refused loopback.
    let policy = TargetPolicy {
        allow: vec![IpNet::new(allowed_ip, 32)],
        allow_all: false,
    };
    let source = dns_source(&dns, policy);
    let t: Target = format!("mixed.test:{port}").parse().expect("target");
    for _ in 0..3 {
        let report = online(source.status(&t).await.expect("status"));
        assert_eq!(report.protocol, Protocol::Java);
        assert_eq!(
            report.answered_by,
            Some(SocketAddr::new(allowed_ip, port).to_string())
        );
        assert_eq!(report.motd.plain(), "allowed");
    }
    let players = source.players(&t).await.expect("players").expect("online");
    assert_eq!(players.online, Some(1));
    assert_eq!(
        listener.accepted(),
        0,
        "the refused {refused_ip} was contacted"
    );

    // Control: with all of loopback allowed, the first address is contacted.
    let open = dns_source(&dns, TargetPolicy::with_loopback());
    let _ = open.status(&t).await.expect("status");
    assert!(
        listener.accepted() >= 1,
        "the control lookup never reached {refused_ip}"
    );
    dns.stop().await;
}
