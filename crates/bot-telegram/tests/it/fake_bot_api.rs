//! A fake Telegram Bot API, in process (axum on 127.0.0.1:0), that enforces
//! Telegram's documented limits with the answers Telegram gives.
//!
//! The npm `telegram-test-api` fake (tests/peers/telegram-api.js) never rate-limits;
//! this one does, at the scale of a thousand chats:
//!
//! - **Rate limits** (Bot FAQ, "My bot is hitting limits, how do I avoid this?",
//!   <https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this>):
//!   about 30 messages per second overall, one per second in a chat, 20 per minute in
//!   a group. Each is a sliding window over the accepted message-sending calls
//!   (sendMessage, sendPhoto, editMessageText, editMessageCaption); above one the call
//!   is answered HTTP 429 `Too Many Requests: retry after N` with
//!   `parameters.retry_after = N`, the whole seconds until the window has room again
//!   (at least 1) (<https://core.telegram.org/bots/api#responseparameters>). A refused
//!   call is not stored and takes no room in the windows; neither does a call refused
//!   with 400 or 403.
//! - **Content limits** (<https://core.telegram.org/bots/api#sendmessage>,
//!   <https://core.telegram.org/bots/api#sendphoto>): text 1–4096 and caption 0–1024
//!   characters after entities parsing, counted in UTF-16 code units as Telegram's
//!   entity offsets are; the HTML subset of
//!   <https://core.telegram.org/bots/api#html-style>, parsed as TDLib's `parse_html`
//!   does (its error messages: `Unsupported start tag "x" at byte offset n`, `Can't
//!   find end tag corresponding to start tag "b"`, `Unmatched end tag ...`); callback
//!   data of 1–64 bytes (<https://core.telegram.org/bots/api#inlinekeyboardbutton>).
//! - **Answers** are Telegram's objects (`{"ok":true,"result":...}`): complete
//!   `Message`s (the text as Telegram keeps it: tags removed, entities listed),
//!   `Update`s with increasing `update_id`, getMe's `User`; errors
//!   `{"ok":false,"error_code":...,"description":...}` with the descriptions teloxide
//!   recognises (teloxide-core's `ApiError`).
//! - **Other Telegram behaviours**: the order of checks is fault injection
//!   (`fail_next`), chat (upgraded group 400 with `migrate_to_chat_id`, blocked 403),
//!   content (400), rate (429); an edit to identical content and keyboard is 400
//!   "message is not modified", an edit without `reply_markup` drops the keyboard, an
//!   unknown message is "message to edit not found"; a callback or inline query is
//!   answered once; getUpdates forgets what its `offset` confirms, keeps
//!   `allowed_updates` between calls, answers 409 while a webhook is set and ends a
//!   waiting getUpdates with 409 when another one arrives (two bot instances); an
//!   unknown method is 404 "Not Found", a wrong token (when one is configured) 401
//!   "Unauthorized"; the bot's id is the number before the token's `:`.
//!
//! Method names are case-insensitive (teloxide sends `SendMessage`). Requests may be
//! JSON, form-urlencoded, multipart/form-data (sendPhoto; the file is only counted) or
//! a query string, as the Bot API accepts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State as AxumState};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// At most `max` calls in any sliding window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimit {
    pub(crate) max: usize,
    pub(crate) per: Duration,
}

impl RateLimit {
    pub(crate) const fn new(max: usize, per: Duration) -> Self {
        Self { max, per }
    }

    /// How long until one more call fits, given the (ascending) times of the calls
    /// accepted so far; `None` when it fits now.
    fn wait(&self, times: &VecDeque<Instant>, now: Instant) -> Option<Duration> {
        let start = times.partition_point(|t| now.saturating_duration_since(*t) >= self.per);
        let inside = times.len() - start;
        if inside < self.max {
            return None;
        }
        if self.max == 0 {
            return Some(self.per);
        }
        // The call that must leave the window before one more fits.
        let leaving = times[start + inside - self.max];
        Some(
            self.per
                .saturating_sub(now.saturating_duration_since(leaving)),
        )
    }
}

/// What the fake enforces and who the bot is. `Default` is Telegram's documented
/// limits; every limit can be changed or turned off (`None` / `false`).
#[derive(Debug, Clone)]
pub(crate) struct FakeConfig {
    /// Message-sending calls across all chats (Telegram: about 30 per second).
    pub(crate) global: Option<RateLimit>,
    /// Message-sending calls to one chat (Telegram: one per second).
    pub(crate) per_chat: Option<RateLimit>,
    /// Message-sending calls to one group, negative chat ids (Telegram: 20 per minute).
    pub(crate) per_group: Option<RateLimit>,
    /// Longest text, UTF-16 code units after entities parsing (Telegram: 4096).
    pub(crate) max_text: Option<usize>,
    /// Longest caption, UTF-16 code units after entities parsing (Telegram: 1024).
    pub(crate) max_caption: Option<usize>,
    /// Refuse HTML outside Telegram's subset and callback data outside 1–64 bytes.
    pub(crate) check_markup: bool,
    /// When set, any other token is answered 401 Unauthorized.
    pub(crate) token: Option<String>,
    /// The bot's username (getMe, `from` of its messages).
    pub(crate) username: String,
    /// The bot's first name.
    pub(crate) first_name: String,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            global: Some(RateLimit::new(30, Duration::from_secs(1))),
            per_chat: Some(RateLimit::new(1, Duration::from_secs(1))),
            per_group: Some(RateLimit::new(20, Duration::from_secs(60))),
            max_text: Some(4096),
            max_caption: Some(1024),
            check_markup: true,
            token: None,
            username: "McstatTestBot".to_owned(),
            first_name: "mcstat".to_owned(),
        }
    }
}

impl FakeConfig {
    /// Telegram's content checks without any rate limit.
    pub(crate) fn unlimited() -> Self {
        Self {
            global: None,
            per_chat: None,
            per_group: None,
            ..Self::default()
        }
    }
}

/// The file part of a sendPhoto, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PhotoFile {
    /// The part's `filename`, or `None` for a photo given by file_id / URL.
    pub(crate) file_name: Option<String>,
    pub(crate) bytes: usize,
}

/// A message the bot sent and the fake stored, as it is now (after edits).
#[derive(Debug, Clone)]
pub(crate) struct SentMessage {
    pub(crate) chat_id: i64,
    pub(crate) message_id: i64,
    /// The text (or a photo's caption) as the bot sent it, markup included.
    pub(crate) text: String,
    /// The text as Telegram keeps and shows it: tags removed, entities decoded.
    pub(crate) plain: String,
    pub(crate) parse_mode: Option<String>,
    /// A photo (sendPhoto), with `text` as its caption.
    pub(crate) photo: Option<PhotoFile>,
    /// The inline keyboard, `Null` when none.
    pub(crate) reply_markup: Value,
    /// When the fake received the send.
    pub(crate) at: Instant,
    /// When the last accepted edit arrived.
    pub(crate) edited_at: Option<Instant>,
    pub(crate) edits: usize,
    /// The `Message` object as Telegram would return it now.
    pub(crate) json: Value,
}

impl SentMessage {
    /// The callback data of the button whose label contains `label`.
    pub(crate) fn button(&self, label: &str) -> String {
        buttons(&self.reply_markup)
            .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
            .and_then(|b| b["callback_data"].as_str())
            .unwrap_or_else(|| panic!("no button {label:?} in {}", self.reply_markup))
            .to_owned()
    }
}

/// One Bot API call, as answered.
#[derive(Debug, Clone)]
pub(crate) struct ApiCall {
    /// The method in lower case (`sendmessage`).
    pub(crate) method: String,
    pub(crate) chat_id: Option<i64>,
    /// The HTTP status answered.
    pub(crate) status: u16,
    /// The error's description, for an error.
    pub(crate) description: Option<String>,
    /// When the call arrived.
    pub(crate) at: Instant,
    /// The parameters (JSON, form or multipart text fields).
    pub(crate) params: Value,
}

