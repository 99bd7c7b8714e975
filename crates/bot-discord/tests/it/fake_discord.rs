//! A fake Discord REST API, written from Discord's documentation, for the endpoints
//! the bot uses. It records every request (method, path, JSON payload — from the body
//! or the multipart `payload_json` part — uploaded files, and the status answered) and
//! keeps the messages of channels so that edits and deletes of unknown messages answer
//! 404 like Discord (`{"code": 10008, "message": "Unknown Message"}`).
//!
//! **Rate limits** (<https://discord.com/developers/docs/topics/rate-limits>) are
//! enforced by default with Discord's values ([`RateLimits::discord`]; tests that
//! must burst start with [`FakeDiscord::start_with`]`(`[`RateLimits::off`]`)`):
//! - global: 50 requests in any 1 s (sliding window) per bot token, interaction
//!   routes (`/interactions/...`, `/webhooks/{app}/{token}...`) excepted. Over it:
//!   429, `Retry-After` (whole seconds, rounded up), `X-RateLimit-Global: true`,
//!   `X-RateLimit-Scope: global`, `{"message": "You are being rate limited.",
//!   "retry_after": <float>, "global": true}`;
//! - `POST /channels/{channel}/messages`: 5 per 5 s per channel (the bucket's window
//!   starts at its first request and resets 5 s later). Every answer on the route
//!   carries `X-RateLimit-Limit`, `-Remaining`, `-Reset` (epoch seconds), `-Reset-After`
//!   (seconds) and `-Bucket`; over it: 429 with `X-RateLimit-Scope: user` and
//!   `"global": false`.
//!
//! A request refused by a limit does not count towards it; [`Counters::max_per_second`]
//! counts every non-interaction request that arrived, refused or not, so a test can
//! tell how fast the bot really sent. Every 401, 403 and 429 answered counts as
//! invalid ([`Counters::invalid`]; Discord bans an IP at 10,000 in 10 minutes).
//! Requests to non-interaction routes without `Authorization: Bot …` answer 401.
//!
//! Message payloads are checked against Discord's documented limits (content ≤
//! 2000 characters, ≤ 10 embeds, title ≤ 256, description ≤ 4096, ≤ 25 fields, field
//! name ≤ 256 and value ≤ 1024, footer ≤ 2048, author ≤ 256, all embed text ≤ 6000):
//! over one, 400 `{"code": 50035, "message": "Invalid Form Body", "errors": …}`. A
//! refused request stores nothing.
//!
//! Failures can be scripted: [`FakeDiscord::fail_next`] makes the next requests on a
//! path prefix answer a given status (e.g. 500, or 429 with `Retry-After`) once they
//! passed the rate limits.
//!
//! Endpoints (all under `/api/v10`):
//! - `POST /interactions/{id}/{token}/callback` → 204
//! - `PATCH /webhooks/{app}/{token}/messages/@original` → 200 message
//! - `POST /channels/{channel}/messages` → 200 message with a new id
//! - `PATCH /channels/{channel}/messages/{id}` → 200 message, 404 if unknown
//! - `DELETE /channels/{channel}/messages/{id}` → 204, 404 if unknown
//! - `PUT /applications/{app}/commands`, `PUT /applications/{app}/guilds/{g}/commands` → 200

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// One request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: Method,
    /// Path without `/api/v10`.
    pub(crate) path: String,
    /// The `Authorization` header.
    pub(crate) auth: Option<String>,
    /// The JSON payload (`Value::Null` when none).
    pub(crate) json: Value,
    /// Uploaded files: (part name, file name, bytes).
    pub(crate) files: Vec<(String, String, Vec<u8>)>,
    /// The status the fake answered.
    pub(crate) status: u16,
}

/// The rate limits the fake enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimits {
    /// Requests in any second per bot token, interaction routes excepted (`None`:
    /// unlimited).
    pub(crate) global_per_sec: Option<u32>,
    /// `POST /channels/{channel}/messages`: this many per window per channel
    /// (`None`: unlimited).
    pub(crate) channel_messages: Option<(u32, Duration)>,
}

