//! Platform-neutral view models: what a reply shows. Each bot renders them in its own
//! idiom (Telegram HTML + inline keyboard, Discord embed + components).
//!
//! Every server-controlled string in a view (version, names, map, game mode, MOTD
//! text) has had its control characters removed and its length bounded; renderers
//! still escape for their markup.

use std::time::Duration;

use mc_protocol::address::Edition;
use mc_protocol::text::Motd;

use super::callback::Button;
use super::command::CommandInfo;
use crate::domain::{Freshness, PlayerSource, Protocol, Target};

/// A reply: one view and rows of buttons under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What to show.
    pub view: View,
    /// Button rows, top to bottom (may be empty).
    pub buttons: Vec<Vec<Button>>,
}

impl Reply {
    /// A reply without buttons.
    #[must_use]
    pub const fn plain(view: View) -> Self {
        Self {
            view,
            buttons: Vec::new(),
        }
    }

    /// An error reply without buttons.
    #[must_use]
    pub const fn error(error: UserError) -> Self {
        Self::plain(View::Error(error))
    }
}

/// What a reply shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // replies are few and short-lived
pub enum View {
    /// The `/start` welcome.
    Welcome(Welcome),
    /// The `/help` list.
    Help {
        /// Every command, in order.
        commands: &'static [CommandInfo],
        /// An address to use in examples (`play.example.net`).
        example: &'static str,
    },
    /// The `/about` card.
    About(About),
    /// A server's status.
    Status(StatusCard),
    /// A page of a server's player list.
    Players(PlayersPage),
    /// Something the user should do differently (or wait for).
    Error(UserError),
}

/// The `/start` welcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// The bot's name.
    pub name: String,
    /// An address to try, for the first example (`play.example.net`).
    pub example: &'static str,
    /// The chat's last server, if it has one (a returning user).
    pub last_server: Option<String>,
    /// Every command.
    pub commands: &'static [CommandInfo],
}

/// The `/about` card. Its fields come from [`super::BotInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    /// The bot's name.
    pub name: String,
    /// Its version (`0.1.0`).
    pub version: String,
    /// One line about what it does.
    pub description: String,
    /// Where the code lives (a URL).
    pub repository: String,
    /// The licence (SPDX expression).
    pub license: String,
}

/// A server's status, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCard {
    /// The server asked.
    pub target: Target,
    /// How to show the server to people (IDNs decoded, `bedrock:` prefix for
    /// Bedrock): `bücher.example:25566`.
    pub display: String,
    /// The edition asked.
    pub edition: Edition,
    /// Whether the server answered.
    pub online: bool,
    /// The protocol that answered (`None` when offline).
    pub protocol: Option<Protocol>,
    /// The IP and port that answered (`203.0.113.7:25565`), when known.
    pub answered_by: Option<String>,
    /// The MOTD as styled spans (empty when offline).
    pub motd: Motd,
    /// The version name the server reports.
    pub version: Option<String>,
    /// Players online, if the server says.
    pub players_online: Option<i64>,
    /// Player slots, if the server says.
    pub players_max: Option<i64>,
    /// Names from the status sample (at most [`SAMPLE_LIMIT`]).
    pub sample: Vec<String>,
    /// Round-trip latency in milliseconds.
    pub latency_ms: Option<u32>,
    /// The server icon as PNG bytes.
    pub icon_png: Option<Vec<u8>>,
    /// Live or cached (with age).
    pub freshness: Freshness,
    /// Why the server counts as offline, in words (`None` when online).
    pub offline_reason: Option<String>,
    /// A hint for an offline server (e.g. "it may be a Bedrock server: try
    /// /status bedrock:host:19132"), `None` when there is nothing to suggest.
    pub hint: Option<String>,
    /// Bedrock game mode or Query game type, when known.
    pub game_mode: Option<String>,
    /// Query map / Bedrock level name, when known.
    pub map: Option<String>,
    /// Number of Forge mods, when the server is modded.
    pub mod_count: Option<usize>,
}

/// How many sample names a [`StatusCard`] carries at most.
pub const SAMPLE_LIMIT: usize = 12;

/// Names per [`PlayersPage`].
pub const PAGE_SIZE: usize = 20;

/// One page of a server's player list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayersPage {
    /// The server asked.
    pub target: Target,
    /// How to show the server to people.
    pub display: String,
    /// The names on this page (at most [`PAGE_SIZE`]).
    pub names: Vec<String>,
    /// This page, 0-based (clamped to the last page).
    pub page: usize,
    /// How many pages there are (at least 1, even with no names).
    pub page_count: usize,
    /// How many names the whole list has.
    pub total_names: usize,
    /// Players online, if the server says.
    pub online: Option<i64>,
    /// Player slots, if the server says.
    pub max: Option<i64>,
    /// Where the names came from (Query has every name; a sample only some).
    pub source: PlayerSource,
    /// Live or cached (with age).
    pub freshness: Freshness,
}

/// Something the user should do differently, or wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// What went wrong, as a stable code (for renderers' icons and for logs).
    pub kind: UserErrorKind,
    /// A friendly sentence that says what to type instead (plain text).
    pub message: String,
}

impl UserError {
    /// An error of `kind` with `message`.
    #[must_use]
    pub fn new(kind: UserErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// What kind of user error: a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserErrorKind {
    /// The text is not a server address.
    BadAddress,
    /// A bare `/status` or `/players` in a chat that has not looked up a server yet.
    NoServerYet,
    /// Too many lookups: by this user, or of this server.
    RateLimited {
        /// When to try again.
        retry_after: Duration,
    },
    /// The address is one this service does not contact (private, loopback, ...).
    Refused,
    /// Something on our side failed (store, network source); trying later may work.
    Unavailable,
    /// A button's data is stale, foreign or garbled.
    BadCallback,
    /// Not a command this bot knows.
    UnknownCommand,
    /// A command's arguments are wrong (e.g. page 0).
    BadArguments,
    /// The server is offline, so there is nothing to show (e.g. no player list).
    Offline,
}

impl UserErrorKind {
    /// A stable snake_case code for logs, metrics and APIs.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::BadAddress => "bad_address",
            Self::NoServerYet => "no_server_yet",
            Self::RateLimited { .. } => "rate_limited",
            Self::Refused => "refused",
            Self::Unavailable => "unavailable",
            Self::BadCallback => "bad_callback",
            Self::UnknownCommand => "unknown_command",
            Self::BadArguments => "bad_arguments",
            Self::Offline => "offline",
        }
    }
}
