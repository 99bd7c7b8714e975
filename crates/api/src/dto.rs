//! The JSON the API answers with: its own types (the core's stay free of HTTP and
//! OpenAPI concerns), built from the core's view of a lookup.
//!
//! Optional fields are always present, `null` when unknown, so a client can rely on
//! the keys.

use mc_protocol::address::Edition;
use mcstat_core::history::{Rollup, Tier};
use mcstat_core::{
    Freshness, Observed, OfflineReason, PlayerList, PlayerSource, Protocol, StatusOutcome,
    StatusReport, Target,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which edition a server is asked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiEdition {
    /// Java Edition (TCP, default port 25565, SRV records).
    Java,
    /// Bedrock Edition (UDP, default port 19132).
    Bedrock,
}

impl From<Edition> for ApiEdition {
    fn from(e: Edition) -> Self {
        match e {
            Edition::Java => Self::Java,
            Edition::Bedrock => Self::Bedrock,
        }
    }
}

impl From<ApiEdition> for Edition {
    fn from(e: ApiEdition) -> Self {
        match e {
            ApiEdition::Java => Self::Java,
            ApiEdition::Bedrock => Self::Bedrock,
        }
    }
}

/// Which protocol answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiProtocol {
    /// Java Server List Ping (1.7+).
    Java,
    /// The pre-1.7 legacy ping (the server did not answer the modern ping).
    Legacy,
    /// GameSpy4 Query.
    Query,
    /// Bedrock unconnected ping.
    Bedrock,
}

impl From<Protocol> for ApiProtocol {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Java => Self::Java,
            Protocol::Legacy => Self::Legacy,
            Protocol::Query => Self::Query,
            Protocol::Bedrock => Self::Bedrock,
        }
    }
}

/// Whether an answer came from the cache, and how old it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct CacheInfo {
    /// `true` when the answer was served from the cache, `false` when the server was
    /// asked for this request (or for a concurrent identical one).
    pub hit: bool,
    /// Age of the answer in milliseconds (0 for a live answer).
    #[schema(minimum = 0)]
    pub age_ms: u64,
}

impl From<Freshness> for CacheInfo {
    fn from(f: Freshness) -> Self {
        match f {
            Freshness::Live => Self {
                hit: false,
                age_ms: 0,
            },
            Freshness::Cached { age_ms } => Self { hit: true, age_ms },
        }
    }
}

/// The message of the day, three ways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MotdInfo {
    /// Legacy `§`-coded text (hex colours in the `§x§r§r§g§g§b§b` form).
    pub raw: String,
    /// Plain text, without formatting codes.
    pub plain: String,
    /// HTML: `<span style="...">` elements, everything else escaped; safe to insert
    /// into a page.
    pub html: String,
}

/// The version a server reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VersionInfo {
    /// The version name (e.g. `Paper 1.21.1`, `1.20.80`).
    pub name: Option<String>,
    /// The protocol number.
    pub protocol: Option<i32>,
}

/// Player counts and the status' sample of names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PlayerCounts {
    /// Players online, if the server says.
    pub online: Option<i64>,
    /// Player slots, if the server says.
    pub max: Option<i64>,
    /// Names from the status' sample (at most a dozen, chosen by the server; may be
    /// empty with players online). `/v1/players` gives the full list where the
    /// server allows it.
    pub sample: Vec<String>,
}

/// Why a server counts as offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfflineKind {
    /// The host name does not exist.
    NotFound,
    /// The connection was refused (or, UDP, the port is closed).
    Refused,
    /// No answer within the deadline.
    Timeout,
    /// Something answered, but not with a valid Minecraft status.
    InvalidAnswer,
}

/// Why a server counts as offline, for people and for programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OfflineInfo {
    /// Stable reason.
    pub reason: OfflineKind,
    /// The reason in words.
    pub message: String,
}

impl From<&OfflineReason> for OfflineInfo {
    fn from(r: &OfflineReason) -> Self {
        let reason = match r {
            OfflineReason::NotFound => OfflineKind::NotFound,
            OfflineReason::Refused => OfflineKind::Refused,
            OfflineReason::Timeout { .. } => OfflineKind::Timeout,
            OfflineReason::InvalidAnswer { .. } => OfflineKind::InvalidAnswer,
        };
        Self {
            reason,
            message: r.to_string(),
        }
    }
}

