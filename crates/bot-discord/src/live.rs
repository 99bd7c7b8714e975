//! Live status messages: an embed in a channel that the bot keeps up to date.
//!
//! ## Where they are stored
//! A live message is a [`Watch`] in the existing [`WatchStore`] port (so the file
//! store and Redis keep them without a new port) whose chat is the marker reference
//! `discord:live:<channel>:<message>`: [`LiveRecord`] converts both ways. These
//! watches never match a real chat (their id contains `:`), so the watch scheduler's
//! default filter (`mcstat_core::watch::is_chat_watch`) neither polls nor notifies
//! them; the watch list of every backend (`all_watches`) finds them again after a
//! restart.
//!
//! ## Refreshing
//! [`LiveMessages::run`] looks at every record once per interval: a status lookup
//! straight from the lookup service (a refresh: the cache answers only if very
//! recent; no chat state is touched), rendered without buttons, and an edit of the
//! message when it changed. A message deleted in Discord (404) loses
//! its record. Records are read from the store at every tick, so a `/live stop`
//! handled by another replica is seen at the next tick.
//!
//! Edits count towards Discord's global limit (50 requests a second) like the
//! outbox's notifications, so each edit first asks the outbox's [`Pacer`]
//! ([`with_pacer`](LiveMessages::with_pacer)) for a turn, after notifications
//! ([`Priority::Report`]): a storm of notifications delays the refreshes instead of
//! both together drawing `429`s. An edit without a turn within one interval waits
//! for the next tick (the pacer counts it as a stale drop).
//!
//! Every start and stop goes to the [`AuditLog`] with the guild as scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt as _;
use mcstat_core::chat::{
    CallbackData, Reply, TargetRef, View, display_target, parse_address, status_reply,
};
use mcstat_core::outbox::{Pacer, Priority};
use mcstat_core::ports::{AuditLog, Clock, StoreError, WatchStore};
use mcstat_core::{AuditEntry, ChatRef, ChatService, Platform, Target, UserRef, Watch};

use crate::app::{bot_user, guild_ref, log_rest_error};
use crate::render::{
    COLOR_DEGRADED, COLOR_INFO, COLOR_OFFLINE, RenderContext, notice, render_reply,
};
use crate::rest::DiscordRest;
use crate::wire::{EmbedFooter, MessagePayload};

/// The prefix of a live record's chat id.
pub const LIVE_PREFIX: &str = "live:";

/// How many live messages are refreshed at once.
const CONCURRENCY: usize = 8;

/// One live message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRecord {
    /// Its channel.
    pub channel: String,
    /// The message.
    pub message: String,
    /// The server it shows.
    pub target: Target,
}

impl LiveRecord {
    /// The marker chat reference (`live:<channel>:<message>`).
    #[must_use]
    pub fn chat(&self) -> Option<ChatRef> {
        ChatRef::new(
            Platform::Discord,
            format!("{LIVE_PREFIX}{}:{}", self.channel, self.message),
        )
        .ok()
    }

    /// The record a watch stands for, if it is a live marker.
    #[must_use]
    pub fn from_watch(w: &Watch) -> Option<Self> {
        if w.chat.platform() != Platform::Discord {
            return None;
        }
        let (channel, message) = w.chat.id().strip_prefix(LIVE_PREFIX)?.split_once(':')?;
        Some(Self {
            channel: channel.to_owned(),
            message: message.to_owned(),
            target: w.target.clone(),
        })
    }
}

/// Posts, refreshes and removes live messages. See the [module docs](self).
pub struct LiveMessages {
    chat: Arc<ChatService>,
    watches: Arc<dyn WatchStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    rest: Arc<DiscordRest>,
    interval: Duration,
    /// Turns within the global limit (`None`: edits are not paced).
    pacer: Option<Arc<Pacer>>,
    /// The last payload sent per message (JSON and icon), to skip edits that change
    /// nothing.
    last_sent: Mutex<HashMap<String, (String, Vec<u8>)>>,
}

impl std::fmt::Debug for LiveMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveMessages")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn fingerprint(p: &MessagePayload) -> (String, Vec<u8>) {
    (
        serde_json::to_string(p).unwrap_or_default(),
        p.files.first().map(|f| f.bytes.clone()).unwrap_or_default(),
    )
}

impl LiveMessages {
    /// Live messages refreshed every `interval`.
    #[must_use]
    pub fn new(
        chat: Arc<ChatService>,
        watches: Arc<dyn WatchStore>,
        audit: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
        rest: Arc<DiscordRest>,
        interval: Duration,
    ) -> Self {
        Self {
            chat,
            watches,
            audit,
            clock,
            rest,
            interval,
            pacer: None,
            last_sent: Mutex::default(),
        }
    }

    /// Edits ask `pacer` for a turn first (the outbox's, so that notifications and
    /// edits together keep to Discord's global limit).
    #[must_use]
    pub fn with_pacer(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// Every live record.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn records(&self) -> Result<Vec<LiveRecord>, StoreError> {
        Ok(self
            .watches
            .all_watches()
            .await?
            .iter()
            .filter_map(LiveRecord::from_watch)
            .collect())
    }

