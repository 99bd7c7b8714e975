//! The end-to-end harness: the fake Bot API (npm telegram-test-api behind
//! tests/peers/telegram-api.js), a Minecraft server (npm minecraft-protocol), the bot
//! binary as a child process, and a small HTTP client to play the user.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub(crate) use crate::support::{Peer, spawn_node_peer};

/// How long the tests wait for the bot to do something.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// One HTTP/1.1 exchange on a fresh connection: `(status, body)`.
pub(crate) async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write request");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("response within 30 s")
        .expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn post_json(port: u16, path: &str, body: &Value) -> Value {
    let (status, text) = http(port, "POST", path, &[], &body.to_string()).await;
    assert_eq!(status, 200, "POST {path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {path}: {e}: {text}"))
}

/// A free loopback TCP port (bound and released).
pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The fake Bot API.
pub(crate) struct FakeApi {
    _peer: Peer,
    pub(crate) port: u16,
}

/// A message the bot sent, as the fake stores it (after edits).
#[derive(Debug, Clone)]
pub(crate) struct BotMessage {
    pub(crate) message_id: i64,
    pub(crate) chat_id: i64,
    /// The text, or a photo's caption.
    pub(crate) text: String,
    pub(crate) markup: Value,
    /// Sent as a photo (the server icon) with `text` as caption.
    pub(crate) photo: bool,
}

impl BotMessage {
    /// The callback data of the button whose label contains `label`.
    pub(crate) fn button(&self, label: &str) -> String {
        self.markup["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().into_iter().flatten())
            .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
            .and_then(|b| b["callback_data"].as_str())
            .unwrap_or_else(|| panic!("no button {label:?} in {}", self.markup))
            .to_owned()
    }
}

impl FakeApi {
    /// Start the fake with options (`{"fail429": n, "retryAfter": s}`).
    pub(crate) async fn start(options: Value) -> Self {
        let peer = spawn_node_peer("telegram-api.js", &[&options.to_string()]).await;
        let port = peer.port;
        Self { _peer: peer, port }
    }

