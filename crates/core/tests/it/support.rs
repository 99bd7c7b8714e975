//! Test doubles and builders shared by the service tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::domain::{
    ChatRef, ChatState, MotdText, OfflineReason, Platform, PlayerList, PlayerSource, Protocol,
    StatusOutcome, StatusReport, Target, Timestamp, UserRef,
};
use mcstat_core::lookup::{LookupConfig, LookupService};
use mcstat_core::ports::{
    CachedValue, ChatStore, Clock, ManualClock, MockStatusCache, SourceError, StatusCache,
    StatusSource, StoreError,
};

/// The start of every test clock: 2026-01-01T00:00:00Z.
pub(crate) const T0: Timestamp = Timestamp(1_767_225_600_000);

pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

pub(crate) fn target(s: &str) -> Target {
    s.parse().expect("valid target")
}

pub(crate) fn user(id: &str) -> UserRef {
    UserRef::new(Platform::Telegram, id).expect("valid user id")
}

pub(crate) fn chat(id: &str) -> ChatRef {
    ChatRef::new(Platform::Telegram, id).expect("valid chat id")
}

pub(crate) fn online(target: &Target, at: Timestamp) -> StatusOutcome {
    StatusOutcome::Online(StatusReport {
        target: target.clone(),
        protocol: Protocol::Java,
        answered_by: Some("203.0.113.7:25565".into()),
        version: Some("Paper 1.21.1".into()),
        protocol_version: Some(767),
        players_online: Some(3),
        players_max: Some(20),
        sample: vec!["Notch".into(), "jeb_".into()],
        motd: MotdText {
            legacy: "§aHello §lworld".into(),
            bedrock: false,
        },
        icon_png: Some(vec![0x89, b'P', b'N', b'G']),
        latency_ms: Some(42),
        game_mode: None,
        map: None,
        mod_count: None,
        taken_at: at,
    })
}

pub(crate) fn offline(target: &Target, at: Timestamp) -> StatusOutcome {
    StatusOutcome::Offline {
        target: target.clone(),
        reason: OfflineReason::Timeout { after_ms: 5000 },
        taken_at: at,
    }
}

pub(crate) fn player_list(target: &Target, n: usize, at: Timestamp) -> PlayerList {
    PlayerList {
        target: target.clone(),
        source: PlayerSource::Query,
        online: Some(i64::try_from(n).expect("small")),
        max: Some(100),
        names: (0..n).map(|i| format!("player{i:03}")).collect(),
        taken_at: at,
    }
}

/// Settings without rate limits (tests of other stages stay independent of them).
pub(crate) fn unlimited() -> LookupConfig {
    LookupConfig {
        per_user: None,
        per_target: None,
        ..LookupConfig::default()
    }
}

pub(crate) fn service(
    source: impl StatusSource + 'static,
    cache: impl StatusCache + 'static,
    clock: &Arc<ManualClock>,
    config: LookupConfig,
) -> LookupService {
    LookupService::new(
        Arc::new(source),
        Arc::new(cache),
        Arc::clone(clock) as Arc<dyn Clock>,
        config,
    )
}

/// A cache mock that must not be used at all.
pub(crate) fn untouched_cache() -> MockStatusCache {
    MockStatusCache::new()
}

/// An in-memory cache that expires entries by the test clock, like a real one.
pub(crate) struct ClockCache {
    clock: Arc<ManualClock>,
    entries: Mutex<HashMap<String, (CachedValue, Timestamp)>>,
    pub(crate) puts: Mutex<Vec<(String, Duration)>>,
}

impl ClockCache {
    pub(crate) fn new(clock: &Arc<ManualClock>) -> Self {
        Self {
            clock: Arc::clone(clock),
            entries: Mutex::default(),
            puts: Mutex::default(),
        }
    }
}

#[async_trait]
impl StatusCache for ClockCache {
    async fn get(&self, key: &str) -> Result<Option<CachedValue>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .lock()
            .expect("lock")
            .get(key)
            .filter(|(_, expires)| now < *expires)
            .map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &CachedValue, ttl: Duration) -> Result<(), StoreError> {
        let expires = self.clock.now().plus(ttl);
        self.puts.lock().expect("lock").push((key.to_owned(), ttl));
        self.entries
            .lock()
            .expect("lock")
            .insert(key.to_owned(), (value.clone(), expires));
        Ok(())
    }
}

/// A source whose lookups wait until the test opens the gate, counting calls.
pub(crate) struct GatedSource {
    pub(crate) calls: AtomicUsize,
    pub(crate) gate: tokio::sync::Semaphore,
    pub(crate) clock: Arc<ManualClock>,
}

impl GatedSource {
    pub(crate) fn new(clock: &Arc<ManualClock>) -> Self {
        Self {
            calls: AtomicUsize::new(0),
            gate: tokio::sync::Semaphore::new(0),
            clock: Arc::clone(clock),
        }
    }
}

#[async_trait]
impl StatusSource for GatedSource {
    async fn status(&self, target: &Target) -> Result<StatusOutcome, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.gate.acquire().await.expect("gate open").forget();
        Ok(online(target, self.clock.now()))
    }

    async fn players(&self, target: &Target) -> Result<Option<PlayerList>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.gate.acquire().await.expect("gate open").forget();
        Ok(Some(player_list(target, 3, self.clock.now())))
    }
}

/// An in-memory chat store (a fake: the chat tests are about the flow, not the
/// store calls); `fail` makes every call fail as an unreachable backend would.
#[derive(Default)]
pub(crate) struct MemChats {
    pub(crate) chats: Mutex<HashMap<ChatRef, ChatState>>,
    pub(crate) fail: std::sync::atomic::AtomicBool,
    pub(crate) writes: AtomicUsize,
}

impl MemChats {
    fn check(&self) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("store is down".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ChatStore for MemChats {
    async fn chat(&self, chat: &ChatRef) -> Result<Option<ChatState>, StoreError> {
        self.check()?;
        Ok(self.chats.lock().expect("lock").get(chat).cloned())
    }

    async fn put_chat(&self, chat: &ChatRef, state: &ChatState) -> Result<(), StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.chats
            .lock()
            .expect("lock")
            .insert(chat.clone(), state.clone());
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.check()
    }
}
