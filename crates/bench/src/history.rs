//! `mcstat-bench history`: what a watched server's history costs, old format against
//! the tiered one, side by side in one run, in the real stores (a `redis-server` of
//! its own, redb files in a temporary directory).
//!
//! - **Bytes per server-year.** New format: one server's year at 60 s polling
//!   (525,600 samples ending now, players following a daily curve with noise, latency
//!   20–60 ms, one failed poll in 2,000, a 10-minute outage a week) written in daily
//!   batches, expired and pruned as in production; Redis: `MEMORY USAGE` summed over
//!   every key of the server; file store: the redb pages allocated for `--servers`
//!   such servers, per server. Old format (one JSON sample per poll, kept here as the
//!   old code wrote it): one day measured the same way, times 365 (the old format is
//!   linear in the samples by construction).
//! - **Append throughput** of the file store: batches of polls that finished together
//!   (one transaction each, durable on return) and concurrent single appends (group
//!   commit), next to the old one-transaction-per-sample format.
//! - **Read time** of `/graph 30d` and `/graph 1y` (read the tier, prepare the chart
//!   series), median of repeated reads, next to the old format's 30-day read of raw
//!   samples.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcstat_adapters::PlottersChartRenderer;
use mcstat_adapters::{FileStore, RedisConfig, RedisStore};
use mcstat_core::chart::{ChartRange, ChartRequest, ChartSeries};
use mcstat_core::history::{DownCause, HistoryConfig, HistoryReader};
use mcstat_core::ports::ChartRenderer as _;
use mcstat_core::ports::HistoryStore;
use mcstat_core::{HistorySample, Target, Timestamp};
use redb::TableDefinition;

const MIN: u64 = 60_000;
const YEAR: u64 = 525_600;
const DAY: u64 = 1_440;

/// Options of the run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// How many servers' years go into the file store (file growth is per server).
    pub(crate) servers: usize,
    /// How many samples the append-throughput runs write.
    pub(crate) appends: usize,
    /// Where to write every figure as JSON.
    pub(crate) json: Option<String>,
}

/// A server's polls: deterministic noise from `seed`.
fn polls(target: &Target, seed: u64, end: u64, count: u64) -> impl Iterator<Item = HistorySample> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let start = end - count * MIN;
    let target = target.clone();
    (0..count).map(move |i| {
        let at = start + i * MIN + rnd() % 400;
        let minute = (start / MIN + i) % DAY;
        let curve = 25.0 + 20.0 * (minute as f64 / DAY as f64 * std::f64::consts::TAU).sin();
        let players = (curve + (rnd() % 9) as f64 - 4.0).max(0.0) as u32;
        let week_minute = (start / MIN + i) % (7 * DAY);
        let online = rnd() % 2000 != 0 && !(3000..3010).contains(&week_minute);
        HistorySample {
            target: target.clone(),
            at: Timestamp(at),
            online,
            players: online.then_some(players),
            latency_ms: online.then_some(20 + u32::try_from(rnd() % 41).unwrap_or(0)),
            cause: (!online).then_some(DownCause::Timeout),
        }
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// CPU seconds (user + system) process `pid` used so far: fields 14 and 15 of
/// /proc/PID/stat, in clock ticks (100 a second on Linux).
pub(crate) fn proc_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A `redis-server` of the benchmark's own, without persistence, killed on drop.
pub(crate) struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub(crate) fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("free port: {e}"))?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server (install it: scripts/install-test-deps.sh): {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            child,
            port,
            _dir: dir,
        })
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// CPU seconds the server used so far (utime + stime from /proc).
    fn cpu_secs(&self) -> f64 {
        proc_cpu_secs(self.child.id()).unwrap_or(0.0)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn redis_conn(url: &str) -> Result<redis::aio::MultiplexedConnection, String> {
    redis::Client::open(url)
        .map_err(|e| e.to_string())?
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())
}

