//! `mcstat-bench client TOOL WORKLOAD HOST PORT N CONCURRENCY WARMUP`: the Rust tools,
//! with the same arguments and output as `tests/peers/bench-mcstatus.py` and
//! `tests/peers/bench-util.js`.
//!
//! Tools:
//! - `ours`: `mc_protocol::net` (Java `status` = status + ping on one connection,
//!   Query `full`, Bedrock `status`);
//! - `ours-status`: our sans-IO [`StatusClient`] over a `TcpStream`, stopping after the
//!   status (no ping), to compare with clients that do not ping;
//! - `craftping`: crates.io `craftping` (status only: it has no ping/pong);
//! - `floor`: the same bytes as `ours` on the same kind of socket, precomputed, with
//!   nothing decoded beyond the frame length (Java) or the challenge token (Query);
//! - `floor-status`: `floor` without the ping.
//!
//! Every tool runs on a single-threaded tokio runtime (as mcstatus on asyncio and
//! minecraft-server-util on node), with a 5 s deadline per lookup. Output: one JSON
//! object, `{"ok", "errors", "error", "elapsed_s", "cpu_s", "lat_us"}`, where `cpu_s`
//! is the process's CPU time (user + system) over the timed part.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mc_protocol::java::{
    HandshakeC2s, JavaStatus, Packet, PingRequestC2s, StatusClient, StatusRequestC2s,
};
use mc_protocol::net::ClientOptions;
use mc_protocol::{bedrock, net, query};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinSet;

/// The deadline of every lookup, for every tool.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Sequential Java lookups, each timed.
    Latency,
    /// Java lookups, `concurrency` at a time, timed as a whole.
    Throughput,
    /// Sequential Query full stats.
    Query,
    /// Sequential Bedrock pings.
    Bedrock,
}

impl Workload {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "latency" => Self::Latency,
            "throughput" => Self::Throughput,
            "query" => Self::Query,
            "bedrock" => Self::Bedrock,
            other => return Err(format!("unknown workload {other}")),
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Throughput => "throughput",
            Self::Query => "query",
            Self::Bedrock => "bedrock",
        }
    }
}

/// The Rust tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    Ours,
    OursStatus,
    Craftping,
    Floor,
    FloorStatus,
}

impl Tool {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "ours" => Self::Ours,
            "ours-status" => Self::OursStatus,
            "craftping" => Self::Craftping,
            "floor" => Self::Floor,
            "floor-status" => Self::FloorStatus,
            other => return Err(format!("unknown tool {other}")),
        })
    }
}

/// One run's parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) workload: Workload,
    pub(crate) addr: SocketAddr,
    pub(crate) n: usize,
    pub(crate) concurrency: usize,
    pub(crate) warmup: usize,
}

/// Everything a lookup needs, shared by the workers.
#[derive(Debug)]
pub(crate) struct Ctx {
    tool: Tool,
    workload: Workload,
    addr: SocketAddr,
    host: String,
    timeout: Duration,
    opts: ClientOptions,
    /// Floor: handshake + status request, as our client writes them.
    java_request: Vec<u8>,
    /// Floor: a ping frame.
    java_ping: Vec<u8>,
    /// Floor: a Query handshake.
    query_handshake: Vec<u8>,
    /// Floor: a Bedrock unconnected ping.
    bedrock_ping: Vec<u8>,
}

const FLOOR_SESSION: u32 = 0x0102_0304;

impl Ctx {
    pub(crate) fn new(tool: Tool, workload: Workload, addr: SocketAddr) -> Self {
        let host = addr.ip().to_string();
        let mut java_request = Vec::new();
        HandshakeC2s::status(HandshakeC2s::PROTOCOL_ANY, &host, addr.port())
            .encode(&mut java_request);
        StatusRequestC2s.encode(&mut java_request);
        let mut query_handshake = Vec::new();
        query::HandshakeC2s {
            session_id: query::SessionId(FLOOR_SESSION),
        }
        .encode(&mut query_handshake);
        let mut bedrock_ping = Vec::new();
        bedrock::UnconnectedPingC2s {
            time: 1,
            client_guid: 2,
            open_connections_only: false,
        }
        .encode(&mut bedrock_ping);
        Self {
            tool,
            workload,
            addr,
            host,
            timeout: TIMEOUT,
            opts: ClientOptions {
                timeout: TIMEOUT,
                ..ClientOptions::default()
            },
            java_request,
            java_ping: PingRequestC2s { payload: 42 }.to_frame_bytes(),
            query_handshake,
            bedrock_ping,
        }
    }

