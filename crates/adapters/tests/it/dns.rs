//! Debian's dnsmasq on a free loopback port, answering the names these tests need:
//!
//! - `evil.test` → 127.0.0.1 (a public-looking name pointing at loopback);
//! - `mixed.test` → 127.0.0.1 and 127.0.0.2 (two A records, from a hosts file);
//! - `mc.test` → SRV `_minecraft._tcp` to `target.mc.test:<srv_port>` → 127.0.0.1;
//! - anything else under `.test` does not exist (NXDOMAIN).

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mc_protocol::address::{Edition, ServerAddress};
use mc_protocol::net::resolve::{Resolved, Resolver};
use tokio::process::{Child, Command};

/// A running dnsmasq, killed when dropped.
#[derive(Debug)]
pub(crate) struct Dnsmasq {
    child: Child,
    pub(crate) addr: SocketAddr,
    hosts: PathBuf,
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

impl Dnsmasq {
    /// Starts dnsmasq; `srv_port` is the port of `mc.test`'s SRV record.
    pub(crate) async fn start(srv_port: u16) -> Self {
        let port = free_port();
        let hosts = std::env::temp_dir().join(format!(
            "mcstat-adapters-hosts-{}-{port}",
            std::process::id()
        ));
        let mut file = std::fs::File::create(&hosts).expect("hosts file");
        writeln!(file, "127.0.0.1 mixed.test\n127.0.0.2 mixed.test").expect("write hosts");
        drop(file);
        let child = Command::new("dnsmasq")
            .arg("--no-daemon")
            .arg("--conf-file=/dev/null")
            .arg(format!("--port={port}"))
            .arg("--listen-address=127.0.0.1")
            .arg("--bind-interfaces")
            .arg("--no-resolv")
            .arg("--no-hosts")
            .arg("--pid-file=")
            .arg(format!("--addn-hosts={}", hosts.display()))
            .arg("--address=/evil.test/127.0.0.1")
            .arg(format!(
                "--srv-host=_minecraft._tcp.mc.test,target.mc.test,{srv_port},0,5"
            ))
            .arg("--host-record=target.mc.test,127.0.0.1")
            .arg("--local=/test/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start dnsmasq ({e}): run scripts/test.sh, which installs it")
            });
        let dns = Self {
            child,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            hosts,
        };
        dns.wait_until_answering().await;
        dns
    }

    /// Polls with real queries until dnsmasq answers (up to 5 s).
    async fn wait_until_answering(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            if self.resolve("evil.test:1", Edition::Java).await.is_ok() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "dnsmasq on {} did not answer within 5 s",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resolves with a fresh resolver (nothing cached between calls).
    pub(crate) async fn resolve(
        &self,
        address: &str,
        edition: Edition,
    ) -> Result<Resolved, mc_protocol::net::NetError> {
        let address: ServerAddress = address.parse().expect("address");
        Resolver::with_nameserver(self.addr)
            .expect("resolver")
            .with_timeout(Duration::from_millis(500))
            .resolve(&address, edition)
            .await
    }

    /// Kills dnsmasq and reaps it (dropping only kills; the runtime may end before
    /// the zombie is collected).
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        // Also when a test fails before `stop`.
        let _ = std::fs::remove_file(&self.hosts);
    }
}