impl RateLimits {
    /// Discord's documented values: 50 requests a second, 5 messages per 5 s per
    /// channel.
    pub(crate) const fn discord() -> Self {
        Self {
            global_per_sec: Some(50),
            channel_messages: Some((5, Duration::from_secs(5))),
        }
    }

    /// No rate limits (the counters still count).
    pub(crate) const fn off() -> Self {
        Self {
            global_per_sec: None,
            channel_messages: None,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::discord()
    }
}

/// What the fake counted since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Every request.
    pub(crate) requests: u64,
    /// 429s answered (rate limits and scripted ones).
    pub(crate) too_many: u64,
    /// Of those, the global limit's.
    pub(crate) too_many_global: u64,
    /// 401, 403 and 429 answered: Discord's invalid requests.
    pub(crate) invalid: u64,
    /// The most non-interaction requests that arrived within any 1 s (refused ones
    /// too).
    pub(crate) max_per_second: usize,
}

#[derive(Debug, Clone)]
struct Failure {
    prefix: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

/// One channel's `POST .../messages` bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// The window's first request.
    start: Instant,
    /// Requests let through in the window.
    used: u32,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Recorded>,
    /// channel → message id → last payload.
    messages: HashMap<String, HashMap<String, Value>>,
    failures: VecDeque<Failure>,
    next_id: u64,
    limits: RateLimits,
    /// Per bot token: when each request let through in the last second came.
    global: HashMap<String, VecDeque<Instant>>,
    /// Every non-interaction request of the last second, refused or not.
    arrivals: VecDeque<Instant>,
    /// Per channel: the message bucket.
    buckets: HashMap<String, Bucket>,
    counters: Counters,
}

/// The fake server's state, shared with the test.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeDiscord {
    inner: Arc<Mutex<Inner>>,
}

/// The opaque `X-RateLimit-Bucket` of `POST /channels/{channel}/messages` (the same
/// for every channel: the major parameter is not part of it).
const MESSAGES_BUCKET: &str = "80c17d2f203122d936070c88c8d10f33";

const SECOND: Duration = Duration::from_secs(1);

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn header(resp: &mut Response, name: &str, value: &str) {
    resp.headers_mut().insert(
        HeaderName::from_bytes(name.as_bytes()).expect("header name"),
        HeaderValue::from_str(value).expect("header value"),
    );
}

/// Discord's 429: `Retry-After` in whole seconds (rounded up), the exact wait in
/// the body.
fn too_many(retry_after: Duration, global: bool) -> Response {
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({
            "message": "You are being rate limited.",
            "retry_after": (retry_after.as_secs_f64() * 1000.0).ceil() / 1000.0,
            "global": global,
        })),
    )
        .into_response();
    let whole = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    header(&mut resp, "retry-after", &whole.max(1).to_string());
    if global {
        header(&mut resp, "x-ratelimit-global", "true");
        header(&mut resp, "x-ratelimit-scope", "global");
    } else {
        header(&mut resp, "x-ratelimit-scope", "user");
    }
    resp
}

/// Routes Discord does not bind to the global limit: interaction callbacks and
/// the interaction webhook (`/webhooks/{application}/{token}...`).
fn is_interaction(segs: &[&str]) -> bool {
    matches!(segs, ["interactions", ..] | ["webhooks", _, _, ..])
}

