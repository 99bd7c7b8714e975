//! Rendering of every view to Telegram HTML, as exact expected strings, including a
//! hostile MOTD, version and player names (everything escaped).

use mc_protocol::address::Edition;
use mc_protocol::text::{Motd, Palette};
use mcstat_core::chat::{
    About, BotInfo, Button, COMMANDS, CallbackData, PlayersPage, Reply, StatusCard, UserError,
    UserErrorKind, View, Welcome,
};
use mcstat_core::{Freshness, PlayerSource, Protocol, Target};
use mcstat_telegram::render::{escape, motd_html, render, view_html};

fn target(s: &str) -> Target {
    s.parse().expect("valid target")
}

fn online_card() -> StatusCard {
    StatusCard {
        target: target("play.example.net"),
        display: "play.example.net".into(),
        edition: Edition::Java,
        online: true,
        protocol: Some(Protocol::Java),
        answered_by: Some("203.0.113.7:25565".into()),
        motd: Motd::from_legacy("§a§lHello §r§oworld\n§kxx§r §nu§mstrike", Palette::Java),
        version: Some("Paper 1.21.1".into()),
        players_online: Some(3),
        players_max: Some(20),
        sample: vec!["Notch".into(), "jeb_".into()],
        latency_ms: Some(42),
        icon_png: None,
        freshness: Freshness::Live,
        offline_reason: None,
        hint: None,
        game_mode: None,
        map: None,
        mod_count: None,
    }
}

#[test]
fn online_status_card() {
    assert_eq!(
        view_html(&View::Status(online_card())),
        "🟢 <b>play.example.net</b> is <b>online</b>\n\
         <blockquote><b>Hello </b><i>world\n</i><i><tg-spoiler>xx</tg-spoiler></i> <u>u</u><u><s>strike</s></u></blockquote>\n\
         🏷 Version: <code>Paper 1.21.1</code>\n\
         👥 Players: <b>3</b>/20\n      Notch, jeb_\n\
         📶 Latency: 42 ms"
    );
}

#[test]
fn hostile_server_strings_are_escaped() {
    let mut card = online_card();
    card.display = "<b>evil</b>.example".into();
    card.motd = Motd::from_legacy(
        "<script>alert(\"x\")</script> & <a href=\"https://evil\">click</a>",
        Palette::Java,
    );
    card.version = Some("</code><b>1.21 & \"more\"".into());
    card.sample = vec!["<i>admin</i>".into(), "Tom & Jerry".into()];
    card.game_mode = Some("<u>survival</u>".into());
    card.map = Some("world\"><".into());
    let html = view_html(&View::Status(card));
    assert_eq!(
        html,
        "🟢 <b>&lt;b&gt;evil&lt;/b&gt;.example</b> is <b>online</b>\n\
         <blockquote>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;a href=&quot;https://evil&quot;&gt;click&lt;/a&gt;</blockquote>\n\
         🏷 Version: <code>&lt;/code&gt;&lt;b&gt;1.21 &amp; &quot;more&quot;</code>\n\
         👥 Players: <b>3</b>/20\n      &lt;i&gt;admin&lt;/i&gt;, Tom &amp; Jerry\n\
         📶 Latency: 42 ms\n\
         🎮 Mode: &lt;u&gt;survival&lt;/u&gt;\n\
         🗺 Map: world&quot;&gt;&lt;"
    );
    // Only our own tags remain.
    let stripped = html
        .replace("<b>", "")
        .replace("</b>", "")
        .replace("<blockquote>", "")
        .replace("</blockquote>", "")
        .replace("<code>", "")
        .replace("</code>", "");
    assert!(
        !stripped.contains('<') && !stripped.contains('>'),
        "{stripped}"
    );
}

#[test]
fn long_motd_is_cut() {
    let motd = Motd::from_legacy(&"§lA".repeat(2000), Palette::Java);
    let html = motd_html(&motd);
    assert!(html.ends_with('…'), "{html}");
    assert_eq!(
        html.matches('A').count(),
        mcstat_telegram::render::MOTD_BUDGET
    );
}

