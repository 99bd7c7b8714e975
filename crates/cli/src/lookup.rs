//! One lookup: resolve, then run one protocol client, all under one deadline, and
//! turn whatever answered into a protocol-neutral [`Answer`].

use std::error::Error as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mc_protocol::address::{Edition, ServerAddress};
use mc_protocol::legacy::{LegacyForm, LegacyStatus};
use mc_protocol::net::resolve::{Resolved, ResolvedTarget, Resolver};
use mc_protocol::net::{self, ClientOptions, NetError};
use mc_protocol::text::Motd;
use serde_json::{Value, json};

/// What the user asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Status,
    Ping,
    Legacy(LegacyForm),
    Query,
    Bedrock,
}

/// Players as every protocol reports them.
#[derive(Debug)]
pub(crate) struct Players {
    pub(crate) online: i64,
    pub(crate) max: i64,
    /// `None` when the server sent no names (as opposed to an empty list).
    pub(crate) names: Option<Vec<String>>,
}

/// A server's answer, whichever protocol gave it.
#[derive(Debug)]
pub(crate) struct Answer {
    /// `java`, `legacy`, `query` or `bedrock`.
    pub(crate) protocol: &'static str,
    /// The address as the user meant it, with the port used.
    pub(crate) address: String,
    pub(crate) ip: SocketAddr,
    pub(crate) via_srv: bool,
    pub(crate) latency: Option<Duration>,
    pub(crate) motd: Motd,
    pub(crate) motd_raw: Value,
    pub(crate) version: Option<(String, Option<i32>)>,
    pub(crate) players: Option<Players>,
    /// Further lines for the card: label and value.
    pub(crate) details: Vec<(&'static str, String)>,
    /// The protocol's full answer as JSON.
    pub(crate) status: Value,
    /// Set when the first protocol failed and a fallback answered.
    pub(crate) fallback_from: Option<String>,
}

/// Why there is no answer.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) address: String,
    /// `resolve`, `timeout`, `connect`, `io`, `closed`, `invalid` or `mismatch`.
    pub(crate) kind: &'static str,
    /// The error with its whole cause chain.
    pub(crate) message: String,
}

impl Failure {
    fn new(address: String, err: &NetError) -> Self {
        let kind = match err {
            NetError::Timeout(_) => "timeout",
            NetError::Connect(_) => "connect",
            NetError::Io(_) => "io",
            NetError::Closed => "closed",
            NetError::Decode(_) => "invalid",
            NetError::Mismatch(_) => "mismatch",
            NetError::Resolve { .. } => "resolve",
            _ => "other",
        };
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self {
            address,
            kind,
            message,
        }
    }
}

/// A deadline shared by every step.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    total: Duration,
}

impl Deadline {
    fn options(self) -> Result<ClientOptions, NetError> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NetError::Timeout(self.total));
        }
        Ok(ClientOptions {
            timeout: left,
            ..ClientOptions::default()
        })
    }
}

/// Runs the lookup `kind` for `address` under one deadline of `timeout`.
pub(crate) async fn run(
    kind: Kind,
    address: &ServerAddress,
    timeout: Duration,
) -> Result<Answer, Failure> {
    let deadline = Deadline {
        at: Instant::now() + timeout,
        total: timeout,
    };
    let edition = match kind {
        Kind::Bedrock => Edition::Bedrock,
        _ => Edition::Java,
    };
    // Query has no SRV record of its own: it uses the given port, else 25565.
    let lookup_address = match kind {
        Kind::Query => ServerAddress {
            host: address.host.clone(),
            port: Some(address.port_or_default(Edition::Java)),
        },
        _ => address.clone(),
    };
    let shown = format!(
        "{}:{}",
        host_for_display(address),
        address.port_or_default(edition)
    );

    let resolved = resolve(&lookup_address, edition, deadline)
        .await
        .map_err(|e| Failure::new(shown.clone(), &e))?;

    // Try each resolved address in order; move on only when connecting failed.
    let mut last_err = NetError::Resolve {
        host: shown.clone(),
        reason: "no address to connect to".into(),
    };
    for target in &resolved.targets {
        let display = if resolved.via_srv {
            format!("{} (SRV → {}:{})", shown, target.host, target.port)
        } else {
            shown.clone()
        };
        for &ip in &target.ips {
            let addr = SocketAddr::new(ip, target.port);
            match exchange(kind, addr, &target.host, target.port, deadline).await {
                Ok(mut answer) => {
                    answer.address = display;
                    answer.via_srv = resolved.via_srv;
                    return Ok(answer);
                }
                Err(e @ NetError::Connect(_)) => last_err = e,
                Err(e) => return Err(Failure::new(display, &e)),
            }
        }
    }
    Err(Failure::new(shown, &last_err))
}

