//! `mcstat-bench watch-scale`: the cost of watching N servers from one process.
//!
//! Three processes per N:
//!
//! - `watch-serve FROM COUNT`: one [`JavaResponder`] per target address
//!   (`127.a.b.c`, ports 20000–20009, see [`target_addr`]) for targets
//!   `FROM..FROM + COUNT`, in a single-threaded runtime; the driver starts one per
//!   15,000 targets (an unprivileged process cannot raise its open-file limit past the
//!   hard limit, 20,000 here). Prints `ready COUNT`, then serves until its standard
//!   input closes.
//! - `watch-poll N INTERVAL WINDOW CONCURRENCY`: the process measured. The real
//!   core [`Scheduler`] (`run_with`, as a bot runs it) on a multi-threaded tokio
//!   runtime (the bots' kind) with the real [`NetworkSource`] in its watch mode, as
//!   the bots' scheduler gets it (`for_watches`: no ping, no favicon decoding; target
//!   policy allowing loopback, default client options: 5 s deadline), [`MemoryLeases`], a
//!   counting notifier, and [`MemStore`]: an in-memory watch store holding the N
//!   watches (10 per chat, as the per-chat limit allows) whose history side only
//!   counts the samples appended (a real deployment keeps history in the file store or
//!   Redis, outside the scheduler's heap). The first round polls every target at
//!   once (none was polled in the current slot yet): that is the warm-up. After it
//!   (plus a few seconds), CPU time (getrusage, every thread) and samples appended
//!   are read at the start and the end of a window of wall time; peak RSS is
//!   `VmHWM` (so it includes the warm-up burst). Prints one JSON line.
//! - `watch-scale`: the driver; runs both for each N and prints a markdown table.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mc_protocol::address::Edition;
use mc_protocol::net::java::JavaResponder;
use mcstat_adapters::{ClientOptions, NetworkSource, SystemClock};
use mcstat_core::history::Stream;
use mcstat_core::ports::{
    Clock, HistoryStore, Notification, Notifier, NotifyError, StoreError, WatchStore,
};
use mcstat_core::watch::{MemoryLeases, Scheduler, SchedulerPorts, WatchConfig};
use mcstat_core::{ChatRef, HistorySample, Platform, Target, TargetPolicy, Timestamp, Watch};

use crate::fixtures;

/// Target ports: `BASE_PORT..BASE_PORT + PORTS` (below the ephemeral range).
const BASE_PORT: u16 = 20_000;
const PORTS: usize = 10;
/// The most targets [`target_addr`] spreads without repeating.
pub(crate) const MAX_N: usize = 1_000_000;
/// The environment variable that hands the Redis URL to `watch-poll` (empty: the
/// counting store only).
const REDIS_ENV: &str = "MCSTAT_BENCH_REDIS_URL";

/// Targets per `watch-serve` process: under the usual hard open-file limit (20,000
/// here) that an unprivileged process cannot raise.
const PER_SERVER: usize = 15_000;
/// Seconds between the end of the warm-up burst and the measured window.
const SETTLE: Duration = Duration::from_secs(5);
/// The longest the warm-up may take before the run is declared failed.
const WARMUP_LIMIT: Duration = Duration::from_secs(900);

/// The address of target `i`: ten ports per loopback address, addresses
/// `127.10.1.1`, `127.10.1.2`, … (last two octets 1–250).
pub(crate) fn target_addr(i: usize) -> SocketAddrV4 {
    let host = i / PORTS;
    let port = BASE_PORT + u16::try_from(i % PORTS).unwrap_or(0);
    let octet = |v: usize| u8::try_from(v).unwrap_or(u8::MAX);
    let ip = Ipv4Addr::new(
        127,
        octet(10 + host / 62_500),
        octet(host / 250 % 250 + 1),
        octet(host % 250 + 1),
    );
    SocketAddrV4::new(ip, port)
}

// ---------------------------------------------------------------------------
// Process measurements

