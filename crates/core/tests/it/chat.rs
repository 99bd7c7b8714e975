//! ChatService flows: last server, friendly errors, buttons, pagination.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mc_protocol::address::Edition;
use mcstat_core::chat::{
    BotInfo, COMMANDS, CallbackData, ChatRequest, ChatService, Command, MAX_CALLBACK_LEN,
    PAGE_SIZE, Reply, TargetRef, UserError, UserErrorKind, View,
};
use mcstat_core::domain::{Freshness, OfflineReason, StatusOutcome, Target};
use mcstat_core::lookup::{LookupConfig, LookupService, RateLimit};
use mcstat_core::ports::{Clock, ManualClock, MockStatusSource, StatusCache, StatusSource};
use mockall::predicate::eq;

use crate::support::*;

struct Harness {
    svc: ChatService,
    chats: Arc<MemChats>,
    clock: Arc<ManualClock>,
}

fn harness(source: impl StatusSource + 'static, config: LookupConfig) -> Harness {
    let clock = clock();
    harness_with(source, config, &clock)
}

fn harness_with(
    source: impl StatusSource + 'static,
    config: LookupConfig,
    clock: &Arc<ManualClock>,
) -> Harness {
    let lookups = LookupService::new(
        Arc::new(source),
        Arc::new(ClockCache::new(clock)) as Arc<dyn StatusCache>,
        Arc::clone(clock) as Arc<dyn Clock>,
        config,
    );
    let chats = Arc::new(MemChats::default());
    let svc = ChatService::new(
        Arc::new(lookups),
        Arc::clone(&chats) as Arc<dyn mcstat_core::ports::ChatStore>,
        BotInfo::default(),
    );
    Harness {
        svc,
        chats,
        clock: Arc::clone(clock),
    }
}

impl Harness {
    async fn cmd(&self, command: Command) -> Reply {
        self.svc
            .handle(ChatRequest {
                chat: chat("100"),
                user: user("7"),
                command,
            })
            .await
    }

    async fn text(&self, line: &str) -> Reply {
        match Command::parse(line) {
            Ok(command) => self.cmd(command).await,
            Err(e) => Reply::error(e),
        }
    }

    async fn press(&self, data: &str) -> Reply {
        self.svc
            .handle_callback(&chat("100"), &user("7"), data)
            .await
    }
}

fn error(reply: &Reply) -> &UserError {
    match &reply.view {
        View::Error(e) => e,
        other => panic!("expected an error view, got {other:?}"),
    }
}

/// A source that answers every status as online (and counts nothing: `times` bounds).
fn online_source(times: usize, clock_of: &Arc<ManualClock>) -> MockStatusSource {
    let mut source = MockStatusSource::new();
    let c = Arc::clone(clock_of);
    source
        .expect_status()
        .times(times)
        .returning(move |t| Ok(online(t, c.now())));
    source
}

fn button_data(reply: &Reply, label_part: &str) -> String {
    reply
        .buttons
        .iter()
        .flatten()
        .find(|b| b.label.contains(label_part))
        .unwrap_or_else(|| panic!("no button {label_part:?} in {:?}", reply.buttons))
        .data
        .clone()
}

#[tokio::test]
async fn bare_status_without_a_last_server_says_what_to_type() {
    // The source mock panics if called.
    let h = harness(MockStatusSource::new(), unlimited());
    for line in ["/status", "/players"] {
        let reply = h.text(line).await;
        let e = error(&reply);
        assert_eq!(e.kind, UserErrorKind::NoServerYet);
        assert!(
            e.message.contains(&format!("{line} play.example.net")),
            "{}",
            e.message
        );
    }
}

