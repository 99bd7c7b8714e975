//! Interaction in → what to do: a pure function ([`classify`]) that reads an
//! interaction and decides, without any I/O, whether it can be answered at once
//! (ping, help, expired buttons, permission refusals) or what the bot must do.

use std::time::Duration;

use mcstat_core::chat::{
    CallbackData, ChatRequest, Command, UserError, WatchCommand,
    split_players as core_split_players,
};
use mcstat_core::{ChatRef, Platform, Target, UserRef};
use serde_json::Value;

use crate::render::{COLOR_DEGRADED, COLOR_OFFLINE, CUSTOM_ID_PREFIX, PICK_ID, notice};
use crate::wire::{
    CommandOption, Interaction, InteractionKind, InteractionResponse, OPTION_SUBCOMMAND,
    response_type,
};

/// Discord's epoch (2015-01-01) in Unix milliseconds: snowflakes count from it.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// When a snowflake was made, in Unix milliseconds.
#[must_use]
pub fn snowflake_ms(id: &str) -> Option<u64> {
    id.parse::<u64>().ok().map(|v| (v >> 22) + DISCORD_EPOCH_MS)
}

/// What an interaction asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Answer with this at once; nothing else to do.
    Respond(InteractionResponse),
    /// A slash command for the chat service (`/status`, `/players`, `/help`, `/about`).
    Chat(ChatRequest),
    /// A button or a menu choice: core callback data to run in the chat.
    Callback {
        /// The channel.
        chat: ChatRef,
        /// Who pressed.
        user: UserRef,
        /// Core callback data (decoded successfully once already).
        data: String,
    },
    /// Autocomplete of an address.
    Autocomplete {
        /// The channel (its recent servers).
        chat: ChatRef,
        /// The guild (its recent servers), if any.
        guild: Option<String>,
        /// What the user typed so far.
        partial: String,
    },
    /// `/live start address` by a member who may manage the guild.
    LiveStart {
        /// The guild.
        guild: String,
        /// The channel to post in.
        channel: String,
        /// Who asked.
        user: UserRef,
        /// The address as typed.
        address: String,
    },
    /// A watch command (`/watch`, `/unwatch`, `/watches`, `/uptime`, `/graph`) for the
    /// channel; in a guild, `/watch` and `/unwatch` only from members who may manage it.
    Watch {
        /// The channel whose watches these are.
        chat: ChatRef,
        /// Who asked.
        user: UserRef,
        /// The command.
        command: WatchCommand,
    },
    /// `/live stop` by a member who may manage the guild.
    LiveStop {
        /// The guild.
        guild: String,
        /// The channel.
        channel: String,
        /// Who asked.
        user: UserRef,
    },
}

/// Settings of [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassifyOptions {
    /// Components on messages older than this have expired.
    pub component_ttl: Duration,
    /// Now, in Unix milliseconds.
    pub now_ms: u64,
}

fn ephemeral(text: &str, color: u32) -> Action {
    Action::Respond(InteractionResponse::message(
        response_type::CHANNEL_MESSAGE,
        &notice(text, color),
    ))
}

const EXPIRED: &str = "These buttons have expired. Run `/status` again for a fresh card.";

fn option_str(options: &[CommandOption], name: &str) -> Option<String> {
    options
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| o.value.as_ref())
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn option_int(options: &[CommandOption], name: &str) -> Option<i64> {
    options
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| o.value.as_ref())
        .and_then(Value::as_i64)
}

/// Decide what to do with an interaction. See the [module docs](self).
#[must_use]
pub fn classify(i: &Interaction, opts: ClassifyOptions) -> Action {
    if i.kind() == InteractionKind::Ping {
        return Action::Respond(InteractionResponse::pong());
    }
    let (Some(channel), Some(user)) = (i.channel_id.as_deref(), i.invoker()) else {
        return ephemeral("I can't tell where this came from.", COLOR_OFFLINE);
    };
    let (Ok(chat), Ok(user_ref)) = (
        ChatRef::new(Platform::Discord, channel),
        UserRef::new(Platform::Discord, user.id.as_str()),
    ) else {
        return ephemeral("I can't tell where this came from.", COLOR_OFFLINE);
    };
    let data = i.data.clone().unwrap_or_default();
    match i.kind() {
        InteractionKind::Command => {
            let name = data.name.as_deref().unwrap_or_default();
            let command = match name {
                "status" => Command::Status {
                    address: option_str(&data.options, "address"),
                },
                "players" => Command::Players {
                    address: option_str(&data.options, "address"),
                    page: option_int(&data.options, "page")
                        .and_then(|p| usize::try_from(p.saturating_sub(1)).ok())
                        .unwrap_or(0),
                },
                "help" => Command::Help,
                "about" => Command::About,
                "live" => return live(i, &data.options, channel, user_ref),
                "watch" | "unwatch" | "watches" | "uptime" | "graph" => {
                    return watch(i, name, &data.options, chat, user_ref);
                }
                _ => {
                    return ephemeral(
                        "I don't know that command (it may be from an older version). Try `/help`.",
                        COLOR_OFFLINE,
                    );
                }
            };
            Action::Chat(ChatRequest {
                chat,
                user: user_ref,
                command,
            })
        }
        InteractionKind::Component => {
            let created = i.message.as_ref().and_then(|m| snowflake_ms(&m.id));
            let ttl_ms = u64::try_from(opts.component_ttl.as_millis()).unwrap_or(u64::MAX);
            if created.is_some_and(|c| opts.now_ms.saturating_sub(c) > ttl_ms) {
                return ephemeral(EXPIRED, COLOR_DEGRADED);
            }
            let custom_id = data.custom_id.as_deref().unwrap_or_default();
            let core = if custom_id == PICK_ID {
                data.values
                    .first()
                    .and_then(|v| crate::render::pick_callback(v))
            } else {
                custom_id
                    .strip_prefix(CUSTOM_ID_PREFIX)
                    .filter(|d| CallbackData::decode(d).is_ok())
                    .map(str::to_owned)
            };
            match core {
                Some(data) => Action::Callback {
                    chat,
                    user: user_ref,
                    data,
                },
                None => ephemeral(EXPIRED, COLOR_DEGRADED),
            }
        }
        InteractionKind::Autocomplete => {
            let mut options = data.options;
            // `/live start address`: the focused option is inside the subcommand.
            while let Some(sub) = options
                .iter()
                .position(|o| o.kind == OPTION_SUBCOMMAND)
                .map(|n| options.swap_remove(n))
            {
                options = sub.options;
            }
            let partial = options
                .iter()
                .find(|o| o.focused)
                .and_then(|o| o.value.as_ref())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Action::Autocomplete {
                chat,
                guild: i.guild_id.clone(),
                partial,
            }
        }
        InteractionKind::Ping | InteractionKind::Other(_) => {
            ephemeral("I can't handle that kind of interaction.", COLOR_OFFLINE)
        }
    }
}