#[test]
fn offline_bedrock_cached_card() {
    let card = StatusCard {
        target: target("bedrock:pe.example.net"),
        display: "bedrock:pe.example.net".into(),
        edition: Edition::Bedrock,
        online: false,
        protocol: None,
        answered_by: None,
        motd: Motd::default(),
        version: None,
        players_online: None,
        players_max: None,
        sample: Vec::new(),
        latency_ms: None,
        icon_png: None,
        freshness: Freshness::Cached { age_ms: 7_400 },
        offline_reason: Some("no answer within 5.0 s".into()),
        hint: Some("If this is a Java server, try /status pe.example.net".into()),
        game_mode: None,
        map: None,
        mod_count: None,
    };
    assert_eq!(
        view_html(&View::Status(card)),
        "🔴 <b>bedrock:pe.example.net</b> (Bedrock) is <b>offline</b>\n\
         Reason: no answer within 5.0 s\n\
         💡 If this is a Java server, try /status pe.example.net\n\
         🕒 <i>cached answer, 7 s old</i>"
    );
}

#[test]
fn online_bedrock_with_mode_map_and_legacy_note() {
    let mut card = online_card();
    card.edition = Edition::Bedrock;
    card.display = "bedrock:pe.example.net".into();
    card.motd = Motd::default();
    card.sample = Vec::new();
    card.players_max = None;
    card.game_mode = Some("Survival".into());
    card.map = Some("Bedrock level".into());
    card.mod_count = Some(12);
    card.protocol = Some(Protocol::Legacy);
    assert_eq!(
        view_html(&View::Status(card)),
        "🟢 <b>bedrock:pe.example.net</b> (Bedrock) is <b>online</b>\n\n\
         🏷 Version: <code>Paper 1.21.1</code>\n\
         👥 Players: <b>3</b>\n\
         📶 Latency: 42 ms\n\
         🎮 Mode: Survival\n\
         🗺 Map: Bedrock level\n\
         🧩 Mods: 12\n\
         <i>(answered the pre-1.7 legacy ping)</i>"
    );
}

#[test]
fn players_pages() {
    let page = PlayersPage {
        target: target("play.example.net"),
        display: "play.example.net".into(),
        names: (21..=25).map(|i| format!("player{i}")).collect(),
        page: 1,
        page_count: 2,
        total_names: 25,
        online: Some(25),
        max: Some(100),
        source: PlayerSource::Query,
        freshness: Freshness::Live,
    };
    assert_eq!(
        view_html(&View::Players(page.clone())),
        "👥 <b>play.example.net</b>: <b>25</b>/100 online\n\
         Page 2 of 2 · names 21–25 of 25\n\
         • player21\n• player22\n• player23\n• player24\n• player25"
    );
    let sample = PlayersPage {
        names: vec!["<Notch>".into()],
        page: 0,
        page_count: 1,
        total_names: 1,
        source: PlayerSource::Sample,
        ..page.clone()
    };
    assert_eq!(
        view_html(&View::Players(sample)),
        "👥 <b>play.example.net</b>: <b>25</b>/100 online\n\
         • &lt;Notch&gt;\n\
         <i>Only the names the server chose to share (a sample).</i>"
    );
    let none = PlayersPage {
        names: Vec::new(),
        page: 0,
        page_count: 1,
        total_names: 0,
        online: Some(0),
        source: PlayerSource::CountOnly,
        freshness: Freshness::Cached { age_ms: 1_000 },
        ..page
    };
    assert_eq!(
        view_html(&View::Players(none)),
        "👥 <b>play.example.net</b>: <b>0</b>/100 online\n\
         <i>The server shares no names.</i>\n\
         🕒 <i>cached answer, 1 s old</i>"
    );
}

