//! Watches in groups: a group upgraded to a supergroup (a new chat id) keeps its
//! watches (the bot learns the new id from Telegram's 400 answer,
//! `migrate_to_chat_id`, to a notification, moves the watch and tells the
//! supergroup); a bare `/watch` with bad arguments in a group is answered.

use serde_json::{Value, json};

use crate::harness::{BotProcess, FakeApi, spawn_node_peer};

fn group(id: i64, kind: &str) -> Value {
    json!({"id": id, "type": kind, "title": "Server friends"})
}

/// Send `text` in the group `chat` and return the bot's next message to it.
async fn ask(api: &FakeApi, token: &str, chat: Value, text: &str) -> String {
    api.ask(token, chat, 7, text).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_that_became_a_supergroup_keeps_its_watches() {
    let mc = spawn_node_peer("java-server.js", &[&json!({"motd": "Watched"}).to_string()]).await;
    let addr = format!("127.0.0.1:{}", mc.port);
    let api = FakeApi::start(json!({})).await;
    let token = "1012:migrate-test";
    let bot = BotProcess::start(
        &api,
        token,
        &[
            ("MCSTAT_WATCH_INTERVAL_SECS", "1".into()),
            ("MCSTAT_WATCH_DOWN_AFTER", "1".into()),
        ],
    );
    let (old, new) = (-4_100_i64, -1_004_100_i64);

    // In a group, a bare command of ours with bad arguments is answered (an unknown
    // bare one would be another bot's and is not).
    let t = ask(
        &api,
        token,
        group(old, "group"),
        &format!("/watch {addr} “Steve"),
    )
    .await;
    assert!(t.contains("quote is not closed"), "{t}");
    let t = ask(&api, token, group(old, "group"), &format!("/watch {addr}")).await;
    assert!(t.starts_with(&format!("👀 Watching <b>{addr}</b>")), "{t}");
    // Wait until it has been polled up once, so that stopping it is a change.
    let start = std::time::Instant::now();
    loop {
        let t = ask(&api, token, group(old, "group"), "/watches").await;
        if t.contains(&format!("🟢 <code>{addr}</code> — up")) {
            break;
        }
        assert!(start.elapsed() < crate::harness::WAIT, "never seen up: {t}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }

    // The group is upgraded; the server goes down: the notification to the old id
    // bounces with the new one, and arrives in the supergroup.
    api.migrate(old, new).await;
    drop(mc);
    let msgs = api
        .wait_for(token, "the down notification in the supergroup", |m| {
            m.iter()
                .any(|m| m.chat_id == new && m.text.starts_with("🔴"))
        })
        .await;
    let down = msgs
        .iter()
        .find(|m| m.chat_id == new && m.text.starts_with("🔴"))
        .expect("found");
    assert!(
        down.text.starts_with(&format!("🔴 {addr} is down")),
        "{}",
        down.text
    );
    // The supergroup now holds the watch.
    let t = ask(&api, token, group(new, "supergroup"), "/watches").await;
    assert!(t.contains(&format!("<code>{addr}</code>")), "{t}");
    assert!(t.starts_with("👀 <b>Watched servers</b> (1/10)"), "{t}");
    let calls = api.calls().await;
    let bounced = calls
        .iter()
        .filter(|c| {
            c["method"] == "sendmessage"
                && c["body"]["chat_id"] == old
                && c["body"]["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("🔴"))
        })
        .count();
    // One notification bounced; the watch then lives under the new id.
    assert_eq!(bounced, 1, "{calls:#?}");
    assert!(bot.terminate().await.success());
}
