//! Java Server List Ping over TCP: the [`status`] client and the [`JavaResponder`].
//!
//! The client runs [`crate::java::StatusClient`] over a `TcpStream`: handshake and
//! status request, status response, then ping and pong for the latency, all under
//! one deadline ([`ClientOptions::timeout`]). A server that answers the status but
//! not the ping (closes, stalls until the deadline, sends garbage) still yields the
//! status, with `latency: None`; only a pong with the *wrong* payload is an error
//! ([`NetError::Mismatch`]).
//!
//! [`status_with`] and [`JavaOptions`] make the ping optional: with
//! [`LatencyFrom::StatusRoundTrip`] no ping is sent, the connection is closed once the
//! status arrived, and the latency is the status request's round trip (one write and
//! one read fewer per lookup; for frequent polls such as watches, where the vanilla
//! ping measure matters less than the client's CPU).
//!
//! The handshake announces protocol version -1 ([`HandshakeC2s::PROTOCOL_ANY`]), the
//! convention for "I only want the status, any version": vanilla servers, proxies
//! and the npm `minecraft-protocol` server answer it with their own version.
//! ([`status_with_protocol`] announces another, e.g. for a proxy that answers per
//! client version.)

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, timeout_at};

use super::{ClientOptions, NetError};
use crate::DecodeError;
use crate::java::{
    ExchangeError, Frame, FrameDecoder, HandshakeC2s, JavaStatus, NextState, Packet,
    PingRequestC2s, PongResponseS2c, StatusClient, StatusRequestC2s, StatusResponseS2c,
};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 8 * 1024;

/// The deadline used when `now + timeout` does not fit an `Instant` (about 30
/// years, as tokio does for `timeout(Duration::MAX, ..)`).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// What [`status`] learned.
#[derive(Debug, Clone, PartialEq)]
pub struct JavaStatusReply {
    /// The decoded status.
    pub status: JavaStatus,
    /// The status JSON exactly as the server sent it.
    pub json: String,
    /// The ping/pong round trip; `None` when the server answered the status but not
    /// the ping before the deadline. With [`LatencyFrom::StatusRoundTrip`], the
    /// status request's round trip, always `Some`.
    pub latency: Option<Duration>,
}

/// Where [`status_with`] takes the latency from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencyFrom {
    /// A ping after the status and the pong's round trip, as the vanilla client
    /// measures it. A server that answers the status but not the ping still yields
    /// the status, with `latency: None`.
    #[default]
    Ping,
    /// No ping: the time from writing the handshake and status request to the whole
    /// status response having arrived. It includes the server building its answer and
    /// sending a few KiB (more with a large favicon), so it reads somewhat higher than
    /// the ping; `latency` is always `Some`. The connection closes after the status.
    StatusRoundTrip,
}

/// Java-specific settings of [`status_with`] (the deadline and frame bound are in
/// [`ClientOptions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JavaOptions {
    /// The protocol version announced in the handshake
    /// ([`HandshakeC2s::PROTOCOL_ANY`] by default; see the [module docs](self)).
    pub protocol_version: i32,
    /// Where the latency comes from ([`LatencyFrom::Ping`] by default).
    pub latency: LatencyFrom,
}

impl JavaOptions {
    /// The lighter exchange: [`LatencyFrom::StatusRoundTrip`], no ping.
    #[must_use]
    pub const fn without_ping(mut self) -> Self {
        self.latency = LatencyFrom::StatusRoundTrip;
        self
    }
}

impl Default for JavaOptions {
    fn default() -> Self {
        Self {
            protocol_version: HandshakeC2s::PROTOCOL_ANY,
            latency: LatencyFrom::Ping,
        }
    }
}

/// Asks the Java server at `addr` for its status and latency, telling it the client
/// was pointed at `host:port` (what a player typed, after SRV resolution: many
/// proxies route on it). Announces protocol version -1 (see the [module
/// docs](self)).
///
/// # Errors
/// [`NetError::Timeout`] when the status does not arrive within the deadline,
/// [`NetError::Connect`], [`NetError::Io`], [`NetError::Closed`] before the status,
/// [`NetError::Decode`] for a bad frame or status (`FrameTooLarge`,
/// `VarIntTooLong`, `InvalidText`, `InvalidJson`, ...), [`NetError::Mismatch`] for a
/// pong with the wrong payload.
pub async fn status(
    addr: SocketAddr,
    host: &str,
    port: u16,
    opts: &ClientOptions,
) -> Result<JavaStatusReply, NetError> {
    status_with(addr, host, port, opts, JavaOptions::default()).await
}