fn host_for_display(address: &ServerAddress) -> String {
    match &address.host {
        mc_protocol::address::Host::Ipv6(ip) => format!("[{ip}]"),
        host => host.to_string(),
    }
}

async fn resolve(
    address: &ServerAddress,
    edition: Edition,
    deadline: Deadline,
) -> Result<Resolved, NetError> {
    let left = deadline.options()?.timeout;
    // IP literals never touch DNS, so the system configuration (which may be missing,
    // e.g. in a minimal container) is read only for names.
    if let Some(ip) = address.host.ip() {
        return Ok(Resolved {
            targets: vec![ResolvedTarget {
                host: address.host.to_string(),
                port: address.port_or_default(edition),
                ips: vec![ip],
            }],
            via_srv: false,
        });
    }
    let resolver = Resolver::from_system_conf()?.with_timeout(left);
    resolver.resolve(address, edition).await
}

async fn exchange(
    kind: Kind,
    addr: SocketAddr,
    host: &str,
    port: u16,
    deadline: Deadline,
) -> Result<Answer, NetError> {
    match kind {
        Kind::Status => match java(addr, host, port, deadline).await {
            Ok(answer) => Ok(answer),
            // A pre-1.7 server does not speak the modern protocol; try the legacy ping
            // while time is left. A timeout or refused connection would only repeat.
            Err(
                e @ (NetError::Decode(_)
                | NetError::Closed
                | NetError::Io(_)
                | NetError::Mismatch(_)),
            ) => {
                let first = e.to_string();
                let mut answer = legacy(addr, host, port, LegacyForm::V1_6, deadline)
                    .await
                    .map_err(|_| e)?;
                answer.fallback_from = Some(first);
                Ok(answer)
            }
            Err(e) => Err(e),
        },
        Kind::Ping => {
            let mut answer = java(addr, host, port, deadline).await?;
            if answer.latency.is_none() {
                return Err(NetError::Mismatch(
                    "the server answered the status but not the ping".into(),
                ));
            }
            answer.details.clear();
            Ok(answer)
        }
        Kind::Legacy(form) => legacy(addr, host, port, form, deadline).await,
        Kind::Query => query(addr, deadline).await,
        Kind::Bedrock => bedrock(addr, deadline).await,
    }
}

fn base(protocol: &'static str, ip: SocketAddr, motd: Motd, motd_raw: Value) -> Answer {
    Answer {
        protocol,
        address: String::new(),
        ip,
        via_srv: false,
        latency: None,
        motd,
        motd_raw,
        version: None,
        players: None,
        details: Vec::new(),
        status: Value::Null,
        fallback_from: None,
    }
}

async fn java(
    addr: SocketAddr,
    host: &str,
    port: u16,
    deadline: Deadline,
) -> Result<Answer, NetError> {
    let reply = net::java::status(addr, host, port, &deadline.options()?).await?;
    let status = reply.status;
    let mut answer = base(
        "java",
        addr,
        status.styled_motd(),
        status.description.clone(),
    );
    answer.latency = reply.latency;
    answer.version = status
        .version
        .as_ref()
        .map(|v| (v.name.clone(), Some(v.protocol)));
    answer.players = status.players.as_ref().map(|p| Players {
        online: p.online,
        max: p.max,
        names: p
            .sample
            .as_ref()
            .map(|s| s.iter().map(|x| x.name.clone()).collect()),
    });
    let icon = status.favicon_png();
    match &icon {
        Some(Ok(png)) => answer.details.push(("Icon", png_summary(png))),
        Some(Err(e)) => answer.details.push(("Icon", format!("invalid ({e})"))),
        None => {}
    }
    if status.is_forge() {
        let mods = status.mods();
        let names: Vec<String> = mods.iter().take(8).map(|m| m.id.clone()).collect();
        let more = mods.len().saturating_sub(names.len());
        let mut line = format!("{} (Forge)", mods.len());
        if !names.is_empty() {
            line.push_str(": ");
            line.push_str(&names.join(", "));
            if more > 0 {
                line.push_str(&format!(", … {more} more"));
            }
        }
        answer.details.push(("Mods", line));
    }
    if status.enforces_secure_chat == Some(true) {
        answer.details.push(("Chat", "secure chat enforced".into()));
    }
    let mut json = serde_json::to_value(&status).unwrap_or(Value::Null);
    if let Some(obj) = json.as_object_mut() {
        obj.remove("favicon");
        if let Some(Ok(png)) = &icon {
            obj.insert("favicon_bytes".into(), json!(png.len()));
        }
        if status.is_forge() {
            obj.insert(
                "mods".into(),
                json!(
                    status
                        .mods()
                        .iter()
                        .map(|m| json!({"id": m.id, "version": m.version}))
                        .collect::<Vec<_>>()
                ),
            );
        }
    }
    answer.status = json;
    Ok(answer)
}