    /// Sets the deadline of every lookup.
    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.opts.timeout = timeout;
        self
    }

    /// One lookup; `scratch` is the worker's reusable buffer (used by the floor and
    /// `ours-status`).
    pub(crate) async fn lookup(&self, scratch: &mut Vec<u8>) -> Result<(), String> {
        match (self.tool, self.workload) {
            (Tool::Ours, Workload::Latency | Workload::Throughput) => {
                let reply = net::java::status(self.addr, &self.host, self.addr.port(), &self.opts)
                    .await
                    .map_err(|e| e.to_string())?;
                check(reply.latency.is_some() && reply.status.players.is_some())
            }
            (Tool::Ours, Workload::Query) => {
                let stat = net::query::full(self.addr, &self.opts)
                    .await
                    .map_err(|e| e.to_string())?;
                check(stat.players.len() == 100)
            }
            (Tool::Ours, Workload::Bedrock) => {
                let reply = net::bedrock::status(self.addr, &self.opts)
                    .await
                    .map_err(|e| e.to_string())?;
                check(reply.status.max == 10)
            }
            (Tool::OursStatus, Workload::Latency | Workload::Throughput) => {
                deadline(self.timeout, self.ours_status_only(scratch)).await
            }
            (Tool::Craftping, Workload::Latency | Workload::Throughput) => {
                deadline(self.timeout, async {
                    let mut stream = TcpStream::connect(self.addr)
                        .await
                        .map_err(|e| e.to_string())?;
                    let response = craftping::tokio::ping(
                        &mut stream,
                        &self.host,
                        self.addr.port(),
                        craftping::PROTOCOL_VERSION_NOT_SET,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    check(response.max_players == 100)
                })
                .await
            }
            (Tool::Floor, Workload::Latency | Workload::Throughput) => {
                deadline(self.timeout, self.floor_java(scratch, true)).await
            }
            (Tool::FloorStatus, Workload::Latency | Workload::Throughput) => {
                deadline(self.timeout, self.floor_java(scratch, false)).await
            }
            (Tool::Floor, Workload::Query) => {
                deadline(self.timeout, self.floor_query(scratch)).await
            }
            (Tool::Floor, Workload::Bedrock) => {
                deadline(self.timeout, self.floor_bedrock(scratch)).await
            }
            (tool, workload) => Err(format!("{tool:?} has no {workload:?} workload")),
        }
    }

    /// Our sans-IO client, as `net::java::status` drives it, stopping at the status.
    async fn ours_status_only(&self, scratch: &mut Vec<u8>) -> Result<(), String> {
        let mut client = StatusClient::new(
            HandshakeC2s::PROTOCOL_ANY,
            &self.host,
            self.addr.port(),
            self.opts.max_frame,
        );
        let mut stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        if let Some(bytes) = client.poll_transmit() {
            stream.write_all(&bytes).await.map_err(|e| e.to_string())?;
        }
        scratch.resize(8 * 1024, 0);
        loop {
            if let Some(response) = client.poll_status() {
                let status = JavaStatus::from_json(&response.json).map_err(|e| e.to_string())?;
                return check(status.players.is_some());
            }
            let n = stream.read(scratch).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("closed".into());
            }
            client
                .handle_bytes(scratch.get(..n).unwrap_or_default())
                .map_err(|e| e.to_string())?;
        }
    }

    async fn floor_java(&self, scratch: &mut Vec<u8>, ping: bool) -> Result<(), String> {
        let mut stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        stream
            .write_all(&self.java_request)
            .await
            .map_err(|e| e.to_string())?;
        read_frame(&mut stream, scratch).await?;
        if ping {
            stream
                .write_all(&self.java_ping)
                .await
                .map_err(|e| e.to_string())?;
            read_frame(&mut stream, scratch).await?;
        }
        Ok(())
    }

    async fn floor_query(&self, scratch: &mut Vec<u8>) -> Result<(), String> {
        let socket = udp_connected(self.addr).await?;
        socket
            .send(&self.query_handshake)
            .await
            .map_err(|e| e.to_string())?;
        scratch.resize(65_536, 0);
        let n = socket.recv(scratch).await.map_err(|e| e.to_string())?;
        // The token: ASCII digits after the 5-byte header, NUL-terminated.
        let token: i32 = scratch
            .get(5..n.saturating_sub(1))
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| t.parse().ok())
            .ok_or("bad token")?;
        let mut request = [0u8; 15];
        request[..3].copy_from_slice(&[0xFE, 0xFD, 0]);
        request[3..7].copy_from_slice(&FLOOR_SESSION.to_be_bytes());
        request[7..11].copy_from_slice(&token.to_be_bytes());
        socket.send(&request).await.map_err(|e| e.to_string())?;
        let n = socket.recv(scratch).await.map_err(|e| e.to_string())?;
        check(n > 100)
    }

    async fn floor_bedrock(&self, scratch: &mut Vec<u8>) -> Result<(), String> {
        let socket = udp_connected(self.addr).await?;
        socket
            .send(&self.bedrock_ping)
            .await
            .map_err(|e| e.to_string())?;
        scratch.resize(65_536, 0);
        let n = socket.recv(scratch).await.map_err(|e| e.to_string())?;
        check(n > bedrock::PONG_HEADER_LEN)
    }
}

