//! The contract suites: one for every store (`&dyn SessionStore`), one for every cache
//! (`&dyn StatusCache`). Each backend's test calls them on a fresh, empty instance.
//!
//! History has suites of its own on `&dyn HistoryStore` and the store's
//! [`HistoryConfig`] ([`history_contract`], part of [`store_contract`] with the
//! default config, and [`history_prune_contract`] on a store of its own), so every
//! history backend runs them.

use std::time::Duration;

use mcstat_core::history::{
    ChunkKey, DownCause, HistoryConfig, HistoryReader, MemoryHistory, OutageEvent, Stream, Tier,
};
use mcstat_core::ports::{HistoryStore, LeasePort, SessionStore, StatusCache};
use mcstat_core::{HistorySample, Platform, Timestamp};

use super::samples::{
    T0, audit, chat, chat_state, no_players, offline, online, players, sample, sample_with, target,
    watch,
};

/// Every store contract, in order, on one fresh store.
pub(crate) async fn store_contract(store: &dyn SessionStore) {
    chat_contract(store).await;
    watch_contract(store).await;
    history_contract(store, &HistoryConfig::default()).await;
    audit_contract(store).await;
}

/// [`mcstat_core::ports::ChatStore`]: absent until stored, replaced by `put_chat`,
/// per chat.
pub(crate) async fn chat_contract(store: &dyn SessionStore) {
    let a = chat(Platform::Telegram, "-1001234567890");
    let b = chat(Platform::Discord, "112233445566778899");
    let same_id_other_platform = chat(Platform::Discord, "-1001234567890");
    store.ping().await.expect("ping");
    assert_eq!(store.chat(&a).await.expect("chat"), None);

    let first = chat_state(
        "play.example.net",
        &["play.example.net", "bedrock:[2001:db8::1]:19133"],
        None,
    );
    store.put_chat(&a, &first).await.expect("put_chat");
    assert_eq!(store.chat(&a).await.expect("chat"), Some(first));
    assert_eq!(store.chat(&b).await.expect("chat"), None);
    assert_eq!(
        store.chat(&same_id_other_platform).await.expect("chat"),
        None
    );

    let second = chat_state(
        "mc.example.org:25566",
        &["mc.example.org:25566"],
        Some("de"),
    );
    store.put_chat(&a, &second).await.expect("put_chat");
    assert_eq!(store.chat(&a).await.expect("chat"), Some(second.clone()));

    let empty = mcstat_core::ChatState::default();
    store.put_chat(&b, &empty).await.expect("put_chat");
    assert_eq!(store.chat(&b).await.expect("chat"), Some(empty));
    assert_eq!(store.chat(&a).await.expect("chat"), Some(second));
}