/// The fake Bot API, serving until dropped.
#[derive(Debug)]
pub(crate) struct FakeBotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeBotApi {
    /// Listen on 127.0.0.1 (a free port) and serve on the current tokio runtime.
    pub(crate) async fn start(config: FakeConfig) -> Self {
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            changed: watch::Sender::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Bot API");
        let addr = listener.local_addr().expect("the fake's address");
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared))
            .layer(DefaultBodyLimit::max(64 << 20));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            shared,
            addr,
            server,
        }
    }

    /// The API URL to give the bot (`MCSTAT_TELEGRAM_API_URL`): it calls
    /// `{url}/bot<token>/<Method>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The user `user_id` writes `text` in chat `chat_id` (private when positive, a
    /// group otherwise): a `message` update is queued for getUpdates, with a
    /// `bot_command` entity when the text starts with `/`. Returns its message_id.
    pub(crate) fn user_says(&self, chat_id: i64, user_id: i64, text: &str) -> i64 {
        let id = {
            let mut st = self.shared.lock();
            let id = st.next_message_id(chat_id);
            let mut message = json!({
                "message_id": id,
                "from": user_json(user_id),
                "chat": chat_json(chat_id),
                "date": unix_now(),
                "text": text,
            });
            if text.starts_with('/') {
                let command = text.split_whitespace().next().unwrap_or(text);
                message["entities"] = json!([{
                    "type": "bot_command",
                    "offset": 0,
                    "length": utf16_len(command),
                }]);
            }
            st.push_update("message", message);
            id
        };
        self.shared.bump();
        id
    }

    /// The user `user_id` presses a button with `data` under the bot's message
    /// `message_id` in `chat_id`: a `callback_query` update is queued. Returns the
    /// query's id (answerCallbackQuery must name it).
    pub(crate) fn user_presses(
        &self,
        chat_id: i64,
        user_id: i64,
        message_id: i64,
        data: &str,
    ) -> String {
        let id = {
            let mut st = self.shared.lock();
            let message = st
                .index
                .get(&(chat_id, message_id))
                .map(|&i| st.messages[i].json.clone())
                .unwrap_or_else(|| panic!("no bot message {message_id} in chat {chat_id}"));
            let id = st.next_query_id();
            st.open_callbacks.insert(id.clone());
            let query = json!({
                "id": id,
                "from": user_json(user_id),
                "message": message,
                "chat_instance": format!("{}", chat_id.unsigned_abs().wrapping_mul(7919)),
                "data": data,
            });
            st.push_update("callback_query", query);
            id
        };
        self.shared.bump();
        id
    }

    /// The user `user_id` types `@bot query`: an `inline_query` update is queued.
    /// Returns the query's id.
    pub(crate) fn user_inline_query(&self, user_id: i64, query: &str) -> String {
        let id = {
            let mut st = self.shared.lock();
            let id = st.next_query_id();
            st.open_inline.insert(id.clone());
            let q = json!({
                "id": id,
                "from": user_json(user_id),
                "query": query,
                "offset": "",
                "chat_type": "sender",
            });
            st.push_update("inline_query", q);
            id
        };
        self.shared.bump();
        id
    }

    /// Every message the bot sent and the fake stored, oldest first, as it is now.
    pub(crate) fn messages(&self) -> Vec<SentMessage> {
        self.shared.lock().messages.clone()
    }

    /// `f` of the stored messages, oldest first, without copying them (for checks
    /// made often while thousands are stored).
    pub(crate) fn with_messages<T>(&self, f: impl FnOnce(&[SentMessage]) -> T) -> T {
        f(&self.shared.lock().messages)
    }

    /// The stored messages of one chat, oldest first.
    pub(crate) fn messages_in(&self, chat_id: i64) -> Vec<SentMessage> {
        let st = self.shared.lock();
        st.messages
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// Every call, in the order they were answered.
    pub(crate) fn calls(&self) -> Vec<ApiCall> {
        self.shared.lock().calls.clone()
    }

    /// Messages stored (sendMessage and sendPhoto accepted).
    pub(crate) fn sent_count(&self) -> usize {
        self.shared.lock().messages.len()
    }

    /// Edits accepted (editMessageText, editMessageCaption, inline ones included).
    pub(crate) fn edit_count(&self) -> usize {
        self.shared.lock().edits
    }

    /// Calls answered 429.
    pub(crate) fn rejected_429(&self) -> usize {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.status == 429)
            .count()
    }

    /// Updates queued and not yet confirmed by getUpdates' offset.
    pub(crate) fn pending_updates(&self) -> usize {
        self.shared.lock().updates.len()
    }

    /// The commands of the last setMyCommands (`Null` before one).
    pub(crate) fn my_commands(&self) -> Value {
        self.shared.lock().commands.clone()
    }

    /// The user of `chat_id` blocks the bot: sendMessage, sendPhoto and
    /// sendChatAction to it answer 403 "Forbidden: bot was blocked by the user".
    pub(crate) fn block(&self, chat_id: i64) {
        self.shared.lock().blocked.insert(chat_id);
    }

    /// The user of `chat_id` unblocks the bot.
    pub(crate) fn unblock(&self, chat_id: i64) {
        self.shared.lock().blocked.remove(&chat_id);
    }

    /// The group `chat_id` was upgraded to the supergroup `to`: calls addressed to
    /// it answer 400 with `parameters.migrate_to_chat_id = to`.
    pub(crate) fn migrate(&self, chat_id: i64, to: i64) {
        self.shared.lock().migrated.insert(chat_id, to);
    }

    /// The next `n` sendMessage / sendPhoto calls answer `status` (500: Telegram's
    /// JSON "Internal Server Error"; another 5xx: the HTML page of the nginx in front
    /// of the API, as a 502 from Telegram is).
    pub(crate) fn fail_next(&self, n: usize, status: u16) {
        let mut st = self.shared.lock();
        st.fail_next.extend(std::iter::repeat_n(status, n));
    }

    /// Wait until `ok(self)` holds, re-checking whenever a call is answered or an
    /// update queued; `false` when `timeout` passes first.
    pub(crate) async fn wait_for(&self, ok: impl Fn(&Self) -> bool, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.changed.subscribe();
        loop {
            rx.borrow_and_update();
            if ok(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return ok(self),
            }
        }
    }
}

struct Shared {
    config: FakeConfig,
    state: Mutex<State>,
    /// Bumped on every change: wakes long polls and `wait_for`.
    changed: watch::Sender<u64>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

#[derive(Default)]
struct State {
    bot_id: i64,
    next_update_id: i64,
    /// Queued updates not confirmed yet, ascending `update_id`.
    updates: VecDeque<Value>,
    /// getUpdates' `allowed_updates`, kept between calls as Telegram does.
    allowed_updates: Option<Vec<String>>,
    /// Bumped by each getUpdates: an older one still waiting answers 409.
    poll_generation: u64,
    webhook: Option<String>,
    commands: Value,
    next_message_ids: HashMap<i64, i64>,
    messages: Vec<SentMessage>,
    index: HashMap<(i64, i64), usize>,
    edits: usize,
    calls: Vec<ApiCall>,
    /// Times of the accepted message-sending calls, all chats.
    global_window: VecDeque<Instant>,
    /// Times of the accepted message-sending calls, per chat.
    chat_windows: HashMap<i64, VecDeque<Instant>>,
    blocked: HashSet<i64>,
    migrated: HashMap<i64, i64>,
    fail_next: VecDeque<u16>,
    next_query: u64,
    open_callbacks: HashSet<String>,
    open_inline: HashSet<String>,
}

/// An answer: HTTP status and body.
struct Answer {
    status: u16,
    body: String,
    json: bool,
    description: Option<String>,
}

impl Answer {
    fn ok(result: Value) -> Self {
        Self::json(200, &json!({"ok": true, "result": result}), None)
    }

    fn ok_described(result: Value, description: &str) -> Self {
        Self::json(
            200,
            &json!({"ok": true, "result": result, "description": description}),
            None,
        )
    }

    fn error(status: u16, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::json(
            status,
            &json!({"ok": false, "error_code": status, "description": description}),
            Some(description),
        )
    }

    fn error_with(status: u16, description: impl Into<String>, parameters: Value) -> Self {
        let description = description.into();
        Self::json(
            status,
            &json!({
                "ok": false,
                "error_code": status,
                "description": description,
                "parameters": parameters,
            }),
            Some(description),
        )
    }

    fn json(status: u16, body: &Value, description: Option<String>) -> Self {
        Self {
            status,
            body: body.to_string(),
            json: true,
            description,
        }
    }

    fn bad_request(what: &str) -> Self {
        Self::error(400, format!("Bad Request: {what}"))
    }

    fn too_many(wait: Duration) -> Self {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        Self::error_with(
            429,
            format!("Too Many Requests: retry after {secs}"),
            json!({ "retry_after": secs }),
        )
    }

    fn server_error(status: u16) -> Self {
        if status == 500 {
            return Self::error(500, "Internal Server Error");
        }
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Server Error");
        Self {
            status,
            body: format!(
                "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
            ),
            json: false,
            description: Some(format!("{status} {reason} (HTML)")),
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = if self.json {
            "application/json"
        } else {
            "text/html"
        };
        (status, [(header::CONTENT_TYPE, content_type)], self.body).into_response()
    }
}

type Params = Map<String, Value>;

/// A file part of a multipart request.
struct FilePart {
    name: String,
    file_name: String,
    bytes: usize,
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Some((token, method)) = uri
        .path()
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(_, m)| !m.is_empty() && !m.contains('/'))
    else {
        return Answer::error(404, "Not Found").into_response();
    };
    let method = method.to_ascii_lowercase();
    let (params, files) = read_params(&uri, &headers, &body);
    let chat_id = param_i64(&params, "chat_id");
    let answer = if shared.config.token.as_deref().is_some_and(|t| t != token) {
        Answer::error(401, "Unauthorized")
    } else if method == "getupdates" {
        get_updates(&shared, &params, token).await
    } else {
        let mut st = shared.lock();
        st.bot_id = bot_id(token);
        st.dispatch(&shared.config, &method, &params, &files)
    };
    {
        let mut st = shared.lock();
        st.calls.push(ApiCall {
            method,
            chat_id,
            status: answer.status,
            description: answer.description.clone(),
            at,
            params: Value::Object(params),
        });
    }
    shared.bump();
    answer.into_response()
}

/// getUpdates: long polling (`timeout` seconds), `offset` confirming the updates
/// before it, `limit` (1–100, default 100), `allowed_updates` kept between calls.
/// A newer getUpdates ends a waiting one with 409, as Telegram does when two bot
/// instances poll.
async fn get_updates(shared: &Shared, params: &Params, token: &str) -> Answer {
    let timeout = Duration::from_secs(
        param_i64(params, "timeout")
            .unwrap_or(0)
            .max(0)
            .unsigned_abs(),
    );
    let limit =
        usize::try_from(param_i64(params, "limit").unwrap_or(100).clamp(1, 100)).unwrap_or(100);
    let generation = {
        let mut st = shared.lock();
        st.bot_id = bot_id(token);
        if st.webhook.is_some() {
            return Answer::error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        if let Some(list) = param_json(params, "allowed_updates").and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
        }) {
            st.allowed_updates = (!list.is_empty()).then_some(list);
        }
        if let Some(offset) = param_i64(params, "offset") {
            st.confirm(offset);
        }
        st.poll_generation += 1;
        st.poll_generation
    };
    shared.bump();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut rx = shared.changed.subscribe();
    loop {
        rx.borrow_and_update();
        {
            let mut st = shared.lock();
            if st.poll_generation != generation {
                return Answer::error(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                );
            }
            let batch = st.batch(limit);
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                return Answer::ok(Value::Array(batch));
            }
        }
        if let Ok(Err(_)) = tokio::time::timeout_at(deadline, rx.changed()).await {
            return Answer::ok(json!([]));
        }
    }
}