/// The status of a server: `GET /v1/status/{address}`.
///
/// An offline server is an answer (`200`, `online: false`, `offline` says why), not
/// an error; the fields only a live server can fill are then `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusResponse {
    /// The server, as it would be typed: `host[:port]`, with a `bedrock:` prefix for
    /// Bedrock.
    pub address: String,
    /// The edition it was asked as.
    pub edition: ApiEdition,
    /// Whether it answered.
    pub online: bool,
    /// Which protocol answered (`null` when offline).
    pub protocol: Option<ApiProtocol>,
    /// The IP and port that answered (e.g. `203.0.113.7:25565`).
    pub answered_by: Option<String>,
    /// Cache hit or live, and the answer's age.
    pub cache: CacheInfo,
    /// When the server answered (or was found offline), in milliseconds since the
    /// Unix epoch.
    #[schema(minimum = 0)]
    pub taken_at_ms: u64,
    /// Round-trip latency in milliseconds.
    pub latency_ms: Option<u32>,
    /// The version it reports.
    pub version: Option<VersionInfo>,
    /// Player counts and sample.
    pub players: Option<PlayerCounts>,
    /// The message of the day.
    pub motd: Option<MotdInfo>,
    /// Where to get the server icon (a PNG), when it has one: a path on this API.
    pub icon_url: Option<String>,
    /// Bedrock game mode or Query game type.
    pub game_mode: Option<String>,
    /// Query map or Bedrock level name.
    pub map: Option<String>,
    /// Number of Forge mods, when the server is modded.
    pub mod_count: Option<u64>,
    /// Why it counts as offline (`null` when online).
    pub offline: Option<OfflineInfo>,
}

impl StatusResponse {
    /// The response for a status lookup.
    #[must_use]
    pub fn new(observed: &Observed<StatusOutcome>) -> Self {
        let cache = CacheInfo::from(observed.freshness);
        match &observed.value {
            StatusOutcome::Online(report) => Self::online(report, cache),
            StatusOutcome::Offline {
                target,
                reason,
                taken_at,
            } => Self {
                address: target.to_string(),
                edition: target.edition().into(),
                online: false,
                protocol: None,
                answered_by: None,
                cache,
                taken_at_ms: taken_at.as_millis(),
                latency_ms: None,
                version: None,
                players: None,
                motd: None,
                icon_url: None,
                game_mode: None,
                map: None,
                mod_count: None,
                offline: Some(reason.into()),
            },
        }
    }

    fn online(r: &StatusReport, cache: CacheInfo) -> Self {
        let styled = r.motd.styled();
        Self {
            address: r.target.to_string(),
            edition: r.target.edition().into(),
            online: true,
            protocol: Some(r.protocol.into()),
            answered_by: r.answered_by.clone(),
            cache,
            taken_at_ms: r.taken_at.as_millis(),
            latency_ms: r.latency_ms,
            version: (r.version.is_some() || r.protocol_version.is_some()).then(|| VersionInfo {
                name: r.version.clone(),
                protocol: r.protocol_version,
            }),
            players: Some(PlayerCounts {
                online: r.players_online,
                max: r.players_max,
                sample: r.sample.clone(),
            }),
            motd: Some(MotdInfo {
                raw: r.motd.legacy.clone(),
                plain: styled.to_plain(),
                html: styled.to_html(),
            }),
            icon_url: r.icon_png.as_ref().map(|_| icon_path(&r.target)),
            game_mode: r.game_mode.clone(),
            map: r.map.clone(),
            mod_count: r.mod_count.map(|n| u64::try_from(n).unwrap_or(u64::MAX)),
            offline: None,
        }
    }
}

/// Where the player names came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiPlayerSource {
    /// Query full stat: every name.
    Query,
    /// The status sample: at most a dozen names, chosen by the server.
    Sample,
    /// The server gave counts but no names.
    CountOnly,
}

impl From<PlayerSource> for ApiPlayerSource {
    fn from(s: PlayerSource) -> Self {
        match s {
            PlayerSource::Query => Self::Query,
            PlayerSource::Sample => Self::Sample,
            PlayerSource::CountOnly => Self::CountOnly,
        }
    }
}

/// Who is on a server: `GET /v1/players/{address}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PlayersResponse {
    /// The server, as it would be typed.
    pub address: String,
    /// The edition it was asked as.
    pub edition: ApiEdition,
    /// Whether it answered.
    pub online: bool,
    /// Where the names came from (`null` when offline).
    pub source: Option<ApiPlayerSource>,
    /// Players online, if known.
    pub players_online: Option<i64>,
    /// Player slots, if known.
    pub players_max: Option<i64>,
    /// The names, in the server's order.
    pub names: Vec<String>,
    /// Cache hit or live, and the answer's age.
    pub cache: CacheInfo,
    /// When the server answered, in milliseconds since the Unix epoch (`null` when
    /// offline).
    #[schema(minimum = 0)]
    pub taken_at_ms: Option<u64>,
}

