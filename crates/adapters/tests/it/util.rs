//! Small helpers: sources with a manual clock, free ports, a listener that counts
//! connections.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mc_protocol::net::ClientOptions;
use mc_protocol::net::resolve::Resolver;
use mcstat_adapters::NetworkSource;
use mcstat_core::ports::ManualClock;
use mcstat_core::{StatusOutcome, StatusReport, TargetPolicy, Timestamp};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the manual clock shows in every test: 2023-11-14T22:13:20Z.
pub(crate) const NOW: Timestamp = Timestamp(1_700_000_000_000);

pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

pub(crate) fn options(timeout: Duration) -> ClientOptions {
    ClientOptions {
        timeout,
        ..ClientOptions::default()
    }
}

/// A source for IP literals: its resolver points at a port where no name server
/// listens, so a test that needed DNS would fail rather than ask the machine's.
pub(crate) fn literal_source(policy: TargetPolicy, timeout: Duration) -> NetworkSource {
    let resolver = Resolver::with_nameserver(SocketAddr::from(([127, 0, 0, 1], 9)))
        .expect("resolver")
        .with_timeout(Duration::from_millis(500));
    NetworkSource::new(policy, options(timeout), resolver, clock())
}

pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

pub(crate) fn online(outcome: StatusOutcome) -> StatusReport {
    match outcome {
        StatusOutcome::Online(report) => report,
        offline @ StatusOutcome::Offline { .. } => panic!("expected online, got {offline:?}"),
    }
}

/// A TCP port on `ip` where nothing listens (bound a moment ago, then closed).
pub(crate) fn closed_tcp_port(ip: IpAddr) -> u16 {
    let listener = std::net::TcpListener::bind((ip, 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A UDP port that was free a moment ago.
pub(crate) fn free_udp_port(ip: IpAddr) -> u16 {
    let socket = std::net::UdpSocket::bind((ip, 0)).expect("bind");
    socket.local_addr().expect("addr").port()
}

/// A TCP listener that accepts, counts, and closes every connection at once.
#[derive(Debug)]
pub(crate) struct CountingListener {
    pub(crate) addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CountingListener {
    pub(crate) async fn bind(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr)
            .await
            .expect("bind counting listener");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self {
            addr,
            accepted,
            task,
        }
    }

    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CountingListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