/// Raise the soft (and, when allowed, hard) open-file limit to at least `want`.
/// Returns the soft limit in force.
#[allow(unsafe_code)]
fn raise_nofile(want: u64) -> Result<u64, String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    if lim.rlim_cur >= want {
        return Ok(lim.rlim_cur);
    }
    let wanted = libc::rlimit {
        rlim_cur: want,
        rlim_max: lim.rlim_max.max(want),
    };
    // SAFETY: `wanted` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const wanted) } == 0 {
        return Ok(want);
    }
    // Not privileged: the hard limit is as far as it goes.
    let capped = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: `capped` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const capped) } != 0 {
        return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(lim.rlim_max)
}

/// User + system CPU time of this process (every thread).
#[allow(unsafe_code)]
fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is valid; `usage` is writable.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A `Vm*` line of /proc/self/status, in KiB.
fn vm_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The ports of the polling process

/// In-memory watches; a history that only counts what is appended.
#[derive(Debug, Default)]
pub(crate) struct MemStore {
    watches: Mutex<Vec<Watch>>,
    online: AtomicU64,
    offline: AtomicU64,
}

impl MemStore {
    fn with_targets(n: usize, now: Timestamp) -> Result<Self, String> {
        let mut watches = Vec::with_capacity(n);
        for i in 0..n {
            let target = Target::parse(&target_addr(i).to_string(), Edition::Java)
                .map_err(|e| format!("target {i}: {e}"))?;
            // Ten watches per chat, the per-chat limit.
            let chat = ChatRef::new(Platform::Telegram, (1_000_000 + i / 10).to_string())
                .map_err(|e| format!("chat: {e}"))?;
            watches.push(Watch {
                chat,
                target,
                created_at: now,
                players: Vec::new(),
            });
        }
        Ok(Self {
            watches: Mutex::new(watches),
            ..Self::default()
        })
    }

    fn watches(&self) -> std::sync::MutexGuard<'_, Vec<Watch>> {
        self.watches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn samples(&self) -> (u64, u64) {
        (
            self.online.load(Ordering::Relaxed),
            self.offline.load(Ordering::Relaxed),
        )
    }
}

#[async_trait]
impl WatchStore for MemStore {
    async fn add_watch(&self, watch: &Watch) -> Result<bool, StoreError> {
        let mut watches = self.watches();
        if watches
            .iter()
            .any(|w| w.chat == watch.chat && w.target == watch.target)
        {
            return Ok(false);
        }
        watches.push(watch.clone());
        Ok(true)
    }

    async fn remove_watch(&self, chat: &ChatRef, target: &Target) -> Result<bool, StoreError> {
        let mut watches = self.watches();
        let before = watches.len();
        watches.retain(|w| !(&w.chat == chat && &w.target == target));
        Ok(watches.len() != before)
    }

    async fn watches_of(&self, chat: &ChatRef) -> Result<Vec<Watch>, StoreError> {
        Ok(self
            .watches()
            .iter()
            .filter(|w| &w.chat == chat)
            .cloned()
            .collect())
    }

    async fn all_watches(&self) -> Result<Vec<Watch>, StoreError> {
        Ok(self.watches().clone())
    }
}

#[async_trait]
impl HistoryStore for MemStore {
    /// Counts the samples, keeps nothing (no head, no chunk: a restarted scheduler
    /// finds no history, as with a fresh store).
    async fn append_samples(&self, samples: &[HistorySample]) -> Result<(), StoreError> {
        let online = samples.iter().filter(|s| s.online).count() as u64;
        self.online.fetch_add(online, Ordering::Relaxed);
        self.offline
            .fetch_add(samples.len() as u64 - online, Ordering::Relaxed);
        Ok(())
    }

    async fn head(&self, _target: &Target) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    async fn chunks(
        &self,
        _target: &Target,
        _stream: Stream,
        _first: u64,
        _last: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(Vec::new())
    }