/// Where a payload breaks Discord's documented message limits, as the `errors`
/// object of its 400 (`None`: within them).
fn form_errors(payload: &Value) -> Option<Value> {
    fn add(errors: &mut Map<String, Value>, path: &[String], code: &str, message: &str) {
        let mut node = errors;
        for key in path {
            node = node
                .entry(key.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("object");
        }
        let list = node
            .entry("_errors")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("array");
        list.push(json!({"code": code, "message": message}));
    }
    fn len(v: &Value) -> usize {
        v.as_str().map_or(0, |s| s.chars().count())
    }
    let max_len = |errors: &mut Map<String, Value>, path: &[String], v: &Value, max: usize| {
        if len(v) > max {
            add(
                errors,
                path,
                "BASE_TYPE_MAX_LENGTH",
                &format!("Must be {max} or fewer in length."),
            );
        }
    };
    let mut errors = Map::new();
    max_len(&mut errors, &["content".into()], &payload["content"], 2000);
    if let Some(embeds) = payload["embeds"].as_array() {
        if embeds.len() > 10 {
            add(
                &mut errors,
                &["embeds".into()],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 10 or fewer in length.",
            );
        }
        let mut total = 0;
        for (i, e) in embeds.iter().enumerate() {
            let at = |field: &str| vec!["embeds".to_owned(), i.to_string(), field.to_owned()];
            max_len(&mut errors, &at("title"), &e["title"], 256);
            max_len(&mut errors, &at("description"), &e["description"], 4096);
            let mut footer = at("footer");
            footer.push("text".into());
            max_len(&mut errors, &footer, &e["footer"]["text"], 2048);
            let mut author = at("author");
            author.push("name".into());
            max_len(&mut errors, &author, &e["author"]["name"], 256);
            total += len(&e["title"])
                + len(&e["description"])
                + len(&e["footer"]["text"])
                + len(&e["author"]["name"]);
            let fields = e["fields"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if fields.len() > 25 {
                add(
                    &mut errors,
                    &at("fields"),
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                );
            }
            for (j, f) in fields.iter().enumerate() {
                let mut path = at("fields");
                path.push(j.to_string());
                path.push("name".into());
                max_len(&mut errors, &path, &f["name"], 256);
                path.pop();
                path.push("value".into());
                max_len(&mut errors, &path, &f["value"], 1024);
                total += len(&f["name"]) + len(&f["value"]);
            }
        }
        if total > 6000 {
            add(
                &mut errors,
                &["embeds".into()],
                "MAX_EMBED_SIZE_EXCEEDED",
                "Embed size exceeds maximum size of 6000",
            );
        }
    }
    (!errors.is_empty()).then_some(Value::Object(errors))
}

fn invalid_form(errors: Value) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})),
    )
        .into_response()
}

/// Split a multipart body into (name, filename, bytes) parts.
fn multipart(content_type: &str, body: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    else {
        return Vec::new();
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let text = body;
    let mut parts = Vec::new();
    let positions: Vec<usize> = text
        .windows(delimiter.len())
        .enumerate()
        .filter(|(_, w)| *w == delimiter.as_bytes())
        .map(|(i, _)| i)
        .collect();
    for pair in positions.windows(2) {
        let part = &text[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]).into_owned();
        let mut content = &part[split + 4..];
        content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default();
        let attr = |key: &str| {
            disposition.split(';').find_map(|h| {
                h.trim()
                    .strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
        };
        if let Some(name) = attr("name") {
            parts.push((name, attr("filename"), content.to_vec()));
        }
    }
    parts
}

fn message(id: &str, channel: &str, payload: &Value) -> Value {
    json!({
        "id": id, "channel_id": channel, "type": 0, "content": payload["content"],
        "embeds": payload["embeds"], "components": payload["components"],
        "author": {"id": "999", "username": "mcstat", "bot": true},
    })
}

fn unknown_message() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": "Unknown Message", "code": 10008})),
    )
        .into_response()
}

