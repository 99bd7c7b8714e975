//! `mcstat-bench`: the end-to-end benchmark driver (see BENCHMARKS.md and
//! `scripts/bench.sh`).
//!
//! ```text
//! mcstat-bench run [--quick] [--python PATH] [--node-modules DIR] [--peers DIR] [--json FILE]
//! mcstat-bench serve
//! mcstat-bench client TOOL WORKLOAD HOST PORT N CONCURRENCY WARMUP
//! mcstat-bench heap HOST PORTS_JSON CONCURRENCY
//! mcstat-bench watch-scale [--n 1000,10000,100000] [--interval SECS] [--window SECS]
//!                          [--concurrency C] [--current-thread] [--min-round-ms MS]
//!                          [--redis-history] [--json FILE]
//! mcstat-bench history [--servers N] [--appends N] [--json FILE]
//! mcstat-bench storm [--notifications N] [--rate PER_S] [--latency-ms MS] [--push-concurrency C]
//!                    [--attempts N] [--stores memory,file,redis]
//!                    [--storms one-each,digests,by-chat] [--no-old] [--json FILE]
//! mcstat-bench watch-serve FROM COUNT
//! mcstat-bench watch-poll N INTERVAL_SECS WINDOW_SECS CONCURRENCY multi-thread|current-thread MIN_ROUND_MS
//! ```
//!
//! `run`, `watch-scale`, `history` and `storm` are the ones to call; the others are what they start as
//! child processes.

mod alloc;
mod clients;
mod fixtures;
mod heap;
mod history;
mod run;
mod serve;
mod storm;
mod watch_scale;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const USAGE: &str = "usage:
  mcstat-bench run [--quick] [--python PATH] [--node-modules DIR] [--peers DIR] [--json FILE]
  mcstat-bench serve
  mcstat-bench client TOOL WORKLOAD HOST PORT N CONCURRENCY WARMUP
  mcstat-bench heap HOST PORTS_JSON CONCURRENCY
  mcstat-bench watch-scale [--n 1000,10000,100000] [--interval SECS] [--window SECS] [--concurrency C] [--current-thread] [--min-round-ms MS] [--redis-history] [--json FILE]
  mcstat-bench history [--servers N] [--appends N] [--json FILE]
  mcstat-bench storm [--notifications N] [--rate PER_S] [--latency-ms MS] [--push-concurrency C] [--attempts N] [--stores memory,file,redis] [--storms one-each,digests,by-chat] [--no-old] [--json FILE]
  mcstat-bench watch-serve FROM COUNT
  mcstat-bench watch-poll N INTERVAL_SECS WINDOW_SECS CONCURRENCY multi-thread|current-thread MIN_ROUND_MS
run defaults: --python $MCSTAT_PYTHON, --node-modules $MCSTAT_NODE_MODULES, --peers tests/peers";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcstat-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what}: not a number: {s:?}"))
}

fn seconds(s: &str, what: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = number(s, what)?;
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| format!("{what}: bad duration {s:?}"))
}

