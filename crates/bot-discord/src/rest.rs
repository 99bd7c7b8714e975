//! A small Discord REST client for the endpoints this bot uses, with a configurable
//! base URL (tests point it at a fake Discord), rate-limit handling and retries.
//!
//! Why not serenity's `Http`: its rate limiter ignores the `proxy` base URL (it always
//! calls discord.com; serenity 0.12.5 `Ratelimiter::perform` builds with `None`), so
//! a proxied client runs without rate-limit handling, and its typed methods insist
//! on complete `Message` objects. This client:
//! - waits out a bucket whose `X-RateLimit-Remaining` reached 0 for
//!   `X-RateLimit-Reset-After` seconds, and after a 429 for `Retry-After` (per bucket,
//!   or for every request when `X-RateLimit-Global` is set);
//! - retries 5xx answers and connection failures with exponential backoff;
//! - gives every request a deadline, and never waits longer than
//!   [`RestConfig::max_rate_limit_wait`] for a rate limit (it fails instead).
//!
//! Buckets are keyed by route with its major parameter (channel, webhook token or
//! interaction), close to Discord's own bucketing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, USER_AGENT};
use serde_json::Value;
use tokio::time::Instant;

use crate::wire::{FileUpload, InteractionResponse, MessagePayload};

/// Where and how to call Discord.
#[derive(Clone)]
pub struct RestConfig {
    /// The API origin, `https://discord.com` (tests: the fake server's URL). Requests
    /// go to `{base_url}/api/v10/...`.
    pub base_url: String,
    /// The bot token (sent as `Authorization: Bot <token>`; never logged).
    pub token: String,
    /// The application id (for webhook and command routes).
    pub application_id: String,
    /// Deadline of one HTTP exchange.
    pub request_timeout: Duration,
    /// How many times a 5xx answer or a failed connection is retried.
    pub max_retries: u32,
    /// The wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// The longest rate-limit wait accepted; a longer one fails the request.
    pub max_rate_limit_wait: Duration,
}

impl std::fmt::Debug for RestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestConfig")
            .field("base_url", &self.base_url)
            .field("application_id", &self.application_id)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl RestConfig {
    /// Defaults for the real Discord: 10 s per request, 3 retries from 500 ms, rate
    /// limit waits up to 60 s.
    #[must_use]
    pub fn new(token: String, application_id: String) -> Self {
        Self {
            base_url: "https://discord.com".to_owned(),
            token,
            application_id,
            request_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_rate_limit_wait: Duration::from_secs(60),
        }
    }
}

/// Why a REST call failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Discord refused the request (4xx other than 429).
    #[error("Discord answered {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the answer body (Discord's JSON error).
        body: String,
    },
    /// 5xx answers or failed connections, also after the retries.
    #[error("Discord is unavailable after {attempts} attempts: {last}")]
    Unavailable {
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A rate limit longer than [`RestConfig::max_rate_limit_wait`].
    #[error("rate limited by Discord for {0:?}")]
    RateLimited(Duration),
    /// Discord answered 429 to a request sent [once](DiscordRest::create_message_once):
    /// the caller reschedules it.
    #[error("Discord answered 429: retry after {retry_after:?}{}", if *.global { " (global)" } else { "" })]
    TooManyRequests {
        /// Discord's `retry_after`.
        retry_after: Duration,
        /// Whether the limit is the bot's global one.
        global: bool,
    },
    /// An id or token with characters that cannot be part of a URL path.
    #[error("invalid id or token in a Discord route")]
    BadPath,
    /// The answer was not the JSON expected.
    #[error("unexpected answer from Discord: {0}")]
    BadAnswer(String),
}

impl RestError {
    /// Whether Discord said the resource does not exist (404), e.g. a deleted message.
    #[must_use]
    pub const fn is_not_found(&self) -> bool {
        matches!(self, Self::Refused { status: 404, .. })
    }
}

enum Body<'a> {
    Empty,
    Json(Vec<u8>),
    Multipart {
        payload_json: String,
        files: &'a [FileUpload],
    },
}