async fn handle(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(path) = uri.path().strip_prefix("/api/v10") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let path = path.to_owned();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (json, files) = if content_type.starts_with("multipart/form-data") {
        let mut json = Value::Null;
        let mut files = Vec::new();
        for (name, filename, bytes) in multipart(&content_type, &body) {
            if name == "payload_json" {
                json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            } else {
                files.push((name, filename.unwrap_or_default(), bytes));
            }
        }
        (json, files)
    } else {
        (
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            Vec::new(),
        )
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut inner = fake.inner.lock().expect("lock");
    let resp = inner.answer(&method, &path, auth.as_deref(), &json);
    let status = resp.status().as_u16();
    inner.counters.requests += 1;
    if status == 429 {
        inner.counters.too_many += 1;
    }
    if matches!(status, 401 | 403 | 429) {
        inner.counters.invalid += 1;
    }
    inner.requests.push(Recorded {
        method,
        path,
        auth,
        json,
        files,
        status,
    });
    resp
}

impl Inner {
    /// The answer to one request: the rate limits, then a scripted failure, then the
    /// payload's limits, then the endpoint.
    fn answer(
        &mut self,
        method: &Method,
        path: &str,
        auth: Option<&str>,
        json: &Value,
    ) -> Response {
        let now = Instant::now();
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let channel_post = match (method.as_str(), segs.as_slice()) {
            ("POST", ["channels", channel, "messages"]) => Some((*channel).to_owned()),
            _ => None,
        };
        let mut resp = self.limited(now, &segs, channel_post.as_deref(), auth);
        if resp.is_none() {
            resp = self.scripted(path);
        }
        let mut resp = resp.unwrap_or_else(|| self.serve(method, &segs, json));
        if let Some(channel) = channel_post {
            self.bucket_headers(&mut resp, &channel, now);
        }
        resp
    }

    /// The rate limits' answer, when they refuse the request.
    fn limited(
        &mut self,
        now: Instant,
        segs: &[&str],
        channel_post: Option<&str>,
        auth: Option<&str>,
    ) -> Option<Response> {
        if is_interaction(segs) {
            return None;
        }
        self.arrivals.push_back(now);
        while self
            .arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) >= SECOND)
        {
            self.arrivals.pop_front();
        }
        self.counters.max_per_second = self.counters.max_per_second.max(self.arrivals.len());
        let Some(token) = auth.filter(|a| a.starts_with("Bot ")) else {
            return Some(
                (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"message": "401: Unauthorized", "code": 0})),
                )
                    .into_response(),
            );
        };
        if let Some(limit) = self.limits.global_per_sec {
            let limit = usize::try_from(limit).expect("limit");
            let log = self.global.entry(token.to_owned()).or_default();
            while log
                .front()
                .is_some_and(|t| now.duration_since(*t) >= SECOND)
            {
                log.pop_front();
            }
            if log.len() >= limit {
                // Free again when the request `limit` places back leaves the window.
                let oldest = log[log.len() - limit];
                self.counters.too_many_global += 1;
                return Some(too_many(SECOND - now.duration_since(oldest), true));
            }
            log.push_back(now);
        }
        if let (Some(channel), Some((limit, window))) = (channel_post, self.limits.channel_messages)
        {
            let bucket = self.buckets.entry(channel.to_owned()).or_insert(Bucket {
                start: now,
                used: 0,
            });
            if now.duration_since(bucket.start) >= window {
                *bucket = Bucket {
                    start: now,
                    used: 0,
                };
            }
            if bucket.used >= limit {
                return Some(too_many(window - now.duration_since(bucket.start), false));
            }
            bucket.used += 1;
        }
        None
    }

    /// `X-RateLimit-*` of the channel's message bucket, as it is after this request
    /// (none while the route is not limited).
    fn bucket_headers(&self, resp: &mut Response, channel: &str, now: Instant) {
        let Some((limit, window)) = self.limits.channel_messages else {
            return;
        };
        let (remaining, reset_after) = match self.buckets.get(channel) {
            Some(b) if now.duration_since(b.start) < window => (
                limit.saturating_sub(b.used),
                window - now.duration_since(b.start),
            ),
            _ => (limit, window),
        };
        let reset = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock") + reset_after;
        // A scripted answer's own headers stay.
        for (name, value) in [
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", seconds(reset)),
            ("x-ratelimit-reset-after", seconds(reset_after)),
            ("x-ratelimit-bucket", MESSAGES_BUCKET.to_owned()),
        ] {
            if !resp.headers().contains_key(name) {
                header(resp, name, &value);
            }
        }
    }

    /// A scripted failure for `path`, if one is queued.
    fn scripted(&mut self, path: &str) -> Option<Response> {
        let n = self
            .failures
            .iter()
            .position(|f| path.starts_with(&f.prefix))?;
        let f = self.failures.remove(n).expect("present");
        let mut resp = (
            StatusCode::from_u16(f.status).expect("status"),
            axum::Json(f.body),
        )
            .into_response();
        for (k, v) in f.headers {
            header(&mut resp, &k, &v);
        }
        Some(resp)
    }

    /// The endpoint's answer.
    fn serve(&mut self, method: &Method, segs: &[&str], json: &Value) -> Response {
        let checked = match (method.as_str(), segs) {
            ("POST", ["interactions", _, _, "callback"]) => {
                form_errors(&json["data"]).map(|e| json!({ "data": e }))
            }
            ("POST", ["channels", _, "messages"])
            | ("PATCH", ["channels", _, "messages", _] | ["webhooks", _, _, "messages", _]) => {
                form_errors(json)
            }
            _ => None,
        };
        if let Some(errors) = checked {
            return invalid_form(errors);
        }
        match (method.as_str(), segs) {
            ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
            ("PATCH", ["webhooks", _, _, "messages", "@original"]) => {
                axum::Json(message("1", "0", json)).into_response()
            }
            ("POST", ["channels", channel, "messages"]) => {
                self.next_id += 1;
                let id = (1_300_000_000_000_000_000u64 + self.next_id).to_string();
                self.messages
                    .entry((*channel).to_owned())
                    .or_default()
                    .insert(id.clone(), json.clone());
                axum::Json(message(&id, channel, json)).into_response()
            }
            ("PATCH", ["channels", channel, "messages", id]) => {
                match self.messages.get_mut(*channel).and_then(|m| m.get_mut(*id)) {
                    Some(stored) => {
                        *stored = json.clone();
                        axum::Json(message(id, channel, json)).into_response()
                    }
                    None => unknown_message(),
                }
            }
            ("DELETE", ["channels", channel, "messages", id]) => {
                match self.messages.get_mut(*channel).and_then(|m| m.remove(*id)) {
                    Some(_) => StatusCode::NO_CONTENT.into_response(),
                    None => unknown_message(),
                }
            }
            (
                "PUT",
                ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"],
            ) => axum::Json(json.clone()).into_response(),
            _ => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": "404: Not Found", "code": 0})),
            )
                .into_response(),
        }
    }
}

