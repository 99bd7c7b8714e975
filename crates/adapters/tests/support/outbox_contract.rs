//! The outbox contract ([`OutboxStore`]): every clause of the port's docs, checked on a
//! fresh, empty store. Times are the `now` arguments (a fake clock moving forward
//! from [`T0`]); a store must decide everything by them, never by its own clock.
//!
//! Each section uses ids of its own and leaves nothing pending behind, so the
//! sections also check that `complete` and `drop_chat` leave the counts at zero.

use std::collections::BTreeSet;
use std::time::Duration;

use mcstat_core::outbox::{OutboxEntry, OutboxStats, Priority, QueueStats};
use mcstat_core::ports::{Notification, NotificationEvent, OutboxStore};
use mcstat_core::{ChatRef, Platform, Timestamp};

use super::samples::{T0, chat, target};

/// How long pushed ids are remembered in most sections (the default's 24 h).
pub(crate) const REMEMBER: Duration = Duration::from_secs(24 * 3600);
/// How long a claim lasts.
pub(crate) const TTL: Duration = Duration::from_secs(30);

const HOUR: u64 = 3600 * 1000;

/// A pending-to-be entry: `id` for `chat`, created at `created`, due at `not_before`.
pub(crate) fn entry(
    chat: &ChatRef,
    id: &str,
    priority: Priority,
    created: u64,
    not_before: u64,
) -> OutboxEntry {
    OutboxEntry {
        id: id.to_owned(),
        chat: chat.clone(),
        priority,
        created: Timestamp(created),
        not_before: Timestamp(not_before),
        attempts: 0,
        notification: Notification {
            key: id.to_owned(),
            chat: chat.clone(),
            target: target("play.example.net"),
            event: NotificationEvent::WentDown {
                up_for: Some(Duration::from_secs(3 * 3600 + 7)),
            },
            at: Timestamp(created),
        },
    }
}