/// [`mcstat_core::ports::WatchStore`]: one watch per (chat, target), replace returns
/// `false`, ordering by target key (then chat).
pub(crate) async fn watch_contract(store: &dyn SessionStore) {
    let one = chat(Platform::Telegram, "1");
    let two = chat(Platform::Telegram, "2");
    assert!(store.watches_of(&one).await.expect("watches_of").is_empty());
    assert!(store.all_watches().await.expect("all").is_empty());

    // Target keys: "bedrock:b.example:19132" < "java:a.example:25565" < "java:b.example".
    let w_b = watch(&one, "b.example", &[]);
    let w_a = watch(&one, "a.example:25565", &["Notch"]);
    let w_bed = watch(&two, "bedrock:b.example", &[]);
    let w_a2 = watch(&two, "a.example:25565", &[]);
    assert!(store.add_watch(&w_b).await.expect("add"), "new watch");
    assert!(store.add_watch(&w_a).await.expect("add"), "new watch");
    assert!(store.add_watch(&w_a2).await.expect("add"), "new watch");
    assert!(store.add_watch(&w_bed).await.expect("add"), "new watch");

    let w_b_replaced = watch(&one, "b.example", &["Alex", "Steve"]);
    assert!(
        !store.add_watch(&w_b_replaced).await.expect("add"),
        "an existing (chat, target) pair is replaced, not new"
    );

    assert_eq!(
        store.watches_of(&one).await.expect("watches_of"),
        vec![w_a.clone(), w_b_replaced.clone()]
    );
    assert_eq!(
        store.watches_of(&two).await.expect("watches_of"),
        vec![w_bed.clone(), w_a2.clone()]
    );
    assert_eq!(
        store.all_watches().await.expect("all"),
        vec![
            w_bed.clone(),
            w_a.clone(),
            w_a2.clone(),
            w_b_replaced.clone()
        ]
    );

    assert!(
        store
            .remove_watch(&one, &target("b.example"))
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_watch(&one, &target("b.example"))
            .await
            .expect("remove"),
        "removing twice"
    );
    assert!(
        !store
            .remove_watch(&one, &target("b.example:25565"))
            .await
            .expect("remove"),
        "b.example and b.example:25565 are different keys (SRV may apply to the first)"
    );
    assert!(
        !store
            .remove_watch(&two, &target("nowhere.example"))
            .await
            .expect("remove")
    );
    assert_eq!(
        store.watches_of(&one).await.expect("watches_of"),
        vec![w_a.clone()]
    );

    assert!(store.remove_watch(&one, &w_a.target).await.expect("remove"));
    assert!(store.watches_of(&one).await.expect("watches_of").is_empty());
    assert_eq!(
        store.all_watches().await.expect("all"),
        vec![w_bed.clone(), w_a2.clone()]
    );
    // A chat that lost all its watches can watch again.
    assert!(store.add_watch(&w_b).await.expect("add"));
    assert_eq!(
        store.all_watches().await.expect("all"),
        vec![w_bed, w_a2, w_b]
    );
}

/// The target [`history_contract`] writes its longest series to.
pub(crate) const HISTORY_TARGET: &str = "round.history.example";

/// A deterministic series of `n` samples of `target` after `start`: steps from 30 s
/// (several samples per 5-minute bucket) to 3 h (gaps past the gap cap), answers
/// with and without player counts, runs of failures of every cause. 400 samples
/// span about a week: many raw chunks, several 5-minute chunks, sealed ones among
/// them.
pub(crate) fn series(target: &str, start: u64, n: u64) -> Vec<HistorySample> {
    const CAUSES: [DownCause; 5] = [
        DownCause::Timeout,
        DownCause::Refused,
        DownCause::NotFound,
        DownCause::InvalidAnswer,
        DownCause::Unknown,
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ n;
    let mut at = start;
    let mut down_left = 0_u64;
    let mut cause = DownCause::Timeout;
    let mut out = Vec::new();
    for _ in 0..n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = x >> 20;
        at += match r % 10 {
            0..=3 => 30_000,
            4..=6 => 60_000,
            7 => 90_000,
            8 => 600_000,
            _ if r.is_multiple_of(7) => 3 * 3_600_000,
            _ => 61_000,
        };
        if down_left == 0 && (r >> 4).is_multiple_of(9) {
            down_left = 1 + (r >> 8) % 4;
            cause = CAUSES[usize::try_from((r >> 12) % 5).expect("small")];
        }
        let online = down_left == 0;
        down_left = down_left.saturating_sub(1);
        let players = (!(r >> 16).is_multiple_of(11))
            .then_some(u32::try_from((r >> 20) % 60).expect("small"));
        let latency = Some(u32::try_from((r >> 26) % 400).expect("small"));
        out.push(sample_with(target, at, online, players, latency, cause));
    }
    out
}

/// Feed `samples` to `store` and `memory` in calls of `per_call` samples, each call
/// in reverse order (a store sorts a call's samples itself).
async fn feed(
    store: &dyn HistoryStore,
    memory: &MemoryHistory,
    samples: &[HistorySample],
    per_call: usize,
) {
    for call in samples.chunks(per_call) {
        let call: Vec<HistorySample> = call.iter().rev().cloned().collect();
        store.append_samples(&call).await.expect("append_samples");
        memory.append_samples(&call).await.expect("memory append");
    }
}

