//! The gateway: serenity's client receives interactions over the websocket and hands
//! them to [`Bot::dispatch`] (through the JSON wire format, so the gateway and the
//! HTTP endpoint run the same code). The first answer goes back through the REST
//! callback endpoint.
//!
//! Interactions need no gateway intents, so the bot asks for none.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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
        let wire = match to_wire(&interaction) {
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

/// Serenity's interaction in Discord's wire format (serenity serialises its model
/// back to the documented JSON).
///
/// # Errors
/// When serenity's JSON does not have the documented shape.
pub fn to_wire(interaction: &SerenityInteraction) -> Result<Interaction, serde_json::Error> {
    let mut value = serde_json::to_value(interaction)?;
    // Serenity's variants imply the type, and its serialisation leaves it out.
    let kind: u8 = match interaction {
        SerenityInteraction::Ping(_) => 1,
        SerenityInteraction::Command(_) => 2,
        SerenityInteraction::Component(_) => 3,
        SerenityInteraction::Autocomplete(_) => 4,
        SerenityInteraction::Modal(_) => 5,
        _ => 0,
    };
    if let Some(map) = value.as_object_mut() {
        map.entry("type").or_insert_with(|| kind.into());
    }
    serde_json::from_value(value)
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
    // Stop on `shutdown` even when no shard ever connected (serenity keeps re-queueing
    // a shard that cannot connect, and `shutdown_all` alone does not end `start`).
    tokio::select! {
        result = client.start() => result?,
        () = shutdown => {
            let _ = tokio::time::timeout(Duration::from_secs(5), shards.shutdown_all()).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::InteractionKind;
    use serde_json::json;

    fn through_serenity(v: serde_json::Value) -> Interaction {
        let s: SerenityInteraction = serde_json::from_value(v).expect("serenity reads it");
        to_wire(&s).expect("wire form")
    }

    #[test]
    fn commands_keep_options_permissions_and_subcommands() {
        let i = through_serenity(json!({
            "id": "786008729715212338", "application_id": "775799577604522054", "type": 2,
            "token": "tok", "version": 1, "guild_id": "290926798626357999",
            "channel_id": "645027906669510667", "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "attachment_size_limit": 10_485_760,
            "member": {"user": {"id": "53908232506183680", "username": "Mason",
                "discriminator": "0", "avatar": null}, "roles": [], "joined_at": "2017-03-13T19:19:14.040000+00:00",
                "deaf": false, "mute": false, "flags": 0, "permissions": "32"},
            "data": {"id": "771825006014889984", "name": "live", "type": 1, "options": [
                {"type": 1, "name": "start", "options": [
                    {"type": 3, "name": "address", "value": "play.example.net"}]}]}
        }));
        assert_eq!(i.kind(), InteractionKind::Command);
        assert_eq!(i.token, "tok");
        assert_eq!(i.channel_id.as_deref(), Some("645027906669510667"));
        assert!(i.may_manage_guild());
        let data = i.data.expect("data");
        assert_eq!(data.name.as_deref(), Some("live"));
        assert_eq!(data.options[0].name, "start");
        assert_eq!(
            data.options[0].options[0].value,
            Some(json!("play.example.net"))
        );
    }

    #[test]
    fn components_keep_custom_id_values_and_message() {
        let i = through_serenity(json!({
            "id": "1", "application_id": "2", "type": 3, "token": "tok", "version": 1,
            "channel_id": "3", "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "attachment_size_limit": 10_485_760,
            "user": {"id": "4", "username": "u", "discriminator": "0", "avatar": null},
            "message": {"id": "5", "channel_id": "3", "author": {"id": "6", "username": "bot",
                "discriminator": "0", "avatar": null}, "content": "", "timestamp": "2024-01-01T00:00:00+00:00",
                "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
                "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0},
            "data": {"custom_id": "mc1:pick", "component_type": 3, "values": ["a.example"]}
        }));
        assert_eq!(i.kind(), InteractionKind::Component);
        assert_eq!(i.invoker().map(|u| u.id.as_str()), Some("4"));
        assert_eq!(i.message.as_ref().map(|m| m.id.as_str()), Some("5"));
        let data = i.data.expect("data");
        assert_eq!(data.custom_id.as_deref(), Some("mc1:pick"));
        assert_eq!(data.values, ["a.example"]);
    }

    #[test]
    fn autocomplete_keeps_the_focused_option() {
        let i = through_serenity(json!({
            "id": "1", "application_id": "2", "type": 4, "token": "tok", "version": 1,
            "channel_id": "3", "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "attachment_size_limit": 10_485_760,
            "user": {"id": "4", "username": "u", "discriminator": "0", "avatar": null},
            "data": {"id": "9", "name": "status", "type": 1, "options": [
                {"type": 3, "name": "address", "value": "pla", "focused": true}]}
        }));
        assert_eq!(i.kind(), InteractionKind::Autocomplete);
        let option = &i.data.expect("data").options[0];
        assert!(option.focused);
        assert_eq!(option.value, Some(json!("pla")));
    }
}
