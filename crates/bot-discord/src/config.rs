//! The Discord bot's own settings, read from the same configuration source as the
//! shared ones ([`mcstat_service::ConfigSource`]): a TOML file and `MCSTAT_*`
//! environment variables.
//!
//! | key | environment | default | meaning |
//! |---|---|---|---|
//! | `discord_token` | `MCSTAT_DISCORD_TOKEN` | — (required) | the bot token |
//! | `discord_application_id` | `MCSTAT_DISCORD_APPLICATION_ID` | from the token | the application id |
//! | `discord_mode` | `MCSTAT_DISCORD_MODE` | `gateway` | `gateway` or `http` (interactions endpoint) |
//! | `discord_public_key` | `MCSTAT_DISCORD_PUBLIC_KEY` | — | the application's public key (hex); required by `http` |
//! | `discord_api_url` | `MCSTAT_DISCORD_API_URL` | `https://discord.com` | the REST API origin (tests point it at a fake) |
//! | `discord_guild_ids` | `MCSTAT_DISCORD_GUILD_IDS` | — | register commands in these guilds (instant) instead of globally |
//! | `discord_register_commands` | `MCSTAT_DISCORD_REGISTER_COMMANDS` | `true` | register the slash commands at start |
//! | `discord_live_interval_secs` | `MCSTAT_DISCORD_LIVE_INTERVAL_SECS` | `60` | how often live messages refresh |
//! | `discord_live_updates` | `MCSTAT_DISCORD_LIVE_UPDATES` | `true` | whether this process refreshes live messages (set `false` on all replicas but one) |
//! | `discord_component_ttl_secs` | `MCSTAT_DISCORD_COMPONENT_TTL_SECS` | `86400` | buttons on older messages answer "expired" |
//!
//! `http` mode serves `/interactions` on the shared `http_addr` (`MCSTAT_HTTP_ADDR`),
//! beside `/healthz`, `/readyz` and `/metrics`.

use std::time::Duration;

use base64::Engine as _;
use mcstat_service::{ConfigError, ConfigSource, Secret};
use serde::{Deserialize, Deserializer};

use crate::verify::PublicKey;

/// How interactions reach the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The gateway websocket (default; nothing to expose).
    #[default]
    Gateway,
    /// The HTTP interactions endpoint.
    Http,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
struct Raw {
    discord_token: Option<Secret>,
    #[serde(deserialize_with = "id_text")]
    discord_application_id: Option<String>,
    discord_mode: Mode,
    discord_public_key: Option<String>,
    discord_api_url: String,
    #[serde(deserialize_with = "id_list")]
    discord_guild_ids: Vec<String>,
    discord_register_commands: bool,
    discord_live_interval_secs: u64,
    discord_live_updates: bool,
    discord_component_ttl_secs: u64,
}

impl Default for Raw {
    fn default() -> Self {
        Self {
            discord_token: None,
            discord_application_id: None,
            discord_mode: Mode::Gateway,
            discord_public_key: None,
            discord_api_url: "https://discord.com".to_owned(),
            discord_guild_ids: Vec::new(),
            discord_register_commands: true,
            discord_live_interval_secs: 60,
            discord_live_updates: true,
            discord_component_ttl_secs: 86_400,
        }
    }
}

/// Ids may come as numbers (TOML) or text (environment).
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        N(u64),
        S(String),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::N(n) => n.to_string(),
        Id::S(s) => s.trim().to_owned(),
    }))
}

fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(u64),
        One(String),
        Many(Vec<serde_json::Value>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::N(n) => vec![n.to_string()],
        Raw::One(s) => s
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Raw::Many(v) => v
            .into_iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect(),
    })
}

/// The Discord bot's settings, validated.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// The bot token.
    pub token: Secret,
    /// The application id.
    pub application_id: String,
    /// Gateway or HTTP endpoint.
    pub mode: Mode,
    /// The public key (HTTP mode).
    pub public_key: Option<PublicKey>,
    /// The REST API origin.
    pub api_url: String,
    /// Guilds to register commands in (empty: globally).
    pub guild_ids: Vec<String>,
    /// Register the commands at start.
    pub register_commands: bool,
    /// Live message refresh interval.
    pub live_interval: Duration,
    /// Whether this process refreshes live messages.
    pub live_updates: bool,
    /// Component expiry.
    pub component_ttl: Duration,
}

fn check(msg: impl Into<String>) -> ConfigError {
    ConfigError::Check(msg.into())
}