/// `MEMORY USAGE` summed over the keys matching `pattern`, and how many.
async fn memory_of(
    conn: &mut redis::aio::MultiplexedConnection,
    pattern: &str,
) -> Result<(u64, usize), String> {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(conn)
        .await
        .map_err(|e| e.to_string())?;
    let mut total = 0;
    for key in &keys {
        let n: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(conn)
            .await
            .map_err(|e| e.to_string())?;
        total += n.unwrap_or(0);
    }
    Ok((total, keys.len()))
}

/// The old Redis format (format 1): a sorted set per target, one JSON sample a member.
async fn old_redis_append(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    samples: &[HistorySample],
) -> Result<(), String> {
    let mut pipe = redis::pipe();
    for s in samples {
        let json = serde_json::to_string(s).map_err(|e| e.to_string())?;
        pipe.cmd("ZADD")
            .arg(format!("{prefix}history:{}", s.target.key()))
            .arg(s.at.0)
            .arg(json)
            .ignore();
    }
    pipe.query_async::<()>(conn)
        .await
        .map_err(|e| e.to_string())
}

const OLD_HISTORY: TableDefinition<'_, (&str, u64), &str> = TableDefinition::new("history");
const OLD_BY_TIME: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("history_by_time");

/// The old file format (format 2): one JSON row per sample plus a time index, one
/// transaction per sample as the old store did (`batch` > 1: several per transaction).
fn old_file_append(
    db: &redb::Database,
    samples: &[HistorySample],
    batch: usize,
) -> Result<(), String> {
    for chunk in samples.chunks(batch.max(1)) {
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut history = txn.open_table(OLD_HISTORY).map_err(|e| e.to_string())?;
            let mut by_time = txn.open_table(OLD_BY_TIME).map_err(|e| e.to_string())?;
            for s in chunk {
                let key = s.target.key();
                let json = serde_json::to_string(s).map_err(|e| e.to_string())?;
                history
                    .insert((key.as_str(), s.at.0), json.as_str())
                    .map_err(|e| e.to_string())?;
                by_time
                    .insert((s.at.0, key.as_str()), ())
                    .map_err(|e| e.to_string())?;
            }
        }
        txn.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Bytes of the pages a redb database's data occupies.
fn allocated(db: &redb::Database) -> Result<u64, String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    let stats = txn.stats().map_err(|e| e.to_string())?;
    txn.abort().map_err(|e| e.to_string())?;
    Ok(stats.allocated_pages() * stats.page_size() as u64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn time_reads<F, Fut>(runs: usize, mut f: F) -> Result<f64, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, String>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let n = f().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(n);
    }
    Ok(median(times))
}

/// The stored buckets `/graph` reads for `range` (as `WatchService::chart` does).
async fn chart_points(
    store: &dyn HistoryStore,
    config: &HistoryConfig,
    target: &Target,
    range: ChartRange,
    now: Timestamp,
) -> Result<Vec<mcstat_core::history::Rollup>, String> {
    let tier = config.tier_for(range.span());
    let since = Timestamp(tier.align(now.minus(range.span() + range.bucket()).0));
    HistoryReader::new(store)
        .rollups(target, tier, since, Timestamp(now.0 + 1))
        .await
        .map_err(|e| e.to_string())
}

async fn chart_read(
    store: &dyn HistoryStore,
    config: &HistoryConfig,
    target: &Target,
    range: ChartRange,
    now: Timestamp,
) -> Result<usize, String> {
    let points = chart_points(store, config, target, range, now).await?;
    let series = ChartSeries::prepare(&points, range, now);
    Ok(points.len() + series.buckets.len())
}

