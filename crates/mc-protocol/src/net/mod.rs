//! Tokio clients and responders for every protocol, and SRV resolution (feature
//! `tokio`).
//!
//! Conventions every submodule follows:
//! - A client takes an already resolved [`std::net::SocketAddr`] (resolution is a
//!   separate step, see [`resolve`], so a caller can check every IP before connecting)
//!   and a [`ClientOptions`]; the whole exchange — connect, every write, every read —
//!   runs under one deadline, [`ClientOptions::timeout`].
//! - A responder binds a socket, answers every request with what its provider returns,
//!   gives each connection its own deadline and never buffers more than the protocol's
//!   maximum from a peer. Responders exist for tests, benchmarks and embedding.
//! - Every failure is a typed [`NetError`].
//! - The UDP clients ([`query`], [`bedrock`]) send their current request again when no
//!   answer came within a retransmission timeout: the first resend after
//!   [`RESEND_FIRST`], each next one after twice the previous wait, at most
//!   [`RESEND_MAX`] (250 ms, 500 ms, 1 s, 2 s, 2 s, ...), all within the one deadline. A
//!   lost datagram then costs a fraction of a second instead of the whole deadline.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::{TcpListener, TcpSocket, UdpSocket};

pub mod bedrock;
pub mod java;
pub mod legacy;
pub mod query;
pub mod resolve;

/// Settings shared by every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// One deadline for the whole exchange: connect, every write and every read.
    pub timeout: Duration,
    /// The largest frame (or datagram) accepted from the server, checked before
    /// anything is buffered.
    pub max_frame: usize,
}

impl ClientOptions {
    /// Default deadline: 5 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default frame limit: 8 MiB, enough for a large modpack's status with a favicon.
    pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            max_frame: Self::DEFAULT_MAX_FRAME,
        }
    }
}

