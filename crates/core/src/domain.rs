//! Domain types. Each can only hold a valid value: parse, don't validate.
//!
//! Every type here is `serde`-serialisable, so stores and caches can keep it; the
//! serialised forms are part of the stored format (see the adapters' format version).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use mc_protocol::address::{AddressError, Edition, ServerAddress};
use mc_protocol::text::{Motd, Palette};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in wall-clock time: milliseconds since the Unix epoch (UTC).
///
/// Time only enters the core through [`crate::ports::Clock`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating.
    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// `self - d`, saturating at the epoch.
    #[must_use]
    pub fn minus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// How long after `earlier` this is (zero if it is not later).
    #[must_use]
    pub const fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// The chat platform a chat or user lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Telegram: chat ids are signed 64-bit integers.
    Telegram,
    /// Discord: channel, guild and user ids are snowflakes (unsigned 64-bit integers).
    Discord,
    /// The HTTP API or another frontend without chats (ids are client keys).
    Api,
}

impl Platform {
    /// The lowercase name used in keys and logs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Discord => "discord",
            Self::Api => "api",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest platform id accepted in a [`ChatRef`] or [`UserRef`].
pub const MAX_ID_LEN: usize = 64;

/// Why a text is not a valid chat or user id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Empty id.
    #[error("the id is empty")]
    Empty,
    /// Longer than [`MAX_ID_LEN`].
    #[error("the id is longer than {MAX_ID_LEN} characters")]
    TooLong,
    /// Characters other than ASCII letters, digits, `-`, `_` and `:`.
    #[error("the id may only contain ASCII letters, digits, '-', '_' and ':'")]
    BadCharacter,
}

fn check_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
    {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! platform_ref {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name {
            platform: Platform,
            id: String,
        }

        impl $name {
            /// A reference from a platform and its id for the object.
            ///
            /// # Errors
            /// [`IdError`] when the id is empty, too long or has characters outside
            /// `[A-Za-z0-9_:-]`.
            pub fn new(platform: Platform, id: impl Into<String>) -> Result<Self, IdError> {
                let id = id.into();
                check_id(&id)?;
                Ok(Self { platform, id })
            }

            /// The platform.
            #[must_use]
            pub const fn platform(&self) -> Platform {
                self.platform
            }

            /// The platform's id, as text.
            #[must_use]
            pub fn id(&self) -> &str {
                &self.id
            }

            /// `platform:id`, the form used in store keys.
            #[must_use]
            pub fn key(&self) -> String {
                format!("{}:{}", self.platform, self.id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}:{}", self.platform, self.id)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                struct Raw {
                    platform: Platform,
                    id: String,
                }
                let raw = Raw::deserialize(d)?;
                Self::new(raw.platform, raw.id).map_err(serde::de::Error::custom)
            }
        }
    };
}

platform_ref! {
    /// A chat on a platform: a Telegram chat, a Discord channel, an API client.
    ChatRef
}

platform_ref! {
    /// A user on a platform (for rate limits and audit entries).
    UserRef
}

/// A server to look up: a validated address and the edition to ask it as.
///
/// Its text form (and serialised form) is `host[:port]` for Java and
/// `bedrock:host[:port]` for Bedrock; [`Target::key`] is the canonical cache and store
/// key, which includes the edition and the effective port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    address: ServerAddress,
    edition: Edition,
}

impl Target {
    /// A target from an already parsed address.
    #[must_use]
    pub const fn new(address: ServerAddress, edition: Edition) -> Self {
        Self { address, edition }
    }

    /// Parse what a user typed (`host`, `host:port`, `[v6]:port`, an IDN) for an edition.
    ///
    /// # Errors
    /// [`AddressError`], whose message is meant for the user.
    pub fn parse(input: &str, edition: Edition) -> Result<Self, AddressError> {
        Ok(Self {
            address: input.trim().parse()?,
            edition,
        })
    }

    /// The address as given.
    #[must_use]
    pub const fn address(&self) -> &ServerAddress {
        &self.address
    }