impl State {
    fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let id = self.next_message_ids.entry(chat_id).or_insert(0);
        *id += 1;
        *id
    }

    fn next_query_id(&mut self) -> String {
        self.next_query += 1;
        format!("{}", 4_120_000_000_000_000_000_u64 + self.next_query)
    }

    fn push_update(&mut self, kind: &str, object: Value) {
        self.next_update_id += 1;
        let mut update = json!({ "update_id": self.next_update_id });
        update[kind] = object;
        self.updates.push_back(update);
    }

    /// getUpdates' `offset`: the updates before it are confirmed (forgotten); a
    /// negative one keeps only the last `-offset`.
    fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            while self
                .updates
                .front()
                .is_some_and(|u| u["update_id"].as_i64().unwrap_or(0) < offset)
            {
                self.updates.pop_front();
            }
        } else if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        }
    }

    /// Up to `limit` queued updates of the allowed kinds (the others are dropped, never
    /// delivered).
    fn batch(&mut self, limit: usize) -> Vec<Value> {
        if let Some(allowed) = &self.allowed_updates {
            self.updates.retain(|u| {
                u.as_object().is_some_and(|o| {
                    o.keys()
                        .any(|k| k != "update_id" && allowed.iter().any(|a| a == k))
                })
            });
        }
        self.updates.iter().take(limit).cloned().collect()
    }

    fn dispatch(
        &mut self,
        cfg: &FakeConfig,
        method: &str,
        p: &Params,
        files: &[FilePart],
    ) -> Answer {
        match method {
            "getme" => Answer::ok(json!({
                "id": self.bot_id,
                "is_bot": true,
                "first_name": cfg.first_name,
                "username": cfg.username,
                "can_join_groups": true,
                "can_read_all_group_messages": false,
                "supports_inline_queries": true,
                "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "deletewebhook" => {
                if param_bool(p, "drop_pending_updates") {
                    self.updates.clear();
                }
                match self.webhook.take() {
                    Some(_) => Answer::ok_described(json!(true), "Webhook was deleted"),
                    None => Answer::ok_described(json!(true), "Webhook is already deleted"),
                }
            }
            "setwebhook" => match param_str(p, "url").filter(|u| !u.is_empty()) {
                Some(url) => {
                    self.webhook = Some(url);
                    Answer::ok_described(json!(true), "Webhook was set")
                }
                None => {
                    self.webhook = None;
                    Answer::ok_described(json!(true), "Webhook was deleted")
                }
            },
            "getwebhookinfo" => Answer::ok(json!({
                "url": self.webhook.clone().unwrap_or_default(),
                "has_custom_certificate": false,
                "pending_update_count": self.updates.len(),
            })),
            "setmycommands" => {
                self.commands = param_json(p, "commands").unwrap_or(Value::Null);
                Answer::ok(json!(true))
            }
            "getmycommands" => Answer::ok(match &self.commands {
                Value::Null => json!([]),
                c => c.clone(),
            }),
            "deletemycommands" => {
                self.commands = Value::Null;
                Answer::ok(json!(true))
            }
            "sendchataction" => match self.chat_for(p, true) {
                Ok(_) => Answer::ok(json!(true)),
                Err(a) => a,
            },
            "answercallbackquery" => {
                let id = param_str(p, "callback_query_id").unwrap_or_default();
                if self.open_callbacks.remove(&id) {
                    Answer::ok(json!(true))
                } else {
                    Answer::bad_request(
                        "query is too old and response timeout expired or query ID is invalid",
                    )
                }
            }
            "answerinlinequery" => self.answer_inline(cfg, p),
            "sendmessage" | "sendphoto" => self.send(cfg, method == "sendphoto", p, files),
            "editmessagetext" | "editmessagecaption" => {
                self.edit(cfg, method == "editmessagecaption", p)
            }
            _ => Answer::error(404, "Not Found"),
        }
    }

    /// The chat a call is addressed to, or Telegram's answer when it cannot be: no
    /// chat_id, an upgraded group, a user who blocked the bot (when `sending`).
    fn chat_for(&self, p: &Params, sending: bool) -> Result<i64, Answer> {
        let chat_id = match p.get("chat_id") {
            None | Some(Value::Null) => return Err(Answer::bad_request("chat_id is empty")),
            Some(_) => {
                param_i64(p, "chat_id").ok_or_else(|| Answer::bad_request("chat not found"))?
            }
        };
        if chat_id == 0 {
            return Err(Answer::bad_request("chat not found"));
        }
        if let Some(&to) = self.migrated.get(&chat_id) {
            return Err(Answer::error_with(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                json!({ "migrate_to_chat_id": to }),
            ));
        }
        if sending && self.blocked.contains(&chat_id) {
            return Err(Answer::error(403, "Forbidden: bot was blocked by the user"));
        }
        Ok(chat_id)
    }

    /// Room in the rate windows for one more message-sending call to `chat` (or to no
    /// chat: an inline message); taken when there is, else the wait.
    fn admit(&mut self, cfg: &FakeConfig, chat: Option<i64>, now: Instant) -> Result<(), Duration> {
        let longest_global = cfg.global.map_or(Duration::ZERO, |l| l.per);
        while self
            .global_window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= longest_global)
        {
            self.global_window.pop_front();
        }
        let mut wait = cfg.global.and_then(|l| l.wait(&self.global_window, now));
        if let Some(chat) = chat {
            let limits: Vec<RateLimit> = cfg
                .per_chat
                .into_iter()
                .chain(cfg.per_group.filter(|_| chat < 0))
                .collect();
            let longest = limits.iter().map(|l| l.per).max().unwrap_or(Duration::ZERO);
            let times = self.chat_windows.entry(chat).or_default();
            while times
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= longest)
            {
                times.pop_front();
            }
            for l in &limits {
                if let Some(w) = l.wait(times, now) {
                    wait = Some(wait.map_or(w, |x| x.max(w)));
                }
            }
        }
        if let Some(w) = wait {
            return Err(w);
        }
        if cfg.global.is_some() {
            self.global_window.push_back(now);
        }
        if let Some(chat) = chat {
            if cfg.per_chat.is_some() || (chat < 0 && cfg.per_group.is_some()) {
                self.chat_windows.entry(chat).or_default().push_back(now);
            } else {
                self.chat_windows.remove(&chat);
            }
        }
        Ok(())
    }

    fn send(&mut self, cfg: &FakeConfig, photo: bool, p: &Params, files: &[FilePart]) -> Answer {
        if let Some(status) = self.fail_next.pop_front() {
            return Answer::server_error(status);
        }
        let chat_id = match self.chat_for(p, true) {
            Ok(id) => id,
            Err(a) => return a,
        };
        let (key, max, too_long) = if photo {
            ("caption", cfg.max_caption, "message caption is too long")
        } else {
            ("text", cfg.max_text, "message is too long")
        };
        let source = param_str(p, key).unwrap_or_default();
        let parse_mode = param_str(p, "parse_mode");
        let content =
            match Content::parse(cfg, &source, parse_mode.as_deref(), !photo, max, too_long) {
                Ok(c) => c,
                Err(a) => return a,
            };
        let markup = param_json(p, "reply_markup").unwrap_or(Value::Null);
        if let Err(a) = check_keyboard(cfg, &markup) {
            return a;
        }
        let photo = if photo {
            match photo_file(p, files) {
                Some(f) => Some(f),
                None => return Answer::bad_request("there is no photo in the request"),
            }
        } else {
            None
        };
        let now = Instant::now();
        if let Err(wait) = self.admit(cfg, Some(chat_id), now) {
            return Answer::too_many(wait);
        }
        let message_id = self.next_message_id(chat_id);
        let mut m = SentMessage {
            chat_id,
            message_id,
            text: source,
            plain: content.plain.clone(),
            parse_mode,
            photo,
            reply_markup: inline_keyboard(&markup),
            at: now,
            edited_at: None,
            edits: 0,
            json: Value::Null,
        };
        m.json = message_json(cfg, self.bot_id, &m, &content, unix_now(), None);
        let result = m.json.clone();
        self.index
            .insert((chat_id, message_id), self.messages.len());
        self.messages.push(m);
        Answer::ok(result)
    }

    fn edit(&mut self, cfg: &FakeConfig, caption: bool, p: &Params) -> Answer {
        let (key, max, too_long) = if caption {
            ("caption", cfg.max_caption, "message caption is too long")
        } else {
            ("text", cfg.max_text, "message is too long")
        };
        let source = param_str(p, key).unwrap_or_default();
        let parse_mode = param_str(p, "parse_mode");
        let markup = param_json(p, "reply_markup").unwrap_or(Value::Null);
        if param_str(p, "inline_message_id").is_some() {
            if let Err(a) =
                Content::parse(cfg, &source, parse_mode.as_deref(), !caption, max, too_long)
                    .and_then(|_| check_keyboard(cfg, &markup))
            {
                return a;
            }
            if let Err(wait) = self.admit(cfg, None, Instant::now()) {
                return Answer::too_many(wait);
            }
            self.edits += 1;
            return Answer::ok(json!(true));
        }
        let chat_id = match self.chat_for(p, false) {
            Ok(id) => id,
            Err(a) => return a,
        };
        let Some(message_id) = param_i64(p, "message_id") else {
            return Answer::bad_request("message identifier is not specified");
        };
        let content =
            match Content::parse(cfg, &source, parse_mode.as_deref(), !caption, max, too_long) {
                Ok(c) => c,
                Err(a) => return a,
            };
        if let Err(a) = check_keyboard(cfg, &markup) {
            return a;
        }
        let Some(&i) = self.index.get(&(chat_id, message_id)) else {
            return Answer::bad_request("message to edit not found");
        };
        let old = &self.messages[i];
        if caption && old.photo.is_none() {
            return Answer::bad_request("there is no caption in the message to edit");
        }
        if !caption && old.photo.is_some() {
            return Answer::bad_request("there is no text in the message to edit");
        }
        let keyboard = inline_keyboard(&markup);
        let (text_key, entities_key) = if caption {
            ("caption", "caption_entities")
        } else {
            ("text", "entities")
        };
        let same_text = old.json[text_key].as_str().unwrap_or_default() == content.plain;
        let same_entities = old.json[entities_key]
            .as_array()
            .cloned()
            .unwrap_or_default()
            == content.entities;
        if same_text && same_entities && old.reply_markup == keyboard {
            return Answer::bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            );
        }
        let now = Instant::now();
        if let Err(wait) = self.admit(cfg, Some(chat_id), now) {
            return Answer::too_many(wait);
        }
        self.edits += 1;
        let bot_id = self.bot_id;
        let m = &mut self.messages[i];
        let date = m.json["date"].as_u64().unwrap_or_else(unix_now);
        m.text = source;
        m.plain = content.plain.clone();
        m.parse_mode = parse_mode;
        m.reply_markup = keyboard;
        m.edited_at = Some(now);
        m.edits += 1;
        m.json = message_json(cfg, bot_id, m, &content, date, Some(unix_now()));
        Answer::ok(m.json.clone())
    }

    fn answer_inline(&mut self, cfg: &FakeConfig, p: &Params) -> Answer {
        let id = param_str(p, "inline_query_id").unwrap_or_default();
        let results = param_json(p, "results").unwrap_or(Value::Null);
        let Some(results) = results.as_array() else {
            return Answer::bad_request("results is empty");
        };
        if results.len() > 50 {
            return Answer::bad_request("RESULTS_TOO_MUCH");
        }
        for r in results {
            let content = &r["input_message_content"];
            if let Some(text) = content["message_text"].as_str()
                && let Err(a) = Content::parse(
                    cfg,
                    text,
                    content["parse_mode"].as_str(),
                    true,
                    cfg.max_text,
                    "message is too long",
                )
            {
                return a;
            }
            if let Err(a) = check_keyboard(cfg, &r["reply_markup"]) {
                return a;
            }
        }
        if self.open_inline.remove(&id) {
            Answer::ok(json!(true))
        } else {
            Answer::bad_request(
                "query is too old and response timeout expired or query ID is invalid",
            )
        }
    }
}