    fn live_payload(&self, mut reply: Reply) -> MessagePayload {
        reply.buttons.clear();
        let mut payload = render_reply(&reply, &RenderContext::default());
        if let Some(embed) = payload.embeds.first_mut() {
            embed.footer = Some(EmbedFooter {
                text: format!(
                    "Live status · refreshed every {} · mcstat",
                    human(self.interval)
                ),
            });
        }
        payload
    }

    /// The first message for `target`, looked up as a command of the channel (the
    /// server becomes its last one), or the error reply (refused address, rate limit,
    /// our side failing).
    async fn first_payload(
        &self,
        chat: &ChatRef,
        user: &UserRef,
        target: &Target,
    ) -> Result<MessagePayload, Reply> {
        let data = CallbackData::Status {
            target: TargetRef::Server(target.clone()),
            refresh: true,
        }
        .encode();
        let reply = self.chat.handle_callback(chat, user, &data).await;
        if matches!(reply.view, View::Error(_)) {
            return Err(reply);
        }
        Ok(self.live_payload(reply))
    }

    /// The refreshed message for `target`, straight from the lookup service (no chat
    /// state is read or written); `None` when the lookup could not be made now, which
    /// leaves the message as it is.
    async fn refreshed_payload(&self, user: &UserRef, target: &Target) -> Option<MessagePayload> {
        match self.chat.lookups().refresh_status(user, target).await {
            Ok(observed) => Some(self.live_payload(status_reply(observed))),
            Err(e) => {
                tracing::info!(%target, error = %e, "live message not refreshed this time");
                None
            }
        }
    }

    async fn audit(&self, guild: &str, user: &UserRef, action: String) {
        let Some(scope) = guild_ref(guild) else {
            return;
        };
        let entry = AuditEntry {
            scope,
            actor: user.clone(),
            action,
            at: self.clock.now(),
        };
        if let Err(e) = self.audit.append_audit(&entry).await {
            tracing::warn!(error = %e, ?entry, "cannot write the audit log");
        }
    }

    async fn in_channel(&self, channel: &str) -> Result<Vec<LiveRecord>, StoreError> {
        Ok(self
            .records()
            .await?
            .into_iter()
            .filter(|r| r.channel == channel)
            .collect())
    }

