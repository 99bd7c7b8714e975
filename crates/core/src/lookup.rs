//! The lookup service: validate → target policy → rate limit → cache → single-flight
//! → source.
//!
//! [`LookupService`] is what every frontend calls to learn a server's status or
//! player list. In order, for each request:
//!
//! 1. **Validate**: a [`Target`] can only hold a valid address, so parsing happened
//!    before (see [`crate::chat::parse_address`]).
//! 2. **Target policy**: an IP literal is checked against the [`TargetPolicy`] before
//!    anything else (no token is spent on it). Names are checked by the
//!    [`StatusSource`] on every resolved IP right before it connects, so DNS
//!    rebinding cannot bypass the policy; its [`SourceError::Policy`] comes back as
//!    [`LookupError::Policy`].
//! 3. **Rate limit, per user**: every request spends one token of the user's bucket
//!    (cache hits too: this limit protects the service).
//! 4. **Cache** ([`StatusCache`]): a hit younger than its kind's TTL (status
//!    [`LookupConfig::status_ttl`], players [`LookupConfig::players_ttl`], an offline
//!    answer [`LookupConfig::offline_ttl`]) is returned with
//!    [`Freshness::Cached`] and its age. A cache error is logged and treated as a
//!    miss: it never fails a lookup.
//! 5. **Single-flight**: concurrent identical lookups (same kind, same
//!    [`Target::key`]) share one source call and its result.
//! 6. **Rate limit, per target host**: only a request that would contact the server
//!    spends a token of the host's bucket (a cache hit or a shared flight costs the
//!    server nothing). A refresh that is refused here gets the cached answer if one
//!    is still within its TTL.
//! 7. **Source**, with retries where they help: [`SourceError::Backend`] is retried
//!    ([`LookupConfig::backend_retries`] times, exponential backoff from
//!    [`LookupConfig::retry_backoff`], slept on the [`Clock`]); a policy refusal is
//!    never retried, and an offline answer (time-out included) is an answer, not an
//!    error, so it is not retried within the request either (the source already
//!    spent its deadline). The answer is cached for its kind's TTL.
//!
//! Time only comes from the [`Clock`] port, also for the rate limiters (through a
//! governor clock adapter), so tests drive everything with
//! [`ManualClock`](crate::ports::ManualClock).

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::domain::{Freshness, Observed, PlayerList, StatusOutcome, Target, UserRef};
use crate::policy::{PolicyViolation, TargetPolicy};
use crate::ports::{CachedValue, Clock, SourceError, StatusCache, StatusSource, StoreError};

/// A token bucket: `burst` requests at once, then one more every `replenish_every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How many requests may come at once.
    pub burst: NonZeroU32,
    /// How long until one more request is allowed.
    pub replenish_every: Duration,
}

impl RateLimit {
    /// `burst` at once, then one per `replenish_every`. A zero `burst` counts as 1.
    #[must_use]
    pub fn new(burst: u32, replenish_every: Duration) -> Self {
        Self {
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            replenish_every,
        }
    }

    fn quota(self) -> Quota {
        // A zero period would make governor refuse the quota: treat it as 1 ns.
        Quota::with_period(self.replenish_every.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.burst)
    }
}

/// Settings of a [`LookupService`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupConfig {
    /// Which addresses may be contacted (IP literals are pre-checked with it; the
    /// source must have been built with the same policy).
    pub policy: TargetPolicy,
    /// How long an online status is cached (60 s).
    pub status_ttl: Duration,
    /// How long a player list is cached (30 s).
    pub players_ttl: Duration,
    /// How long an offline answer (status or players) is cached (10 s).
    pub offline_ttl: Duration,
    /// A refresh accepts a cached answer at most this old (10 s), so a refresh
    /// button cannot make the service hammer a server.
    pub refresh_max_age: Duration,
    /// Per-user limit (`None`: unlimited). Default: burst 8, then one per 4 s.
    pub per_user: Option<RateLimit>,
    /// Per-target-host limit on source calls (`None`: unlimited). Default: burst 6,
    /// then one per 10 s.
    pub per_target: Option<RateLimit>,
    /// How often a [`SourceError::Backend`] is retried within one lookup (1).
    pub backend_retries: u32,
    /// The wait before the first retry (250 ms); doubled for each further one.
    pub retry_backoff: Duration,
}

