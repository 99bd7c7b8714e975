//! End to end through the HTTP interactions endpoint: signed requests from the test,
//! a real Minecraft server (npm `minecraft-protocol`), the real file store, and the
//! fake Discord REST API receiving the deferred replies and the live message.

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use mcstat_core::{ChatRef, Platform};
use mcstat_discord::rest::{DiscordRest, RestConfig, RestError};
use mcstat_discord::wire::MessagePayload;
use serde_json::{Value, json};

use crate::fake_discord::{FakeDiscord, Recorded};
use crate::support::{
    APP_ID, CHANNEL, GUILD, MANAGE_GUILD, USER, autocomplete, command, component, fresh_snowflake,
    peers, start_bot, token,
};

/// A 1×1 PNG.
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

async fn java_peer() -> peers::Peer {
    let opts = json!({
        "motd": "§aHello §c§lworld",
        "maxPlayers": 20,
        "online": 3,
        "sample": [{"name": "Alex", "id": "00000000-0000-0000-0000-000000000001"}],
        "favicon": format!("data:image/png;base64,{PNG_B64}"),
    });
    peers::spawn_node_peer("java-server.js", &[&opts.to_string()]).await
}

const WAIT: Duration = Duration::from_secs(20);

fn original_path(token: &str) -> String {
    format!("/webhooks/{APP_ID}/{token}/messages/@original")
}

async fn edited_reply(fake: &FakeDiscord, token: &str) -> Recorded {
    let path = original_path(token);
    let reqs = fake
        .wait_for(&format!("PATCH {path}"), WAIT, |r| {
            r.iter().any(|r| r.method == "PATCH" && r.path == path)
        })
        .await;
    reqs.into_iter()
        .find(|r| r.method == "PATCH" && r.path == path)
        .expect("found")
}