fn live(i: &Interaction, options: &[CommandOption], channel: &str, user: UserRef) -> Action {
    let Some(guild) = i.guild_id.clone() else {
        return ephemeral("Live status messages work in servers only.", COLOR_OFFLINE);
    };
    if !i.may_manage_guild() {
        return ephemeral(
            "Only members with the **Manage Server** permission can start or stop live status messages.",
            COLOR_OFFLINE,
        );
    }
    let channel = channel.to_owned();
    match options.first() {
        Some(sub) if sub.name == "start" => match option_str(&sub.options, "address") {
            Some(address) if !address.trim().is_empty() => Action::LiveStart {
                guild,
                channel,
                user,
                address,
            },
            _ => ephemeral(
                "Name the server: `/live start address:play.example.net`",
                COLOR_OFFLINE,
            ),
        },
        Some(sub) if sub.name == "stop" => Action::LiveStop {
            guild,
            channel,
            user,
        },
        _ => ephemeral("Use `/live start address` or `/live stop`.", COLOR_OFFLINE),
    }
}

/// Players as typed in `/watch`'s `players` option: separated by spaces or commas,
/// a name with spaces in double quotes (core's
/// [`split_players`](mcstat_core::chat::split_players)).
///
/// # Errors
/// The user error of an unclosed quote.
pub fn split_players(input: Option<&str>) -> Result<Vec<String>, UserError> {
    core_split_players(input.unwrap_or_default())
}

fn watch(
    i: &Interaction,
    name: &str,
    options: &[CommandOption],
    chat: ChatRef,
    user: UserRef,
) -> Action {
    let address = option_str(options, "address");
    let mut bad_players = None;
    let command = match name {
        "watch" => WatchCommand::Watch {
            address,
            players: split_players(option_str(options, "players").as_deref()).unwrap_or_else(|e| {
                bad_players = Some(e);
                Vec::new()
            }),
        },
        "unwatch" => WatchCommand::Unwatch { address },
        "watches" => WatchCommand::List,
        "uptime" => WatchCommand::Uptime { address },
        _ => WatchCommand::Graph {
            address,
            range: option_str(options, "range"),
        },
    };
    let changes = matches!(
        command,
        WatchCommand::Watch { .. } | WatchCommand::Unwatch { .. }
    );
    if changes && i.guild_id.is_some() && !i.may_manage_guild() {
        return ephemeral(
            "Only members with the **Manage Server** permission can start or stop watches in this server.",
            COLOR_OFFLINE,
        );
    }
    if let Some(e) = bad_players {
        return Action::Respond(InteractionResponse::message(
            response_type::CHANNEL_MESSAGE,
            &crate::watch::error_payload(&e),
        ));
    }
    Action::Watch {
        chat,
        user,
        command,
    }
}

/// Autocomplete choices: the recent servers containing `partial` (case-insensitive),
/// at most 25.
#[must_use]
pub fn autocomplete(recent: &[Target], partial: &str) -> InteractionResponse {
    let needle = partial.trim().to_lowercase();
    let mut seen = Vec::new();
    let choices: Vec<(String, String)> = recent
        .iter()
        .filter_map(|t| {
            let value = t.to_string();
            let shown = mcstat_core::chat::display_target(t);
            let matches = needle.is_empty()
                || value.to_lowercase().contains(&needle)
                || shown.to_lowercase().contains(&needle);
            (matches && value.len() <= 100 && !seen.contains(&value)).then(|| {
                seen.push(value.clone());
                (shown.chars().take(100).collect(), value)
            })
        })
        .take(25)
        .collect();
    InteractionResponse::choices(&choices)
}
