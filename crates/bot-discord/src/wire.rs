//! Discord's interaction wire format (API v10), as small serde structs: only the
//! fields this bot reads or writes.
//!
//! The same structs serve both ways of running: the HTTP interactions endpoint
//! deserialises the request body into [`Interaction`]; the gateway converts serenity's
//! model to JSON and back into [`Interaction`], so one pure code path handles both.
//! Unknown fields are ignored, so newer payloads still parse.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A snowflake id as Discord sends it (a decimal string).
pub type Snowflake = String;

/// `member.permissions` bit: Administrator (implies every permission).
pub const PERM_ADMINISTRATOR: u64 = 1 << 3;
/// `member.permissions` bit: Manage Guild.
pub const PERM_MANAGE_GUILD: u64 = 1 << 5;

/// Message flag: only the user who invoked the interaction sees the message.
pub const FLAG_EPHEMERAL: u64 = 1 << 6;

/// Interaction type numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionKind {
    /// 1: Discord checks the endpoint.
    Ping,
    /// 2: a slash command.
    Command,
    /// 3: a button or select menu.
    Component,
    /// 4: the user is typing an option that has autocomplete.
    Autocomplete,
    /// 5 (modal submit) or a type this bot does not know.
    Other(u8),
}

impl From<u8> for InteractionKind {
    fn from(n: u8) -> Self {
        match n {
            1 => Self::Ping,
            2 => Self::Command,
            3 => Self::Component,
            4 => Self::Autocomplete,
            n => Self::Other(n),
        }
    }
}

/// An incoming interaction.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Interaction {
    /// The interaction's id (for the callback URL).
    #[serde(default)]
    pub id: Snowflake,
    /// The application it is for.
    #[serde(default)]
    pub application_id: Snowflake,
    /// The interaction type number (see [`InteractionKind`]).
    #[serde(rename = "type")]
    pub kind: u8,
    /// The command, component or autocomplete data.
    #[serde(default)]
    pub data: Option<InteractionData>,
    /// The guild, when invoked in one.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// The channel it was invoked in.
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    /// The guild member who invoked it (in a guild).
    #[serde(default)]
    pub member: Option<Member>,
    /// The user who invoked it (in a DM).
    #[serde(default)]
    pub user: Option<User>,
    /// The continuation token (for the callback and follow-ups; valid 15 minutes).
    #[serde(default)]
    pub token: String,
    /// For components: the message the component is on.
    #[serde(default)]
    pub message: Option<MessageRef>,
}

impl Interaction {
    /// The interaction type.
    #[must_use]
    pub fn kind(&self) -> InteractionKind {
        self.kind.into()
    }

    /// Whoever invoked it: the member's user in a guild, the user in a DM.
    #[must_use]
    pub fn invoker(&self) -> Option<&User> {
        self.member
            .as_ref()
            .and_then(|m| m.user.as_ref())
            .or(self.user.as_ref())
    }

    /// The member's permissions bit set (`0` outside a guild or when unreadable).
    #[must_use]
    pub fn member_permissions(&self) -> u64 {
        self.member
            .as_ref()
            .and_then(|m| m.permissions.as_deref())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the member may manage the guild (Manage Guild or Administrator).
    #[must_use]
    pub fn may_manage_guild(&self) -> bool {
        self.guild_id.is_some()
            && self.member_permissions() & (PERM_MANAGE_GUILD | PERM_ADMINISTRATOR) != 0
    }
}

/// A guild member (partial).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Member {
    /// The user.
    #[serde(default)]
    pub user: Option<User>,
    /// The member's permissions in the channel, as a decimal bit set.
    #[serde(default)]
    pub permissions: Option<String>,
}

/// A user (partial).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    /// The user id.
    pub id: Snowflake,
    /// The user name.
    #[serde(default)]
    pub username: String,
}

/// The message a component is attached to (partial).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct MessageRef {
    /// The message id.
    pub id: Snowflake,
    /// Its channel.
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
}

