//! Legacy ping over TCP: a client ([`status`], [`status_timed`]) and a responder
//! ([`LegacyResponder`]) answering all three request forms.
//!
//! The codec is in [`crate::legacy`]; this module only moves its bytes.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::{ClientOptions, NetError, with_deadline};
use crate::legacy::{
    LegacyForm, LegacyKickS2c, LegacyPingC2s, LegacyStatus, MAX_REQUEST_LEN, PROTOCOL_1_6_4,
    PingHost, RequestProgress,
};

/// A legacy status with the time the server took to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyReply {
    /// What the server said.
    pub status: LegacyStatus,
    /// From sending the request to receiving the whole reply (connecting excluded).
    pub latency: Duration,
}

/// Asks the legacy server at `addr` for its status with a request of `form`.
///
/// `host` and `port` are what a 1.6 request tells the server it connected to (the
/// address the user typed); other forms do not send them. The whole exchange runs
/// under [`ClientOptions::timeout`]. A reply whose announced length exceeds
/// [`ClientOptions::max_frame`] is refused before its body is read (the format itself
/// cannot exceed 3 + 2 × 65535 bytes, about 128 KiB).
///
/// # Errors
/// [`NetError::Connect`], [`NetError::Timeout`], [`NetError::Closed`] when the server
/// hangs up before a whole reply, [`NetError::Io`], or [`NetError::Decode`] for a
/// reply that is not a kick packet, too large, not UTF-16, or not a status.
pub async fn status(
    addr: SocketAddr,
    host: &str,
    port: u16,
    form: LegacyForm,
    opts: &ClientOptions,
) -> Result<LegacyStatus, NetError> {
    status_timed(addr, host, port, form, opts)
        .await
        .map(|reply| reply.status)
}

/// [`status`], also measuring the latency.
///
/// # Errors
/// As [`status`].
pub async fn status_timed(
    addr: SocketAddr,
    host: &str,
    port: u16,
    form: LegacyForm,
    opts: &ClientOptions,
) -> Result<LegacyReply, NetError> {
    let request = match form {
        LegacyForm::Beta => LegacyPingC2s::Beta,
        LegacyForm::V1_4 => LegacyPingC2s::V1_4,
        LegacyForm::V1_6 => LegacyPingC2s::V1_6(Some(PingHost {
            protocol_version: PROTOCOL_1_6_4,
            hostname: host.to_owned(),
            port: port.into(),
        })),
    };
    let max = opts.max_frame;
    with_deadline(opts.timeout, async move {
        let mut stream = TcpStream::connect(addr).await.map_err(NetError::Connect)?;
        // Best effort: the request is one small write either way.
        let _ = stream.set_nodelay(true);
        let mut out = Vec::with_capacity(MAX_REQUEST_LEN);
        request.encode(&mut out);
        let start = Instant::now();
        stream.write_all(&out).await?;
        let mut header = [0u8; 3];
        stream
            .read_exact(&mut header)
            .await
            .map_err(eof_is_closed)?;
        let len = LegacyKickS2c::frame_len(header, max)?;
        let mut frame = Vec::with_capacity(len);
        frame.extend_from_slice(&header);
        let body = (len - header.len()) as u64;
        (&mut stream).take(body).read_to_end(&mut frame).await?;
        if frame.len() < len {
            return Err(NetError::Closed);
        }
        let latency = start.elapsed();
        let status = LegacyKickS2c::decode(&frame)?.status()?;
        Ok(LegacyReply { status, latency })
    })
    .await
}

fn eof_is_closed(e: io::Error) -> NetError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        NetError::Closed
    } else {
        NetError::Io(e)
    }
}

type Provider = Arc<dyn Fn(&LegacyPingC2s) -> LegacyStatus + Send + Sync>;

/// How long [`LegacyResponder::serve`] pauses after the listener itself fails.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether an accept error concerns only the connection being accepted.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// A small legacy-ping server: answers every `FE`, `FE 01` and `FE 01 FA…` request
/// with the status its provider returns, in the format the request form expects
/// (beta format for `FE`, `§1` format otherwise; see [`LegacyStatus::for_form`]).
///
/// A request has no length, so after a prefix (`FE`, `FE 01`, an incomplete 1.6
/// message) the responder waits [`LegacyResponder::with_grace`] for more bytes before
/// answering. It reads at most [`MAX_REQUEST_LEN`] bytes per connection, answers,
/// half-closes and discards what the client still sends until it hangs up; each
/// connection has its own deadline ([`LegacyResponder::with_timeout`]) and at most
/// [`LegacyResponder::MAX_CONNECTIONS`] are served at once (more are closed at once).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use mc_protocol::legacy::LegacyStatus;
/// use mc_protocol::net::legacy::LegacyResponder;
/// let status = LegacyStatus { version: None, motd: "Hi".into(), online: 0, max: 20 };
/// let responder = LegacyResponder::bind("127.0.0.1:0".parse().unwrap(), status).await?;
/// let handle = responder.spawn(); // stops when `handle` is dropped
/// println!("listening on {}", handle.local_addr());
/// # Ok(()) }
/// ```
pub struct LegacyResponder {
    listener: TcpListener,
    provider: Provider,
    timeout: Duration,
    grace: Duration,
}

