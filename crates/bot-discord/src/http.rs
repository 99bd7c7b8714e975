//! The HTTP interactions endpoint: `POST /interactions`, for stateless replicas behind
//! a load balancer (set it as the "Interactions Endpoint URL" in the developer portal).
//!
//! Every request's Ed25519 signature is checked first ([`crate::verify`]); a missing or
//! bad one gets 401 and nothing else happens. A PING gets a PONG. Everything else goes
//! through [`Bot::dispatch`]: its first answer is the HTTP response, and the work after
//! it (the deferred reply's edit) runs in a task of its own.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::app::Bot;
use crate::verify::PublicKey;
use crate::wire::Interaction;

/// The path of the endpoint.
pub const INTERACTIONS_PATH: &str = "/interactions";

/// The largest request body accepted.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone)]
struct Endpoint {
    bot: Arc<Bot>,
    key: PublicKey,
}

/// The `/interactions` route, to merge into the operations router.
pub fn router(bot: Arc<Bot>, key: PublicKey) -> Router {
    Router::new()
        .route(INTERACTIONS_PATH, post(interactions))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Endpoint { bot, key })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn interactions(State(ep): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(e) = ep.key.verify(
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
        &body,
        now_secs(),
    ) {
        metrics::counter!("mcstat_discord_bad_signatures_total").increment(1);
        tracing::debug!(error = %e, "interaction refused");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "signed interaction that is not valid JSON");
            return (StatusCode::BAD_REQUEST, "invalid interaction").into_response();
        }
    };
    let dispatch = ep.bot.dispatch(interaction).await;
    if let Some(then) = dispatch.then {
        tokio::spawn(then);
    }
    axum::Json(dispatch.response).into_response()
}