fn check(ok: bool) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err("unexpected answer".into())
    }
}

async fn deadline<F: Future<Output = Result<(), String>>>(
    timeout: Duration,
    fut: F,
) -> Result<(), String> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| Err("timeout".into()))
}

async fn udp_connected(addr: SocketAddr) -> Result<UdpSocket, String> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .await
        .map_err(|e| e.to_string())?;
    socket.connect(addr).await.map_err(|e| e.to_string())?;
    Ok(socket)
}

/// Reads one whole frame (VarInt length prefix and body) into `buf`.
async fn read_frame(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    buf.clear();
    loop {
        if let Ok((len, prefix)) = mc_protocol::VarInt::decode(buf)
            && buf.len() >= prefix + usize::try_from(len.0).map_err(|e| e.to_string())?
        {
            return Ok(());
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        if stream.read_buf(buf).await.map_err(|e| e.to_string())? == 0 {
            return Err("closed".into());
        }
    }
}

/// Runs one tool on one workload and returns the JSON result.
///
/// `MCSTAT_BENCH_WORKERS=N` (N ≥ 2) runs it on a multi-threaded tokio runtime with N
/// workers instead of the single thread every tool gets in `run` (for experiments by
/// hand: what a client could do with more cores).
pub(crate) fn run(tool: Tool, spec: Spec) -> Result<Value, String> {
    let workers = std::env::var("MCSTAT_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok())
        .filter(|w| *w >= 2);
    let runtime = match workers {
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .map_err(|e| e.to_string())?;
    runtime.block_on(run_async(tool, spec))
}

#[derive(Debug, Default)]
struct Tally {
    ok: AtomicUsize,
    errors: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn record(&self, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert(e);
                }
                false
            }
        }
    }
}

async fn run_async(tool: Tool, spec: Spec) -> Result<Value, String> {
    let ctx = Arc::new(Ctx::new(tool, spec.workload, spec.addr));
    let mut scratch = Vec::new();
    for _ in 0..spec.warmup {
        let _ = ctx.lookup(&mut scratch).await;
    }
    let tally = Arc::new(Tally::default());
    let mut lat_us = Vec::with_capacity(spec.n);
    let start = Instant::now();
    let cpu_start = process_cpu_seconds();
    if spec.workload == Workload::Throughput {
        let remaining = Arc::new(AtomicUsize::new(spec.n));
        let mut workers = JoinSet::new();
        for _ in 0..spec.concurrency.max(1) {
            let (ctx, tally, remaining) =
                (Arc::clone(&ctx), Arc::clone(&tally), Arc::clone(&remaining));
            workers.spawn(async move {
                let mut scratch = Vec::new();
                while remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                    .is_ok()
                {
                    tally.record(ctx.lookup(&mut scratch).await);
                }
            });
        }
        while workers.join_next().await.is_some() {}
    } else {
        for _ in 0..spec.n {
            let t = Instant::now();
            if tally.record(ctx.lookup(&mut scratch).await) {
                lat_us.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds()
        .zip(cpu_start)
        .map(|(end, start)| end - start);
    let first_error = tally.first_error.lock().ok().and_then(|e| e.clone());
    Ok(json!({
        "ok": tally.ok.load(Ordering::Relaxed),
        "errors": tally.errors.load(Ordering::Relaxed),
        "error": first_error,
        "elapsed_s": elapsed,
        "cpu_s": cpu,
        "lat_us": lat_us,
    }))
}

/// This process's CPU time (user + system, every thread) from `/proc/self/stat`, in
/// seconds (10 ms resolution: Linux reports it in USER_HZ = 100 ticks per second).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
