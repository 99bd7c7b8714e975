//! The contract suites: one for every store (`&dyn SessionStore`), one for every cache
//! (`&dyn StatusCache`). Each backend's test calls them on a fresh, empty instance.

use std::time::Duration;

use mcstat_core::Platform;
use mcstat_core::Timestamp;
use mcstat_core::ports::{LeasePort, SessionStore, StatusCache};

use super::samples::{
    T0, audit, chat, chat_state, no_players, offline, online, players, sample, target, watch,
};

/// Every store contract, in order, on one fresh store.
pub(crate) async fn store_contract(store: &dyn SessionStore) {
    chat_contract(store).await;
    watch_contract(store).await;
    history_contract(store).await;
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

/// [`mcstat_core::ports::HistoryStore`]: time order, `since <= at < until`, per
/// target, one sample per (target, ms), `prune` deletes exactly the older ones.
pub(crate) async fn history_contract(store: &dyn SessionStore) {
    let t = target("history.example");
    let other = "bedrock:history.example";
    assert!(
        store
            .samples(&t, Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples")
            .is_empty()
    );
    // Out of order on purpose.
    let s3 = sample("history.example", T0 + 3000, true);
    let s1 = sample("history.example", T0 + 1000, false);
    let s2 = sample("history.example", T0 + 2000, true);
    let o1 = sample(other, T0 + 1500, true);
    let o2 = sample(other, T0 + 2500, false);
    for s in [&s3, &o2, &s1, &s2, &o1] {
        store.append_sample(s).await.expect("append");
    }

    assert_eq!(
        all(store, &t).await,
        vec![s1.clone(), s2.clone(), s3.clone()]
    );
    assert_eq!(
        all(store, &target(other)).await,
        vec![o1.clone(), o2.clone()]
    );
    assert_eq!(
        store
            .samples(&t, Timestamp(T0 + 1000), Timestamp(T0 + 3000))
            .await
            .expect("samples"),
        vec![s1.clone(), s2.clone()],
        "since is inclusive, until exclusive"
    );
    assert_eq!(
        store
            .samples(&t, Timestamp(T0 + 1001), Timestamp(T0 + 3001))
            .await
            .expect("samples"),
        vec![s2.clone(), s3.clone()]
    );
    assert!(
        store
            .samples(&t, Timestamp(T0 + 3000), Timestamp(T0 + 1000))
            .await
            .expect("samples")
            .is_empty(),
        "an empty range"
    );

    // Same target and time: the later sample replaces the earlier.
    let s2_again = sample("history.example", T0 + 2000, false);
    store.append_sample(&s2_again).await.expect("append");
    assert_eq!(
        all(store, &t).await,
        vec![s1.clone(), s2_again.clone(), s3.clone()]
    );

    // Deletes s1 (T0+1000) and o1 (T0+1500); keeps everything at or after T0+2000.
    assert_eq!(store.prune(Timestamp(T0 + 2000)).await.expect("prune"), 2);
    assert_eq!(all(store, &t).await, vec![s2_again.clone(), s3.clone()]);
    assert_eq!(all(store, &target(other)).await, vec![o2.clone()]);
    assert_eq!(store.prune(Timestamp(T0 + 2000)).await.expect("prune"), 0);
    assert_eq!(store.prune(Timestamp(T0 + 2501)).await.expect("prune"), 2);
    assert_eq!(all(store, &t).await, vec![s3.clone()]);
    assert!(all(store, &target(other)).await.is_empty());
    // A pruned target takes samples again.
    store.append_sample(&o1).await.expect("append");
    assert_eq!(all(store, &target(other)).await, vec![o1]);
}

async fn all(store: &dyn SessionStore, t: &mcstat_core::Target) -> Vec<mcstat_core::HistorySample> {
    store
        .samples(t, Timestamp(0), Timestamp(u64::MAX))
        .await
        .expect("samples")
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
