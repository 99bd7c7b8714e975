//! Wiring: backend → core services → Telegram I/O, then run until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mcstat_core::Platform;
use mcstat_core::chat::{BotInfo, COMMANDS};
use mcstat_service::backend::{Backend, replica_name};
use mcstat_service::ops::{self, Ops};
use mcstat_service::{ServiceConfig, shutdown_signal};
use teloxide::prelude::Requester as _;
use teloxide::requests::HasPayload as _;
use teloxide::types::BotCommand;
use teloxide::{ApiError, Bot, RequestError};

use crate::api::call;
use crate::config::TelegramConfig;
use crate::handlers::{App, handle_update};
use crate::listener;
use crate::notify::TelegramNotifier;

/// Where the HTTP server listens in webhook mode when `MCSTAT_HTTP_ADDR` is not set.
pub const DEFAULT_WEBHOOK_ADDR: &str = "0.0.0.0:8080";

/// Why the bot stopped with an error.
pub type RunError = Box<dyn std::error::Error + Send + Sync>;

/// The Bot API client for `config`.
pub fn bot(config: &TelegramConfig) -> Bot {
    let bot = Bot::new(config.token.expose());
    match &config.api_url {
        Some(url) => bot.set_api_url(url.clone()),
        None => bot,
    }
}

