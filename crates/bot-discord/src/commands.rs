//! The slash commands: the table `/help` shows and the JSON registered with Discord.

use serde_json::{Value, json};

use crate::wire::PERM_MANAGE_GUILD;

/// One slash command as `/help` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscordCommand {
    /// Name without slash.
    pub name: &'static str,
    /// Arguments in usage form, with a leading space (` [address]`).
    pub usage: &'static str,
    /// One line (at most 100 characters).
    pub description: &'static str,
}

/// Every command, in `/help` order.
pub const DISCORD_COMMANDS: &[DiscordCommand] = &[
    DiscordCommand {
        name: "status",
        usage: " [address]",
        description: "Is a server online: MOTD, version, players, latency (last server if none given)",
    },
    DiscordCommand {
        name: "players",
        usage: " [address] [page]",
        description: "Who is online on a server (last server if none given)",
    },
    DiscordCommand {
        name: "live start",
        usage: " address",
        description: "Post a status message here that keeps itself up to date (Manage Server)",
    },
    DiscordCommand {
        name: "live stop",
        usage: "",
        description: "Remove this channel's live status message (Manage Server)",
    },
    DiscordCommand {
        name: "watch",
        usage: " address [players]",
        description: "Tell this channel when a server goes down or comes back (Manage Server in servers)",
    },
    DiscordCommand {
        name: "unwatch",
        usage: " address",
        description: "Stop watching a server in this channel (Manage Server in servers)",
    },
    DiscordCommand {
        name: "watches",
        usage: "",
        description: "The servers this channel watches, their state and 24 h uptime",
    },
    DiscordCommand {
        name: "uptime",
        usage: " address",
        description: "Uptime over 24 h, 7 d, 30 d, 90 d and 1 y, and the last outages",
    },
    DiscordCommand {
        name: "graph",
        usage: " address [range]",
        description: "A chart of players, latency and outages (24h, 7d, 30d, 90d or 1y)",
    },
    DiscordCommand {
        name: "help",
        usage: "",
        description: "Every command and how to write an address",
    },
    DiscordCommand {
        name: "about",
        usage: "",
        description: "What this bot is and where its code lives",
    },
];

fn address_option(required: bool) -> Value {
    json!({
        "type": 3,
        "name": "address",
        "description": "host or host:port; bedrock:host for Bedrock",
        "required": required,
        "autocomplete": true,
        "max_length": 300,
    })
}

/// The application commands, for `PUT /applications/{id}/commands` (bulk overwrite).
#[must_use]
pub fn registration() -> Value {
    let desc = |name: &str| {
        DISCORD_COMMANDS
            .iter()
            .find(|c| c.name == name)
            .map_or("", |c| c.description)
    };
    json!([
        {
            "name": "status", "type": 1, "description": desc("status"),
            "options": [address_option(false)],
        },
        {
            "name": "players", "type": 1, "description": desc("players"),
            "options": [
                address_option(false),
                {"type": 4, "name": "page", "description": "page number, from 1",
                 "required": false, "min_value": 1, "max_value": 99_999},
            ],
        },
        {
            "name": "live", "type": 1,
            "description": "A status message in this channel that keeps itself up to date",
            "default_member_permissions": PERM_MANAGE_GUILD.to_string(),
            "contexts": [0],
            "options": [
                {"type": 1, "name": "start", "description": desc("live start"),
                 "options": [address_option(true)]},
                {"type": 1, "name": "stop", "description": desc("live stop")},
            ],
        },
        {
            "name": "watch", "type": 1, "description": desc("watch"),
            "options": [
                address_option(true),
                {"type": 3, "name": "players", "required": false, "max_length": 400,
                 "description": "players to follow (joins and leaves), separated by spaces; \"Steve Smith\" in quotes"},
            ],
        },
        {
            "name": "unwatch", "type": 1, "description": desc("unwatch"),
            "options": [address_option(true)],
        },
        {"name": "watches", "type": 1, "description": desc("watches")},
        {
            "name": "uptime", "type": 1, "description": desc("uptime"),
            "options": [address_option(true)],
        },
        {
            "name": "graph", "type": 1, "description": desc("graph"),
            "options": [
                address_option(true),
                {"type": 3, "name": "range", "description": "how far back (24h by default)",
                 "required": false,
                 "choices": [
                    {"name": "24 hours", "value": "24h"},
                    {"name": "7 days", "value": "7d"},
                    {"name": "30 days", "value": "30d"},
                    {"name": "90 days", "value": "90d"},
                    {"name": "1 year", "value": "1y"},
                 ]},
            ],
        },
        {"name": "help", "type": 1, "description": desc("help")},
        {"name": "about", "type": 1, "description": desc("about")},
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_respects_discord_limits() {
        let cmds = registration();
        let list = cmds.as_array().expect("array");
        assert_eq!(list.len(), 10);
        fn check(v: &Value) {
            let name = v["name"].as_str().expect("name");
            assert!(
                (1..=32).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_'),
                "{name}"
            );
            let d = v["description"].as_str().expect("description");
            assert!((1..=100).contains(&d.chars().count()), "{name}: {d}");
            for o in v["options"].as_array().into_iter().flatten() {
                check(o);
            }
        }
        list.iter().for_each(check);
    }
}
