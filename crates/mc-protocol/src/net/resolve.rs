//! Resolving a [`ServerAddress`] to the IP addresses and ports to connect to, with
//! `_minecraft._tcp` SRV records for Java (hickory-resolver).
//!
//! Resolution is its own step, separate from connecting: [`Resolver::resolve`]
//! returns every candidate (host for the handshake, port, IPs) so that a caller can
//! check each IP against its policy (no private or loopback targets, ...) *before*
//! any connection is made, then hand a [`std::net::SocketAddr`] to a client.
//!
//! Rules:
//! - An IP literal resolves to itself without any DNS query.
//! - Java without an explicit port: `_minecraft._tcp.<host>` SRV first; the records
//!   are ordered by [`order_srv`] (deterministic: priority ascending, then weight
//!   descending) and each target's A/AAAA records are looked up. When there is no
//!   SRV record (or the SRV lookup fails) the host's own A/AAAA records are used
//!   with port 25565, as the vanilla client does. SRV targets whose own lookup
//!   fails are left out; only when none resolves is the first failure returned.
//! - Java with a port, and Bedrock: A/AAAA of the host, with the given or default
//!   port (Bedrock has no SRV).
//! - The whole resolution runs under one deadline ([`Resolver::timeout`]).
//!
//! Bounds: at most [`MAX_SRV_TARGETS`] SRV targets are looked up and at most
//! [`MAX_IPS_PER_TARGET`] addresses are kept per target, whatever DNS returns.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use super::{NetError, with_deadline};
use crate::address::{Edition, Host, ServerAddress, SrvRecord, order_srv};

/// The most SRV targets looked up (after ordering).
pub const MAX_SRV_TARGETS: usize = 8;

/// The most IP addresses kept for one target.
pub const MAX_IPS_PER_TARGET: usize = 16;

/// One host and port to try, with its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// The name to put in the Java handshake's server address field: the SRV
    /// target when SRV was used (as the vanilla client does), else the host as
    /// given (an IP literal as text).
    pub host: String,
    /// The port to connect to.
    pub port: u16,
    /// The addresses of `host`, in resolver order (never empty).
    pub ips: Vec<IpAddr>,
}

/// The outcome of resolving one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The targets in the order to try them (never empty).
    pub targets: Vec<ResolvedTarget>,
    /// Whether the targets come from an SRV record.
    pub via_srv: bool,
}

impl Resolved {
    /// Every socket address in order: each target's IPs with its port.
    pub fn socket_addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.targets
            .iter()
            .flat_map(|t| t.ips.iter().map(move |ip| SocketAddr::new(*ip, t.port)))
    }

    /// The first target and its first address, if any.
    #[must_use]
    pub fn first(&self) -> Option<(&ResolvedTarget, SocketAddr)> {
        let target = self.targets.first()?;
        let ip = target.ips.first()?;
        Some((target, SocketAddr::new(*ip, target.port)))
    }
}

/// A DNS resolver for server addresses: hickory's tokio resolver with one overall
/// deadline per resolution.
#[derive(Debug, Clone)]
pub struct Resolver {
    inner: TokioResolver,
    timeout: Duration,
}

