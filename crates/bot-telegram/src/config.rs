//! The Telegram bot's own settings (the shared ones are
//! [`mcstat_service::ServiceConfig`]). Same sources: the optional TOML file, then
//! `MCSTAT_*` environment variables; the token may also come from `TELOXIDE_TOKEN`.
//!
//! | key | environment | default | meaning |
//! |---|---|---|---|
//! | `telegram_token` | `MCSTAT_TELEGRAM_TOKEN` or `TELOXIDE_TOKEN` | — (required) | the bot token from @BotFather |
//! | `telegram_api_url` | `MCSTAT_TELEGRAM_API_URL` | `https://api.telegram.org` | another Bot API server (a local one, or a fake in tests) |
//! | `telegram_mode` | `MCSTAT_TELEGRAM_MODE` | `polling` | `polling` or `webhook` |
//! | `telegram_webhook_url` | `MCSTAT_TELEGRAM_WEBHOOK_URL` | — | webhook mode: the public HTTPS URL Telegram posts to; its path is served on `MCSTAT_HTTP_ADDR` |
//! | `telegram_webhook_secret` | `MCSTAT_TELEGRAM_WEBHOOK_SECRET` | — | webhook mode: 1–256 characters `A-Z a-z 0-9 _ -`, checked on every request |
//! | `telegram_set_webhook` | `MCSTAT_TELEGRAM_SET_WEBHOOK` | `true` | webhook mode: call setWebhook at start (off when a deploy step does it) |
//! | `telegram_register_commands` | `MCSTAT_TELEGRAM_REGISTER_COMMANDS` | `true` | call setMyCommands at start |
//! | `telegram_icons` | `MCSTAT_TELEGRAM_ICONS` | `true` | send a status card with a server icon as a photo with the card as caption |
//! | `telegram_poll_timeout_secs` | `MCSTAT_TELEGRAM_POLL_TIMEOUT_SECS` | `10` | long-polling timeout (1–15: below the HTTP client's own timeout) |

use std::time::Duration;

use mcstat_service::Secret;
use mcstat_service::config::{ConfigError, ConfigSource};
use serde::Deserialize;
use url::Url;

/// How updates arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `getUpdates` long polling (default; needs no public address).
    #[default]
    Polling,
    /// Telegram posts updates to `telegram_webhook_url`.
    Webhook,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct Raw {
    telegram_token: Option<Secret>,
    telegram_api_url: Option<String>,
    telegram_mode: Mode,
    telegram_webhook_url: Option<String>,
    telegram_webhook_secret: Option<Secret>,
    telegram_set_webhook: bool,
    telegram_register_commands: bool,
    telegram_icons: bool,
    telegram_poll_timeout_secs: u64,
}

impl Default for Raw {
    fn default() -> Self {
        Self {
            telegram_token: None,
            telegram_api_url: None,
            telegram_mode: Mode::Polling,
            telegram_webhook_url: None,
            telegram_webhook_secret: None,
            telegram_set_webhook: true,
            telegram_register_commands: true,
            telegram_icons: true,
            telegram_poll_timeout_secs: 10,
        }
    }
}

/// Webhook settings (webhook mode only).
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The public URL Telegram posts to.
    pub url: Url,
    /// The path of that URL: the route served.
    pub path: String,
    /// The secret token Telegram sends in `X-Telegram-Bot-Api-Secret-Token`.
    pub secret: Secret,
    /// Whether to call setWebhook at start.
    pub set_webhook: bool,
}

/// The Telegram bot's settings, checked.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// The bot token.
    pub token: Secret,
    /// The Bot API server, when not Telegram's.
    pub api_url: Option<Url>,
    /// Webhook settings; `None` means long polling.
    pub webhook: Option<Webhook>,
    /// Whether to call setMyCommands at start.
    pub register_commands: bool,
    /// Whether to send server icons.
    pub icons: bool,
    /// Long-polling timeout.
    pub poll_timeout: Duration,
}

fn check(msg: impl Into<String>) -> ConfigError {
    ConfigError::Check(msg.into())
}