fn custom_ids(payload: &Value) -> Vec<String> {
    payload["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}

fn field<'a>(embed: &'a Value, name: &str) -> &'a str {
    embed["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == name))
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("no field {name} in {embed}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_and_ping_gets_pong() {
    let (fake, api) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bot = start_bot(&api, &dir.path().join("s.redb"), Duration::from_secs(60)).await;

    assert_eq!(
        bot.interact(&json!({"type": 1, "id": "1", "token": "t"}))
            .await,
        json!({"type": 1})
    );

    let status = command(&token("forged"), "status", json!([]), 0);
    let stranger = SigningKey::from_bytes(&[7; 32]);
    assert_eq!(bot.post_signed_by(&stranger, &status).await.status(), 401);
    let body = serde_json::to_vec(&status).expect("json");
    assert_eq!(bot.post_raw(&body, None, None).await.status(), 401);
    assert_eq!(
        bot.post_raw(&body, Some("00".repeat(64)), Some("1700000000".into()))
            .await
            .status(),
        401
    );
    // A valid signature over another body.
    let ping = bot
        .post_signed_by(&crate::support::app_key(), &json!({"type": 1}))
        .await;
    assert_eq!(ping.status(), 200);

    // Nothing reached Discord on behalf of a refused request (only the start-up
    // command registration).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        [format!(
            "PUT /applications/{APP_ID}/guilds/{GUILD}/commands"
        )],
        "{calls:?}"
    );
    let registered = &fake.requests()[0];
    assert_eq!(registered.auth.as_deref(), Some("Bot test-token"));
    assert_eq!(registered.json[0]["name"], "status");

    let (code, body) = bot.get("/healthz").await;
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    assert_eq!(bot.get("/readyz").await.0, 200);
    let (code, metrics) = bot.get("/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("mcstat_discord_bad_signatures_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mcstat_discord_interactions_total{kind=\"immediate\"}"),
        "{metrics}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_players_buttons_menu_and_autocomplete_against_a_real_server() {
    let peer = java_peer().await;
    let address = format!("127.0.0.1:{}", peer.port);
    let (fake, api) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bot = start_bot(&api, &dir.path().join("s.redb"), Duration::from_secs(60)).await;

    // /status address → deferred, then the reply is edited with the card and icon.
    let t = token("status");
    let first = bot
        .interact(&command(
            &t,
            "status",
            json!([{"type": 3, "name": "address", "value": address}]),
            0,
        ))
        .await;
    assert_eq!(first, json!({"type": 5}));
    let edit = edited_reply(&fake, &t).await;
    let embed = &edit.json["embeds"][0];
    assert_eq!(embed["color"], 0x3B_A5_5C, "{embed}");
    assert_eq!(embed["title"], format!("🟢 {address}"));
    let description = embed["description"].as_str().expect("motd");
    assert!(description.starts_with("```ansi\n"), "{description:?}");
    assert!(
        description.contains("\u{1b}[0;32mHello "),
        "{description:?}"
    );
    assert!(
        description.contains("\u{1b}[0;1;31mworld"),
        "{description:?}"
    );
    assert_eq!(field(embed, "Players"), "3 / 20");
    assert_eq!(field(embed, "Version"), "1.20.4");
    assert!(field(embed, "Online now").contains("Alex"));
    assert_eq!(embed["thumbnail"]["url"], "attachment://icon.png");
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG_B64)
        .expect("png");
    assert_eq!(
        edit.files,
        [("files[0]".to_owned(), "icon.png".to_owned(), png)]
    );
    assert_eq!(
        edit.json["attachments"],
        json!([{"id": 0, "filename": "icon.png"}])
    );
    assert_eq!(edit.json["allowed_mentions"], json!({"parse": []}));
    let ids = custom_ids(&edit.json);
    assert!(ids.contains(&format!("mc1:r|s|{address}")), "{ids:?}");
    assert!(ids.contains(&format!("mc1:p|0|{address}")), "{ids:?}");

    // The Players button updates the same message (deferred update, then edit).
    let message = fresh_snowflake();
    let t = token("players");
    let ack = bot
        .interact(&component(&t, &format!("mc1:p|0|{address}"), &[], &message))
        .await;
    assert_eq!(ack, json!({"type": 6}));
    let edit = edited_reply(&fake, &t).await;
    let embed = &edit.json["embeds"][0];
    assert_eq!(embed["title"], format!("👥 3 / 20 on {address}"), "{embed}");
    assert!(
        embed["description"]
            .as_str()
            .expect("names")
            .contains("Alex")
    );
    assert!(custom_ids(&edit.json).contains(&format!("mc1:s|{address}")));

    // Refresh.
    let t = token("refresh");
    bot.interact(&component(&t, &format!("mc1:r|s|{address}"), &[], &message))
        .await;
    let edit = edited_reply(&fake, &t).await;
    assert_eq!(
        edit.json["embeds"][0]["footer"]["text"],
        "Java · live · mcstat"
    );

    // A bare /status uses the channel's last server.
    let t = token("bare");
    bot.interact(&command(&t, "status", json!([]), 0)).await;
    let edit = edited_reply(&fake, &t).await;
    assert_eq!(edit.json["embeds"][0]["title"], format!("🟢 {address}"));

    // A second server appears in the select menu; picking the first switches back.
    let other_peer = java_peer().await;
    let other = format!("127.0.0.1:{}", other_peer.port);
    let t = token("other");
    bot.interact(&command(
        &t,
        "status",
        json!([{"type": 3, "name": "address", "value": other}]),
        0,
    ))
    .await;
    let edit = edited_reply(&fake, &t).await;
    let menu = edit.json["components"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["components"][0]["type"] == 3))
        .expect("a select menu")["components"][0]
        .clone();
    let values: Vec<&str> = menu["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(|o| o["value"].as_str())
        .collect();
    assert_eq!(values, [other.as_str(), address.as_str()]);
    let t = token("pick");
    bot.interact(&component(&t, "mc1:pick", &[&address], &message))
        .await;
    let edit = edited_reply(&fake, &t).await;
    assert_eq!(edit.json["embeds"][0]["title"], format!("🟢 {address}"));

    // Autocomplete offers the recent servers.
    let choices = bot.interact(&autocomplete("127.0.0")).await;
    assert_eq!(choices["type"], 8);
    let offered: Vec<&str> = choices["data"]["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    assert_eq!(offered, [address.as_str(), other.as_str()]);

    // A button of another version is refused kindly, and nothing is edited.
    let before = fake.requests().len();
    let stale = bot
        .interact(&component(&token("stale"), "status:old", &[], &message))
        .await;
    assert_eq!(stale["type"], 4);
    assert_eq!(stale["data"]["flags"], 64);
    assert!(
        stale["data"]["embeds"][0]["description"]
            .as_str()
            .expect("text")
            .contains("expired")
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.requests().len(), before);

    // Help answers at once.
    let help = bot
        .interact(&command(&token("help"), "help", json!([]), 0))
        .await;
    assert_eq!(help["type"], 4);
    assert!(
        help["data"]["embeds"][0]["description"]
            .as_str()
            .expect("help")
            .contains("/live start")
    );
    bot.stop().await;
}

fn live_posts(reqs: &[Recorded]) -> Vec<&Recorded> {
    reqs.iter()
        .filter(|r| r.method == "POST" && r.path == format!("/channels/{CHANNEL}/messages"))
        .collect()
}

fn live_edits<'a>(reqs: &'a [Recorded], message: &str) -> Vec<&'a Recorded> {
    let path = format!("/channels/{CHANNEL}/messages/{message}");
    reqs.iter()
        .filter(|r| r.method == "PATCH" && r.path == path)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_message_follows_the_server_survives_a_restart_and_stops() {
    let peer = java_peer().await;
    let address = format!("127.0.0.1:{}", peer.port);
    let (fake, api) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("s.redb");
    let interval = Duration::from_millis(200);
    let bot = start_bot(&api, &store, interval).await;
    let live_start = |t: &str, perms: u64| {
        command(
            t,
            "live",
            json!([{"type": 1, "name": "start",
                    "options": [{"type": 3, "name": "address", "value": address}]}]),
            perms,
        )
    };

    // Without Manage Guild: refused at once, nothing posted.
    let refused = bot.interact(&live_start(&token("live-no"), 0)).await;
    assert_eq!(refused["type"], 4);
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        refused["data"]["embeds"][0]["description"]
            .as_str()
            .expect("text")
            .contains("Manage Server")
    );

    // With it: an ephemeral deferred answer, the message is posted, the member told.
    let t = token("live");
    let ack = bot.interact(&live_start(&t, MANAGE_GUILD)).await;
    assert_eq!(ack, json!({"type": 5, "data": {"flags": 64}}));
    let told = edited_reply(&fake, &t).await;
    assert!(
        told.json["embeds"][0]["description"]
            .as_str()
            .expect("notice")
            .contains("posted"),
        "{}",
        told.json
    );
    let reqs = fake.requests();
    let posts = live_posts(&reqs);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].json["embeds"][0]["color"], 0x3B_A5_5C);
    assert_eq!(posts[0].json["components"], json!([]));
    let messages = fake.messages(CHANNEL);
    let message = messages.keys().next().expect("one live message").clone();
    assert_eq!(messages.len(), 1);

    // The audit log has who, what and when.
    let scope = ChatRef::new(Platform::Discord, format!("guild:{GUILD}")).expect("scope");
    let entries = bot
        .bot
        .deps()
        .audit
        .audit_entries(&scope, 10)
        .await
        .expect("audit");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor.id(), USER);
    assert!(
        entries[0]
            .action
            .starts_with(&format!("live start {address}")),
        "{entries:?}"
    );

    // Restart: the record is in the store, and the new process keeps the message.
    bot.stop().await;
    let bot = start_bot(&api, &store, interval).await;
    let records = bot.bot.live().records().await.expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].message, message);

    // The server goes down: the message turns red at the next refresh.
    drop(peer);
    let reqs = fake
        .wait_for("the live message to turn red", WAIT, |r| {
            live_edits(r, &message)
                .iter()
                .any(|e| e.json["embeds"][0]["color"] == 0xED_42_45)
        })
        .await;
    let red = live_edits(&reqs, &message)
        .into_iter()
        .find(|e| e.json["embeds"][0]["color"] == 0xED_42_45)
        .expect("red edit");
    assert!(
        red.json["embeds"][0]["title"]
            .as_str()
            .expect("title")
            .starts_with("🔴")
    );
    assert_eq!(red.json["attachments"], json!([]));

    // /live stop: the message is deleted, the record removed, edits stop.
    let t = token("stop");
    bot.interact(&command(
        &t,
        "live",
        json!([{"type": 1, "name": "stop"}]),
        MANAGE_GUILD,
    ))
    .await;
    let told = edited_reply(&fake, &t).await;
    assert!(
        told.json["embeds"][0]["description"]
            .as_str()
            .expect("notice")
            .contains("removed")
    );
    assert!(fake.messages(CHANNEL).is_empty());
    let delete_path = format!("/channels/{CHANNEL}/messages/{message}");
    assert_eq!(fake.matching("DELETE", &delete_path).len(), 1);
    assert!(bot.bot.live().records().await.expect("records").is_empty());
    // A refresh already past its store read may still land (its lookup has a 2 s
    // deadline); after that, no more edits, however many intervals pass.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let edits_after_stop = live_edits(&fake.requests(), &message).len();
    tokio::time::sleep(interval * 5).await;
    assert_eq!(
        live_edits(&fake.requests(), &message).len(),
        edits_after_stop
    );
    let entries = bot
        .bot
        .deps()
        .audit
        .audit_entries(&scope, 10)
        .await
        .expect("audit");
    assert_eq!(entries.len(), 2);
    assert!(
        entries[0]
            .action
            .starts_with(&format!("live stop {address}")),
        "{entries:?}"
    );
    assert!(entries[0].at >= entries[1].at);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_client_retries_server_errors_and_respects_rate_limits() {
    let (fake, api) = FakeDiscord::start().await;
    let rest = DiscordRest::new(RestConfig {
        base_url: api,
        backoff: Duration::from_millis(50),
        ..RestConfig::new("tok".into(), APP_ID.into())
    })
    .expect("client");
    let messages = format!("/channels/{CHANNEL}/messages");
    let payload = MessagePayload::default();

    // 502 then 429 (retry after 0.3 s), then success: one message, three attempts.
    fake.fail_next(&messages, 502, &[], json!({"message": "bad gateway"}));
    fake.fail_next(
        &messages,
        429,
        &[("retry-after", "0.3")],
        json!({"message": "You are being rate limited.", "retry_after": 0.3, "global": false}),
    );
    let started = tokio::time::Instant::now();
    let id = rest
        .create_message(CHANNEL, &payload)
        .await
        .expect("posted");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fake.matching("POST", &messages).len(), 3);
    assert!(fake.messages(CHANNEL).contains_key(&id));

    // A bucket with no requests left waits for its reset before the next request.
    fake.fail_next(
        &format!("{messages}/{id}"),
        200,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset-after", "0.4"),
        ],
        json!({"id": id}),
    );
    rest.edit_message(CHANNEL, &id, &payload)
        .await
        .expect("edited");
    let started = tokio::time::Instant::now();
    rest.edit_message(CHANNEL, &id, &payload)
        .await
        .expect("edited");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // 4xx is not retried; 404 says "not found"; persistent 5xx gives up.
    let missing = rest
        .delete_message(CHANNEL, "1")
        .await
        .expect_err("unknown");
    assert!(missing.is_not_found(), "{missing}");
    assert_eq!(fake.matching("DELETE", &format!("{messages}/1")).len(), 1);
    for _ in 0..4 {
        fake.fail_next("/channels/9/", 500, &[], json!({}));
    }
    let down = rest.create_message("9", &payload).await.expect_err("down");
    assert!(
        matches!(down, RestError::Unavailable { attempts: 4, .. }),
        "{down}"
    );
    // A path that cannot be a Discord id never leaves the process.
    assert!(matches!(
        rest.delete_message("../x", "1").await,
        Err(RestError::BadPath)
    ));
}