impl Body<'_> {
    fn for_payload<'a, T: serde::Serialize>(value: &T, files: &'a [FileUpload]) -> Body<'a> {
        if files.is_empty() {
            Body::Json(serde_json::to_vec(value).unwrap_or_default())
        } else {
            Body::Multipart {
                payload_json: serde_json::to_string(value).unwrap_or_default(),
                files,
            }
        }
    }
}

#[derive(Debug, Default)]
struct Limits {
    global_until: Option<Instant>,
    buckets: HashMap<String, Instant>,
}

/// The REST client. Cheap to share (`Arc`).
pub struct DiscordRest {
    client: reqwest::Client,
    config: RestConfig,
    limits: Mutex<Limits>,
}

impl std::fmt::Debug for DiscordRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordRest")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A path segment from an id or token: only `[A-Za-z0-9._-]`.
fn seg(s: &str) -> Result<&str, RestError> {
    if !s.is_empty()
        && s.len() <= 512
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Ok(s)
    } else {
        Err(RestError::BadPath)
    }
}

/// A stand-in for an interaction token in bucket names (they are logged; the token,
/// valid for 15 minutes, lets anyone answer as the bot).
fn token_digest(token: &str) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn header_secs(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(86_400.0)))
}

impl DiscordRest {
    /// A client with `config`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS setup).
    pub fn new(config: RestConfig) -> Result<Self, RestError> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| RestError::Unavailable {
                attempts: 0,
                last: e.to_string(),
            })?;
        Ok(Self {
            client,
            config,
            limits: Mutex::default(),
        })
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &RestConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/api/v10{path}",
            self.config.base_url.trim_end_matches('/')
        )
    }

    /// How long to wait before a request on `bucket` may go.
    fn wait_for(&self, bucket: &str) -> Option<Duration> {
        let limits = self
            .limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let until = [limits.global_until, limits.buckets.get(bucket).copied()]
            .into_iter()
            .flatten()
            .max()?;
        (until > now).then(|| until - now)
    }

    fn block(&self, bucket: Option<&str>, d: Duration) {
        let mut limits = self
            .limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = Instant::now() + d;
        match bucket {
            Some(b) => {
                limits.buckets.insert(b.to_owned(), until);
            }
            None => limits.global_until = Some(until),
        }
        if limits.buckets.len() > 4096 {
            let now = Instant::now();
            limits.buckets.retain(|_, t| *t > now);
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        bucket: &str,
        body: Body<'_>,
    ) -> Result<Vec<u8>, RestError> {
        self.send_with(method, path, bucket, body, false).await
    }

    /// `once`: no retries — a 429 is [`RestError::TooManyRequests`] and a 5xx or a
    /// failed connection [`RestError::Unavailable`] at once (the outbox's dispatcher
    /// paces and retries). A bucket known to be empty is still waited out first.
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        bucket: &str,
        body: Body<'_>,
        once: bool,
    ) -> Result<Vec<u8>, RestError> {
        let mut failures = 0u32;
        let mut limited = 0u32;
        loop {
            if let Some(wait) = self.wait_for(bucket) {
                if wait > self.config.max_rate_limit_wait {
                    return Err(RestError::RateLimited(wait));
                }
                tracing::debug!(bucket, ?wait, "waiting for a Discord rate limit");
                tokio::time::sleep(wait).await;
            }
            let mut req = self
                .client
                .request(method.clone(), self.url(path))
                .header(AUTHORIZATION, format!("Bot {}", self.config.token))
                .header(
                    USER_AGENT,
                    concat!(
                        "DiscordBot (https://github.com/mcstat/mcstat, ",
                        env!("CARGO_PKG_VERSION"),
                        ")"
                    ),
                );
            req = match &body {
                Body::Empty => req,
                Body::Json(bytes) => req
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.clone()),
                Body::Multipart {
                    payload_json,
                    files,
                } => {
                    let mut form = reqwest::multipart::Form::new().part(
                        "payload_json",
                        reqwest::multipart::Part::text(payload_json.clone())
                            .mime_str("application/json")
                            .map_err(|e| RestError::BadAnswer(e.to_string()))?,
                    );
                    for (n, file) in files.iter().enumerate() {
                        let part = reqwest::multipart::Part::bytes(file.bytes.clone())
                            .file_name(file.filename.clone())
                            .mime_str("image/png")
                            .map_err(|e| RestError::BadAnswer(e.to_string()))?;
                        form = form.part(format!("files[{n}]"), part);
                    }
                    req.multipart(form)
                }
            };
            let failure = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    if let (Some("0"), Some(reset)) = (
                        headers
                            .get("x-ratelimit-remaining")
                            .and_then(|v| v.to_str().ok()),
                        header_secs(&headers, "x-ratelimit-reset-after"),
                    ) {
                        self.block(Some(bucket), reset);
                    }
                    let bytes = resp.bytes().await.map(|b| b.to_vec());
                    if status.is_success() {
                        return bytes.map_err(|e| RestError::BadAnswer(e.to_string()));
                    }
                    let text = bytes
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(512)]).into_owned())
                        .unwrap_or_default();
                    if status.as_u16() == 429 {
                        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        let retry = header_secs(&headers, "retry-after")
                            .or_else(|| {
                                json["retry_after"]
                                    .as_f64()
                                    .filter(|v| v.is_finite() && *v >= 0.0)
                                    .map(|v| Duration::from_secs_f64(v.min(86_400.0)))
                            })
                            .unwrap_or(Duration::from_secs(1));
                        let global = headers.contains_key("x-ratelimit-global")
                            || json["global"].as_bool() == Some(true);
                        tracing::warn!(bucket, ?retry, global, "Discord rate limit hit (429)");
                        self.block((!global).then_some(bucket), retry);
                        if once {
                            return Err(RestError::TooManyRequests {
                                retry_after: retry,
                                global,
                            });
                        }
                        limited += 1;
                        if limited > 5 || retry > self.config.max_rate_limit_wait {
                            return Err(RestError::RateLimited(retry));
                        }
                        self.block((!global).then_some(bucket), retry);
                        continue;
                    }
                    if !status.is_server_error() {
                        return Err(RestError::Refused {
                            status: status.as_u16(),
                            body: text,
                        });
                    }
                    format!("HTTP {status}: {text}")
                }
                Err(e) => e.without_url().to_string(),
            };
            failures += 1;
            if once || failures > self.config.max_retries {
                return Err(RestError::Unavailable {
                    attempts: failures,
                    last: failure,
                });
            }
            let wait = self
                .config
                .backoff
                .saturating_mul(1 << (failures - 1).min(10));
            tracing::warn!(bucket, failures, ?wait, %failure, "Discord request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// `POST /interactions/{id}/{token}/callback`: answer an interaction.
    ///
    /// # Errors
    /// [`RestError`].
    pub async fn interaction_callback(
        &self,
        id: &str,
        token: &str,
        response: &InteractionResponse,
        files: &[FileUpload],
    ) -> Result<(), RestError> {
        let path = format!("/interactions/{}/{}/callback", seg(id)?, seg(token)?);
        self.send(
            Method::POST,
            &path,
            &format!("callback:{id}"),
            Body::for_payload(response, files),
        )
        .await
        .map(drop)
    }

    /// `PATCH /webhooks/{app}/{token}/messages/@original`: edit the interaction's reply
    /// (or, after a deferred update, the message the component is on).
    ///
    /// # Errors
    /// [`RestError`].
    pub async fn edit_original(
        &self,
        token: &str,
        payload: &MessagePayload,
    ) -> Result<(), RestError> {
        let path = format!(
            "/webhooks/{}/{}/messages/@original",
            seg(&self.config.application_id)?,
            seg(token)?
        );
        self.send(
            Method::PATCH,
            &path,
            &format!("webhook:{}", token_digest(token)),
            Body::for_payload(payload, &payload.files),
        )
        .await
        .map(drop)
    }

    /// `POST /channels/{channel}/messages`: post a message; returns its id.
    ///
    /// # Errors
    /// [`RestError`].
    pub async fn create_message(
        &self,
        channel: &str,
        payload: &MessagePayload,
    ) -> Result<String, RestError> {
        self.post_message(channel, payload, false).await
    }

    /// [`create_message`](Self::create_message) tried once, for the outbox: a 429 or a
    /// 5xx comes back at once ([`RestError::TooManyRequests`],
    /// [`RestError::Unavailable`]).
    ///
    /// # Errors
    /// [`RestError`].
    pub async fn create_message_once(
        &self,
        channel: &str,
        payload: &MessagePayload,
    ) -> Result<String, RestError> {
        self.post_message(channel, payload, true).await
    }

    /// `POST /channels/{channel}/messages`, retried or `once`; the new message's id.
    async fn post_message(
        &self,
        channel: &str,
        payload: &MessagePayload,
        once: bool,
    ) -> Result<String, RestError> {
        let path = format!("/channels/{}/messages", seg(channel)?);
        let bytes = self
            .send_with(
                Method::POST,
                &path,
                &format!("channel:{channel}"),
                Body::for_payload(payload, &payload.files),
                once,
            )
            .await?;
        let json: Value =
            serde_json::from_slice(&bytes).map_err(|e| RestError::BadAnswer(e.to_string()))?;
        json["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| RestError::BadAnswer("message without id".to_owned()))
    }

    /// `PATCH /channels/{channel}/messages/{message}`: edit a message of the bot.
    ///
    /// # Errors
    /// [`RestError`] ([`RestError::is_not_found`] when it was deleted).
    pub async fn edit_message(
        &self,
        channel: &str,
        message: &str,
        payload: &MessagePayload,
    ) -> Result<(), RestError> {
        let path = format!("/channels/{}/messages/{}", seg(channel)?, seg(message)?);
        self.send(
            Method::PATCH,
            &path,
            &format!("channel:{channel}"),
            Body::for_payload(payload, &payload.files),
        )
        .await
        .map(drop)
    }

    /// `DELETE /channels/{channel}/messages/{message}`.
    ///
    /// # Errors
    /// [`RestError`] ([`RestError::is_not_found`] when it was already gone).
    pub async fn delete_message(&self, channel: &str, message: &str) -> Result<(), RestError> {
        let path = format!("/channels/{}/messages/{}", seg(channel)?, seg(message)?);
        self.send(
            Method::DELETE,
            &path,
            &format!("channel-delete:{channel}"),
            Body::Empty,
        )
        .await
        .map(drop)
    }

    /// `PUT /applications/{app}/commands` (or `/guilds/{guild}/commands`): replace the
    /// registered slash commands.
    ///
    /// # Errors
    /// [`RestError`].
    pub async fn put_commands(
        &self,
        guild: Option<&str>,
        commands: &Value,
    ) -> Result<(), RestError> {
        let app = seg(&self.config.application_id)?;
        let path = match guild {
            Some(g) => format!("/applications/{app}/guilds/{}/commands", seg(g)?),
            None => format!("/applications/{app}/commands"),
        };
        self.send(
            Method::PUT,
            &path,
            "commands",
            Body::for_payload(commands, &[]),
        )
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_checked() {
        assert!(seg("123456789012345678").is_ok());
        assert!(seg("aW50ZXJhY3Rpb246MTIz.tok-en_1").is_ok());
        for bad in ["", "../x", "a/b", "a?b", "a b", "%2e"] {
            assert!(matches!(seg(bad), Err(RestError::BadPath)), "{bad}");
        }
    }

    #[test]
    fn rate_limit_headers_parse() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "1.5".parse().expect("header"));
        h.insert("x", "nan".parse().expect("header"));
        h.insert("y", "-1".parse().expect("header"));
        assert_eq!(
            header_secs(&h, "retry-after"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(header_secs(&h, "x"), None);
        assert_eq!(header_secs(&h, "y"), None);
        assert_eq!(header_secs(&h, "z"), None);
    }
}