/// `store` holds for `target` exactly what `memory` holds: the head's bytes, every
/// chunk, and through [`HistoryReader`] the raw samples, the buckets of every tier,
/// uptime over the usual spans and the outages.
pub(crate) async fn assert_same_history(
    store: &dyn HistoryStore,
    memory: &MemoryHistory,
    target: &str,
    now: Timestamp,
) {
    let t = super::samples::target(target);
    assert_eq!(
        store.head(&t).await.expect("head"),
        memory.head(&t).await.expect("memory head"),
        "{target}: head"
    );
    for stream in Stream::ALL {
        assert_eq!(
            store.chunks(&t, stream, 0, u64::MAX).await.expect("chunks"),
            memory
                .chunks(&t, stream, 0, u64::MAX)
                .await
                .expect("memory chunks"),
            "{target}: {} chunks",
            stream.name()
        );
    }
    let (ours, theirs) = (HistoryReader::new(store), HistoryReader::new(memory));
    let all = (Timestamp(0), Timestamp(u64::MAX));
    assert_eq!(
        ours.samples(&t, all.0, all.1).await.expect("samples"),
        theirs.samples(&t, all.0, all.1).await.expect("samples"),
        "{target}: samples"
    );
    for tier in [Tier::Raw, Tier::Min5, Tier::Hour, Tier::Day] {
        assert_eq!(
            ours.rollups(&t, tier, all.0, all.1).await.expect("rollups"),
            theirs
                .rollups(&t, tier, all.0, all.1)
                .await
                .expect("rollups"),
            "{target}: {} rollups",
            tier.name()
        );
        for hours in [1, 24, 7 * 24, 30 * 24] {
            let span = Duration::from_secs(hours * 3600);
            assert_eq!(
                ours.uptime(&t, tier, span, now).await.expect("uptime"),
                theirs.uptime(&t, tier, span, now).await.expect("uptime"),
                "{target}: {} uptime over {hours} h",
                tier.name()
            );
        }
    }
    assert_eq!(
        ours.outages(&t, all.0, now, 1, usize::MAX)
            .await
            .expect("outages"),
        theirs
            .outages(&t, all.0, now, 1, usize::MAX)
            .await
            .expect("outages"),
        "{target}: outages"
    );
}

/// [`HistoryStore`] on a store that keeps history as `config` says and holds none
/// for the targets `*.history.example` (times from [`h0`]): raw samples round
/// trip with their cause, every tier's buckets, uptime and outages equal those of a
/// [`MemoryHistory`] fed the same calls, samples not newer than a target's newest are
/// dropped, one call may carry many targets, outages are kept as core says.
/// Where the history contract's samples begin: the start of today (UTC), so that a
/// store that deletes expired chunks by itself (Redis' key expiry, against the wall
/// clock) keeps all of them for the whole test: the series run a few days into the
/// future, inside every tier's retention.
pub(crate) fn h0() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    now - now % 86_400_000
}

pub(crate) async fn history_contract(store: &dyn HistoryStore, config: &HistoryConfig) {
    history_round_trip(store, config).await;
    history_drops_duplicates_and_older(store, config).await;
    history_many_targets_in_one_call(store, config).await;
    history_outages(store, config).await;
}