/// Command, component or autocomplete data. Fields of the other kinds are absent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct InteractionData {
    /// Command: its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Command / autocomplete: the options the user filled in.
    #[serde(default)]
    pub options: Vec<CommandOption>,
    /// Component: its custom id.
    #[serde(default)]
    pub custom_id: Option<String>,
    /// Component: 2 button, 3 string select.
    #[serde(default)]
    pub component_type: Option<u8>,
    /// Select menu: the chosen values.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A filled-in option (or a subcommand with its own options).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct CommandOption {
    /// Its name.
    pub name: String,
    /// Option type: 1 subcommand, 3 string, 4 integer, ...
    #[serde(rename = "type", default)]
    pub kind: u8,
    /// The value (string, number or boolean).
    #[serde(default)]
    pub value: Option<Value>,
    /// A subcommand's options.
    #[serde(default)]
    pub options: Vec<Self>,
    /// Autocomplete: whether this is the option being typed.
    #[serde(default)]
    pub focused: bool,
}

/// Option type number: subcommand.
pub const OPTION_SUBCOMMAND: u8 = 1;
/// Option type number: string.
pub const OPTION_STRING: u8 = 3;
/// Option type number: integer.
pub const OPTION_INTEGER: u8 = 4;

/// Interaction response type numbers.
pub mod response_type {
    /// ACK a ping.
    pub const PONG: u8 = 1;
    /// Reply with a message.
    pub const CHANNEL_MESSAGE: u8 = 4;
    /// ACK now, edit the reply later ("Bot is thinking...").
    pub const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
    /// Components: ACK now, edit the message later.
    pub const DEFERRED_UPDATE_MESSAGE: u8 = 6;
    /// Components: edit the message the component is on.
    pub const UPDATE_MESSAGE: u8 = 7;
    /// Autocomplete suggestions.
    pub const AUTOCOMPLETE_RESULT: u8 = 8;
}

/// The answer to an interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionResponse {
    /// See [`response_type`].
    #[serde(rename = "type")]
    pub kind: u8,
    /// The message (types 4, 7), flags (5) or choices (8).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data: Option<Value>,
}

impl InteractionResponse {
    /// PONG.
    #[must_use]
    pub const fn pong() -> Self {
        Self {
            kind: response_type::PONG,
            data: None,
        }
    }

    /// A response of `kind` carrying `message`.
    #[must_use]
    pub fn message(kind: u8, message: &MessagePayload) -> Self {
        Self {
            kind,
            data: serde_json::to_value(message).ok(),
        }
    }

    /// A deferred response (5 or 6), optionally ephemeral.
    #[must_use]
    pub fn deferred(kind: u8, ephemeral: bool) -> Self {
        Self {
            kind,
            data: ephemeral.then(|| serde_json::json!({ "flags": FLAG_EPHEMERAL })),
        }
    }

    /// Autocomplete choices (`name`, `value` pairs; Discord shows at most 25).
    #[must_use]
    pub fn choices(choices: &[(String, String)]) -> Self {
        let list: Vec<Value> = choices
            .iter()
            .take(25)
            .map(|(name, value)| serde_json::json!({ "name": name, "value": value }))
            .collect();
        Self {
            kind: response_type::AUTOCOMPLETE_RESULT,
            data: Some(serde_json::json!({ "choices": list })),
        }
    }
}

/// A message to create or edit: the JSON part, plus files uploaded beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagePayload {
    /// Plain text above the embeds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content: Option<String>,
    /// The embeds (one, here).
    #[serde(default)]
    pub embeds: Vec<Embed>,
    /// Action rows.
    #[serde(default)]
    pub components: Vec<Value>,
    /// Which attachments the message keeps: the files uploaded with it
    /// (`{"id": n, "filename": ...}`). Always sent, so an edit without an icon drops
    /// the old one.
    #[serde(default)]
    pub attachments: Vec<Value>,
    /// Message flags ([`FLAG_EPHEMERAL`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub flags: Option<u64>,
    /// Never ping anyone (server-controlled text could contain `@everyone`).
    #[serde(default = "no_mentions")]
    pub allowed_mentions: Value,
    /// Files to upload (`files[n]` parts of a multipart request), not serialised.
    #[serde(skip)]
    pub files: Vec<FileUpload>,
}