    async fn prune(&self, _now: Timestamp) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// History that goes to the real Redis store, counted on the way.
struct Tee {
    counting: Arc<MemStore>,
    redis: mcstat_adapters::RedisStore,
}

#[async_trait]
impl HistoryStore for Tee {
    async fn append_samples(&self, samples: &[HistorySample]) -> Result<(), StoreError> {
        self.redis.append_samples(samples).await?;
        self.counting.append_samples(samples).await
    }

    async fn head(&self, target: &Target) -> Result<Option<Vec<u8>>, StoreError> {
        self.redis.head(target).await
    }

    async fn chunks(
        &self,
        target: &Target,
        stream: Stream,
        first: u64,
        last: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.redis.chunks(target, stream, first, last).await
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.redis.prune(now).await
    }
}

/// The benchmark's view of its `redis-server`: memory used and CPU time.
struct RedisProbe {
    conn: redis::aio::MultiplexedConnection,
    pid: Option<u32>,
}

impl RedisProbe {
    async fn connect(url: &str) -> Result<Self, String> {
        let mut conn = redis::Client::open(url)
            .map_err(|e| e.to_string())?
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let pid = info_field(&info, "process_id").and_then(|v| v.parse().ok());
        Ok(Self { conn, pid })
    }

    async fn used_memory(&self) -> Result<u64, String> {
        let mut conn = self.conn.clone();
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        info_field(&info, "used_memory")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| "INFO memory without used_memory".to_owned())
    }

    fn cpu_secs(&self) -> Option<f64> {
        crate::history::proc_cpu_secs(self.pid?)
    }
}

fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// Counts notifications, delivers none.
#[derive(Debug, Default)]
struct CountingNotifier(AtomicU64);

