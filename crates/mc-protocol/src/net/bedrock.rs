//! Bedrock status over UDP: a client ([`status`]) and a responder
//! ([`BedrockResponder`]) answering unconnected pings.
//!
//! The codec is in [`crate::bedrock`]; this module only moves its datagrams.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::{
    ClientOptions, NetError, Resend, recv_datagram, unreachable_is_connect, with_deadline,
};
use crate::bedrock::{BedrockStatus, PONG_ID, UnconnectedPingC2s, UnconnectedPongS2c};

/// The largest UDP payload there is; datagrams are never buffered beyond it.
const MAX_DATAGRAM: usize = 65_535;

/// A Bedrock status with what else the pong said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockReply {
    /// The parsed server info.
    pub status: BedrockStatus,
    /// From sending the (first) ping to receiving the pong.
    pub latency: Duration,
    /// The server's RakNet GUID.
    pub server_guid: i64,
}

/// Pings the Bedrock server at `addr` and returns its status.
///
/// The UDP socket is connected to `addr`, so datagrams from anywhere else are never
/// seen. While no pong has come, the ping is sent again on the UDP clients' backoff
/// schedule ([`RESEND_FIRST`](super::RESEND_FIRST), doubling up to
/// [`RESEND_MAX`](super::RESEND_MAX)) in case a datagram was lost; every copy is the
/// same ping but for its time field (the first ping's plus the copy's number), so
/// any pong answers it and the latency is the round trip of the copy it echoes. All of it runs under one deadline,
/// [`ClientOptions::timeout`]. A datagram larger
/// than [`ClientOptions::max_frame`] (capped at 64 KiB) is refused; datagrams that are
/// not pongs (other RakNet packets) are ignored.
///
/// # Errors
/// [`NetError::Timeout`] when no pong arrives in time, [`NetError::Connect`] when the
/// socket cannot be set up or the host reports the port unreachable,
/// [`NetError::Decode`] for a malformed pong (e.g. `BadMagic`) or server info,
/// [`NetError::Mismatch`] for a pong whose time is not our ping's (no other ping was
/// ever sent from this socket, so it is a broken or spoofing server rather than a
/// late answer), [`NetError::Io`] otherwise.
pub async fn status(addr: SocketAddr, opts: &ClientOptions) -> Result<BedrockReply, NetError> {
    let cap = opts.max_frame.min(MAX_DATAGRAM);
    let ping = UnconnectedPingC2s {
        time: now_millis(),
        client_guid: random_i64(),
        open_connections_only: false,
    };
    with_deadline(opts.timeout, async move {
        let local = if addr.is_ipv4() {
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
        };
        let socket = UdpSocket::bind(local).await.map_err(NetError::Connect)?;
        socket.connect(addr).await.map_err(NetError::Connect)?;
        // Each copy carries its own time (the first ping's plus the copy's number),
        // so the pong tells which copy it answers and the latency is that copy's
        // round trip, not the wait for a lost one.
        let mut out = Vec::with_capacity(crate::bedrock::PING_LEN);
        let mut sent: Vec<(i64, Instant)> = Vec::with_capacity(4);
        let mut send_copy = async |sent: &mut Vec<(i64, Instant)>| {
            let copy = UnconnectedPingC2s {
                time: ping
                    .time
                    .wrapping_add(i64::try_from(sent.len()).unwrap_or(0)),
                ..ping
            };
            out.clear();
            copy.encode(&mut out);
            sent.push((copy.time, Instant::now()));
            socket.send(&out).await.map_err(unreachable_is_connect)
        };
        send_copy(&mut sent).await?;
        let mut resend = Resend::new();
        loop {
            let answer = tokio::select! {
                () = resend.due() => {
                    send_copy(&mut sent).await?;
                    resend.backoff();
                    continue;
                }
                // Decoded in place, from the thread's shared receive buffer.
                answer = recv_datagram(&socket, cap, |datagram| {
                    // Not a pong (another RakNet packet): wait on.
                    (datagram.first() == Some(&PONG_ID))
                        .then(|| UnconnectedPongS2c::decode(datagram))
                }) => answer?,
            };
            let Some(pong) = answer else {
                continue;
            };
            let pong = pong?;
            let Some(&(_, sent_at)) = sent.iter().find(|(time, _)| *time == pong.time) else {
                return Err(NetError::Mismatch(format!(
                    "pong time {} does not echo the time of any ping sent ({}..)",
                    pong.time, ping.time
                )));
            };
            return Ok(BedrockReply {
                status: pong.status()?,
                latency: sent_at.elapsed(),
                server_guid: pong.server_guid,
            });
        }
    })
    .await
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A random value from the standard library's per-process random hasher keys.
fn random_i64() -> i64 {
    RandomState::new().hash_one(now_millis()) as i64
}

type Provider = Arc<dyn Fn(&UnconnectedPingC2s) -> BedrockStatus + Send + Sync>;

/// How long [`BedrockResponder::serve`] pauses after an unexpected receive error.
pub const RECEIVE_BACKOFF: Duration = Duration::from_millis(100);

/// A small Bedrock server that answers unconnected pings (`01` and `02`) with the
/// status its provider returns, and ignores every other datagram.
///
/// Stateless: each ping gets one pong, so no per-client state or deadline is needed.
/// Datagrams are read into a buffer of [`BedrockResponder::MAX_PING_DATAGRAM`] bytes
/// (a ping has 33; longer ones are truncated and then refused by the decoder).
/// Like every unconnected RakNet server it answers a 33-byte ping with a longer pong,
/// so do not expose it where spoofed sources matter.
///
/// ```no_run
/// # async fn demo(status: mc_protocol::bedrock::BedrockStatus) -> std::io::Result<()> {
/// use mc_protocol::net::bedrock::BedrockResponder;
/// let responder = BedrockResponder::bind("127.0.0.1:0".parse().unwrap(), status).await?;
/// let handle = responder.spawn(); // stops when `handle` is dropped
/// println!("listening on {}", handle.local_addr());
/// # Ok(()) }
/// ```
pub struct BedrockResponder {
    socket: UdpSocket,
    provider: Provider,
    server_guid: i64,
}

impl fmt::Debug for BedrockResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockResponder")
            .field("local_addr", &self.socket.local_addr().ok())
            .field("server_guid", &self.server_guid)
            .finish_non_exhaustive()
    }
}