/// [`status`], announcing `protocol_version` in the handshake.
///
/// # Errors
/// As [`status`].
pub async fn status_with_protocol(
    addr: SocketAddr,
    host: &str,
    port: u16,
    protocol_version: i32,
    opts: &ClientOptions,
) -> Result<JavaStatusReply, NetError> {
    let java = JavaOptions {
        protocol_version,
        ..JavaOptions::default()
    };
    status_with(addr, host, port, opts, java).await
}

/// [`status`] with Java-specific settings: the protocol version announced, and
/// whether to ping ([`JavaOptions`]).
///
/// # Errors
/// As [`status`] (no [`NetError::Mismatch`] without a ping).
pub async fn status_with(
    addr: SocketAddr,
    host: &str,
    port: u16,
    opts: &ClientOptions,
    java: JavaOptions,
) -> Result<JavaStatusReply, NetError> {
    // Checked: `Duration::MAX` means "no practical deadline" (as `with_deadline`
    // treats it), not an overflow panic.
    let now = Instant::now();
    let deadline = now
        .checked_add(opts.timeout)
        .unwrap_or_else(|| now + FAR_FUTURE);
    let mut client = StatusClient::new(java.protocol_version, host, port, opts.max_frame);
    // One timer for the whole exchange. The status is put here as soon as it is
    // decoded, so that it survives the deadline passing during the ping.
    let mut answered: Option<(JavaStatus, String)> = None;
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.map_err(NetError::Connect)?;
        // Latency is measured on small writes: do not let Nagle delay them.
        let _ = stream.set_nodelay(true);
        let sent = Instant::now();
        flush(&mut stream, &mut client).await?;
        let response = loop {
            if let Some(response) = client.poll_status() {
                break response;
            }
            read_into(&mut stream, &mut client).await?;
        };
        let round_trip = sent.elapsed();
        let status = JavaStatus::from_json(&response.json)?;
        answered = Some((status, response.json));
        if java.latency == LatencyFrom::StatusRoundTrip {
            return Ok(Some(round_trip));
        }
        match ping(&mut stream, &mut client).await {
            Ok(latency) => Ok(Some(latency)),
            Err(e @ NetError::Mismatch(_)) => Err(e),
            // No valid pong: the status stands on its own.
            Err(_) => Ok(None),
        }
    };
    let latency = match timeout_at(deadline, exchange).await {
        Ok(Ok(latency)) => latency,
        Ok(Err(e)) => return Err(e),
        // The deadline passed: without a pong if the status is in, else a timeout.
        Err(_) => None,
    };
    let Some((status, json)) = answered else {
        return Err(NetError::Timeout(opts.timeout));
    };
    Ok(JavaStatusReply {
        status,
        json,
        latency,
    })
}

async fn flush(stream: &mut TcpStream, client: &mut StatusClient) -> Result<(), NetError> {
    if let Some(bytes) = client.poll_transmit() {
        stream.write_all(&bytes).await?;
    }
    Ok(())
}

async fn ping(stream: &mut TcpStream, client: &mut StatusClient) -> Result<Duration, NetError> {
    client.send_ping(ping_payload()).map_err(exchange_error)?;
    let start = Instant::now();
    flush(stream, client).await?;
    // Bytes that arrived with the status (a second packet) are already queued.
    client.handle_bytes(&[]).map_err(exchange_error)?;
    while !client.is_done() {
        read_into(stream, client).await?;
    }
    Ok(start.elapsed())
}

