//! `mcstat-bench run`: starts the peers (`mcstat-bench serve`), then runs every
//! workload with every tool, interleaved (each round runs every tool once, in an order
//! rotated per round), and prints medians and ratios; then the heap measurement.
//!
//! Every tool is a child process printing one JSON result (see [`crate::clients`]), so
//! start-up and interpreter loading are never timed, and only the tool's own
//! measurement (taken around each lookup, or around the whole batch) counts.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::clients::Workload;

/// Options of `run`.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) python: Option<PathBuf>,
    pub(crate) node_modules: Option<PathBuf>,
    pub(crate) peers_dir: PathBuf,
    pub(crate) quick: bool,
    pub(crate) json_out: Option<PathBuf>,
}

/// One workload's parameters.
#[derive(Debug, Clone, Copy)]
struct Plan {
    workload: Workload,
    n: usize,
    concurrency: usize,
    warmup: usize,
    rounds: usize,
}

/// Who runs a lookup, and what one lookup does on the wire.
#[derive(Debug, Clone, Copy)]
struct ToolInfo {
    name: &'static str,
    /// Status only (no ping): compared with `floor-status`, not `floor`.
    status_only: bool,
}

const JAVA_TOOLS: &[ToolInfo] = &[
    ToolInfo {
        name: "ours",
        status_only: false,
    },
    ToolInfo {
        name: "ours-status",
        status_only: true,
    },
    ToolInfo {
        name: "craftping",
        status_only: true,
    },
    ToolInfo {
        name: "mcstatus",
        status_only: false,
    },
    ToolInfo {
        name: "util",
        status_only: false,
    },
    ToolInfo {
        name: "floor",
        status_only: false,
    },
    ToolInfo {
        name: "floor-status",
        status_only: true,
    },
];

const UDP_TOOLS: &[ToolInfo] = &[
    ToolInfo {
        name: "ours",
        status_only: false,
    },
    ToolInfo {
        name: "mcstatus",
        status_only: false,
    },
    ToolInfo {
        name: "util",
        status_only: false,
    },
    ToolInfo {
        name: "floor",
        status_only: false,
    },
];

/// Many short rounds rather than a few long ones: on a shared machine, a burst of
/// load then hits every tool about equally.
fn plans(quick: bool) -> Vec<Plan> {
    let (n, rounds) = if quick { (100, 1) } else { (100, 15) };
    let (tn, tc, trounds) = if quick {
        (2_000, 200, 1)
    } else {
        (10_000, 1_000, 5)
    };
    let seq = |workload| Plan {
        workload,
        n,
        concurrency: 1,
        warmup: 20,
        rounds,
    };
    vec![
        seq(Workload::Latency),
        Plan {
            workload: Workload::Throughput,
            n: tn,
            concurrency: tc,
            warmup: 20,
            rounds: trounds,
        },
        seq(Workload::Query),
        seq(Workload::Bedrock),
    ]
}

/// The peers process; stops when dropped (its stdin closes).
struct Peers {
    child: std::process::Child,
    ports: Value,
}