    /// The URL to give the bot.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The user `user_id` sends `text` in chat `chat` (`{"id", "type"}`).
    pub(crate) async fn user_says(&self, token: &str, chat: Value, user_id: i64, text: &str) {
        let mut message = json!({
            "botToken": token,
            "date": now_secs(),
            "from": {"id": user_id, "is_bot": false, "first_name": "Tester", "username": "tester"},
            "chat": chat,
            "text": text,
        });
        if text.starts_with('/') {
            let len = text.find(' ').unwrap_or(text.len());
            message["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        post_json(self.port, "/sendMessage", &message).await;
    }

    /// The user `user_id` sends `text` in chat `chat` (`{"id", "type"}`); returns the
    /// bot's next message to that chat.
    pub(crate) async fn ask(&self, token: &str, chat: Value, user_id: i64, text: &str) -> String {
        let id = chat["id"].as_i64().expect("a chat id");
        let count = |msgs: &[BotMessage]| msgs.iter().filter(|m| m.chat_id == id).count();
        let before = count(&self.bot_messages(token).await);
        self.user_says(token, chat, user_id, text).await;
        let msgs = self
            .wait_for(token, &format!("the answer to {text}"), |m| {
                count(m) > before
            })
            .await;
        msgs.iter()
            .filter(|m| m.chat_id == id)
            .nth(before)
            .map(|m| m.text.clone())
            .unwrap_or_default()
    }

    /// The user presses a button with `data` under the bot's message `m`.
    pub(crate) async fn user_presses(&self, token: &str, user_id: i64, m: &BotMessage, data: &str) {
        let mut message = json!({
            "message_id": m.message_id,
            "date": now_secs(),
            "chat": {"id": m.chat_id, "type": "private", "first_name": "Tester"},
        });
        if m.photo {
            message["photo"] =
                json!([{"file_id": "icon", "file_unique_id": "icon", "width": 64, "height": 64}]);
            message["caption"] = json!("…");
        } else {
            message["text"] = json!("…");
        }
        let body = json!({
            "botToken": token,
            "date": now_secs(),
            "from": {"id": user_id, "is_bot": false, "first_name": "Tester"},
            "message": message,
            "data": data,
        });
        post_json(self.port, "/sendCallback", &body).await;
    }

    /// Every message the bot sent with `token`, oldest first, as it is now.
    pub(crate) async fn bot_messages(&self, token: &str) -> Vec<BotMessage> {
        let v = post_json(self.port, "/getUpdatesHistory", &json!({ "token": token })).await;
        v["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["message"].get("chat_id").is_some())
            .map(|u| BotMessage {
                message_id: u["messageId"].as_i64().unwrap_or_default(),
                chat_id: u["message"]["chat_id"]
                    .as_i64()
                    .or_else(|| {
                        u["message"]["chat_id"]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                    })
                    .unwrap_or_default(),
                text: u["message"]["text"].as_str().unwrap_or_default().to_owned(),
                markup: u["message"]["reply_markup"].clone(),
                photo: u["message"]["photo"] == json!(true),
            })
            .collect()
    }

    /// Wait until the bot's messages satisfy `ok`; returns them.
    pub(crate) async fn wait_for(
        &self,
        token: &str,
        what: &str,
        ok: impl Fn(&[BotMessage]) -> bool,
    ) -> Vec<BotMessage> {
        let start = Instant::now();
        loop {
            let msgs = self.bot_messages(token).await;
            if ok(&msgs) {
                return msgs;
            }
            assert!(
                start.elapsed() < WAIT,
                "timed out waiting for {what}; bot sent: {msgs:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Make sendMessage to `chat_id` fail with 403 "bot was blocked by the user" (or
    /// work again).
    pub(crate) async fn block(&self, chat_id: i64, blocked: bool) {
        post_json(
            self.port,
            "/_fake/block",
            &json!({"chat_id": chat_id, "blocked": blocked}),
        )
        .await;
    }

    /// Make sendMessage to `chat_id` fail as for a group upgraded to a supergroup
    /// whose new id is `to`.
    pub(crate) async fn migrate(&self, chat_id: i64, to: i64) {
        post_json(
            self.port,
            "/_fake/migrate",
            &json!({"chat_id": chat_id, "to": to}),
        )
        .await;
    }

    /// The Bot API calls the bot made (method in lower case, body, time in ms).
    pub(crate) async fn calls(&self) -> Vec<Value> {
        let (status, text) = http(self.port, "GET", "/_fake/calls", &[], "").await;
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).expect("calls json");
        v["result"].as_array().cloned().unwrap_or_default()
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The bot binary, running; killed when dropped.
pub(crate) struct BotProcess {
    child: Child,
    _dir: tempfile::TempDir,
}

impl BotProcess {
    /// Start `mcstat-telegram` against `api` with `token`, loopback allowed, a fresh
    /// file store, and `extra` environment variables.
    pub(crate) fn start(api: &FakeApi, token: &str, extra: &[(&str, String)]) -> Self {
        Self::start_url(&api.url(), token, extra)
    }

    /// Start `mcstat-telegram` against the Bot API at `api_url` (as
    /// `MCSTAT_TELEGRAM_API_URL`), otherwise as [`BotProcess::start`].
    pub(crate) fn start_url(api_url: &str, token: &str, extra: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: PathBuf = dir.path().join("mcstat.redb");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcstat-telegram"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MCSTAT_TELEGRAM_TOKEN", token)
            .env("MCSTAT_TELEGRAM_API_URL", api_url)
            .env("MCSTAT_ALLOW_NETWORKS", "127.0.0.0/8")
            .env("MCSTAT_STORE_PATH", &store)
            .env("MCSTAT_LOOKUP_TIMEOUT_MS", "2000")
            .env("MCSTAT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start mcstat-telegram");
        Self { child, _dir: dir }
    }

    /// SIGKILL it (no shutdown at all, as a crash or an OOM kill) and wait until it
    /// is gone.
    pub(crate) async fn kill9(mut self) {
        self.child.start_kill().expect("SIGKILL the bot");
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("the bot is gone within 15 s of SIGKILL")
            .expect("wait for the bot");
    }

    /// Send SIGTERM and wait (up to 15 s) for the exit status.
    pub(crate) async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid}");
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("the bot exits within 15 s of SIGTERM")
            .expect("wait for the bot")
    }
}