#[test]
fn welcome_help_about() {
    let welcome = View::Welcome(Welcome {
        name: "mcstat".into(),
        example: "play.example.net",
        last_server: Some("mc.example.org".into()),
        commands: COMMANDS,
    });
    let html = view_html(&welcome);
    assert!(html.starts_with("👋 <b>Welcome to mcstat!</b>\n"), "{html}");
    assert!(
        html.contains("Try <code>/status play.example.net</code>"),
        "{html}"
    );
    assert!(
        html.contains("Your last server: <code>mc.example.org</code>"),
        "{html}"
    );
    for c in COMMANDS {
        assert!(html.contains(&format!("\n/{}", c.name)), "{html}");
    }

    let help = view_html(&View::Help {
        commands: COMMANDS,
        example: "play.example.net",
    });
    assert!(help.starts_with("❓ <b>Commands</b>\n/start — "), "{help}");
    assert!(help.contains("\n/status [address] — "), "{help}");
    assert!(help.contains("\n/players [address] [page] — "), "{help}");
    assert!(
        help.contains("<code>bedrock:play.example.net</code>"),
        "{help}"
    );
    assert!(
        help.contains("<code>/watch play.example.net &quot;Steve Smith&quot; Notch</code>"),
        "{help}"
    );

    let info = BotInfo::default();
    let about = view_html(&View::About(About {
        name: info.name,
        version: "0.1.0".into(),
        description: "Status & more".into(),
        repository: "https://example.net/mcstat?a=1&b=\"2\"".into(),
        license: "MIT OR Apache-2.0".into(),
    }));
    assert_eq!(
        about,
        "ℹ️ <b>mcstat</b> 0.1.0\nStatus &amp; more\n\n\
         Source: <a href=\"https://example.net/mcstat?a=1&amp;b=&quot;2&quot;\">https://example.net/mcstat?a=1&amp;b=&quot;2&quot;</a>\n\
         Licence: MIT OR Apache-2.0"
    );
}

#[test]
fn errors_get_an_icon_and_are_escaped() {
    let cases = [
        (UserErrorKind::BadAddress, "💡"),
        (UserErrorKind::NoServerYet, "💡"),
        (
            UserErrorKind::RateLimited {
                retry_after: std::time::Duration::from_secs(3),
            },
            "⏳",
        ),
        (UserErrorKind::Refused, "🚫"),
        (UserErrorKind::Unavailable, "⚠️"),
        (UserErrorKind::BadCallback, "⌛"),
        (UserErrorKind::Offline, "🔴"),
    ];
    for (kind, icon) in cases {
        let html = view_html(&View::Error(UserError::new(
            kind,
            "“<x>” is not a server address & such",
        )));
        assert_eq!(
            html,
            format!("{icon} “&lt;x&gt;” is not a server address &amp; such")
        );
    }
}

#[test]
fn keyboards_keep_rows_and_callback_data() {
    let reply = Reply {
        view: View::Error(UserError::new(UserErrorKind::Offline, "down")),
        buttons: vec![
            vec![
                Button::new("🔄 Refresh", &CallbackData::Help),
                Button::new("👥 Players", &CallbackData::About),
            ],
            vec![],
            vec![Button::new("ℹ️ About", &CallbackData::About)],
        ],
    };
    let r = render(&reply);
    let kb = r.keyboard.expect("keyboard");
    let json = serde_json::to_value(&kb).expect("json");
    let rows = json["inline_keyboard"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0]["text"], "🔄 Refresh");
    assert_eq!(rows[0][0]["callback_data"], CallbackData::Help.encode());
    assert_eq!(rows[1][0]["callback_data"], CallbackData::About.encode());
    assert!(
        render(&Reply::plain(View::Error(UserError::new(
            UserErrorKind::Offline,
            "x"
        ))))
        .keyboard
        .is_none()
    );
}

#[test]
fn escape_covers_the_html_specials() {
    assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c'");
}