/// Why a network exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The overall deadline passed before the exchange completed.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// Connecting (TCP) or binding (UDP) failed, or (UDP) the host reported that
    /// nothing listens on the port (ICMP port unreachable).
    #[error("could not connect")]
    Connect(#[source] std::io::Error),
    /// Reading or writing failed after connecting.
    #[error("I/O error")]
    Io(#[from] std::io::Error),
    /// The server closed the connection before a complete answer.
    #[error("the server closed the connection early")]
    Closed,
    /// The server's bytes are not a valid message.
    #[error("invalid answer")]
    Decode(#[from] crate::DecodeError),
    /// The answer decoded but does not belong to our request (wrong pong payload,
    /// foreign Query session id, Bedrock pong for another ping, ...).
    #[error("answer does not match the request: {0}")]
    Mismatch(String),
    /// Name resolution failed or found nothing to connect to.
    #[error("could not resolve {host}: {reason}")]
    Resolve {
        /// The name looked up.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

/// Runs `fut` under the deadline `timeout`, mapping expiry to [`NetError::Timeout`].
///
/// # Errors
/// [`NetError::Timeout`] when the deadline passes, else whatever `fut` returns.
pub async fn with_deadline<T, F>(timeout: Duration, fut: F) -> Result<T, NetError>
where
    F: Future<Output = Result<T, NetError>>,
{
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or(Err(NetError::Timeout(timeout)))
}

/// How long a UDP client waits for an answer before it sends its request the first
/// time again (see the module docs). Short, because the requests are tiny (7 to 33
/// bytes) and a resent one is harmless; most paths answer well within it.
pub const RESEND_FIRST: Duration = Duration::from_millis(250);

/// The longest a UDP client waits between two sends of the same request.
pub const RESEND_MAX: Duration = Duration::from_secs(2);

/// The retransmission schedule of a UDP client's current request: due
/// [`RESEND_FIRST`] after it was sent, then after twice the previous wait, at most
/// [`RESEND_MAX`]. The deadline around the exchange ends it; this only says when.
#[derive(Debug)]
pub(crate) struct Resend {
    wait: Duration,
    due: tokio::time::Instant,
}

impl Resend {
    /// The schedule of a request sent just now.
    pub(crate) fn new() -> Self {
        Self {
            wait: RESEND_FIRST,
            due: tokio::time::Instant::now() + RESEND_FIRST,
        }
    }

    /// A new request was sent just now: start over with [`RESEND_FIRST`].
    pub(crate) fn restart(&mut self) {
        *self = Self::new();
    }

    /// Waits until the request is due to be sent again (cancel-safe: only a timer).
    pub(crate) async fn due(&self) {
        tokio::time::sleep_until(self.due).await;
    }

    /// The request was just sent again: the next resend waits twice as long.
    pub(crate) fn backoff(&mut self) {
        self.wait = self.wait.saturating_mul(2).min(RESEND_MAX);
        self.due = tokio::time::Instant::now() + self.wait;
    }
}

/// The listen backlog of the TCP responders. Std's default (128) overflows when a
/// thousand clients connect at once, and every dropped SYN costs its client a second
/// (the first retransmission); the kernel caps this at `net.core.somaxconn`.
pub(crate) const LISTEN_BACKLOG: u32 = 1024;

/// Binds a TCP listener on `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR` on Unix,
/// as `std` sets it).
pub(crate) fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

thread_local! {
    /// One receive buffer per thread, shared by every client exchange running on it:
    /// an exchange waiting for its answer holds no buffer, and none is allocated and
    /// zeroed per exchange. Only borrowed inside synchronous code (never across an
    /// `.await`), so exchanges on the same thread never contend for it.
    static RECV_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a buffer of `len` bytes: this thread's shared buffer, or (if that is
/// unavailable: thread teardown, re-entrant use) a fresh one.
pub(crate) fn with_recv_buf<T>(len: usize, mut f: impl FnMut(&mut [u8]) -> T) -> T {
    let shared = RECV_BUF.try_with(|cell| {
        let mut buf = cell.try_borrow_mut().ok()?;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf.get_mut(..len).map(&mut f)
    });
    match shared {
        Ok(Some(out)) => out,
        _ => f(&mut vec![0u8; len]),
    }
}

/// Waits for the next datagram on the connected `socket` and hands it to `f`, read
/// into the thread's shared buffer ([`with_recv_buf`]). Nothing is buffered while
/// waiting.
///
/// # Errors
/// [`crate::DecodeError::FrameTooLarge`] for a datagram longer than `max` bytes
/// (read into `max + 1` bytes, so a longer one shows as truncated);
/// [`NetError::Connect`] when the host reports the port unreachable (ICMP, which
/// surfaces as `ConnectionRefused`), [`NetError::Io`] for another socket error.
pub(crate) async fn recv_datagram<T>(
    socket: &UdpSocket,
    max: usize,
    mut f: impl FnMut(&[u8]) -> T,
) -> Result<T, NetError> {
    loop {
        // ERROR too: an ICMP error alone does not make the socket readable.
        let ready = socket
            .ready(Interest::READABLE | Interest::ERROR)
            .await
            .map_err(unreachable_is_connect)?;
        // As `recv`: a queued datagram first, then a pending error.
        let received = with_recv_buf(max.saturating_add(1), |buf| {
            match socket.try_recv(buf) {
                Ok(n) if n > max => Some(Err(crate::DecodeError::FrameTooLarge {
                    size: n as u64,
                    max,
                }
                .into())),
                Ok(n) => Some(Ok(f(buf.get(..n).unwrap_or_default()))),
                // Not readable (spurious, or only an error is pending).
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                Err(e) => Some(Err(unreachable_is_connect(e))),
            }
        });
        if let Some(result) = received {
            return result;
        }
        if ready.is_error() {
            if let Some(e) = socket.take_error().map_err(NetError::Io)? {
                return Err(unreachable_is_connect(e));
            }
            // No error after all (a send already reported it): clear the readiness
            // so the next wait does not return at once.
            let _ = socket.try_io(Interest::ERROR, || {
                Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
            });
        }
    }
}

/// On a connected UDP socket, an ICMP "port unreachable" surfaces as
/// `ConnectionRefused`: nothing listens there.
pub(crate) fn unreachable_is_connect(e: io::Error) -> NetError {
    if e.kind() == io::ErrorKind::ConnectionRefused {
        NetError::Connect(e)
    } else {
        NetError::Io(e)
    }
}