/// What `/graph` does server-side: read the tier, prepare, draw the PNG.
async fn graph(
    store: &dyn HistoryStore,
    config: &HistoryConfig,
    target: &Target,
    range: ChartRange,
    now: Timestamp,
) -> Result<usize, String> {
    let points = chart_points(store, config, target, range, now).await?;
    let request = ChartRequest {
        name: target.to_string(),
        range,
        now,
        points,
    };
    let png = PlottersChartRenderer::new()
        .render(&request)
        .map_err(|e| e.to_string())?;
    Ok(png.len())
}

/// Run the benchmark and print markdown tables.
///
/// # Errors
/// A store or redis-server that cannot be used.
pub(crate) fn run(options: &Options) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run_async(options))
}

#[allow(clippy::too_many_lines)]
async fn run_async(options: &Options) -> Result<(), String> {
    let mut figures: BTreeMap<String, f64> = BTreeMap::new();
    let config = HistoryConfig::default();
    let end = now_ms();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let redis = Redis::start()?;
    let mut conn = redis_conn(&redis.url()).await?;

    // ---- bytes per server-year ------------------------------------------------------
    let target: Target = "year.example.net".parse().map_err(|e| format!("{e}"))?;
    let store = RedisStore::connect(&RedisConfig::new(redis.url()).history(config.clone()))
        .await
        .map_err(|e| e.to_string())?;
    let cpu_before = redis.cpu_secs();
    let t = Instant::now();
    let year: Vec<HistorySample> = polls(&target, 1, end, YEAR).collect();
    for day in year.chunks(DAY as usize) {
        store.append_samples(day).await.map_err(|e| e.to_string())?;
    }
    let redis_write_secs = t.elapsed().as_secs_f64();
    let redis_cpu = redis.cpu_secs() - cpu_before;
    store
        .prune(Timestamp(end))
        .await
        .map_err(|e| e.to_string())?;
    let (new_redis, new_redis_keys) =
        memory_of(&mut conn, &format!("*{{{}}}*", target.key())).await?;

    let old_target: Target = "old.example.net".parse().map_err(|e| format!("{e}"))?;
    let one_day: Vec<HistorySample> = polls(&old_target, 2, end, DAY).collect();
    old_redis_append(&mut conn, "bench-old:", &one_day).await?;
    let (old_redis_day, _) = memory_of(&mut conn, "bench-old:history:*").await?;
    let old_redis = old_redis_day * 365;

    // File store: `servers` years, pruned daily as the scheduler does hourly.
    let new_path = dir.path().join("new.redb");
    let file = FileStore::open(&new_path)
        .await
        .map_err(|e| e.to_string())?
        .with_history(config.clone());
    let empty_new = file.space().await.map_err(|e| e.to_string())?;
    let targets: Vec<Target> = (0..options.servers)
        .map(|i| format!("s{i}.example.net").parse())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{e}"))?;
    let mut streams: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| polls(t, 10 + i as u64, end, YEAR))
        .collect();
    for day in 0..365 {
        let mut batch = Vec::with_capacity(DAY as usize * targets.len());
        for s in &mut streams {
            batch.extend(s.by_ref().take(DAY as usize));
        }
        let day_end = batch.iter().map(|s| s.at).max().unwrap_or(Timestamp(end));
        file.append_samples(&batch)
            .await
            .map_err(|e| e.to_string())?;
        let _ = day;
        file.prune(day_end).await.map_err(|e| e.to_string())?;
    }
    let full_new = file.space().await.map_err(|e| e.to_string())?;
    let new_file = full_new
        .allocated_bytes
        .saturating_sub(empty_new.allocated_bytes)
        / options.servers.max(1) as u64;

    let old_path = dir.path().join("old.redb");
    let old_db = redb::Database::create(&old_path).map_err(|e| e.to_string())?;
    let empty_old = allocated(&old_db)?;
    old_file_append(&old_db, &one_day, 1_440)?;
    let old_file = allocated(&old_db)?.saturating_sub(empty_old) * 365;

    println!("## History: bytes per server-year (60 s polls)\n");
    println!("| store | old format | tiered | old / tiered | budget |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| Redis (`MEMORY USAGE`, all keys of one server) | {:.1} MiB | {:.1} KiB ({new_redis_keys} keys) | {:.0}× | ≤ 64 KiB |",
        old_redis as f64 / 1_048_576.0,
        new_redis as f64 / 1024.0,
        old_redis as f64 / new_redis.max(1) as f64
    );
    println!(
        "| file store (redb pages allocated per server, {} servers) | {:.1} MiB | {:.1} KiB | {:.0}× | ≤ 128 KiB |",
        options.servers,
        old_file as f64 / 1_048_576.0,
        new_file as f64 / 1024.0,
        old_file as f64 / new_file.max(1) as f64
    );
    println!(
        "\nOne server-year into Redis: {redis_write_secs:.1} s in daily batches, redis-server CPU {redis_cpu:.2} s."
    );
    figures.insert("redis_old_bytes_per_year".into(), old_redis as f64);
    figures.insert("redis_new_bytes_per_year".into(), new_redis as f64);
    figures.insert("file_old_bytes_per_year".into(), old_file as f64);
    figures.insert("file_new_bytes_per_year".into(), new_file as f64);

    // ---- append throughput (file store) ----------------------------------------------
    let n = options.appends;
    let many: Vec<Target> = (0..1_000)
        .map(|i| format!("t{i}.example.net").parse())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{e}"))?;
    let rounds = n.div_ceil(many.len()) as u64;
    let samples: Vec<HistorySample> = (0..n)
        .map(|i| HistorySample {
            target: many[i % many.len()].clone(),
            at: Timestamp(end - rounds * MIN + (i / many.len()) as u64 * MIN),
            online: true,
            players: Some(u32::try_from(i % 50).unwrap_or(0)),
            latency_ms: Some(20 + u32::try_from(i % 31).unwrap_or(0)),
            cause: None,
        })
        .collect();
    let tp_path = dir.path().join("tp.redb");
    let tp = FileStore::open(&tp_path)
        .await
        .map_err(|e| e.to_string())?
        .with_history(config.clone());
    let t = Instant::now();
    for batch in samples.chunks(1_000) {
        tp.append_samples(batch).await.map_err(|e| e.to_string())?;
    }
    let batched = n as f64 / t.elapsed().as_secs_f64();

    let tp2_path = dir.path().join("tp2.redb");
    let tp2 = Arc::new(
        FileStore::open(&tp2_path)
            .await
            .map_err(|e| e.to_string())?
            .with_history(config.clone()),
    );
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..64 {
        let store = Arc::clone(&tp2);
        let mine: Vec<HistorySample> = samples.iter().skip(worker).step_by(64).cloned().collect();
        tasks.spawn(async move {
            for s in mine {
                store
                    .append_samples(std::slice::from_ref(&s))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    let concurrent = n as f64 / t.elapsed().as_secs_f64();

    let old_tp_path = dir.path().join("old-tp.redb");
    let old_tp = redb::Database::create(&old_tp_path).map_err(|e| e.to_string())?;
    let few = &samples[..n.min(5_000)];
    let t = Instant::now();
    old_file_append(&old_tp, few, 1)?;
    let old_single = few.len() as f64 / t.elapsed().as_secs_f64();

    println!("\n## File store: appends per second (durable on return)\n");
    println!("| how | samples/s | vs old format |");
    println!("|---|---:|---:|");
    println!(
        "| old format, one transaction per sample ({} samples) | {old_single:.0} | 1.00× |",
        few.len()
    );
    println!(
        "| tiered, batches of 1,000 polls finished together ({n} samples over 1,000 servers) | {batched:.0} | {:.1}× |",
        batched / old_single
    );
    println!(
        "| tiered, 64 tasks appending one sample each (group commit) | {concurrent:.0} | {:.1}× |",
        concurrent / old_single
    );
    figures.insert("file_append_batched_per_s".into(), batched);
    figures.insert("file_append_concurrent_per_s".into(), concurrent);
    figures.insert("file_append_old_per_s".into(), old_single);

    // ---- read time ----------------------------------------------------------------------
    let now = Timestamp(end);
    let mut rows = Vec::new();
    for (name, store_ref) in [
        ("Redis", &store as &dyn HistoryStore),
        ("file store", &file as &dyn HistoryStore),
    ] {
        let t = if name == "Redis" {
            &target
        } else {
            &targets[0]
        };
        for range in [
            ChartRange::Day,
            ChartRange::Week,
            ChartRange::Month,
            ChartRange::Quarter,
            ChartRange::Year,
        ] {
            let ms = time_reads(30, || chart_read(store_ref, &config, t, range, now)).await?;
            let entries = chart_read(store_ref, &config, t, range, now).await? - range.buckets();
            let with_png = time_reads(10, || graph(store_ref, &config, t, range, now)).await?;
            rows.push((name, range, ms, entries, with_png));
            figures.insert(
                format!("graph_{}_{}_ms", name.replace(' ', "_"), range.as_str()),
                with_png,
            );
            figures.insert(
                format!("read_{}_{}_ms", name.replace(' ', "_"), range.as_str()),
                ms,
            );
        }
    }
    // The old format's 30 days: every raw sample, JSON-decoded.
    let month: Vec<HistorySample> = polls(&old_target, 3, end, 30 * DAY).collect();
    old_redis_append(&mut conn, "bench-old30:", &month).await?;
    let key = format!("bench-old30:history:{}", old_target.key());
    let old_redis_ms = time_reads(10, || {
        let mut c = conn.clone();
        let key = key.clone();
        async move {
            let values: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                .arg(&key)
                .arg(0)
                .arg("+inf")
                .query_async(&mut c)
                .await
                .map_err(|e| e.to_string())?;
            let samples = values
                .iter()
                .map(|v| serde_json::from_str::<HistorySample>(v).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(samples.len())
        }
    })
    .await?;
    old_file_append(&old_db, &month, 10_000)?;
    let old_file_ms = time_reads(10, || {
        let db = &old_db;
        let key = old_target.key();
        async move {
            let txn = db.begin_read().map_err(|e| e.to_string())?;
            let table = txn.open_table(OLD_HISTORY).map_err(|e| e.to_string())?;
            let mut n = 0;
            for row in table
                .range((key.as_str(), 0)..(key.as_str(), u64::MAX))
                .map_err(|e| e.to_string())?
            {
                let (_, v) = row.map_err(|e| e.to_string())?;
                let s: HistorySample =
                    serde_json::from_str(v.value()).map_err(|e| e.to_string())?;
                n += usize::from(s.online);
            }
            Ok(n)
        }
    })
    .await?;
    println!("\n## `/graph` reads (read the tier, prepare the series; median of 30)\n");
    println!(
        "| store | range | tier entries read | read + prepare, ms | with the PNG drawn, ms | old format 30 d read (43,200 raw samples) |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for (name, range, ms, entries, with_png) in rows {
        let old = match (name, range) {
            ("Redis", ChartRange::Month) => {
                format!("{old_redis_ms:.1} ms ({:.0}× slower)", old_redis_ms / ms)
            }
            ("file store", ChartRange::Month) => {
                format!("{old_file_ms:.1} ms ({:.0}× slower)", old_file_ms / ms)
            }
            _ => String::new(),
        };
        println!(
            "| {name} | {} | {entries} | {ms:.2} | {with_png:.1} | {old} |",
            range.as_str()
        );
    }
    figures.insert("read_old_redis_30d_ms".into(), old_redis_ms);
    figures.insert("read_old_file_30d_ms".into(), old_file_ms);

    if let Some(path) = &options.json {
        let json = serde_json::to_string_pretty(&figures).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}
