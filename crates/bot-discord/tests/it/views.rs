//! Every view, rendered by the pure functions and compared with its snapshot; and the
//! immediate answers of the pure interaction classifier.

use std::time::Duration;

use mc_protocol::address::Edition;
use mc_protocol::text::{Motd, Palette};
use mcstat_core::Target;
use mcstat_core::chat::{
    About, Button, COMMANDS, CallbackData, PlayersPage, Reply, StatusCard, TargetRef, UserError,
    UserErrorKind, View,
};
use mcstat_core::domain::{Freshness, PlayerSource, Protocol};
use mcstat_discord::commands::registration;
use mcstat_discord::interact::{Action, ClassifyOptions, DISCORD_EPOCH_MS, autocomplete, classify};
use mcstat_discord::render::{RenderContext, render_reply};
use mcstat_discord::wire::{Interaction, MessagePayload};
use serde_json::{Value, json};

use crate::snapshot::assert_snapshot;

fn target(s: &str) -> Target {
    s.parse().expect("valid target")
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-icon-bytes";

fn with_files(p: &MessagePayload) -> Value {
    json!({
        "payload": p,
        "files": p.files.iter().map(|f| json!({"filename": f.filename, "len": f.bytes.len()})).collect::<Vec<_>>(),
    })
}

fn status_buttons(t: &Target) -> Vec<Vec<Button>> {
    let r = TargetRef::Server(t.clone());
    vec![
        vec![
            Button::new(
                "🔄 Refresh",
                &CallbackData::Status {
                    target: r.clone(),
                    refresh: true,
                },
            ),
            Button::new(
                "👥 Players",
                &CallbackData::Players {
                    target: r,
                    page: 0,
                    refresh: false,
                },
            ),
        ],
        vec![Button::new("ℹ️ About", &CallbackData::About)],
    ]
}

fn online_card() -> StatusCard {
    let t = target("play.example.net");
    StatusCard {
        display: "play.example.net".into(),
        edition: Edition::Java,
        online: true,
        protocol: Some(Protocol::Java),
        answered_by: Some("203.0.113.7:25565".into()),
        motd: Motd::from_legacy(
            "§a§lA Minecraft Server\n§7Welcome §b`back` §cto §x§f§f§8§8§0§0hex",
            Palette::Java,
        ),
        version: Some("Paper 1.21.1".into()),
        players_online: Some(3),
        players_max: Some(20),
        sample: vec!["Notch".into(), "jeb_".into(), "@everyone".into()],
        latency_ms: Some(42),
        icon_png: Some(PNG.to_vec()),
        freshness: Freshness::Live,
        offline_reason: None,
        hint: None,
        game_mode: None,
        map: None,
        mod_count: None,
        target: t,
    }
}

#[test]
fn status_online_live_is_green_with_motd_icon_buttons_and_menu() {
    let card = online_card();
    let buttons = status_buttons(&card.target);
    let ctx = RenderContext {
        recent: vec![target("other.example.net:25566"), card.target.clone()],
    };
    let payload = render_reply(
        &Reply {
            view: View::Status(card),
            buttons,
        },
        &ctx,
    );
    assert_snapshot("status_online_live", &with_files(&payload));
}

#[test]
fn status_cached_is_amber_with_query_details() {
    let mut card = online_card();
    card.freshness = Freshness::Cached { age_ms: 42_000 };
    card.protocol = Some(Protocol::Query);
    card.game_mode = Some("SMP".into());
    card.map = Some("world_*nether*".into());
    card.mod_count = Some(12);
    card.icon_png = Some(b"not a png".to_vec());
    card.sample.clear();
    let payload = render_reply(&Reply::plain(View::Status(card)), &RenderContext::default());
    assert_snapshot("status_cached", &with_files(&payload));
}

#[test]
fn status_offline_is_red_with_reason_and_hint() {
    let t = target("down.example.net");
    let card = StatusCard {
        display: "down.example.net".into(),
        edition: Edition::Java,
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
        freshness: Freshness::Live,
        offline_reason: Some("the connection was refused".into()),
        hint: Some("If this is a Bedrock server, try /status bedrock:down.example.net".into()),
        game_mode: None,
        map: None,
        mod_count: None,
        target: t.clone(),
    };
    let payload = render_reply(
        &Reply {
            buttons: status_buttons(&t),
            view: View::Status(card),
        },
        &RenderContext::default(),
    );
    assert_snapshot("status_offline", &with_files(&payload));
}

fn page(names: &[&str], page: usize, page_count: usize, total: usize) -> PlayersPage {
    PlayersPage {
        target: target("bedrock:pe.example.net"),
        display: "bedrock:pe.example.net".into(),
        names: names.iter().map(|s| (*s).to_owned()).collect(),
        page,
        page_count,
        total_names: total,
        online: Some(total as i64),
        max: Some(100),
        source: PlayerSource::Query,
        freshness: Freshness::Live,
    }
}

#[test]
fn players_page_with_navigation() {
    let t = TargetRef::Server(target("bedrock:pe.example.net"));
    let p = page(&["Alex", "Steve", "x_*bold*_x"], 1, 3, 43);
    let buttons = vec![
        vec![
            Button::new(
                "◀ Previous",
                &CallbackData::Players {
                    target: t.clone(),
                    page: 0,
                    refresh: false,
                },
            ),
            Button::new(
                "Next ▶",
                &CallbackData::Players {
                    target: t.clone(),
                    page: 2,
                    refresh: false,
                },
            ),
        ],
        vec![Button::new(
            "📊 Status",
            &CallbackData::Status {
                target: t,
                refresh: false,
            },
        )],
    ];
    let payload = render_reply(
        &Reply {
            view: View::Players(p),
            buttons,
        },
        &RenderContext::default(),
    );
    assert_snapshot("players_page", &with_files(&payload));
}

#[test]
fn players_sample_only_and_empty() {
    let mut p = page(&["Alex"], 0, 1, 1);
    p.source = PlayerSource::Sample;
    p.online = Some(57);
    p.freshness = Freshness::Cached { age_ms: 125_000 };
    let sample = render_reply(&Reply::plain(View::Players(p)), &RenderContext::default());
    let mut empty = page(&[], 0, 1, 0);
    empty.online = Some(0);
    let empty = render_reply(
        &Reply::plain(View::Players(empty)),
        &RenderContext::default(),
    );
    assert_snapshot(
        "players_sample_and_empty",
        &json!({"sample": with_files(&sample), "empty": with_files(&empty)}),
    );
}

#[test]
fn help_about_and_errors() {
    let help = render_reply(
        &Reply {
            view: View::Help {
                commands: COMMANDS,
                example: "play.example.net",
            },
            buttons: vec![vec![Button::new("ℹ️ About", &CallbackData::About)]],
        },
        &RenderContext::default(),
    );
    let about = render_reply(
        &Reply::plain(View::About(About {
            name: "mcstat".into(),
            version: "0.1.0".into(),
            description: "Minecraft server status".into(),
            repository: "https://github.com/mcstat/mcstat".into(),
            license: "MIT OR Apache-2.0".into(),
        })),
        &RenderContext::default(),
    );
    let bad = render_reply(
        &Reply::error(UserError::new(
            UserErrorKind::BadAddress,
            "“a b” is not a server address. Try /status play.example.net",
        )),
        &RenderContext::default(),
    );
    let limited = render_reply(
        &Reply::error(UserError::new(
            UserErrorKind::RateLimited {
                retry_after: Duration::from_secs(3),
            },
            "You are asking a bit fast. Try again in 3 s.",
        )),
        &RenderContext::default(),
    );
    assert_snapshot(
        "help_about_errors",
        &json!({"help": help, "about": about, "bad_address": bad, "rate_limited": limited}),
    );
}

fn interaction(json: Value) -> Interaction {
    serde_json::from_value(json).expect("interaction")
}

fn opts(now_ms: u64) -> ClassifyOptions {
    ClassifyOptions {
        component_ttl: Duration::from_secs(3600),
        now_ms,
    }
}

fn member(perms: u64) -> Value {
    json!({"user": {"id": "42", "username": "alice"}, "permissions": perms.to_string()})
}

/// A snowflake made at `ms` (Unix milliseconds).
fn snowflake_at(ms: u64) -> String {
    ((ms - DISCORD_EPOCH_MS) << 22).to_string()
}

#[test]
fn immediate_answers() {
    let now = 1_800_000_000_000;
    let respond = |i: Value| match classify(&interaction(i), opts(now)) {
        Action::Respond(r) => serde_json::to_value(r).expect("ser"),
        other => panic!("expected an immediate answer, got {other:?}"),
    };
    let base = |kind: u8, data: Value, perms: u64| {
        json!({"id": "1", "application_id": "9", "type": kind, "token": "t",
               "guild_id": "7", "channel_id": "8", "member": member(perms), "data": data})
    };
    let pong = respond(json!({"type": 1, "id": "1", "token": "t"}));
    let stale = respond(json!({
        "type": 3, "id": "1", "token": "t", "channel_id": "8", "member": member(0),
        "message": {"id": snowflake_at(now - 1000)},
        "data": {"custom_id": "status:play.example.net", "component_type": 2}}));
    let expired = respond(json!({
        "type": 3, "id": "1", "token": "t", "channel_id": "8", "member": member(0),
        "message": {"id": snowflake_at(now - 7_200_000)},
        "data": {"custom_id": "mc1:s|play.example.net", "component_type": 2}}));
    let not_manager = respond(base(
        2,
        json!({"name": "live", "options": [{"type": 1, "name": "start",
            "options": [{"type": 3, "name": "address", "value": "play.example.net"}]}]}),
        1 << 11,
    ));
    let unknown = respond(base(2, json!({"name": "weather"}), 0));
    assert_snapshot(
        "immediate_answers",
        &json!({"pong": pong, "stale_component": stale, "expired_component": expired,
                "live_without_manage_guild": not_manager, "unknown_command": unknown}),
    );
}

#[test]
fn commands_components_and_live_classify() {
    let now = 1_800_000_000_000;
    let i = interaction(json!({
        "type": 2, "id": "1", "token": "t", "guild_id": "7", "channel_id": "8",
        "member": member(0),
        "data": {"name": "players", "options": [
            {"type": 3, "name": "address", "value": "play.example.net"},
            {"type": 4, "name": "page", "value": 3}]}}));
    let Action::Chat(req) = classify(&i, opts(now)) else {
        panic!("a chat command")
    };
    assert_eq!(req.chat.id(), "8");
    assert_eq!(req.user.id(), "42");
    assert_eq!(
        req.command,
        mcstat_core::Command::Players {
            address: Some("play.example.net".into()),
            page: 2
        }
    );

    let pick = interaction(json!({
        "type": 3, "id": "1", "token": "t", "channel_id": "8", "user": {"id": "42"},
        "message": {"id": snowflake_at(now - 1000)},
        "data": {"custom_id": "mc1:pick", "component_type": 3, "values": ["bedrock:pe.example.net"]}}));
    assert_eq!(
        classify(&pick, opts(now)),
        Action::Callback {
            chat: req.chat.clone(),
            user: req.user,
            data: "s|bedrock:pe.example.net".into()
        }
    );

    let live = interaction(json!({
        "type": 2, "id": "1", "token": "t", "guild_id": "7", "channel_id": "8",
        "member": member(1 << 5),
        "data": {"name": "live", "options": [{"type": 1, "name": "stop"}]}}));
    assert!(matches!(
        classify(&live, opts(now)),
        Action::LiveStop { .. }
    ));
    let admin = interaction(json!({
        "type": 2, "id": "1", "token": "t", "guild_id": "7", "channel_id": "8",
        "member": member(1 << 3),
        "data": {"name": "live", "options": [{"type": 1, "name": "start",
            "options": [{"type": 3, "name": "address", "value": "a.example"}]}]}}));
    assert!(
        matches!(classify(&admin, opts(now)), Action::LiveStart { ref address, .. } if address == "a.example")
    );
}

#[test]
fn autocomplete_offers_matching_recent_servers() {
    let i = interaction(json!({
        "type": 4, "id": "1", "token": "t", "guild_id": "7", "channel_id": "8",
        "member": member(1 << 5),
        "data": {"name": "live", "options": [{"type": 1, "name": "start",
            "options": [{"type": 3, "name": "address", "value": "EXA", "focused": true}]}]}}));
    let Action::Autocomplete { partial, guild, .. } = classify(&i, opts(0)) else {
        panic!("autocomplete")
    };
    assert_eq!((partial.as_str(), guild.as_deref()), ("EXA", Some("7")));
    let recent = [
        target("play.example.net"),
        target("other.test:25566"),
        target("bedrock:pe.example.net"),
        target("xn--bcher-kva.example"),
    ];
    let choices = serde_json::to_value(autocomplete(&recent, &partial)).expect("ser");
    assert_snapshot("autocomplete", &choices);
}

#[test]
fn command_registration() {
    assert_snapshot("registration", &registration());
}

#[test]
fn watch_views() {
    use mcstat_core::history::DownCause;
    use mcstat_core::watch::views::{Unwatched, UptimeView, WatchAdded, WatchList, WatchView};
    use mcstat_core::watch::{
        AddOutcome, Outage, TargetState, UptimeReport, UptimeWindow, WatchSummary,
    };
    use mcstat_core::{ChatRef, Platform, Timestamp, Watch};
    use mcstat_discord::watch::watch_payload;

    let now = Timestamp(1_800_000_000_000);
    let hour = Duration::from_secs(3600);
    let window = |span: Duration, down: Duration| UptimeWindow {
        span,
        up: span.saturating_sub(down),
        down,
    };
    let summary = |t: &str, state: TargetState, players: &[&str]| WatchSummary {
        watch: Watch {
            chat: ChatRef::new(Platform::Discord, "8").expect("chat"),
            target: target(t),
            created_at: Timestamp(0),
            players: players.iter().map(|p| (*p).to_owned()).collect(),
        },
        state,
        day: window(24 * hour, Duration::from_secs(600)),
        last_sample: Some((now, true)),
    };
    let list = watch_payload(&WatchView::List(WatchList::new(
        &[
            summary(
                "play.example.net",
                TargetState::Up {
                    since: Some(Timestamp(now.as_millis() - 7_200_000)),
                },
                &["Notch", "jeb_"],
            ),
            summary("bedrock:pe.example", TargetState::Down { since: None }, &[]),
        ],
        10,
        now,
    )));
    let report = UptimeReport {
        day: window(24 * hour, Duration::from_secs(600)),
        week: window(7 * 24 * hour, Duration::from_secs(600)),
        month: window(30 * 24 * hour, Duration::from_secs(600)),
        quarter: window(90 * 24 * hour, Duration::from_secs(600)),
        year: window(365 * 24 * hour, Duration::from_secs(3600)),
        outages: vec![
            Outage {
                start: Timestamp(now.as_millis() - 3_600_000),
                end: Some(Timestamp(now.as_millis() - 3_000_000)),
                duration: Duration::from_secs(600),
                cause: DownCause::Timeout,
            },
            Outage {
                start: Timestamp(now.as_millis() - 200 * 86_400_000),
                end: Some(Timestamp(now.as_millis() - 200 * 86_400_000 + 3_000_000)),
                duration: Duration::from_secs(3000),
                cause: DownCause::NotFound,
            },
        ],
        last_sample: Some((now, true)),
        samples: 1440,
    };
    let server = target("play.example.net");
    assert_snapshot(
        "watch_views",
        &json!({
            "added": watch_payload(&WatchView::Added(WatchAdded::new(&server, AddOutcome::Added, vec![], Duration::from_secs(60)))),
            "updated": watch_payload(&WatchView::Added(WatchAdded::new(&server, AddOutcome::Updated, vec!["Notch".to_owned()], Duration::from_secs(60)))),
            "unwatched": watch_payload(&WatchView::Unwatched(Unwatched::new(&server, true))),
            "not_watched": watch_payload(&WatchView::Unwatched(Unwatched::new(&server, false))),
            "list": list,
            "empty_list": watch_payload(&WatchView::List(WatchList::new(&[], 10, now))),
            "uptime": watch_payload(&WatchView::Uptime(UptimeView::new(&server, &report))),
            "no_history": watch_payload(&WatchView::Uptime(UptimeView::new(&server, &UptimeReport { samples: 0, outages: vec![], last_sample: None, ..report }))),
        }),
    );
}

#[test]
fn watch_players_may_be_quoted() {
    use mcstat_core::chat::WatchCommand;
    let watch = |players: &str| {
        let v = json!({
            "type": 2, "id": "1", "token": "t", "channel_id": "8",
            "user": {"id": "42", "username": "alice"},
            "data": {"name": "watch", "options": [
                {"type": 3, "name": "address", "value": "play.example.net"},
                {"type": 3, "name": "players", "value": players}]}});
        classify(&interaction(v), opts(1_800_000_000_000))
    };
    let Action::Watch { command, .. } = watch("\"Steve Smith\", Notch „Jeb Doe“") else {
        panic!("a watch command")
    };
    assert_eq!(
        command,
        WatchCommand::Watch {
            address: Some("play.example.net".into()),
            players: vec!["Steve Smith".into(), "Notch".into(), "Jeb Doe".into()],
        }
    );
    // An unclosed quote: told privately how to quote, nothing watched.
    let Action::Respond(r) = watch("“Steve Smith") else {
        panic!("refused")
    };
    let r = serde_json::to_value(r).expect("ser");
    assert_eq!(r["data"]["flags"], 64);
    assert!(
        r["data"]["embeds"][0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("quote is not closed") && d.contains("\"Steve Smith\"")),
        "{r}"
    );
}

#[test]
fn watch_commands_classify_and_need_manage_guild_in_guilds() {
    use mcstat_core::chat::WatchCommand;
    let now = 1_800_000_000_000;
    let watch = |guild: bool, perms: u64| {
        let mut v = json!({
            "type": 2, "id": "1", "token": "t", "channel_id": "8",
            "data": {"name": "watch", "options": [
                {"type": 3, "name": "address", "value": "play.example.net"},
                {"type": 3, "name": "players", "value": "Notch, jeb_  Dinnerbone"}]}});
        if guild {
            v["guild_id"] = json!("7");
            v["member"] = member(perms);
        } else {
            v["user"] = json!({"id": "42", "username": "alice"});
        }
        classify(&interaction(v), opts(now))
    };
    let expected = WatchCommand::Watch {
        address: Some("play.example.net".into()),
        players: vec!["Notch".into(), "jeb_".into(), "Dinnerbone".into()],
    };
    // In a guild with Manage Server, and in a DM: the channel's watch.
    for action in [watch(true, 1 << 5), watch(false, 0)] {
        let Action::Watch {
            chat,
            user,
            command,
        } = action
        else {
            panic!("a watch command, got {action:?}")
        };
        assert_eq!(chat.id(), "8");
        assert_eq!(user.id(), "42");
        assert_eq!(command, expected);
    }
    // In a guild without it: refused privately.
    let Action::Respond(r) = watch(true, 1 << 11) else {
        panic!("refused")
    };
    let r = serde_json::to_value(r).expect("ser");
    assert_eq!(r["data"]["flags"], 64);
    assert!(
        r["data"]["embeds"][0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("Manage Server")),
        "{r}"
    );
    // Reading commands need nothing.
    for (name, options, command) in [
        ("watches", json!([]), WatchCommand::List),
        (
            "graph",
            json!([{"type": 3, "name": "address", "value": "a.example"},
                   {"type": 3, "name": "range", "value": "7d"}]),
            WatchCommand::Graph {
                address: Some("a.example".into()),
                range: Some("7d".into()),
            },
        ),
    ] {
        let i = interaction(json!({
            "type": 2, "id": "1", "token": "t", "guild_id": "7", "channel_id": "8",
            "member": member(0), "data": {"name": name, "options": options}}));
        match classify(&i, opts(now)) {
            Action::Watch { command: c, .. } => assert_eq!(c, command),
            other => panic!("{name}: {other:?}"),
        }
    }
}
