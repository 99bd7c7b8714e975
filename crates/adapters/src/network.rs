//! [`NetworkSource`]: the [`StatusSource`] that asks real servers, on mc-protocol's
//! tokio clients.
//!
//! One lookup, under **one overall deadline** ([`ClientOptions::timeout`]) that covers
//! resolution, every connection and every fallback:
//!
//! 1. **Resolve** the address ([`Resolver`]): `_minecraft._tcp` SRV for a Java address
//!    without a port, else A/AAAA; an IP literal resolves to itself without DNS. A name
//!    that does not resolve (NXDOMAIN, no records, SRV "no service", a failing DNS
//!    server) is [`OfflineReason::NotFound`].
//! 2. **Check every IP** against the [`TargetPolicy`] right before connecting to it.
//!    Refused IPs are skipped, never contacted; when every IP is refused the lookup
//!    is [`SourceError::Policy`]. The check happens after resolution, on the IPs
//!    actually used, so a name pointing at a private address (DNS rebinding) is refused
//!    like the literal.
//! 3. **Ask**, trying the allowed IPs in resolver order and moving to the next one only
//!    when connecting fails:
//!    - Java: the modern status + ping. When the server answers with something that
//!      is not a modern status (invalid bytes, connection closed or reset), the
//!      legacy 1.6 ping is tried on the same address with the time left
//!      ([`Protocol::Legacy`]). A timeout is not retried: the deadline is spent.
//!    - Bedrock: the RakNet unconnected ping.
//!    - **Bedrock fallback for Java targets** ([`BedrockFallback`], on by default): when
//!      every allowed IP *refused* the Java connection, the address had no explicit
//!      port and did not come from an SRV record, the same IPs are asked over Bedrock
//!      on the fallback port (19132) with a short sub-deadline, and the report says
//!      [`Protocol::Bedrock`]. Only then: a given port or an SRV record means the user
//!      meant a Java server there, and after a Java *timeout* no time is left. If
//!      Bedrock does not answer either, the outcome stays the Java one
//!      ([`OfflineReason::Refused`]).
//! 4. **Map** the answer into a [`StatusReport`]: version, players, sample names, the
//!    MOTD in its palette (Java or Bedrock), the favicon as PNG bytes, latency from the
//!    ping (Java without a pong: none), Bedrock game mode and level name, the Forge mod
//!    count, the answering `ip:port`, and `taken_at` from the [`Clock`].
//!
//! Offline outcomes: [`OfflineReason::NotFound`] (step 1), [`OfflineReason::Refused`]
//! (every allowed IP refused the connection; on UDP, reported the port closed),
//! [`OfflineReason::Timeout`] (the deadline passed; `after_ms` is the whole deadline),
//! [`OfflineReason::InvalidAnswer`] (something answered, but no status: `detail` says
//! what went wrong, with its cause chain).
//!
//! **Watch polls** ([`NetworkSource::for_watches`], [`LookupMode::Watch`]) run a
//! lighter lookup, for a caller that keeps only what a watch needs (online or not, the
//! player counts and sample, the latency): the Java exchange sends no ping (the latency
//! is the status request's round trip, see [`LatencyFrom::StatusRoundTrip`]: one write,
//! one read and one wake-up fewer), and the report leaves `icon_png` and `mod_count`
//! empty (no base64 decode of the favicon, no decode of Forge's mod lists). Everything
//! else (resolution, policy, fallbacks, deadline, Query for
//! [`StatusSource::players`]) is the same.
//!
//! [`StatusSource::players`] runs the same lookup, then asks Query's full stat (UDP) at
//! the `ip:port` that answered (for Java, Query's conventional port is the game port)
//! with a short sub-deadline ([`NetworkSource::DEFAULT_QUERY_TIMEOUT`], capped by what
//! is left of the lookup's deadline). When Query answers, its names and counts are the
//! list ([`PlayerSource::Query`]); else the status sample ([`PlayerSource::Sample`]) or,
//! without names, the counts ([`PlayerSource::CountOnly`]).

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mc_protocol::address::Edition;
use mc_protocol::legacy::LegacyForm;
use mc_protocol::net;
use mc_protocol::net::bedrock::BedrockReply;
use mc_protocol::net::java::{JavaOptions, JavaStatusReply, LatencyFrom};
use mc_protocol::net::legacy::LegacyReply;
use mc_protocol::net::resolve::Resolved;
use mc_protocol::text::Palette;
use mcstat_core::ports::{Clock, SourceError, StatusSource};
use mcstat_core::{
    MotdText, OfflineReason, PlayerList, PlayerSource, PolicyViolation, Protocol, StatusOutcome,
    StatusReport, Target, TargetPolicy,
};
use tokio::time::Instant;