#[async_trait]
impl Notifier for CountingNotifier {
    async fn notify(&self, _notification: &Notification) -> Result<(), NotifyError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// watch-serve

/// Serve targets `from..from + count`.
pub(crate) fn serve(from: usize, count: usize) -> Result<(), String> {
    let want = u64::try_from(count).unwrap_or(u64::MAX).saturating_add(256);
    let nofile = raise_nofile(want)?;
    if nofile < want {
        return Err(format!(
            "open-file limit {nofile}, {want} needed (serve fewer targets per process)"
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let json = Arc::new(fixtures::java_status().to_json());
        let mut responders = Vec::with_capacity(count);
        for i in from..from + count {
            let addr = target_addr(i);
            let json = Arc::clone(&json);
            let responder = JavaResponder::bind(SocketAddr::V4(addr), move |_| (*json).clone())
                .await
                .map_err(|e| format!("bind {addr}: {e}"))?
                .with_timeout(Duration::from_secs(10))
                .spawn();
            responders.push(responder);
        }
        let mut stdout = std::io::stdout();
        writeln!(stdout, "ready {count}").map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())?;
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin()
                .lock()
                .read_line(&mut line)
                .is_ok_and(|n| n > 0)
            {
                line.clear();
            }
        })
        .await;
        drop(responders);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// watch-poll

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollSpec {
    pub(crate) n: usize,
    pub(crate) interval: Duration,
    pub(crate) window: Duration,
    pub(crate) concurrency: usize,
    /// A single-threaded tokio runtime instead of the multi-threaded one the bots use.
    pub(crate) current_thread: bool,
    /// Drive the scheduler with rounds at least this far apart (`None`: `run_with`).
    pub(crate) min_round: Option<Duration>,
}

pub(crate) fn poll(spec: PollSpec) -> Result<(), String> {
    let nofile = raise_nofile(65_536)?;
    let runtime = if spec.current_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| e.to_string())?;
    let result = runtime.block_on(measure(spec, nofile))?;
    println!("{result}");
    Ok(())
}

async fn measure(spec: PollSpec, nofile: u64) -> Result<serde_json::Value, String> {
    let n = u64::try_from(spec.n).unwrap_or(u64::MAX);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemStore::with_targets(spec.n, clock.now())?);
    let source = NetworkSource::from_system_conf(
        TargetPolicy::with_loopback(),
        ClientOptions::default(),
        Arc::clone(&clock),
    )
    .map_err(|e| format!("network source: {e}"))?
    // As the bots' scheduler gets it (`Backend::watch_source`).
    .for_watches();
    let notifier = Arc::new(CountingNotifier::default());
    let config = WatchConfig {
        interval: spec.interval,
        max_concurrency: spec.concurrency,
        policy: TargetPolicy::with_loopback(),
        ..WatchConfig::default()
    };
    // With a Redis URL: every sample also goes to the real Redis store.
    let redis_url = std::env::var(REDIS_ENV).unwrap_or_default();
    let (history, redis): (Arc<dyn HistoryStore>, Option<RedisProbe>) = if redis_url.is_empty() {
        (store.clone(), None)
    } else {
        let config_redis =
            mcstat_adapters::RedisConfig::new(redis_url.clone()).history(config.history_config());
        let redis_store = mcstat_adapters::RedisStore::connect(&config_redis)
            .await
            .map_err(|e| format!("redis: {e}"))?;
        let probe = RedisProbe::connect(&redis_url).await?;
        (
            Arc::new(Tee {
                counting: store.clone(),
                redis: redis_store,
            }),
            Some(probe),
        )
    };
    let redis_mem_start = match &redis {
        Some(p) => p.used_memory().await?,
        None => 0,
    };
    let ports = SchedulerPorts {
        watches: store.clone(),
        history: history.clone(),
        source: Arc::new(source),
        notifier: notifier.clone(),
        leases: Arc::new(MemoryLeases::new(Arc::clone(&clock))),
        clock: Arc::clone(&clock),
    };
    let scheduler = Arc::new(Scheduler::new(ports, config, "bench"));
    let rounds = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let rss_before = vm_kib("VmRSS");
    let (start, cpu_start) = (Instant::now(), cpu_time());
    let task = tokio::spawn({
        let scheduler = Arc::clone(&scheduler);
        let (rounds, failed) = (Arc::clone(&rounds), Arc::clone(&failed));
        let count = move |report: &mcstat_core::watch::PollReport| {
            rounds.fetch_add(1, Ordering::Relaxed);
            failed.fetch_add(
                u64::try_from(report.failed.len()).unwrap_or(0),
                Ordering::Relaxed,
            );
        };
        async move {
            match spec.min_round {
                None => {
                    scheduler
                        .run_with(
                            async {
                                let _ = stopped.await;
                            },
                            count,
                        )
                        .await;
                }
                // `run_with`'s loop, with rounds at least `min_round` apart: what a
                // frontend could do through the public `poll_once`/`next_wake`.
                Some(min_round) => {
                    let mut stopped = std::pin::pin!(stopped);
                    loop {
                        count(&scheduler.poll_once(clock.now()).await);
                        let now = clock.now();
                        let wait = scheduler.next_wake(now).since(now).max(min_round);
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            _ = &mut stopped => break,
                        }
                    }
                    scheduler.release_leases().await;
                }
            }
        }
    });

    // Warm-up: the first round polls every target (none was polled in this slot).
    let total = |store: &MemStore| {
        let (on, off) = store.samples();
        on + off
    };
    while total(&store) + failed.load(Ordering::Relaxed) < n {
        if start.elapsed() > WARMUP_LIMIT {
            return Err(format!(
                "warm-up not done after {WARMUP_LIMIT:?}: {} of {n} polled",
                total(&store)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (burst, burst_cpu) = (start.elapsed(), cpu_time().saturating_sub(cpu_start));
    tokio::time::sleep(SETTLE).await;

    let load_start = loadavg();
    let redis_cpu0 = redis.as_ref().and_then(RedisProbe::cpu_secs);
    let (w0, c0, (on0, off0), f0, r0) = (
        Instant::now(),
        cpu_time(),
        store.samples(),
        failed.load(Ordering::Relaxed),
        rounds.load(Ordering::Relaxed),
    );
    tokio::time::sleep(spec.window).await;
    let (wall, cpu, (on1, off1), f1, r1) = (
        w0.elapsed(),
        cpu_time().saturating_sub(c0),
        store.samples(),
        failed.load(Ordering::Relaxed),
        rounds.load(Ordering::Relaxed),
    );
    let load_end = loadavg();
    let redis_cpu1 = redis.as_ref().and_then(RedisProbe::cpu_secs);
    let redis_mem_end = match &redis {
        Some(p) => p.used_memory().await?,
        None => 0,
    };
    let history_minutes = start.elapsed().as_secs_f64() / 60.0;
    let (rss_end, peak) = (vm_kib("VmRSS"), vm_kib("VmHWM"));
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), task).await;

    let secs = wall.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let per_s = |v: u64| v as f64 / secs;
    Ok(serde_json::json!({
        "n": spec.n,
        "interval_s": spec.interval.as_secs_f64(),
        "max_concurrency": spec.concurrency,
        "min_round_ms": spec.min_round.map(|d| d.as_secs_f64() * 1000.0),
        "runtime": if spec.current_thread { "current_thread" } else { "multi_thread" },
        "nofile": nofile,
        "warmup_s": burst.as_secs_f64(),
        "warmup_cpu_s": burst_cpu.as_secs_f64(),
        "window_s": secs,
        "cpu_s": cpu.as_secs_f64(),
        "cpu_share": cpu.as_secs_f64() / secs,
        "polls": (on1 - on0) + (off1 - off0),
        "polls_per_s": per_s((on1 - on0) + (off1 - off0)),
        "expected_per_s": spec.n as f64 / spec.interval.as_secs_f64(),
        "offline": off1 - off0,
        "failed": f1 - f0,
        "rounds_per_s": per_s(r1 - r0),
        "notified": notifier.0.load(Ordering::Relaxed),
        "rss_before_kib": rss_before,
        "rss_end_kib": rss_end,
        "peak_rss_kib": peak,
        "load_start": load_start,
        "load_end": load_end,
        "redis_cpu_share": match (redis_cpu0, redis_cpu1) {
            (Some(a), Some(b)) => Some((b - a) / secs),
            _ => None,
        },
        "redis_bytes_per_server": redis.as_ref().map(|_| redis_mem_end.saturating_sub(redis_mem_start) as f64 / n as f64),
        "redis_history_minutes": redis.as_ref().map(|_| history_minutes),
        "redis_bytes_per_server_minute": redis.as_ref().map(|_| redis_mem_end.saturating_sub(redis_mem_start) as f64 / n as f64 / history_minutes.max(1.0 / 60.0)),
    }))
}

// ---------------------------------------------------------------------------
// watch-scale (the driver)

/// The driver's settings.
#[derive(Debug, Clone)]
pub(crate) struct ScaleOptions {
    pub(crate) ns: Vec<usize>,
    pub(crate) interval: Duration,
    /// The measured window; `None`: one interval.
    pub(crate) window: Option<Duration>,
    pub(crate) concurrency: usize,
    pub(crate) current_thread: bool,
    /// Rounds at least this far apart (`None`: `Scheduler::run_with`).
    pub(crate) min_round: Option<Duration>,
    pub(crate) json_out: Option<std::path::PathBuf>,
    /// Keep the history in a real Redis store (a `redis-server` the driver starts)
    /// instead of only counting samples.
    pub(crate) redis_history: bool,
}

pub(crate) fn scale(opts: &ScaleOptions) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let window = opts.window.unwrap_or(opts.interval);
    let mut results = Vec::new();
    println!(
        "| N | interval | window | polls/s (expected) | offline+failed | CPU share | peak RSS (VmHWM) | RSS at end | warm-up burst (wall, CPU) | load avg (start → end) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    if opts.redis_history {
        println!(
            "(history in Redis: redis-server CPU share and Redis memory per server at the end of the window are in the JSON and the table below)"
        );
    }
    let mut redis_rows = Vec::new();
    for &n in &opts.ns {
        if n == 0 || n > MAX_N {
            return Err(format!("N must be 1..={MAX_N}"));
        }
        let redis = if opts.redis_history {
            Some(crate::history::Redis::start()?)
        } else {
            None
        };
        let mut servers = Vec::new();
        for from in (0..n).step_by(PER_SERVER) {
            let count = PER_SERVER.min(n - from);
            let mut server = Command::new(&exe)
                .args(["watch-serve", &from.to_string(), &count.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("watch-serve: {e}"))?;
            let mut line = String::new();
            if let Some(out) = server.stdout.take() {
                BufReader::new(out)
                    .read_line(&mut line)
                    .map_err(|e| format!("watch-serve: {e}"))?;
            }
            servers.push(server);
            if !line.starts_with("ready") {
                for mut server in servers {
                    let _ = server.kill();
                    let _ = server.wait();
                }
                return Err(format!("watch-serve {from} {count} did not start"));
            }
        }
        let output = Command::new(&exe)
            .args([
                "watch-poll",
                &n.to_string(),
                &opts.interval.as_secs_f64().to_string(),
                &window.as_secs_f64().to_string(),
                &opts.concurrency.to_string(),
                if opts.current_thread {
                    "current-thread"
                } else {
                    "multi-thread"
                },
                &opts
                    .min_round
                    .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
                    .to_string(),
            ])
            .env(
                REDIS_ENV,
                redis
                    .as_ref()
                    .map(crate::history::Redis::url)
                    .unwrap_or_default(),
            )
            .stderr(Stdio::inherit())
            .output();
        drop(redis);
        for server in &mut servers {
            drop(server.stdin.take());
        }
        for mut server in servers {
            let _ = server.wait();
        }
        let output = output.map_err(|e| format!("watch-poll: {e}"))?;
        if !output.status.success() {
            return Err(format!("watch-poll {n} failed: {}", output.status));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let r: serde_json::Value = text
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or(format!("watch-poll {n}: no result in {text:?}"))?;
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let mib = |k: &str| f(k) / 1024.0;
        println!(
            "| {n} | {:.0} s | {:.1} s | {:.1} ({:.1}) | {} | {:.2} % | {:.1} MiB | {:.1} MiB | {:.1} s, {:.1} s | {} → {} |",
            f("interval_s"),
            f("window_s"),
            f("polls_per_s"),
            f("expected_per_s"),
            f("offline") + f("failed"),
            f("cpu_share") * 100.0,
            mib("peak_rss_kib"),
            mib("rss_end_kib"),
            f("warmup_s"),
            f("warmup_cpu_s"),
            r["load_start"].as_str().unwrap_or(""),
            r["load_end"].as_str().unwrap_or(""),
        );
        if opts.redis_history {
            redis_rows.push(format!(
                "| {n} | {:.2} % | {:.2} % | {:.1} KiB over {:.1} min of history | {:.0} B |",
                f("cpu_share") * 100.0,
                f("redis_cpu_share") * 100.0,
                f("redis_bytes_per_server") / 1024.0,
                f("redis_history_minutes"),
                f("redis_bytes_per_server_minute"),
            ));
        }
        results.push(r);
    }
    if !redis_rows.is_empty() {
        println!(
            "\n| N | scheduler CPU share | redis-server CPU share | Redis memory per server | per server-minute |"
        );
        println!("|---:|---:|---:|---:|---:|");
        for row in redis_rows {
            println!("{row}");
        }
    }
    if let Some(path) = &opts.json_out {
        let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_addresses_are_distinct_loopback() {
        let n = 200_000;
        let set: std::collections::HashSet<SocketAddrV4> = (0..n).map(target_addr).collect();
        assert_eq!(set.len(), n);
        assert!(
            set.iter()
                .all(|a| a.ip().is_loopback() && a.port() >= BASE_PORT)
        );
        assert_eq!(target_addr(MAX_N - 1).ip().octets()[1], 11);
    }
}
