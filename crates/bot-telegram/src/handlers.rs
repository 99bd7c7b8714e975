//! Telegram updates in, core requests out, rendered replies back.
//!
//! One handler per update kind; each runs inside a span carrying the update's request
//! id, and inside `catch_unwind`, so one bad update never takes the dispatcher down.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::FutureExt as _;
use mcstat_core::chat::watch::{answer, chart_failed, graph_request};
use mcstat_core::chat::{
    CallbackData, ChatRequest, ChatService, Command, Reply, UserError, UserErrorKind, View,
    WatchCommand,
};
use mcstat_core::outbox::{Pacer, Priority};
use mcstat_core::ports::ChartRenderer;
use mcstat_core::watch::WatchService;
use mcstat_core::{ChatRef, Platform, Timestamp, UserRef};
use teloxide::ApiError;
use teloxide::Bot;
use teloxide::RequestError;
use teloxide::prelude::Requester as _;
use teloxide::requests::{HasPayload as _, Output, Payload, Request};
use teloxide::types::{
    CallbackQuery, CallbackQueryId, ChatId, InlineQuery, InlineQueryResult,
    InlineQueryResultArticle, InputFile, InputMessageContent, InputMessageContentText,
    LinkPreviewOptions, MaybeInaccessibleMessage, Message, ParseMode, Update, UpdateKind,
};
use tracing::Instrument as _;

use crate::api::{self, call};
use crate::render::{self, Rendered, render};

/// What every handler needs.
pub struct App {
    /// The core's chat service.
    pub chat: Arc<ChatService>,
    /// The Bot API client.
    pub bot: Bot,
    /// The bot's username (without `@`), for `/cmd@botname` in groups.
    pub username: String,
    /// Whether status cards with a server icon are sent as a photo with a caption.
    pub icons: bool,
    /// The core's watch service (`/watch`, `/unwatch`, `/watches`, `/uptime`).
    pub watches: Option<Arc<WatchService>>,
    /// Draws `/graph` charts.
    pub charts: Option<Arc<dyn ChartRenderer>>,
    /// Paces answers with the notifications (answers first, each within its
    /// deadline); `None` sends at once.
    pub pacer: Option<Arc<Pacer>>,
    ids: RequestIds,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The handlers' shared state.
    #[must_use]
    pub fn new(chat: Arc<ChatService>, bot: Bot, username: String) -> Self {
        Self {
            chat,
            bot,
            username,
            icons: true,
            watches: None,
            charts: None,
            pacer: None,
            ids: RequestIds::new(),
        }
    }