impl Default for LookupConfig {
    fn default() -> Self {
        Self {
            policy: TargetPolicy::public_only(),
            status_ttl: Duration::from_secs(60),
            players_ttl: Duration::from_secs(30),
            offline_ttl: Duration::from_secs(10),
            refresh_max_age: Duration::from_secs(10),
            per_user: Some(RateLimit::new(8, Duration::from_secs(4))),
            per_target: Some(RateLimit::new(6, Duration::from_secs(10))),
            backend_retries: 1,
            retry_backoff: Duration::from_millis(250),
        }
    }
}

/// Whose bucket a rate limit refusal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitScope {
    /// The user asked too often.
    User,
    /// The server was asked too often (by anyone).
    Target,
}

impl fmt::Display for LimitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Target => "target",
        })
    }
}

/// Why a lookup produced no answer. (An offline server is an answer:
/// [`StatusOutcome::Offline`].)
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The address (or every address the name resolved to) is refused by the
    /// target policy.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// Too many requests; nothing was looked up.
    #[error("too many lookups per {scope}; retry after {retry_after:?}")]
    RateLimited {
        /// Whose limit.
        scope: LimitScope,
        /// How long until a request would be allowed.
        retry_after: Duration,
    },
    /// The status source failed (after its retries).
    #[error("status source failed")]
    Backend(#[source] Arc<SourceError>),
}

/// Which lookup: the part of the cache and flight key before the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Status,
    Players,
}

impl Kind {
    const fn prefix(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Players => "players",
        }
    }
}

/// The cache key of a lookup: `status:java:play.example.net:25565`.
#[must_use]
pub fn status_cache_key(target: &Target) -> String {
    format!("{}:{}", Kind::Status.prefix(), target.key())
}

/// The cache key of a player list lookup: `players:java:play.example.net`.
#[must_use]
pub fn players_cache_key(target: &Target) -> String {
    format!("{}:{}", Kind::Players.prefix(), target.key())
}

/// The governor clock adapter: our [`Clock`] as time since the epoch.
#[derive(Clone)]
struct GovClock(Arc<dyn Clock>);

impl fmt::Debug for GovClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GovClock")
    }
}

impl governor::clock::Clock for GovClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now().as_millis())
    }
}

type Limiter = RateLimiter<
    String,
    HashMapStateStore<String>,
    GovClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

type FlightResult = Result<CachedValue, LookupError>;
type Flight = Shared<BoxFuture<'static, FlightResult>>;
type Flights = Arc<Mutex<HashMap<String, Flight>>>;

/// How often (in rate limit checks) idle buckets are dropped.
const HOUSEKEEPING_EVERY: u64 = 1024;

/// Looks servers up with policy, rate limits, cache, single-flight and retries. See
/// the [module docs](self).
pub struct LookupService {
    source: Arc<dyn StatusSource>,
    cache: Arc<dyn StatusCache>,
    clock: Arc<dyn Clock>,
    gov_clock: GovClock,
    config: LookupConfig,
    per_user: Option<Limiter>,
    per_target: Option<Limiter>,
    checks: AtomicU64,
    flights: Flights,
}

impl fmt::Debug for LookupService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LookupService {
    /// A service over `source`, caching in `cache` (use [`NoCache`] for none), with
    /// time from `clock`.
    #[must_use]
    pub fn new(
        source: Arc<dyn StatusSource>,
        cache: Arc<dyn StatusCache>,
        clock: Arc<dyn Clock>,
        config: LookupConfig,
    ) -> Self {
        let gov_clock = GovClock(Arc::clone(&clock));
        let limiter = |limit: Option<RateLimit>| {
            limit.map(|l| {
                RateLimiter::new(l.quota(), HashMapStateStore::default(), gov_clock.clone())
            })
        };
        Self {
            per_user: limiter(config.per_user),
            per_target: limiter(config.per_target),
            source,
            cache,
            clock,
            gov_clock,
            config,
            checks: AtomicU64::new(0),
            flights: Arc::default(),
        }
    }

    /// The settings.
    #[must_use]
    pub const fn config(&self) -> &LookupConfig {
        &self.config
    }

    /// The clock the service uses.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The status of `target` for `user`: cached if a fresh enough answer is.
    ///
    /// # Errors
    /// [`LookupError`]: policy refusal, rate limit, or a failing source.
    pub async fn status(
        &self,
        user: &UserRef,
        target: &Target,
    ) -> Result<Observed<StatusOutcome>, LookupError> {
        self.lookup(Kind::Status, user, target, None)
            .await
            .map(into_status)
    }