fn ids(entries: &[OutboxEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

async fn push(store: &dyn OutboxStore, entries: &[OutboxEntry], now: u64) -> usize {
    store
        .push(entries, Timestamp(now), REMEMBER)
        .await
        .expect("push")
}

async fn claim(
    store: &dyn OutboxStore,
    platform: Platform,
    now: u64,
    max: usize,
) -> Vec<OutboxEntry> {
    store
        .claim(platform, Timestamp(now), max, TTL)
        .await
        .expect("claim")
}

async fn complete(store: &dyn OutboxStore, platform: Platform, ids: &[&str]) {
    store
        .complete(platform, &strings(ids))
        .await
        .expect("complete");
}

async fn stats(store: &dyn OutboxStore, platform: Platform) -> OutboxStats {
    store.stats(platform).await.expect("stats")
}

async fn assert_empty(store: &dyn OutboxStore, what: &str) {
    for platform in [Platform::Telegram, Platform::Discord, Platform::Api] {
        assert_eq!(
            stats(store, platform).await,
            OutboxStats::default(),
            "{what}: nothing pending on {platform}"
        );
    }
}

/// Every clause of [`OutboxStore`]'s contract, in order, on one fresh store.
pub(crate) async fn outbox_contract(store: &dyn OutboxStore) {
    assert_empty(store, "a fresh store").await;
    assert!(
        claim(store, Platform::Telegram, T0, 10).await.is_empty(),
        "nothing to claim in a fresh store"
    );
    push_contract(store, T0).await;
    remember_contract(store, T0 + HOUR).await;
    claim_contract(store, T0 + 2 * HOUR).await;
    concurrent_claim_contract(store, T0 + 3 * HOUR).await;
    complete_contract(store, T0 + 4 * HOUR).await;
    reschedule_contract(store, T0 + 5 * HOUR).await;
    drop_chat_contract(store, T0 + 6 * HOUR).await;
    claim_chat_contract(store, T0 + 6 * HOUR + HOUR / 2).await;
    stats_contract(store, T0 + 7 * HOUR).await;
    platform_contract(store, T0 + 8 * HOUR).await;
    assert_empty(store, "after the contract").await;
}

/// `push` adds each id once (also within one batch), counts what it added, and keeps
/// the id remembered after `complete`.
async fn push_contract(store: &dyn OutboxStore, t: u64) {
    let a = chat(Platform::Telegram, "-1001234567890");
    let one = entry(&a, "push:1", Priority::Answer, t, t);
    let two = entry(&a, "push:2", Priority::Notification, t, t);
    let three = entry(&a, "push:3", Priority::Report, t, t);
    let mut changed = one.clone();
    changed.priority = Priority::Report;
    changed.not_before = Timestamp(t + 5);
    changed.notification.event = NotificationEvent::PlayerJoined("Notch".into());
    assert_eq!(push(store, &[], t).await, 0, "an empty push adds nothing");
    assert_eq!(
        push(store, &[one.clone(), two.clone(), changed.clone()], t).await,
        2,
        "an id twice in one batch is added once (the first)"
    );
    assert_eq!(
        push(store, std::slice::from_ref(&one), t + 1).await,
        0,
        "already pending"
    );
    assert_eq!(
        push(store, &[changed, three.clone()], t + 2).await,
        1,
        "only the new id is added"
    );
    assert_eq!(stats(store, Platform::Telegram).await.pending(), 3);
    // The first push of an id wins: its fields are what is stored.
    let claimed = claim(store, Platform::Telegram, t + 2, 10).await;
    assert_eq!(claimed, vec![one.clone(), two.clone(), three.clone()]);

    complete(store, Platform::Telegram, &["push:1", "push:2", "push:3"]).await;
    assert_empty(store, "push: all completed").await;
    assert_eq!(
        push(store, &[one, two, three], t + 1000).await,
        0,
        "completed ids are still remembered"
    );
    assert_empty(store, "push: nothing re-added").await;
}

/// An id is remembered for `remember` from the push that added it, measured by the
/// `now` arguments; a pending id is never added twice, however long ago it was
/// pushed.
async fn remember_contract(store: &dyn OutboxStore, t: u64) {
    let a = chat(Platform::Telegram, "42");
    let remember = Duration::from_secs(60);
    let first = entry(&a, "remember:1", Priority::Notification, t, t);
    let added = store
        .push(std::slice::from_ref(&first), Timestamp(t), remember)
        .await
        .expect("push");
    assert_eq!(added, 1);
    complete(store, Platform::Telegram, &["remember:1"]).await;
    let again = store
        .push(
            std::slice::from_ref(&first),
            Timestamp(t + 59_999),
            remember,
        )
        .await
        .expect("push");
    assert_eq!(
        again, 0,
        "still remembered 1 ms before `remember` has passed"
    );

    let t2 = t + 60_000;
    let second = entry(&a, "remember:1", Priority::Answer, t2, t2);
    let again = store
        .push(std::slice::from_ref(&second), Timestamp(t2), remember)
        .await
        .expect("push");
    assert_eq!(again, 1, "forgotten once `remember` has passed");
    assert_eq!(
        stats(store, Platform::Telegram).await.of(Priority::Answer),
        QueueStats {
            pending: 1,
            oldest: Some(Timestamp(t2)),
        }
    );

    // Pending long after its remember window: still not added a second time.
    let t3 = t2 + 10 * 60_000;
    let third = entry(&a, "remember:1", Priority::Report, t3, t3);
    let again = store
        .push(std::slice::from_ref(&third), Timestamp(t3), remember)
        .await
        .expect("push");
    assert_eq!(again, 0, "a pending id is not added again");
    assert_eq!(stats(store, Platform::Telegram).await.pending(), 1);
    assert_eq!(
        claim(store, Platform::Telegram, t3, 10).await,
        vec![second],
        "the pending entry is unchanged"
    );
    complete(store, Platform::Telegram, &["remember:1"]).await;
    assert_empty(store, "remember").await;
}

/// `claim`: due entries only (a new entry is due at its `not_before`), the most
/// urgent priority first, the earliest due first within one, at most `max`; each
/// claimed entry is due again at `now + ttl` and not before.
async fn claim_contract(store: &dyn OutboxStore, c: u64) {
    let a = chat(Platform::Telegram, "-100777");
    let b = chat(Platform::Telegram, "555");
    // Ids sort against their due order within a priority, so an order by id shows.
    let answer_early = entry(&a, "claim:answer:z", Priority::Answer, c - 9000, c - 5000);
    let answer_late = entry(&b, "claim:answer:b", Priority::Answer, c - 9000, c - 2000);
    let notification = entry(
        &a,
        "claim:notification",
        Priority::Notification,
        c,
        c - 1000,
    );
    let report = entry(&b, "claim:report", Priority::Report, c - 9000, c - 9000);
    let not_yet = entry(&a, "claim:later", Priority::Notification, c, c + 10_000);
    let other_platform = entry(
        &chat(Platform::Discord, "-100777"),
        "claim:discord",
        Priority::Answer,
        c - 9000,
        c - 9000,
    );
    let all = [
        report.clone(),
        not_yet.clone(),
        answer_late.clone(),
        notification.clone(),
        other_platform.clone(),
        answer_early.clone(),
    ];
    assert_eq!(push(store, &all, c - 9000).await, 6);

    assert!(
        claim(store, Platform::Telegram, c, 0).await.is_empty(),
        "max 0 claims nothing"
    );
    assert_eq!(
        claim(store, Platform::Telegram, c, 1).await,
        vec![answer_early.clone()],
        "the most urgent priority first, then the earliest due (not the smallest id)"
    );
    assert_eq!(
        claim(store, Platform::Telegram, c + 1, 1).await,
        vec![answer_late.clone()],
        "a claimed entry is not claimed again"
    );
    assert_eq!(
        claim(store, Platform::Telegram, c + 2, 10).await,
        vec![notification.clone(), report.clone()],
        "priority before due time; an entry before its not_before is not due"
    );
    assert!(claim(store, Platform::Telegram, c + 2, 10).await.is_empty());
    assert!(
        claim(store, Platform::Telegram, c + 9_999, 10)
            .await
            .is_empty(),
        "not due before its not_before"
    );
    assert_eq!(
        claim(store, Platform::Telegram, c + 29_999, 10).await,
        vec![not_yet.clone()],
        "due at its not_before; the claimed ones are not due before now + ttl"
    );
    assert_eq!(
        claim(store, Platform::Telegram, c + 30_001, 10).await,
        vec![answer_early.clone(), answer_late.clone()],
        "given back at now + ttl of their claims (c + 30 000, c + 30 001)"
    );
    assert_eq!(
        claim(store, Platform::Telegram, c + 30_002, 10).await,
        vec![notification.clone(), report.clone()],
        "given back at c + 2 + ttl"
    );
    assert_eq!(
        claim(store, Platform::Discord, c, 10).await,
        vec![other_platform],
        "claims are per platform"
    );
    assert_eq!(
        stats(store, Platform::Telegram).await.pending(),
        5,
        "claimed entries are still pending"
    );
    complete(
        store,
        Platform::Telegram,
        &[
            "claim:answer:z",
            "claim:answer:b",
            "claim:notification",
            "claim:report",
            "claim:later",
        ],
    )
    .await;
    complete(store, Platform::Discord, &["claim:discord"]).await;
    assert_empty(store, "claim").await;

    // Many entries: `max` at a time, in due order.
    let many: Vec<OutboxEntry> = (0..150u64)
        .map(|i| {
            entry(
                &a,
                &format!("claim:many:{:03}", 149 - i),
                Priority::Notification,
                c,
                c + 40_000 + i,
            )
        })
        .collect();
    assert_eq!(push(store, &many, c + 40_000).await, 150);
    let now = c + 41_000;
    let first = claim(store, Platform::Telegram, now, 64).await;
    let second = claim(store, Platform::Telegram, now, 64).await;
    let third = claim(store, Platform::Telegram, now, 64).await;
    assert_eq!((first.len(), second.len(), third.len()), (64, 64, 22));
    let claimed: Vec<OutboxEntry> = first.into_iter().chain(second).chain(third).collect();
    assert_eq!(claimed, many, "in due order");
    let all_ids: Vec<String> = many.iter().map(|e| e.id.clone()).collect();
    store
        .complete(Platform::Telegram, &all_ids)
        .await
        .expect("complete");
    assert_empty(store, "claim: many").await;
}

/// Two claimers at the same time never get the same entry.
async fn concurrent_claim_contract(store: &dyn OutboxStore, t: u64) {
    let a = chat(Platform::Discord, "112233445566778899");
    let entries: Vec<OutboxEntry> = (0..40)
        .map(|i| entry(&a, &format!("race:{i:02}"), Priority::Notification, t, t))
        .collect();
    assert_eq!(push(store, &entries, t).await, 40);
    let (one, two) = tokio::join!(
        claim(store, Platform::Discord, t, 25),
        claim(store, Platform::Discord, t, 25)
    );
    assert_eq!(one.len() + two.len(), 40, "{} + {}", one.len(), two.len());
    let one: BTreeSet<&str> = ids(&one).into_iter().collect();
    let two: BTreeSet<&str> = ids(&two).into_iter().collect();
    assert!(one.is_disjoint(&two), "an entry was claimed twice");
    let all: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
    store
        .complete(Platform::Discord, &all)
        .await
        .expect("complete");
    assert_empty(store, "concurrent claims").await;
}

/// `complete` removes for good, ignores unknown ids, and works on its platform only.
async fn complete_contract(store: &dyn OutboxStore, t: u64) {
    let a = chat(Platform::Telegram, "-100");
    let d = chat(Platform::Discord, "-100");
    let one = entry(&a, "complete:1", Priority::Answer, t, t);
    let two = entry(&a, "complete:2", Priority::Answer, t, t);
    let discord = entry(&d, "complete:discord", Priority::Answer, t, t);
    assert_eq!(
        push(store, &[one, two.clone(), discord.clone()], t).await,
        3
    );
    complete(store, Platform::Telegram, &[]).await;
    complete(
        store,
        Platform::Telegram,
        &["complete:1", "complete:unknown", "complete:discord"],
    )
    .await;
    assert_eq!(
        stats(store, Platform::Telegram).await.of(Priority::Answer),
        QueueStats {
            pending: 1,
            oldest: Some(Timestamp(t)),
        }
    );
    assert_eq!(
        stats(store, Platform::Discord).await.pending(),
        1,
        "another platform's id is not touched"
    );
    assert_eq!(
        claim(store, Platform::Telegram, t + 10 * HOUR, 10).await,
        vec![two],
        "a completed entry is never claimed again"
    );
    complete(store, Platform::Telegram, &["complete:1", "complete:2"]).await;
    assert!(
        claim(store, Platform::Telegram, t + 20 * HOUR, 10)
            .await
            .is_empty()
    );
    assert_eq!(
        claim(store, Platform::Discord, t, 10).await,
        vec![discord],
        "still there"
    );
    complete(store, Platform::Discord, &["complete:discord"]).await;
    assert_empty(store, "complete").await;
}

/// `reschedule` stores `attempts` and `not_before` and makes the entry due at its
/// `not_before` (earlier or later than its claim ends), only while it is pending.
async fn reschedule_contract(store: &dyn OutboxStore, s: u64) {
    let a = chat(Platform::Telegram, "-1009");
    let gone = chat(Platform::Telegram, "-1010");
    let e = entry(&a, "reschedule:1", Priority::Notification, s - 100, s);
    let soon = entry(&a, "reschedule:soon", Priority::Report, s - 50, s);
    let completed = entry(&a, "reschedule:completed", Priority::Answer, s, s - 2);
    let dropped = entry(&gone, "reschedule:dropped", Priority::Answer, s, s - 1);
    assert_eq!(
        push(
            store,
            &[e.clone(), soon.clone(), completed.clone(), dropped.clone()],
            s
        )
        .await,
        4
    );
    assert_eq!(
        ids(&claim(store, Platform::Telegram, s, 10).await),
        [
            "reschedule:completed",
            "reschedule:dropped",
            "reschedule:1",
            "reschedule:soon"
        ]
    );

    let mut later = e.clone();
    later.attempts = 3;
    later.not_before = Timestamp(s + 45_000);
    let mut sooner = soon.clone();
    sooner.attempts = 1;
    sooner.not_before = Timestamp(s + 1000);
    complete(store, Platform::Telegram, &["reschedule:completed"]).await;
    assert_eq!(
        store.drop_chat(&gone).await.expect("drop_chat"),
        1,
        "dropped"
    );
    let mut completed_again = completed.clone();
    completed_again.attempts = 1;
    completed_again.not_before = Timestamp(s + 1000);
    let mut dropped_again = dropped.clone();
    dropped_again.attempts = 1;
    let never_pushed = entry(&a, "reschedule:unknown", Priority::Answer, s, s);
    store
        .reschedule(&[
            later.clone(),
            completed_again,
            sooner.clone(),
            dropped_again,
            never_pushed,
        ])
        .await
        .expect("reschedule");

    assert_eq!(
        stats(store, Platform::Telegram).await,
        OutboxStats {
            queues: [
                QueueStats::default(),
                QueueStats {
                    pending: 1,
                    oldest: Some(Timestamp(s - 100)),
                },
                QueueStats {
                    pending: 1,
                    oldest: Some(Timestamp(s - 50)),
                },
            ],
        },
        "completed, dropped and unknown entries are not brought back; created is kept"
    );
    assert!(
        claim(store, Platform::Telegram, s + 999, 10)
            .await
            .is_empty()
    );
    assert_eq!(
        claim(store, Platform::Telegram, s + 1000, 10).await,
        vec![sooner],
        "due at the new not_before, before its claim would have ended"
    );
    complete(store, Platform::Telegram, &["reschedule:soon"]).await;
    assert!(
        claim(store, Platform::Telegram, s + 44_999, 10)
            .await
            .is_empty(),
        "not due before the new not_before, although its claim ended"
    );
    assert_eq!(
        claim(store, Platform::Telegram, s + 45_000, 10).await,
        vec![later.clone()],
        "the new attempts and not_before are stored"
    );
    // A reschedule with the same values again changes nothing else.
    store
        .reschedule(std::slice::from_ref(&later))
        .await
        .expect("reschedule");
    assert_eq!(
        claim(store, Platform::Telegram, s + 45_000, 10).await,
        vec![later]
    );
    complete(store, Platform::Telegram, &["reschedule:1"]).await;
    store.reschedule(&[]).await.expect("empty reschedule");
    assert_empty(store, "reschedule").await;
}

/// `drop_chat` removes the pending entries of exactly that chat, counts them, and
/// their ids stay remembered.
async fn drop_chat_contract(store: &dyn OutboxStore, t: u64) {
    let a = chat(Platform::Telegram, "7");
    let a_prefix = chat(Platform::Telegram, "70");
    let b = chat(Platform::Telegram, "8");
    let a_discord = chat(Platform::Discord, "7");
    let a1 = entry(&a, "drop:a1", Priority::Answer, t, t);
    let a2 = entry(&a, "drop:a2", Priority::Notification, t, t + HOUR);
    let a3 = entry(&a, "drop:a3", Priority::Report, t, t);
    let a4 = entry(&a, "drop:a4", Priority::Notification, t, t);
    let b1 = entry(&b, "drop:b1", Priority::Notification, t, t);
    let p1 = entry(&a_prefix, "drop:p1", Priority::Notification, t, t + 1);
    let d1 = entry(&a_discord, "drop:d1", Priority::Notification, t, t);
    let all = [a1, a2, a3, a4, b1.clone(), p1.clone(), d1.clone()];
    assert_eq!(push(store, &all, t).await, 7);
    complete(store, Platform::Telegram, &["drop:a4"]).await;
    assert_eq!(
        ids(&claim(store, Platform::Telegram, t, 1).await),
        ["drop:a1"],
        "a claimed entry is dropped too"
    );

    assert_eq!(
        store.drop_chat(&a).await.expect("drop_chat"),
        3,
        "pending entries of the chat (not the completed one)"
    );
    assert_eq!(store.drop_chat(&a).await.expect("drop_chat"), 0, "again");
    assert_eq!(
        store
            .drop_chat(&chat(Platform::Api, "7"))
            .await
            .expect("drop_chat"),
        0,
        "a chat without entries"
    );
    assert_eq!(stats(store, Platform::Telegram).await.pending(), 2);
    assert_eq!(
        claim(store, Platform::Telegram, t + 2 * HOUR, 10).await,
        vec![b1, p1],
        "other chats keep theirs"
    );
    assert_eq!(
        claim(store, Platform::Discord, t, 10).await,
        vec![d1],
        "the same chat id on another platform keeps its entries"
    );
    assert_eq!(
        push(
            store,
            &[entry(&a, "drop:a2", Priority::Answer, t, t)],
            t + 1
        )
        .await,
        0,
        "a dropped id stays remembered"
    );
    complete(store, Platform::Telegram, &["drop:b1", "drop:p1"]).await;
    complete(store, Platform::Discord, &["drop:d1"]).await;
    assert_empty(store, "drop_chat").await;
}

/// `claim_chat` claims exactly one chat's due entries, most urgent first, then the
/// earliest due, up to `max`; they are claimed as by `claim` (not again before the
/// TTL, then again).
async fn claim_chat_contract(store: &dyn OutboxStore, t: u64) {
    let a = chat(Platform::Telegram, "9");
    let a_prefix = chat(Platform::Telegram, "90");
    let a_discord = chat(Platform::Discord, "9");
    let later = entry(&a, "cc:later", Priority::Notification, t, t + 20);
    let first = entry(&a, "cc:first", Priority::Notification, t, t + 10);
    let report = entry(&a, "cc:report", Priority::Report, t, t);
    let answer = entry(&a, "cc:answer", Priority::Answer, t, t + 30);
    let future = entry(&a, "cc:future", Priority::Notification, t, t + HOUR);
    let other = entry(&a_prefix, "cc:other", Priority::Answer, t, t);
    let discord = entry(&a_discord, "cc:discord", Priority::Answer, t, t);
    let all = [
        later.clone(),
        first.clone(),
        report.clone(),
        answer.clone(),
        future,
        other.clone(),
        discord.clone(),
    ];
    assert_eq!(push(store, &all, t).await, 7);
    let now = Timestamp(t + 100);
    let claimed = store.claim_chat(&a, now, 3, TTL).await.expect("claim_chat");
    assert_eq!(
        ids(&claimed),
        ["cc:answer", "cc:first", "cc:later"],
        "that chat's due entries, most urgent then earliest, up to max"
    );
    assert_eq!(claimed[1], first, "as pushed");
    assert_eq!(
        ids(&store
            .claim_chat(&a, now, 10, TTL)
            .await
            .expect("claim_chat")),
        ["cc:report"],
        "claimed ones are not claimed again; not-yet-due ones wait"
    );
    assert!(
        store
            .claim_chat(&a, now, 0, TTL)
            .await
            .expect("claim_chat")
            .is_empty()
    );
    assert_eq!(
        ids(&claim(store, Platform::Telegram, t + 100, 10).await),
        ["cc:other"],
        "`claim` does not see them either; other chats are untouched"
    );
    assert_eq!(
        ids(&claim(store, Platform::Discord, t + 100, 10).await),
        ["cc:discord"]
    );
    let ttl = u64::try_from(TTL.as_millis()).expect("ms");
    let again = store
        .claim_chat(&a, Timestamp(t + 100 + ttl), 10, TTL)
        .await
        .expect("claim_chat");
    assert_eq!(
        ids(&again),
        ["cc:answer", "cc:first", "cc:later", "cc:report"],
        "claimed again once the claim ran out"
    );
    complete(
        store,
        Platform::Telegram,
        &[
            "cc:answer",
            "cc:first",
            "cc:later",
            "cc:report",
            "cc:future",
            "cc:other",
        ],
    )
    .await;
    complete(store, Platform::Discord, &["cc:discord"]).await;
    assert_empty(store, "claim_chat").await;
}

/// `stats` counts pending entries (claimed or not) per priority and finds the oldest
/// `created` of each.
async fn stats_contract(store: &dyn OutboxStore, t: u64) {
    let a = chat(Platform::Telegram, "-1002");
    let b = chat(Platform::Telegram, "-1003");
    let entries = [
        entry(&a, "stats:answer:new", Priority::Answer, t - 100, t),
        entry(&b, "stats:answer:old", Priority::Answer, t - 500, t + HOUR),
        entry(&a, "stats:notification", Priority::Notification, t - 70, t),
        entry(
            &chat(Platform::Discord, "9"),
            "stats:discord",
            Priority::Report,
            t - 10,
            t,
        ),
    ];
    assert_eq!(push(store, &entries, t).await, 4);
    let expected = OutboxStats {
        queues: [
            QueueStats {
                pending: 2,
                oldest: Some(Timestamp(t - 500)),
            },
            QueueStats {
                pending: 1,
                oldest: Some(Timestamp(t - 70)),
            },
            QueueStats::default(),
        ],
    };
    assert_eq!(stats(store, Platform::Telegram).await, expected);
    assert_eq!(expected.pending(), 3);
    assert_eq!(
        stats(store, Platform::Discord).await.of(Priority::Report),
        QueueStats {
            pending: 1,
            oldest: Some(Timestamp(t - 10)),
        }
    );
    assert_eq!(claim(store, Platform::Telegram, t, 10).await.len(), 2);
    assert_eq!(
        stats(store, Platform::Telegram).await,
        expected,
        "claiming does not change the counts"
    );
    complete(store, Platform::Telegram, &["stats:answer:old"]).await;
    assert_eq!(
        stats(store, Platform::Telegram).await.of(Priority::Answer),
        QueueStats {
            pending: 1,
            oldest: Some(Timestamp(t - 100)),
        },
        "the oldest moves on"
    );
    complete(
        store,
        Platform::Telegram,
        &["stats:answer:new", "stats:notification"],
    )
    .await;
    complete(store, Platform::Discord, &["stats:discord"]).await;
    assert_empty(store, "stats").await;
}

/// Platforms are separate queues: the same id on two platforms is two entries.
async fn platform_contract(store: &dyn OutboxStore, t: u64) {
    let tg = entry(
        &chat(Platform::Telegram, "1"),
        "shared:key",
        Priority::Notification,
        t,
        t,
    );
    let dc = entry(
        &chat(Platform::Discord, "1"),
        "shared:key",
        Priority::Notification,
        t,
        t,
    );
    let api = entry(
        &chat(Platform::Api, "client-1"),
        "shared:key",
        Priority::Answer,
        t,
        t,
    );
    assert_eq!(push(store, &[tg.clone(), dc.clone()], t).await, 2);
    assert_eq!(
        claim(store, Platform::Telegram, t, 10).await,
        vec![tg.clone()]
    );
    complete(store, Platform::Telegram, &["shared:key"]).await;
    assert_eq!(push(store, &[tg], t + 1).await, 0);
    assert_eq!(
        push(store, std::slice::from_ref(&api), t + 1).await,
        1,
        "another platform's remembered id does not count"
    );
    assert_eq!(
        claim(store, Platform::Discord, t + 1, 10).await,
        vec![dc],
        "completing on one platform leaves the other's"
    );
    assert_eq!(claim(store, Platform::Api, t + 1, 10).await, vec![api]);
    complete(store, Platform::Discord, &["shared:key"]).await;
    complete(store, Platform::Api, &["shared:key"]).await;
}