impl BedrockResponder {
    /// The receive buffer size.
    pub const MAX_PING_DATAGRAM: usize = 64;

    /// Binds `addr` (UDP) and answers every ping with `status`; the server GUID is
    /// random (see [`BedrockResponder::with_server_guid`]).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(addr: SocketAddr, status: BedrockStatus) -> io::Result<Self> {
        Self::bind_with(addr, move |_| status.clone()).await
    }

    /// Binds `addr` (UDP) and answers each ping with what `provider` returns for it.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind_with<F>(addr: SocketAddr, provider: F) -> io::Result<Self>
    where
        F: Fn(&UnconnectedPingC2s) -> BedrockStatus + Send + Sync + 'static,
    {
        Ok(Self {
            socket: UdpSocket::bind(addr).await?,
            provider: Arc::new(provider),
            server_guid: random_i64(),
        })
    }

    /// Sets the server GUID sent in every pong.
    #[must_use]
    pub fn with_server_guid(mut self, server_guid: i64) -> Self {
        self.server_guid = server_guid;
        self
    }

    /// The server GUID sent in every pong.
    pub fn server_guid(&self) -> i64 {
        self.server_guid
    }

    /// The bound address.
    ///
    /// # Errors
    /// As [`UdpSocket::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Serves until the future is dropped.
    ///
    /// A receive error caused by an earlier pong (the client's port is gone) is
    /// skipped; any other pauses receiving for [`RECEIVE_BACKOFF`].
    pub async fn serve(self) {
        let mut buf = [0u8; Self::MAX_PING_DATAGRAM];
        let mut out = Vec::new();
        loop {
            let (n, peer) = match self.socket.recv_from(&mut buf).await {
                Ok(received) => received,
                // ICMP errors about earlier pongs (the client left): not ours to fix.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                    ) =>
                {
                    continue;
                }
                Err(_) => {
                    tokio::time::sleep(RECEIVE_BACKOFF).await;
                    continue;
                }
            };
            let Ok(ping) = UnconnectedPingC2s::decode(buf.get(..n).unwrap_or_default()) else {
                continue;
            };
            out.clear();
            UnconnectedPongS2c::answer(&ping, self.server_guid, &(self.provider)(&ping))
                .encode(&mut out);
            // A lost pong is the client's to retry.
            let _ = self.socket.send_to(&out, peer).await;
        }
    }

    /// Serves on a background task; the task stops when the handle is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(self) -> BedrockResponderHandle {
        // `bind` succeeded, so the socket has an address.
        let addr = self
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        BedrockResponderHandle {
            addr,
            server_guid: self.server_guid,
            task: tokio::spawn(self.serve()),
        }
    }
}

/// A responder running on a background task; dropping the handle stops it.
#[derive(Debug)]
pub struct BedrockResponderHandle {
    addr: SocketAddr,
    server_guid: i64,
    task: JoinHandle<()>,
}

impl BedrockResponderHandle {
    /// The address the responder listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server GUID in its pongs.
    pub fn server_guid(&self) -> i64 {
        self.server_guid
    }
}

impl Drop for BedrockResponderHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
