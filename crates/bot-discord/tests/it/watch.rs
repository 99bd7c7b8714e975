//! Watches end to end: `/watch` through the signed interactions endpoint, a real
//! Minecraft server stopped and started again, the scheduler (1 s interval) posting
//! the notifications to the channel on the fake Discord REST API.

use std::time::{Duration, Instant};

use mcstat_core::{ChatRef, Platform};
use serde_json::{Value, json};

use crate::fake_discord::{FakeDiscord, Recorded};
use crate::support::{CHANNEL, MANAGE_GUILD, USER, command, peers, start_bot, token};

const WAIT: Duration = Duration::from_secs(30);

/// Notifications posted to the channel whose text starts with `icon`.
fn posted(reqs: &[Recorded], icon: &str) -> Vec<String> {
    let path = format!("/channels/{CHANNEL}/messages");
    reqs.iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .filter_map(|r| r.json["content"].as_str())
        .filter(|c| c.starts_with(icon))
        .map(str::to_owned)
        .collect()
}

fn description(v: &Value) -> String {
    v["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn address_option(address: &str) -> Value {
    json!([{"type": 3, "name": "address", "value": address}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_server_going_down_and_coming_back_is_told_once_each() {
    let peer =
        peers::spawn_node_peer("java-server.js", &[&json!({"motd": "Hi"}).to_string()]).await;
    let port = peer.port;
    let address = format!("127.0.0.1:{port}");
    let (fake, api) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bot = start_bot(&api, &dir.path().join("s.redb"), Duration::from_secs(60)).await;

    // Without Manage Server: refused, privately, and nothing is watched.
    let refused = bot
        .interact(&command(
            &token("w-no"),
            "watch",
            address_option(&address),
            0,
        ))
        .await;
    assert_eq!(refused["type"], 4);
    assert_eq!(refused["data"]["flags"], 64);
    assert!(description(&refused).contains("Manage Server"), "{refused}");
    let listed = bot
        .interact(&command(&token("ls0"), "watches", json!([]), 0))
        .await;
    assert!(description(&listed).contains("no servers"), "{listed}");

    // A bad address: a private hint.
    let bad = bot
        .interact(&command(
            &token("w-bad"),
            "watch",
            address_option("a b"),
            MANAGE_GUILD,
        ))
        .await;
    assert_eq!(bad["data"]["flags"], 64, "{bad}");
    assert!(description(&bad).contains("/watch"), "{bad}");

    // With it: watched, answered in the channel, written to the audit log.
    let added = bot
        .interact(&command(
            &token("w"),
            "watch",
            address_option(&address),
            MANAGE_GUILD,
        ))
        .await;
    assert_eq!(added["type"], 4);
    assert!(added["data"]["flags"].is_null(), "{added}");
    assert!(description(&added).contains("Watching"), "{added}");
    let scope = ChatRef::new(Platform::Discord, CHANNEL).expect("scope");
    let entries = bot
        .bot
        .deps()
        .audit
        .audit_entries(&scope, 10)
        .await
        .expect("audit");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].actor.id(), USER);
    assert_eq!(entries[0].action, format!("watch add {address}"));

    // Let the scheduler see it up, then stop the server: told once that it is down.
    bot.wait_polled_up(&scope, &address, WAIT).await;
    drop(peer);
    let stopped = Instant::now();
    fake.wait_for("the down notification", WAIT, |r| {
        !posted(r, "🔴").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let down = posted(&fake.requests(), "🔴");
    assert_eq!(down.len(), 1, "{down:?}");
    assert!(
        down[0].starts_with(&format!("🔴 {address} is down")),
        "{}",
        down[0]
    );
    let listed = bot
        .interact(&command(&token("ls1"), "watches", json!([]), 0))
        .await;
    assert!(description(&listed).contains("down for"), "{listed}");

    // Back on the same port: told once, with the outage's length.
    let _peer = peers::spawn_node_peer(
        "java-server.js",
        &[&json!({"motd": "Back", "port": port}).to_string()],
    )
    .await;
    fake.wait_for("the back-up notification", WAIT, |r| {
        !posted(r, "🟢").is_empty()
    })
    .await;
    let outage = stopped.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reqs = fake.requests();
    let up = posted(&reqs, "🟢");
    assert_eq!(up.len(), 1, "{up:?}");
    let secs: u64 = up[0]
        .strip_prefix(&format!("🟢 {address} is back up after "))
        .and_then(|rest| rest.strip_suffix(" s."))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a back-up sentence with seconds: {}", up[0]));
    assert!(
        secs >= 1 && secs <= outage.as_secs() + 1,
        "{secs} s reported, {outage:?} real"
    );
    assert_eq!(posted(&reqs, "🔴").len(), 1);
    // Mentions are never parsed in notifications.
    let note = reqs
        .iter()
        .find(|r| {
            r.json["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("🟢"))
        })
        .expect("note");
    assert_eq!(note.json["allowed_mentions"], json!({"parse": []}));

    // Uptime knows the outage; unwatch without the permission is refused, with it works.
    let uptime = bot
        .interact(&command(
            &token("up"),
            "uptime",
            address_option(&address),
            0,
        ))
        .await;
    assert!(description(&uptime).contains("Last outages"), "{uptime}");
    let refused = bot
        .interact(&command(
            &token("uw-no"),
            "unwatch",
            address_option(&address),
            0,
        ))
        .await;
    assert_eq!(refused["data"]["flags"], 64);
    let removed = bot
        .interact(&command(
            &token("uw"),
            "unwatch",
            address_option(&address),
            MANAGE_GUILD,
        ))
        .await;
    assert!(
        description(&removed).contains("Stopped watching"),
        "{removed}"
    );
    let entries = bot
        .bot
        .deps()
        .audit
        .audit_entries(&scope, 10)
        .await
        .expect("audit");
    assert_eq!(entries.len(), 2, "{entries:?}");

    // The graph: a deferred reply edited with the PNG as the embed's image.
    let t = token("graph");
    let ack = bot
        .interact(&command(
            &t,
            "graph",
            json!([{"type": 3, "name": "address", "value": address},
                   {"type": 3, "name": "range", "value": "24h"}]),
            0,
        ))
        .await;
    assert_eq!(ack["type"], 5);
    let path = format!(
        "/webhooks/{}/{t}/messages/@original",
        crate::support::APP_ID
    );
    let reqs = fake
        .wait_for("the graph", WAIT, |r| {
            r.iter().any(|r| r.method == "PATCH" && r.path == path)
        })
        .await;
    let edit = reqs
        .iter()
        .find(|r| r.method == "PATCH" && r.path == path)
        .expect("edit");
    assert_eq!(
        edit.json["embeds"][0]["image"]["url"],
        "attachment://graph.png"
    );
    assert_eq!(edit.files.len(), 1);
    assert!(edit.files[0].2.starts_with(b"\x89PNG"), "not a PNG");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_the_bot_cannot_post_in_loses_its_watches() {
    let peer =
        peers::spawn_node_peer("java-server.js", &[&json!({"motd": "Hi"}).to_string()]).await;
    let address = format!("127.0.0.1:{}", peer.port);
    let (fake, api) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bot = start_bot(&api, &dir.path().join("s.redb"), Duration::from_secs(60)).await;
    let added = bot
        .interact(&command(
            &token("w"),
            "watch",
            address_option(&address),
            MANAGE_GUILD,
        ))
        .await;
    assert!(description(&added).contains("Watching"), "{added}");
    let chat = ChatRef::new(Platform::Discord, CHANNEL).expect("chat");
    let watches = &bot.bot.deps().watches;
    assert_eq!(watches.watches_of(&chat).await.expect("watches").len(), 1);

    // Discord says Missing Access when the down notice is posted: the watch goes.
    bot.wait_polled_up(&chat, &address, WAIT).await;
    let path = format!("/channels/{CHANNEL}/messages");
    fake.fail_next(
        &path,
        403,
        &[],
        json!({"message": "Missing Access", "code": 50001}),
    );
    drop(peer);
    let deadline = Instant::now() + WAIT;
    while !watches.watches_of(&chat).await.expect("watches").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the watch was not dropped; requests: {:#?}",
            fake.requests()
                .iter()
                .map(|r| format!("{} {} → {}", r.method, r.path, r.status))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .count();
    assert_eq!(posts, 1, "exactly the refused notice was attempted");
    bot.stop().await;
}