/// Reads what `stream` holds (at most [`READ_CHUNK`] bytes) into the thread's shared
/// buffer and hands it to `f`: an empty slice at the end of the stream. The exchange
/// holds no read buffer of its own while it waits; readiness is handled as by
/// `AsyncReadExt::read` (a short read marks the socket drained, so the next call
/// waits for the kernel instead of trying a read that would block).
async fn read_chunk<T>(stream: &mut TcpStream, mut f: impl FnMut(&[u8]) -> T) -> io::Result<T> {
    std::future::poll_fn(|cx| {
        super::with_recv_buf(READ_CHUNK, |buf| {
            let mut read = ReadBuf::new(buf);
            match Pin::new(&mut *stream).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(f(read.filled()))),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    })
    .await
}

/// Feeds the next bytes from `stream` to `client`.
///
/// # Errors
/// [`NetError::Closed`] at the end of the stream, [`NetError::Io`], or the client's
/// error for the bytes.
async fn read_into(stream: &mut TcpStream, client: &mut StatusClient) -> Result<(), NetError> {
    read_chunk(stream, |bytes| {
        if bytes.is_empty() {
            Err(NetError::Closed)
        } else {
            client.handle_bytes(bytes).map_err(exchange_error)
        }
    })
    .await?
}

/// A payload no server can predict: the clock hashed with a random key.
fn ping_payload() -> i64 {
    let mut h = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.finish() as i64
}

fn exchange_error(e: ExchangeError) -> NetError {
    match e {
        ExchangeError::Decode(e) => NetError::Decode(e),
        mismatch @ ExchangeError::PongMismatch { .. } => NetError::Mismatch(mismatch.to_string()),
        other => NetError::Io(io::Error::other(other.to_string())),
    }
}

/// What a [`JavaResponder`] answers to a status request: a status, or raw JSON
/// sent as is (which may be anything, for tests).
#[derive(Debug, Clone, PartialEq)]
pub enum JavaReply {
    /// Serialised with [`JavaStatus::to_json`] (boxed: a status is large).
    Status(Box<JavaStatus>),
    /// Sent verbatim.
    Json(String),
}

impl JavaReply {
    fn into_json(self) -> String {
        match self {
            Self::Status(s) => s.to_json(),
            Self::Json(j) => j,
        }
    }
}

impl From<JavaStatus> for JavaReply {
    fn from(s: JavaStatus) -> Self {
        Self::Status(Box::new(s))
    }
}

impl From<String> for JavaReply {
    fn from(s: String) -> Self {
        Self::Json(s)
    }
}

impl From<&str> for JavaReply {
    fn from(s: &str) -> Self {
        Self::Json(s.to_owned())
    }
}

type Provider = Arc<dyn Fn(&HandshakeC2s) -> JavaReply + Send + Sync>;

/// A minimal Java server that answers the Server List Ping (handshake, status,
/// ping) with a status from a caller-provided closure, and nothing else: a login
/// handshake or any unexpected packet closes the connection, as does garbage.
///
/// Each connection has its own deadline ([`Self::DEFAULT_TIMEOUT`]) and frame bound
/// ([`Self::DEFAULT_MAX_FRAME`], far above what a status client sends); at most
/// [`Self::DEFAULT_MAX_CONNECTIONS`] are served at once.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use mc_protocol::java::JavaStatus;
/// use mc_protocol::net::java::JavaResponder;
/// let status = JavaStatus::from_json(r#"{"description":"hi"}"#).unwrap();
/// let responder = JavaResponder::bind("127.0.0.1:0".parse().unwrap(), move |_| status.clone()).await?;
/// let handle = responder.spawn(); // stops when `handle` is dropped
/// println!("listening on {}", handle.local_addr());
/// # Ok(()) }
/// ```
pub struct JavaResponder {
    listener: TcpListener,
    provider: Provider,
    timeout: Duration,
    max_frame: usize,
    max_connections: usize,
}

impl std::fmt::Debug for JavaResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JavaResponder")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("timeout", &self.timeout)
            .field("max_frame", &self.max_frame)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl JavaResponder {
    /// Default per-connection deadline: 10 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default bound on a frame from a client: 4 KiB (a handshake is at most
    /// about 780 bytes).
    pub const DEFAULT_MAX_FRAME: usize = 4096;
    /// Default bound on connections served at once.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

    /// Binds `addr` (port 0 for any free port). `provider` is called for every
    /// status request with the client's handshake and returns a [`JavaStatus`], a
    /// JSON `String` or anything else convertible to [`JavaReply`].
    ///
    /// # Errors
    /// The bind error.
    pub async fn bind<F, R>(addr: SocketAddr, provider: F) -> io::Result<Self>
    where
        F: Fn(&HandshakeC2s) -> R + Send + Sync + 'static,
        R: Into<JavaReply>,
    {
        let listener = super::listen(addr)?;
        Ok(Self {
            listener,
            provider: Arc::new(move |h: &HandshakeC2s| provider(h).into()),
            timeout: Self::DEFAULT_TIMEOUT,
            max_frame: Self::DEFAULT_MAX_FRAME,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        })
    }

    /// Sets the per-connection deadline.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the largest frame accepted from a client.
    #[must_use]
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame;
        self
    }

    /// Sets how many connections are served at once (at least 1, at most
    /// [`Semaphore::MAX_PERMITS`], so `usize::MAX` means "no practical cap");
    /// further clients wait in the listen backlog.
    #[must_use]
    pub fn with_max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// The address actually bound.
    ///
    /// # Errors
    /// As [`TcpListener::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the future is dropped (which also stops every connection).
    /// Accept errors (e.g. out of file descriptors) are retried after a pause, never
    /// returned.
    pub async fn run(self) {
        let permits = Arc::new(Semaphore::new(self.max_connections));
        let mut connections = JoinSet::new();
        loop {
            while connections.try_join_next().is_some() {}
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let provider = Arc::clone(&self.provider);
            let (timeout, max_frame) = (self.timeout, self.max_frame);
            connections.spawn(async move {
                let _ = tokio::time::timeout(timeout, serve(stream, &provider, max_frame)).await;
                drop(permit);
            });
        }
    }

    /// Serves in a background task; dropping (or [`JavaResponderHandle::abort`]ing)
    /// the handle stops it.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(self) -> JavaResponderHandle {
        let local_addr = self
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        JavaResponderHandle {
            local_addr,
            task: tokio::spawn(self.run()),
        }
    }
}