#[test]
fn watch_views() {
    use std::time::Duration;

    use mcstat_core::history::DownCause;
    use mcstat_core::watch::views::{Unwatched, UptimeView, WatchAdded, WatchList, WatchView};
    use mcstat_core::watch::{
        AddOutcome, Outage, TargetState, UptimeReport, UptimeWindow, WatchSummary,
    };
    use mcstat_core::{ChatRef, Platform, Timestamp, Watch};
    use mcstat_telegram::render::watch_html;

    let min = Duration::from_secs(60);
    let a = |outcome, players: &[&str]| {
        WatchView::Added(WatchAdded {
            display: "a<b>.example".into(),
            outcome,
            players: players.iter().map(|p| (*p).to_owned()).collect(),
            interval: "1 min".into(),
        })
    };
    assert_eq!(
        watch_html(&a(AddOutcome::Added, &["<x>"])),
        "👀 Watching <b>a&lt;b&gt;.example</b>: I'll tell this chat when it goes down or comes back (checked every 1 min).\nPlayers followed (joins and leaves): &lt;x&gt;\n/uptime a&lt;b&gt;.example shows its uptime; /unwatch a&lt;b&gt;.example stops."
    );
    assert_eq!(
        watch_html(&a(AddOutcome::Updated, &[])),
        "👀 This chat already watches <b>a&lt;b&gt;.example</b>; its player list is updated.\nNo players followed.\n/uptime a&lt;b&gt;.example shows its uptime; /unwatch a&lt;b&gt;.example stops."
    );
    let gone = |removed| {
        WatchView::Unwatched(Unwatched {
            display: "a.example".into(),
            removed,
        })
    };
    assert_eq!(
        watch_html(&gone(false)),
        "💡 This chat does not watch <b>a.example</b>. /watches lists what it watches."
    );
    assert_eq!(
        watch_html(&gone(true)),
        "🛑 Stopped watching <b>a.example</b> in this chat."
    );

    let now = Timestamp(10 * 86_400_000);
    let window = |span: Duration, up: Duration, down: Duration| UptimeWindow { span, up, down };
    let day = Duration::from_secs(86_400);
    let summary = |target: &str, state| WatchSummary {
        watch: Watch {
            chat: ChatRef::new(Platform::Telegram, "7").expect("valid"),
            target: target.parse().expect("valid"),
            created_at: Timestamp(0),
            players: vec!["Notch".into()],
        },
        state,
        day: window(day, day - min * 3, min * 3),
        last_sample: None,
    };
    let list = watch_html(&WatchView::List(WatchList::new(
        &[
            summary(
                "a.example",
                TargetState::Down {
                    since: Some(now.minus(min * 3)),
                },
            ),
            summary("b.example", TargetState::Unknown),
        ],
        10,
        now,
    )));
    assert_eq!(
        list,
        "👀 <b>Watched servers</b> (2/10)\n🔴 <code>a.example</code> — down for 3 min · 24 h: 99.79 %\n      players: Notch\n⚪ <code>b.example</code> — not checked yet · 24 h: 99.79 %\n      players: Notch\n/uptime address for details; /unwatch address to stop."
    );
    assert!(
        watch_html(&WatchView::List(WatchList::new(&[], 10, now)))
            .contains("watches no servers yet")
    );

    let report = UptimeReport {
        day: window(day, day, Duration::ZERO),
        week: window(day * 7, day * 6, day),
        month: window(day * 30, day * 2, Duration::ZERO),
        quarter: window(day * 90, day * 2, Duration::ZERO),
        year: window(day * 365, day * 2, Duration::ZERO),
        outages: vec![
            Outage {
                start: now.minus(min),
                end: None,
                duration: min,
                cause: DownCause::Refused,
            },
            Outage {
                start: Timestamp(86_400_000),
                end: Some(Timestamp(86_400_000 + 125_000)),
                duration: Duration::from_secs(125),
                cause: DownCause::Unknown,
            },
        ],
        last_sample: Some((now, false)),
        samples: 100,
    };
    assert_eq!(
        watch_html(&WatchView::Uptime(UptimeView::new(
            &"a.example".parse().expect("valid"),
            &report
        ))),
        "📈 <b>Uptime of a.example</b>\n24 h: <b>100 %</b>\n7 d: <b>85.71 %</b>\n30 d: <b>100 %</b> <i>(of the 2 d with data)</i>\n90 d: <b>100 %</b> <i>(of the 2 d with data)</i>\n1 y: <b>100 %</b> <i>(of the 2 d with data)</i>\n\n<b>Last outages</b>\n• 1970-01-10 23:59 UTC — <b>ongoing</b>, 1 min so far (connection refused)\n• 1970-01-02 00:00 UTC — 2 min\nLast check: 1970-01-11 00:00 UTC (no answer)"
    );
    let empty = UptimeReport {
        outages: Vec::new(),
        samples: 0,
        last_sample: None,
        ..report
    };
    assert!(
        watch_html(&WatchView::Uptime(UptimeView::new(
            &"a.example".parse().expect("valid"),
            &empty
        )))
        .starts_with("📈 No history for <b>a.example</b> yet.")
    );
}
