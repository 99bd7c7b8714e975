//! SRV and A/AAAA resolution against Debian's dnsmasq, started per test on a free
//! loopback port with the records each test needs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;
use std::time::Duration;

use mc_protocol::address::{Edition, ServerAddress};
use mc_protocol::net::NetError;
use mc_protocol::net::resolve::{Resolved, ResolvedTarget, Resolver};
use tokio::process::{Child, Command};

/// A running dnsmasq, killed when dropped.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
}

/// A loopback port free for both UDP and TCP (dnsmasq binds both).
fn free_port() -> u16 {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port for dnsmasq");
}

const RECORDS: &[&str] = &[
    // mc.test: one SRV record to target.mc.test:25599.
    "--srv-host=_minecraft._tcp.mc.test,target.mc.test,25599,0,5",
    "--host-record=target.mc.test,127.0.0.1",
    // two.mc.test: two SRV records; priority 10 must come before priority 20
    // although it is listed second.
    "--srv-host=_minecraft._tcp.two.mc.test,second.mc.test,25602,20,100",
    "--srv-host=_minecraft._tcp.two.mc.test,first.mc.test,25601,10,0",
    "--host-record=first.mc.test,127.0.0.3",
    "--host-record=second.mc.test,127.0.0.4",
    // plain.mc.test: no SRV, an A record only.
    "--address=/plain.mc.test/127.0.0.2",
    // no-service.mc.test: SRV target "." (RFC 2782: no service).
    "--srv-host=_minecraft._tcp.no-service.mc.test",
    // Everything else under mc.test does not exist.
    "--local=/mc.test/",
];

impl Dnsmasq {
    async fn start() -> Self {
        let port = free_port();
        let mut cmd = Command::new("dnsmasq");
        cmd.arg("--no-daemon")
            .arg("--conf-file=/dev/null")
            .arg(format!("--port={port}"))
            .arg("--listen-address=127.0.0.1")
            .arg("--bind-interfaces")
            .arg("--no-resolv")
            .arg("--no-hosts")
            // No pid file: several instances run side by side.
            .arg("--pid-file=")
            .args(RECORDS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start dnsmasq ({e}): install it with `apt-get install dnsmasq`")
        });
        let dns = Self {
            child,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        };
        dns.wait_until_answering().await;
        dns
    }

    /// Polls with real queries until dnsmasq answers (up to 5 s).
    async fn wait_until_answering(&self) {
        let probe: ServerAddress = "plain.mc.test:1".parse().expect("address");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            // A fresh resolver each time: nothing cached from a failed attempt.
            let resolver = Resolver::with_nameserver(self.addr)
                .expect("resolver")
                .with_timeout(Duration::from_millis(200));
            if resolver.resolve(&probe, Edition::Java).await.is_ok() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "dnsmasq on {} did not answer within 5 s",
                self.addr
            );
        }
    }

    /// Kills dnsmasq and reaps it (dropping only kills; the runtime may end
    /// before the zombie is collected).
    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    fn resolver(&self) -> Resolver {
        Resolver::with_nameserver(self.addr)
            .expect("resolver")
            .with_timeout(Duration::from_secs(3))
    }
}

fn addr(s: &str) -> ServerAddress {
    s.parse().expect("valid address")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[tokio::test]
async fn srv_record_gives_target_port_and_handshake_host() {
    let dns = Dnsmasq::start().await;
    let r = dns
        .resolver()
        .resolve(&addr("mc.test"), Edition::Java)
        .await
        .expect("resolves");
    assert_eq!(
        r,
        Resolved {
            targets: vec![ResolvedTarget {
                host: "target.mc.test".into(),
                port: 25599,
                ips: vec![ip("127.0.0.1")],
            }],
            via_srv: true,
        }
    );
    assert_eq!(
        r.first().expect("target").1,
        "127.0.0.1:25599".parse::<SocketAddr>().expect("addr")
    );
    dns.stop().await;
}

#[tokio::test]
async fn srv_records_are_ordered_by_priority() {
    let dns = Dnsmasq::start().await;
    let r = dns
        .resolver()
        .resolve(&addr("two.mc.test"), Edition::Java)
        .await
        .expect("resolves");
    assert!(r.via_srv);
    let order: Vec<(String, u16, Vec<IpAddr>)> = r
        .targets
        .into_iter()
        .map(|t| (t.host, t.port, t.ips))
        .collect();
    assert_eq!(
        order,
        vec![
            ("first.mc.test".into(), 25601, vec![ip("127.0.0.3")]),
            ("second.mc.test".into(), 25602, vec![ip("127.0.0.4")]),
        ]
    );
    dns.stop().await;
}

#[tokio::test]
async fn no_srv_falls_back_to_a_record_and_default_port() {
    let dns = Dnsmasq::start().await;
    let resolver = dns.resolver();
    let r = resolver
        .resolve(&addr("plain.mc.test"), Edition::Java)
        .await
        .expect("resolves");
    assert_eq!(
        r,
        Resolved {
            targets: vec![ResolvedTarget {
                host: "plain.mc.test".into(),
                port: 25565,
                ips: vec![ip("127.0.0.2")],
            }],
            via_srv: false,
        }
    );
    // An explicit port skips SRV even where a record exists.
    let r = resolver
        .resolve(&addr("target.mc.test:4000"), Edition::Java)
        .await
        .expect("resolves");
    assert_eq!(r.targets[0].port, 4000);
    assert!(!r.via_srv);
    // Bedrock never uses SRV: mc.test has an SRV record but no A record.
    let err = resolver
        .resolve(&addr("mc.test"), Edition::Bedrock)
        .await
        .expect_err("no A record for mc.test");
    assert!(matches!(err, NetError::Resolve { .. }), "{err:?}");
    let r = resolver
        .resolve(&addr("plain.mc.test"), Edition::Bedrock)
        .await
        .expect("resolves");
    assert_eq!(
        r.first().expect("target").1,
        "127.0.0.2:19132".parse::<SocketAddr>().expect("addr")
    );
    dns.stop().await;
}

#[tokio::test]
async fn nxdomain_is_a_typed_error() {
    let dns = Dnsmasq::start().await;
    let err = dns
        .resolver()
        .resolve(&addr("missing.mc.test"), Edition::Java)
        .await
        .expect_err("does not exist");
    match err {
        NetError::Resolve { host, reason } => {
            assert_eq!(host, "missing.mc.test");
            assert!(reason.contains("NXDOMAIN"), "reason: {reason}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    dns.stop().await;
}

#[tokio::test]
async fn srv_target_dot_means_no_service() {
    let dns = Dnsmasq::start().await;
    let err = dns
        .resolver()
        .resolve(&addr("no-service.mc.test"), Edition::Java)
        .await
        .expect_err("no service");
    match err {
        NetError::Resolve { host, reason } => {
            assert_eq!(host, "no-service.mc.test");
            assert!(reason.contains("no Minecraft server"), "reason: {reason}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    dns.stop().await;
}
