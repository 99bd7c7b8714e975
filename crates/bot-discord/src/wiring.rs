//! Building the bot from its configuration (adapters → services → bot) and running
//! it: command registration, the live message loop, the operations server (with
//! `/interactions` in HTTP mode) and the gateway.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use mcstat_core::chat::BotInfo;
use mcstat_core::ports::ChatStore;
use mcstat_core::{ChatService, LookupConfig, LookupService};
use mcstat_core::{Platform, Scheduler};
use mcstat_service::backend::{Backend, chart_renderer, replica_name};
use mcstat_service::delivery::Delivery;
use mcstat_service::{ServiceConfig, ops};
use tokio::sync::watch;

use crate::app::{Bot, BotDeps, BotSettings, log_rest_error};
use crate::config::{DiscordConfig, Mode};
use crate::rest::{DiscordRest, RestConfig};

/// A built bot and what serving it needs.
pub struct App {
    /// The bot.
    pub bot: Arc<Bot>,
    /// The store, for `/readyz`.
    pub store: Arc<dyn ChatStore>,
    /// The Discord settings.
    pub discord: DiscordConfig,
    /// The watch scheduler (polls watched servers, tells channels).
    pub scheduler: Arc<Scheduler>,
    /// The outbox: notifications queued durably, posted within Discord's limits.
    pub delivery: Arc<Delivery>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("bot", &self.bot)
            .field("discord", &self.discord)
            .finish_non_exhaustive()
    }
}

/// The lookup settings the configuration asks for. A refresh accepts a cached answer
/// at most one live interval old, so live messages see changes at their interval.
#[must_use]
pub fn lookup_config(service: &ServiceConfig, discord: &DiscordConfig) -> LookupConfig {
    let default = LookupConfig::default();
    LookupConfig {
        policy: service.policy(),
        refresh_max_age: default.refresh_max_age.min(discord.live_interval),
        ..default
    }
}

/// Build the bot with the lookup settings from [`lookup_config`].
///
/// # Errors
/// When a store cannot be opened or the network source cannot be configured.
pub async fn build(service: &ServiceConfig, discord: DiscordConfig) -> anyhow::Result<App> {
    let lookup = lookup_config(service, &discord);
    build_with(service, discord, lookup).await
}

/// Build the bot with explicit lookup settings (tests lift the rate limits): the
/// shared backend ([`Backend::build`]: store, cache, network source, clock), the core
/// services over it, the REST client and the bot.
///
/// # Errors
/// As [`build`].
pub async fn build_with(
    service: &ServiceConfig,
    discord: DiscordConfig,
    lookup: LookupConfig,
) -> anyhow::Result<App> {
    let backend = Backend::build(service).await?;
    let lookups = Arc::new(LookupService::new(
        Arc::clone(&backend.source),
        Arc::clone(&backend.cache),
        Arc::clone(&backend.clock),
        lookup,
    ));
    let chat = Arc::new(ChatService::new(
        lookups,
        Arc::clone(&backend.chats),
        BotInfo::default(),
    ));
    let rest = Arc::new(DiscordRest::new(RestConfig {
        base_url: discord.api_url.clone(),
        ..RestConfig::new(
            discord.token.expose().to_owned(),
            discord.application_id.clone(),
        )
    })?);
    let watch_service = backend.watch_service(service);
    // Interaction answers are not bound by the bot's global limit (Discord's
    // documentation) and leave at once; notifications go through the outbox.
    let delivery = Arc::new(backend.delivery(
        service,
        Platform::Discord,
        Arc::new(crate::watch::DiscordNotifier::new(Arc::clone(&rest))),
    ));
    let scheduler = Arc::new(backend.scheduler(
        service,
        Platform::Discord,
        Arc::clone(&delivery.notifier),
        replica_name(),
    ));
    let bot = Arc::new(Bot::new(
        BotDeps {
            chat,
            chats: Arc::clone(&backend.chats),
            watches: Arc::clone(&backend.watches),
            audit: Arc::clone(&backend.audit),
            clock: Arc::clone(&backend.clock),
            rest,
            watch_service: Some(watch_service),
            charts: Some(chart_renderer()),
            pacer: Some(Arc::clone(&delivery.pacer)),
        },
        BotSettings {
            component_ttl: discord.component_ttl,
            live_interval: discord.live_interval,
        },
    ));
    Ok(App {
        bot,
        store: Arc::clone(&backend.chats),
        discord,
        scheduler,
        delivery,
    })
}