impl Default for MessagePayload {
    fn default() -> Self {
        Self {
            content: None,
            embeds: Vec::new(),
            components: Vec::new(),
            attachments: Vec::new(),
            flags: None,
            allowed_mentions: no_mentions(),
            files: Vec::new(),
        }
    }
}

fn no_mentions() -> Value {
    serde_json::json!({ "parse": [] })
}

/// A file uploaded with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpload {
    /// The file name (`icon.png`), referenced as `attachment://icon.png`.
    pub filename: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// An embed (the fields this bot uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embed {
    /// Title (at most 256 characters).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    /// Description (at most 4096 characters).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    /// Link of the title.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// The stripe colour, `0xRRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub color: Option<u32>,
    /// Fields (at most 25).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
    /// The thumbnail (`attachment://icon.png`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thumbnail: Option<EmbedImage>,
    /// The footer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub footer: Option<EmbedFooter>,
}

/// An embed field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedField {
    /// Name (at most 256 characters).
    pub name: String,
    /// Value (at most 1024 characters).
    pub value: String,
    /// Shown side by side with other inline fields.
    #[serde(default)]
    pub inline: bool,
}

/// An embed image or thumbnail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedImage {
    /// Its URL (`attachment://icon.png` for an uploaded file).
    pub url: String,
}

/// An embed footer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedFooter {
    /// Its text (at most 2048 characters).
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_command_interaction_parses() {
        // The shape of Discord's documented example, trimmed.
        let json = r#"{
            "type": 2, "token": "tok", "id": "786008729715212338",
            "application_id": "775799577604522054", "guild_id": "290926798626357999",
            "channel_id": "645027906669510667", "version": 1, "locale": "en-US",
            "member": {"user": {"id": "53908232506183680", "username": "Mason",
                "avatar": null, "discriminator": "0"}, "roles": [],
                "permissions": "2147483647", "nick": null},
            "data": {"id": "771825006014889984", "name": "status", "type": 1,
                "options": [{"type": 3, "name": "address", "value": "mc.example.net"}]}
        }"#;
        let i: Interaction = serde_json::from_str(json).expect("parses");
        assert_eq!(i.kind(), InteractionKind::Command);
        assert_eq!(
            i.invoker().map(|u| u.id.as_str()),
            Some("53908232506183680")
        );
        assert!(i.may_manage_guild());
        let data = i.data.expect("data");
        assert_eq!(data.name.as_deref(), Some("status"));
        assert_eq!(data.options[0].value, Some(Value::from("mc.example.net")));
    }

    #[test]
    fn manage_guild_needs_the_bit_and_a_guild() {
        let mut i = Interaction {
            kind: 2,
            guild_id: Some("1".into()),
            member: Some(Member {
                user: None,
                permissions: Some((1u64 << 11).to_string()),
            }),
            ..Interaction::default()
        };
        assert!(!i.may_manage_guild());
        i.member = Some(Member {
            user: None,
            permissions: Some(PERM_MANAGE_GUILD.to_string()),
        });
        assert!(i.may_manage_guild());
        i.guild_id = None;
        assert!(!i.may_manage_guild());
    }

    #[test]
    fn payload_never_pings_and_keeps_attachments_explicit() {
        let json = serde_json::to_value(MessagePayload::default()).expect("ser");
        assert_eq!(json["allowed_mentions"], serde_json::json!({"parse": []}));
        assert_eq!(json["attachments"], serde_json::json!([]));
    }
}
