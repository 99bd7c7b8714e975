//! The bot end to end: the binary, the fake Bot API and a real Minecraft server.

use serde_json::json;

use crate::harness::{BotProcess, FakeApi, free_port, http, spawn_node_peer};

fn private(id: i64) -> serde_json::Value {
    json!({"id": id, "type": "private", "first_name": "Tester"})
}

#[tokio::test(flavor = "multi_thread")]
async fn status_card_then_players_edits_the_same_message() {
    let mc = spawn_node_peer(
        "java-server.js",
        &[&json!({
            "motd": "§aHello §l<world> & co",
            "maxPlayers": 20,
            "online": 2,
            "sample": [
                {"name": "Notch", "id": "069a79f4-44e9-4726-a5be-fca90e38aaf5"},
                {"name": "<jeb_>", "id": "853c80ef-3c37-49fd-aa49-938b674adae6"}
            ],
        })
        .to_string()],
    )
    .await;
    let api = FakeApi::start(json!({})).await;
    let token = "1001:status-test";
    let bot = BotProcess::start(&api, token, &[]);

    api.user_says(
        token,
        private(7),
        7,
        &format!("/status 127.0.0.1:{}", mc.port),
    )
    .await;
    let msgs = api
        .wait_for(token, "the status card", |m| !m.is_empty())
        .await;
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    let card = &msgs[0];
    assert_eq!(card.chat_id, 7);
    assert!(!card.photo, "no icon, so a text message");
    let t = &card.text;
    assert!(
        t.starts_with(&format!("🟢 <b>127.0.0.1:{}</b> is <b>online</b>", mc.port)),
        "{t}"
    );
    assert!(
        t.contains("<blockquote>Hello <b>&lt;world&gt; &amp; co</b></blockquote>"),
        "{t}"
    );
    assert!(t.contains("🏷 Version: <code>1.20.4</code>"), "{t}");
    assert!(t.contains("👥 Players: <b>2</b>/20"), "{t}");
    assert!(t.contains("Notch, &lt;jeb_&gt;"), "{t}");
    assert!(t.contains("📶 Latency: "), "{t}");

    // Players: the same message is edited, no new one is sent.
    let data = card.button("Players");
    api.user_presses(token, 7, card, &data).await;
    let msgs = api
        .wait_for(token, "the players page", |m| {
            m.len() == 1 && m[0].text.starts_with("👥 ")
        })
        .await;
    let t = &msgs[0].text;
    assert_eq!(msgs[0].message_id, card.message_id);
    assert!(t.contains("<b>2</b>/20 online"), "{t}");
    assert!(t.contains("• Notch\n• &lt;jeb_&gt;"), "{t}");
    // Back to the status card from the players page.
    let status = msgs[0].button("Status");
    api.user_presses(token, 7, &msgs[0], &status).await;
    api.wait_for(token, "the status card again", |m| {
        m.len() == 1 && m[0].text.starts_with("🟢 ")
    })
    .await;

    // A bare /status remembers the chat's last server.
    api.user_says(token, private(7), 7, "/status").await;
    let msgs = api
        .wait_for(token, "the second card", |m| m.len() == 2)
        .await;
    assert!(
        msgs[1].text.contains(&format!("127.0.0.1:{}", mc.port)),
        "{msgs:#?}"
    );

    let calls = api.calls().await;
    let answers = calls
        .iter()
        .filter(|c| c["method"] == "answercallbackquery")
        .count();
    assert_eq!(answers, 2, "every button press is answered: {calls:#?}");
    let commands = calls
        .iter()
        .find(|c| c["method"] == "setmycommands")
        .expect("setMyCommands at start");
    let names: Vec<&str> = commands["body"]["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .filter_map(|c| c["command"].as_str())
        .collect();
    let expected: Vec<&str> = mcstat_core::chat::COMMANDS.iter().map(|c| c.name).collect();
    assert_eq!(names, expected);

    // SIGTERM: a clean exit.
    let status = bot.terminate().await;
    assert!(status.success(), "{status:?}");
}

/// A 1×1 PNG, as a server favicon.
const ICON: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

#[tokio::test(flavor = "multi_thread")]
async fn a_server_icon_comes_as_a_photo_whose_caption_the_buttons_edit() {
    let mc = spawn_node_peer(
        "java-server.js",
        &[&json!({
            "motd": "Icon server",
            "online": 1,
            "sample": [{"name": "Alex", "id": "069a79f4-44e9-4726-a5be-fca90e38aaf5"}],
            "favicon": format!("data:image/png;base64,{ICON}"),
        })
        .to_string()],
    )
    .await;
    let api = FakeApi::start(json!({})).await;
    let token = "1006:icon-test";
    let _bot = BotProcess::start(&api, token, &[]);

    // A plain address in a private chat is a /status.
    api.user_says(token, private(12), 12, &format!("127.0.0.1:{}", mc.port))
        .await;
    let msgs = api
        .wait_for(token, "the photo card", |m| !m.is_empty())
        .await;
    assert!(msgs[0].photo, "{msgs:#?}");
    assert!(
        msgs[0].text.contains("is <b>online</b>"),
        "{}",
        msgs[0].text
    );
    assert!(
        msgs[0]
            .text
            .contains("<blockquote>Icon server</blockquote>"),
        "{}",
        msgs[0].text
    );
    let calls = api.calls().await;
    let photo = calls
        .iter()
        .find(|c| c["method"] == "sendphoto")
        .expect("sendPhoto");
    // teloxide uploads the file as a part named by `attach://<name>`.
    let part = photo["body"]["photo"]
        .as_str()
        .and_then(|p| p.strip_prefix("attach://"))
        .expect("an uploaded file");
    assert_eq!(photo["body"][part]["png"], true, "{photo}");
    assert_eq!(
        photo["body"][part]["bytes"], 70,
        "the favicon's PNG: {photo}"
    );
    assert_eq!(photo["body"]["parse_mode"], "HTML", "{photo}");

    let data = msgs[0].button("Players");
    api.user_presses(token, 12, &msgs[0], &data).await;
    let edited = api
        .wait_for(token, "the players caption", |m| {
            m.len() == 1 && m[0].text.starts_with("👥 ")
        })
        .await;
    assert!(edited[0].text.contains("• Alex"), "{}", edited[0].text);
    assert!(
        api.calls()
            .await
            .iter()
            .any(|c| c["method"] == "editmessagecaption"),
        "a photo's caption is edited"
    );

    // Chatter that is not an address gets the help.
    api.user_says(token, private(12), 12, "hello there").await;
    let msgs = api.wait_for(token, "the help", |m| m.len() == 2).await;
    assert!(
        msgs[1].text.starts_with("❓ <b>Commands</b>"),
        "{}",
        msgs[1].text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_addresses_get_a_hint_and_other_bots_commands_are_ignored() {
    let api = FakeApi::start(json!({})).await;
    let token = "1002:hint-test";
    let _bot = BotProcess::start(&api, token, &[]);

    api.user_says(token, private(8), 8, "/status not a host!")
        .await;
    let msgs = api.wait_for(token, "the hint", |m| !m.is_empty()).await;
    let t = &msgs[0].text;
    assert!(t.starts_with("💡 "), "{t}");
    assert!(t.contains("is not a server address"), "{t}");
    assert!(t.contains("Try /status play.example.net"), "{t}");

    // In a group: a command for another bot is ignored, one for us is answered.
    let group = json!({"id": -100_200, "type": "group", "title": "Crafters"});
    api.user_says(token, group.clone(), 8, "/help@OtherBot")
        .await;
    api.user_says(token, group.clone(), 8, "/frobnicate").await;
    api.user_says(token, group, 8, "/help@TestNameBot").await;
    let msgs = api
        .wait_for(token, "the group help", |m| m.len() >= 2)
        .await;
    // Updates of one chat are handled in order: the ignored ones came first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let msgs2 = api.bot_messages(token).await;
    assert_eq!(msgs2.len(), 2, "{msgs2:#?}");
    assert_eq!(msgs[1].chat_id, -100_200);
    assert!(
        msgs[1].text.starts_with("❓ <b>Commands</b>"),
        "{}",
        msgs[1].text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_down_server_is_offline_within_the_deadline() {
    let api = FakeApi::start(json!({})).await;
    let token = "1003:offline-test";
    let _bot = BotProcess::start(&api, token, &[]);
    let closed = free_port();

    api.user_says(token, private(9), 9, &format!("/status 127.0.0.1:{closed}"))
        .await;
    // The lookup deadline is 2 s; the harness waits at most WAIT in all.
    let msgs = api
        .wait_for(token, "the offline card", |m| !m.is_empty())
        .await;
    let t = &msgs[0].text;
    assert!(
        t.starts_with(&format!("🔴 <b>127.0.0.1:{closed}</b> is <b>offline</b>")),
        "{t}"
    );
    assert!(t.contains("Reason: "), "{t}");
    // Buttons still come with it (Refresh).
    assert!(!msgs[0].button("Refresh").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_from_the_api_is_retried_after_retry_after() {
    let api = FakeApi::start(json!({"fail429": 1, "retryAfter": 1})).await;
    let token = "1004:retry-test";
    let _bot = BotProcess::start(&api, token, &[]);

    api.user_says(token, private(10), 10, "/start").await;
    let msgs = api.wait_for(token, "the welcome", |m| !m.is_empty()).await;
    assert_eq!(msgs.len(), 1, "one message despite the retry: {msgs:#?}");
    assert!(
        msgs[0].text.starts_with("👋 <b>Welcome to mcstat!</b>"),
        "{}",
        msgs[0].text
    );
    let sends: Vec<u64> = api
        .calls()
        .await
        .iter()
        .filter(|c| c["method"] == "sendmessage")
        .filter_map(|c| c["at"].as_u64())
        .collect();
    assert_eq!(sends.len(), 2, "the 429 and the retry: {sends:?}");
    // retry_after was 1 s: the retry did not come before it.
    assert!(sends[1] - sends[0] >= 950, "{sends:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_refuses_requests_without_the_secret_and_serves_ops_routes() {
    let api = FakeApi::start(json!({})).await;
    let token = "1005:webhook-test";
    let port = free_port();
    let bot = BotProcess::start(
        &api,
        token,
        &[
            ("MCSTAT_TELEGRAM_MODE", "webhook".into()),
            (
                "MCSTAT_TELEGRAM_WEBHOOK_URL",
                format!("http://127.0.0.1:{port}/hooks/telegram"),
            ),
            ("MCSTAT_TELEGRAM_WEBHOOK_SECRET", "s3cret-Token_1".into()),
            ("MCSTAT_HTTP_ADDR", format!("127.0.0.1:{port}")),
            ("MCSTAT_LOG_FORMAT", "json".into()),
        ],
    );
    // Wait for the server.
    let start = std::time::Instant::now();
    loop {
        if let Ok(Ok(mut s)) = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
        )
        .await
        {
            use tokio::io::AsyncWriteExt as _;
            let _ = s.shutdown().await;
            break;
        }
        assert!(
            start.elapsed() < crate::harness::WAIT,
            "the webhook server never listened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = http(port, "GET", "/healthz", &[], "").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(port, "GET", "/readyz", &[], "").await;
    assert_eq!(status, 200, "{body}");

    let calls = api.calls().await;
    let set = calls
        .iter()
        .find(|c| c["method"] == "setwebhook")
        .expect("setWebhook at start");
    assert_eq!(
        set["body"]["url"],
        format!("http://127.0.0.1:{port}/hooks/telegram")
    );
    assert_eq!(set["body"]["secret_token"], "s3cret-Token_1");

    let update = json!({
        "update_id": 41,
        "message": {
            "message_id": 5,
            "date": 1_700_000_000,
            "from": {"id": 11, "is_bot": false, "first_name": "Tester"},
            "chat": {"id": 11, "type": "private", "first_name": "Tester"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        }
    })
    .to_string();
    let path = "/hooks/telegram";
    let (status, _) = http(port, "POST", path, &[], &update).await;
    assert_eq!(status, 401, "no secret");
    let (status, _) = http(
        port,
        "POST",
        path,
        &[("X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_2")],
        &update,
    )
    .await;
    assert_eq!(status, 401, "wrong secret");
    let (status, _) = http(
        port,
        "POST",
        path,
        &[("X-Telegram-Bot-Api-Secret-Token", "s3cret")],
        &update,
    )
    .await;
    assert_eq!(status, 401, "a prefix of the secret");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        api.bot_messages(token).await.is_empty(),
        "refused updates are not handled"
    );

    let (status, _) = http(
        port,
        "POST",
        path,
        &[("X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1")],
        "{not json",
    )
    .await;
    assert_eq!(status, 400, "the right secret but no update");
    let (status, body) = http(
        port,
        "POST",
        path,
        &[("X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1")],
        &update,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let msgs = api
        .wait_for(token, "the help reply", |m| !m.is_empty())
        .await;
    assert_eq!(msgs[0].chat_id, 11);
    assert!(
        msgs[0].text.starts_with("❓ <b>Commands</b>"),
        "{}",
        msgs[0].text
    );

    // Inline mode: `@bot address` offers a status card article; its buttons edit the
    // inline message.
    let mc = spawn_node_peer(
        "java-server.js",
        &[&json!({"motd": "Inline <3", "online": 4}).to_string()],
    )
    .await;
    let secret = [("X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1")];
    let inline = json!({
        "update_id": 42,
        "inline_query": {
            "id": "iq-1",
            "from": {"id": 11, "is_bot": false, "first_name": "Tester"},
            "query": format!("127.0.0.1:{}", mc.port),
            "offset": "",
        }
    });
    let (status, _) = http(port, "POST", path, &secret, &inline.to_string()).await;
    assert_eq!(status, 200);
    let answer = wait_for_call(&api, "answerinlinequery").await;
    assert_eq!(answer["body"]["inline_query_id"], "iq-1");
    let article = &answer["body"]["results"][0];
    assert_eq!(article["type"], "article", "{answer}");
    assert_eq!(
        article["title"],
        format!("127.0.0.1:{} — 🟢 online · 4/20 players", mc.port)
    );
    let html = article["input_message_content"]["message_text"]
        .as_str()
        .expect("message text");
    assert!(
        html.contains("<blockquote>Inline &lt;3</blockquote>"),
        "{html}"
    );
    assert_eq!(article["input_message_content"]["parse_mode"], "HTML");
    let players = article["reply_markup"]["inline_keyboard"][0][1]["callback_data"].clone();
    let press = json!({
        "update_id": 43,
        "callback_query": {
            "id": "cb-1",
            "from": {"id": 11, "is_bot": false, "first_name": "Tester"},
            "inline_message_id": "inline-msg-1",
            "chat_instance": "ci",
            "data": players,
        }
    });
    let (status, _) = http(port, "POST", path, &secret, &press.to_string()).await;
    assert_eq!(status, 200);
    let edit = wait_for_call(&api, "editmessagetext").await;
    assert_eq!(edit["body"]["inline_message_id"], "inline-msg-1");
    assert!(
        edit["body"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("👥 ")),
        "{edit}"
    );

    let (status, metrics) = http(port, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("mcstat_telegram_updates_total{kind=\"message\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mcstat_telegram_webhook_refused_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mcstat_telegram_updates_total{kind=\"inline_query\"} 1"),
        "{metrics}"
    );

    let status = bot.terminate().await;
    assert!(status.success(), "{status:?}");
}

/// Wait for the bot's first Bot API call of `method` (lower case).
async fn wait_for_call(api: &FakeApi, method: &str) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let calls = api.calls().await;
        if let Some(c) = calls.iter().find(|c| c["method"] == method) {
            return c.clone();
        }
        assert!(
            start.elapsed() < crate::harness::WAIT,
            "no {method}: {calls:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_update_in_flight() {
    // A server that accepts and never answers: the lookup runs until its deadline.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (accepted_tx, accepted_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut held = Vec::new();
        let mut tx = Some(accepted_tx);
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            if let Some(tx) = tx.take() {
                let _ = tx.send(());
            }
        }
    });
    let api = FakeApi::start(json!({})).await;
    let token = "1007:shutdown-test";
    let bot = BotProcess::start(&api, token, &[]);

    api.user_says(token, private(13), 13, &format!("/status 127.0.0.1:{port}"))
        .await;
    tokio::time::timeout(crate::harness::WAIT, accepted_rx)
        .await
        .expect("the bot connects to the server")
        .expect("accepted");
    // The update is in flight (the lookup waits for its 2 s deadline): stop now.
    let status = bot.terminate().await;
    assert!(status.success(), "{status:?}");
    let msgs = api.bot_messages(token).await;
    assert_eq!(
        msgs.len(),
        1,
        "the reply was sent before the exit: {msgs:#?}"
    );
    assert!(
        msgs[0].text.contains("is <b>offline</b>"),
        "{}",
        msgs[0].text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_redis_a_second_replica_knows_the_chats_last_server() {
    let redis = tokio::task::spawn_blocking(crate::redis_server::RedisServer::start)
        .await
        .expect("redis-server");
    let api = FakeApi::start(json!({})).await;
    let token = "1008:redis-test";
    let closed = free_port();
    let env = [
        ("MCSTAT_STORE", "redis".to_owned()),
        ("MCSTAT_CACHE", "redis".to_owned()),
        ("MCSTAT_REDIS_URL", redis.url()),
    ];
    let first = BotProcess::start(&api, token, &env);
    api.user_says(
        token,
        private(14),
        14,
        &format!("/status 127.0.0.1:{closed}"),
    )
    .await;
    api.wait_for(token, "the first card", |m| m.len() == 1)
        .await;
    assert!(first.terminate().await.success());

    // Another process with its own (empty) file store directory: only Redis is shared.
    let _second = BotProcess::start(&api, token, &env);
    api.user_says(token, private(14), 14, "/status").await;
    let msgs = api
        .wait_for(token, "the second card", |m| m.len() == 2)
        .await;
    assert!(
        msgs[1]
            .text
            .starts_with(&format!("🔴 <b>127.0.0.1:{closed}</b> is <b>offline</b>")),
        "{}",
        msgs[1].text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bedrock_server_gets_its_card() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let port = udp.local_addr().expect("addr").port();
    drop(udp);
    let be = spawn_node_peer(
        "bedrock-server.js",
        &[&json!({
            "port": port,
            "motd": "Bedrock §b<Friends>",
            "levelName": "Our Level",
            "maxPlayers": 12,
            "version": "1.21.50",
        })
        .to_string()],
    )
    .await;
    let api = FakeApi::start(json!({})).await;
    let token = "1009:bedrock-test";
    let _bot = BotProcess::start(&api, token, &[]);

    api.user_says(
        token,
        private(15),
        15,
        &format!("/status bedrock:127.0.0.1:{}", be.port),
    )
    .await;
    let msgs = api
        .wait_for(token, "the Bedrock card", |m| !m.is_empty())
        .await;
    let t = &msgs[0].text;
    assert!(
        t.starts_with(&format!(
            "🟢 <b>bedrock:127.0.0.1:{}</b> (Bedrock) is <b>online</b>",
            be.port
        )),
        "{t}"
    );
    assert!(
        t.contains("<blockquote>Bedrock &lt;Friends&gt;</blockquote>"),
        "{t}"
    );
    assert!(t.contains("🏷 Version: <code>1.21.50</code>"), "{t}");
    assert!(t.contains("👥 Players: <b>0</b>/12"), "{t}");
    assert!(t.contains("🎮 Mode: Creative"), "{t}");
    assert!(t.contains("🗺 Map: Our Level"), "{t}");
}