/// Register the slash commands (globally, or in the configured guilds).
pub async fn register_commands(app: &App) {
    let commands = crate::commands::registration();
    let guilds: Vec<Option<&str>> = if app.discord.guild_ids.is_empty() {
        vec![None]
    } else {
        app.discord
            .guild_ids
            .iter()
            .map(|g| Some(g.as_str()))
            .collect()
    };
    for guild in guilds {
        match app.bot.rest().put_commands(guild, &commands).await {
            Ok(()) => tracing::info!(
                guild = guild.unwrap_or("global"),
                "slash commands registered"
            ),
            Err(e) => log_rest_error("registering slash commands", &e),
        }
    }
}

/// Run the bot until `shutdown` resolves: register commands, refresh live messages,
/// serve the operations routes (and `/interactions` in HTTP mode) on
/// `service.http_addr`, and connect to the gateway in gateway mode.
///
/// # Errors
/// When the HTTP server cannot bind or fails, or the gateway stops with an error.
pub async fn run(
    app: App,
    service: &ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = match service.http_addr {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (MCSTAT_HTTP_ADDR)"))?,
        ),
        None => None,
    };
    run_on(app, listener, shutdown).await
}

/// [`run`] with the HTTP listener already bound (`None`: no HTTP server).
///
/// # Errors
/// As [`run`].
pub async fn run_on(
    app: App,
    listener: Option<tokio::net::TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    if app.discord.mode == Mode::Http && listener.is_none() {
        anyhow::bail!(
            "MCSTAT_DISCORD_MODE=http needs MCSTAT_HTTP_ADDR (where Discord sends interactions)"
        );
    }
    if app.discord.register_commands {
        register_commands(&app).await;
    }
    let live = app
        .discord
        .live_updates
        .then(|| tokio::spawn(Arc::clone(app.bot.live()).run(stopped())));
    // The watch scheduler: polls watched servers, posts to their channels.
    let scheduler = {
        let scheduler = Arc::clone(&app.scheduler);
        let stop = stopped();
        tokio::spawn(async move {
            scheduler
                .run_with(stop, |report| {
                    metrics::counter!("mcstat_watch_polls_total", "outcome" => "ok")
                        .increment(report.polled.len() as u64);
                    metrics::counter!("mcstat_watch_polls_total", "outcome" => "failed")
                        .increment(report.failed.len() as u64);
                    metrics::counter!("mcstat_watch_notifications_total")
                        .increment(report.notified as u64);
                })
                .await;
        })
    };
    let delivery = {
        let delivery = Arc::clone(&app.delivery);
        let stop = stopped();
        tokio::spawn(async move { delivery.run(stop).await })
    };
    let mut server = None;
    if let Some(listener) = listener {
        let metrics = ops::install_metrics()?;
        let mut r = ops::router(
            ops::Ops::new(app.store.clone(), metrics).with_outbox(Arc::clone(&app.delivery.health)),
        );
        if app.discord.mode == Mode::Http {
            let key = app
                .discord
                .public_key
                .clone()
                .context("MCSTAT_DISCORD_MODE=http needs MCSTAT_DISCORD_PUBLIC_KEY")?;
            r = r.merge(crate::http::router(Arc::clone(&app.bot), key));
        }
        tracing::info!(addr = ?listener.local_addr().ok(), mode = ?app.discord.mode, "serving HTTP");
        server = Some(tokio::spawn(ops::serve(listener, r, stopped())));
    }
    match app.discord.mode {
        Mode::Gateway => {
            crate::gateway::run(app.discord.token.expose(), Arc::clone(&app.bot), stopped())
                .await?;
        }
        Mode::Http => stopped().await,
    }
    // Let requests in flight finish (the live refresh stops at once).
    if let Some(server) = server {
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    }
    if let Some(live) = live {
        let _ = tokio::time::timeout(Duration::from_secs(10), live).await;
    }
    // The scheduler finishes its round and releases its poll leases (another replica
    // takes the servers over at once).
    if let Err(e) = scheduler.await {
        tracing::warn!(error = %e, "watch scheduler task failed");
    }
    // Posts in flight finish; what waits stays in the outbox for the next start.
    if let Err(e) = delivery.await {
        tracing::warn!(error = %e, "outbox task failed");
    }
    Ok(())
}