/// A text or caption as Telegram keeps it.
struct Content {
    plain: String,
    entities: Vec<Value>,
}

impl Content {
    /// Telegram's checks on a text (`required`) or caption: the parse mode, the HTML,
    /// emptiness, the length after entities parsing.
    fn parse(
        cfg: &FakeConfig,
        source: &str,
        parse_mode: Option<&str>,
        required: bool,
        max: Option<usize>,
        too_long: &str,
    ) -> Result<Self, Answer> {
        let (plain, entities) = match parse_mode.map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => (source.to_owned(), Vec::new()),
            Some("html") if cfg.check_markup => parse_html(source)
                .map_err(|e| Answer::bad_request(&format!("can't parse entities: {e}")))?,
            Some("html") => (source.to_owned(), Vec::new()),
            // Not parsed here: kept as sent.
            Some("markdown" | "markdownv2") => (source.to_owned(), Vec::new()),
            Some(_) => return Err(Answer::bad_request("unsupported parse_mode")),
        };
        let (plain, entities) = trim(plain, entities);
        if required && plain.is_empty() {
            return Err(Answer::bad_request("message text is empty"));
        }
        if max.is_some_and(|max| utf16_len(&plain) > max) {
            return Err(Answer::bad_request(too_long));
        }
        Ok(Self {
            plain,
            entities: entities.iter().map(Entity::to_json).collect(),
        })
    }
}

/// Telegram drops leading and trailing white space (entities shrink with it).
fn trim(plain: String, entities: Vec<Entity>) -> (String, Vec<Entity>) {
    let trimmed = plain.trim();
    if trimmed.len() == plain.len() {
        return (plain, entities);
    }
    let start = plain.len() - plain.trim_start().len();
    let lead = utf16_len(&plain[..start]);
    let end = lead + utf16_len(trimmed);
    let entities = entities
        .into_iter()
        .filter_map(|mut e| {
            let from = e.offset.clamp(lead, end);
            let to = (e.offset + e.length).clamp(lead, end);
            (to > from).then(|| {
                e.offset = from - lead;
                e.length = to - from;
                e
            })
        })
        .collect();
    (trimmed.to_owned(), entities)
}

/// A message entity of the parsed HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entity {
    kind: &'static str,
    offset: usize,
    length: usize,
    url: Option<String>,
    language: Option<String>,
    custom_emoji_id: Option<String>,
}

impl Entity {
    fn to_json(&self) -> Value {
        let mut v = json!({"type": self.kind, "offset": self.offset, "length": self.length});
        if let Some(url) = &self.url {
            v["url"] = json!(url);
        }
        if let Some(language) = &self.language {
            v["language"] = json!(language);
        }
        if let Some(id) = &self.custom_emoji_id {
            v["custom_emoji_id"] = json!(id);
        }
        v
    }
}

/// The tags of Telegram's HTML style.
const TAGS: [&str; 16] = [
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

/// An HTML character reference at `i` (`&lt;`, `&gt;`, `&amp;`, `&quot;`, `&#NN;`,
/// `&#xHH;`, the `;` optional): the character and where the text goes on. Any other
/// `&` is a literal ampersand.
fn decode_entity(text: &str, i: usize) -> Option<(char, usize)> {
    let b = text.as_bytes();
    let mut end = i + 1;
    let c = if b.get(end) == Some(&b'#') {
        end += 1;
        let hex = b.get(end) == Some(&b'x');
        if hex {
            end += 1;
        }
        let digits = end;
        while b.get(end).is_some_and(|c| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        }) {
            end += 1;
        }
        if end == digits || end - i >= 10 {
            return None;
        }
        let n = u32::from_str_radix(&text[digits..end], if hex { 16 } else { 10 }).ok()?;
        char::from_u32(n).filter(|&c| c != '\0')?
    } else {
        while b.get(end).is_some_and(u8::is_ascii_alphabetic) {
            end += 1;
        }
        match &text[i + 1..end] {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            _ => return None,
        }
    };
    if b.get(end) == Some(&b';') {
        end += 1;
    }
    Some((c, end))
}

struct OpenTag {
    name: String,
    argument: Option<String>,
    expandable: bool,
    offset: usize,
    /// Where the tag's text starts (after `>`), for `<a>` without href.
    text_start: usize,
}