#[tokio::test]
async fn status_remembers_the_server_for_a_bare_status() {
    let clock = clock();
    let mut source = MockStatusSource::new();
    let c = Arc::clone(&clock);
    source
        .expect_status()
        .with(eq(target("bücher.example:25566")))
        .times(1)
        .returning(move |t| Ok(online(t, c.now())));
    let h = harness_with(source, unlimited(), &clock);

    let first = h.text("/status Bücher.example:25566").await;
    let View::Status(card) = &first.view else {
        panic!("expected a status card, got {:?}", first.view);
    };
    assert!(card.online);
    assert_eq!(card.display, "bücher.example:25566");
    assert_eq!(card.freshness, Freshness::Live);
    assert_eq!(card.motd.to_plain(), "Hello world");
    assert_eq!(card.players_online, Some(3));
    assert_eq!(card.sample, ["Notch", "jeb_"]);
    assert!(card.icon_png.is_some());
    assert_eq!(card.answered_by.as_deref(), Some("203.0.113.7:25565"));

    let state = h
        .chats
        .chats
        .lock()
        .expect("lock")
        .get(&chat("100"))
        .cloned();
    assert_eq!(
        state.expect("stored").last_server,
        Some(target("bücher.example:25566"))
    );

    h.clock.advance(Duration::from_secs(5));
    let again = h.text("/status").await;
    let View::Status(card) = &again.view else {
        panic!("expected a status card, got {:?}", again.view);
    };
    assert_eq!(card.target, target("xn--bcher-kva.example:25566"));
    assert_eq!(card.freshness, Freshness::Cached { age_ms: 5000 });
    // Nothing changed: no second write.
    assert_eq!(h.chats.writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_bad_address_gets_a_friendly_message_with_a_suggestion() {
    let h = harness(MockStatusSource::new(), unlimited());
    let reply = h.text("/status foo bar").await;
    let e = error(&reply);
    assert_eq!(e.kind, UserErrorKind::BadAddress);
    assert_eq!(
        e.message,
        "“foo bar” is not a server address: the address must not contain spaces. Try /status play.example.net or /status play.example.net:25565"
    );
    let reply = h.text("/players https://play.example.net").await;
    let e = error(&reply);
    assert_eq!(e.kind, UserErrorKind::BadAddress);
    assert!(e.message.contains("remove \"https://\""), "{}", e.message);
    assert!(
        e.message.contains("Try /players play.example.net"),
        "{}",
        e.message
    );
    let reply = h.text("/status bedrock:pe.example.net:99999").await;
    let e = error(&reply);
    assert!(
        e.message.contains("Try /status bedrock:play.example.net"),
        "{}",
        e.message
    );
    // Nothing was remembered.
    assert!(h.chats.chats.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn hostile_input_is_quoted_cleanly_and_briefly() {
    let h = harness(MockStatusSource::new(), unlimited());
    let input = format!("a\u{202e}b\u{7}{}", "x ".repeat(200));
    let e = error(
        &h.cmd(Command::Status {
            address: Some(input),
        })
        .await,
    )
    .clone();
    assert!(!e.message.contains('\u{202e}') && !e.message.contains('\u{7}'));
    assert!(e.message.chars().count() < 200, "{}", e.message);
}

#[tokio::test]
async fn bedrock_prefix_asks_bedrock() {
    let clock = clock();
    let mut source = MockStatusSource::new();
    let c = Arc::clone(&clock);
    source
        .expect_status()
        .withf(|t: &Target| {
            t.edition() == Edition::Bedrock && t.key() == "bedrock:pe.example.net:19132"
        })
        .times(1)
        .returning(move |t| {
            Ok(StatusOutcome::Offline {
                target: t.clone(),
                reason: OfflineReason::Refused,
                taken_at: c.now(),
            })
        });
    let h = harness_with(source, unlimited(), &clock);
    let reply = h.text("/status BEDROCK:pe.example.net").await;
    let View::Status(card) = &reply.view else {
        panic!("expected a card, got {:?}", reply.view);
    };
    assert!(!card.online);
    assert_eq!(card.edition, Edition::Bedrock);
    assert_eq!(card.display, "bedrock:pe.example.net");
    assert_eq!(
        card.offline_reason.as_deref(),
        Some("the connection was refused")
    );
    assert!(
        card.hint
            .as_deref()
            .is_some_and(|h| h.contains("/status pe.example.net")),
        "{:?}",
        card.hint
    );
}

#[tokio::test]
async fn java_offline_on_the_bedrock_port_suggests_bedrock() {
    let clock = clock();
    let mut source = MockStatusSource::new();
    let c = Arc::clone(&clock);
    source
        .expect_status()
        .times(1)
        .returning(move |t| Ok(offline(t, c.now())));
    let h = harness_with(source, unlimited(), &clock);
    let reply = h.text("/status pe.example.net:19132").await;
    let View::Status(card) = &reply.view else {
        panic!("expected a card");
    };
    assert_eq!(
        card.hint.as_deref(),
        Some(
            "Port 19132 is Bedrock's: if this is a Bedrock server, try /status bedrock:pe.example.net:19132"
        )
    );
}

#[tokio::test]
async fn buttons_round_trip_through_handle_callback() {
    let clock = clock();
    let mut source = online_source(2, &clock);
    let c = Arc::clone(&clock);
    source
        .expect_players()
        .times(1)
        .returning(move |t| Ok(Some(player_list(t, 3, c.now()))));
    let h = harness_with(source, unlimited(), &clock);
    let t = target("play.example.net:25566");
    let reply = h.text("/status play.example.net:25566").await;
    for b in reply.buttons.iter().flatten() {
        assert!(b.data.len() <= MAX_CALLBACK_LEN);
    }
    let players = button_data(&reply, "Players");
    assert_eq!(
        CallbackData::decode(&players),
        Ok(CallbackData::Players {
            target: TargetRef::Server(t.clone()),
            page: 0,
            refresh: false
        })
    );
    let reply = h.press(&players).await;
    let View::Players(page) = &reply.view else {
        panic!("expected players, got {:?}", reply.view);
    };
    assert_eq!(page.target, t);
    assert_eq!(page.names, ["player000", "player001", "player002"]);

    // Status button from the players page: a cache hit. Refresh after 11 s: live.
    let reply = h.press(&button_data(&reply, "Status")).await;
    assert!(
        matches!(&reply.view, View::Status(c) if c.freshness == Freshness::Cached { age_ms: 0 })
    );
    h.clock.advance(Duration::from_secs(11));
    let reply = h.press(&button_data(&reply, "Refresh")).await;
    assert!(matches!(&reply.view, View::Status(c) if c.freshness == Freshness::Live));

    let about = h.press(&button_data(&reply, "About")).await;
    let View::About(info) = &about.view else {
        panic!("expected about");
    };
    assert_eq!(info.name, "mcstat");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert!(matches!(
        h.press(&button_data(&about, "Help")).await.view,
        View::Help { .. }
    ));
}

#[tokio::test]
async fn a_last_server_button_uses_the_chat_state() {
    let clock = clock();
    let h = harness_with(online_source(1, &clock), unlimited(), &clock);
    let e = error(&h.press("s|~").await).clone();
    assert_eq!(e.kind, UserErrorKind::NoServerYet);
    h.text("/status play.example.net").await;
    let reply = h.press("s|~").await;
    assert!(matches!(&reply.view, View::Status(c) if c.target == target("play.example.net")));
}

#[tokio::test]
async fn stale_or_garbage_callbacks_get_an_error_view() {
    let h = harness(MockStatusSource::new(), unlimited());
    for data in [
        "",
        "x",
        "s|",
        "p|abc|play.example.net",
        "s|not an address",
        "s|10.0.0.1:99999",
        "v2:status:play.example.net",
        &"a".repeat(200),
        "\u{0}\u{ffff}",
    ] {
        let reply = h.press(data).await;
        let e = error(&reply);
        assert_eq!(e.kind, UserErrorKind::BadCallback, "{data:?}");
        assert!(e.message.contains("/status"), "{}", e.message);
    }
}

#[tokio::test]
async fn players_pages_and_their_edges() {
    let clock = clock();
    let mut source = MockStatusSource::new();
    let c = Arc::clone(&clock);
    source
        .expect_players()
        .with(eq(target("big.example.net")))
        .times(1)
        .returning(move |t| Ok(Some(player_list(t, 45, c.now()))));
    let c = Arc::clone(&clock);
    source
        .expect_players()
        .with(eq(target("empty.example.net")))
        .times(1)
        .returning(move |t| Ok(Some(player_list(t, 0, c.now()))));
    let c = Arc::clone(&clock);
    source
        .expect_players()
        .with(eq(target("twenty.example.net")))
        .times(1)
        .returning(move |t| Ok(Some(player_list(t, PAGE_SIZE, c.now()))));
    let h = harness_with(source, unlimited(), &clock);

    let first = h.text("/players big.example.net").await;
    let View::Players(p) = &first.view else {
        panic!("expected players, got {:?}", first.view);
    };
    assert_eq!((p.page, p.page_count, p.total_names), (0, 3, 45));
    assert_eq!(p.names.len(), PAGE_SIZE);
    assert_eq!(p.names[0], "player000");
    assert!(
        first
            .buttons
            .iter()
            .flatten()
            .all(|b| !b.label.contains("Previous"))
    );
    let next = button_data(&first, "Next");
    assert_eq!(next, "p|1|big.example.net");

    let last = h.text("/players big.example.net 3").await;
    let View::Players(p) = &last.view else {
        panic!("expected players");
    };
    assert_eq!(p.page, 2);
    assert_eq!(
        p.names,
        [
            "player040",
            "player041",
            "player042",
            "player043",
            "player044"
        ]
    );
    assert!(
        last.buttons
            .iter()
            .flatten()
            .all(|b| !b.label.contains("Next"))
    );
    assert_eq!(button_data(&last, "Previous"), "p|1|big.example.net");

    // Past the end: the last page.
    let beyond = h.press("p|99|big.example.net").await;
    assert!(matches!(&beyond.view, View::Players(p) if p.page == 2 && p.names.len() == 5));

    let empty = h.text("/players empty.example.net 4").await;
    let View::Players(p) = &empty.view else {
        panic!("expected players");
    };
    assert_eq!((p.page, p.page_count, p.names.len()), (0, 1, 0));
    assert_eq!(
        empty.buttons.len(),
        1,
        "no navigation row: {:?}",
        empty.buttons
    );

    let exact = h.text("/players twenty.example.net").await;
    assert!(
        matches!(&exact.view, View::Players(p) if p.page_count == 1 && p.names.len() == PAGE_SIZE)
    );
    assert!(
        exact
            .buttons
            .iter()
            .flatten()
            .all(|b| !b.label.contains("Next"))
    );
}

#[tokio::test]
async fn players_of_an_offline_server_point_to_status() {
    let clock = clock();
    let mut source = MockStatusSource::new();
    source.expect_players().times(1).returning(|_| Ok(None));
    let h = harness_with(source, unlimited(), &clock);
    let reply = h.text("/players down.example.net").await;
    let e = error(&reply);
    assert_eq!(e.kind, UserErrorKind::Offline);
    assert!(
        e.message.contains("/status down.example.net"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("ago"), "live: {}", e.message);
    assert_eq!(button_data(&reply, "Status"), "s|down.example.net");
    // From the cache: as old as it is, like a cached status card.
    clock.advance(Duration::from_secs(7));
    let cached = h.text("/players down.example.net").await;
    let e = error(&cached);
    assert_eq!(e.kind, UserErrorKind::Offline);
    assert!(
        e.message.starts_with(
            "down.example.net did not answer (as of 7 s ago), so there is no player list."
        ),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn refused_and_rate_limited_lookups_are_explained() {
    let clock = clock();
    let config = LookupConfig {
        per_user: Some(RateLimit::new(1, Duration::from_secs(8))),
        ..LookupConfig::default()
    };
    let h = harness_with(online_source(1, &clock), config, &clock);
    let reply = h.text("/status 192.168.0.10").await;
    let e = error(&reply);
    assert_eq!(e.kind, UserErrorKind::Refused);
    assert!(e.message.contains("private"), "{}", e.message);
    assert!(
        e.message.contains("/status play.example.net"),
        "{}",
        e.message
    );
    assert!(
        h.chats.chats.lock().expect("lock").is_empty(),
        "refused: not remembered"
    );

    h.text("/status play.example.net").await;
    let reply = h.text("/status play.example.net").await;
    let e = error(&reply);
    assert_eq!(
        e.kind,
        UserErrorKind::RateLimited {
            retry_after: Duration::from_secs(8)
        }
    );
    assert!(e.message.contains("8 s"), "{}", e.message);
}

#[tokio::test]
async fn a_failing_chat_store_does_not_break_lookups() {
    let clock = clock();
    let h = harness_with(online_source(1, &clock), unlimited(), &clock);
    h.chats.fail.store(true, Ordering::SeqCst);
    let reply = h.text("/status play.example.net").await;
    assert!(matches!(reply.view, View::Status(_)), "{:?}", reply.view);
    let reply = h.text("/status").await;
    let e = error(&reply);
    assert_eq!(e.kind, UserErrorKind::Unavailable);
    assert!(
        e.message.contains("/status play.example.net"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_backend_failure_is_unavailable_not_offline() {
    let mut source = MockStatusSource::new();
    source.expect_status().times(2).returning(|_| {
        Err(mcstat_core::ports::SourceError::Backend(
            "no sockets".into(),
        ))
    });
    let h = harness(source, unlimited());
    let e = error(&h.text("/status play.example.net").await).clone();
    assert_eq!(e.kind, UserErrorKind::Unavailable);
}

#[tokio::test]
async fn start_help_and_about() {
    let clock = clock();
    let h = harness_with(online_source(1, &clock), unlimited(), &clock);
    let reply = h.text("/start").await;
    let View::Welcome(w) = &reply.view else {
        panic!("expected welcome");
    };
    assert_eq!(w.last_server, None);
    assert_eq!(w.commands, COMMANDS);
    h.text("/status play.example.net").await;
    let reply = h.text("/start").await;
    assert!(
        matches!(&reply.view, View::Welcome(w) if w.last_server.as_deref() == Some("play.example.net"))
    );
    assert_eq!(button_data(&reply, "Status"), "s|play.example.net");
    let reply = h.text("/help").await;
    assert!(matches!(&reply.view, View::Help { commands, .. } if commands.len() == COMMANDS.len()));
    let reply = h.text("/about").await;
    assert!(matches!(&reply.view, View::About(a) if !a.repository.is_empty()));
    let e = error(&h.text("/watchlist").await).clone();
    assert_eq!(e.kind, UserErrorKind::UnknownCommand);
}

#[tokio::test]
async fn a_lookup_writes_the_chat_state_once_and_only_when_it_changes() {
    use mcstat_core::domain::ChatState;
    use mcstat_core::ports::MockChatStore;

    let clock = clock();
    let lookups = LookupService::new(
        Arc::new(online_source(2, &clock)),
        Arc::new(ClockCache::new(&clock)) as Arc<dyn StatusCache>,
        Arc::clone(&clock) as Arc<dyn Clock>,
        unlimited(),
    );
    let t = target("play.example.net");
    let mut remembered = ChatState::default();
    remembered.remember(&t);
    let mut store = MockChatStore::new();
    let mut seq = mockall::Sequence::new();
    // First lookup: nothing stored yet, so one write with the server.
    store
        .expect_chat()
        .with(eq(chat("100")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(None));
    let expected = remembered.clone();
    store
        .expect_put_chat()
        .withf(move |c, s| *c == chat("100") && *s == expected)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    // Second lookup of the same server: read, no write.
    store
        .expect_chat()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(Some(remembered.clone())));
    let svc = ChatService::new(Arc::new(lookups), Arc::new(store), BotInfo::default());
    for _ in 0..2 {
        clock.advance(Duration::from_secs(61));
        let reply = svc
            .handle(ChatRequest {
                chat: chat("100"),
                user: user("7"),
                command: Command::Status {
                    address: Some("play.example.net".into()),
                },
            })
            .await;
        assert!(matches!(reply.view, View::Status(_)), "{:?}", reply.view);
    }
}

#[tokio::test]
async fn an_upgraded_group_keeps_its_last_server() {
    let clock = clock();
    let h = harness_with(online_source(1, &clock), unlimited(), &clock);
    h.text("/status play.example.net").await;
    let (old, new) = (chat("100"), chat("-1001234"));
    assert!(h.svc.move_chat_state(&old, &new).await.expect("ok"));
    let state = mcstat_core::ports::ChatStore::chat(h.chats.as_ref(), &new)
        .await
        .expect("ok")
        .expect("copied");
    assert_eq!(
        state.last_server.map(|t| t.to_string()).as_deref(),
        Some("play.example.net")
    );
    // Not over a state the new chat already has, and not onto itself.
    assert!(!h.svc.move_chat_state(&old, &new).await.expect("ok"));
    assert!(!h.svc.move_chat_state(&old, &old).await.expect("ok"));
    // Nothing to copy.
    assert!(
        !h.svc
            .move_chat_state(&chat("5"), &chat("6"))
            .await
            .expect("ok")
    );
}
