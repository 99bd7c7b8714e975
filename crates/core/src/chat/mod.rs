//! The chat service: the commands both bots offer, as functions from a request to a
//! platform-neutral [`Reply`].
//!
//! A bot parses its platform's update into a [`ChatRequest`] (text commands with
//! [`Command::parse`], slash commands by building a [`Command`]), calls
//! [`ChatService::handle`] (or [`ChatService::handle_callback`] for a button press),
//! and renders the [`View`] and [`Button`]s it gets back. Every user mistake comes
//! back as a [`View::Error`] whose message says what to type instead.
//!
//! ```
//! use std::sync::Arc;
//! use mcstat_core::chat::{BotInfo, ChatRequest, ChatService, Command, View};
//! use mcstat_core::lookup::{LookupConfig, LookupService, NoCache};
//! # use mcstat_core::domain::*;
//! # use mcstat_core::ports::*;
//! # struct Net; // stands in for the adapters' network source
//! # #[async_trait::async_trait]
//! # impl StatusSource for Net {
//! #     async fn status(&self, t: &Target) -> Result<StatusOutcome, SourceError> {
//! #         Ok(StatusOutcome::Offline { target: t.clone(), reason: OfflineReason::Refused, taken_at: Timestamp(0) })
//! #     }
//! #     async fn players(&self, _: &Target) -> Result<Option<PlayerList>, SourceError> { Ok(None) }
//! # }
//! # #[derive(Default)] struct Chats(std::sync::Mutex<Option<ChatState>>);
//! # #[async_trait::async_trait]
//! # impl ChatStore for Chats {
//! #     async fn chat(&self, _: &ChatRef) -> Result<Option<ChatState>, StoreError> { Ok(self.0.lock().unwrap().clone()) }
//! #     async fn put_chat(&self, _: &ChatRef, s: &ChatState) -> Result<(), StoreError> { *self.0.lock().unwrap() = Some(s.clone()); Ok(()) }
//! #     async fn ping(&self) -> Result<(), StoreError> { Ok(()) }
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(Timestamp(0))); // a system clock in a bot
//! let lookups = LookupService::new(Arc::new(Net), Arc::new(NoCache), clock, LookupConfig::default());
//! let chat = ChatService::new(Arc::new(lookups), Arc::new(Chats::default()), BotInfo::default());
//!
//! let request = ChatRequest {
//!     chat: ChatRef::new(Platform::Telegram, "-1001")?,
//!     user: UserRef::new(Platform::Telegram, "42")?,
//!     command: Command::parse("/status@mcstat_bot play.example.net")?,
//! };
//! let reply = chat.handle(request).await;
//! match &reply.view {
//!     View::Status(card) => println!("{} online: {}", card.display, card.online),
//!     View::Error(e) => println!("{}", e.message),
//!     _ => {}
//! }
//! // Buttons carry compact data; a press comes back through `handle_callback`.
//! let data = &reply.buttons[0][0].data;
//! let again = chat.handle_callback(
//!     &ChatRef::new(Platform::Telegram, "-1001")?,
//!     &UserRef::new(Platform::Telegram, "42")?,
//!     data,
//! ).await;
//! assert!(matches!(again.view, View::Status(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ## Addresses
//! [`parse_address`] reads what a user typed: `host`, `host:port`, `[v6]:port`, an
//! IDN. A `bedrock:` prefix (any case) asks the Bedrock edition
//! (`bedrock:pe.example.net`, `bedrock:pe.example.net:19133`); `java:` or no prefix
//! asks Java.
//!
//! ## Last server
//! Every lookup remembers its server in the chat's [`ChatState`](crate::domain::ChatState) (through the
//! [`ChatStore`]); a bare `/status` or `/players`, and buttons whose data says `~`,
//! use it.

mod callback;
mod command;
mod view;
pub mod watch;

use std::fmt::Write as _;
use std::sync::Arc;

use mc_protocol::address::{Edition, Host};
use mc_protocol::text::{Motd, Span};

