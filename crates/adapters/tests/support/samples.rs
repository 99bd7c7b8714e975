//! Sample domain values for the tests.

use mcstat_core::history::DownCause;
use mcstat_core::ports::CachedValue;
use mcstat_core::{
    AuditEntry, ChatRef, ChatState, HistorySample, MotdText, OfflineReason, Platform, PlayerList,
    PlayerSource, Protocol, StatusOutcome, StatusReport, Target, Timestamp, UserRef, Watch,
};

/// A realistic time (ms since the epoch, late 2025), so scores need all 41 bits.
pub(crate) const T0: u64 = 1_764_000_000_000;

pub(crate) fn target(text: &str) -> Target {
    text.parse().expect("valid target")
}

pub(crate) fn chat(platform: Platform, id: &str) -> ChatRef {
    ChatRef::new(platform, id).expect("valid chat id")
}

pub(crate) fn user(id: &str) -> UserRef {
    UserRef::new(Platform::Discord, id).expect("valid user id")
}

pub(crate) fn chat_state(last: &str, recent: &[&str], language: Option<&str>) -> ChatState {
    ChatState {
        last_server: Some(target(last)),
        recent: recent.iter().map(|t| target(t)).collect(),
        language: language.map(str::to_owned),
    }
}

pub(crate) fn watch(chat: &ChatRef, target_text: &str, players: &[&str]) -> Watch {
    Watch {
        chat: chat.clone(),
        target: target(target_text),
        created_at: Timestamp(T0),
        players: players.iter().map(|p| (*p).to_owned()).collect(),
    }
}

pub(crate) fn sample(target_text: &str, at: u64, online: bool) -> HistorySample {
    HistorySample {
        target: target(target_text),
        at: Timestamp(at),
        online,
        players: online.then_some(7),
        latency_ms: online.then_some(42),
        cause: (!online).then_some(DownCause::Timeout),
    }
}

/// A sample with every field chosen.
pub(crate) fn sample_with(
    target_text: &str,
    at: u64,
    online: bool,
    players: Option<u32>,
    latency_ms: Option<u32>,
    cause: DownCause,
) -> HistorySample {
    HistorySample {
        target: target(target_text),
        at: Timestamp(at),
        online,
        players: players.filter(|_| online),
        latency_ms: latency_ms.filter(|_| online),
        cause: (!online).then_some(cause),
    }
}

pub(crate) fn audit(scope: &ChatRef, action: &str, at: u64) -> AuditEntry {
    AuditEntry {
        scope: scope.clone(),
        actor: user("1234567890"),
        action: action.to_owned(),
        at: Timestamp(at),
    }
}

pub(crate) fn online(target_text: &str) -> CachedValue {
    CachedValue::Status(StatusOutcome::Online(StatusReport {
        target: target(target_text),
        protocol: Protocol::Java,
        answered_by: Some("203.0.113.7:25565".into()),
        version: Some("Paper 1.21.1".into()),
        protocol_version: Some(767),
        players_online: Some(3),
        players_max: Some(20),
        sample: vec!["Notch".into(), "jeb_".into()],
        motd: MotdText {
            legacy: "§aA §lMinecraft§r Server ✓".into(),
            bedrock: false,
        },
        icon_png: Some(vec![0x89, b'P', b'N', b'G', 0, 1, 2, 0xFF]),
        latency_ms: Some(12),
        game_mode: None,
        map: None,
        mod_count: Some(4),
        taken_at: Timestamp(T0),
    }))
}

pub(crate) fn offline(target_text: &str) -> CachedValue {
    CachedValue::Status(StatusOutcome::Offline {
        target: target(target_text),
        reason: OfflineReason::Timeout { after_ms: 5000 },
        taken_at: Timestamp(T0 + 1),
    })
}

pub(crate) fn players(target_text: &str) -> CachedValue {
    CachedValue::Players(PlayerList {
        target: target(target_text),
        source: PlayerSource::Query,
        online: Some(2),
        max: Some(10),
        names: vec!["Alex".into(), "Steve Smith".into()],
        taken_at: Timestamp(T0 + 2),
    })
}

/// A players lookup the server did not answer.
pub(crate) const fn no_players() -> CachedValue {
    CachedValue::NoPlayerList {
        taken_at: Timestamp(T0 + 3),
    }
}
