//! Resolution without a working DNS: IP literals never query DNS, and a name server
//! that never answers ends in a typed error within the deadline.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use mc_protocol::address::{Edition, ServerAddress};
use mc_protocol::net::NetError;
use mc_protocol::net::resolve::{Resolved, ResolvedTarget, Resolver};
use tokio::net::UdpSocket;

/// A UDP socket that receives DNS queries and never answers; kept alive by the
/// caller. Returns the socket and a resolver pointed at it.
async fn silent_dns() -> (UdpSocket, Resolver) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("local addr");
    let resolver = Resolver::with_nameserver(addr).expect("resolver");
    (socket, resolver)
}

fn addr(s: &str) -> ServerAddress {
    s.parse().expect("valid address")
}

#[tokio::test]
async fn ip_literals_resolve_without_dns() {
    let (socket, resolver) = silent_dns().await;
    let resolver = resolver.with_timeout(Duration::from_secs(2));

    let r = resolver
        .resolve(&addr("127.0.0.1"), Edition::Java)
        .await
        .expect("literal");
    assert_eq!(
        r,
        Resolved {
            targets: vec![ResolvedTarget {
                host: "127.0.0.1".into(),
                port: 25565,
                ips: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            }],
            via_srv: false,
        }
    );

    let r = resolver
        .resolve(&addr("[::1]:25599"), Edition::Java)
        .await
        .expect("literal");
    assert_eq!(
        r.socket_addrs().collect::<Vec<_>>(),
        vec![SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 25599)]
    );
    assert_eq!(r.targets[0].host, "::1");

    let r = resolver
        .resolve(&addr("10.1.2.3"), Edition::Bedrock)
        .await
        .expect("literal");
    let (target, sock) = r.first().expect("one target");
    assert_eq!(sock, "10.1.2.3:19132".parse::<SocketAddr>().expect("addr"));
    assert_eq!(target.port, 19132);

    // The name server was never asked anything.
    let mut buf = [0u8; 512];
    assert!(
        tokio::time::timeout(Duration::from_millis(50), socket.recv_from(&mut buf))
            .await
            .is_err(),
        "an IP literal caused a DNS query"
    );
}

#[tokio::test]
async fn silent_name_server_times_out_with_typed_error() {
    let (socket, resolver) = silent_dns().await;
    let resolver = resolver.with_timeout(Duration::from_millis(500));
    let start = Instant::now();
    let err = resolver
        .resolve(&addr("mc.example.test"), Edition::Java)
        .await
        .expect_err("no answer");
    let elapsed = start.elapsed();
    // Our deadline (0.5 s) is shorter than hickory's per-query timeout (5 s).
    assert!(
        matches!(err, NetError::Timeout(d) if d == Duration::from_millis(500)),
        "unexpected error {err:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    // It did ask the (silent) server: the SRV query comes first for Java.
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(Duration::from_millis(100), socket.recv_from(&mut buf))
        .await
        .expect("a query arrived")
        .expect("recv");
    let query = &buf[..n];
    let needle = b"\x0a_minecraft\x04_tcp\x02mc\x07example\x04test\x00";
    assert!(
        query.windows(needle.len()).any(|w| w == needle),
        "first query is not the SRV name: {query:02x?}"
    );
}

#[tokio::test]
async fn garbage_answers_end_in_a_typed_error() {
    // A "name server" that answers every query with junk bytes.
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let resolver = Resolver::with_nameserver(socket.local_addr().expect("addr"))
        .expect("resolver")
        .with_timeout(Duration::from_secs(1));
    let server = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            // Echo the id, then nonsense.
            let mut reply = buf[..n.min(2)].to_vec();
            reply.extend_from_slice(&[0xff; 40]);
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    let start = Instant::now();
    let err = resolver
        .resolve(&addr("junk.example.test:25565"), Edition::Java)
        .await
        .expect_err("junk");
    assert!(
        matches!(err, NetError::Timeout(_) | NetError::Resolve { .. }),
        "unexpected error {err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    server.abort();
}

#[tokio::test]
async fn system_resolver_builds_and_resolves_literals_locally() {
    let resolver = Resolver::from_system_conf().expect("system configuration");
    assert_eq!(resolver.timeout(), Resolver::DEFAULT_TIMEOUT);
    let r = resolver
        .resolve(&addr("192.0.2.7:25570"), Edition::Java)
        .await
        .expect("literal");
    assert_eq!(
        r.socket_addrs().collect::<Vec<_>>(),
        vec!["192.0.2.7:25570".parse::<SocketAddr>().expect("addr")]
    );
}