    /// Like [`status`](Self::status), but a cached answer is only used when it is at
    /// most [`LookupConfig::refresh_max_age`] old (a refresh button).
    ///
    /// # Errors
    /// As [`status`](Self::status).
    pub async fn refresh_status(
        &self,
        user: &UserRef,
        target: &Target,
    ) -> Result<Observed<StatusOutcome>, LookupError> {
        self.lookup(
            Kind::Status,
            user,
            target,
            Some(self.config.refresh_max_age),
        )
        .await
        .map(into_status)
    }

    /// Who is on `target` (`None` when it is offline), for `user`.
    ///
    /// # Errors
    /// As [`status`](Self::status).
    pub async fn players(
        &self,
        user: &UserRef,
        target: &Target,
    ) -> Result<Observed<Option<PlayerList>>, LookupError> {
        self.lookup(Kind::Players, user, target, None)
            .await
            .map(into_players)
    }

    /// Like [`players`](Self::players) with the refresh rule of
    /// [`refresh_status`](Self::refresh_status).
    ///
    /// # Errors
    /// As [`status`](Self::status).
    pub async fn refresh_players(
        &self,
        user: &UserRef,
        target: &Target,
    ) -> Result<Observed<Option<PlayerList>>, LookupError> {
        self.lookup(
            Kind::Players,
            user,
            target,
            Some(self.config.refresh_max_age),
        )
        .await
        .map(into_players)
    }

    /// Drop the rate limiters' idle (full) buckets so their memory does not grow
    /// with every user and host ever seen. Also done every 1024 checks.
    pub fn housekeeping(&self) {
        for limiter in [&self.per_user, &self.per_target].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn check(
        &self,
        limiter: Option<&Limiter>,
        key: String,
        scope: LimitScope,
    ) -> Result<(), LookupError> {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY
            == HOUSEKEEPING_EVERY - 1
        {
            self.housekeeping();
        }
        limiter
            .check_key(&key)
            .map_err(|not_until| LookupError::RateLimited {
                scope,
                retry_after: not_until.wait_time_from(governor::clock::Clock::now(&self.gov_clock)),
            })
    }

    /// The TTL of a cached value.
    fn ttl(&self, value: &CachedValue) -> Duration {
        match value {
            CachedValue::Status(StatusOutcome::Online(_)) => self.config.status_ttl,
            CachedValue::Players(_) => self.config.players_ttl,
            CachedValue::Status(StatusOutcome::Offline { .. })
            | CachedValue::NoPlayerList { .. } => self.config.offline_ttl,
        }
    }

    async fn lookup(
        &self,
        kind: Kind,
        user: &UserRef,
        target: &Target,
        max_age: Option<Duration>,
    ) -> Result<Observed<CachedValue>, LookupError> {
        if let Some(ip) = target.address().host.ip() {
            self.config.policy.check(ip)?;
        }
        self.check(self.per_user.as_ref(), user.key(), LimitScope::User)?;

        let key = format!("{}:{}", kind.prefix(), target.key());
        let mut stale = None;
        match self.cache.get(&key).await {
            Ok(Some(value)) if matches_kind(&value, kind) => {
                let age = self.clock.now().since(value.taken_at());
                if age < self.ttl(&value) {
                    let observed = Observed {
                        value,
                        freshness: Freshness::Cached {
                            age_ms: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
                        },
                    };
                    if max_age.is_none_or(|max| age <= max) {
                        tracing::debug!(%key, age_ms = age.as_millis(), "cache hit");
                        return Ok(observed);
                    }
                    stale = Some(observed);
                }
            }
            Ok(Some(_)) => tracing::warn!(%key, "cache entry of the wrong kind; treated as a miss"),
            Ok(None) => {}
            Err(error) => tracing::warn!(
                %key,
                error = &error as &dyn std::error::Error,
                "status cache failed; treated as a miss"
            ),
        }

        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(flight) = flights.get(&key) {
                tracing::debug!(%key, "joining a lookup in flight");
                flight.clone()
            } else {
                if let Err(limited) = self.check(
                    self.per_target.as_ref(),
                    host_key(target),
                    LimitScope::Target,
                ) {
                    return stale.ok_or(limited);
                }
                tracing::debug!(%key, "cache miss: asking the source");
                let flight = self.start_flight(kind, key.clone(), target.clone());
                flights.insert(key, flight.clone());
                flight
            }
        };
        flight.await.map(|value| Observed {
            value,
            freshness: Freshness::Live,
        })
    }