impl PlayersResponse {
    /// The response for a players lookup of `target`.
    #[must_use]
    pub fn new(target: &Target, observed: &Observed<Option<PlayerList>>) -> Self {
        let cache = CacheInfo::from(observed.freshness);
        match &observed.value {
            Some(list) => Self {
                address: list.target.to_string(),
                edition: list.target.edition().into(),
                online: true,
                source: Some(list.source.into()),
                players_online: list.online,
                players_max: list.max,
                names: list.names.clone(),
                cache,
                taken_at_ms: Some(list.taken_at.as_millis()),
            },
            None => Self {
                address: target.to_string(),
                edition: target.edition().into(),
                online: false,
                source: None,
                players_online: None,
                players_max: None,
                names: Vec::new(),
                cache,
                taken_at_ms: None,
            },
        }
    }
}

/// The body of `GET /v1/icon/{address}`: PNG bytes (for the OpenAPI document only).
#[derive(Debug)]
pub struct PngBytes;

impl utoipa::PartialSchema for PngBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("image/png")
            .description(Some("A PNG image (64×64 for a vanilla server)"))
            .into()
    }
}

impl ToSchema for PngBytes {}

/// The path of a target's icon on this API, its address percent-encoded.
#[must_use]
pub fn icon_path(target: &Target) -> String {
    let mut out = String::from("/v1/icon/");
    for b in target.to_string().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use mcstat_core::{MotdText, Timestamp};

    use super::*;

    fn report() -> StatusReport {
        StatusReport {
            target: "bedrock:[::1]:19133".parse().expect("valid"),
            protocol: Protocol::Bedrock,
            answered_by: Some("[::1]:19133".into()),
            version: Some("1.20.80".into()),
            protocol_version: Some(671),
            players_online: Some(2),
            players_max: Some(10),
            sample: vec![],
            motd: MotdText {
                legacy: "§cRed <b>".into(),
                bedrock: true,
            },
            icon_png: Some(vec![1]),
            latency_ms: Some(4),
            game_mode: Some("Survival".into()),
            map: Some("Bedrock level".into()),
            mod_count: None,
            taken_at: Timestamp(1_700_000_000_000),
        }
    }

    #[test]
    fn online_status_has_every_field_and_an_escaped_motd() {
        let r = StatusResponse::new(&Observed {
            value: StatusOutcome::Online(report()),
            freshness: Freshness::Cached { age_ms: 1500 },
        });
        assert_eq!(r.address, "bedrock:[::1]:19133");
        assert_eq!(r.edition, ApiEdition::Bedrock);
        assert_eq!(r.protocol, Some(ApiProtocol::Bedrock));
        assert_eq!(
            r.cache,
            CacheInfo {
                hit: true,
                age_ms: 1500
            }
        );
        let motd = r.motd.expect("motd");
        assert_eq!(motd.raw, "§cRed <b>");
        assert_eq!(motd.plain, "Red <b>");
        assert!(motd.html.contains("&lt;b&gt;"), "{}", motd.html);
        assert!(!motd.html.contains("<b>"), "{}", motd.html);
        assert_eq!(
            r.icon_url.as_deref(),
            Some("/v1/icon/bedrock:%5B::1%5D:19133")
        );
        let json = serde_json::to_value(StatusResponse::new(&Observed {
            value: StatusOutcome::Online(report()),
            freshness: Freshness::Live,
        }))
        .expect("json");
        assert_eq!(json["protocol"], "bedrock");
        assert_eq!(json["cache"]["hit"], false);
        assert_eq!(json["offline"], serde_json::Value::Null);
    }

    #[test]
    fn offline_status_says_why_and_nulls_the_rest() {
        let target: Target = "example.net".parse().expect("valid");
        let r = StatusResponse::new(&Observed {
            value: StatusOutcome::Offline {
                target,
                reason: OfflineReason::Timeout { after_ms: 2000 },
                taken_at: Timestamp(5),
            },
            freshness: Freshness::Live,
        });
        assert!(!r.online);
        assert_eq!(r.protocol, None);
        let off = r.offline.expect("offline");
        assert_eq!(off.reason, OfflineKind::Timeout);
        assert!(off.message.contains("2.0 s"), "{}", off.message);
        let json = serde_json::to_value(&r.motd).expect("json");
        assert!(json.is_null());
    }
}

