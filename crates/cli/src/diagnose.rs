//! `mcstat diagnose`: walk every layer between a player and a server and say, in plain
//! language, where it breaks.
//!
//! The walk, for a Java address: DNS A/AAAA of the host → SRV `_minecraft._tcp` (when
//! no port is given) → A/AAAA of each SRV target → TCP connect to each address →
//! Java status → legacy ping → Query (UDP, on the game port unless `--query-port`) →
//! Bedrock (UDP 19132 unless `--bedrock-port`) → Mojang's blocked-servers list (see
//! [`crate::blocklist`]). A `bedrock:` address runs DNS, Bedrock on its port
//! (default 19132) and the blocklist only.
//!
//! Every step runs under its own sub-deadline (a quarter of `--timeout`, at least
//! 200 ms) and all of them under the overall `--timeout`: a stalled step is cut off,
//! and the steps left once the overall deadline has passed are skipped. The DNS
//! lookups are made with hickory directly (not `Resolver::resolve`) so that A, AAAA
//! and SRV each show as their own step.

use std::error::Error as _;
use std::fmt::Write as _;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use mc_protocol::address::{Host, ServerAddress, SrvRecord, order_srv};
use mc_protocol::legacy::LegacyForm;
use mc_protocol::net::{self, ClientOptions, NetError};
use serde_json::{Value, json};

use crate::blocklist::{self, Blocklist, Match};

/// The Java default port.
const JAVA_PORT: u16 = 25565;
/// The Bedrock default port.
const BEDROCK_PORT: u16 = 19132;
/// The most SRV targets looked up.
const MAX_SRV_TARGETS: usize = 4;
/// The most addresses tried over TCP.
const MAX_CONNECTS: usize = 8;

/// Which list to check the names against.
#[derive(Debug)]
pub(crate) enum ListSource {
    /// The snapshot bundled with the binary.
    Bundled,
    /// A list already read from a file.
    Loaded(Blocklist),
    /// An http(s) URL, fetched during the walk.
    Url(String),
}

/// What to diagnose and how.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) address: ServerAddress,
    /// A `bedrock:` address: Bedrock only.
    pub(crate) bedrock: bool,
    /// The overall deadline.
    pub(crate) timeout: Duration,
    /// Ask this name server instead of the system's.
    pub(crate) dns: Option<SocketAddr>,
    pub(crate) query_port: Option<u16>,
    pub(crate) bedrock_port: Option<u16>,
    pub(crate) blocklist: ListSource,
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Failed,
    Skipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// One step of the walk.
#[derive(Debug)]
pub(crate) struct Step {
    /// `dns`, `srv`, `srv-dns`, `tcp`, `java`, `legacy`, `query`, `bedrock` or
    /// `blocklist`.
    pub(crate) name: &'static str,
    pub(crate) status: Status,
    pub(crate) elapsed: Duration,
    /// One line for people.
    pub(crate) detail: String,
}

/// The whole diagnosis.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) address: String,
    pub(crate) steps: Vec<Step>,
    pub(crate) verdict: String,
    pub(crate) advice: Vec<String>,
    /// Whether any status protocol answered.
    pub(crate) answered: bool,
    pub(crate) blocked: Option<Match>,
    /// Where the blocklist came from.
    pub(crate) list_source: String,
}

/// The overall deadline and each step's share of it.
#[derive(Debug, Clone, Copy)]
struct Clock {
    at: Instant,
    step_max: Duration,
}

impl Clock {
    fn new(total: Duration) -> Self {
        Self {
            at: Instant::now() + total,
            step_max: (total / 4).max(Duration::from_millis(200)).min(total),
        }
    }

    /// The time the next step may take, `None` once the overall deadline has passed.
    fn budget(&self) -> Option<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        (left >= Duration::from_millis(10)).then(|| left.min(self.step_max))
    }
}

/// Runs `fut` under `budget`, timing it.
async fn timed<T>(
    budget: Duration,
    fut: impl Future<Output = Result<T, NetError>>,
) -> (Duration, Result<T, NetError>) {
    let started = Instant::now();
    let result = net::with_deadline(budget, fut).await;
    (started.elapsed(), result)
}

fn options(budget: Duration) -> ClientOptions {
    ClientOptions {
        timeout: budget,
        ..ClientOptions::default()
    }
}