/// Raw samples round trip (with their cause); everything equals [`MemoryHistory`].
pub(crate) async fn history_round_trip(store: &dyn HistoryStore, config: &HistoryConfig) {
    let t = target(HISTORY_TARGET);
    let reader = HistoryReader::new(store);
    assert_eq!(store.head(&t).await.expect("head"), None);
    assert!(
        reader
            .samples(&t, Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples")
            .is_empty()
    );
    let memory = MemoryHistory::new(config.clone());
    let samples = series(HISTORY_TARGET, h0(), 400);
    assert!(
        samples.iter().any(|s| s.cause == Some(DownCause::Refused))
            && samples.iter().any(|s| s.online && s.players.is_none()),
        "the series has every kind of sample"
    );
    feed(store, &memory, &samples, 37).await;

    // The whole series is inside the raw window of its newest sample: every sample
    // comes back as it went in, cause included.
    let last = samples.last().expect("samples").at;
    assert!(last.0 - samples[0].at.0 < 9 * 86_400_000);
    let back = reader
        .samples(&t, Timestamp(0), Timestamp(u64::MAX))
        .await
        .expect("samples");
    assert_eq!(back, samples);
    // since inclusive, until exclusive.
    let (a, b) = (samples[10].at, samples[20].at);
    assert_eq!(
        reader.samples(&t, a, b).await.expect("samples"),
        samples[10..20].to_vec()
    );
    assert!(reader.samples(&t, b, a).await.expect("samples").is_empty());
    assert_same_history(
        store,
        &memory,
        HISTORY_TARGET,
        Timestamp(last.0 + 3_600_000),
    )
    .await;
    // Other targets are untouched.
    assert_eq!(
        store
            .head(&target("other.history.example"))
            .await
            .expect("head"),
        None
    );
}

/// A sample not newer than the target's newest is dropped: duplicates (even with
/// other values) and late ones change nothing.
pub(crate) async fn history_drops_duplicates_and_older(
    store: &dyn HistoryStore,
    config: &HistoryConfig,
) {
    let name = "dup.history.example";
    let t = target(name);
    let memory = MemoryHistory::new(config.clone());
    let samples = series(name, h0(), 60);
    feed(store, &memory, &samples, 60).await;
    let head = store.head(&t).await.expect("head");
    let chunks = store
        .chunks(&t, Stream::Raw, 0, u64::MAX)
        .await
        .expect("chunks");

    let last = samples.last().expect("samples");
    let mut same_time = last.clone();
    same_time.online = !same_time.online;
    same_time.players = None;
    let mut late = samples[30].clone();
    late.at = Timestamp(late.at.0 + 1);
    let mut first_again = samples[0].clone();
    first_again.latency_ms = Some(1);
    let stale = [same_time, late, first_again, last.clone()];
    store.append_samples(&stale).await.expect("append");
    memory.append_samples(&stale).await.expect("memory append");
    for s in &stale {
        store
            .append_samples(std::slice::from_ref(s))
            .await
            .expect("append one");
    }
    assert_eq!(store.head(&t).await.expect("head"), head, "head unchanged");
    assert_eq!(
        store
            .chunks(&t, Stream::Raw, 0, u64::MAX)
            .await
            .expect("chunks"),
        chunks,
        "raw chunks unchanged"
    );
    assert_eq!(
        HistoryReader::new(store)
            .samples(&t, Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples"),
        samples
    );
    // In one call with a newer sample, only the newer one is taken.
    let newer = sample(name, last.at.0 + 45_000, true);
    let mixed = [samples[5].clone(), newer.clone(), last.clone()];
    store.append_samples(&mixed).await.expect("append");
    memory.append_samples(&mixed).await.expect("memory append");
    let mut expected = samples.clone();
    expected.push(newer.clone());
    assert_eq!(
        HistoryReader::new(store)
            .samples(&t, Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples"),
        expected
    );
    assert_same_history(store, &memory, name, Timestamp(newer.at.0 + 60_000)).await;
}

/// One call with the samples of many targets, interleaved: each target gets its own.
pub(crate) async fn history_many_targets_in_one_call(
    store: &dyn HistoryStore,
    config: &HistoryConfig,
) {
    let names: Vec<String> = (0..25).map(|i| format!("m{i}.history.example")).collect();
    let per_target: Vec<Vec<HistorySample>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| series(n, h0() + i as u64 * 7_000, 40 + i as u64))
        .collect();
    let mut all: Vec<HistorySample> = Vec::new();
    for k in 0..per_target.iter().map(Vec::len).max().unwrap_or(0) {
        for samples in per_target.iter().rev() {
            if let Some(s) = samples.get(k) {
                all.push(s.clone());
            }
        }
    }
    // A bedrock and a java target with the same host are different series.
    all.push(sample("bedrock:m0.history.example", h0() + 5, false));
    let memory = MemoryHistory::new(config.clone());
    store.append_samples(&all).await.expect("append_samples");
    memory.append_samples(&all).await.expect("memory append");
    let reader = HistoryReader::new(store);
    for (name, samples) in names.iter().zip(&per_target) {
        assert_eq!(
            reader
                .samples(&target(name), Timestamp(0), Timestamp(u64::MAX))
                .await
                .expect("samples"),
            *samples,
            "{name}"
        );
        let now = Timestamp(samples.last().expect("samples").at.0 + 60_000);
        assert_same_history(store, &memory, name, now).await;
    }
    assert_eq!(
        reader
            .samples(
                &target("bedrock:m0.history.example"),
                Timestamp(0),
                Timestamp(u64::MAX)
            )
            .await
            .expect("samples"),
        vec![sample("bedrock:m0.history.example", h0() + 5, false)]
    );
}

/// Outages: a run of at least `outage_after` failures is kept once it ends (with
/// the first failure's cause); the open run comes from the head; shorter runs are
/// not outages.
pub(crate) async fn history_outages(store: &dyn HistoryStore, config: &HistoryConfig) {
    let name = "out.history.example";
    let t = target(name);
    let at = |i: u64| h0() + i * 60_000;
    let pattern: [(bool, DownCause); 10] = [
        (true, DownCause::Unknown),
        (false, DownCause::Timeout),
        (false, DownCause::Refused),
        (false, DownCause::Timeout),
        (true, DownCause::Unknown),
        (false, DownCause::Refused),
        (true, DownCause::Unknown),
        (true, DownCause::Unknown),
        (false, DownCause::NotFound),
        (false, DownCause::Timeout),
    ];
    let samples: Vec<HistorySample> = pattern
        .iter()
        .enumerate()
        .map(|(i, (online, cause))| {
            sample_with(name, at(i as u64), *online, Some(3), Some(20), *cause)
        })
        .collect();
    let memory = MemoryHistory::new(config.clone());
    feed(store, &memory, &samples, 3).await;
    let now = Timestamp(at(10));
    let outages = HistoryReader::new(store)
        .outages(&t, Timestamp(0), now, 1, 10)
        .await
        .expect("outages");
    let closed = OutageEvent {
        start: Timestamp(at(1)),
        end: Some(Timestamp(at(4))),
        failed: 3,
        cause: DownCause::Timeout,
    };
    let open = OutageEvent {
        start: Timestamp(at(8)),
        end: None,
        failed: 2,
        cause: DownCause::NotFound,
    };
    if config.outage_after.get() <= 2 {
        assert_eq!(
            outages,
            vec![open, closed],
            "newest first, the open one included"
        );
    }
    assert_eq!(
        HistoryReader::new(store)
            .outages(&t, Timestamp(0), now, 3, 10)
            .await
            .expect("outages"),
        outages
            .iter()
            .filter(|o| o.failed >= 3)
            .copied()
            .collect::<Vec<_>>()
    );
    assert_same_history(store, &memory, name, now).await;
}

/// Prune on a store (keeping history as `config` says) that holds no history but
/// this contract's: `prune(now)` deletes exactly the chunks with
/// [`HistoryConfig::expires_at`] `<= now` (returning how many) and the heads of
/// series past the longest retention without chunks, as [`MemoryHistory`] does; a
/// pruned target takes samples again.
pub(crate) async fn history_prune_contract(store: &dyn HistoryStore, config: &HistoryConfig) {
    const P0: u64 = T0 - 400 * 86_400_000;
    let names = ["p1.history.example", "p2.history.example"];
    let memory = MemoryHistory::new(config.clone());
    for (i, name) in names.iter().enumerate() {
        let samples = series(name, P0 + i as u64 * 86_400_000, 400);
        feed(store, &memory, &samples, 100).await;
    }
    let day = 86_400_000;
    let mut total = 0;
    for now in [
        P0,
        P0 + 2 * day,
        P0 + 4 * day,
        P0 + 10 * day,
        P0 + 20 * day,
        P0 + 40 * day,
    ]
    .into_iter()
    .chain([100, 200, 400, 420, 1000].map(|d| P0 + d * day))
    {
        let now = Timestamp(now);
        let mut expired = 0;
        let mut kept = Vec::new();
        for name in names {
            for stream in Stream::ALL {
                for (index, bytes) in store
                    .chunks(&target(name), stream, 0, u64::MAX)
                    .await
                    .expect("chunks")
                {
                    if config.expires_at(ChunkKey { stream, index }) <= now {
                        expired += 1;
                    } else {
                        kept.push((name, stream, index, bytes));
                    }
                }
            }
        }
        let deleted = store.prune(now).await.expect("prune");
        assert_eq!(deleted, expired, "prune at {now:?}");
        assert_eq!(
            memory.prune(now).await.expect("memory prune"),
            deleted,
            "as MemoryHistory at {now:?}"
        );
        total += deleted;
        let mut left = Vec::new();
        for name in names {
            for stream in Stream::ALL {
                for (index, bytes) in store
                    .chunks(&target(name), stream, 0, u64::MAX)
                    .await
                    .expect("chunks")
                {
                    left.push((name, stream, index, bytes));
                }
            }
            assert_same_history(store, &memory, name, now).await;
        }
        assert_eq!(left, kept, "exactly the expired chunks are gone at {now:?}");
        assert_eq!(store.prune(now).await.expect("prune again"), 0);
    }
    assert!(total >= 10, "the series had many chunks to prune: {total}");
    for name in names {
        assert_eq!(
            store.head(&target(name)).await.expect("head"),
            None,
            "a series past every retention is forgotten"
        );
    }
    // A forgotten target takes samples again, even old ones.
    let again = sample(names[0], P0 + 5_000, true);
    store
        .append_samples(std::slice::from_ref(&again))
        .await
        .expect("append");
    assert_eq!(
        HistoryReader::new(store)
            .samples(&target(names[0]), Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples"),
        vec![again]
    );
}

/// [`mcstat_core::ports::AuditLog`]: newest first, per scope, bounded by `limit`.
pub(crate) async fn audit_contract(store: &dyn SessionStore) {
    let guild = chat(Platform::Discord, "guild:424242");
    let elsewhere = chat(Platform::Telegram, "77");
    assert!(
        store
            .audit_entries(&guild, 10)
            .await
            .expect("entries")
            .is_empty()
    );
    let e1 = audit(&guild, "watch add a.example", T0);
    let e2 = audit(&guild, "watch add b.example", T0 + 1);
    let e3 = audit(&guild, "language de", T0 + 1);
    let e_old = audit(&guild, "watch remove a.example", T0 - 5);
    let other = audit(&elsewhere, "language fr", T0 + 2);
    for e in [&e1, &e2, &other, &e3, &e_old] {
        store.append_audit(e).await.expect("append");
    }
    assert_eq!(
        store.audit_entries(&guild, 10).await.expect("entries"),
        vec![e3.clone(), e2.clone(), e1.clone(), e_old],
        "newest first; equal times: the later append first"
    );
    assert_eq!(
        store.audit_entries(&guild, 2).await.expect("entries"),
        vec![e3, e2]
    );
    assert!(
        store
            .audit_entries(&guild, 0)
            .await
            .expect("entries")
            .is_empty()
    );
    assert_eq!(
        store
            .audit_entries(&elsewhere, usize::MAX)
            .await
            .expect("entries"),
        vec![other]
    );
}

/// The [`StatusCache`] contract on a fresh cache. `pass(d)` must let `d` of the
/// cache's time go by: a real sleep for Redis, advancing a manual clock for an
/// in-memory cache.
pub(crate) async fn cache_contract(cache: &dyn StatusCache, pass: impl AsyncFn(Duration)) {
    const LONG: Duration = Duration::from_secs(60);
    // Long enough that a loaded machine reads the entry back before it expires.
    const SHORT: Duration = Duration::from_secs(1);

    assert_eq!(cache.get("java:a.example").await.expect("get"), None);

    let up = online("a.example");
    cache.put("java:a.example", &up, LONG).await.expect("put");
    assert_eq!(cache.get("java:a.example").await.expect("get"), Some(up));
    assert_eq!(cache.get("java:b.example").await.expect("get"), None);

    let down = offline("a.example");
    cache.put("java:a.example", &down, LONG).await.expect("put");
    assert_eq!(
        cache.get("java:a.example").await.expect("get"),
        Some(down.clone()),
        "put replaces"
    );

    let list = players("a.example");
    cache
        .put("players:java:a.example", &list, LONG)
        .await
        .expect("put");
    cache
        .put("players:java:b.example", &no_players(), LONG)
        .await
        .expect("put");
    assert_eq!(
        cache.get("players:java:a.example").await.expect("get"),
        Some(list.clone())
    );
    assert_eq!(
        cache.get("players:java:b.example").await.expect("get"),
        Some(no_players())
    );

    // Expiry.
    let short = online("short.example");
    cache
        .put("java:short.example", &short, SHORT)
        .await
        .expect("put");
    assert_eq!(
        cache.get("java:short.example").await.expect("get"),
        Some(short)
    );
    pass(SHORT + SHORT / 2).await;
    assert_eq!(
        cache.get("java:short.example").await.expect("get"),
        None,
        "an entry is not returned after its TTL"
    );
    assert_eq!(
        cache.get("java:a.example").await.expect("get"),
        Some(down),
        "a longer TTL is still valid"
    );
    assert_eq!(
        cache.get("players:java:a.example").await.expect("get"),
        Some(list)
    );
}

/// [`mcstat_core::ports::LeasePort`]: exclusive, renewable by its holder, released
/// only by its holder, ended by its TTL. `pass(d)` lets `d` go by for the backend
/// (a manual clock advance, or a real sleep for Redis); `short` is a TTL the backend
/// can see expire (real time for Redis: long enough for a loaded machine).
pub(crate) async fn lease_contract(
    leases: &dyn LeasePort,
    short: Duration,
    pass: impl AsyncFn(Duration),
) {
    const LONG: Duration = Duration::from_secs(60);
    assert!(leases.try_acquire("k", "a", LONG).await.expect("acquire"));
    assert!(
        !leases.try_acquire("k", "b", LONG).await.expect("acquire"),
        "exclusive"
    );
    assert!(
        leases.try_acquire("k", "a", LONG).await.expect("renew"),
        "the holder renews"
    );
    assert!(
        leases
            .try_acquire("other", "b", LONG)
            .await
            .expect("acquire"),
        "keys are independent"
    );

    assert!(
        !leases.release("k", "b").await.expect("release"),
        "only the holder releases"
    );
    assert!(!leases.try_acquire("k", "b", LONG).await.expect("acquire"));
    assert!(leases.release("k", "a").await.expect("release"));
    assert!(
        !leases.release("k", "a").await.expect("release"),
        "released once"
    );
    assert!(
        leases.try_acquire("k", "b", LONG).await.expect("acquire"),
        "free after release"
    );
    assert!(!leases.release("never", "a").await.expect("release"));

    // Expiry.
    assert!(leases.try_acquire("e", "a", short).await.expect("acquire"));
    pass(short + short / 2).await;
    assert!(
        leases.try_acquire("e", "b", LONG).await.expect("acquire"),
        "an expired lease is free"
    );
    assert!(
        !leases.release("e", "a").await.expect("release"),
        "the old holder no longer holds it"
    );

    // A renewal extends the lease to now + its TTL.
    assert!(leases.try_acquire("r", "a", short).await.expect("acquire"));
    pass(short / 2).await;
    assert!(
        leases
            .try_acquire("r", "a", short * 4)
            .await
            .expect("renew")
    );
    pass(short).await;
    assert!(
        !leases.try_acquire("r", "b", LONG).await.expect("acquire"),
        "renewed past its first expiry"
    );

    // Many racing holders: exactly one wins.
    let holders: Vec<String> = (0..10).map(|i| format!("h{i}")).collect();
    let results =
        futures_util::future::join_all(holders.iter().map(|h| leases.try_acquire("race", h, LONG)))
            .await;
    let won = results
        .into_iter()
        .map(|r| r.expect("acquire"))
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1);
}