/// Run the bot until SIGTERM or Ctrl-C; updates in flight then are finished.
///
/// # Errors
/// When the backend cannot be built, Telegram refuses the token, the webhook cannot be
/// set, or the HTTP server cannot bind.
pub async fn run(service: ServiceConfig, telegram: TelegramConfig) -> Result<(), RunError> {
    let metrics = ops::install_metrics()?;
    let backend = Backend::build(&service).await?;
    let chat = backend.chat_service(&service, BotInfo::default());
    let bot = bot(&telegram);

    let me = match call(bot.get_me()).await {
        Ok(me) => me,
        Err(RequestError::Api(ApiError::InvalidToken)) => {
            return Err("Telegram refused the bot token: check MCSTAT_TELEGRAM_TOKEN".into());
        }
        Err(e) => {
            return Err(
                format!("cannot reach the Bot API (getMe): {}", ops::error_chain(&e)).into(),
            );
        }
    };
    let username = me.username.clone().unwrap_or_default();
    tracing::info!(bot = %username, mode = if telegram.webhook.is_some() { "webhook" } else { "polling" }, "starting");

    if telegram.register_commands {
        let commands: Vec<BotCommand> = COMMANDS
            .iter()
            .map(|c| BotCommand::new(c.name, c.description))
            .collect();
        if let Err(e) = call(bot.set_my_commands(commands)).await {
            tracing::warn!(error = %e, "setMyCommands failed; the command menu may be outdated");
        }
    }

    // The outbox: answers and notifications leave through one pacer within
    // Telegram's limits; notifications are queued durably and sent by the
    // dispatcher (see mcstat_core::outbox).
    let delivery = Arc::new(backend.delivery(
        &service,
        Platform::Telegram,
        Arc::new(TelegramNotifier::new(bot.clone())),
    ));
    let (delivery_stop, delivery_stopped) = tokio::sync::oneshot::channel::<()>();
    let delivery_task = {
        let delivery = Arc::clone(&delivery);
        tokio::spawn(async move {
            delivery
                .run(async {
                    let _ = delivery_stopped.await;
                })
                .await;
        })
    };

    let (queue, updates) = listener::queue();
    let mut router = ops::router(
        Ops::new(Arc::clone(&backend.chats), metrics).with_outbox(Arc::clone(&delivery.health)),
    );
    let http_addr: Option<SocketAddr> = match (&telegram.webhook, service.http_addr) {
        (_, Some(addr)) => Some(addr),
        (Some(_), None) => Some(DEFAULT_WEBHOOK_ADDR.parse()?),
        (None, None) => None,
    };
    let mut poller = None;
    match &telegram.webhook {
        Some(webhook) => {
            router = router.merge(listener::webhook_router(
                &webhook.path,
                webhook.secret.clone(),
                queue.clone(),
            ));
            if webhook.set_webhook {
                let mut req = bot.set_webhook(webhook.url.clone());
                let p = req.payload_mut();
                p.secret_token = Some(webhook.secret.expose().to_owned());
                p.allowed_updates = Some(listener::allowed_updates());
                call(req)
                    .await
                    .map_err(|e| format!("setWebhook failed: {e}"))?;
            }
        }
        None => {
            // getUpdates fails while a webhook is set.
            if let Err(e) = call(bot.delete_webhook()).await {
                tracing::warn!(error = %e, "deleteWebhook failed");
            }
            poller = Some(tokio::spawn(listener::poll(
                bot.clone(),
                queue.clone(),
                telegram.poll_timeout,
            )));
        }
    }

    let (http_stop, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = match http_addr {
        Some(addr) => {
            let tcp = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} (MCSTAT_HTTP_ADDR): {e}"))?;
            tracing::info!(addr = %tcp.local_addr()?, "HTTP server listening");
            Some(tokio::spawn(ops::serve(tcp, router, async {
                let _ = http_stopped.await;
            })))
        }
        None => None,
    };

    let housekeeping = {
        let lookups = Arc::clone(chat.lookups());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                lookups.housekeeping();
            }
        })
    };

    // The watch scheduler: polls watched servers, tells chats through the Bot API.
    let watches = backend.watch_service(&service);
    let scheduler = Arc::new(backend.scheduler(
        &service,
        Platform::Telegram,
        Arc::clone(&delivery.notifier),
        replica_name(),
    ));
    let (scheduler_stop, scheduler_stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler_task = {
        let scheduler = Arc::clone(&scheduler);
        tokio::spawn(async move {
            scheduler
                .run_with(
                    async {
                        let _ = scheduler_stopped.await;
                    },
                    |report| {
                        metrics::counter!("mcstat_watch_polls_total", "outcome" => "ok")
                            .increment(report.polled.len() as u64);
                        metrics::counter!("mcstat_watch_polls_total", "outcome" => "failed")
                            .increment(report.failed.len() as u64);
                        metrics::counter!("mcstat_watch_notifications_total")
                            .increment(report.notified as u64);
                    },
                )
                .await;
        })
    };
    tracing::info!(
        interval_secs = service.watch_config().interval.as_secs(),
        down_after = service.watch_config().down_after.get(),
        "watch scheduler started"
    );

    let app = Arc::new(
        App::new(chat, bot.clone(), username)
            .with_icons(telegram.icons)
            .with_watches(watches)
            .with_charts(mcstat_service::backend::chart_renderer())
            .with_pacer(Arc::clone(&delivery.pacer)),
    );
    // SIGTERM or Ctrl-C stops the listener; the updates it accepted are handled.
    let stop = updates.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.stop();
    });
    crate::dispatch::dispatch(updates, move |update| {
        let app = Arc::clone(&app);
        async move {
            let Ok(()) = handle_update(update, app).await;
        }
    })
    .await;
    tracing::info!("dispatcher stopped; in-flight updates finished");
    housekeeping.abort();
    // The scheduler finishes its round and releases its poll leases (another replica
    // takes the servers over at once).
    let _ = scheduler_stop.send(());
    if let Err(e) = scheduler_task.await {
        tracing::warn!(error = %e, "watch scheduler task failed");
    }
    // Sends in flight finish; what waits stays in the outbox for the next start.
    let _ = delivery_stop.send(());
    if let Err(e) = delivery_task.await {
        tracing::warn!(error = %e, "outbox task failed");
    }
    if let Some(p) = poller {
        let _ = p.await;
    }
    let _ = http_stop.send(());
    if let Some(server) = server {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server failed"),
            Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
        }
    }
    tracing::info!("stopped");
    Ok(())
}