impl Resolver {
    /// Default deadline of one resolution: 5 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A resolver using the system configuration (`/etc/resolv.conf` on Unix).
    ///
    /// # Errors
    /// [`NetError::Resolve`] when the system configuration cannot be read.
    pub fn from_system_conf() -> Result<Self, NetError> {
        let mut builder = TokioResolver::builder_tokio().map_err(|e| NetError::Resolve {
            host: "(system configuration)".into(),
            reason: e.to_string(),
        })?;
        builder.options_mut().timeout = Self::DEFAULT_TIMEOUT;
        let inner = builder.build().map_err(|e| NetError::Resolve {
            host: "(system configuration)".into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            inner,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// A resolver asking only the name server at `server` over UDP, ignoring the
    /// hosts file (e.g. a test's dnsmasq on a loopback port).
    ///
    /// # Errors
    /// [`NetError::Resolve`] when hickory refuses the configuration.
    pub fn with_nameserver(server: SocketAddr) -> Result<Self, NetError> {
        let mut connection = ConnectionConfig::udp();
        connection.port = server.port();
        let name_server = NameServerConfig::new(server.ip(), true, vec![connection]);
        let config = ResolverConfig::from_name_servers(vec![name_server]);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        let options = builder.options_mut();
        options.use_hosts_file = ResolveHosts::Never;
        options.timeout = Self::DEFAULT_TIMEOUT;
        let inner = builder.build().map_err(|e| NetError::Resolve {
            host: server.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            inner,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// The same resolver with another overall deadline per resolution.
    #[must_use]
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The overall deadline of one resolution.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Resolves `addr` for `edition`; see the [module docs](self) for the rules.
    ///
    /// # Errors
    /// - [`NetError::Timeout`] when the deadline passes.
    /// - [`NetError::Resolve`] when the name does not exist (NXDOMAIN), has no
    ///   address records, the SRV record says there is no service, or the DNS
    ///   query fails; `reason` says which.
    pub async fn resolve(
        &self,
        addr: &ServerAddress,
        edition: Edition,
    ) -> Result<Resolved, NetError> {
        let name = match &addr.host {
            Host::Name(name) => name.as_str(),
            literal => {
                let ip = literal.ip().ok_or_else(|| NetError::Resolve {
                    host: literal.to_string(),
                    reason: "not an IP address".into(),
                })?;
                return Ok(Resolved {
                    targets: vec![ResolvedTarget {
                        host: literal.to_string(),
                        port: addr.port_or_default(edition),
                        ips: vec![ip],
                    }],
                    via_srv: false,
                });
            }
        };
        with_deadline(self.timeout, async {
            if edition == Edition::Java
                && addr.port.is_none()
                && let Some(resolved) = self.resolve_srv(name).await?
            {
                return Ok(resolved);
            }
            let ips = self.lookup_ips(name).await?;
            Ok(Resolved {
                targets: vec![ResolvedTarget {
                    host: name.to_owned(),
                    port: addr.port_or_default(edition),
                    ips,
                }],
                via_srv: false,
            })
        })
        .await
    }

    /// `Ok(None)` when there is no usable SRV answer and plain A/AAAA applies.
    async fn resolve_srv(&self, name: &str) -> Result<Option<Resolved>, NetError> {
        let srv_name = format!("_minecraft._tcp.{name}.");
        // Any SRV failure (no record, NXDOMAIN, SERVFAIL, ...) falls back to A/AAAA,
        // as the vanilla client does.
        let Ok(lookup) = self.inner.srv_lookup(srv_name.as_str()).await else {
            return Ok(None);
        };
        let records: Vec<SrvRecord> = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => Some(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: srv.target.to_ascii(),
                }),
                _ => None,
            })
            .take(64)
            .collect();
        if records.is_empty() {
            return Ok(None);
        }
        let ordered = order_srv(&records);
        if ordered.is_empty() {
            return Err(NetError::Resolve {
                host: name.to_owned(),
                reason: "its SRV record says there is no Minecraft server here".into(),
            });
        }
        let mut targets = Vec::new();
        let mut first_error = None;
        for target in ordered.into_iter().take(MAX_SRV_TARGETS) {
            match self.lookup_ips(&format!("{}.", target.host)).await {
                Ok(ips) => targets.push(ResolvedTarget {
                    host: target.host,
                    port: target.port,
                    ips,
                }),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match (targets.is_empty(), first_error) {
            (true, Some(e)) => Err(e),
            _ => Ok(Some(Resolved {
                targets,
                via_srv: true,
            })),
        }
    }

    /// A and AAAA records of `name` (deduplicated, bounded, never empty).
    async fn lookup_ips(&self, name: &str) -> Result<Vec<IpAddr>, NetError> {
        let shown = name.strip_suffix('.').unwrap_or(name);
        let lookup = self.inner.lookup_ip(name).await.map_err(|e| {
            let reason = if e.is_nx_domain() {
                "no such domain (NXDOMAIN)".to_owned()
            } else if e.is_no_records_found() {
                "the name has no address (A/AAAA) records".to_owned()
            } else {
                format!("DNS lookup failed: {e}")
            };
            NetError::Resolve {
                host: shown.to_owned(),
                reason,
            }
        })?;
        let mut ips: Vec<IpAddr> = Vec::new();
        for ip in lookup.iter() {
            if ips.len() == MAX_IPS_PER_TARGET {
                break;
            }
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        if ips.is_empty() {
            return Err(NetError::Resolve {
                host: shown.to_owned(),
                reason: "the name has no address (A/AAAA) records".into(),
            });
        }
        Ok(ips)
    }
}