fn is_snowflake(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The application id inside a bot token: its first part is the bot's user id in
/// base64 (for applications created since 2020 the same as the application id).
#[must_use]
pub fn application_id_from_token(token: &str) -> Option<String> {
    let first = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(first.trim_end_matches('='))
        .ok()?;
    let id = String::from_utf8(bytes).ok()?;
    is_snowflake(&id).then_some(id)
}

impl DiscordConfig {
    /// Read and check the settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable at fault.
    pub fn from_source(source: &ConfigSource) -> Result<Self, ConfigError> {
        let raw: Raw = source.extract()?;
        let token = raw
            .discord_token
            .filter(|t| !t.expose().trim().is_empty())
            .ok_or_else(|| {
                check(
                    "MCSTAT_DISCORD_TOKEN is not set: create a bot in the Discord developer portal \
                     (Applications → your app → Bot → Reset Token) and set its token",
                )
            })?;
        let application_id = match raw.discord_application_id {
            Some(id) if is_snowflake(&id) => id,
            Some(_) => {
                return Err(check(
                    "MCSTAT_DISCORD_APPLICATION_ID must be the numeric application id",
                ));
            }
            None => application_id_from_token(token.expose()).ok_or_else(|| {
                check(
                    "MCSTAT_DISCORD_APPLICATION_ID is not set and cannot be read from the token: \
                     set it (developer portal → General Information → Application ID)",
                )
            })?,
        };
        let public_key = match (&raw.discord_public_key, raw.discord_mode) {
            (Some(k), _) => Some(
                PublicKey::from_hex(k)
                    .map_err(|e| check(format!("MCSTAT_DISCORD_PUBLIC_KEY: {e}")))?,
            ),
            (None, Mode::Http) => {
                return Err(check(
                    "MCSTAT_DISCORD_MODE=http needs MCSTAT_DISCORD_PUBLIC_KEY \
                     (developer portal → General Information → Public Key)",
                ));
            }
            (None, Mode::Gateway) => None,
        };
        if !(raw.discord_api_url.starts_with("https://")
            || raw.discord_api_url.starts_with("http://"))
        {
            return Err(check(
                "MCSTAT_DISCORD_API_URL must start with https:// (or http:// for a local fake)",
            ));
        }
        if let Some(bad) = raw.discord_guild_ids.iter().find(|g| !is_snowflake(g)) {
            return Err(check(format!(
                "MCSTAT_DISCORD_GUILD_IDS: {bad:?} is not a guild id (numbers separated by commas)"
            )));
        }
        if raw.discord_live_interval_secs == 0 {
            return Err(check(
                "MCSTAT_DISCORD_LIVE_INTERVAL_SECS must be at least 1",
            ));
        }
        Ok(Self {
            token,
            application_id,
            mode: raw.discord_mode,
            public_key,
            api_url: raw.discord_api_url,
            guild_ids: raw.discord_guild_ids,
            register_commands: raw.discord_register_commands,
            live_interval: Duration::from_secs(raw.discord_live_interval_secs),
            live_updates: raw.discord_live_updates,
            component_ttl: Duration::from_secs(raw.discord_component_ttl_secs.max(60)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_required_and_app_id_comes_from_it() {
        let err = DiscordConfig::from_source(&ConfigSource::from_toml("")).expect_err("no token");
        assert!(err.to_string().contains("MCSTAT_DISCORD_TOKEN"), "{err}");
        // "MTIzNDU2Nzg5MDEyMzQ1Njc4" is base64 of "123456789012345678".
        let c = DiscordConfig::from_source(&ConfigSource::from_toml(
            r#"discord_token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx.secret""#,
        ))
        .expect("valid");
        assert_eq!(c.application_id, "123456789012345678");
        assert_eq!(c.mode, Mode::Gateway);
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn http_mode_needs_a_valid_public_key() {
        let err = DiscordConfig::from_source(&ConfigSource::from_toml(
            "discord_token = \"x\"\ndiscord_application_id = 1\ndiscord_mode = \"http\"",
        ))
        .expect_err("no key");
        assert!(
            err.to_string().contains("MCSTAT_DISCORD_PUBLIC_KEY"),
            "{err}"
        );
        let err = DiscordConfig::from_source(&ConfigSource::from_toml(
            "discord_token = \"x\"\ndiscord_application_id = 1\ndiscord_public_key = \"zz\"",
        ))
        .expect_err("bad key");
        assert!(
            err.to_string().contains("MCSTAT_DISCORD_PUBLIC_KEY"),
            "{err}"
        );
    }

    #[test]
    fn guild_ids_take_both_forms() {
        let c = DiscordConfig::from_source(&ConfigSource::from_toml(
            "discord_token = \"x\"\ndiscord_application_id = \"5\"\ndiscord_guild_ids = \"1, 2\"",
        ))
        .expect("valid");
        assert_eq!(c.guild_ids, ["1", "2"]);
        let err = DiscordConfig::from_source(&ConfigSource::from_toml(
            "discord_token = \"x\"\ndiscord_application_id = \"5\"\ndiscord_guild_ids = \"a\"",
        ))
        .expect_err("bad guild");
        assert!(
            err.to_string().contains("MCSTAT_DISCORD_GUILD_IDS"),
            "{err}"
        );
    }
}
