//! The bot: classify an interaction ([`crate::interact`]), answer what can be
//! answered at once, and do the rest after the answer (a deferred reply edited
//! through the REST API). Both the gateway and the HTTP endpoint call
//! [`Bot::dispatch`]; only the way the first answer travels differs.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use mcstat_core::chat::WatchCommand;
use mcstat_core::chat::{ChatRequest, Command, Reply, View};
use mcstat_core::outbox::Pacer;
use mcstat_core::ports::{AuditLog, ChartRenderer, ChatStore, Clock, WatchStore};
use mcstat_core::watch::WatchService;
use mcstat_core::{ChatRef, ChatService, Platform, Target, UserRef};

use crate::interact::{Action, ClassifyOptions, autocomplete, classify};
use crate::live::LiveMessages;
use crate::render::{RenderContext, render_reply};
use crate::rest::{DiscordRest, RestError};
use crate::wire::{Interaction, InteractionResponse, MessagePayload, response_type};

/// What the bot needs from the rest of the program.
#[derive(Clone)]
pub struct BotDeps {
    /// The chat commands.
    pub chat: Arc<ChatService>,
    /// Per-channel and per-guild state (recent servers).
    pub chats: Arc<dyn ChatStore>,
    /// Where live message records are kept (see [`crate::live`]).
    pub watches: Arc<dyn WatchStore>,
    /// The audit log of guild-wide changes.
    pub audit: Arc<dyn AuditLog>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Discord's REST API.
    pub rest: Arc<DiscordRest>,
    /// The watch commands (`None`: they answer that watching is not available).
    pub watch_service: Option<Arc<WatchService>>,
    /// Draws `/graph` charts (`None`: not available).
    pub charts: Option<Arc<dyn ChartRenderer>>,
    /// The outbox's pacer: turns within Discord's global limit, which notifications
    /// and live message edits share (`None`: live edits are not paced).
    pub pacer: Option<Arc<Pacer>>,
}

impl std::fmt::Debug for BotDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotDeps")
            .field("rest", &self.rest)
            .finish_non_exhaustive()
    }
}

/// Settings of the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotSettings {
    /// Buttons on messages older than this answer "expired".
    pub component_ttl: Duration,
    /// How often live messages are refreshed.
    pub live_interval: Duration,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            component_ttl: Duration::from_secs(24 * 3600),
            live_interval: Duration::from_secs(60),
        }
    }
}

/// The first answer to an interaction, and what to do once it is sent.
pub struct Dispatch {
    /// The answer (the HTTP response body, or the gateway's callback).
    pub response: InteractionResponse,
    /// Work to run after the answer was delivered (it edits the deferred reply).
    pub then: Option<BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch")
            .field("response", &self.response)
            .field("then", &self.then.is_some())
            .finish()
    }
}

/// The Discord bot.
pub struct Bot {
    deps: BotDeps,
    settings: BotSettings,
    live: Arc<LiveMessages>,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The chat reference under which a guild's recent servers are kept.
#[must_use]
pub fn guild_ref(guild: &str) -> Option<ChatRef> {
    ChatRef::new(Platform::Discord, format!("guild:{guild}")).ok()
}

fn reply_target(reply: &Reply) -> Option<&Target> {
    match &reply.view {
        View::Status(card) => Some(&card.target),
        View::Players(page) => Some(&page.target),
        _ => None,
    }
}

impl Bot {
    /// A bot over `deps`.
    #[must_use]
    pub fn new(deps: BotDeps, settings: BotSettings) -> Self {
        let mut live = LiveMessages::new(
            Arc::clone(&deps.chat),
            Arc::clone(&deps.watches),
            Arc::clone(&deps.audit),
            Arc::clone(&deps.clock),
            Arc::clone(&deps.rest),
            settings.live_interval,
        );
        if let Some(pacer) = &deps.pacer {
            live = live.with_pacer(Arc::clone(pacer));
        }
        Self {
            deps,
            settings,
            live: Arc::new(live),
        }
    }

    /// The live messages.
    #[must_use]
    pub const fn live(&self) -> &Arc<LiveMessages> {
        &self.live
    }

    /// The ports and services the bot uses.
    #[must_use]
    pub const fn deps(&self) -> &BotDeps {
        &self.deps
    }

    /// The REST client.
    #[must_use]
    pub const fn rest(&self) -> &Arc<DiscordRest> {
        &self.deps.rest
    }