impl fmt::Debug for LegacyResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyResponder")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("timeout", &self.timeout)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl LegacyResponder {
    /// Default per-connection deadline.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default wait for more request bytes after a prefix.
    pub const DEFAULT_GRACE: Duration = Duration::from_millis(50);
    /// Connections served at once; further ones are closed without an answer.
    pub const MAX_CONNECTIONS: usize = 256;

    /// Binds `addr` and answers every request with `status`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(addr: SocketAddr, status: LegacyStatus) -> io::Result<Self> {
        Self::bind_with(addr, move |_| status.clone()).await
    }

    /// Binds `addr` and answers each request with what `provider` returns for it.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind_with<F>(addr: SocketAddr, provider: F) -> io::Result<Self>
    where
        F: Fn(&LegacyPingC2s) -> LegacyStatus + Send + Sync + 'static,
    {
        Ok(Self {
            listener: super::listen(addr)?,
            provider: Arc::new(provider),
            timeout: Self::DEFAULT_TIMEOUT,
            grace: Self::DEFAULT_GRACE,
        })
    }

    /// Sets the per-connection deadline.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how long to wait for more bytes after a request prefix.
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The bound address.
    ///
    /// # Errors
    /// As [`TcpListener::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the future is dropped (which also drops every open connection).
    ///
    /// An error accepting one connection skips it; an error of the listener itself
    /// (e.g. out of file descriptors) pauses accepting for [`ACCEPT_BACKOFF`].
    pub async fn serve(self) {
        let mut connections = JoinSet::new();
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if !is_per_connection(&e) {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            };
            while connections.try_join_next().is_some() {}
            if connections.len() >= Self::MAX_CONNECTIONS {
                continue;
            }
            let provider = Arc::clone(&self.provider);
            let (timeout, grace) = (self.timeout, self.grace);
            connections.spawn(async move {
                // A failed or timed-out connection concerns only that client.
                let _ = tokio::time::timeout(timeout, answer(stream, &*provider, grace)).await;
            });
        }
    }

    /// Serves on a background task; the task stops when the handle is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(self) -> LegacyResponderHandle {
        // `bind` succeeded, so the listener has an address.
        let addr = self
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        LegacyResponderHandle {
            addr,
            task: tokio::spawn(self.serve()),
        }
    }
}

/// A responder running on a background task; dropping the handle stops it.
#[derive(Debug)]
pub struct LegacyResponderHandle {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl LegacyResponderHandle {
    /// The address the responder listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LegacyResponderHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (bounded), answers it, half-closes and drains.
async fn answer(
    mut stream: TcpStream,
    provider: &(dyn Fn(&LegacyPingC2s) -> LegacyStatus + Send + Sync),
    grace: Duration,
) -> io::Result<()> {
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let mut len = 0;
    let request = loop {
        let progress = match buf.get(..len) {
            Some([]) | None => None,
            Some(received) => match LegacyPingC2s::decode_partial(received) {
                Ok(progress) => Some(progress),
                // Not a legacy ping: hang up without an answer.
                Err(_) => return Ok(()),
            },
        };
        let room = buf.get_mut(len..).unwrap_or_default();
        let full = room.is_empty();
        let read = stream.read(room);
        let n = match progress {
            Some(RequestProgress::Complete(request)) => break request,
            Some(RequestProgress::Prefix(request)) => {
                if full {
                    break request;
                }
                match tokio::time::timeout(grace, read).await {
                    Err(_) | Ok(Ok(0)) => break request,
                    Ok(result) => result?,
                }
            }
            None => match read.await? {
                0 => return Ok(()),
                n => n,
            },
        };
        len += n;
    };
    let status = provider(&request).for_form(request.form());
    let mut out = Vec::new();
    LegacyKickS2c::from_status(&status).encode(&mut out);
    stream.write_all(&out).await?;
    stream.shutdown().await?;
    // Discard what the client still sends until it hangs up, so that closing with
    // unread bytes does not reset the connection before the client read the reply.
    let mut sink = [0u8; 512];
    while stream.read(&mut sink).await? != 0 {}
    Ok(())
}