    /// `/live start`: post the message, store it, audit it. Returns the (ephemeral)
    /// answer for the member.
    pub async fn start(
        &self,
        guild: &str,
        channel: &str,
        user: &UserRef,
        address: &str,
    ) -> MessagePayload {
        let target = match parse_address(address) {
            Ok(t) => t,
            Err(e) => return notice(&e.message, COLOR_OFFLINE),
        };
        match self.in_channel(channel).await {
            Ok(existing) if !existing.is_empty() => {
                return notice(
                    &format!(
                        "This channel already has a live status message (for {}). Remove it with `/live stop` first.",
                        display_target(&existing[0].target)
                    ),
                    COLOR_DEGRADED,
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read live records");
                return notice(
                    "I can't reach my storage right now. Please try again in a minute.",
                    COLOR_DEGRADED,
                );
            }
        }
        let lookup_user = bot_user(&format!("live-{channel}")).unwrap_or_else(|| user.clone());
        // The first lookup runs as the channel's (so the server becomes its last one);
        // later refreshes run under the record's marker chat.
        let Ok(channel_chat) = ChatRef::new(Platform::Discord, channel) else {
            return notice("This channel id is not valid.", COLOR_OFFLINE);
        };
        let payload = match self
            .first_payload(&channel_chat, &lookup_user, &target)
            .await
        {
            Ok(p) => p,
            Err(reply) => {
                let text = match &reply.view {
                    View::Error(e) => e.message.clone(),
                    _ => "The lookup failed.".to_owned(),
                };
                return notice(&text, COLOR_OFFLINE);
            }
        };
        let message = match self.rest.create_message(channel, &payload).await {
            Ok(id) => id,
            Err(e) => {
                log_rest_error("posting a live message", &e);
                return notice(
                    "I couldn't post in this channel. Check that I may send messages and embed links here.",
                    COLOR_OFFLINE,
                );
            }
        };
        let record = LiveRecord {
            channel: channel.to_owned(),
            message: message.clone(),
            target: target.clone(),
        };
        let Some(chat) = record.chat() else {
            return notice("Discord returned an invalid message id.", COLOR_OFFLINE);
        };
        let watch = Watch {
            chat,
            target: target.clone(),
            created_at: self.clock.now(),
            players: Vec::new(),
        };
        if let Err(e) = self.watches.add_watch(&watch).await {
            tracing::warn!(error = %e, "cannot store a live record; removing the message");
            if let Err(e) = self.rest.delete_message(channel, &message).await {
                log_rest_error("deleting an unstored live message", &e);
            }
            return notice(
                "I can't reach my storage right now, so I removed the message again. Please try later.",
                COLOR_DEGRADED,
            );
        }
        self.last_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(message.clone(), fingerprint(&payload));
        self.audit(
            guild,
            user,
            format!("live start {target} in channel {channel} (message {message})"),
        )
        .await;
        tracing::info!(%guild, %channel, %message, %target, "live message started");
        notice(
            &format!(
                "Live status for **{}** posted. It refreshes every {}; `/live stop` removes it.",
                display_target(&target),
                human(self.interval)
            ),
            COLOR_INFO,
        )
    }

    /// `/live stop`: delete the channel's live message(s), drop the records, audit.
    pub async fn stop(&self, guild: &str, channel: &str, user: &UserRef) -> MessagePayload {
        let records = match self.in_channel(channel).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read live records");
                return notice(
                    "I can't reach my storage right now. Please try again in a minute.",
                    COLOR_DEGRADED,
                );
            }
        };
        if records.is_empty() {
            return notice(
                "There is no live status message in this channel.",
                COLOR_DEGRADED,
            );
        }
        for record in &records {
            if let Some(chat) = record.chat()
                && let Err(e) = self.watches.remove_watch(&chat, &record.target).await
            {
                tracing::warn!(error = %e, "cannot remove a live record");
                return notice(
                    "I can't reach my storage right now. Please try again in a minute.",
                    COLOR_DEGRADED,
                );
            }
            match self.rest.delete_message(channel, &record.message).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => log_rest_error("deleting a live message", &e),
            }
            self.last_sent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&record.message);
            self.audit(
                guild,
                user,
                format!(
                    "live stop {} in channel {channel} (message {})",
                    record.target, record.message
                ),
            )
            .await;
            tracing::info!(%guild, %channel, message = %record.message, "live message stopped");
        }
        notice("Live status message removed.", COLOR_INFO)
    }

    /// Refresh every live message once.
    pub async fn tick(&self) {
        let records = match self.records().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read live records; skipping this refresh");
                return;
            }
        };
        futures_util::stream::iter(records)
            .for_each_concurrent(CONCURRENCY, |record| async move {
                self.refresh(&record).await;
            })
            .await;
    }

    async fn refresh(&self, record: &LiveRecord) {
        let Some(chat) = record.chat() else { return };
        let Some(user) = bot_user(&format!("live-{}", record.channel)) else {
            return;
        };
        let Some(payload) = self.refreshed_payload(&user, &record.target).await else {
            return;
        };
        // Stopped while we looked the server up? Then leave the message alone.
        match self.watches.watches_of(&chat).await {
            Ok(w) if w.is_empty() => return,
            _ => {}
        }
        let print = fingerprint(&payload);
        let unchanged = self
            .last_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&record.message)
            == Some(&print);
        if unchanged {
            return;
        }
        if let Some(pacer) = &self.pacer {
            let deadline = self.clock.now().plus(self.interval);
            if pacer
                .admit(&chat, Priority::Report, Some(deadline))
                .await
                .is_err()
            {
                tracing::debug!(channel = %record.channel, message = %record.message,
                    "no turn to edit the live message this interval; next time");
                return;
            }
        }
        match self
            .rest
            .edit_message(&record.channel, &record.message, &payload)
            .await
        {
            Ok(()) => {
                metrics::counter!("mcstat_discord_live_edits_total").increment(1);
                self.last_sent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(record.message.clone(), print);
            }
            Err(e) if e.is_not_found() => {
                tracing::info!(channel = %record.channel, message = %record.message,
                    "live message was deleted in Discord; dropping its record");
                if let Err(e) = self.watches.remove_watch(&chat, &record.target).await {
                    tracing::warn!(error = %e, "cannot remove a live record");
                }
            }
            Err(e) => log_rest_error("editing a live message", &e),
        }
    }

    /// Refresh every interval until `shutdown` resolves. A refresh under way then is
    /// cut short (it may be waiting for turns behind a storm of notifications); the
    /// messages it did not edit are edited by the next process.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.interval) => {}
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.tick() => {}
            }
        }
    }
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        let m = secs / 60;
        if m == 1 {
            "minute".to_owned()
        } else {
            format!("{m} minutes")
        }
    } else if secs >= 1 {
        format!("{secs} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcstat_core::Timestamp;

    #[test]
    fn records_round_trip_through_watches() {
        let record = LiveRecord {
            channel: "645027906669510667".into(),
            message: "1234567890123456789".into(),
            target: "play.example.net:25566".parse().expect("target"),
        };
        let watch = Watch {
            chat: record.chat().expect("valid chat"),
            target: record.target.clone(),
            created_at: Timestamp(0),
            players: Vec::new(),
        };
        assert_eq!(
            watch.chat.id(),
            "live:645027906669510667:1234567890123456789"
        );
        assert_eq!(LiveRecord::from_watch(&watch), Some(record));
        let plain = Watch {
            chat: ChatRef::new(Platform::Discord, "645027906669510667").expect("chat"),
            ..watch
        };
        assert_eq!(LiveRecord::from_watch(&plain), None);
    }

    #[test]
    fn intervals_read_well() {
        assert_eq!(human(Duration::from_secs(60)), "minute");
        assert_eq!(human(Duration::from_secs(300)), "5 minutes");
        assert_eq!(human(Duration::from_secs(90)), "90 s");
        assert_eq!(human(Duration::from_millis(200)), "200 ms");
    }
}