    fn start_flight(&self, kind: Kind, key: String, target: Target) -> Flight {
        let source = Arc::clone(&self.source);
        let cache = Arc::clone(&self.cache);
        let clock = Arc::clone(&self.clock);
        // Weak: the map holds this future, which must not keep the map alive.
        let flights = Arc::downgrade(&self.flights);
        let retries = self.config.backend_retries;
        let backoff = self.config.retry_backoff;
        let ttls = (
            self.config.status_ttl,
            self.config.players_ttl,
            self.config.offline_ttl,
        );
        async move {
            let result = fetch(&*source, &*clock, kind, &target, retries, backoff).await;
            if let Ok(value) = &result {
                let ttl = match value {
                    CachedValue::Status(StatusOutcome::Online(_)) => ttls.0,
                    CachedValue::Players(_) => ttls.1,
                    _ => ttls.2,
                };
                if let Err(error) = cache.put(&key, value, ttl).await {
                    log_cache_put(&key, &error);
                }
            }
            if let Some(flights) = flights.upgrade() {
                flights
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
            }
            result
        }
        .boxed()
        .shared()
    }
}

fn log_cache_put(key: &str, error: &StoreError) {
    tracing::warn!(
        %key,
        error = error as &dyn std::error::Error,
        "status cache put failed; the answer is not cached"
    );
}

async fn fetch(
    source: &dyn StatusSource,
    clock: &dyn Clock,
    kind: Kind,
    target: &Target,
    retries: u32,
    backoff: Duration,
) -> FlightResult {
    let mut attempt = 0u32;
    loop {
        let result = match kind {
            Kind::Status => source.status(target).await.map(CachedValue::Status),
            Kind::Players => source
                .players(target)
                .await
                // A list carries its time; "offline" is as of when the source said so.
                .map(|list| CachedValue::players(list, clock.now())),
        };
        match result {
            Ok(value) => return Ok(value),
            Err(SourceError::Policy(violation)) => return Err(LookupError::Policy(violation)),
            Err(SourceError::Backend(error)) if attempt < retries => {
                let wait = backoff.saturating_mul(2u32.saturating_pow(attempt));
                tracing::warn!(
                    target = %target,
                    attempt = attempt + 1,
                    error = &*error as &dyn std::error::Error,
                    "status source failed; retrying in {wait:?}"
                );
                clock.sleep(wait).await;
                attempt += 1;
            }
            Err(error) => return Err(LookupError::Backend(Arc::new(error))),
        }
    }
}

/// The rate limit key of a target's host (edition and port ignored: one machine).
fn host_key(target: &Target) -> String {
    target.address().host.to_string()
}

const fn matches_kind(value: &CachedValue, kind: Kind) -> bool {
    matches!(
        (value, kind),
        (CachedValue::Status(_), Kind::Status)
            | (
                CachedValue::Players(_) | CachedValue::NoPlayerList { .. },
                Kind::Players
            )
    )
}

fn into_status(o: Observed<CachedValue>) -> Observed<StatusOutcome> {
    match o.value {
        CachedValue::Status(value) => Observed {
            value,
            freshness: o.freshness,
        },
        // `lookup(Kind::Status)` only yields statuses (checked by `matches_kind`).
        CachedValue::Players(_) | CachedValue::NoPlayerList { .. } => {
            unreachable!("status lookup returned players")
        }
    }
}

fn into_players(o: Observed<CachedValue>) -> Observed<Option<PlayerList>> {
    match o.value {
        CachedValue::Players(list) => Observed {
            value: Some(list),
            freshness: o.freshness,
        },
        CachedValue::NoPlayerList { .. } => Observed {
            value: None,
            freshness: o.freshness,
        },
        CachedValue::Status(_) => unreachable!("players lookup returned a status"),
    }
}

/// A cache that holds nothing (for frontends that want none, like a one-shot CLI).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

#[async_trait::async_trait]
impl StatusCache for NoCache {
    async fn get(&self, _key: &str) -> Result<Option<CachedValue>, StoreError> {
        Ok(None)
    }

    async fn put(
        &self,
        _key: &str,
        _value: &CachedValue,
        _ttl: Duration,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}