/// How far back `GET /v1/history/{address}` reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub enum ApiRange {
    /// The last 24 hours (default).
    #[default]
    #[serde(rename = "24h")]
    Day,
    /// The last 7 days.
    #[serde(rename = "7d")]
    Week,
    /// The last 30 days.
    #[serde(rename = "30d")]
    Month,
    /// The last 90 days.
    #[serde(rename = "90d")]
    Quarter,
    /// The last 365 days.
    #[serde(rename = "1y")]
    Year,
}

impl ApiRange {
    /// The core's range.
    #[must_use]
    pub const fn chart_range(self) -> mcstat_core::chart::ChartRange {
        use mcstat_core::chart::ChartRange;
        match self {
            Self::Day => ChartRange::Day,
            Self::Week => ChartRange::Week,
            Self::Month => ChartRange::Month,
            Self::Quarter => ChartRange::Quarter,
            Self::Year => ChartRange::Year,
        }
    }
}

/// The bucket length of `GET /v1/history/{address}`: a tier of the stored history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ApiStep {
    /// Every poll, one point each.
    #[serde(rename = "raw")]
    Raw,
    /// 5-minute buckets.
    #[serde(rename = "5m")]
    Min5,
    /// Hourly buckets.
    #[serde(rename = "1h")]
    Hour,
    /// Daily buckets (UTC days).
    #[serde(rename = "1d")]
    Day,
}

impl From<ApiStep> for Tier {
    fn from(s: ApiStep) -> Self {
        match s {
            ApiStep::Raw => Self::Raw,
            ApiStep::Min5 => Self::Min5,
            ApiStep::Hour => Self::Hour,
            ApiStep::Day => Self::Day,
        }
    }
}

impl From<Tier> for ApiStep {
    fn from(t: Tier) -> Self {
        match t {
            Tier::Raw => Self::Raw,
            Tier::Min5 => Self::Min5,
            Tier::Hour => Self::Hour,
            Tier::Day => Self::Day,
        }
    }
}

/// Minimum, average and maximum of some values over a point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Spread {
    /// The smallest value.
    pub min: u32,
    /// The mean of the values.
    pub avg: f64,
    /// The largest value.
    pub max: u32,
}

impl Spread {
    fn of(stat: &mcstat_core::history::Stat) -> Option<Self> {
        Some(Self {
            min: stat.min()?,
            avg: stat.mean()?,
            max: stat.max()?,
        })
    }
}

/// One bucket of a server's history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistoryPoint {
    /// The bucket's start, in milliseconds since the Unix epoch (UTC); for `raw`, the
    /// poll's time.
    pub start_ms: u64,
    /// Polls made in the bucket.
    pub samples: u32,
    /// How many of them the server answered.
    pub online: u32,
    /// Milliseconds of the bucket whose state is known (each poll counts until the
    /// next one, at most two poll intervals).
    pub known_ms: u64,
    /// Of those, milliseconds the server answered.
    pub up_ms: u64,
    /// `up_ms / known_ms`, `null` when nothing is known.
    pub uptime: Option<f64>,
    /// Player counts of the answering polls, `null` without any.
    pub players: Option<Spread>,
    /// Latencies (ms) of the answering polls, `null` without any.
    pub latency_ms: Option<Spread>,
}

impl HistoryPoint {
    /// The point of a stored bucket.
    #[must_use]
    pub fn new(b: &Rollup) -> Self {
        Self {
            start_ms: b.start.as_millis(),
            samples: b.samples,
            online: b.online,
            known_ms: b.known_ms,
            up_ms: b.up_ms,
            uptime: (b.known_ms > 0).then(|| b.up_ms as f64 / b.known_ms as f64),
            players: Spread::of(&b.players),
            latency_ms: Spread::of(&b.latency),
        }
    }
}

/// A server's recorded history: `GET /v1/history/{address}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistoryResponse {
    /// The server, as normalised (`host[:port]`, `bedrock:` prefix for Bedrock).
    pub address: String,
    /// The range asked for.
    pub range: ApiRange,
    /// The bucket length of the points.
    pub step: ApiStep,
    /// The range's start: now minus the range, aligned down to the step (ms since the
    /// epoch).
    pub from_ms: u64,
    /// The range's end: now (ms since the epoch).
    pub to_ms: u64,
    /// The buckets with anything recorded, oldest first (the one still open
    /// included); empty for a server nobody watches.
    pub points: Vec<HistoryPoint>,
}