fn dispatch(args: &[String]) -> Result<(), String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["serve"] => serve::serve(),
        ["client", tool, workload, host, port, n, concurrency, warmup] => {
            let ip: IpAddr = number(host, "host")?;
            let spec = clients::Spec {
                workload: clients::Workload::parse(workload)?,
                addr: SocketAddr::new(ip, number(port, "port")?),
                n: number(n, "N")?,
                concurrency: number(concurrency, "concurrency")?,
                warmup: number(warmup, "warmup")?,
            };
            let result = clients::run(clients::Tool::parse(tool)?, spec)?;
            println!("{result}");
            Ok(())
        }
        ["heap", host, ports, concurrency] => {
            let IpAddr::V4(ip) = number(host, "host")? else {
                return Err("heap: an IPv4 host".into());
            };
            let ports = serde_json::from_str(ports).map_err(|e| format!("ports: {e}"))?;
            let result = heap::heap(ip.octets(), &ports, number(concurrency, "concurrency")?)?;
            println!("{result}");
            Ok(())
        }
        ["watch-serve", from, count] => {
            watch_scale::serve(number(from, "FROM")?, number(count, "COUNT")?)
        }
        [
            "watch-poll",
            n,
            interval,
            window,
            concurrency,
            runtime,
            min_round_ms,
        ] => watch_scale::poll(watch_scale::PollSpec {
            n: number(n, "N")?,
            interval: seconds(interval, "interval")?,
            window: seconds(window, "window")?,
            concurrency: number(concurrency, "concurrency")?,
            current_thread: match *runtime {
                "current-thread" => true,
                "multi-thread" => false,
                other => return Err(format!("runtime: {other:?}")),
            },
            min_round: Some(seconds(min_round_ms, "min round")? / 1000).filter(|d| !d.is_zero()),
        }),
        ["history", rest @ ..] => {
            let mut opts = history::Options {
                servers: 10,
                appends: 200_000,
                json: None,
            };
            let mut rest = rest.iter();
            while let Some(&flag) = rest.next() {
                let value = rest.next().ok_or(format!("{flag} needs a value"))?;
                match flag {
                    "--servers" => opts.servers = number(value, "servers")?,
                    "--appends" => opts.appends = number(value, "appends")?,
                    "--json" => opts.json = Some((*value).to_owned()),
                    other => return Err(format!("unknown option {other}\n{USAGE}")),
                }
            }
            history::run(&opts)
        }
        ["storm", rest @ ..] => {
            let mut opts = storm::Options {
                notifications: 10_000,
                rate: 500,
                latency: std::time::Duration::from_millis(3),
                push_concurrency: 64,
                attempts: 4,
                stores: vec![
                    storm::StoreKind::Memory,
                    storm::StoreKind::File,
                    storm::StoreKind::Redis,
                ],
                storms: storm::Storm::all(10_000),
                no_old: false,
                json: None,
            };
            let mut storms: Option<Vec<String>> = None;
            let mut rest = rest.iter();
            while let Some(&flag) = rest.next() {
                if flag == "--no-old" {
                    opts.no_old = true;
                    continue;
                }
                let value = rest.next().ok_or(format!("{flag} needs a value"))?;
                match flag {
                    "--notifications" => opts.notifications = number(value, "notifications")?,
                    "--rate" => opts.rate = number(value, "rate")?,
                    "--latency-ms" => opts.latency = seconds(value, "latency")? / 1000,
                    "--push-concurrency" => {
                        opts.push_concurrency = number(value, "push concurrency")?;
                    }
                    "--attempts" => opts.attempts = number(value, "attempts")?,
                    "--stores" => {
                        opts.stores = value
                            .split(',')
                            .map(storm::StoreKind::parse)
                            .collect::<Result<_, _>>()?;
                    }
                    "--storms" => storms = Some(value.split(',').map(str::to_owned).collect()),
                    "--json" => opts.json = Some((*value).to_owned()),
                    other => return Err(format!("unknown option {other}\n{USAGE}")),
                }
            }
            if opts.rate == 0 || opts.notifications == 0 {
                return Err("--rate and --notifications: at least 1".into());
            }
            let all = storm::Storm::all(opts.notifications);
            opts.storms = match storms {
                None => all,
                Some(names) => names
                    .iter()
                    .map(|name| {
                        all.iter()
                            .find(|s| s.name() == name)
                            .copied()
                            .ok_or(format!("storm: one-each, digests or by-chat, not {name:?}"))
                    })
                    .collect::<Result<_, _>>()?,
            };
            storm::run(&opts)
        }
        ["watch-scale", rest @ ..] => {
            let mut opts = watch_scale::ScaleOptions {
                ns: vec![1_000, 10_000, 100_000],
                interval: std::time::Duration::from_secs(60),
                window: None,
                concurrency: 64,
                current_thread: false,
                min_round: None,
                json_out: None,
                redis_history: false,
            };
            let mut rest = rest.iter();
            while let Some(&flag) = rest.next() {
                if flag == "--current-thread" {
                    opts.current_thread = true;
                    continue;
                }
                if flag == "--redis-history" {
                    opts.redis_history = true;
                    continue;
                }
                let value = rest.next().ok_or(format!("{flag} needs a value"))?;
                match flag {
                    "--n" => {
                        opts.ns = value
                            .split(',')
                            .map(|v| number(v, "N"))
                            .collect::<Result<_, _>>()?;
                    }
                    "--interval" => opts.interval = seconds(value, "interval")?,
                    "--window" => opts.window = Some(seconds(value, "window")?),
                    "--concurrency" => opts.concurrency = number(value, "concurrency")?,
                    "--min-round-ms" => {
                        opts.min_round =
                            Some(seconds(value, "min round")? / 1000).filter(|d| !d.is_zero());
                    }
                    "--json" => opts.json_out = Some(PathBuf::from(value)),
                    other => return Err(format!("unknown option {other}\n{USAGE}")),
                }
            }
            watch_scale::scale(&opts)
        }
        ["run", rest @ ..] => {
            let mut opts = run::RunOptions {
                python: std::env::var_os("MCSTAT_PYTHON").map(PathBuf::from),
                node_modules: std::env::var_os("MCSTAT_NODE_MODULES").map(PathBuf::from),
                peers_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers"),
                quick: false,
                json_out: None,
            };
            let mut rest = rest.iter();
            while let Some(&flag) = rest.next() {
                let mut value = || {
                    rest.next()
                        .map(PathBuf::from)
                        .ok_or(format!("{flag} needs a value"))
                };
                match flag {
                    "--quick" => opts.quick = true,
                    "--python" => opts.python = Some(value()?),
                    "--node-modules" => opts.node_modules = Some(value()?),
                    "--peers" => opts.peers_dir = value()?,
                    "--json" => opts.json_out = Some(value()?),
                    other => return Err(format!("unknown option {other}\n{USAGE}")),
                }
            }
            run::run(&opts)
        }
        _ => Err(USAGE.into()),
    }
}
