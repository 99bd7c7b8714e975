//! Query (GameSpy4, UDP) over tokio: [`basic`] and [`full`] clients and a
//! [`QueryResponder`].
//!
//! The clients run [`QueryClient`] over a UDP socket connected to the server: handshake,
//! token, stat request, all under one deadline ([`ClientOptions::timeout`]).
//!
//! UDP loses datagrams, so while no answer has come the clients send their current
//! request again ([`QueryClient::retransmit`]: the handshake, then the stat request with
//! the latest token) on the UDP clients' backoff schedule: after
//! [`RESEND_FIRST`](super::RESEND_FIRST) (250 ms), then after twice the previous wait, at
//! most [`RESEND_MAX`](super::RESEND_MAX) (2 s); each new request (the stat request
//! once a token came) starts the schedule over. A lost datagram costs about one
//! retransmission timeout; only a server that answers nothing within the deadline ends
//! in [`NetError::Timeout`]. Late and duplicate answers (to an earlier copy of a
//! request) are recognised by their session id and type; which token the client uses
//! when several came is explained at [`QueryClient`].
//!
//! An answer with a foreign session id is refused at once with [`NetError::Mismatch`]
//! rather than waited past: on a connected socket only the server's address can send
//! to us, and every copy of our requests carries the same session id, so a foreign id
//! means the server is confused, and failing fast is easier to test and to report.
//!
//! The session id comes from std's randomly keyed hasher (no extra dependency); it
//! only has to differ between concurrent exchanges, not be secret.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::{
    ClientOptions, NetError, Resend, recv_datagram, unreachable_is_connect, with_deadline,
};
use crate::query::{
    MAX_DATAGRAM, QueryBasic, QueryClient, QueryClientError, QueryFull, QueryServer, QueryStat,
    SessionId, StatKind,
};

/// Asks `addr` for its basic stat (MOTD, game type, map, player counts, host port/ip).
///
/// # Errors
/// [`NetError::Timeout`] when the whole exchange does not finish within
/// `opts.timeout`, [`NetError::Connect`] when the socket cannot be set up or the host
/// reports the port unreachable (ICMP), [`NetError::Io`] for another socket error,
/// [`NetError::Decode`] for an invalid or
/// oversized answer, [`NetError::Mismatch`] for an answer with a foreign session id.
pub async fn basic(addr: SocketAddr, opts: &ClientOptions) -> Result<QueryBasic, NetError> {
    match exchange(addr, opts, StatKind::Basic).await? {
        QueryStat::Basic(stat) => Ok(stat),
        QueryStat::Full(stat) => Ok(stat.basic()),
    }
}

/// Asks `addr` for its full stat (adds version, plugins, player names, extra keys).
///
/// # Errors
/// As [`basic`].
pub async fn full(addr: SocketAddr, opts: &ClientOptions) -> Result<QueryFull, NetError> {
    match exchange(addr, opts, StatKind::Full).await? {
        QueryStat::Full(stat) => Ok(stat),
        QueryStat::Basic(_) => Err(NetError::Mismatch("basic stat for a full request".into())),
    }
}

/// A session id from 32 bits of cheap randomness, masked for vanilla servers.
pub fn random_session_id() -> SessionId {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    SessionId::masked(RandomState::new().hash_one(nanos) as u32)
}

async fn exchange(
    addr: SocketAddr,
    opts: &ClientOptions,
    kind: StatKind,
) -> Result<QueryStat, NetError> {
    let max = opts.max_frame.min(MAX_DATAGRAM);
    with_deadline(opts.timeout, async move {
        let local: SocketAddr = if addr.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await.map_err(NetError::Connect)?;
        socket.connect(addr).await.map_err(NetError::Connect)?;
        let mut client = QueryClient::new(random_session_id(), kind);
        let mut resend = Resend::new();
        loop {
            // A new request (the handshake, a stat request with a new token) starts the
            // retransmission schedule over.
            if let Some(datagram) = client.poll_transmit() {
                socket
                    .send(&datagram)
                    .await
                    .map_err(unreachable_is_connect)?;
                resend.restart();
            }
            let answer = tokio::select! {
                () = resend.due() => {
                    if let Some(datagram) = client.retransmit() {
                        socket
                            .send(&datagram)
                            .await
                            .map_err(unreachable_is_connect)?;
                    }
                    resend.backoff();
                    continue;
                }
                // Decoded in place, from the thread's shared receive buffer.
                answer = recv_datagram(&socket, max, |answer| client.handle_datagram(answer)) => answer?,
            };
            match answer {
                Ok(Some(stat)) => return Ok(stat),
                Ok(None) => {}
                Err(e) => return Err(client_error(e)),
            }
        }
    })
    .await
}