fn png_summary(png: &[u8]) -> String {
    // Width and height are the first fields of the IHDR chunk, right after the signature.
    match (png.get(16..20), png.get(20..24)) {
        (Some(w), Some(h)) => {
            let w = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
            let h = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            format!("{w}×{h} PNG, {} bytes", png.len())
        }
        _ => format!("PNG, {} bytes", png.len()),
    }
}

async fn legacy(
    addr: SocketAddr,
    host: &str,
    port: u16,
    form: LegacyForm,
    deadline: Deadline,
) -> Result<Answer, NetError> {
    let reply = net::legacy::status_timed(addr, host, port, form, &deadline.options()?).await?;
    let LegacyStatus {
        version,
        motd,
        online,
        max,
    } = &reply.status;
    let mut answer = base("legacy", addr, reply.status.styled_motd(), json!(motd));
    answer.latency = Some(reply.latency);
    answer.version = version.as_ref().map(|v| (v.name.clone(), Some(v.protocol)));
    answer.players = Some(Players {
        online: *online,
        max: *max,
        names: None,
    });
    answer.details.push(("Form", form_name(form).into()));
    answer.status = json!({
        "form": form_name(form),
        "version": version.as_ref().map(|v| json!({"name": v.name, "protocol": v.protocol})),
        "motd": motd,
        "online": online,
        "max": max,
    });
    Ok(answer)
}

fn form_name(form: LegacyForm) -> &'static str {
    match form {
        LegacyForm::Beta => "beta",
        LegacyForm::V1_4 => "1.4",
        _ => "1.6",
    }
}

async fn query(addr: SocketAddr, deadline: Deadline) -> Result<Answer, NetError> {
    let started = Instant::now();
    let full = net::query::full(addr, &deadline.options()?).await?;
    let mut answer = base("query", addr, full.styled_motd(), json!(full.motd));
    answer.latency = Some(started.elapsed());
    answer.version = Some((full.version.clone(), None));
    answer.players = Some(Players {
        online: i64::from(full.online),
        max: i64::from(full.max),
        names: Some(full.players.clone()),
    });
    if !full.map.is_empty() {
        answer.details.push(("Map", full.map.clone()));
    }
    if !full.plugins.raw.is_empty() {
        let mut line = full.plugins.server_mod.clone();
        if !full.plugins.plugins.is_empty() {
            line.push_str(&format!(
                " with {} plugins: {}",
                full.plugins.plugins.len(),
                full.plugins.plugins.join(", ")
            ));
        }
        answer.details.push(("Software", line));
    }
    answer.details.push(("Game", full.game_type.clone()));
    let extra: serde_json::Map<String, Value> = full
        .extra
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    answer.status = json!({
        "motd": full.motd,
        "game_type": full.game_type,
        "game_id": full.game_id,
        "version": full.version,
        "plugins": {"raw": full.plugins.raw, "server_mod": full.plugins.server_mod, "plugins": full.plugins.plugins},
        "map": full.map,
        "online": full.online,
        "max": full.max,
        "host_port": full.host_port,
        "host_ip": full.host_ip,
        "players": full.players,
        "extra": extra,
    });
    Ok(answer)
}

async fn bedrock(addr: SocketAddr, deadline: Deadline) -> Result<Answer, NetError> {
    let reply = net::bedrock::status(addr, &deadline.options()?).await?;
    let s = &reply.status;
    let mut answer = base("bedrock", addr, s.styled_motd(), json!(s.motd));
    answer.latency = Some(reply.latency);
    answer.version = Some((s.version.clone(), Some(s.protocol)));
    answer.players = Some(Players {
        online: s.online,
        max: s.max,
        names: None,
    });
    if let Some(sub) = s.sub_motd.as_deref().filter(|x| !x.is_empty()) {
        answer.details.push(("World", sub.to_owned()));
    }
    if let Some(mode) = s.game_mode.as_deref().filter(|x| !x.is_empty()) {
        answer.details.push(("Game mode", mode.to_owned()));
    }
    answer.details.push(("Edition", format!("{:?}", s.edition)));
    answer.status = json!({
        "edition": format!("{:?}", s.edition),
        "motd": s.motd,
        "protocol": s.protocol,
        "version": s.version,
        "online": s.online,
        "max": s.max,
        "server_id": s.server_id,
        "sub_motd": s.sub_motd,
        "game_mode": s.game_mode,
        "game_mode_numeric": s.game_mode_numeric,
        "port_v4": s.port_v4,
        "port_v6": s.port_v6,
        "server_guid": reply.server_guid,
    });
    Ok(answer)
}