/// Telegram's HTML (the TDLib parser's rules): the text without tags, with character
/// references decoded, and its entities (UTF-16 offsets); or the reason it cannot be
/// parsed, in TDLib's words.
fn parse_html(text: &str) -> Result<(String, Vec<Entity>), String> {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = String::with_capacity(n);
    let mut offset = 0_usize;
    let mut open: Vec<OpenTag> = Vec::new();
    let mut entities: Vec<Entity> = Vec::new();
    let mut i = 0;
    while i < n {
        if b[i] == b'&'
            && let Some((c, next)) = decode_entity(text, i)
        {
            out.push(c);
            offset += c.len_utf16();
            i = next;
            continue;
        }
        if b[i] != b'<' {
            let c = text[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(c);
            offset += c.len_utf16();
            i += c.len_utf8().max(1);
            continue;
        }
        let begin = i;
        i += 1;
        if b.get(i) != Some(&b'/') {
            // A start tag.
            let name_start = i;
            while i < n && !is_space(b[i]) && b[i] != b'>' {
                i += 1;
            }
            if i >= n {
                return Err(format!("Unclosed start tag at byte offset {begin}"));
            }
            let name = text[name_start..i].to_ascii_lowercase();
            if !TAGS.contains(&name.as_str()) {
                return Err(format!(
                    "Unsupported start tag \"{name}\" at byte offset {begin}"
                ));
            }
            let mut argument: Option<String> = None;
            let mut expandable = false;
            while b[i] != b'>' {
                while i < n && is_space(b[i]) {
                    i += 1;
                }
                if i >= n {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                if b[i] == b'>' {
                    break;
                }
                let attr_start = i;
                while i < n && !is_space(b[i]) && !b"=>/\"'".contains(&b[i]) {
                    i += 1;
                }
                let attr = text[attr_start..i].to_ascii_lowercase();
                if attr.is_empty() {
                    return Err(format!(
                        "Empty attribute name in the tag \"{name}\" at byte offset {begin}"
                    ));
                }
                while i < n && is_space(b[i]) {
                    i += 1;
                }
                if i >= n {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                if b[i] != b'=' {
                    if name == "blockquote" && attr == "expandable" {
                        expandable = true;
                    }
                    continue;
                }
                i += 1;
                while i < n && is_space(b[i]) {
                    i += 1;
                }
                if i >= n {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                let value = if b[i] == b'"' || b[i] == b'\'' {
                    let quote = b[i];
                    i += 1;
                    let mut v = String::new();
                    while i < n && b[i] != quote {
                        if b[i] == b'&'
                            && let Some((c, next)) = decode_entity(text, i)
                        {
                            v.push(c);
                            i = next;
                            continue;
                        }
                        let c = text[i..].chars().next().unwrap_or('\u{fffd}');
                        v.push(c);
                        i += c.len_utf8().max(1);
                    }
                    if i < n {
                        i += 1;
                    }
                    v
                } else {
                    let value_start = i;
                    while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'-') {
                        i += 1;
                    }
                    if i >= n || (!is_space(b[i]) && b[i] != b'>') {
                        return Err(format!("Unexpected end of name token at byte offset {i}"));
                    }
                    text[value_start..i].to_ascii_lowercase()
                };
                if i >= n {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                match (name.as_str(), attr.as_str()) {
                    ("a", "href") | ("tg-emoji", "emoji-id") => argument = Some(value),
                    ("code", "class") => {
                        if let Some(language) = value.strip_prefix("language-") {
                            argument = Some(language.to_owned());
                        }
                    }
                    ("span", "class") => {
                        if let Some(class) = value.strip_prefix("tg-") {
                            argument = Some(class.to_owned());
                        }
                    }
                    ("blockquote", "expandable") => expandable = true,
                    _ => {}
                }
            }
            i += 1;
            if name == "span" && argument.as_deref() != Some("spoiler") {
                return Err(format!(
                    "Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"
                ));
            }
            open.push(OpenTag {
                name,
                argument,
                expandable,
                offset,
                text_start: out.len(),
            });
        } else {
            // An end tag.
            if open.is_empty() {
                return Err(format!("Unexpected end tag at byte offset {begin}"));
            }
            i += 1;
            let name_start = i;
            while i < n && !is_space(b[i]) && b[i] != b'>' {
                i += 1;
            }
            let end_name = text[name_start..i].to_ascii_lowercase();
            while i < n && is_space(b[i]) {
                i += 1;
            }
            if i >= n || b[i] != b'>' {
                return Err(format!("Unclosed end tag at byte offset {begin}"));
            }
            i += 1;
            let tag = open
                .pop()
                .unwrap_or_else(|| unreachable!("checked non-empty"));
            if !end_name.is_empty() && end_name != tag.name {
                return Err(format!(
                    "Unmatched end tag at byte offset {begin}, expected \"</{}>\", found \"</{end_name}>\"",
                    tag.name
                ));
            }
            if offset > tag.offset
                && let Some(e) = close_tag(tag, offset, &out, &mut entities)?
            {
                entities.push(e);
            }
        }
    }
    if let Some(tag) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            tag.name
        ));
    }
    finish_entities(&mut entities);
    // Telegram lists entities by offset, the outer (longer) one first.
    entities.sort_by_key(|e| (e.offset, std::cmp::Reverse(e.length)));
    Ok((out, entities))
}

/// The entity of a closed (non-empty) tag; `<pre>` around a `<code>` of the same
/// span turns it into a pre entity with the code's language.
fn close_tag(
    tag: OpenTag,
    end: usize,
    out: &str,
    entities: &mut [Entity],
) -> Result<Option<Entity>, String> {
    let mut e = Entity {
        kind: "",
        offset: tag.offset,
        length: end - tag.offset,
        url: None,
        language: None,
        custom_emoji_id: None,
    };
    e.kind = match tag.name.as_str() {
        "b" | "strong" => "bold",
        "i" | "em" => "italic",
        "u" | "ins" => "underline",
        "s" | "strike" | "del" => "strikethrough",
        "tg-spoiler" | "span" => "spoiler",
        "blockquote" if tag.expandable => "expandable_blockquote",
        "blockquote" => "blockquote",
        "code" => {
            // The language only survives inside a pre (see below).
            e.language = tag.argument;
            "code"
        }
        "pre" => {
            if let Some(last) = entities.last_mut()
                && last.kind == "code"
                && last.offset == e.offset
                && last.length == e.length
            {
                last.kind = "pre";
                return Ok(None);
            }
            "pre"
        }
        "a" => {
            let url = tag
                .argument
                .unwrap_or_else(|| out[tag.text_start..].to_owned());
            if url.is_empty() {
                return Ok(None);
            }
            e.url = Some(url);
            "text_link"
        }
        "tg-emoji" => {
            let id = tag
                .argument
                .filter(|id| id.parse::<i64>().is_ok())
                .ok_or_else(|| "Invalid custom emoji identifier specified".to_owned())?;
            e.custom_emoji_id = Some(id);
            "custom_emoji"
        }
        other => unreachable!("tag {other} is not in TAGS"),
    };
    Ok(Some(e))
}

/// Drops the language of standalone code entities (Telegram: it "can't be specified
/// for standalone code tags").
fn finish_entities(entities: &mut [Entity]) {
    for e in entities {
        if e.kind == "code" {
            e.language = None;
        }
    }
}

fn buttons(markup: &Value) -> impl Iterator<Item = &Value> {
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
}

/// Callback data of 1–64 bytes (InlineKeyboardButton).
fn check_keyboard(cfg: &FakeConfig, markup: &Value) -> Result<(), Answer> {
    if !cfg.check_markup {
        return Ok(());
    }
    for b in buttons(markup) {
        if let Some(data) = b.get("callback_data") {
            let len = data.as_str().map_or(0, str::len);
            if !(1..=64).contains(&len) {
                return Err(Answer::bad_request("BUTTON_DATA_INVALID"));
            }
        }
    }
    Ok(())
}

/// Only an inline keyboard is kept with a message (and echoed in the result).
fn inline_keyboard(markup: &Value) -> Value {
    if markup.get("inline_keyboard").is_some() {
        markup.clone()
    } else {
        Value::Null
    }
}

/// The photo of a sendPhoto: an uploaded part (`attach://name` or the part named
/// `photo`), or a file_id / URL string.
fn photo_file(p: &Params, files: &[FilePart]) -> Option<PhotoFile> {
    let by_name = |name: &str| {
        files.iter().find(|f| f.name == name).map(|f| PhotoFile {
            file_name: Some(f.file_name.clone()),
            bytes: f.bytes,
        })
    };
    match param_str(p, "photo") {
        Some(v) => match v.strip_prefix("attach://") {
            Some(name) => by_name(name),
            None if v.is_empty() => None,
            None => Some(PhotoFile {
                file_name: None,
                bytes: 0,
            }),
        },
        None => by_name("photo"),
    }
}

fn message_json(
    cfg: &FakeConfig,
    bot_id: i64,
    m: &SentMessage,
    content: &Content,
    date: u64,
    edit_date: Option<u64>,
) -> Value {
    let mut v = json!({
        "message_id": m.message_id,
        "from": {
            "id": bot_id,
            "is_bot": true,
            "first_name": cfg.first_name,
            "username": cfg.username,
        },
        "chat": chat_json(m.chat_id),
        "date": date,
    });
    let (text_key, entities_key) = match &m.photo {
        Some(photo) => {
            v["photo"] = json!([{
                "file_id": format!("AgACAgIAAxkDAAI{}_{}", m.chat_id.unsigned_abs(), m.message_id),
                "file_unique_id": format!("AQAD{}_{}", m.chat_id.unsigned_abs(), m.message_id),
                "file_size": photo.bytes,
                "width": 64,
                "height": 64,
            }]);
            ("caption", "caption_entities")
        }
        None => ("text", "entities"),
    };
    if m.photo.is_none() || !content.plain.is_empty() {
        v[text_key] = json!(content.plain);
    }
    if !content.entities.is_empty() {
        v[entities_key] = Value::Array(content.entities.clone());
    }
    if let Some(d) = edit_date {
        v["edit_date"] = json!(d);
    }
    if !m.reply_markup.is_null() {
        v["reply_markup"] = m.reply_markup.clone();
    }
    v
}

/// A chat as Telegram describes it from its id: positive ids are users' private
/// chats, `-100…` supergroups, other negative ids basic groups
/// (<https://core.telegram.org/api/bots/ids>).
fn chat_json(chat_id: i64) -> Value {
    if chat_id > 0 {
        json!({"id": chat_id, "type": "private", "first_name": "Tester", "username": format!("tester{chat_id}")})
    } else if chat_id <= -1_000_000_000_000 {
        json!({"id": chat_id, "type": "supergroup", "title": format!("Group {chat_id}")})
    } else {
        json!({"id": chat_id, "type": "group", "title": format!("Group {chat_id}")})
    }
}

fn user_json(user_id: i64) -> Value {
    json!({
        "id": user_id,
        "is_bot": false,
        "first_name": "Tester",
        "username": format!("tester{user_id}"),
        "language_code": "en",
    })
}

/// The bot's id: the number before the token's `:`, as Telegram's tokens carry it.
fn bot_id(token: &str) -> i64 {
    token
        .split(':')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The call's parameters: the query string, then the body (JSON, form-urlencoded or
/// multipart/form-data), with multipart file parts apart.
fn read_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> (Params, Vec<FilePart>) {
    let mut params = Params::new();
    let mut files = Vec::new();
    if let Some(q) = uri.query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "multipart/form-data" => {
            if let Some(boundary) = content_type.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix("boundary=")
                    .map(|b| b.trim_matches('"').to_owned())
            }) {
                parse_multipart(body, &boundary, &mut params, &mut files);
            }
        }
        "application/x-www-form-urlencoded" => {
            for (k, v) in url::form_urlencoded::parse(body) {
                params.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        _ => {
            if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
                params.extend(o);
            }
        }
    }
    (params, files)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn parse_multipart(body: &[u8], boundary: &str, params: &mut Params, files: &mut Vec<FilePart>) {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let Some(mut at) = find(body, delimiter, 0) else {
        return;
    };
    loop {
        let start = at + delimiter.len();
        if body.get(start..start + 2) == Some(b"--") {
            return;
        }
        let Some(next) = find(body, delimiter, start) else {
            return;
        };
        let part = &body[start..next];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        if let Some(split) = find(part, b"\r\n\r\n", 0) {
            let head = String::from_utf8_lossy(&part[..split]);
            let content = &part[split + 4..];
            let attr = |key: &str| {
                let pat = format!("{key}=\"");
                head.find(&pat).and_then(|s| {
                    let rest = &head[s + pat.len()..];
                    rest.find('"').map(|e| rest[..e].to_owned())
                })
            };
            // `name=` also matches inside `filename=`: look for the standalone one.
            let name = head.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix("name=\"")
                    .map(|r| r.trim_end_matches('"').to_owned())
            });
            if let Some(name) = name {
                match attr("filename") {
                    Some(file_name) => files.push(FilePart {
                        name,
                        file_name,
                        bytes: content.len(),
                    }),
                    None => {
                        params.insert(
                            name,
                            Value::String(String::from_utf8_lossy(content).into_owned()),
                        );
                    }
                }
            }
        }
        at = next;
    }
}