impl TelegramConfig {
    /// Read and check the settings; `teloxide_token` is the value of `TELOXIDE_TOKEN`
    /// (used when `MCSTAT_TELEGRAM_TOKEN` is not set).
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault.
    pub fn from_source(
        source: &ConfigSource,
        teloxide_token: Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: Raw = source.extract()?;
        let token = raw
            .telegram_token
            .or_else(|| teloxide_token.map(Secret::new))
            .ok_or_else(|| {
                check(
                    "no bot token: set MCSTAT_TELEGRAM_TOKEN (or TELOXIDE_TOKEN) to the token @BotFather gave you",
                )
            })?;
        if !is_token(token.expose()) {
            return Err(check(
                "MCSTAT_TELEGRAM_TOKEN does not look like a bot token (digits, a colon, then letters, digits, '_' or '-'; \
                 its value is not shown)",
            ));
        }
        let api_url = raw
            .telegram_api_url
            .map(|u| parse_http_url(&u, "MCSTAT_TELEGRAM_API_URL"))
            .transpose()?;
        if !(1..=15).contains(&raw.telegram_poll_timeout_secs) {
            return Err(check(format!(
                "MCSTAT_TELEGRAM_POLL_TIMEOUT_SECS is {} but must be between 1 and 15",
                raw.telegram_poll_timeout_secs
            )));
        }
        let webhook = match raw.telegram_mode {
            Mode::Polling => None,
            Mode::Webhook => {
                let url = raw.telegram_webhook_url.ok_or_else(|| {
                    check(
                        "MCSTAT_TELEGRAM_MODE=webhook needs MCSTAT_TELEGRAM_WEBHOOK_URL (the public https URL Telegram posts to)",
                    )
                })?;
                let url = parse_http_url(&url, "MCSTAT_TELEGRAM_WEBHOOK_URL")?;
                if url.scheme() != "https" && api_url.is_none() {
                    return Err(check(
                        "MCSTAT_TELEGRAM_WEBHOOK_URL must be https: Telegram posts only to https URLs",
                    ));
                }
                if url.as_str().contains(token.expose()) {
                    return Err(check(
                        "MCSTAT_TELEGRAM_WEBHOOK_URL contains the bot token: use a path without it \
                         (the secret token header protects the webhook)",
                    ));
                }
                if ["/healthz", "/readyz", "/metrics"].contains(&url.path()) {
                    return Err(check(format!(
                        "MCSTAT_TELEGRAM_WEBHOOK_URL's path {} is taken by the operations endpoints: use e.g. /telegram",
                        url.path()
                    )));
                }
                let secret = raw.telegram_webhook_secret.ok_or_else(|| {
                    check(
                        "MCSTAT_TELEGRAM_MODE=webhook needs MCSTAT_TELEGRAM_WEBHOOK_SECRET (1-256 characters A-Z a-z 0-9 _ -)",
                    )
                })?;
                let s = secret.expose();
                if s.is_empty()
                    || s.len() > 256
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(check(
                        "MCSTAT_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters A-Z a-z 0-9 _ - (Telegram's rule)",
                    ));
                }
                Some(Webhook {
                    path: url.path().to_owned(),
                    url,
                    secret,
                    set_webhook: raw.telegram_set_webhook,
                })
            }
        };
        Ok(Self {
            token,
            api_url,
            webhook,
            register_commands: raw.telegram_register_commands,
            icons: raw.telegram_icons,
            poll_timeout: Duration::from_secs(raw.telegram_poll_timeout_secs),
        })
    }
}

fn is_token(t: &str) -> bool {
    match t.split_once(':') {
        Some((id, rest)) => {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    }
}

fn parse_http_url(s: &str, var: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s.trim()).map_err(|e| check(format!("{var} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(check(format!("{var} must be an http(s) URL with a host")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<TelegramConfig, ConfigError> {
        TelegramConfig::from_source(&ConfigSource::from_toml(toml), None)
    }

    #[test]
    fn polling_by_default_with_a_valid_token() {
        let c = load(r#"telegram_token = "123456:ABC-def_ghi""#).expect("valid");
        assert!(c.webhook.is_none());
        assert!(c.register_commands);
        assert_eq!(c.poll_timeout, Duration::from_secs(10));
        assert_eq!(format!("{:?}", c.token), "Secret(***)");
    }

    #[test]
    fn token_may_come_from_teloxide_token() {
        let c = TelegramConfig::from_source(&ConfigSource::from_toml(""), Some("1:x".into()))
            .expect("valid");
        assert_eq!(c.token.expose(), "1:x");
    }

    #[test]
    fn missing_or_malformed_settings_say_what_to_set() {
        let e = load("").expect_err("no token");
        assert!(e.to_string().contains("MCSTAT_TELEGRAM_TOKEN"), "{e}");
        let e = load(r#"telegram_token = "hunter2 secret""#).expect_err("bad token");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = load(
            r#"telegram_token = "1:a"
            telegram_mode = "webhook""#,
        )
        .expect_err("no url");
        assert!(e.to_string().contains("MCSTAT_TELEGRAM_WEBHOOK_URL"), "{e}");
        let e = load(
            r#"telegram_token = "1:a"
            telegram_mode = "webhook"
            telegram_webhook_url = "https://bot.example.net/tg""#,
        )
        .expect_err("no secret");
        assert!(
            e.to_string().contains("MCSTAT_TELEGRAM_WEBHOOK_SECRET"),
            "{e}"
        );
        let e = load(
            r#"telegram_token = "1:a"
            telegram_mode = "webhook"
            telegram_webhook_secret = "s e c r e t"
            telegram_webhook_url = "https://bot.example.net/tg""#,
        )
        .expect_err("bad secret");
        assert!(e.to_string().contains("A-Z a-z 0-9"), "{e}");
        let e = load(
            r#"telegram_token = "1:abc"
            telegram_mode = "webhook"
            telegram_webhook_secret = "s3cret"
            telegram_webhook_url = "https://bot.example.net/1:abc""#,
        )
        .expect_err("token in url");
        assert!(e.to_string().contains("contains the bot token"), "{e}");
        let e = load(
            r#"telegram_token = "1:abc"
            telegram_mode = "webhook"
            telegram_webhook_secret = "s3cret"
            telegram_webhook_url = "http://bot.example.net/tg""#,
        )
        .expect_err("http");
        assert!(e.to_string().contains("https"), "{e}");
        let e = load(
            r#"telegram_token = "1:abc"
            telegram_mode = "webhook"
            telegram_webhook_secret = "s3cret"
            telegram_webhook_url = "https://bot.example.net/metrics""#,
        )
        .expect_err("path taken");
        assert!(e.to_string().contains("/metrics"), "{e}");
        let e = load(
            r#"telegram_token = "1:abc"
            telegram_mode = "carrier-pigeon""#,
        )
        .expect_err("mode");
        assert!(e.to_string().contains("carrier-pigeon"), "{e}");
    }

    #[test]
    fn webhook_settings_are_read() {
        let c = load(
            r#"telegram_token = "1:abc"
            telegram_mode = "webhook"
            telegram_webhook_secret = "s3cret_-"
            telegram_webhook_url = "https://bot.example.net/hooks/telegram""#,
        )
        .expect("valid");
        let w = c.webhook.expect("webhook");
        assert_eq!(w.path, "/hooks/telegram");
        assert_eq!(w.secret.expose(), "s3cret_-");
        assert!(w.set_webhook);
    }
}