    /// The edition to ask it as.
    #[must_use]
    pub const fn edition(&self) -> Edition {
        self.edition
    }

    /// The canonical key: `java:host:port` or `bedrock:host:port` with the effective
    /// port (so `example.net` and `example.net:25565` share a key). A Java address
    /// without a port keeps no port in its key, since an SRV record may name another.
    #[must_use]
    pub fn key(&self) -> String {
        let edition = match self.edition {
            Edition::Java => "java",
            Edition::Bedrock => "bedrock",
        };
        let host = match &self.address.host {
            mc_protocol::address::Host::Ipv6(ip) => format!("[{ip}]"),
            host => host.to_string(),
        };
        match (self.edition, self.address.port) {
            (Edition::Java, None) => format!("{edition}:{host}"),
            (_, port) => format!(
                "{edition}:{host}:{}",
                port.unwrap_or(self.edition.default_port())
            ),
        }
    }
}

impl fmt::Display for Target {
    /// What a user would type: `host[:port]`, with a `bedrock:` prefix for Bedrock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.edition {
            Edition::Java => self.address.fmt(f),
            Edition::Bedrock => write!(f, "bedrock:{}", self.address),
        }
    }
}

impl FromStr for Target {
    type Err = AddressError;

    /// Parse the [`Display`](fmt::Display) form back.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("bedrock:") {
            Some(rest) => Self::parse(rest, Edition::Bedrock),
            None => Self::parse(s.strip_prefix("java:").unwrap_or(s), Edition::Java),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which protocol produced an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Java Server List Ping (1.7+).
    Java,
    /// The pre-1.7 legacy ping (a Java server that did not answer the modern ping).
    Legacy,
    /// GameSpy4 Query.
    Query,
    /// Bedrock unconnected ping.
    Bedrock,
}

impl Protocol {
    /// Lowercase name, as in JSON and metrics labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Java => "java",
            Self::Legacy => "legacy",
            Self::Query => "query",
            Self::Bedrock => "bedrock",
        }
    }
}

/// A MOTD kept as legacy `§`-coded text with the palette it is meant for: compact,
/// serialisable, and lossless for everything [`Motd`] holds (hex colours use the
/// Spigot `§x§r§r§g§g§b§b` form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MotdText {
    /// The text with `§` codes.
    pub legacy: String,
    /// Whether Java or Bedrock colours apply.
    pub bedrock: bool,
}

impl MotdText {
    /// From a styled MOTD.
    #[must_use]
    pub fn from_motd(motd: &Motd, palette: Palette) -> Self {
        Self {
            legacy: motd.to_legacy(palette),
            bedrock: matches!(palette, Palette::Bedrock),
        }
    }

    /// The palette.
    #[must_use]
    pub const fn palette(&self) -> Palette {
        if self.bedrock {
            Palette::Bedrock
        } else {
            Palette::Java
        }
    }

    /// The styled spans.
    #[must_use]
    pub fn styled(&self) -> Motd {
        Motd::from_legacy(&self.legacy, self.palette())
    }

    /// Plain text without codes.
    #[must_use]
    pub fn plain(&self) -> String {
        self.styled().to_plain()
    }
}

/// What a server said when it answered a status request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The server asked.
    pub target: Target,
    /// Which protocol answered.
    pub protocol: Protocol,
    /// The IP and port that answered, as text (e.g. `203.0.113.7:25565`).
    pub answered_by: Option<String>,
    /// The version name the server reports (e.g. `Paper 1.21.1`, `1.20.80`).
    pub version: Option<String>,
    /// The protocol number the server reports.
    pub protocol_version: Option<i32>,
    /// Players online, if the server says.
    pub players_online: Option<i64>,
    /// Player slots, if the server says.
    pub players_max: Option<i64>,
    /// Names from the status' player sample (may be empty even with players online).
    pub sample: Vec<String>,
    /// The MOTD.
    pub motd: MotdText,
    /// The server icon as PNG bytes (base64 in serialised form).
    #[serde(with = "base64_opt", default)]
    pub icon_png: Option<Vec<u8>>,
    /// Round-trip latency of the ping (or of the status exchange when there is no
    /// ping), in milliseconds.
    pub latency_ms: Option<u32>,
    /// Bedrock game mode or Query game type, when known.
    pub game_mode: Option<String>,
    /// Query map / Bedrock level name, when known.
    pub map: Option<String>,
    /// Number of Forge mods, when the server is modded.
    pub mod_count: Option<usize>,
    /// When the server answered.
    pub taken_at: Timestamp,
}