fn client_error(e: QueryClientError) -> NetError {
    match e {
        QueryClientError::Decode(e) => NetError::Decode(e),
        other => NetError::Mismatch(other.to_string()),
    }
}

/// Where a [`QueryResponder`] gets the stat it serves: called once per stat request.
pub type QueryProvider = Arc<dyn Fn() -> QueryFull + Send + Sync>;

/// A Query server: answers handshakes with a challenge token (per client address,
/// rotated, see [`QueryServer`]), and basic and full stat requests carrying a valid token
/// with the provider's stat; stat requests with a wrong token and anything that is not
/// a request get no answer, as on vanilla.
///
/// Each request is one datagram of at most 15 bytes; larger datagrams are dropped
/// unread beyond a small buffer, so a peer can make it buffer nothing more.
pub struct QueryResponder {
    socket: UdpSocket,
    server: QueryServer,
    provider: QueryProvider,
}

impl std::fmt::Debug for QueryResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryResponder")
            .field("local_addr", &self.socket.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl QueryResponder {
    /// Binds `addr` and serves `stat` to every request.
    ///
    /// # Errors
    /// [`NetError::Connect`] when the socket cannot be bound.
    pub async fn bind(addr: SocketAddr, stat: QueryFull) -> Result<Self, NetError> {
        Self::bind_with(addr, move || stat.clone()).await
    }

    /// Binds `addr` and serves what `provider` returns at each stat request.
    ///
    /// # Errors
    /// [`NetError::Connect`] when the socket cannot be bound.
    pub async fn bind_with(
        addr: SocketAddr,
        provider: impl Fn() -> QueryFull + Send + Sync + 'static,
    ) -> Result<Self, NetError> {
        let socket = UdpSocket::bind(addr).await.map_err(NetError::Connect)?;
        let secret = RandomState::new().hash_one(addr);
        Ok(Self {
            socket,
            server: QueryServer::new(secret),
            provider: Arc::new(provider),
        })
    }

    /// The bound address (with the actual port when bound to port 0).
    ///
    /// # Errors
    /// [`NetError::Io`] if the OS cannot tell.
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        Ok(self.socket.local_addr()?)
    }

    /// Serves until the task is dropped or aborted. Errors on individual datagrams
    /// (a peer's ICMP error, an answer too large to send) are skipped.
    pub async fn serve(self) {
        let start = tokio::time::Instant::now();
        // A request is at most 15 bytes; anything longer is not one.
        let mut buf = [0u8; 64];
        loop {
            let (n, peer) = match self.socket.recv_from(&mut buf).await {
                Ok(received) => received,
                Err(_) => continue,
            };
            let request = buf.get(..n).unwrap_or_default();
            let now = start.elapsed();
            if let Some(answer) = self
                .server
                .handle_datagram(request, peer, now, || (self.provider)())
            {
                let _ = self.socket.send_to(&answer, peer).await;
            }
        }
    }

    /// Serves in a background task; dropping or aborting the handle stops it.
    pub fn spawn(self) -> QueryResponderHandle {
        let local_addr = self.socket.local_addr().ok();
        QueryResponderHandle {
            task: tokio::spawn(self.serve()),
            local_addr,
        }
    }
}

/// A [`QueryResponder`] running in the background; stops it when dropped.
#[derive(Debug)]
pub struct QueryResponderHandle {
    task: JoinHandle<()>,
    local_addr: Option<SocketAddr>,
}

impl QueryResponderHandle {
    /// The responder's address (`None` if the OS could not tell at spawn time).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Stops the responder (returns at once; the socket closes shortly after).
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Stops the responder and waits until its socket is closed.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for QueryResponderHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