/// An error with its causes on one line, refused/unreachable connections said plainly.
fn describe(err: &NetError) -> String {
    match err {
        NetError::Timeout(d) => format!("no answer within {}", secs(*d)),
        NetError::Connect(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::NetworkUnreachable => "network unreachable".into(),
            std::io::ErrorKind::HostUnreachable => "host unreachable".into(),
            _ => format!("could not connect: {io}"),
        },
        other => {
            let mut message = other.to_string();
            let mut source = other.source();
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            message
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A server-controlled string on one line, without control characters.
fn clean(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = one_line.split_whitespace().collect();
    let mut out = words.join(" ");
    if out.chars().count() > 60 {
        out = out.chars().take(59).collect::<String>() + "…";
    }
    out
}

/// The outcome of an A + AAAA lookup.
#[derive(Debug, Default)]
struct Addresses {
    v4: Vec<IpAddr>,
    v6: Vec<IpAddr>,
    /// Set when there is no address: why.
    problem: Option<DnsProblem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DnsProblem {
    NoSuchName,
    NoRecords,
    Timeout,
    Failed,
}

impl Addresses {
    fn all(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.v4.iter().chain(self.v6.iter()).copied()
    }

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

fn build_resolver(dns: Option<SocketAddr>, timeout: Duration) -> Result<TokioResolver, String> {
    let mut builder = match dns {
        Some(server) => {
            let mut connection = ConnectionConfig::udp();
            connection.port = server.port();
            let name_server = NameServerConfig::new(server.ip(), true, vec![connection]);
            let config = ResolverConfig::from_name_servers(vec![name_server]);
            let mut builder =
                TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
            builder.options_mut().use_hosts_file = ResolveHosts::Never;
            builder
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
    };
    builder.options_mut().timeout = timeout;
    builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}

/// A and AAAA of `name`, asked together under `budget`.
async fn lookup_addresses(resolver: &TokioResolver, name: &str, budget: Duration) -> Addresses {
    let lookups = async { tokio::join!(resolver.ipv4_lookup(name), resolver.ipv6_lookup(name)) };
    let Ok((v4, v6)) = tokio::time::timeout(budget, lookups).await else {
        return Addresses {
            problem: Some(DnsProblem::Timeout),
            ..Addresses::default()
        };
    };
    let mut out = Addresses::default();
    let mut problems = Vec::new();
    match v4 {
        Ok(lookup) => out.v4 = ips(lookup.answers()),
        Err(e) => problems.push(classify(&e)),
    }
    match v6 {
        Ok(lookup) => out.v6 = ips(lookup.answers()),
        Err(e) => problems.push(classify(&e)),
    }
    if out.is_empty() {
        out.problem = Some(if problems.contains(&DnsProblem::NoSuchName) {
            DnsProblem::NoSuchName
        } else if problems.contains(&DnsProblem::Timeout) {
            DnsProblem::Timeout
        } else if problems.contains(&DnsProblem::Failed) {
            DnsProblem::Failed
        } else {
            DnsProblem::NoRecords
        });
    }
    out
}

fn ips(records: &[hickory_resolver::proto::rr::Record]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for record in records {
        let ip = match &record.data {
            RData::A(a) => IpAddr::V4(a.0),
            RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
            _ => continue,
        };
        if !out.contains(&ip) && out.len() < 16 {
            out.push(ip);
        }
    }
    out
}

fn classify(e: &hickory_resolver::net::NetError) -> DnsProblem {
    if e.is_nx_domain() {
        DnsProblem::NoSuchName
    } else if e.is_no_records_found() {
        DnsProblem::NoRecords
    } else if e.to_string().to_ascii_lowercase().contains("timed out") {
        DnsProblem::Timeout
    } else {
        DnsProblem::Failed
    }
}

fn addresses_detail(name: &str, a: &Addresses) -> String {
    match a.problem {
        None => {
            let list: Vec<String> = a.all().map(|ip| ip.to_string()).collect();
            format!("{name}: {}", list.join(", "))
        }
        Some(DnsProblem::NoSuchName) => format!("{name}: no such domain (NXDOMAIN)"),
        Some(DnsProblem::NoRecords) => format!("{name}: no A/AAAA record"),
        Some(DnsProblem::Timeout) => format!("{name}: the DNS server did not answer in time"),
        Some(DnsProblem::Failed) => format!("{name}: the DNS lookup failed"),
    }
}

/// What the SRV lookup found.
#[derive(Debug)]
enum Srv {
    /// No record (or the lookup failed): the host and port 25565 apply.
    None,
    /// The record says "no service here" (target `.`).
    NoService,
    Targets(Vec<(String, u16)>),
}

/// One address to connect to, and what happened.
#[derive(Debug)]
struct Connect {
    addr: SocketAddr,
    /// The name for the handshake (the SRV target, or the host as given).
    host: String,
    outcome: Result<(), ConnectFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectFailure {
    Refused,
    Timeout,
    Other,
}

/// Records steps as they happen.
#[derive(Debug, Default)]
struct Walk {
    steps: Vec<Step>,
}

impl Walk {
    fn push(&mut self, name: &'static str, status: Status, elapsed: Duration, detail: String) {
        self.steps.push(Step {
            name,
            status,
            elapsed,
            detail,
        });
    }

    fn skip(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, Status::Skipped, Duration::ZERO, detail.into());
    }

    fn status_of(&self, name: &str) -> Option<Status> {
        self.steps.iter().find(|s| s.name == name).map(|s| s.status)
    }
}

const OUT_OF_TIME: &str = "skipped: the overall deadline (--timeout) has passed";

/// Runs the walk. Never fails: every problem becomes a step.
pub(crate) async fn run(opts: Options) -> Report {
    let clock = Clock::new(opts.timeout);
    let mut walk = Walk::default();
    let host = opts.address.host.clone();
    let name = match &host {
        Host::Name(n) => Some(n.as_str().to_owned()),
        _ => None,
    };
    let shown = match (&host, opts.bedrock) {
        (_, true) => format!("bedrock:{}", opts.address),
        _ => opts.address.to_string(),
    };
    let resolver = match &name {
        Some(_) => match build_resolver(opts.dns, clock.step_max) {
            Ok(r) => Some(r),
            Err(e) => {
                walk.push("dns", Status::Failed, Duration::ZERO, e);
                None
            }
        },
        None => None,
    };

    // 1. A/AAAA of the host.
    let mut host_addrs = Addresses::default();
    if name.is_some() && resolver.is_none() {
        host_addrs.problem = Some(DnsProblem::Failed);
    }
    match (&name, host.ip(), &resolver) {
        (_, Some(ip), _) => {
            walk.push(
                "dns",
                Status::Ok,
                Duration::ZERO,
                format!("{ip} is an IP address: no DNS lookup"),
            );
            if ip.is_ipv4() {
                host_addrs.v4.push(ip);
            } else {
                host_addrs.v6.push(ip);
            }
        }
        (Some(n), None, Some(resolver)) => match clock.budget() {
            Some(budget) => {
                let started = Instant::now();
                host_addrs = lookup_addresses(resolver, n, budget).await;
                let status = if host_addrs.is_empty() {
                    Status::Failed
                } else {
                    Status::Ok
                };
                walk.push(
                    "dns",
                    status,
                    started.elapsed(),
                    addresses_detail(n, &host_addrs),
                );
            }
            None => walk.skip("dns", OUT_OF_TIME),
        },
        _ => {}
    }

    // 2. SRV, for a Java name without a port.
    let mut srv = Srv::None;
    let srv_applies = !opts.bedrock && opts.address.port.is_none();
    match (&name, &resolver) {
        _ if opts.bedrock => walk.skip("srv", "skipped: Bedrock has no SRV record"),
        _ if !srv_applies => walk.skip("srv", "skipped: a port was given"),
        (None, _) => walk.skip("srv", "skipped: an IP address has no SRV record"),
        (Some(n), Some(resolver)) => match clock.budget() {
            Some(budget) => {
                let started = Instant::now();
                let query = format!("_minecraft._tcp.{n}.");
                let result =
                    tokio::time::timeout(budget, resolver.srv_lookup(query.as_str())).await;
                let elapsed = started.elapsed();
                let (status, detail) = match result {
                    Err(_) => (
                        Status::Failed,
                        format!(
                            "_minecraft._tcp.{n}: the DNS server did not answer in time; using {n}:{JAVA_PORT}"
                        ),
                    ),
                    Ok(Err(e))
                        if matches!(
                            classify(&e),
                            DnsProblem::NoSuchName | DnsProblem::NoRecords
                        ) =>
                    {
                        (
                            Status::Ok,
                            format!(
                                "no SRV record for _minecraft._tcp.{n}: the client uses {n}:{JAVA_PORT}"
                            ),
                        )
                    }
                    Ok(Err(e)) => (
                        Status::Failed,
                        format!(
                            "_minecraft._tcp.{n}: the lookup failed ({e}); using {n}:{JAVA_PORT}"
                        ),
                    ),
                    Ok(Ok(lookup)) => {
                        let records: Vec<SrvRecord> = lookup
                            .answers()
                            .iter()
                            .filter_map(|r| match &r.data {
                                RData::SRV(s) => Some(SrvRecord {
                                    priority: s.priority,
                                    weight: s.weight,
                                    port: s.port,
                                    target: s.target.to_ascii(),
                                }),
                                _ => None,
                            })
                            .take(64)
                            .collect();
                        let ordered = order_srv(&records);
                        if records.is_empty() {
                            (
                                Status::Ok,
                                format!(
                                    "no SRV record for _minecraft._tcp.{n}: the client uses {n}:{JAVA_PORT}"
                                ),
                            )
                        } else if ordered.is_empty() {
                            srv = Srv::NoService;
                            (
                                Status::Failed,
                                format!(
                                    "_minecraft._tcp.{n} says there is no Minecraft server here (target \".\")"
                                ),
                            )
                        } else {
                            let list: Vec<String> = ordered
                                .iter()
                                .map(|t| format!("{}:{}", t.host, t.port))
                                .collect();
                            srv = Srv::Targets(
                                ordered
                                    .into_iter()
                                    .take(MAX_SRV_TARGETS)
                                    .map(|t| (t.host, t.port))
                                    .collect(),
                            );
                            (
                                Status::Ok,
                                format!("_minecraft._tcp.{n} → {}", list.join(", ")),
                            )
                        }
                    }
                };
                walk.push("srv", status, elapsed, detail);
            }
            None => walk.skip("srv", OUT_OF_TIME),
        },
        (Some(_), None) => walk.skip("srv", "skipped: no DNS resolver"),
    }

    // 3. A/AAAA of each SRV target; the plan of addresses to connect to.
    let game_port = opts.address.port.unwrap_or(JAVA_PORT);
    let mut plan: Vec<(SocketAddr, String)> = Vec::new();
    let mut srv_port = None;
    let mut srv_target_addrs: Vec<(String, Addresses)> = Vec::new();
    if let (Srv::Targets(targets), Some(resolver)) = (&srv, &resolver) {
        srv_port = targets.first().map(|t| t.1);
        for (target, port) in targets {
            let Some(budget) = clock.budget() else {
                walk.skip("srv-dns", OUT_OF_TIME);
                break;
            };
            let started = Instant::now();
            let addrs = lookup_addresses(resolver, &format!("{target}."), budget).await;
            let status = if addrs.is_empty() {
                Status::Failed
            } else {
                Status::Ok
            };
            walk.push(
                "srv-dns",
                status,
                started.elapsed(),
                format!("SRV target {}", addresses_detail(target, &addrs)),
            );
            for ip in addrs.all() {
                plan.push((SocketAddr::new(ip, *port), target.clone()));
            }
            srv_target_addrs.push((target.clone(), addrs));
        }
    }
    let via_srv = !plan.is_empty();
    if !via_srv && !matches!(srv, Srv::NoService) {
        let handshake = match &host {
            Host::Ipv6(ip) => ip.to_string(),
            h => h.to_string(),
        };
        for ip in host_addrs.all() {
            plan.push((SocketAddr::new(ip, game_port), handshake.clone()));
        }
    }
    plan.truncate(MAX_CONNECTS);

    // 4. TCP connect to each address.
    let mut connects: Vec<Connect> = Vec::new();
    if opts.bedrock {
        walk.skip("tcp", "skipped: Bedrock uses UDP");
    } else if plan.is_empty() {
        walk.skip("tcp", "skipped: no address to connect to");
    } else {
        for (addr, handshake) in &plan {
            let Some(budget) = clock.budget() else {
                walk.skip("tcp", OUT_OF_TIME);
                break;
            };
            let (elapsed, result) = timed(budget, async {
                tokio::net::TcpStream::connect(addr)
                    .await
                    .map(drop)
                    .map_err(NetError::Connect)
            })
            .await;
            let outcome = match &result {
                Ok(()) => Ok(()),
                Err(NetError::Timeout(_)) => Err(ConnectFailure::Timeout),
                Err(NetError::Connect(io))
                    if io.kind() == std::io::ErrorKind::ConnectionRefused =>
                {
                    Err(ConnectFailure::Refused)
                }
                Err(_) => Err(ConnectFailure::Other),
            };
            let (status, detail) = match &result {
                Ok(()) => (Status::Ok, format!("{addr} accepts connections")),
                Err(e) => (Status::Failed, format!("{addr}: {}", describe(e))),
            };
            walk.push("tcp", status, elapsed, detail);
            connects.push(Connect {
                addr: *addr,
                host: handshake.clone(),
                outcome,
            });
        }
    }
    let open = connects.iter().find(|c| c.outcome.is_ok());

    // 5. Java status and 6. the legacy ping, on the first address that accepted.
    let mut java_version = None;
    if opts.bedrock {
        walk.skip("java", "skipped: a Bedrock address");
        walk.skip("legacy", "skipped: a Bedrock address");
    } else if let Some(c) = open {
        let port = c.addr.port();
        match clock.budget() {
            Some(budget) => {
                let (elapsed, result) = timed(
                    budget,
                    net::java::status(c.addr, &c.host, port, &options(budget)),
                )
                .await;
                let (status, detail) = match result {
                    Ok(reply) => {
                        let s = &reply.status;
                        let mut d = match &s.version {
                            Some(v) => format!("{} (protocol {})", clean(&v.name), v.protocol),
                            None => "no version".into(),
                        };
                        java_version = Some(d.clone());
                        if let Some(p) = &s.players {
                            let _ = write!(d, ", {}/{} players", p.online, p.max);
                        }
                        let motd = clean(&s.styled_motd().to_plain());
                        if !motd.is_empty() {
                            let _ = write!(d, ", “{motd}”");
                        }
                        (Status::Ok, format!("{}: {d}", c.addr))
                    }
                    Err(e) => (Status::Failed, format!("{}: {}", c.addr, describe(&e))),
                };
                walk.push("java", status, elapsed, detail);
            }
            None => walk.skip("java", OUT_OF_TIME),
        }
        match clock.budget() {
            Some(budget) => {
                let (elapsed, result) = timed(
                    budget,
                    net::legacy::status_timed(
                        c.addr,
                        &c.host,
                        port,
                        LegacyForm::V1_6,
                        &options(budget),
                    ),
                )
                .await;
                let (status, detail) = match result {
                    Ok(reply) => {
                        let s = &reply.status;
                        let v = s
                            .version
                            .as_ref()
                            .map_or_else(|| "no version".into(), |v| clean(&v.name));
                        (
                            Status::Ok,
                            format!("{}: {v}, {}/{} players", c.addr, s.online, s.max),
                        )
                    }
                    Err(e) => (Status::Failed, format!("{}: {}", c.addr, describe(&e))),
                };
                walk.push("legacy", status, elapsed, detail);
            }
            None => walk.skip("legacy", OUT_OF_TIME),
        }
    } else {
        walk.skip("java", "skipped: no address accepts TCP connections");
        walk.skip("legacy", "skipped: no address accepts TCP connections");
    }

    // 7. Query, over UDP on the game port of the address that accepted (or the first).
    let udp_ip = open
        .map(|c| c.addr.ip())
        .or_else(|| plan.first().map(|p| p.0.ip()))
        .or_else(|| host_addrs.all().next());
    let query_port = opts.query_port.unwrap_or_else(|| {
        open.or_else(|| connects.first())
            .map_or(game_port, |c| c.addr.port())
    });
    let mut query_addr = None;
    if opts.bedrock {
        walk.skip("query", "skipped: a Bedrock address");
    } else if let Some(ip) = udp_ip {
        let addr = SocketAddr::new(ip, query_port);
        query_addr = Some(addr);
        match clock.budget() {
            Some(budget) => {
                let (elapsed, result) =
                    timed(budget, net::query::full(addr, &options(budget))).await;
                let (status, detail) = match result {
                    Ok(full) => {
                        let mut d = format!(
                            "UDP {addr}: {}, {}/{} players",
                            clean(&full.version),
                            full.online,
                            full.max
                        );
                        if !full.plugins.server_mod.is_empty() {
                            let _ = write!(d, ", {}", clean(&full.plugins.server_mod));
                        }
                        (Status::Ok, d)
                    }
                    Err(e) => (Status::Failed, format!("UDP {addr}: {}", describe(&e))),
                };
                walk.push("query", status, elapsed, detail);
            }
            None => walk.skip("query", OUT_OF_TIME),
        }
    } else {
        walk.skip("query", "skipped: no address");
    }

    // 8. Bedrock.
    let bedrock_port = if opts.bedrock {
        opts.bedrock_port
            .or(opts.address.port)
            .unwrap_or(BEDROCK_PORT)
    } else {
        opts.bedrock_port.unwrap_or(BEDROCK_PORT)
    };
    let bedrock_ips: Vec<IpAddr> = if opts.bedrock {
        host_addrs.all().take(4).collect()
    } else {
        udp_ip.into_iter().collect()
    };
    if bedrock_ips.is_empty() {
        walk.skip("bedrock", "skipped: no address");
    }
    for ip in bedrock_ips {
        let addr = SocketAddr::new(ip, bedrock_port);
        let Some(budget) = clock.budget() else {
            walk.skip("bedrock", OUT_OF_TIME);
            break;
        };
        let (elapsed, result) = timed(budget, net::bedrock::status(addr, &options(budget))).await;
        let ok = result.is_ok();
        let (status, detail) = match result {
            Ok(reply) => {
                let s = &reply.status;
                let mut d = format!(
                    "UDP {addr}: {:?} {} (protocol {}), {}/{} players",
                    s.edition,
                    clean(&s.version),
                    s.protocol,
                    s.online,
                    s.max
                );
                let motd = clean(&s.styled_motd().to_plain());
                if !motd.is_empty() {
                    let _ = write!(d, ", “{motd}”");
                }
                (Status::Ok, d)
            }
            Err(e) => (Status::Failed, format!("UDP {addr}: {}", describe(&e))),
        };
        walk.push("bedrock", status, elapsed, detail);
        if ok {
            break;
        }
    }

    // 9. Mojang's blocklist: the host, the SRV targets and every IPv4 address.
    let mut names: Vec<String> = Vec::new();
    if let Some(n) = &name {
        names.push(n.clone());
    }
    for (target, _) in &srv_target_addrs {
        if !names.contains(target) {
            names.push(target.clone());
        }
    }
    for ip in host_addrs
        .v4
        .iter()
        .chain(srv_target_addrs.iter().flat_map(|(_, a)| a.v4.iter()))
    {
        let ip = ip.to_string();
        if !names.contains(&ip) {
            names.push(ip);
        }
    }
    let started = Instant::now();
    let mut note = String::new();
    let list = match opts.blocklist {
        ListSource::Bundled => Blocklist::bundled(),
        ListSource::Loaded(list) => list,
        ListSource::Url(url) => match clock.budget() {
            Some(budget) => match Blocklist::from_url(&url, budget).await {
                Ok(list) => list,
                Err(e) => {
                    note = format!("{e}; ");
                    Blocklist::bundled()
                }
            },
            None => {
                note = format!("no time left to fetch {url}; ");
                Blocklist::bundled()
            }
        },
    };
    let blocked = list.check(names.iter().map(String::as_str));
    let live_hint = if list.bundled {
        format!(
            "; pass --blocklist {} for the live list",
            blocklist::LIVE_URL
        )
    } else {
        String::new()
    };
    let (status, detail) = match &blocked {
        Some(m) => (
            Status::Failed,
            format!(
                "{note}{} is blocked: `{}` is on the {} (SHA-1 {}){live_hint}",
                m.name, m.candidate, list.source, m.hash
            ),
        ),
        None if names.is_empty() => (
            Status::Skipped,
            format!("{note}skipped: no name or IPv4 address to check"),
        ),
        None => (
            Status::Ok,
            format!(
                "{note}not listed: {} checked against the {} ({} hashes){live_hint}",
                names.join(", "),
                list.source,
                list.len()
            ),
        ),
    };
    walk.push("blocklist", status, started.elapsed(), detail);

    // Verdict and advice.
    let facts = Facts {
        walk: &walk,
        bedrock_mode: opts.bedrock,
        name: name.as_deref(),
        host_addrs: &host_addrs,
        srv: &srv,
        srv_port,
        srv_target_addrs: &srv_target_addrs,
        via_srv,
        connects: &connects,
        game_port,
        query_addr,
        bedrock_port,
        java_version,
        blocked: blocked.as_ref(),
    };
    let (verdict, advice, answered) = facts.judge();
    Report {
        address: shown,
        steps: walk.steps,
        verdict,
        advice,
        answered,
        blocked,
        list_source: list.source,
    }
}

/// What the verdict is drawn from.
#[derive(Debug)]
struct Facts<'a> {
    walk: &'a Walk,
    bedrock_mode: bool,
    name: Option<&'a str>,
    host_addrs: &'a Addresses,
    srv: &'a Srv,
    srv_port: Option<u16>,
    srv_target_addrs: &'a [(String, Addresses)],
    via_srv: bool,
    connects: &'a [Connect],
    game_port: u16,
    query_addr: Option<SocketAddr>,
    bedrock_port: u16,
    java_version: Option<String>,
    blocked: Option<&'a Match>,
}

impl Facts<'_> {
    fn ok(&self, step: &str) -> bool {
        self.walk.status_of(step) == Some(Status::Ok)
    }

    /// The verdict, the advice, and whether any status protocol answered.
    fn judge(&self) -> (String, Vec<String>, bool) {
        let mut advice = Vec::new();
        let java = self.ok("java");
        let legacy = self.ok("legacy");
        let query = self.ok("query");
        let bedrock = self.ok("bedrock");
        let answered = java || legacy || query || bedrock;
        let out_of_time = self.walk.steps.iter().any(|s| s.detail == OUT_OF_TIME);

        let mut verdict = if self.bedrock_mode {
            if bedrock {
                format!(
                    "the server answers Bedrock status on UDP port {}: it is up",
                    self.bedrock_port
                )
            } else if let Some(v) = self.no_address_verdict() {
                v
            } else {
                advice.push(format!(
                    "check that the server runs and that UDP port {} is open in the firewall (server-port in server.properties)",
                    self.bedrock_port
                ));
                format!(
                    "no Bedrock answer on UDP port {}: the server is down, the port is wrong or a firewall drops UDP",
                    self.bedrock_port
                )
            }
        } else if java {
            let mut v = "the server answers Java status: it is up".to_owned();
            if let Some(version) = &self.java_version {
                let _ = write!(v, " ({version})");
            }
            if self.via_srv
                && let Some(c) = self.connects.iter().find(|c| c.outcome.is_ok())
            {
                let _ = write!(v, ", through SRV at {}:{}", c.host, c.addr.port());
            }
            v
        } else if legacy {
            advice.push(
                "modern clients still list it; if it should be 1.7 or newer, check the proxy or plugin in front of it".into(),
            );
            "only the legacy ping answers: a server older than 1.7 or a proxy".into()
        } else if query {
            advice.push(format!(
                "check server-port in server.properties and that TCP port {} is open",
                self.game_port
            ));
            "only Query answers (UDP): the game port does not answer the status".into()
        } else if bedrock {
            advice.push(format!(
                "look it up with `mcstat bedrock {}:{}`; Java players need a Java server or Geyser",
                self.name.map_or_else(
                    || self
                        .host_addrs
                        .all()
                        .next()
                        .map(|ip| ip.to_string())
                        .unwrap_or_default(),
                    str::to_owned
                ),
                self.bedrock_port
            ));
            format!(
                "only Bedrock answers (UDP port {}): this is a Bedrock server, not a Java one",
                self.bedrock_port
            )
        } else if let Some(v) = self.no_address_verdict() {
            v
        } else if !self.connects.is_empty() && self.connects.iter().all(|c| c.outcome.is_err()) {
            let refused = self
                .connects
                .iter()
                .all(|c| c.outcome == Err(ConnectFailure::Refused));
            let timeouts = self
                .connects
                .iter()
                .all(|c| c.outcome == Err(ConnectFailure::Timeout));
            match (self.via_srv, self.srv_port, refused, timeouts) {
                (true, Some(port), true, _) => {
                    advice.push(format!(
                        "start the server on port {port}, or correct the SRV record's port (server-port in server.properties)"
                    ));
                    format!("SRV points to port {port} but nothing listens there")
                }
                (_, _, true, _) => {
                    advice.push(format!(
                        "start the server, or check the port: the server listens on server-port in server.properties ({} was tried)",
                        self.connects.first().map_or(self.game_port, |c| c.addr.port())
                    ));
                    "connection refused on every address: the server is down or the port is wrong"
                        .into()
                }
                (_, _, _, true) => {
                    advice.push(
                        "check the host's firewall and any port forwarding on the router".into(),
                    );
                    "no address answers TCP in time: the host is down or a firewall drops the connection".into()
                }
                _ => {
                    advice.push("check that the server runs, the port and the firewall".into());
                    "no address accepts TCP connections: the server is down, the port is wrong or a firewall is in the way".into()
                }
            }
        } else if self.connects.iter().any(|c| c.outcome.is_ok()) && !out_of_time {
            advice.push(
                "check that this port is the Minecraft server's (server-port) and not another service or a proxy without a backend".into(),
            );
            "the port accepts connections but does not answer as a Minecraft server".into()
        } else if out_of_time {
            advice.push("try a longer --timeout".into());
            "the overall deadline passed before any status answered".into()
        } else {
            "no status protocol answered".into()
        };

        // Further advice, whatever the verdict.
        if !self.bedrock_mode && java && self.walk.status_of("query") == Some(Status::Failed) {
            let port = self.query_addr.map_or(self.game_port, |a| a.port());
            advice.push(format!(
                "Query is disabled: set enable-query=true in server.properties (query.port={port}) and open UDP port {port} to list every player"
            ));
        }
        let failed = self.connects.iter().filter(|c| c.outcome.is_err()).count();
        if failed > 0 && failed < self.connects.len() {
            let bad: Vec<String> = self
                .connects
                .iter()
                .filter(|c| c.outcome.is_err())
                .map(|c| c.addr.to_string())
                .collect();
            advice.push(format!(
                "{failed} of {} addresses do not accept connections ({}): players sent there cannot join; fix or remove those DNS records",
                self.connects.len(),
                bad.join(", ")
            ));
        }
        let connect_addrs: Vec<&Addresses> = if self.via_srv {
            self.srv_target_addrs.iter().map(|(_, a)| a).collect()
        } else {
            vec![self.host_addrs]
        };
        if self.name.is_some()
            && connect_addrs.iter().all(|a| a.v4.is_empty())
            && connect_addrs.iter().any(|a| !a.v6.is_empty())
        {
            advice.push(
                "the name has only IPv6 (AAAA) addresses: players without IPv6 cannot connect; add an A record".into(),
            );
        }
        if let Some(m) = self.blocked {
            verdict.push_str("; but the host is on Mojang's blocklist");
            advice.push(format!(
                "host is on Mojang's blocklist: vanilla Java clients refuse to connect to {} (`{}` is listed)",
                m.name, m.candidate
            ));
        }
        (verdict, advice, answered)
    }

    /// The verdict when DNS gave nothing to connect to, if so.
    fn no_address_verdict(&self) -> Option<String> {
        if matches!(self.srv, Srv::NoService) {
            return Some(
                "the SRV record says there is no Minecraft server at this name: remove it or point it at the server".into(),
            );
        }
        let have_any =
            !self.host_addrs.is_empty() || self.srv_target_addrs.iter().any(|(_, a)| !a.is_empty());
        if have_any {
            return None;
        }
        let name = self.name?;
        if let Some((target, _)) = self.srv_target_addrs.first() {
            return Some(format!(
                "the SRV target {target} has no A/AAAA record: fix the SRV record or add an address for {target}"
            ));
        }
        Some(match self.host_addrs.problem {
            Some(DnsProblem::NoSuchName) => {
                format!("{name} does not exist (NXDOMAIN): check the DNS name for typos")
            }
            Some(DnsProblem::Timeout) => {
                "DNS did not answer in time: check the network or the resolver".into()
            }
            Some(DnsProblem::Failed) => {
                "the DNS lookup failed: check the network or the resolver".into()
            }
            _ => format!("no A/AAAA record for {name}: check the DNS name"),
        })
    }
}

/// The report for people.
pub(crate) fn render_text(r: &Report, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "Diagnosing {}", paint("\x1b[1m", &r.address));
    for s in &r.steps {
        let mark = match s.status {
            Status::Ok => paint("\x1b[32m", "ok  "),
            Status::Failed => paint("\x1b[31m", "FAIL"),
            Status::Skipped => paint("\x1b[2m", "skip"),
        };
        let time = if s.status == Status::Skipped {
            "      ".to_owned()
        } else {
            format!("{:>4} ms", s.elapsed.as_millis())
        };
        let _ = writeln!(out, "  [{mark}] {:<9} {time}  {}", s.name, s.detail);
    }
    let _ = writeln!(out, "Verdict: {}", r.verdict);
    for a in &r.advice {
        let _ = writeln!(out, "  - {a}");
    }
    out
}

/// The report for scripts.
pub(crate) fn render_json(r: &Report) -> Value {
    json!({
        "address": r.address,
        "online": r.answered,
        "steps": r.steps.iter().map(|s| json!({
            "name": s.name,
            "status": s.status.as_str(),
            "millis": u64::try_from(s.elapsed.as_millis()).unwrap_or(u64::MAX),
            "detail": s.detail,
        })).collect::<Vec<_>>(),
        "verdict": r.verdict,
        "advice": r.advice,
        "blocklist": {
            "source": r.list_source,
            "blocked": r.blocked.is_some(),
            "match": r.blocked.as_ref().map(|m| json!({"name": m.name, "candidate": m.candidate, "sha1": m.hash})),
        },
    })
}
