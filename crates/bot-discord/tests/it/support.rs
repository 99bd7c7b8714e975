//! Running the bot for end-to-end tests: the real binary's wiring (file store in a
//! temporary directory, network source, services) in HTTP interactions mode, pointed
//! at the fake Discord, plus signed requests built with the test's own key pair.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signer, SigningKey};
use mcstat_adapters::FileStoreError;
use mcstat_core::{ChatRef, LookupConfig};
use mcstat_discord::app::Bot;
use mcstat_discord::config::DiscordConfig;
use mcstat_discord::interact::DISCORD_EPOCH_MS;
use mcstat_discord::wiring;
use mcstat_service::{ConfigSource, ServiceConfig};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[path = "../../../../tests/interop/support.rs"]
pub(crate) mod peers;

pub(crate) const APP_ID: &str = "777";
pub(crate) const GUILD: &str = "300000000000000001";
pub(crate) const CHANNEL: &str = "300000000000000002";
pub(crate) const USER: &str = "42";
/// Manage Guild.
pub(crate) const MANAGE_GUILD: u64 = 1 << 5;

/// The application's key pair (the public half goes in the bot's configuration).
pub(crate) fn app_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// A running bot.
pub(crate) struct Running {
    pub(crate) bot: Arc<Bot>,
    pub(crate) url: String,
    client: reqwest::Client,
    key: SigningKey,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Start the bot on `store`, talking to the fake Discord at `api`, refreshing live
/// messages every `live_interval`.
pub(crate) async fn start_bot(api: &str, store: &Path, live_interval: Duration) -> Running {
    // The bot's log lines, shown with a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let key = app_key();
    let toml = format!(
        r#"
        store_path = "{}"
        allow_networks = "127.0.0.0/8"
        lookup_timeout_ms = 2000
        discord_token = "test-token"
        discord_application_id = "{APP_ID}"
        discord_mode = "http"
        discord_public_key = "{}"
        discord_api_url = "{api}"
        discord_guild_ids = "{GUILD}"
        watch_interval_secs = 1
        "#,
        store.display(),
        hex::encode(key.verifying_key().as_bytes()),
    );
    let source = ConfigSource::from_toml(&toml);
    let service = ServiceConfig::from_source(&source).expect("service config");
    let mut discord = DiscordConfig::from_source(&source).expect("discord config");
    discord.live_interval = live_interval;
    // Rate limits off and refreshes always live: the tests ask the peer often.
    let lookup = LookupConfig {
        per_user: None,
        per_target: None,
        refresh_max_age: Duration::ZERO,
        ..wiring::lookup_config(&service, &discord)
    };
    // A follow-up the previous bot on this store spawned for an interaction (not
    // joined by its shutdown) may hold the store a moment longer.
    let mut tries = 0;
    let app = loop {
        match wiring::build_with(&service, discord.clone(), lookup.clone()).await {
            Ok(app) => break app,
            Err(e)
                if tries < 50
                    && e.chain()
                        .any(|c| matches!(c.downcast_ref(), Some(FileStoreError::Locked))) =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("build the bot: {e:?}"),
        }
    };
    let bot = Arc::clone(&app.bot);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(wiring::run_on(app, Some(listener), async move {
        let _ = stopped.await;
    }));
    Running {
        bot,
        url,
        client: reqwest::Client::new(),
        key,
        stop: Some(stop),
        task: Some(task),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A snowflake made now (a message the buttons are on).
pub(crate) fn fresh_snowflake() -> String {
    let ms = u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    ((ms - DISCORD_EPOCH_MS) << 22).to_string()
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh interaction token.
pub(crate) fn token(what: &str) -> String {
    format!("tok-{what}-{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

fn member(perms: u64) -> Value {
    json!({"user": {"id": USER, "username": "alice", "discriminator": "0"},
           "roles": [], "permissions": perms.to_string()})
}

/// A slash command interaction.
pub(crate) fn command(token: &str, name: &str, options: Value, perms: u64) -> Value {
    json!({
        "id": NEXT.fetch_add(1, Ordering::SeqCst).to_string(), "application_id": APP_ID,
        "type": 2, "token": token, "version": 1, "guild_id": GUILD, "channel_id": CHANNEL,
        "member": member(perms),
        "data": {"id": "1", "name": name, "type": 1, "options": options},
    })
}

/// A button or select menu interaction on message `message`.
pub(crate) fn component(token: &str, custom_id: &str, values: &[&str], message: &str) -> Value {
    json!({
        "id": NEXT.fetch_add(1, Ordering::SeqCst).to_string(), "application_id": APP_ID,
        "type": 3, "token": token, "version": 1, "guild_id": GUILD, "channel_id": CHANNEL,
        "member": member(0),
        "message": {"id": message, "channel_id": CHANNEL},
        "data": {"custom_id": custom_id, "component_type": if values.is_empty() { 2 } else { 3 },
                 "values": values},
    })
}

/// An autocomplete interaction for `/status address:<partial>`.
pub(crate) fn autocomplete(partial: &str) -> Value {
    json!({
        "id": NEXT.fetch_add(1, Ordering::SeqCst).to_string(), "application_id": APP_ID,
        "type": 4, "token": token("ac"), "version": 1, "guild_id": GUILD, "channel_id": CHANNEL,
        "member": member(0),
        "data": {"id": "1", "name": "status", "type": 1,
                 "options": [{"type": 3, "name": "address", "value": partial, "focused": true}]},
    })
}

impl Running {
    /// POST a body with the given signature headers.
    pub(crate) async fn post_raw(
        &self,
        body: &[u8],
        signature: Option<String>,
        timestamp: Option<String>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/interactions", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(s) = signature {
            req = req.header("X-Signature-Ed25519", s);
        }
        if let Some(t) = timestamp {
            req = req.header("X-Signature-Timestamp", t);
        }
        req.send().await.expect("POST /interactions")
    }

    /// POST an interaction signed with `key`.
    pub(crate) async fn post_signed_by(&self, key: &SigningKey, v: &Value) -> reqwest::Response {
        let body = serde_json::to_vec(v).expect("json");
        let ts = now_secs().to_string();
        let mut msg = ts.as_bytes().to_vec();
        msg.extend_from_slice(&body);
        let sig = hex::encode(key.sign(&msg).to_bytes());
        self.post_raw(&body, Some(sig), Some(ts)).await
    }

    /// POST an interaction signed with the application's key; returns the JSON answer.
    pub(crate) async fn interact(&self, v: &Value) -> Value {
        let resp = self.post_signed_by(&self.key, v).await;
        assert_eq!(resp.status(), 200, "interaction answered {}", resp.status());
        let bytes = resp.bytes().await.expect("answer body");
        serde_json::from_slice(&bytes).expect("JSON answer")
    }

    /// GET a path of the HTTP server.
    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET");
        (
            resp.status().as_u16(),
            resp.text().await.unwrap_or_default(),
        )
    }

    /// Wait (up to `timeout`) until the scheduler recorded `chat`'s watch of
    /// `address` answering: from then on, its going down is news.
    pub(crate) async fn wait_polled_up(&self, chat: &ChatRef, address: &str, timeout: Duration) {
        let service = self
            .bot
            .deps()
            .watch_service
            .clone()
            .expect("watching is available");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let watches = service.watches(chat).await.expect("watches");
            if watches.iter().any(|w| {
                w.watch.target.to_string() == address && w.last_sample.is_some_and(|(_, up)| up)
            }) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{address} was not polled as up within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stop the bot and wait until it has let go of its store.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("bot stops within 15 s")
                .expect("bot task")
                .expect("bot ran without error");
        }
    }
}
