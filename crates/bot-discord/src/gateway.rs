//! The gateway: serenity's client receives interactions over the websocket and hands
//! them to [`Bot::dispatch`] (through the JSON wire format, so the gateway and the
//! HTTP endpoint run the same code). The first answer goes back through the REST
//! callback endpoint.
//!
//! Interactions need no gateway intents, so the bot asks for none.

use std::future::Future;
use std::sync::Arc;

use serenity::all::{Context, EventHandler, GatewayIntents, Ready};
use serenity::async_trait;
use serenity::model::application::Interaction as SerenityInteraction;

use crate::app::{Bot, log_rest_error};
use crate::wire::Interaction;

struct Handler {
    bot: Arc<Bot>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to the Discord gateway");
    }

    async fn interaction_create(&self, _ctx: Context, interaction: SerenityInteraction) {
        let wire: Interaction =
            match serde_json::to_value(&interaction).and_then(serde_json::from_value) {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read an interaction from the gateway");
                    return;
                }
            };
        let (id, token) = (wire.id.clone(), wire.token.clone());
        let dispatch = self.bot.dispatch(wire).await;
        if let Err(e) = self
            .bot
            .rest()
            .interaction_callback(&id, &token, &dispatch.response, &[])
            .await
        {
            log_rest_error("answering an interaction", &e);
            return;
        }
        if let Some(then) = dispatch.then {
            tokio::spawn(then);
        }
    }
}

/// Why the gateway stopped.
#[derive(Debug, thiserror::Error)]
#[error("Discord gateway: {0}")]
pub struct GatewayError(#[from] serenity::Error);

/// Run the gateway client until `shutdown` resolves (or the connection fails for
/// good, e.g. an invalid token).
///
/// # Errors
/// [`GatewayError`].
pub async fn run(
    token: &str,
    bot: Arc<Bot>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let mut client = serenity::Client::builder(token, GatewayIntents::empty())
        .event_handler(Handler { bot })
        .await?;
    let shards = Arc::clone(&client.shard_manager);
    tokio::spawn(async move {
        shutdown.await;
        shards.shutdown_all().await;
    });
    client.start().await?;
    Ok(())
}
