//! Watches end to end: the bot binary with a 1 s poll interval, the fake Bot API and a
//! real Minecraft server (npm minecraft-protocol) stopped and started again on the
//! same port.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{BotMessage, BotProcess, FakeApi, WAIT, free_port, spawn_node_peer};

fn private(id: i64) -> serde_json::Value {
    json!({"id": id, "type": "private", "first_name": "Tester"})
}

/// The bot's messages to `chat` whose text starts with `prefix`.
fn to_chat<'a>(msgs: &'a [BotMessage], chat: i64, prefix: &str) -> Vec<&'a BotMessage> {
    msgs.iter()
        .filter(|m| m.chat_id == chat && m.text.starts_with(prefix))
        .collect()
}

/// Send `text` in the private chat `chat` and return the bot's next message to it.
async fn ask(api: &FakeApi, token: &str, chat: i64, text: &str) -> String {
    api.ask(token, private(chat), chat, text).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watched_server_going_down_and_coming_back_is_told_once_each() {
    let mc = spawn_node_peer("java-server.js", &[&json!({"motd": "Watched"}).to_string()]).await;
    let port = mc.port;
    let addr = format!("127.0.0.1:{port}");
    let api = FakeApi::start(json!({})).await;
    let token = "1010:watch-test";
    let bot = BotProcess::start(
        &api,
        token,
        &[
            ("MCSTAT_WATCH_INTERVAL_SECS", "1".into()),
            ("MCSTAT_WATCH_DOWN_AFTER", "2".into()),
        ],
    );
    let (chat, blocked) = (20, 21);

    let t = ask(&api, token, chat, &format!("/watch {addr}")).await;
    assert!(
        t.starts_with(&format!("👀 Watching <b>{addr}</b>: I'll tell this chat")),
        "{t}"
    );
    assert!(t.contains("checked every 1 s"), "{t}");
    // A second chat watches it too, following a player; then it blocks the bot.
    let t = ask(&api, token, blocked, &format!("/watch {addr} Notch")).await;
    assert!(
        t.contains("Players followed (joins and leaves): Notch"),
        "{t}"
    );

    // Wait until the server has been seen answering.
    let start = Instant::now();
    loop {
        let t = ask(&api, token, chat, "/watches").await;
        if t.contains(&format!("🟢 <code>{addr}</code> — up")) {
            assert!(t.starts_with("👀 <b>Watched servers</b> (1/10)"), "{t}");
            assert!(t.contains("24 h: 100 %"), "{t}");
            break;
        }
        assert!(start.elapsed() < WAIT, "never seen up: {t}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    api.block(blocked, true).await;

    // Stop the server: the chat is told once that it is down.
    drop(mc);
    let stopped = Instant::now();
    let msgs = api
        .wait_for(token, "the down notification", |m| {
            !to_chat(m, chat, "🔴").is_empty()
        })
        .await;
    let down = to_chat(&msgs, chat, "🔴");
    assert!(
        down[0].text.starts_with(&format!("🔴 {addr} is down")),
        "{}",
        down[0].text
    );
    // While it is down, nothing more is said.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let msgs = api.bot_messages(token).await;
    assert_eq!(to_chat(&msgs, chat, "🔴").len(), 1, "{msgs:#?}");
    let t = ask(&api, token, chat, "/watches").await;
    assert!(
        t.contains(&format!("🔴 <code>{addr}</code> — down for")),
        "{t}"
    );

    // Start it again on the same port: told once, with the outage's length.
    let _mc = spawn_node_peer(
        "java-server.js",
        &[&json!({"motd": "Back", "port": port}).to_string()],
    )
    .await;
    let msgs = api
        .wait_for(token, "the back-up notification", |m| {
            !to_chat(m, chat, "🟢").is_empty()
        })
        .await;
    let outage = stopped.elapsed();
    let up = to_chat(&msgs, chat, "🟢");
    let text = &up[0].text;
    let secs: u64 = text
        .strip_prefix(&format!("🟢 {addr} is back up after "))
        .and_then(|rest| rest.strip_suffix(" s."))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a back-up sentence with seconds: {text}"));
    // From the first failed poll to the first answering one: within the real outage.
    assert!(
        secs >= 1 && secs <= outage.as_secs() + 1,
        "{secs} s reported, {outage:?} real"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let msgs = api.bot_messages(token).await;
    assert_eq!(to_chat(&msgs, chat, "🔴").len(), 1, "{msgs:#?}");
    assert_eq!(to_chat(&msgs, chat, "🟢").len(), 1, "{msgs:#?}");

    // /watches and /uptime tell the story.
    let t = ask(&api, token, chat, "/watches").await;
    assert!(
        t.contains(&format!("🟢 <code>{addr}</code> — up for")),
        "{t}"
    );
    assert!(!t.contains("24 h: 100 %") && !t.contains("no data"), "{t}");
    let t = ask(&api, token, chat, &format!("/uptime {addr}")).await;
    assert!(t.starts_with(&format!("📈 <b>Uptime of {addr}</b>")), "{t}");
    assert!(
        t.contains("\n24 h: <b>") && t.contains("\n30 d: <b>"),
        "{t}"
    );
    assert!(t.contains("<b>Last outages</b>\n• 20"), "{t}");
    assert!(!t.contains("ongoing"), "{t}");
    assert!(t.contains("(answered)"), "{t}");

    // /graph: the chart comes as a photo (an 800×400 PNG) with a caption.
    let t = ask(&api, token, chat, &format!("/graph {addr}")).await;
    assert_eq!(
        t,
        format!(
            "📊 <b>{addr}</b> — last 24 h: players (mean and peak), latency, and when it was offline."
        )
    );
    let t = ask(&api, token, chat, &format!("/graph {addr} 7d")).await;
    assert!(
        t.starts_with(&format!("📊 <b>{addr}</b> — last 7 d")),
        "{t}"
    );
    let calls = api.calls().await;
    let photos: Vec<_> = calls
        .iter()
        .filter(|c| c["method"] == "sendphoto")
        .collect();
    assert_eq!(photos.len(), 2, "{calls:#?}");
    for photo in photos {
        let part = photo["body"]["photo"]
            .as_str()
            .and_then(|p| p.strip_prefix("attach://"))
            .expect("an uploaded file");
        let file = &photo["body"][part];
        assert_eq!(file["filename"], "graph.png", "{photo}");
        assert_eq!(file["png"], true, "{photo}");
        assert_eq!(
            (file["width"].as_u64(), file["height"].as_u64()),
            (Some(800), Some(400)),
            "{photo}"
        );
        assert_eq!(photo["body"]["parse_mode"], "HTML", "{photo}");
    }

    // The chat that blocked the bot lost its watch when the notification bounced.
    api.block(blocked, false).await;
    let t = ask(&api, token, blocked, "/watches").await;
    assert!(t.contains("This chat watches no servers yet"), "{t}");

    let t = ask(&api, token, chat, &format!("/unwatch {addr}")).await;
    assert_eq!(
        t,
        format!("🛑 Stopped watching <b>{addr}</b> in this chat.")
    );
    let t = ask(&api, token, chat, &format!("/unwatch {addr}")).await;
    assert!(t.contains("does not watch"), "{t}");

    // SIGTERM: the scheduler stops with the bot, cleanly.
    let status = bot.terminate().await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_mistakes_get_friendly_answers() {
    let api = FakeApi::start(json!({})).await;
    let token = "1011:watch-errors";
    let _bot = BotProcess::start(&api, token, &[("MCSTAT_WATCH_INTERVAL_SECS", "1".into())]);
    let chat = 30;

    let t = ask(&api, token, chat, "/watch").await;
    assert!(
        t.contains("Which server?") && t.contains("Try /watch play.example.net"),
        "{t}"
    );
    let t = ask(&api, token, chat, "/uptime not a host!").await;
    assert!(
        t.contains("is not a server address") && t.contains("Try /uptime"),
        "{t}"
    );
    let t = ask(&api, token, chat, "/watch 10.0.0.1").await;
    assert!(
        t.starts_with("🚫 I don't watch 10.0.0.1: 10.0.0.1 is a private address"),
        "{t}"
    );
    let t = ask(&api, token, chat, "/watch a.example bad&name!").await;
    assert!(t.contains("“bad&amp;name!” is not a player name"), "{t}");
    let names = (0..11)
        .map(|i| format!("p{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let t = ask(&api, token, chat, &format!("/watch a.example {names}")).await;
    assert!(t.contains("at most 10 players"), "{t}");
    // The limit: 10 servers per chat (these names never resolve; only counted).
    for i in 0..10 {
        let t = ask(&api, token, chat, &format!("/watch s{i}.invalid")).await;
        assert!(t.starts_with("👀 Watching"), "{t}");
    }
    let t = ask(&api, token, chat, "/watch s10.invalid").await;
    assert!(t.contains("already watches 10 servers"), "{t}");
    // Watching again only updates the player list.
    let t = ask(&api, token, chat, "/watch s3.invalid Alex").await;
    assert!(t.contains("already watches <b>s3.invalid</b>"), "{t}");
    let t = ask(&api, token, chat, "/uptime s3.invalid").await;
    assert!(t.starts_with("📈") && t.contains("s3.invalid"), "{t}");
    let t = ask(&api, token, chat, "/graph a.example fortnight").await;
    assert!(
        t.contains("“fortnight” is not a chart range: use 24h, 7d, 30d, 90d or 1y"),
        "{t}"
    );
    let t = ask(&api, token, chat, "/graph").await;
    assert!(
        t.contains("Which server?") && t.contains("Try /graph"),
        "{t}"
    );
    // A server nobody watches has no history: the chart says so, and so does the caption.
    let t = ask(&api, token, chat, "/graph never-watched.invalid 30d").await;
    assert!(
        t.starts_with("📊 <b>never-watched.invalid</b> — last 30 d")
            && t.contains("No history yet"),
        "{t}"
    );
    for (range, label) in [("90d", "90 d"), ("1y", "1 y"), ("year", "1 y")] {
        let t = ask(
            &api,
            token,
            chat,
            &format!("/graph never-watched.invalid {range}"),
        )
        .await;
        assert!(
            t.starts_with(&format!("📊 <b>never-watched.invalid</b> — last {label}"))
                && t.contains("No history yet"),
            "{t}"
        );
    }
    // /help lists the watch commands.
    let t = ask(&api, token, chat, "/help").await;
    for c in [
        "/watch address [player…]",
        "/unwatch address",
        "/watches",
        "/uptime address",
        "/graph address [range]",
    ] {
        assert!(t.contains(c), "{c} in {t}");
    }
}

/// Wait until `/watches` in `chat` shows `addr` in the state `state` ("up", "down").
async fn wait_state(api: &FakeApi, token: &str, chat: i64, addr: &str, state: &str) {
    let start = Instant::now();
    loop {
        let t = ask(api, token, chat, "/watches").await;
        if t.contains(&format!("<code>{addr}</code> — {state}")) {
            return;
        }
        assert!(start.elapsed() < WAIT, "never seen {state}: {t}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_on_redis_tell_once_and_one_takes_over_when_the_other_stops() {
    let redis = tokio::task::spawn_blocking(crate::redis_server::RedisServer::start)
        .await
        .expect("redis-server");
    let mc = spawn_node_peer("java-server.js", &[&json!({"motd": "Shared"}).to_string()]).await;
    let port = mc.port;
    let addr = format!("127.0.0.1:{port}");
    let api = FakeApi::start(json!({})).await;
    let token = "1012:watch-replicas";
    let shared = [
        ("MCSTAT_STORE", "redis".to_owned()),
        ("MCSTAT_CACHE", "redis".to_owned()),
        ("MCSTAT_REDIS_URL", redis.url()),
        ("MCSTAT_WATCH_INTERVAL_SECS", "1".to_owned()),
        ("MCSTAT_WATCH_DOWN_AFTER", "2".to_owned()),
    ];
    // The first replica takes the updates (long polling); the second only runs its
    // watch scheduler (webhook mode, and nothing posts to its webhook).
    let first = BotProcess::start(&api, token, &shared);
    let hook = free_port();
    let mut second_env = shared.to_vec();
    second_env.extend([
        ("MCSTAT_TELEGRAM_MODE", "webhook".to_owned()),
        (
            "MCSTAT_TELEGRAM_WEBHOOK_URL",
            format!("http://127.0.0.1:{hook}/hook"),
        ),
        ("MCSTAT_TELEGRAM_WEBHOOK_SECRET", "replica-2".to_owned()),
        ("MCSTAT_TELEGRAM_SET_WEBHOOK", "false".to_owned()),
        ("MCSTAT_HTTP_ADDR", format!("127.0.0.1:{hook}")),
    ]);
    let _second = BotProcess::start(&api, token, &second_env);
    let chat = 40;

    let t = ask(&api, token, chat, &format!("/watch {addr}")).await;
    assert!(t.starts_with("👀 Watching"), "{t}");
    wait_state(&api, token, chat, &addr, "up").await;

    drop(mc);
    api.wait_for(token, "the down notification", |m| {
        !to_chat(m, chat, "🔴").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let msgs = api.bot_messages(token).await;
    assert_eq!(
        to_chat(&msgs, chat, "🔴").len(),
        1,
        "told once by two replicas: {msgs:#?}"
    );

    // The first replica stops (releasing its leases); the second carries on alone.
    assert!(first.terminate().await.success());
    let _mc = spawn_node_peer(
        "java-server.js",
        &[&json!({"motd": "Back", "port": port}).to_string()],
    )
    .await;
    let msgs = api
        .wait_for(token, "the back-up notification", |m| {
            !to_chat(m, chat, "🟢").is_empty()
        })
        .await;
    let up = to_chat(&msgs, chat, "🟢");
    assert!(
        up[0]
            .text
            .starts_with(&format!("🟢 {addr} is back up after ")),
        "the outage length comes from the shared history: {}",
        up[0].text
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let msgs = api.bot_messages(token).await;
    assert_eq!(to_chat(&msgs, chat, "🟢").len(), 1, "{msgs:#?}");
    assert_eq!(to_chat(&msgs, chat, "🔴").len(), 1, "{msgs:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn followed_players_joining_and_leaving_are_told_once_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sample = dir.path().join("sample.json");
    let players = |names: &[&str]| {
        let list: Vec<_> = names
            .iter()
            .map(|n| json!({"name": n, "id": "069a79f4-44e9-4726-a5be-fca90e38aaf5"}))
            .collect();
        // Written whole, then renamed: the server never reads half a file.
        let tmp = sample.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_string(&list).expect("json")).expect("write");
        std::fs::rename(&tmp, &sample).expect("rename");
    };
    players(&[]);
    let mc = spawn_node_peer(
        "java-server.js",
        &[&json!({"sampleFile": sample.to_string_lossy()}).to_string()],
    )
    .await;
    let addr = format!("127.0.0.1:{}", mc.port);
    let api = FakeApi::start(json!({})).await;
    let token = "1013:watch-players";
    let _bot = BotProcess::start(&api, token, &[("MCSTAT_WATCH_INTERVAL_SECS", "1".into())]);
    let chat = 50;

    let t = ask(&api, token, chat, &format!("/watch {addr} alex")).await;
    assert!(
        t.contains("Players followed (joins and leaves): alex"),
        "{t}"
    );
    wait_state(&api, token, chat, &addr, "up").await;

    // Steve is not followed; Alex is (names compare case-insensitively).
    players(&["Steve", "Alex"]);
    let msgs = api
        .wait_for(token, "Alex joined", |m| !to_chat(m, chat, "👋").is_empty())
        .await;
    assert_eq!(
        to_chat(&msgs, chat, "👋")[0].text,
        format!("👋 Alex joined {addr}.")
    );
    players(&["Steve"]);
    let msgs = api
        .wait_for(token, "Alex left", |m| !to_chat(m, chat, "🚪").is_empty())
        .await;
    assert_eq!(
        to_chat(&msgs, chat, "🚪")[0].text,
        format!("🚪 Alex left {addr}.")
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let msgs = api.bot_messages(token).await;
    assert_eq!(to_chat(&msgs, chat, "👋").len(), 1, "{msgs:#?}");
    assert_eq!(to_chat(&msgs, chat, "🚪").len(), 1, "{msgs:#?}");
    assert!(
        !msgs.iter().any(|m| m.text.contains("Steve")),
        "Steve is not followed: {msgs:#?}"
    );
}