impl FakeDiscord {
    /// Start the fake on a free loopback port with Discord's rate limits; returns it
    /// and its origin URL.
    pub(crate) async fn start() -> (Self, String) {
        Self::start_with(RateLimits::discord()).await
    }

    /// [`start`](Self::start) with other rate limits.
    pub(crate) async fn start_with(limits: RateLimits) -> (Self, String) {
        let fake = Self::default();
        fake.inner.lock().expect("lock").limits = limits;
        let app = Router::new().fallback(handle).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake discord");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (fake, format!("http://{addr}"))
    }

    /// What the fake counted so far.
    pub(crate) fn counters(&self) -> Counters {
        self.inner.lock().expect("lock").counters
    }

    /// Every request so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// The requests matching `method` whose path starts with `prefix`.
    pub(crate) fn matching(&self, method: &str, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method.as_str() == method && r.path.starts_with(prefix))
            .collect()
    }

    /// The messages currently in `channel` (id → last payload).
    pub(crate) fn messages(&self, channel: &str) -> HashMap<String, Value> {
        self.inner
            .lock()
            .expect("lock")
            .messages
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }

    /// Put a message of the bot in `channel`, as if posted earlier.
    pub(crate) fn seed_message(&self, channel: &str, id: &str, payload: Value) {
        self.inner
            .lock()
            .expect("lock")
            .messages
            .entry(channel.to_owned())
            .or_default()
            .insert(id.to_owned(), payload);
    }

    /// The next request whose path starts with `prefix` answers `status` with
    /// `headers` and `body`.
    pub(crate) fn fail_next(
        &self,
        prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: Value,
    ) {
        self.inner
            .lock()
            .expect("lock")
            .failures
            .push_back(Failure {
                prefix: prefix.to_owned(),
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                body,
            });
    }

    /// Wait (up to `timeout`) until `pred` holds for the recorded requests.
    pub(crate) async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Recorded]) -> bool,
    ) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if pred(&requests) {
                return requests;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; requests so far: {:#?}",
                requests
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn body_of(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.expect("body")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_keeps_discords_limits() {
    let client = reqwest::Client::new();
    let post = |api: &str, channel: &str, body: Value| {
        client
            .post(format!("{api}/api/v10/channels/{channel}/messages"))
            .header("authorization", "Bot t")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let (fake, api) = FakeDiscord::start().await;

    // A channel takes 5 messages per 5 s; the 6th is refused (not stored), every
    // answer says where the bucket stands.
    for n in 1..=5 {
        let r = post(&api, "1", json!({"content": "hi"}))
            .await
            .expect("post");
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["x-ratelimit-limit"], "5");
        assert_eq!(h["x-ratelimit-remaining"], (5 - n).to_string().as_str());
        assert_eq!(h["x-ratelimit-bucket"], MESSAGES_BUCKET);
        let after: f64 = h["x-ratelimit-reset-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(after > 4.0 && after <= 5.0, "{after}");
        let reset: f64 = h["x-ratelimit-reset"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("epoch");
        assert!(reset > 1.7e9, "{reset}");
    }
    let r = post(&api, "1", json!({"content": "hi"}))
        .await
        .expect("post");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-scope"], "user");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    assert!(r.headers().get("x-ratelimit-global").is_none());
    let body: Value = body_of(r).await;
    assert_eq!(body["global"], false);
    assert!(
        body["retry_after"]
            .as_f64()
            .is_some_and(|s| s > 4.0 && s <= 5.0)
    );
    assert_eq!(fake.messages("1").len(), 5);
    // Another channel has its own bucket.
    let r = post(&api, "2", json!({"content": "hi"}))
        .await
        .expect("post");
    assert_eq!(r.status(), 200);

    // 50 requests a second per token, interactions excepted: 7 went so far.
    for n in 8..=50 {
        let r = post(&api, &n.to_string(), json!({"content": "hi"}))
            .await
            .expect("post");
        assert_eq!(r.status(), 200, "request {n}");
    }
    let r = post(&api, "51", json!({"content": "hi"}))
        .await
        .expect("post");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-global"], "true");
    assert_eq!(r.headers()["x-ratelimit-scope"], "global");
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = body_of(r).await;
    assert_eq!(body["global"], true);
    assert_eq!(body["message"], "You are being rate limited.");
    assert!(fake.messages("51").is_empty());
    let r = client
        .post(format!("{api}/api/v10/interactions/1/tok/callback"))
        .header("content-type", "application/json")
        .body(json!({"type": 4, "data": {"content": "hi"}}).to_string())
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 204);
    // Without a bot token: 401.
    let r = client
        .post(format!("{api}/api/v10/channels/1/messages"))
        .header("content-type", "application/json")
        .body(json!({"content": "hi"}).to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 401);
    let c = fake.counters();
    assert_eq!(c.requests, 53);
    assert_eq!((c.too_many, c.too_many_global, c.invalid), (2, 1, 3));
    assert_eq!(c.max_per_second, 52, "all but the interaction");

    // Without limits nothing is refused, but payloads are still checked.
    let (fake, api) = FakeDiscord::start_with(RateLimits::off()).await;
    for _ in 0..60 {
        let r = post(&api, "1", json!({"content": "hi"}))
            .await
            .expect("post");
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("x-ratelimit-limit").is_none());
    }
    assert_eq!(fake.counters().too_many, 0);
    let r = post(&api, "1", json!({"content": "x".repeat(2001)}))
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let body: Value = body_of(r).await;
    assert_eq!(body["code"], 50035);
    assert_eq!(body["message"], "Invalid Form Body");
    assert_eq!(
        body["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    let big = json!({"description": "x".repeat(4000)});
    let r = post(&api, "1", json!({"embeds": [big, big]}))
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let body: Value = body_of(r).await;
    assert_eq!(
        body["errors"]["embeds"]["_errors"][0]["code"],
        "MAX_EMBED_SIZE_EXCEEDED"
    );
    let r = post(
        &api,
        "1",
        json!({"embeds": vec![json!({"title": "t"}); 11]}),
    )
    .await
    .expect("post");
    assert_eq!(r.status(), 400);
    let r = post(
        &api,
        "1",
        json!({"embeds": [{"description": "x".repeat(4097)}]}),
    )
    .await
    .expect("post");
    assert_eq!(r.status(), 400);
    let body: Value = body_of(r).await;
    assert!(body["errors"]["embeds"]["0"]["description"]["_errors"].is_array());
    assert_eq!(fake.messages("1").len(), 60);
}