/// A [`JavaResponder`] running in the background; dropping it stops the responder.
#[derive(Debug)]
pub struct JavaResponderHandle {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl JavaResponderHandle {
    /// The address the responder listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the responder and every connection it serves.
    pub fn abort(&self) {
        self.task.abort();
    }
}

impl Drop for JavaResponderHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the next frame; `Ok(None)` on a clean end of stream between frames.
async fn next_frame(
    stream: &mut TcpStream,
    decoder: &mut FrameDecoder,
) -> Result<Option<Frame>, NetError> {
    loop {
        if let Some(frame) = decoder.try_next_frame()? {
            return Ok(Some(frame));
        }
        // The decoder holds less than one frame here, so reading a bounded chunk
        // keeps the buffer under max_frame + prefix + chunk. The chunk is read into
        // the thread's shared buffer: an idle connection holds none.
        let read = read_chunk(stream, |bytes| {
            decoder.queue_bytes(bytes);
            bytes.len()
        })
        .await?;
        if read == 0 {
            return if decoder.buffered() == 0 {
                Ok(None)
            } else {
                Err(NetError::Closed)
            };
        }
    }
}

/// One connection: handshake, then status requests and a ping, as vanilla does
/// (one status answer, the connection closes after the pong).
async fn serve(
    mut stream: TcpStream,
    provider: &Provider,
    max_frame: usize,
) -> Result<(), NetError> {
    let _ = stream.set_nodelay(true);
    let mut decoder = FrameDecoder::with_max_frame(max_frame);
    let Some(frame) = next_frame(&mut stream, &mut decoder).await? else {
        return Ok(());
    };
    let handshake = HandshakeC2s::from_frame(&frame)?;
    if handshake.next_state != NextState::Status {
        return Ok(());
    }
    let mut answered = false;
    while let Some(frame) = next_frame(&mut stream, &mut decoder).await? {
        match frame.id {
            StatusRequestC2s::ID if !answered => {
                StatusRequestC2s::from_frame(&frame)?;
                let json = provider(&handshake).into_json();
                stream
                    .write_all(&StatusResponseS2c { json }.to_frame_bytes())
                    .await?;
                answered = true;
            }
            PingRequestC2s::ID => {
                let ping = PingRequestC2s::from_frame(&frame)?;
                stream
                    .write_all(
                        &PongResponseS2c {
                            payload: ping.payload,
                        }
                        .to_frame_bytes(),
                    )
                    .await?;
                stream.shutdown().await?;
                return Ok(());
            }
            found => {
                return Err(NetError::Decode(DecodeError::UnexpectedPacketId {
                    expected: if answered {
                        PingRequestC2s::ID
                    } else {
                        StatusRequestC2s::ID
                    },
                    found,
                }));
            }
        }
    }
    Ok(())
}