pub use callback::{
    Button, CallbackData, CallbackError, MAX_CALLBACK_LEN, MAX_CALLBACK_PAGE, TargetRef,
};
pub use command::{
    COMMANDS, Command, CommandInfo, CommandOption, MAX_COMMAND_LEN, OptionKind, WatchCommand,
    split_players,
};
pub use view::{
    About, PAGE_SIZE, PlayersPage, Reply, SAMPLE_LIMIT, StatusCard, UserError, UserErrorKind, View,
    Welcome,
};

use crate::domain::{
    ChatRef, Freshness, Observed, OfflineReason, PlayerList, StatusOutcome, Target, UserRef,
};
use crate::lookup::{LimitScope, LookupError, LookupService};
use crate::ports::ChatStore;

/// The address used in examples and hints.
pub const EXAMPLE_ADDRESS: &str = "play.example.net";

/// A command from a user in a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest {
    /// Where it was sent (replies go there; the last server is kept per chat).
    pub chat: ChatRef,
    /// Who sent it (rate limits are per user).
    pub user: UserRef,
    /// What was asked.
    pub command: Command,
}

/// What `/about` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotInfo {
    /// The bot's name (`mcstat`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// One line about what it does.
    pub description: String,
    /// Where the code lives.
    pub repository: String,
    /// The licence.
    pub license: String,
}

impl Default for BotInfo {
    /// mcstat's own name, version, repository and licence (from this crate's
    /// manifest).
    fn default() -> Self {
        Self {
            name: "mcstat".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "Minecraft server status: online or not, MOTD, version, players, latency, icon (Java and Bedrock)".to_owned(),
            repository: env!("CARGO_PKG_REPOSITORY").to_owned(),
            license: env!("CARGO_PKG_LICENSE").to_owned(),
        }
    }
}

/// Which command a message is about, for error hints (`/status` or `/players`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Status,
    Players,
}

impl Cmd {
    const fn slash(self) -> &'static str {
        match self {
            Self::Status => "/status",
            Self::Players => "/players",
        }
    }
}

/// Text cut to `max` characters, with control and bidi-override characters removed.
pub(crate) fn clean(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .take(max)
        .collect()
}

const fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// User input for quoting in a message: cleaned, at most 64 characters plus `…`.
pub(crate) fn quote_input(s: &str) -> String {
    let cut = clean(s, 64);
    if s.chars().count() > 64 {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Parse an address a user typed. See the [module docs](self#addresses).
///
/// # Errors
/// A [`UserErrorKind::BadAddress`] error whose message quotes the input, says what is
/// wrong and shows what to type instead (for `/status`).
pub fn parse_address(input: &str) -> Result<Target, UserError> {
    parse_for(input, Cmd::Status)
}

fn parse_for(input: &str, cmd: Cmd) -> Result<Target, UserError> {
    parse_with_hint(input, cmd.slash())
}

/// [`parse_address`] whose error suggests the command `c` (`/watch`).
fn parse_with_hint(input: &str, c: &str) -> Result<Target, UserError> {
    let trimmed = input.trim();
    let (edition, rest) = split_edition(trimmed);
    Target::parse(rest, edition).map_err(|e| {
        let example = match edition {
            Edition::Java => format!("{c} {EXAMPLE_ADDRESS} or {c} {EXAMPLE_ADDRESS}:25565"),
            Edition::Bedrock => {
                format!("{c} bedrock:{EXAMPLE_ADDRESS} or {c} bedrock:{EXAMPLE_ADDRESS}:19132")
            }
        };
        UserError::new(
            UserErrorKind::BadAddress,
            format!(
                "“{}” is not a server address: {}. Try {example}",
                quote_input(trimmed),
                // The parser's message may quote the input too.
                clean(&e.to_string(), 200)
            ),
        )
    })
}

fn split_edition(s: &str) -> (Edition, &str) {
    for (prefix, edition) in [("bedrock:", Edition::Bedrock), ("java:", Edition::Java)] {
        if s.len() >= prefix.len()
            && s.is_char_boundary(prefix.len())
            && s[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            return (edition, &s[prefix.len()..]);
        }
    }
    (Edition::Java, s)
}

/// How to show a target to people: IDNs decoded, `bedrock:` prefix for Bedrock.
#[must_use]
pub fn display_target(target: &Target) -> String {
    let address = target.address();
    let host = match &address.host {
        Host::Name(name) => name.to_unicode(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) if address.port.is_some() => format!("[{ip}]"),
        Host::Ipv6(ip) => ip.to_string(),
    };
    let mut s = String::new();
    if target.edition() == Edition::Bedrock {
        s.push_str("bedrock:");
    }
    s.push_str(&clean(&host, 256));
    if let Some(port) = address.port {
        let _ = write!(s, ":{port}");
    }
    s
}

/// The chat commands over a [`LookupService`] and a [`ChatStore`]. See the
/// [module docs](self).
pub struct ChatService {
    lookups: Arc<LookupService>,
    chats: Arc<dyn ChatStore>,
    info: BotInfo,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService")
            .field("lookups", &self.lookups)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl ChatService {
    /// A chat service.
    #[must_use]
    pub fn new(lookups: Arc<LookupService>, chats: Arc<dyn ChatStore>, info: BotInfo) -> Self {
        Self {
            lookups,
            chats,
            info,
        }
    }

    /// The lookup service underneath.
    #[must_use]
    pub const fn lookups(&self) -> &Arc<LookupService> {
        &self.lookups
    }

    /// What `/about` says.
    #[must_use]
    pub const fn info(&self) -> &BotInfo {
        &self.info
    }

    /// Give chat `to` the state (last server, recent servers) of chat `from`, when
    /// `to` has none yet: a Telegram group upgraded to a supergroup keeps what it
    /// remembered. `true` if copied.
    ///
    /// # Errors
    /// [`StoreError`](crate::ports::StoreError) of the read or the write.
    pub async fn move_chat_state(
        &self,
        from: &ChatRef,
        to: &ChatRef,
    ) -> Result<bool, crate::ports::StoreError> {
        if from == to || self.chats.chat(to).await?.is_some() {
            return Ok(false);
        }
        let Some(state) = self.chats.chat(from).await? else {
            return Ok(false);
        };
        self.chats.put_chat(to, &state).await?;
        Ok(true)
    }

    /// Answer a command. Never fails: errors are [`View::Error`] replies.
    pub async fn handle(&self, request: ChatRequest) -> Reply {
        let ChatRequest {
            chat,
            user,
            command,
        } = request;
        match command {
            Command::Start => self.welcome(&chat).await,
            Command::Help => self.help(),
            Command::About => self.about(),
            Command::Status { address } => {
                match self.target(&chat, address.as_deref(), Cmd::Status).await {
                    Ok(target) => self.status(&chat, &user, target, false).await,
                    Err(e) => Reply::error(e),
                }
            }
            Command::Players { address, page } => {
                match self.target(&chat, address.as_deref(), Cmd::Players).await {
                    Ok(target) => self.players(&chat, &user, target, page, false).await,
                    Err(e) => Reply::error(e),
                }
            }
            // The bot answers these with the watch service.
            Command::Watch(w) => Reply::error(UserError::new(
                UserErrorKind::UnknownCommand,
                format!(
                    "/{} is not available here. Try /status {EXAMPLE_ADDRESS}",
                    w.name()
                ),
            )),
        }
    }

    /// Answer a button press whose data is `data`. Never fails: stale or foreign
    /// data gets a [`UserErrorKind::BadCallback`] error reply.
    pub async fn handle_callback(&self, chat: &ChatRef, user: &UserRef, data: &str) -> Reply {
        let data = match CallbackData::decode(data) {
            Ok(d) => d,
            Err(error) => {
                tracing::debug!(%error, "undecodable callback data");
                return Reply::error(UserError::new(
                    UserErrorKind::BadCallback,
                    format!(
                        "This button no longer works (it may be from an older message). Type /status to see your last server again, or /status {EXAMPLE_ADDRESS}"
                    ),
                ));
            }
        };
        match data {
            CallbackData::About => self.about(),
            CallbackData::Help => self.help(),
            CallbackData::Status { target, refresh } => {
                match self.target_ref(chat, target, Cmd::Status).await {
                    Ok(t) => self.status(chat, user, t, refresh).await,
                    Err(e) => Reply::error(e),
                }
            }
            CallbackData::Players {
                target,
                page,
                refresh,
            } => match self.target_ref(chat, target, Cmd::Players).await {
                Ok(t) => self.players(chat, user, t, page, refresh).await,
                Err(e) => Reply::error(e),
            },
        }
    }

    async fn welcome(&self, chat: &ChatRef) -> Reply {
        let last = self.last_server(chat).await.ok().flatten();
        let mut row = vec![
            Button::new("❓ Help", &CallbackData::Help),
            Button::new("ℹ️ About", &CallbackData::About),
        ];
        if let Some(t) = &last {
            row.insert(
                0,
                Button::new(
                    "📊 Status",
                    &CallbackData::Status {
                        target: TargetRef::Server(t.clone()),
                        refresh: false,
                    },
                ),
            );
        }
        Reply {
            view: View::Welcome(Welcome {
                name: self.info.name.clone(),
                example: EXAMPLE_ADDRESS,
                last_server: last.as_ref().map(display_target),
                commands: COMMANDS,
            }),
            buttons: vec![row],
        }
    }

    fn help(&self) -> Reply {
        Reply {
            view: View::Help {
                commands: COMMANDS,
                example: EXAMPLE_ADDRESS,
            },
            buttons: vec![vec![Button::new("ℹ️ About", &CallbackData::About)]],
        }
    }

    fn about(&self) -> Reply {
        Reply {
            view: View::About(About {
                name: self.info.name.clone(),
                version: self.info.version.clone(),
                description: self.info.description.clone(),
                repository: self.info.repository.clone(),
                license: self.info.license.clone(),
            }),
            buttons: vec![vec![Button::new("❓ Help", &CallbackData::Help)]],
        }
    }

    /// The chat's last server: `Ok(None)` if it has none.
    async fn last_server(&self, chat: &ChatRef) -> Result<Option<Target>, UserError> {
        match self.chats.chat(chat).await {
            Ok(state) => Ok(state.and_then(|s| s.last_server)),
            Err(error) => {
                tracing::warn!(
                    %chat,
                    error = &error as &dyn std::error::Error,
                    "chat store failed reading the last server"
                );
                Err(UserError::new(
                    UserErrorKind::Unavailable,
                    format!(
                        "I can't read this chat's last server right now. Name the server instead, e.g. /status {EXAMPLE_ADDRESS}"
                    ),
                ))
            }
        }
    }

    async fn target(
        &self,
        chat: &ChatRef,
        address: Option<&str>,
        cmd: Cmd,
    ) -> Result<Target, UserError> {
        match address.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => parse_for(a, cmd),
            None => self.target_ref(chat, TargetRef::Last, cmd).await,
        }
    }

    async fn target_ref(
        &self,
        chat: &ChatRef,
        target: TargetRef,
        cmd: Cmd,
    ) -> Result<Target, UserError> {
        match target {
            TargetRef::Server(t) => Ok(t),
            TargetRef::Last => self.last_server(chat).await?.ok_or_else(|| {
                let c = cmd.slash();
                UserError::new(
                    UserErrorKind::NoServerYet,
                    format!(
                        "This chat has not looked up a server yet, so I don't know which one you mean. Try {c} {EXAMPLE_ADDRESS} — after that, a bare {c} shows it again."
                    ),
                )
            }),
        }
    }

    /// Remember `target` as the chat's last server (a store failure is logged).
    async fn remember(&self, chat: &ChatRef, target: &Target) {
        let mut state = match self.chats.chat(chat).await {
            Ok(state) => state.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(
                    %chat,
                    error = &error as &dyn std::error::Error,
                    "chat store failed; last server not remembered"
                );
                return;
            }
        };
        if state.last_server.as_ref() == Some(target) && state.recent.first() == Some(target) {
            return;
        }
        state.remember(target);
        if let Err(error) = self.chats.put_chat(chat, &state).await {
            tracing::warn!(
                %chat,
                error = &error as &dyn std::error::Error,
                "chat store failed; last server not remembered"
            );
        }
    }

    async fn status(&self, chat: &ChatRef, user: &UserRef, target: Target, refresh: bool) -> Reply {
        let result = if refresh {
            self.lookups.refresh_status(user, &target).await
        } else {
            self.lookups.status(user, &target).await
        };
        match result {
            Ok(observed) => {
                self.remember(chat, &target).await;
                status_reply(observed)
            }
            Err(e) => Reply::error(lookup_error(&e, &target, Cmd::Status)),
        }
    }

    async fn players(
        &self,
        chat: &ChatRef,
        user: &UserRef,
        target: Target,
        page: usize,
        refresh: bool,
    ) -> Reply {
        let result = if refresh {
            self.lookups.refresh_players(user, &target).await
        } else {
            self.lookups.players(user, &target).await
        };
        match result {
            Ok(observed) => {
                self.remember(chat, &target).await;
                players_reply(&target, observed, page)
            }
            Err(e) => Reply::error(lookup_error(&e, &target, Cmd::Players)),
        }
    }
}

fn lookup_error(e: &LookupError, target: &Target, cmd: Cmd) -> UserError {
    let shown = display_target(target);
    match e {
        LookupError::Policy(v) => UserError::new(
            UserErrorKind::Refused,
            format!(
                "I don't look up {shown}: {} is a {} address, and I only contact public servers. Try a public server address, e.g. {} {EXAMPLE_ADDRESS}",
                v.ip,
                v.kind,
                cmd.slash()
            ),
        ),
        LookupError::RateLimited { scope, retry_after } => {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let secs = secs.max(1);
            let who = match scope {
                LimitScope::User => "You are asking a bit fast".to_owned(),
                LimitScope::Target => format!("{shown} was asked about a lot just now"),
            };
            UserError::new(
                UserErrorKind::RateLimited {
                    retry_after: *retry_after,
                },
                format!("{who}. Try again in {secs} s."),
            )
        }
        LookupError::Backend(error) => {
            tracing::warn!(
                target = %target,
                error = &**error as &dyn std::error::Error,
                "lookup failed"
            );
            UserError::new(
                UserErrorKind::Unavailable,
                format!(
                    "Looking up {shown} failed on my side. Please try again in a minute with {} {shown}",
                    cmd.slash()
                ),
            )
        }
    }
}

fn clean_motd(motd: &Motd) -> Motd {
    Motd {
        spans: motd
            .spans
            .iter()
            .map(|s| Span {
                text: s
                    .text
                    .chars()
                    .filter(|c| (*c == '\n' || !c.is_control()) && !is_bidi_control(*c))
                    .collect(),
                style: s.style,
            })
            .filter(|s| !s.text.is_empty())
            .collect(),
    }
}

fn status_buttons(target: &Target) -> Vec<Vec<Button>> {
    let t = TargetRef::Server(target.clone());
    vec![
        vec![
            Button::new(
                "🔄 Refresh",
                &CallbackData::Status {
                    target: t.clone(),
                    refresh: true,
                },
            ),
            Button::new(
                "👥 Players",
                &CallbackData::Players {
                    target: t,
                    page: 0,
                    refresh: false,
                },
            ),
        ],
        vec![Button::new("ℹ️ About", &CallbackData::About)],
    ]
}

fn offline_hint(target: &Target, reason: &OfflineReason) -> Option<String> {
    let address = target.address();
    let plain = address.to_string();
    match (target.edition(), reason) {
        (Edition::Java, _) if address.port == Some(Edition::Bedrock.default_port()) => {
            Some(format!(
                "Port 19132 is Bedrock's: if this is a Bedrock server, try /status bedrock:{plain}"
            ))
        }
        (_, OfflineReason::NotFound) => {
            Some("Check the spelling of the address: the name does not exist.".to_owned())
        }
        (Edition::Java, OfflineReason::Timeout { .. } | OfflineReason::Refused) => Some(format!(
            "If this is a Bedrock server, try /status bedrock:{plain}"
        )),
        (Edition::Bedrock, OfflineReason::Timeout { .. } | OfflineReason::Refused) => {
            Some(format!("If this is a Java server, try /status {plain}"))
        }
        _ => None,
    }
}

/// The status card and its buttons for a lookup result, as
/// [`ChatService::handle`] renders it (for frontends that look servers up themselves,
/// e.g. a message that keeps itself up to date, without touching chat state).
#[must_use]
pub fn status_reply(observed: Observed<StatusOutcome>) -> Reply {
    let freshness = observed.freshness;
    let card = match observed.value {
        StatusOutcome::Online(r) => StatusCard {
            display: display_target(&r.target),
            edition: r.target.edition(),
            online: true,
            protocol: Some(r.protocol),
            answered_by: r.answered_by.as_deref().map(|a| clean(a, 64)),
            motd: clean_motd(&r.motd.styled()),
            version: r.version.as_deref().map(|v| clean(v, 128)),
            players_online: r.players_online,
            players_max: r.players_max,
            sample: r
                .sample
                .iter()
                .take(SAMPLE_LIMIT)
                .map(|n| clean(n, 64))
                .collect(),
            latency_ms: r.latency_ms,
            icon_png: r.icon_png,
            freshness,
            offline_reason: None,
            hint: None,
            game_mode: r.game_mode.as_deref().map(|v| clean(v, 64)),
            map: r.map.as_deref().map(|v| clean(v, 64)),
            mod_count: r.mod_count,
            target: r.target,
        },
        StatusOutcome::Offline { target, reason, .. } => StatusCard {
            display: display_target(&target),
            edition: target.edition(),
            online: false,
            protocol: None,
            answered_by: None,
            motd: Motd::default(),
            version: None,
            players_online: None,
            players_max: None,
            sample: Vec::new(),
            latency_ms: None,
            icon_png: None,
            freshness,
            offline_reason: Some(clean(&reason.to_string(), 200)),
            hint: offline_hint(&target, &reason),
            game_mode: None,
            map: None,
            mod_count: None,
            target,
        },
    };
    let buttons = status_buttons(&card.target);
    Reply {
        view: View::Status(card),
        buttons,
    }
}

fn players_page(list: &PlayerList, freshness: Freshness, page: usize) -> PlayersPage {
    let total = list.names.len();
    let page_count = total.div_ceil(PAGE_SIZE).max(1);
    let page = page.min(page_count - 1);
    PlayersPage {
        target: list.target.clone(),
        display: display_target(&list.target),
        names: list
            .names
            .iter()
            .skip(page * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|n| clean(n, 64))
            .collect(),
        page,
        page_count,
        total_names: total,
        online: list.online,
        max: list.max,
        source: list.source,
        freshness,
    }
}

fn players_reply(target: &Target, observed: Observed<Option<PlayerList>>, page: usize) -> Reply {
    let t = TargetRef::Server(target.clone());
    let status_button = Button::new(
        "📊 Status",
        &CallbackData::Status {
            target: t.clone(),
            refresh: false,
        },
    );
    let Some(list) = observed.value else {
        let shown = display_target(target);
        // A cached answer says how old it is, as a cached status card does.
        let as_of = match observed.freshness {
            Freshness::Live => String::new(),
            Freshness::Cached { age_ms } => format!(
                " (as of {} ago)",
                crate::watch::text::format_duration(std::time::Duration::from_millis(age_ms))
            ),
        };
        return Reply {
            view: View::Error(UserError::new(
                UserErrorKind::Offline,
                format!(
                    "{shown} did not answer{as_of}, so there is no player list. Try /status {shown} to see why."
                ),
            )),
            buttons: vec![vec![status_button]],
        };
    };
    let p = players_page(&list, observed.freshness, page);
    let mut nav = Vec::new();
    if p.page > 0 {
        nav.push(Button::new(
            "◀ Previous",
            &CallbackData::Players {
                target: t.clone(),
                page: p.page - 1,
                refresh: false,
            },
        ));
    }
    if p.page + 1 < p.page_count {
        nav.push(Button::new(
            "Next ▶",
            &CallbackData::Players {
                target: t.clone(),
                page: p.page + 1,
                refresh: false,
            },
        ));
    }
    let mut buttons = Vec::new();
    if !nav.is_empty() {
        buttons.push(nav);
    }
    buttons.push(vec![
        Button::new(
            "🔄 Refresh",
            &CallbackData::Players {
                target: t,
                page: p.page,
                refresh: true,
            },
        ),
        status_button,
    ]);
    Reply {
        view: View::Players(p),
        buttons,
    }
}