// Re-exported so a caller can build a `NetworkSource` without naming mc-protocol.
pub use mc_protocol::net::resolve::Resolver;
pub use mc_protocol::net::{ClientOptions, NetError};

/// Whether and how a Java target that refused every connection is asked over
/// Bedrock. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BedrockFallback {
    /// The UDP port asked (Bedrock's default, 19132, unless a test moves it).
    pub port: u16,
    /// The longest the fallback may take (capped by what is left of the lookup's
    /// deadline). Short, because it only runs for a server that is most likely down.
    pub timeout: Duration,
}

impl BedrockFallback {
    /// Default sub-deadline: 2 seconds (the ping is sent again after 1 s).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
}

impl Default for BedrockFallback {
    fn default() -> Self {
        Self {
            port: Edition::Bedrock.default_port(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// How much a [`NetworkSource`] lookup does. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupMode {
    /// The whole report: ping latency, favicon decoded to PNG, Forge mod count.
    #[default]
    Full,
    /// For watch polls: no ping (latency from the status round trip), no favicon or
    /// mod-list decoding (`icon_png` and `mod_count` are `None`).
    Watch,
}

/// The network [`StatusSource`]. See the [module docs](self) for what a lookup does.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use mc_protocol::net::ClientOptions;
/// use mcstat_adapters::{NetworkSource, SystemClock};
/// use mcstat_core::ports::StatusSource;
/// use mcstat_core::TargetPolicy;
///
/// let source = NetworkSource::from_system_conf(
///     TargetPolicy::public_only(),
///     ClientOptions::default(),
///     Arc::new(SystemClock),
/// )?;
/// let outcome = source.status(&"play.example.net".parse()?).await?;
/// println!("{}", if outcome.is_online() { "up" } else { "down" });
/// # Ok(()) }
/// ```
///
/// A clone shares the resolver (and its cache); `source.clone().for_watches()` is the
/// same source for watch polls.
#[derive(Clone)]
pub struct NetworkSource {
    policy: TargetPolicy,
    options: ClientOptions,
    resolver: Resolver,
    clock: Arc<dyn Clock>,
    query_timeout: Duration,
    bedrock_fallback: Option<BedrockFallback>,
    mode: LookupMode,
}

impl std::fmt::Debug for NetworkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkSource")
            .field("policy", &self.policy)
            .field("options", &self.options)
            .field("resolver", &self.resolver)
            .field("query_timeout", &self.query_timeout)
            .field("bedrock_fallback", &self.bedrock_fallback)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl NetworkSource {
    /// Default sub-deadline of the Query request in [`StatusSource::players`].
    pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_millis(1500);

    /// A source contacting only what `policy` allows, with one overall deadline per
    /// lookup of `options.timeout` (and frames bounded by `options.max_frame`),
    /// resolving names with `resolver` (whose own deadline also bounds resolution),
    /// and stamping answers with `clock`. Bedrock fallback on, Query sub-deadline
    /// [`Self::DEFAULT_QUERY_TIMEOUT`], [`LookupMode::Full`].
    #[must_use]
    pub fn new(
        policy: TargetPolicy,
        options: ClientOptions,
        resolver: Resolver,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            policy,
            options,
            resolver,
            clock,
            query_timeout: Self::DEFAULT_QUERY_TIMEOUT,
            bedrock_fallback: Some(BedrockFallback::default()),
            mode: LookupMode::Full,
        }
    }

    /// [`Self::new`] with the system's DNS configuration (`/etc/resolv.conf`).
    ///
    /// # Errors
    /// [`NetError::Resolve`] when the system configuration cannot be read.
    pub fn from_system_conf(
        policy: TargetPolicy,
        options: ClientOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, NetError> {
        Ok(Self::new(
            policy,
            options,
            Resolver::from_system_conf()?,
            clock,
        ))
    }

    /// [`Self::new`] asking only the name server at `server` (e.g. a test's dnsmasq).
    ///
    /// # Errors
    /// [`NetError::Resolve`] when the resolver cannot be configured.
    pub fn with_nameserver(
        policy: TargetPolicy,
        options: ClientOptions,
        server: SocketAddr,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, NetError> {
        Ok(Self::new(
            policy,
            options,
            Resolver::with_nameserver(server)?,
            clock,
        ))
    }

    /// The same source with another Query sub-deadline for [`StatusSource::players`]
    /// (zero: never ask Query).
    #[must_use]
    pub const fn with_query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// The same source with another Bedrock fallback for Java targets (`None`: never).
    #[must_use]
    pub const fn with_bedrock_fallback(mut self, fallback: Option<BedrockFallback>) -> Self {
        self.bedrock_fallback = fallback;
        self
    }

    /// The same source with another [`LookupMode`].
    #[must_use]
    pub const fn with_mode(mut self, mode: LookupMode) -> Self {
        self.mode = mode;
        self
    }

    /// The same source for watch polls: [`LookupMode::Watch`] (no ping, no favicon or
    /// mod-list decoding; see the [module docs](self)).
    #[must_use]
    pub const fn for_watches(self) -> Self {
        self.with_mode(LookupMode::Watch)
    }

    /// The lookup mode.
    #[must_use]
    pub const fn mode(&self) -> LookupMode {
        self.mode
    }

    /// The target policy.
    #[must_use]
    pub const fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// The client options (the overall deadline per lookup and the frame bound).
    #[must_use]
    pub const fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// One lookup: `Ok(Ok(answer))` online, `Ok(Err(reason))` offline.
    async fn lookup(
        &self,
        target: &Target,
        deadline: &Deadline,
    ) -> Result<Result<Found, OfflineReason>, SourceError> {
        let edition = target.edition();
        let resolved = match tokio::time::timeout_at(
            deadline.at,
            self.resolver.resolve(target.address(), edition),
        )
        .await
        {
            Ok(Ok(resolved)) => resolved,
            Ok(Err(NetError::Resolve { .. })) => return Ok(Err(OfflineReason::NotFound)),
            Ok(Err(NetError::Timeout(_))) | Err(_) => return Ok(Err(deadline.timeout_reason())),
            Ok(Err(other)) => return Err(SourceError::Backend(Box::new(other))),
        };
        let mut policy = PolicyGate::new(&self.policy);
        let outcome = match edition {
            Edition::Java => self.java(target, &resolved, deadline, &mut policy).await,
            Edition::Bedrock => {
                let addrs: Vec<SocketAddr> = resolved.socket_addrs().collect();
                bedrock_on(&addrs, deadline, &self.options, None, &mut policy).await
            }
        };
        policy.finish(outcome)
    }

    async fn java(
        &self,
        target: &Target,
        resolved: &Resolved,
        deadline: &Deadline,
        policy: &mut PolicyGate<'_>,
    ) -> Attempt {
        for t in &resolved.targets {
            for &ip in &t.ips {
                let addr = SocketAddr::new(ip, t.port);
                if !policy.allows(addr) {
                    continue;
                }
                let Some(opts) = deadline.options(&self.options, None) else {
                    return Attempt::Offline(deadline.timeout_reason());
                };
                match net::java::status_with(addr, &t.host, t.port, &opts, self.java_options())
                    .await
                {
                    Ok(reply) => {
                        return Attempt::found(Answer::Java(Box::new(reply)), addr);
                    }
                    Err(NetError::Connect(_)) => {}
                    Err(NetError::Timeout(_)) => {
                        return Attempt::Offline(deadline.timeout_reason());
                    }
                    Err(e @ (NetError::Decode(_) | NetError::Closed | NetError::Io(_))) => {
                        // Not a modern status: maybe a pre-1.7 server.
                        let Some(opts) = deadline.options(&self.options, None) else {
                            return Attempt::Offline(invalid(&e));
                        };
                        return match net::legacy::status_timed(
                            addr,
                            &t.host,
                            t.port,
                            LegacyForm::V1_6,
                            &opts,
                        )
                        .await
                        {
                            Ok(reply) => Attempt::found(Answer::Legacy(reply), addr),
                            Err(_) => Attempt::Offline(invalid(&e)),
                        };
                    }
                    Err(e) => return Attempt::Offline(invalid(&e)),
                }
            }
        }
        // Every allowed IP refused the connection (or none was allowed).
        if let Some(fallback) = self.bedrock_fallback
            && policy.any_allowed()
            && target.address().port.is_none()
            && !resolved.via_srv
        {
            let addrs: Vec<SocketAddr> = resolved
                .targets
                .iter()
                .flat_map(|t| t.ips.iter().map(|ip| SocketAddr::new(*ip, fallback.port)))
                .collect();
            if let Attempt::Found(found) = bedrock_on(
                &addrs,
                deadline,
                &self.options,
                Some(fallback.timeout),
                policy,
            )
            .await
            {
                return Attempt::Found(found);
            }
        }
        Attempt::Offline(OfflineReason::Refused)
    }

    fn java_options(&self) -> JavaOptions {
        match self.mode {
            LookupMode::Full => JavaOptions::default(),
            LookupMode::Watch => JavaOptions {
                latency: LatencyFrom::StatusRoundTrip,
                ..JavaOptions::default()
            },
        }
    }

    fn report(&self, target: &Target, found: Found) -> StatusReport {
        let taken_at = self.clock.now();
        let answered_by = Some(found.addr.to_string());
        let full = self.mode == LookupMode::Full;
        match found.answer {
            Answer::Java(reply) => {
                let JavaStatusReply {
                    status: s, latency, ..
                } = *reply;
                let players = s.players.as_ref();
                StatusReport {
                    target: target.clone(),
                    protocol: Protocol::Java,
                    answered_by,
                    version: s.version.as_ref().map(|v| v.name.clone()),
                    protocol_version: s.version.as_ref().map(|v| v.protocol),
                    players_online: players.map(|p| p.online),
                    players_max: players.map(|p| p.max),
                    sample: s.sample_names().into_iter().map(str::to_owned).collect(),
                    motd: MotdText::from_motd(&s.styled_motd(), Palette::Java),
                    icon_png: full.then(|| s.favicon_png()?.ok()).flatten(),
                    latency_ms: latency.map(millis),
                    game_mode: None,
                    map: None,
                    mod_count: (full && s.is_forge()).then(|| s.mods().len()),
                    taken_at,
                }
            }
            Answer::Legacy(reply) => {
                let s = reply.status;
                StatusReport {
                    target: target.clone(),
                    protocol: Protocol::Legacy,
                    answered_by,
                    version: s.version.as_ref().map(|v| v.name.clone()),
                    protocol_version: s.version.as_ref().map(|v| v.protocol),
                    players_online: Some(s.online),
                    players_max: Some(s.max),
                    sample: Vec::new(),
                    motd: MotdText::from_motd(&s.styled_motd(), Palette::Java),
                    icon_png: None,
                    latency_ms: Some(millis(reply.latency)),
                    game_mode: None,
                    map: None,
                    mod_count: None,
                    taken_at,
                }
            }
            Answer::Bedrock(reply) => {
                let s = reply.status;
                let non_empty = |v: Option<String>| v.filter(|x| !x.is_empty());
                StatusReport {
                    target: target.clone(),
                    protocol: Protocol::Bedrock,
                    answered_by,
                    motd: MotdText::from_motd(&s.styled_motd(), Palette::Bedrock),
                    version: Some(s.version),
                    protocol_version: Some(s.protocol),
                    players_online: Some(s.online),
                    players_max: Some(s.max),
                    sample: Vec::new(),
                    icon_png: None,
                    latency_ms: Some(millis(reply.latency)),
                    game_mode: non_empty(s.game_mode),
                    map: non_empty(s.sub_motd),
                    mod_count: None,
                    taken_at,
                }
            }
        }
    }
}

#[async_trait]
impl StatusSource for NetworkSource {
    async fn status(&self, target: &Target) -> Result<StatusOutcome, SourceError> {
        let deadline = Deadline::new(self.options.timeout);
        Ok(match self.lookup(target, &deadline).await? {
            Ok(found) => StatusOutcome::Online(self.report(target, found)),
            Err(reason) => StatusOutcome::Offline {
                target: target.clone(),
                reason,
                taken_at: self.clock.now(),
            },
        })
    }

    async fn players(&self, target: &Target) -> Result<Option<PlayerList>, SourceError> {
        let deadline = Deadline::new(self.options.timeout);
        let Ok(found) = self.lookup(target, &deadline).await? else {
            return Ok(None);
        };
        let addr = found.addr;
        // Checked again right before this new exchange, as for any connection.
        if !self.query_timeout.is_zero()
            && self.policy.check(addr.ip()).is_ok()
            && let Some(opts) = deadline.options(&self.options, Some(self.query_timeout))
            && let Ok(full) = net::query::full(addr, &opts).await
        {
            return Ok(Some(PlayerList {
                target: target.clone(),
                source: PlayerSource::Query,
                online: Some(i64::from(full.online)),
                max: Some(i64::from(full.max)),
                names: full.players,
                taken_at: self.clock.now(),
            }));
        }
        let report = self.report(target, found);
        Ok(Some(PlayerList {
            target: target.clone(),
            source: if report.sample.is_empty() {
                PlayerSource::CountOnly
            } else {
                PlayerSource::Sample
            },
            online: report.players_online,
            max: report.players_max,
            names: report.sample,
            taken_at: report.taken_at,
        }))
    }
}

/// What answered.
enum Answer {
    /// Boxed: a Java status is far larger than the others.
    Java(Box<JavaStatusReply>),
    Legacy(LegacyReply),
    Bedrock(BedrockReply),
}

/// An answer and the address it came from.
struct Found {
    answer: Answer,
    addr: SocketAddr,
}

/// The result of trying a list of addresses.
enum Attempt {
    /// Boxed: an answer is large, an offline reason small.
    Found(Box<Found>),
    Offline(OfflineReason),
}

impl Attempt {
    fn found(answer: Answer, addr: SocketAddr) -> Self {
        Self::Found(Box::new(Found { answer, addr }))
    }
}

/// Checks each address against the policy right before it is contacted and
/// remembers whether any was allowed (and the first refusal, for the error).
struct PolicyGate<'a> {
    policy: &'a TargetPolicy,
    allowed: bool,
    first_refusal: Option<PolicyViolation>,
}

impl<'a> PolicyGate<'a> {
    const fn new(policy: &'a TargetPolicy) -> Self {
        Self {
            policy,
            allowed: false,
            first_refusal: None,
        }
    }

    fn allows(&mut self, addr: SocketAddr) -> bool {
        match self.policy.check(addr.ip()) {
            Ok(()) => {
                self.allowed = true;
                true
            }
            Err(violation) => {
                self.first_refusal.get_or_insert(violation);
                false
            }
        }
    }

    const fn any_allowed(&self) -> bool {
        self.allowed
    }

    /// The lookup's result: [`SourceError::Policy`] when no address was allowed.
    fn finish(self, attempt: Attempt) -> Result<Result<Found, OfflineReason>, SourceError> {
        match (attempt, self.allowed, self.first_refusal) {
            (Attempt::Found(found), _, _) => Ok(Ok(*found)),
            (Attempt::Offline(_), false, Some(violation)) => Err(SourceError::Policy(violation)),
            (Attempt::Offline(reason), _, _) => Ok(Err(reason)),
        }
    }
}

/// Asks each allowed address over Bedrock in turn, moving on only when it reports the
/// port closed; `cap` bounds the time spent (on top of the deadline).
async fn bedrock_on(
    addrs: &[SocketAddr],
    deadline: &Deadline,
    base: &ClientOptions,
    cap: Option<Duration>,
    policy: &mut PolicyGate<'_>,
) -> Attempt {
    let cap_at = cap.map(|c| Deadline::new(c).at);
    for &addr in addrs {
        if !policy.allows(addr) {
            continue;
        }
        let left = match cap_at {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => Duration::MAX,
        };
        let Some(opts) = deadline.options(base, Some(left)) else {
            return Attempt::Offline(deadline.timeout_reason());
        };
        match net::bedrock::status(addr, &opts).await {
            Ok(reply) => return Attempt::found(Answer::Bedrock(reply), addr),
            Err(NetError::Connect(_)) => {}
            Err(NetError::Timeout(_)) => return Attempt::Offline(deadline.timeout_reason()),
            Err(e) => return Attempt::Offline(invalid(&e)),
        }
    }
    Attempt::Offline(OfflineReason::Refused)
}

/// The far end used when `now + timeout` overflows an `Instant` (about 30 years).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// One lookup's overall deadline.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    total: Duration,
}

impl Deadline {
    fn new(total: Duration) -> Self {
        let now = Instant::now();
        let at = now
            .checked_add(total)
            .or_else(|| now.checked_add(FAR_FUTURE))
            .unwrap_or(now);
        Self { at, total }
    }

    /// Client options with the time left (at most `cap`), `None` when it is spent.
    fn options(&self, base: &ClientOptions, cap: Option<Duration>) -> Option<ClientOptions> {
        let mut left = self.at.saturating_duration_since(Instant::now());
        if let Some(cap) = cap {
            left = left.min(cap);
        }
        (!left.is_zero()).then_some(ClientOptions {
            timeout: left,
            ..*base
        })
    }

    fn timeout_reason(&self) -> OfflineReason {
        OfflineReason::Timeout {
            after_ms: u64::try_from(self.total.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The longest `detail` kept in [`OfflineReason::InvalidAnswer`], in characters.
const MAX_DETAIL: usize = 300;

/// An invalid answer, with the error's whole cause chain as detail.
fn invalid(err: &NetError) -> OfflineReason {
    let mut detail = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    if detail.chars().count() > MAX_DETAIL {
        detail = detail.chars().take(MAX_DETAIL - 1).collect();
        detail.push('…');
    }
    OfflineReason::InvalidAnswer { detail }
}

/// Whole milliseconds, saturating.
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_detail_keeps_the_cause_chain_and_is_bounded() {
        let err = NetError::Decode(mc_protocol::DecodeError::InvalidJson("bad".into()));
        match invalid(&err) {
            OfflineReason::InvalidAnswer { detail } => {
                assert!(detail.starts_with("invalid answer: "), "{detail}");
                assert!(detail.contains("bad"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let long = NetError::Mismatch("é".repeat(1000));
        match invalid(&long) {
            OfflineReason::InvalidAnswer { detail } => {
                assert_eq!(detail.chars().count(), MAX_DETAIL);
                assert!(detail.ends_with('…'));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn deadline_caps_and_runs_out() {
        let base = ClientOptions::default();
        let d = Deadline::new(Duration::from_secs(10));
        let capped = d
            .options(&base, Some(Duration::from_millis(300)))
            .expect("time left");
        assert_eq!(capped.timeout, Duration::from_millis(300));
        assert_eq!(capped.max_frame, base.max_frame);
        let spent = Deadline::new(Duration::ZERO);
        assert_eq!(spent.options(&base, None), None);
        assert_eq!(
            spent.timeout_reason(),
            OfflineReason::Timeout { after_ms: 0 }
        );
        let unbounded = Deadline::new(Duration::MAX);
        assert!(unbounded.options(&base, None).is_some());
        assert_eq!(
            unbounded.timeout_reason(),
            OfflineReason::Timeout { after_ms: u64::MAX }
        );
    }
}