    /// Send every answer through `pacer`'s turns.
    #[must_use]
    pub fn with_pacer(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// Answer `/graph` with charts drawn by `charts`.
    #[must_use]
    pub fn with_charts(mut self, charts: Arc<dyn ChartRenderer>) -> Self {
        self.charts = Some(charts);
        self
    }

    /// Answer the watch commands with `watches`.
    #[must_use]
    pub fn with_watches(mut self, watches: Arc<WatchService>) -> Self {
        self.watches = Some(watches);
        self
    }

    /// Send server icons (a photo with the card as caption) or not (text only).
    #[must_use]
    pub const fn with_icons(mut self, icons: bool) -> Self {
        self.icons = icons;
        self
    }
}

/// Request ids: a per-process prefix and a counter (`3f9a1c-17`).
#[derive(Debug)]
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
        Self {
            prefix: format!("{:06x}", mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40),
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> String {
        format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The dispatcher's endpoint: route one update, log its outcome, never fail.
pub async fn handle_update(update: Update, app: Arc<App>) -> Result<(), std::convert::Infallible> {
    let kind = match &update.kind {
        UpdateKind::Message(_) => "message",
        UpdateKind::CallbackQuery(_) => "callback_query",
        UpdateKind::InlineQuery(_) => "inline_query",
        _ => "other",
    };
    let request_id = app.ids.next();
    let span =
        tracing::info_span!("update", request_id = %request_id, update_id = update.id.0, kind);
    let started = Instant::now();
    let work = async {
        let result = match update.kind {
            UpdateKind::Message(msg) => on_message(&app, msg).await,
            UpdateKind::CallbackQuery(q) => on_callback(&app, q).await,
            UpdateKind::InlineQuery(q) => on_inline(&app, q).await,
            _ => Ok(()),
        };
        if let Err(e) = result {
            metrics::counter!("mcstat_telegram_update_failures_total", "kind" => kind).increment(1);
            tracing::warn!(error = %e, "update failed");
        }
    };
    if AssertUnwindSafe(RECEIVED.scope(now(), work.instrument(span.clone())))
        .catch_unwind()
        .await
        .is_err()
    {
        metrics::counter!("mcstat_telegram_update_panics_total", "kind" => kind).increment(1);
        span.in_scope(|| tracing::error!("handler panicked; update dropped"));
    }
    metrics::counter!("mcstat_telegram_updates_total", "kind" => kind).increment(1);
    metrics::histogram!("mcstat_telegram_update_seconds", "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    Ok(())
}

/// Which command a message asks for, if any, and whether it was addressed to us
/// explicitly (`/cmd@us`).
///
/// `None`: not a command, or a command for another bot (`/cmd@other`).
#[must_use]
pub fn command_text<'a>(text: &'a str, username: &str) -> Option<(&'a str, bool)> {
    let text = text.trim_start();
    text.strip_prefix('/')?;
    match Command::addressee(text) {
        Some(to) if to.eq_ignore_ascii_case(username) => Some((text, true)),
        Some(_) => None,
        None => Some((text, false)),
    }
}

tokio::task_local! {
    /// When the update being handled was received: an answer's deadline counts
    /// from it (not from when the answer is ready), so the time spent handling the
    /// command counts too.
    static RECEIVED: Timestamp;
}

/// The deadline of an answer in this update: the platform's answer deadline after
/// the update was received (after now outside a handler).
fn answer_deadline(pacer: &Pacer) -> Timestamp {
    RECEIVED
        .try_with(|t| *t)
        .unwrap_or_else(|_| now())
        .plus(pacer.limits().answer_deadline)
}

/// Send an answer in `chat`, each attempt in its turn (answers go before
/// notifications, within Telegram's limits) and all of them within the answer's
/// deadline: `Ok(None)` when no turn came in time — the answer is then dropped
/// (never sent late) and counted by the pacer.
///
/// A 429 holds the chat back in the pacer for `retry_after` and the answer waits
/// for its next turn (so a retry is paced too, and never late); a transient failure
/// is retried as [`call`] does. Without a pacer this is [`call`].
async fn paced<R>(app: &App, chat: ChatId, request: R) -> Result<Option<Output<R>>, RequestError>
where
    R: Request<Err = RequestError>,
{
    let (Some(pacer), Some(c)) = (&app.pacer, chat_ref(chat)) else {
        return call(request).await.map(Some);
    };
    let deadline = answer_deadline(pacer);
    let method = <R::Payload as Payload>::NAME;
    let mut attempt = 0;
    loop {
        if pacer
            .admit(&c, Priority::Answer, Some(deadline))
            .await
            .is_err()
        {
            tracing::warn!(chat = %c, "answer dropped: no turn to send it within its deadline");
            return Ok(None);
        }
        let err = match request.send_ref().await {
            Ok(out) => return Ok(Some(out)),
            Err(e) => e,
        };
        let retry = api::classify(&err);
        let Some(wait) = retry.and_then(|r| api::delay(r, attempt)) else {
            metrics::counter!("mcstat_telegram_api_errors_total", "method" => method).increment(1);
            return Err(err);
        };
        let reason = match retry {
            Some(api::Retry::RateLimited(_)) => {
                // The next turn in this chat comes after `retry_after`.
                pacer.rate_limited(&c, wait, false).await;
                "rate_limited"
            }
            _ => {
                tokio::time::sleep(wait).await;
                "transient"
            }
        };
        metrics::counter!("mcstat_telegram_api_retries_total", "method" => method, "reason" => reason)
            .increment(1);
        tracing::info!(method, reason, wait_ms = wait.as_millis() as u64, error = %err, "answer not sent; trying again in its next turn");
        attempt += 1;
    }
}

fn chat_ref(id: ChatId) -> Option<ChatRef> {
    ChatRef::new(Platform::Telegram, id.0.to_string()).ok()
}

fn user_ref(id: u64) -> Option<UserRef> {
    UserRef::new(Platform::Telegram, id.to_string()).ok()
}

fn reply_kind(reply: &Reply) -> &'static str {
    match &reply.view {
        View::Welcome(_) => "welcome",
        View::Help { .. } => "help",
        View::About(_) => "about",
        View::Status(c) if c.online => "status_online",
        View::Status(_) => "status_offline",
        View::Players(_) => "players",
        View::Error(e) => e.kind.code(),
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// A group upgraded to a supergroup: `(old chat, new chat)`, from the service
/// message Telegram posts in either.
#[must_use]
pub fn migration(msg: &Message) -> Option<(ChatId, ChatId)> {
    msg.migrate_to_chat_id()
        .map(|to| (msg.chat.id, *to))
        .or_else(|| msg.migrate_from_chat_id().map(|from| (*from, msg.chat.id)))
}

/// Move the watches of a group that became a supergroup to its new chat id (the
/// other way of learning it is a notification bouncing with the new id).
async fn on_migration(app: &App, from: ChatId, to: ChatId) {
    let (Some(from), Some(to)) = (chat_ref(from), chat_ref(to)) else {
        return;
    };
    if let Err(e) = app.chat.move_chat_state(&from, &to).await {
        tracing::warn!(%from, %to, error = &e as &dyn std::error::Error, "group upgraded; its last server not kept");
    }
    let Some(watches) = &app.watches else {
        return;
    };
    match watches.move_chat(&from, &to).await {
        Ok(moved) => tracing::info!(%from, %to, moved, "group upgraded; watches moved"),
        Err(e) => tracing::warn!(
            %from,
            %to,
            error = &e as &dyn std::error::Error,
            "group upgraded; watches not moved (the next notification moves them)"
        ),
    }
}

async fn on_message(app: &App, msg: Message) -> Result<(), RequestError> {
    if let Some((from, to)) = migration(&msg) {
        on_migration(app, from, to).await;
        return Ok(());
    }
    let Some(text) = msg.text() else {
        return Ok(());
    };
    let private = msg.chat.is_private();
    let command = match command_text(text, &app.username) {
        Some((line, addressed)) => match Command::parse(line) {
            Ok(c) => c,
            // In a group, an unknown bare `/cmd` is probably another bot's; a known
            // one with bad arguments is ours and gets its error.
            Err(e) if !private && !addressed && e.kind == UserErrorKind::UnknownCommand => {
                return Ok(());
            }
            Err(e) => {
                tracing::info!(reply = e.kind.code(), "command refused");
                return send(app, msg.chat.id, &render(&Reply::error(e))).await;
            }
        },
        // A private chat may just send an address; other chatter gets the help.
        None if private && looks_like_address(text) => Command::Status {
            address: Some(text.trim().to_owned()),
        },
        None if private && !text.trim_start().starts_with('/') => Command::Help,
        None => return Ok(()),
    };
    let (Some(chat), Some(user)) = (
        chat_ref(msg.chat.id),
        user_ref(
            msg.from
                .as_ref()
                .map_or(msg.chat.id.0.unsigned_abs(), |u| u.id.0),
        ),
    ) else {
        return Ok(());
    };
    tracing::info!(command = command.name(), "command");
    if let Command::Watch(WatchCommand::Graph { address, range }) = command {
        return graph(app, msg.chat.id, address.as_deref(), range.as_deref()).await;
    }
    if let Command::Watch(w) = command {
        let (kind, html) = watch_command(app, &chat, &user, w).await;
        metrics::counter!("mcstat_telegram_replies_total", "view" => kind).increment(1);
        tracing::info!(reply = kind, "answering");
        return send(
            app,
            msg.chat.id,
            &Rendered {
                html,
                keyboard: None,
            },
        )
        .await;
    }
    let reply = app
        .chat
        .handle(ChatRequest {
            chat,
            user,
            command,
        })
        .await;
    let kind = reply_kind(&reply);
    metrics::counter!("mcstat_telegram_replies_total", "view" => kind).increment(1);
    tracing::info!(reply = kind, "answering");
    send_reply(app, msg.chat.id, &reply).await
}

/// Answer a watch command: `(reply kind, HTML)`.
async fn watch_command(
    app: &App,
    chat: &ChatRef,
    user: &UserRef,
    command: WatchCommand,
) -> (&'static str, String) {
    let Some(service) = &app.watches else {
        return error_html(&UserError::new(
            UserErrorKind::Unavailable,
            "Watching servers is not available in this bot. Try /status play.example.net",
        ));
    };
    match answer(service, chat, user, command, now()).await {
        Ok(view) => (view.kind(), render::watch_html(&view)),
        Err(e) => error_html(&e),
    }
}

/// Answer `/graph`: the chart as a photo with a caption (text when it cannot be drawn
/// or sent).
async fn graph(
    app: &App,
    chat: ChatId,
    address: Option<&str>,
    range: Option<&str>,
) -> Result<(), RequestError> {
    let text = |(kind, html): (&'static str, String)| {
        metrics::counter!("mcstat_telegram_replies_total", "view" => kind).increment(1);
        Rendered {
            html,
            keyboard: None,
        }
    };
    let (Some(service), Some(charts)) = (&app.watches, &app.charts) else {
        let e = UserError::new(
            UserErrorKind::Unavailable,
            "Charts are not available in this bot. Try /uptime play.example.net",
        );
        return send(app, chat, &text(error_html(&e))).await;
    };
    let (view, request) = match graph_request(service, address, range).await {
        Ok(v) => v,
        Err(e) => return send(app, chat, &text(error_html(&e))).await,
    };
    let caption = render::graph_caption(&view);
    let charts = Arc::clone(charts);
    let drawn = tokio::task::spawn_blocking(move || charts.render(&request))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| ops_error(&e)));
    let png = match drawn {
        Ok(png) => png,
        Err(error) => {
            tracing::warn!(%error, "chart rendering failed");
            return send(app, chat, &text(error_html(&chart_failed(&view)))).await;
        }
    };
    metrics::counter!("mcstat_telegram_replies_total", "view" => "graph").increment(1);
    tracing::info!(reply = "graph", bytes = png.len(), "answering");
    let mut req = app
        .bot
        .send_photo(chat, InputFile::memory(png).file_name("graph.png"));
    let p = req.payload_mut();
    p.caption = Some(caption.clone());
    p.parse_mode = Some(ParseMode::Html);
    paced(app, chat, req).await.map(drop)
}

/// An error with its causes, for a log line.
fn ops_error(e: &(dyn std::error::Error + 'static)) -> String {
    mcstat_service::ops::error_chain(e)
}

fn error_html(e: &UserError) -> (&'static str, String) {
    (e.kind.code(), render::view_html(&View::Error(e.clone())))
}

/// Now, from the system clock.
fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// The longest caption Telegram accepts, in UTF-16 code units of visible text.
pub const CAPTION_LIMIT: usize = 1024;

/// The visible length of Telegram HTML as Telegram counts it: UTF-16 code units of the
/// text without tags, an entity counting as one character.
#[must_use]
pub fn visible_len(html: &str) -> usize {
    let (mut n, mut in_tag, mut in_entity) = (0, false, false);
    for c in html.chars() {
        match c {
            '<' if !in_tag => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '&' => {
                in_entity = true;
                n += 1;
            }
            ';' if in_entity => in_entity = false,
            _ if in_entity => {}
            c => n += c.len_utf16(),
        }
    }
    n
}

/// Send a reply: a status card with a server icon as a photo with the card as caption
/// (when icons are on and the card fits a caption), anything else, or a failed photo,
/// as text.
async fn send_reply(app: &App, chat: ChatId, reply: &Reply) -> Result<(), RequestError> {
    let r = render(reply);
    if let (true, View::Status(card)) = (app.icons, &reply.view)
        && let Some(png) = &card.icon_png
        && visible_len(&r.html) <= CAPTION_LIMIT
    {
        let mut req = app.bot.send_photo(
            chat,
            InputFile::memory(png.clone()).file_name("server-icon.png"),
        );
        let p = req.payload_mut();
        p.caption = Some(r.html.clone());
        p.parse_mode = Some(ParseMode::Html);
        p.reply_markup = r.keyboard.clone().map(Into::into);
        match paced(app, chat, req).await {
            Ok(_) => return Ok(()),
            Err(e) => tracing::warn!(error = %e, "sendPhoto failed; sending the card as text"),
        }
    }
    send(app, chat, &r).await
}

async fn send(app: &App, chat: ChatId, r: &Rendered) -> Result<(), RequestError> {
    let mut req = app.bot.send_message(chat, r.html.clone());
    let p = req.payload_mut();
    p.parse_mode = Some(ParseMode::Html);
    p.link_preview_options = Some(no_preview());
    p.reply_markup = r.keyboard.clone().map(Into::into);
    paced(app, chat, req).await.map(drop)
}

pub(crate) fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

async fn answer_callback(
    app: &App,
    id: &CallbackQueryId,
    text: Option<String>,
) -> Result<(), RequestError> {
    let mut req = app.bot.answer_callback_query(id.clone());
    req.payload_mut().text = text;
    call(req).await.map(|_| ())
}

async fn on_callback(app: &App, q: CallbackQuery) -> Result<(), RequestError> {
    let data = q.data.clone().unwrap_or_default();
    // Stale or foreign data: say so in the toast, leave the message alone.
    if let Err(e) = CallbackData::decode(&data) {
        tracing::info!(error = %e, "undecodable callback data");
        return answer_callback(
            app,
            &q.id,
            Some("This button no longer works. Send /status to see your last server again.".into()),
        )
        .await;
    }
    let message = q.message.as_ref().map(|m| match m {
        MaybeInaccessibleMessage::Regular(m) => (m.chat.id, m.id),
        MaybeInaccessibleMessage::Inaccessible(m) => (m.chat.id, m.message_id),
    });
    // Buttons under an inline-mode message have no chat: the user's own state counts.
    let chat_id = message.map_or(
        ChatId(i64::try_from(q.from.id.0).unwrap_or(i64::MAX)),
        |(c, _)| c,
    );
    let (Some(chat), Some(user)) = (chat_ref(chat_id), user_ref(q.from.id.0)) else {
        return answer_callback(app, &q.id, None).await;
    };
    let reply = app.chat.handle_callback(&chat, &user, &data).await;
    let kind = reply_kind(&reply);
    metrics::counter!("mcstat_telegram_replies_total", "view" => kind).increment(1);
    tracing::info!(reply = kind, "button");
    // An error (rate limit, store down) is a toast: the card under it stays.
    if let View::Error(e) = &reply.view {
        let mut text = e.message.clone();
        if text.chars().count() > 190 {
            text = text.chars().take(190).collect::<String>() + "…";
        }
        return answer_callback(app, &q.id, Some(text)).await;
    }
    // A query too old to answer can still have its message edited.
    if let Err(e) = answer_callback(app, &q.id, None).await {
        tracing::info!(error = %e, "answerCallbackQuery failed; editing anyway");
    }
    let r = render(&reply);
    let photo =
        matches!(&q.message, Some(MaybeInaccessibleMessage::Regular(m)) if m.photo().is_some());
    let result = if let (true, Some((chat, message_id))) = (photo, message) {
        if visible_len(&r.html) <= CAPTION_LIMIT {
            let mut req = app.bot.edit_message_caption(chat, message_id);
            let p = req.payload_mut();
            p.caption = Some(r.html);
            p.parse_mode = Some(ParseMode::Html);
            p.reply_markup = r.keyboard;
            paced(app, chat, req).await.map(drop)
        } else {
            // Too long for a caption: a new text message instead of the edit.
            send(app, chat, &r).await
        }
    } else if let Some((chat, message_id)) = message {
        let mut req = app.bot.edit_message_text(chat, message_id, r.html);
        let p = req.payload_mut();
        p.parse_mode = Some(ParseMode::Html);
        p.link_preview_options = Some(no_preview());
        p.reply_markup = r.keyboard;
        paced(app, chat, req).await.map(drop)
    } else if let Some(inline_id) = &q.inline_message_id {
        let mut req = app.bot.edit_message_text_inline(inline_id.clone(), r.html);
        let p = req.payload_mut();
        p.parse_mode = Some(ParseMode::Html);
        p.reply_markup = r.keyboard;
        call(req).await.map(|_| ())
    } else {
        Ok(())
    };
    match result {
        // Refresh with nothing new: fine.
        Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        other => other,
    }
}

/// Whether inline text is worth a lookup: it has a dot, a colon or brackets (an
/// address, not a half-typed word).
fn looks_like_address(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && !s.contains(char::is_whitespace) && s.contains(['.', ':', '['])
}

async fn on_inline(app: &App, q: InlineQuery) -> Result<(), RequestError> {
    let query = q.query.trim().to_owned();
    let results = if looks_like_address(&query) {
        let Some(user) = user_ref(q.from.id.0) else {
            return Ok(());
        };
        // The user's private chat with the bot has the user's id.
        let chat = ChatRef::new(Platform::Telegram, q.from.id.0.to_string())
            .map_err(|_| RequestError::Api(ApiError::Unknown("bad user id".into())))?;
        let reply = app
            .chat
            .handle(ChatRequest {
                chat,
                user,
                command: Command::Status {
                    address: Some(query.clone()),
                },
            })
            .await;
        let kind = reply_kind(&reply);
        metrics::counter!("mcstat_telegram_replies_total", "view" => kind).increment(1);
        tracing::info!(reply = kind, "inline query");
        vec![inline_article(&reply)]
    } else {
        Vec::new()
    };
    let mut req = app.bot.answer_inline_query(q.id, results);
    let p = req.payload_mut();
    p.cache_time = Some(10);
    p.is_personal = Some(true);
    call(req).await.map(|_| ())
}

/// The inline-mode result for a reply: a status card article (or the error).
#[must_use]
pub fn inline_article(reply: &Reply) -> InlineQueryResult {
    let r = render(reply);
    let (id, title, description) = match &reply.view {
        View::Status(card) => {
            let state = if card.online {
                "🟢 online"
            } else {
                "🔴 offline"
            };
            let players = match (card.players_online, card.players_max) {
                (Some(o), Some(m)) if card.online => format!(" · {o}/{m} players"),
                _ => String::new(),
            };
            (
                format!("status:{}", card.target.key()),
                format!("{} — {state}{players}", card.display),
                card.motd.to_plain().chars().take(120).collect::<String>(),
            )
        }
        View::Error(e) => (
            "error".to_owned(),
            "⚠️ Not a server I can look up".to_owned(),
            e.message.clone(),
        ),
        _ => ("other".to_owned(), "mcstat".to_owned(), String::new()),
    };
    // Telegram result ids are at most 64 bytes.
    let id: String = id.chars().filter(char::is_ascii).take(64).collect();
    let mut content = InputMessageContentText::new(r.html);
    content.parse_mode = Some(ParseMode::Html);
    content.link_preview_options = Some(no_preview());
    let mut article = InlineQueryResultArticle::new(id, title, InputMessageContent::Text(content));
    if !description.is_empty() {
        article.description = Some(description);
    }
    article.reply_markup = r.keyboard;
    InlineQueryResult::Article(article)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_upgrades_are_read_from_either_service_message() {
        let message = |chat: i64, migration: serde_json::Value| -> Message {
            let mut m = serde_json::json!({
                "message_id": 5,
                "date": 1_700_000_000,
                "chat": {"id": chat, "type": "group", "title": "G"},
                "from": {"id": 1, "is_bot": false, "first_name": "A"},
            });
            for (k, v) in migration.as_object().expect("object") {
                m[k] = v.clone();
            }
            serde_json::from_value(m).expect("a message")
        };
        let to = message(
            -100,
            serde_json::json!({"migrate_to_chat_id": -1_001_234_i64}),
        );
        assert_eq!(migration(&to), Some((ChatId(-100), ChatId(-1_001_234))));
        let from = message(
            -1_001_234,
            serde_json::json!({"migrate_from_chat_id": -100}),
        );
        assert_eq!(migration(&from), Some((ChatId(-100), ChatId(-1_001_234))));
        let text = message(-100, serde_json::json!({"text": "/status"}));
        assert_eq!(migration(&text), None);
    }

    #[test]
    fn commands_for_other_bots_are_ignored() {
        assert_eq!(
            command_text("/status x", "McStatBot"),
            Some(("/status x", false))
        );
        assert_eq!(
            command_text("/status@mcstatbot x", "McStatBot"),
            Some(("/status@mcstatbot x", true))
        );
        assert_eq!(command_text("/status@otherbot x", "McStatBot"), None);
        assert_eq!(command_text("hello", "McStatBot"), None);
    }

    #[test]
    fn visible_length_counts_text_not_markup() {
        assert_eq!(visible_len("<b>ab</b> &amp; <i>c</i>"), 6);
        assert_eq!(visible_len("🟢 x"), 4);
        assert_eq!(visible_len("a &lt;b&gt;"), 5);
    }

    #[test]
    fn inline_lookups_only_for_address_like_text() {
        assert!(looks_like_address("play.example.net"));
        assert!(looks_like_address("127.0.0.1:25565"));
        assert!(!looks_like_address("pla"));
        assert!(!looks_like_address("a b.c"));
    }
}