impl Drop for Peers {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn start_peers(exe: &PathBuf) -> Result<Peers, String> {
    let mut child = Command::new(exe)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the peers: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let ports: Value =
        serde_json::from_str(&line).map_err(|e| format!("peers said {line:?}: {e}"))?;
    Ok(Peers { child, ports })
}

fn port_for(ports: &Value, workload: Workload) -> u64 {
    let key = match workload {
        Workload::Latency | Workload::Throughput => "java",
        Workload::Query => "query",
        Workload::Bedrock => "bedrock",
    };
    ports[key].as_u64().unwrap_or(0)
}

fn tool_command(exe: &PathBuf, opts: &RunOptions, tool: &str) -> Option<Command> {
    match tool {
        "mcstatus" => {
            let mut cmd = Command::new(opts.python.as_ref()?);
            cmd.arg(opts.peers_dir.join("bench-mcstatus.py"));
            Some(cmd)
        }
        "util" => {
            let mut cmd = Command::new("node");
            cmd.env("NODE_PATH", opts.node_modules.as_ref()?)
                .arg(opts.peers_dir.join("bench-util.js"));
            Some(cmd)
        }
        rust => {
            let mut cmd = Command::new(exe);
            cmd.args(["client", rust]);
            Some(cmd)
        }
    }
}

fn run_tool(mut cmd: Command, plan: &Plan, port: u64) -> Result<Value, String> {
    let output = cmd
        .args([
            plan.workload.name().to_owned(),
            "127.0.0.1".to_owned(),
            port.to_string(),
            plan.n.to_string(),
            plan.concurrency.to_string(),
            plan.warmup.to_string(),
        ])
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|_| {
        format!(
            "exit {:?}, stdout {line:?}, stderr {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// One tool's results over all rounds of a workload.
#[derive(Debug, Default)]
struct Collected {
    /// Every timed lookup of every round (sequential workloads).
    lat_us: Vec<f64>,
    /// Per round (aligned across tools; `None` when the run failed): the round's
    /// median µs, or lookups/s.
    rounds: Vec<Option<f64>>,
    /// Per round: client CPU µs per lookup.
    cpu: Vec<Option<f64>>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

pub(crate) fn run(opts: &RunOptions) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let peers = start_peers(&exe)?;
    let mut report = serde_json::Map::new();
    for plan in plans(opts.quick) {
        let tools = match plan.workload {
            Workload::Latency | Workload::Throughput => JAVA_TOOLS,
            Workload::Query | Workload::Bedrock => UDP_TOOLS,
        };
        let port = port_for(&peers.ports, plan.workload);
        let mut collected: Vec<Collected> = tools.iter().map(|_| Collected::default()).collect();
        for round in 0..plan.rounds {
            for k in 0..tools.len() {
                let i = (k + round) % tools.len();
                let Some(cmd) = tool_command(&exe, opts, tools[i].name) else {
                    continue;
                };
                eprint!(
                    "\r{:<10} round {}/{} {:<14}",
                    plan.workload.name(),
                    round + 1,
                    plan.rounds,
                    tools[i].name
                );
                let c = &mut collected[i];
                let (mut figure, mut cpu) = (None, None);
                match run_tool(cmd, &plan, port) {
                    Ok(result) => {
                        let ok = result["ok"].as_u64().unwrap_or(0);
                        c.ok += ok;
                        c.errors += result["errors"].as_u64().unwrap_or(0);
                        if c.first_error.is_none() {
                            c.first_error = result["error"].as_str().map(str::to_owned);
                        }
                        if let Some(lat) = result["lat_us"].as_array() {
                            let mut lat: Vec<f64> = lat.iter().filter_map(Value::as_f64).collect();
                            c.lat_us.extend(&lat);
                            if plan.workload != Workload::Throughput {
                                figure = median(&mut lat);
                            }
                        }
                        let elapsed = result["elapsed_s"].as_f64().filter(|e| *e > 0.0);
                        if plan.workload == Workload::Throughput {
                            figure = elapsed.map(|e| ok as f64 / e);
                        }
                        cpu = result["cpu_s"]
                            .as_f64()
                            .filter(|_| ok > 0)
                            .map(|cpu| cpu * 1e6 / ok as f64);
                    }
                    Err(e) => {
                        c.errors += plan.n as u64;
                        c.first_error.get_or_insert(e);
                    }
                }
                c.rounds.push(figure);
                c.cpu.push(cpu);
            }
        }
        eprintln!();
        report.insert(
            plan.workload.name().to_owned(),
            print_table(&plan, tools, &mut collected),
        );
    }

    eprint!("heap ...");
    let heap_concurrency = if opts.quick { 200 } else { 1_000 };
    let output = Command::new(&exe)
        .args([
            "heap",
            "127.0.0.1",
            &peers.ports.to_string(),
            &heap_concurrency.to_string(),
        ])
        .output()
        .map_err(|e| e.to_string())?;
    eprintln!();
    let heap: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
        format!(
            "heap failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    print_heap(&heap);
    report.insert("heap".to_owned(), heap);
    drop(peers);

    if let Some(path) = &opts.json_out {
        let text =
            serde_json::to_string_pretty(&Value::Object(report)).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn describe(workload: Workload, tool: &str) -> &'static str {
    match (workload, tool) {
        (Workload::Latency | Workload::Throughput, "ours") => {
            "mc_protocol::net::java::status: status + ping"
        }
        (Workload::Latency | Workload::Throughput, "ours-status") => {
            "our StatusClient over TcpStream: status only"
        }
        (Workload::Latency | Workload::Throughput, "craftping") => {
            "craftping 0.8 tokio::ping: status only"
        }
        (Workload::Latency | Workload::Throughput, "mcstatus") => {
            "mcstatus 14.2 AsyncJavaClient: status + ping"
        }
        (Workload::Latency | Workload::Throughput, "util") => {
            "minecraft-server-util 5.4 status(): status + ping"
        }
        (Workload::Latency | Workload::Throughput, "floor") => {
            "raw TcpStream, same bytes: status + ping"
        }
        (Workload::Latency | Workload::Throughput, "floor-status") => {
            "raw TcpStream, same bytes: status only"
        }
        (Workload::Query, "ours") => "mc_protocol::net::query::full",
        (Workload::Query, "mcstatus") => "mcstatus JavaServer.async_query",
        (Workload::Query, "util") => "minecraft-server-util queryFull()",
        (Workload::Query, "floor") => "raw UdpSocket: handshake, token, full stat",
        (Workload::Bedrock, "ours") => "mc_protocol::net::bedrock::status",
        (Workload::Bedrock, "mcstatus") => "mcstatus BedrockServer.async_status",
        (Workload::Bedrock, "util") => "minecraft-server-util statusBedrock()",
        (Workload::Bedrock, "floor") => "raw UdpSocket: ping, pong",
        _ => "",
    }
}

/// Prints one workload's table (markdown) and returns its figures.
fn print_table(plan: &Plan, tools: &[ToolInfo], collected: &mut [Collected]) -> Value {
    let throughput = plan.workload == Workload::Throughput;
    // Figure per tool: lookups/s (median of the rounds) or median µs per lookup (of
    // every lookup of every round).
    let figures: Vec<Option<f64>> = collected
        .iter_mut()
        .map(|c| {
            if throughput {
                median(&mut c.rounds.iter().flatten().copied().collect::<Vec<_>>())
            } else {
                median(&mut c.lat_us)
            }
        })
        .collect();
    let cpu: Vec<Option<f64>> = collected
        .iter()
        .map(|c| median(&mut c.cpu.iter().flatten().copied().collect::<Vec<_>>()))
        .collect();
    let index = |name: &str| tools.iter().position(|t| t.name == name);
    // "How many times ours is faster": >1 means the tool is slower than ours.
    let speedup = |ours: f64, tool: f64| if throughput { ours / tool } else { tool / ours };
    // Ratios are taken round by round (the two runs were seconds apart, under the
    // same load), and the median of those is reported.
    let paired = |a: &[Option<f64>], b: &[Option<f64>], f: &dyn Fn(f64, f64) -> f64| {
        let mut ratios: Vec<f64> = a
            .iter()
            .zip(b)
            .filter_map(|(x, y)| Some(f((*x)?, (*y)?)))
            .collect();
        median(&mut ratios)
    };

    println!();
    if throughput {
        println!(
            "### {}: {} Java lookups at concurrency {}, {} rounds (figures: median of the rounds; ratios: median of the per-round ratios)",
            plan.workload.name(),
            plan.n,
            plan.concurrency,
            plan.rounds
        );
        println!();
        println!(
            "| tool | one lookup | lookups/s | ours is ×faster | ÷ floor | client CPU µs/lookup | CPU ÷ ours | errors |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
    } else {
        println!(
            "### {}: {} sequential lookups × {} rounds (after {} untimed per run; figures: median of every lookup; ratios: median of the per-round ratios)",
            plan.workload.name(),
            plan.n,
            plan.rounds,
            plan.warmup
        );
        println!();
        println!("| tool | one lookup | median µs | ours is ×faster | ÷ floor | errors |");
        println!("|---|---|---:|---:|---:|---:|");
    }
    let fmt =
        |v: Option<f64>, digits: usize| v.map_or("—".to_owned(), |v| format!("{v:.digits$}"));
    let mut rows = Vec::new();
    for (i, (tool, c)) in tools.iter().zip(collected.iter()).enumerate() {
        // Same-work comparison: status-only tools against our status-only client and
        // the status-only floor.
        let (ours, floor) = if tool.status_only {
            ("ours-status", "floor-status")
        } else {
            ("ours", "floor")
        };
        let (ours, floor) = (index(ours), index(floor));
        let vs_ours =
            ours.and_then(|o| paired(&collected[o].rounds, &c.rounds, &|o, t| speedup(o, t)));
        // Cost relative to the floor (1.0 = as cheap as the raw exchange).
        let vs_floor =
            floor.and_then(|f| paired(&collected[f].rounds, &c.rounds, &|f, t| speedup(f, t)));
        let cpu_vs_ours = ours.and_then(|o| paired(&collected[o].cpu, &c.cpu, &|o, t| t / o));
        let error = c
            .first_error
            .as_deref()
            .map(|e| format!(" ({})", e.chars().take(60).collect::<String>()))
            .unwrap_or_default();
        let common = format!(
            "| {} | {} | {} | {} | {} |",
            tool.name,
            describe(plan.workload, tool.name),
            fmt(figures[i], if throughput { 0 } else { 1 }),
            fmt(vs_ours, 2),
            fmt(vs_floor, 2),
        );
        if throughput {
            println!(
                "{common} {} | {} | {}{error} |",
                fmt(cpu[i], 1),
                fmt(cpu_vs_ours, 2),
                c.errors
            );
        } else {
            println!("{common} {}{error} |", c.errors);
        }
        rows.push(json!({
            "tool": tool.name,
            "figure": figures[i],
            "unit": if throughput { "lookups/s" } else { "median µs" },
            "ours_is_x_faster": vs_ours,
            "cost_vs_floor": vs_floor,
            "cpu_us_per_lookup": cpu[i],
            "ok": c.ok,
            "errors": c.errors,
            "first_error": c.first_error,
            "per_round": c.rounds,
            "per_round_cpu_us_per_lookup": c.cpu,
        }));
    }
    let _ = std::io::stdout().flush();
    json!({ "n": plan.n, "concurrency": plan.concurrency, "rounds": plan.rounds, "tools": rows })
}

fn print_heap(heap: &Value) {
    println!();
    println!(
        "### heap per lookup ({} at once; the Query peak run {} at once; counting allocator)",
        heap["concurrency"], heap["query"]["peak_concurrency"]
    );
    println!();
    println!(
        "| client | in flight, waiting for the answer (bytes) | peak, answer included (bytes) | failed in the peak run |"
    );
    println!("|---|---:|---:|---:|");
    for name in ["java", "craftping", "query", "bedrock"] {
        let fmt = |key: &str| {
            heap[name][key]
                .as_f64()
                .map_or("—".to_owned(), |v| format!("{v:.0}"))
        };
        println!(
            "| {name} | {} | {} | {} |",
            fmt("in_flight_bytes"),
            fmt("peak_bytes"),
            fmt("peak_errors")
        );
    }
}