    /// Decide the first answer to `i` and the work after it. Never fails: problems
    /// become friendly messages, and are logged.
    pub async fn dispatch(self: &Arc<Self>, i: Interaction) -> Dispatch {
        let action = classify(
            &i,
            ClassifyOptions {
                component_ttl: self.settings.component_ttl,
                now_ms: self.deps.clock.now().as_millis(),
            },
        );
        metrics::counter!("mcstat_discord_interactions_total", "kind" => kind_label(&action))
            .increment(1);
        let token = i.token.clone();
        let guild = i.guild_id.clone();
        match action {
            Action::Respond(response) => Dispatch {
                response,
                then: None,
            },
            Action::Chat(request) if matches!(request.command, Command::Help | Command::About) => {
                let reply = self.deps.chat.handle(request).await;
                let payload = render_reply(&reply, &RenderContext::default());
                Dispatch {
                    response: InteractionResponse::message(
                        response_type::CHANNEL_MESSAGE,
                        &payload,
                    ),
                    then: None,
                }
            }
            Action::Chat(request) => {
                let bot = Arc::clone(self);
                Dispatch {
                    response: InteractionResponse::deferred(
                        response_type::DEFERRED_CHANNEL_MESSAGE,
                        false,
                    ),
                    then: Some(Box::pin(async move {
                        bot.run_chat(&token, guild.as_deref(), request).await;
                    })),
                }
            }
            Action::Callback { chat, user, data } if data == "a" || data == "h" => {
                let reply = self.deps.chat.handle_callback(&chat, &user, &data).await;
                let payload = render_reply(&reply, &RenderContext::default());
                Dispatch {
                    response: InteractionResponse::message(response_type::UPDATE_MESSAGE, &payload),
                    then: None,
                }
            }
            Action::Callback { chat, user, data } => {
                let bot = Arc::clone(self);
                Dispatch {
                    response: InteractionResponse::deferred(
                        response_type::DEFERRED_UPDATE_MESSAGE,
                        false,
                    ),
                    then: Some(Box::pin(async move {
                        let reply = bot.deps.chat.handle_callback(&chat, &user, &data).await;
                        bot.finish(&token, guild.as_deref(), &chat, &reply).await;
                    })),
                }
            }
            Action::Autocomplete {
                chat,
                guild,
                partial,
            } => Dispatch {
                response: autocomplete(&self.recent(&chat, guild.as_deref()).await, &partial),
                then: None,
            },
            Action::LiveStart {
                guild,
                channel,
                user,
                address,
            } => {
                let bot = Arc::clone(self);
                Dispatch {
                    response: InteractionResponse::deferred(
                        response_type::DEFERRED_CHANNEL_MESSAGE,
                        true,
                    ),
                    then: Some(Box::pin(async move {
                        let notice = bot.live.start(&guild, &channel, &user, &address).await;
                        bot.edit_original(&token, &notice).await;
                    })),
                }
            }
            Action::Watch {
                chat,
                user,
                command,
            } => self.watch(token, chat, user, command).await,
            Action::LiveStop {
                guild,
                channel,
                user,
            } => {
                let bot = Arc::clone(self);
                Dispatch {
                    response: InteractionResponse::deferred(
                        response_type::DEFERRED_CHANNEL_MESSAGE,
                        true,
                    ),
                    then: Some(Box::pin(async move {
                        let notice = bot.live.stop(&guild, &channel, &user).await;
                        bot.edit_original(&token, &notice).await;
                    })),
                }
            }
        }
    }

