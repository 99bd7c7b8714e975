//! A fake Discord REST API, written from Discord's documentation, for the endpoints
//! the bot uses. It records every request (method, path, JSON payload — from the body
//! or the multipart `payload_json` part — and uploaded files) and keeps the messages
//! of channels so that edits and deletes of unknown messages answer 404 like Discord
//! (`{"code": 10008, "message": "Unknown Message"}`).
//!
//! Failures can be scripted: [`FakeDiscord::fail_next`] makes the next requests on a
//! path prefix answer a given status (e.g. 500, or 429 with `Retry-After`).
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
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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
}

#[derive(Debug, Clone)]
struct Failure {
    prefix: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Recorded>,
    /// channel → message id → last payload.
    messages: HashMap<String, HashMap<String, Value>>,
    failures: VecDeque<Failure>,
    next_id: u64,
}

/// The fake server's state, shared with the test.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeDiscord {
    inner: Arc<Mutex<Inner>>,
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
    let mut inner = fake.inner.lock().expect("lock");
    inner.requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        auth: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        json: json.clone(),
        files,
    });
    if let Some(n) = inner
        .failures
        .iter()
        .position(|f| path.starts_with(&f.prefix))
    {
        let f = inner.failures.remove(n).expect("present");
        let mut resp = (
            StatusCode::from_u16(f.status).expect("status"),
            axum::Json(f.body),
        )
            .into_response();
        for (k, v) in f.headers {
            resp.headers_mut().insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                v.parse().expect("header value"),
            );
        }
        return resp;
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => {
            axum::Json(message("1", "0", &json)).into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            inner.next_id += 1;
            let id = (1_300_000_000_000_000_000u64 + inner.next_id).to_string();
            inner
                .messages
                .entry((*channel).to_owned())
                .or_default()
                .insert(id.clone(), json.clone());
            axum::Json(message(&id, channel, &json)).into_response()
        }
        ("PATCH", ["channels", channel, "messages", id]) => {
            match inner
                .messages
                .get_mut(*channel)
                .and_then(|m| m.get_mut(*id))
            {
                Some(stored) => {
                    *stored = json.clone();
                    axum::Json(message(id, channel, &json)).into_response()
                }
                None => unknown_message(),
            }
        }
        ("DELETE", ["channels", channel, "messages", id]) => {
            match inner.messages.get_mut(*channel).and_then(|m| m.remove(*id)) {
                Some(_) => StatusCode::NO_CONTENT.into_response(),
                None => unknown_message(),
            }
        }
        ("PUT", ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]) => {
            axum::Json(json).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "404: Not Found", "code": 0})),
        )
            .into_response(),
    }
}

impl FakeDiscord {
    /// Start the fake on a free loopback port; returns it and its origin URL.
    pub(crate) async fn start() -> (Self, String) {
        let fake = Self::default();
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