/// Why a server counts as offline.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfflineReason {
    /// The name does not resolve (no such host).
    NotFound,
    /// Every address refused the connection (or, UDP, reported the port closed).
    Refused,
    /// No answer within the deadline.
    Timeout {
        /// The deadline, in milliseconds.
        after_ms: u64,
    },
    /// Something answered but not with a valid status (e.g. not a Minecraft server).
    InvalidAnswer {
        /// Short technical description.
        detail: String,
    },
}

impl fmt::Display for OfflineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("the host name does not exist"),
            Self::Refused => f.write_str("the connection was refused"),
            Self::Timeout { after_ms } => {
                write!(f, "no answer within {:.1} s", *after_ms as f64 / 1000.0)
            }
            Self::InvalidAnswer { detail } => {
                write!(f, "the answer was not a valid Minecraft status ({detail})")
            }
        }
    }
}

/// The result of a status lookup that reached the network: online or offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // outcomes are few and short-lived; boxing buys nothing
pub enum StatusOutcome {
    /// The server answered.
    Online(StatusReport),
    /// It did not.
    Offline {
        /// The server asked.
        target: Target,
        /// Why it counts as offline.
        reason: OfflineReason,
        /// When it was asked.
        taken_at: Timestamp,
    },
}

impl StatusOutcome {
    /// The server asked.
    #[must_use]
    pub const fn target(&self) -> &Target {
        match self {
            Self::Online(r) => &r.target,
            Self::Offline { target, .. } => target,
        }
    }

    /// When the answer (or the failure) happened.
    #[must_use]
    pub const fn taken_at(&self) -> Timestamp {
        match self {
            Self::Online(r) => r.taken_at,
            Self::Offline { taken_at, .. } => *taken_at,
        }
    }

    /// Whether the server answered.
    #[must_use]
    pub const fn is_online(&self) -> bool {
        matches!(self, Self::Online(_))
    }
}

/// Where a player list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayerSource {
    /// Query full stat: every name.
    Query,
    /// The status response's sample: at most a dozen names, chosen by the server.
    Sample,
    /// The server gave counts but no names.
    CountOnly,
}

/// Who is on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerList {
    /// The server asked.
    pub target: Target,
    /// Where the names came from.
    pub source: PlayerSource,
    /// Players online, if known.
    pub online: Option<i64>,
    /// Player slots, if known.
    pub max: Option<i64>,
    /// The names (order as the server gave them).
    pub names: Vec<String>,
    /// When the server answered.
    pub taken_at: Timestamp,
}

/// Whether an answer is live or from a cache, and how old it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Freshness {
    /// Fetched for this request (or shared with a concurrent identical one).
    Live,
    /// Served from a cache.
    Cached {
        /// Age of the answer, in milliseconds.
        age_ms: u64,
    },
}

/// A value and whether it is live or cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed<T> {
    /// The value.
    pub value: T,
    /// Live or cached.
    pub freshness: Freshness,
}

/// Per-chat state kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatState {
    /// The last server looked up in this chat, for a bare `/status`.
    pub last_server: Option<Target>,
    /// Recent servers, most recent first (bounded; for autocomplete and menus).
    #[serde(default)]
    pub recent: Vec<Target>,
    /// Language tag for replies, if set (e.g. `en`).
    #[serde(default)]
    pub language: Option<String>,
}

impl ChatState {
    /// How many recent servers are kept.
    pub const MAX_RECENT: usize = 10;