    /// A watch command: `/graph` is deferred (drawing takes a while), the others are
    /// answered at once (their errors only to the invoker).
    async fn watch(
        self: &Arc<Self>,
        token: String,
        chat: ChatRef,
        user: UserRef,
        command: WatchCommand,
    ) -> Dispatch {
        let Some(service) = self.deps.watch_service.clone() else {
            return Dispatch {
                response: InteractionResponse::message(
                    response_type::CHANNEL_MESSAGE,
                    &crate::render::notice(
                        "Watching servers is not available in this bot. Try `/status`.",
                        crate::render::COLOR_DEGRADED,
                    ),
                ),
                then: None,
            };
        };
        if let WatchCommand::Graph { address, range } = command {
            let Some(charts) = self.deps.charts.clone() else {
                return Dispatch {
                    response: InteractionResponse::message(
                        response_type::CHANNEL_MESSAGE,
                        &crate::render::notice(
                            "Charts are not available in this bot. Try `/uptime`.",
                            crate::render::COLOR_DEGRADED,
                        ),
                    ),
                    then: None,
                };
            };
            // Typing mistakes are told at once, to the invoker only.
            let checked = mcstat_core::chat::watch::watch_target(address.as_deref(), "graph")
                .and_then(|_| mcstat_core::chat::watch::chart_range(range.as_deref()));
            if let Err(e) = checked {
                return Dispatch {
                    response: InteractionResponse::message(
                        response_type::CHANNEL_MESSAGE,
                        &crate::watch::error_payload(&e),
                    ),
                    then: None,
                };
            }
            let bot = Arc::clone(self);
            return Dispatch {
                response: InteractionResponse::deferred(
                    response_type::DEFERRED_CHANNEL_MESSAGE,
                    false,
                ),
                then: Some(Box::pin(async move {
                    let payload = crate::watch::graph(
                        &service,
                        &charts,
                        address.as_deref(),
                        range.as_deref(),
                    )
                    .await;
                    bot.edit_original(&token, &payload).await;
                })),
            };
        }
        let now = self.deps.clock.now();
        let answer = mcstat_core::chat::watch::answer(&service, &chat, &user, command, now).await;
        let payload = crate::watch::reply(&answer);
        Dispatch {
            response: InteractionResponse::message(response_type::CHANNEL_MESSAGE, &payload),
            then: None,
        }
    }

    async fn run_chat(&self, token: &str, guild: Option<&str>, request: ChatRequest) {
        let chat = request.chat.clone();
        let reply = self.deps.chat.handle(request).await;
        self.finish(token, guild, &chat, &reply).await;
    }

    /// Remember the server for the guild, render with the recent servers, edit the
    /// deferred reply.
    async fn finish(&self, token: &str, guild: Option<&str>, chat: &ChatRef, reply: &Reply) {
        if let (Some(target), Some(g)) = (reply_target(reply), guild.and_then(guild_ref)) {
            self.remember(&g, target).await;
        }
        let ctx = RenderContext {
            recent: self.recent(chat, guild).await,
        };
        self.edit_original(token, &render_reply(reply, &ctx)).await;
    }

    async fn remember(&self, chat: &ChatRef, target: &Target) {
        match self.deps.chats.chat(chat).await {
            Ok(state) => {
                let mut state = state.unwrap_or_default();
                if state.recent.first() == Some(target) {
                    return;
                }
                state.remember(target);
                if let Err(e) = self.deps.chats.put_chat(chat, &state).await {
                    tracing::warn!(%chat, error = %e, "cannot store the guild's recent servers");
                }
            }
            Err(e) => tracing::warn!(%chat, error = %e, "cannot read the guild's recent servers"),
        }
    }

    /// The recent servers: the guild's (if in a guild), then the channel's.
    async fn recent(&self, chat: &ChatRef, guild: Option<&str>) -> Vec<Target> {
        let mut out: Vec<Target> = Vec::new();
        for c in guild
            .and_then(guild_ref)
            .iter()
            .chain(std::iter::once(chat))
        {
            if let Ok(Some(state)) = self.deps.chats.chat(c).await {
                for t in state.recent {
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
            }
        }
        out
    }

    /// Edit the deferred reply. Right after the first answer Discord may not know the
    /// reply yet (404): retried a few times.
    async fn edit_original(&self, token: &str, payload: &MessagePayload) {
        for attempt in 0..4u32 {
            match self.deps.rest.edit_original(token, payload).await {
                Ok(()) => return,
                Err(e) if e.is_not_found() && attempt < 3 => {
                    tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                }
                Err(e) => {
                    log_rest_error("editing an interaction reply", &e);
                    return;
                }
            }
        }
    }
}

/// Log a failed REST call (once, with its cause).
pub fn log_rest_error(what: &str, e: &RestError) {
    metrics::counter!("mcstat_discord_rest_errors_total").increment(1);
    tracing::warn!(error = %e, "Discord REST call failed: {what}");
}

const fn kind_label(action: &Action) -> &'static str {
    match action {
        Action::Respond(_) => "immediate",
        Action::Chat(_) => "command",
        Action::Callback { .. } => "component",
        Action::Autocomplete { .. } => "autocomplete",
        Action::LiveStart { .. } | Action::LiveStop { .. } => "live",
        Action::Watch { .. } => "watch",
    }
}

/// The user the bot acts as for a live message's lookups (its own rate-limit bucket).
#[must_use]
pub fn bot_user(id: &str) -> Option<UserRef> {
    UserRef::new(Platform::Discord, format!("bot:{id}")).ok()
}
