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

use std::future::Future;
use std::time::Duration;

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