    /// Remember `target` as the last and most recent server.
    pub fn remember(&mut self, target: &Target) {
        self.last_server = Some(target.clone());
        self.recent.retain(|t| t != target);
        self.recent.insert(0, target.clone());
        self.recent.truncate(Self::MAX_RECENT);
    }
}

/// A chat watching a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// Who is told.
    pub chat: ChatRef,
    /// What is watched.
    pub target: Target,
    /// When the watch was created.
    pub created_at: Timestamp,
    /// Player names whose joins and leaves are reported (empty: none).
    #[serde(default)]
    pub players: Vec<String>,
}

/// One observation of a watched server, for uptime and charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySample {
    /// The server.
    pub target: Target,
    /// When.
    pub at: Timestamp,
    /// Whether it answered.
    pub online: bool,
    /// Players online, when it answered and said.
    pub players: Option<u32>,
    /// Latency in milliseconds, when it answered.
    pub latency_ms: Option<u32>,
    /// Why it did not answer (`None` when it answered, or when not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<crate::history::DownCause>,
}

/// One change of a guild- or chat-wide setting, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Where (a chat, or a Discord guild as a chat reference).
    pub scope: ChatRef,
    /// Who.
    pub actor: UserRef,
    /// What, in words (e.g. `watch add play.example.net`).
    pub action: String,
    /// When.
    pub at: Timestamp,
}

mod base64_opt {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)]
    pub(super) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_some(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| STANDARD.decode(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_text_round_trips_and_keys_share_default_port() {
        let t: Target = "Example.NET:25565".parse().expect("valid");
        assert_eq!(t.key(), "java:example.net:25565");
        assert_eq!(t.to_string().parse::<Target>().expect("round trip"), t);
        let b: Target = "bedrock:[::1]".parse().expect("valid");
        assert_eq!(b.edition(), Edition::Bedrock);
        assert_eq!(b.key(), "bedrock:[::1]:19132");
        let bare: Target = "example.net".parse().expect("valid");
        assert_eq!(bare.key(), "java:example.net");
    }

    #[test]
    fn ids_are_validated() {
        assert!(ChatRef::new(Platform::Telegram, "-100123").is_ok());
        assert_eq!(ChatRef::new(Platform::Telegram, ""), Err(IdError::Empty));
        assert_eq!(
            ChatRef::new(Platform::Discord, "a b"),
            Err(IdError::BadCharacter)
        );
        let bad = r#"{"platform":"discord","id":"x/y"}"#;
        assert!(serde_json::from_str::<ChatRef>(bad).is_err());
    }

    #[test]
    fn chat_state_remember_keeps_recent_bounded_and_unique() {
        let mut state = ChatState::default();
        for i in 0..15 {
            state.remember(&format!("s{i}.example.net").parse().expect("valid"));
        }
        state.remember(&"s10.example.net".parse().expect("valid"));
        assert_eq!(state.recent.len(), ChatState::MAX_RECENT);
        assert_eq!(state.recent[0].to_string(), "s10.example.net");
        assert_eq!(
            state
                .recent
                .iter()
                .filter(|t| t.to_string() == "s10.example.net")
                .count(),
            1
        );
    }

    #[test]
    fn report_serialises_icon_as_base64() {
        let report = StatusReport {
            target: "a.example".parse().expect("valid"),
            protocol: Protocol::Java,
            answered_by: None,
            version: Some("1.21".into()),
            protocol_version: Some(767),
            players_online: Some(1),
            players_max: Some(20),
            sample: vec!["Notch".into()],
            motd: MotdText {
                legacy: "§aHi".into(),
                bedrock: false,
            },
            icon_png: Some(vec![0x89, b'P', b'N', b'G']),
            latency_ms: Some(3),
            game_mode: None,
            map: None,
            mod_count: None,
            taken_at: Timestamp(1),
        };
        let json = serde_json::to_string(&StatusOutcome::Online(report.clone())).expect("ser");
        assert!(json.contains("\"iVBORw==\""), "{json}");
        let back: StatusOutcome = serde_json::from_str(&json).expect("de");
        assert_eq!(back, StatusOutcome::Online(report));
    }
}