fn param_str(p: &Params, key: &str) -> Option<String> {
    match p.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        v => Some(v.to_string()),
    }
}

fn param_i64(p: &Params, key: &str) -> Option<i64> {
    match p.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn param_bool(p: &Params, key: &str) -> bool {
    match p.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

/// A JSON-serialized parameter (sent as JSON in a JSON body, as text in a form).
fn param_json(p: &Params, key: &str) -> Option<Value> {
    match p.get(key)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Null => None,
        v => Some(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};
    use teloxide::prelude::*;
    use teloxide::types::{
        CallbackQueryId, InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryId,
        InlineQueryResult, InlineQueryResultArticle, InputFile, InputMessageContent,
        InputMessageContentText, MessageEntityKind, ParseMode, UpdateKind,
    };
    use teloxide::{ApiError, RequestError};

    use super::{FakeBotApi, FakeConfig, RateLimit};
    use crate::harness::{BotProcess, WAIT, http};

    const TOKEN: &str = "4242:fake-bot-api-test";

    /// One call with a JSON body: (status, answer).
    async fn call(fake: &FakeBotApi, method: &str, body: Value) -> (u16, Value) {
        let path = format!("/bot{TOKEN}/{method}");
        let (status, text) = http(fake.port(), "POST", &path, &[], &body.to_string()).await;
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    async fn say(fake: &FakeBotApi, chat_id: i64, text: &str) -> (u16, Value) {
        call(
            fake,
            "SendMessage",
            json!({"chat_id": chat_id, "text": text}),
        )
        .await
    }

    async fn say_html(fake: &FakeBotApi, chat_id: i64, text: &str) -> (u16, Value) {
        let body = json!({"chat_id": chat_id, "text": text, "parse_mode": "HTML"});
        call(fake, "sendMessage", body).await
    }

    fn retry_after(answer: &Value) -> u64 {
        assert_eq!(answer["ok"], json!(false), "{answer}");
        assert_eq!(answer["error_code"], json!(429), "{answer}");
        let secs = answer["parameters"]["retry_after"]
            .as_u64()
            .unwrap_or_else(|| panic!("no retry_after: {answer}"));
        assert_eq!(
            answer["description"],
            json!(format!("Too Many Requests: retry after {secs}")),
            "{answer}"
        );
        secs
    }

    #[tokio::test]
    async fn thirty_one_sends_within_a_second_get_exactly_one_429() {
        let fake = FakeBotApi::start(FakeConfig::default()).await;
        let started = Instant::now();
        let answers =
            futures_util::future::join_all((1..=31).map(|chat| say(&fake, chat, "hello"))).await;
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(1),
            "31 sends took {elapsed:?}"
        );
        let refused: Vec<&Value> = answers
            .iter()
            .filter(|(status, _)| *status == 429)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(refused.len(), 1, "{answers:#?}");
        assert!(retry_after(refused[0]) >= 1);
        assert!(
            answers.iter().all(|(s, _)| *s == 200 || *s == 429),
            "{answers:#?}"
        );
        assert_eq!(fake.sent_count(), 30);
        assert_eq!(fake.rejected_429(), 1);
        // Calls that do not send messages are not counted.
        let (status, _) = call(
            &fake,
            "answerCallbackQuery",
            json!({"callback_query_id": "x"}),
        )
        .await;
        assert_eq!(status, 400, "refused as an unknown query, not as too many");
        let (status, _) = call(&fake, "getMe", json!({})).await;
        assert_eq!(status, 200);
        let (status, _) = call(&fake, "getUpdates", json!({"timeout": 0})).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_chats_second_message_within_a_second_gets_429() {
        let fake = FakeBotApi::start(FakeConfig::default()).await;
        let (status, first) = say(&fake, 5, "one").await;
        assert_eq!(status, 200, "{first}");
        let (status, second) = say(&fake, 5, "two").await;
        assert_eq!(status, 429, "{second}");
        assert_eq!(retry_after(&second), 1);
        // An edit in that chat counts too.
        let edit =
            json!({"chat_id": 5, "message_id": first["result"]["message_id"], "text": "one!"});
        let (status, answer) = call(&fake, "editMessageText", edit.clone()).await;
        assert_eq!(status, 429, "{answer}");
        // Another chat is free.
        assert_eq!(say(&fake, 6, "other").await.0, 200);
        // The refused call took no room: a second later the chat has room again.
        tokio::time::sleep(Duration::from_millis(1050)).await;
        let (status, answer) = say(&fake, 5, "two").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result"]["message_id"], json!(2));
        assert_eq!(
            fake.messages_in(5)
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(fake.rejected_429(), 2);
        let stored = fake.messages_in(5);
        assert!(stored[1].at.duration_since(stored[0].at) >= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_groups_twenty_first_message_in_its_window_gets_429() {
        // Telegram's window: 20 a minute (alone: no per-chat or global limit).
        let fake = FakeBotApi::start(FakeConfig {
            per_chat: None,
            global: None,
            ..FakeConfig::default()
        })
        .await;
        let group = -1_001_234_567_890;
        for i in 0..20 {
            let (status, answer) = say(&fake, group, &format!("n{i}")).await;
            assert_eq!(status, 200, "{answer}");
        }
        let (status, answer) = say(&fake, group, "n20").await;
        assert_eq!(status, 429, "{answer}");
        assert!((59..=60).contains(&retry_after(&answer)), "{answer}");
        // Private chats have no such window.
        for i in 0..21 {
            assert_eq!(say(&fake, 77, &format!("p{i}")).await.0, 200);
            tokio::time::sleep(Duration::from_millis(40)).await;
        }

        // A short window, to see it slide.
        let fake = FakeBotApi::start(FakeConfig {
            per_chat: None,
            per_group: Some(RateLimit::new(20, Duration::from_millis(1500))),
            ..FakeConfig::default()
        })
        .await;
        for i in 0..20 {
            assert_eq!(say(&fake, -42, &format!("n{i}")).await.0, 200);
        }
        let (status, answer) = say(&fake, -42, "n20").await;
        assert_eq!(status, 429, "{answer}");
        assert!((1..=2).contains(&retry_after(&answer)), "{answer}");
        tokio::time::sleep(Duration::from_millis(1550)).await;
        let (status, answer) = say(&fake, -42, "n20").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(fake.sent_count(), 21);
    }

    #[tokio::test]
    async fn a_thousand_chats_each_have_their_own_window() {
        let fake = FakeBotApi::start(FakeConfig {
            global: None,
            // A long per-chat window: the second round is refused however slow the
            // machine.
            per_chat: Some(RateLimit::new(1, Duration::from_secs(60))),
            ..FakeConfig::default()
        })
        .await;
        let chats: Vec<i64> = (1..=500)
            .chain((1..=500).map(|i| -1_000_000_000_000 - i))
            .collect();
        let started = Instant::now();
        for round in 0..2 {
            for chunk in chats.chunks(100) {
                let answers =
                    futures_util::future::join_all(chunk.iter().map(|&c| say(&fake, c, "hi")))
                        .await;
                let want = if round == 0 { 200 } else { 429 };
                assert!(
                    answers.iter().all(|(s, _)| *s == want),
                    "round {round}: {answers:?}"
                );
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(fake.sent_count(), 1000);
        assert_eq!(fake.rejected_429(), 1000);
    }

    #[tokio::test]
    async fn limits_can_be_turned_off() {
        let fake = FakeBotApi::start(FakeConfig::unlimited()).await;
        for i in 0..40 {
            assert_eq!(say(&fake, -42, &format!("n{i}")).await.0, 200);
        }
        assert_eq!(fake.rejected_429(), 0);
    }

    #[tokio::test]
    async fn html_outside_telegrams_subset_is_refused() {
        let fake = FakeBotApi::start(FakeConfig::unlimited()).await;
        let (status, answer) = say_html(
            &fake,
            1,
            "<b>bold</b> &lt;tag&gt; &amp; <a href=\"https://example.com/?a=1&amp;b=2\">link</a>",
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let m = &answer["result"];
        assert_eq!(m["text"], json!("bold <tag> & link"));
        assert_eq!(
            m["entities"],
            json!([
                {"type": "bold", "offset": 0, "length": 4},
                {"type": "text_link", "offset": 13, "length": 4, "url": "https://example.com/?a=1&b=2"},
            ])
        );
        let ok = [
            "<strong>a</strong><i>b</i><em>c</em><u>d</u><ins>e</ins><s>f</s><strike>g</strike><del>h</del>",
            "<span class=\"tg-spoiler\">s</span> <tg-spoiler>t</tg-spoiler>",
            "<code>x</code> <pre>y</pre> <pre><code class=\"language-rust\">z</code></pre>",
            "<blockquote>q</blockquote><blockquote expandable>r</blockquote>",
            "<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>",
            "<B>upper case tags</B> 1 > 0 & a lone ampersand &nbsp;",
        ];
        for text in ok {
            let (status, answer) = say_html(&fake, 1, text).await;
            assert_eq!(status, 200, "{text}: {answer}");
        }
        let (_, answer) = say_html(&fake, 1, ok[2]).await;
        assert_eq!(
            answer["result"]["entities"],
            json!([
                {"type": "code", "offset": 0, "length": 1},
                {"type": "pre", "offset": 2, "length": 1},
                {"type": "pre", "offset": 4, "length": 1, "language": "rust"},
            ])
        );
        let refused = [
            (
                "<div>x</div>",
                "Unsupported start tag \"div\" at byte offset 0",
            ),
            (
                "a <br/> b",
                "Unsupported start tag \"br/\" at byte offset 2",
            ),
            (
                "<b>x",
                "Can't find end tag corresponding to start tag \"b\"",
            ),
            (
                "<b>x</i>",
                "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\"",
            ),
            ("x</b>", "Unexpected end tag at byte offset 1"),
            ("1 < 2", "Unsupported start tag \"\" at byte offset 2"),
            ("a <b", "Unclosed start tag at byte offset 2"),
            (
                "<span class=\"x\">y</span>",
                "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0",
            ),
            (
                "<tg-emoji emoji-id=\"abc\">👍</tg-emoji>",
                "Invalid custom emoji identifier specified",
            ),
        ];
        for (text, why) in refused {
            let (status, answer) = say_html(&fake, 1, text).await;
            assert_eq!(status, 400, "{text}: {answer}");
            assert_eq!(
                answer["description"],
                json!(format!("Bad Request: can't parse entities: {why}")),
                "{text}"
            );
        }
        // Without parse_mode the same text is plain.
        assert_eq!(say(&fake, 1, "<div>x</div>").await.0, 200);
        assert_eq!(fake.sent_count(), 1 + ok.len() + 1 + 1);
    }

    #[tokio::test]
    async fn text_and_caption_lengths_are_telegrams() {
        let fake = FakeBotApi::start(FakeConfig::unlimited()).await;
        let too_long = json!("Bad Request: message is too long");
        assert_eq!(say(&fake, 1, &"a".repeat(4096)).await.0, 200);
        let (status, answer) = say(&fake, 1, &"a".repeat(4097)).await;
        assert_eq!((status, &answer["description"]), (400, &too_long));
        // Tags do not count; a character reference counts as one.
        let wrapped = format!("<b>{}</b>", "a".repeat(4096));
        assert_eq!(say_html(&fake, 1, &wrapped).await.0, 200);
        assert_eq!(say_html(&fake, 1, &"&lt;".repeat(4096)).await.0, 200);
        let (status, answer) = say_html(&fake, 1, &"&lt;".repeat(4097)).await;
        assert_eq!((status, &answer["description"]), (400, &too_long));
        // UTF-16 code units: an emoji outside the BMP counts two.
        assert_eq!(say(&fake, 1, &"😀".repeat(2048)).await.0, 200);
        let (status, answer) = say(&fake, 1, &"😀".repeat(2049)).await;
        assert_eq!((status, &answer["description"]), (400, &too_long));
        // Empty text, after trimming.
        for text in ["", "  \n ", "<b> </b>"] {
            let (status, answer) = say_html(&fake, 1, text).await;
            assert_eq!(status, 400, "{text:?}");
            assert_eq!(
                answer["description"],
                json!("Bad Request: message text is empty")
            );
        }
        // Captions: 1024 (a photo by file_id, in JSON, as the Bot API allows).
        let photo =
            |caption: String| json!({"chat_id": 2, "photo": "AgACAgIAAxkBAAI", "caption": caption});
        let (status, answer) = call(&fake, "sendPhoto", photo("c".repeat(1024))).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result"]["caption"], json!("c".repeat(1024)));
        let (status, answer) = call(&fake, "sendPhoto", photo("c".repeat(1025))).await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["description"],
            json!("Bad Request: message caption is too long")
        );
        let (status, answer) =
            call(&fake, "sendPhoto", json!({"chat_id": 2, "caption": "x"})).await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["description"],
            json!("Bad Request: there is no photo in the request")
        );
        // Callback data: 1-64 bytes.
        let keyboard = |data: String| json!({"chat_id": 3, "text": "k", "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": data}]]}});
        assert_eq!(
            call(&fake, "sendMessage", keyboard("d".repeat(64))).await.0,
            200
        );
        let (status, answer) = call(&fake, "sendMessage", keyboard("d".repeat(65))).await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["description"],
            json!("Bad Request: BUTTON_DATA_INVALID")
        );
        let (status, answer) = call(
            &fake,
            "sendMessage",
            json!({"chat_id": 3, "text": "x", "parse_mode": "Textile"}),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["description"],
            json!("Bad Request: unsupported parse_mode")
        );
    }

    #[tokio::test]
    async fn get_updates_long_polls_and_confirms_with_offset() {
        let fake = FakeBotApi::start(FakeConfig::default()).await;
        let poll = {
            let port = fake.port();
            tokio::spawn(async move {
                let started = Instant::now();
                let body = json!({"offset": 0, "timeout": 5, "allowed_updates": ["message", "callback_query"]});
                let (status, text) = http(
                    port,
                    "POST",
                    &format!("/bot{TOKEN}/GetUpdates"),
                    &[],
                    &body.to_string(),
                )
                .await;
                (status, text, started.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let message_id = fake.user_says(-1_001_000_000_001, 9, "/status@McstatTestBot example.org");
        let (status, text, elapsed) = poll.await.expect("the poll");
        assert_eq!(status, 200, "{text}");
        assert!(
            elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(4),
            "{elapsed:?}"
        );
        let answer: Value = serde_json::from_str(&text).expect("json");
        let updates = answer["result"].as_array().expect("updates");
        assert_eq!(updates.len(), 1, "{answer}");
        let u = &updates[0];
        let m = &u["message"];
        assert_eq!(m["message_id"], json!(message_id));
        assert_eq!(m["chat"]["type"], json!("supergroup"));
        assert_eq!(m["from"]["id"], json!(9));
        assert_eq!(
            m["entities"],
            json!([{"type": "bot_command", "offset": 0, "length": 21}])
        );
        let id = u["update_id"].as_i64().expect("update_id");

        // Not confirmed yet: delivered again.
        let (_, again) = call(&fake, "getUpdates", json!({"timeout": 0})).await;
        assert_eq!(again["result"][0]["update_id"], json!(id));
        // Increasing ids; the offset confirms.
        fake.user_says(3, 3, "hi");
        let (_, next) = call(&fake, "getUpdates", json!({"offset": id + 1, "timeout": 1})).await;
        assert_eq!(next["result"].as_array().map(Vec::len), Some(1), "{next}");
        let next_id = next["result"][0]["update_id"].as_i64().expect("update_id");
        assert!(next_id > id);
        assert_eq!(
            next["result"][0]["message"]["chat"]["type"],
            json!("private")
        );
        assert!(next["result"][0]["message"].get("entities").is_none());
        // Nothing left: the poll waits its timeout and answers [].
        let started = Instant::now();
        let (_, empty) = call(
            &fake,
            "getUpdates",
            json!({"offset": next_id + 1, "timeout": 1}),
        )
        .await;
        assert_eq!(empty["result"], json!([]));
        assert!(started.elapsed() >= Duration::from_millis(900));
        assert_eq!(fake.pending_updates(), 0);

        // allowed_updates is kept: an inline query is not delivered.
        fake.user_inline_query(3, "play");
        let (_, none) = call(&fake, "getUpdates", json!({"timeout": 0})).await;
        assert_eq!(none["result"], json!([]));
        // A newer poll ends a waiting one with 409, as with two bot instances.
        let port = fake.port();
        let first = tokio::spawn(async move {
            let body = json!({"timeout": 5}).to_string();
            http(port, "POST", &format!("/bot{TOKEN}/getUpdates"), &[], &body).await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (first, second) = tokio::join!(first, call(&fake, "getUpdates", json!({"timeout": 0})));
        let (status, text) = first.expect("first poll");
        assert_eq!(status, 409, "{text}");
        assert!(
            text.contains("terminated by other getUpdates request"),
            "{text}"
        );
        assert_eq!(second.0, 200);
    }

    #[tokio::test]
    async fn faults_answer_as_telegram_does() {
        let fake = FakeBotApi::start(FakeConfig::unlimited()).await;
        fake.block(7);
        let (status, answer) = say(&fake, 7, "hi").await;
        assert_eq!(status, 403);
        assert_eq!(
            answer,
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
        );
        fake.unblock(7);
        assert_eq!(say(&fake, 7, "hi").await.0, 200);

        fake.migrate(-55, -1_000_000_000_055);
        let (status, answer) = say(&fake, -55, "hi").await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["parameters"],
            json!({"migrate_to_chat_id": -1_000_000_000_055_i64})
        );
        assert_eq!(say(&fake, -1_000_000_000_055, "hi").await.0, 200);

        fake.fail_next(2, 500);
        let (status, answer) = say(&fake, 8, "a").await;
        assert_eq!(status, 500);
        assert_eq!(answer["description"], json!("Internal Server Error"));
        assert_eq!(say(&fake, 8, "b").await.0, 500);
        assert_eq!(say(&fake, 8, "c").await.0, 200);
        fake.fail_next(1, 502);
        let (status, answer) = say(&fake, 8, "d").await;
        assert_eq!(status, 502);
        assert!(
            answer
                .as_str()
                .is_some_and(|t| t.contains("502 Bad Gateway")),
            "{answer}"
        );
        assert_eq!(
            fake.messages_in(8)
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>(),
            ["c"]
        );
        let calls = fake.calls();
        let statuses: Vec<(String, Option<i64>, u16)> = calls
            .iter()
            .map(|c| (c.method.clone(), c.chat_id, c.status))
            .collect();
        assert_eq!(statuses[0], ("sendmessage".to_owned(), Some(7), 403));
        assert_eq!(statuses.iter().filter(|s| s.2 >= 500).count(), 3);
        assert_eq!(
            calls[0].description.as_deref(),
            Some("Forbidden: bot was blocked by the user")
        );
        assert_eq!(calls[0].params["text"], json!("hi"));
        assert!(calls.windows(2).all(|w| w[0].at <= w[1].at));
        // Unknown methods and a wrong token, as Telegram answers them.
        assert_eq!(call(&fake, "sendTelepathy", json!({})).await.0, 404);
        let fake = FakeBotApi::start(FakeConfig {
            token: Some("1:right".to_owned()),
            ..FakeConfig::unlimited()
        })
        .await;
        let (status, answer) = call(&fake, "getMe", json!({})).await;
        assert_eq!(status, 401);
        assert_eq!(answer["description"], json!("Unauthorized"));
    }

    /// teloxide, the bot's client, reads every answer of the fake as Telegram's.
    #[tokio::test]
    async fn teloxide_reads_the_fakes_answers() {
        let fake = FakeBotApi::start(FakeConfig::unlimited()).await;
        let bot = Bot::new(TOKEN).set_api_url(fake.url().parse().expect("url"));
        let me = bot.get_me().await.expect("getMe");
        assert_eq!(me.id.0, 4242);
        assert!(me.is_bot);
        assert_eq!(me.username(), "McstatTestBot");
        bot.delete_webhook().await.expect("deleteWebhook");

        let keyboard =
            InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("More", "more")]]);
        let m = bot
            .send_message(ChatId(11), "<b>Hi</b> <i>there</i>")
            .parse_mode(ParseMode::Html)
            .reply_markup(keyboard.clone())
            .await
            .expect("sendMessage");
        assert_eq!(m.text(), Some("Hi there"));
        let kinds: Vec<MessageEntityKind> = m
            .entities()
            .expect("entities")
            .iter()
            .map(|e| e.kind.clone())
            .collect();
        assert_eq!(kinds, [MessageEntityKind::Bold, MessageEntityKind::Italic]);
        assert_eq!(m.from.as_ref().map(|u| u.is_bot), Some(true));
        assert!(m.reply_markup().is_some());

        let edited = bot
            .edit_message_text(ChatId(11), m.id, "<b>Hi</b> again")
            .parse_mode(ParseMode::Html)
            .await
            .expect("editMessageText");
        assert_eq!(edited.text(), Some("Hi again"));
        assert!(edited.edit_date().is_some());
        let same = bot
            .edit_message_text(ChatId(11), m.id, "<b>Hi</b> again")
            .parse_mode(ParseMode::Html)
            .await;
        assert!(
            matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))),
            "{same:?}"
        );

        let png = b"\x89PNG\r\n\x1a\n fake image".to_vec();
        let photo = bot
            .send_photo(
                ChatId(-1_000_000_000_012),
                InputFile::memory(png.clone()).file_name("icon.png"),
            )
            .caption("<b>server</b>")
            .parse_mode(ParseMode::Html)
            .await
            .expect("sendPhoto");
        assert_eq!(photo.caption(), Some("server"));
        assert!(photo.photo().is_some());
        let stored = fake.messages_in(-1_000_000_000_012);
        assert_eq!(
            stored[0].photo,
            Some(super::PhotoFile {
                file_name: Some("icon.png".to_owned()),
                bytes: png.len()
            })
        );
        assert_eq!(stored[0].text, "<b>server</b>");
        let recaptioned = bot
            .edit_message_caption(ChatId(-1_000_000_000_012), photo.id)
            .caption("<i>offline</i>")
            .parse_mode(ParseMode::Html)
            .await
            .expect("editMessageCaption");
        assert_eq!(recaptioned.caption(), Some("offline"));
        assert_eq!(fake.edit_count(), 2);
        bot.send_chat_action(ChatId(11), teloxide::types::ChatAction::Typing)
            .await
            .expect("sendChatAction");

        // Updates of each kind the bot reads.
        fake.user_says(11, 11, "/help");
        let query = fake.user_presses(11, 11, m.id.0.into(), "more");
        let inline = fake.user_inline_query(11, "example.org");
        let updates = bot.get_updates().timeout(1).await.expect("getUpdates");
        assert_eq!(updates.len(), 3);
        assert!(
            matches!(&updates[0].kind, UpdateKind::Message(m) if m.text() == Some("/help")),
            "{:?}",
            updates[0]
        );
        assert!(
            matches!(&updates[1].kind, UpdateKind::CallbackQuery(q) if q.data.as_deref() == Some("more")),
            "{:?}",
            updates[1]
        );
        assert!(
            matches!(&updates[2].kind, UpdateKind::InlineQuery(q) if q.query == "example.org"),
            "{:?}",
            updates[2]
        );
        bot.answer_callback_query(CallbackQueryId(query.clone()))
            .await
            .expect("answerCallbackQuery");
        let twice = bot.answer_callback_query(CallbackQueryId(query)).await;
        assert!(twice.is_err(), "a query is answered once: {twice:?}");
        let article = InlineQueryResultArticle::new(
            "1",
            "Status",
            InputMessageContent::Text(
                InputMessageContentText::new("<b>online</b>").parse_mode(ParseMode::Html),
            ),
        );
        bot.answer_inline_query(InlineQueryId(inline), [InlineQueryResult::Article(article)])
            .await
            .expect("answerInlineQuery");
        let commands = [teloxide::types::BotCommand::new(
            "help",
            "How to use the bot",
        )];
        bot.set_my_commands(commands).await.expect("setMyCommands");
        assert_eq!(fake.my_commands()[0]["command"], json!("help"));

        // Faults, as teloxide sees them.
        fake.block(12);
        let blocked = bot.send_message(ChatId(12), "x").await;
        assert!(
            matches!(blocked, Err(RequestError::Api(ApiError::BotBlocked))),
            "{blocked:?}"
        );
        fake.migrate(-13, -1_000_000_000_013);
        let moved = bot.send_message(ChatId(-13), "x").await;
        assert!(
            matches!(
                moved,
                Err(RequestError::MigrateToChatId(ChatId(-1_000_000_000_013)))
            ),
            "{moved:?}"
        );
        let long = bot.send_message(ChatId(14), "a".repeat(4097)).await;
        assert!(
            matches!(long, Err(RequestError::Api(ApiError::MessageIsTooLong))),
            "{long:?}"
        );
        let limited = FakeBotApi::start(FakeConfig::default()).await;
        let bot = Bot::new(TOKEN).set_api_url(limited.url().parse().expect("url"));
        bot.send_message(ChatId(15), "a").await.expect("first");
        let again = bot.send_message(ChatId(15), "b").await;
        assert!(
            matches!(&again, Err(RequestError::RetryAfter(s)) if s.seconds() == 1),
            "{again:?}"
        );
        drop(keyboard);
    }

    /// The bot itself against the fake: `/help` is answered, and its button edits the
    /// message (after a 429 when pressed within a second of the answer).
    #[tokio::test(flavor = "multi_thread")]
    async fn the_bot_answers_help_through_the_fake() {
        let fake = FakeBotApi::start(FakeConfig::default()).await;
        let token = "5005:fake-bot-api-help";
        // A short long-poll: the bot's shutdown waits for its pending getUpdates.
        let poll = [("MCSTAT_TELEGRAM_POLL_TIMEOUT_SECS", "2".to_owned())];
        let bot = BotProcess::start_url(&fake.url(), token, &poll);
        fake.user_says(7, 7, "/help");
        let answered = fake.wait_for(|f| !f.messages_in(7).is_empty(), WAIT).await;
        assert!(answered, "no answer to /help; calls: {:#?}", fake.calls());
        let help = fake.messages_in(7).remove(0);
        assert!(help.plain.contains("/status"), "{help:#?}");
        assert_eq!(help.parse_mode.as_deref(), Some("HTML"));

        fake.user_presses(7, 7, help.message_id, &help.button("About"));
        let edited = fake
            .wait_for(
                |f| f.messages_in(7).first().is_some_and(|m| m.edits > 0),
                WAIT,
            )
            .await;
        assert!(
            edited,
            "the About page never came; calls: {:#?}",
            fake.calls()
        );
        let calls = fake.calls();
        let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
        for m in [
            "getme",
            "deletewebhook",
            "setmycommands",
            "getupdates",
            "sendmessage",
            "answercallbackquery",
            "editmessagetext",
        ] {
            assert!(methods.contains(&m), "no {m} in {methods:?}");
        }
        let failed: Vec<_> = calls
            .iter()
            .filter(|c| c.status != 200 && c.status != 429)
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert_eq!(fake.sent_count(), 1);
        assert_eq!(fake.messages().len(), 1);
        let status = bot.terminate().await;
        assert!(status.success(), "{status:?}");
    }
}
