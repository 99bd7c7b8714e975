//! A notification storm: 1,000 channels watch one real Minecraft server (a node
//! peer), which stops. Every channel must be told exactly once, within Discord's
//! limits as the fake enforces them (50 requests a second, 5 messages per 5 s per
//! channel): almost no 429s, never more than 50 requests in a second, and nowhere
//! near the 10,000 invalid requests that get an IP banned.
//!
//! The second storm adds 200 live messages of the server (refreshed every 5 s),
//! which all turn red as it stops: their edits share the global limit with the
//! notifications (they wait for the outbox's pacer; unpaced, they drew 2 % of 429s
//! and 56 requests in a second).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcstat_adapters::FileStore;
use mcstat_core::ports::WatchStore as _;
use mcstat_core::{ChatRef, Platform, Target, Timestamp, Watch};
use serde_json::json;

use crate::fake_discord::{FakeDiscord, Recorded};
use crate::support::{peers, start_bot};

const CHANNELS: u64 = 1_000;
const FIRST_CHANNEL: u64 = 100_000_000_000_000_001;
const FIRST_MESSAGE: u64 = 1_200_000_000_000_000_001;
/// The floor is 1,000 ÷ 50 a second = 20 s; generous for a loaded machine.
const DRAIN: Duration = Duration::from_secs(120);
/// A live message's embed colour when its server is offline.
const RED: u64 = 0xED_42_45;

fn channel(i: u64) -> String {
    (FIRST_CHANNEL + i).to_string()
}

fn message(i: u64) -> String {
    (FIRST_MESSAGE + i).to_string()
}

/// Accepted down notifications per channel.
fn downs_per_channel(reqs: &[Recorded]) -> HashMap<String, usize> {
    let mut per = HashMap::new();
    for r in reqs {
        if r.method != "POST" || r.status != 200 {
            continue;
        }
        let Some(channel) = r
            .path
            .strip_prefix("/channels/")
            .and_then(|p| p.strip_suffix("/messages"))
        else {
            continue;
        };
        if r.json["content"]
            .as_str()
            .is_some_and(|c| c.starts_with('🔴'))
        {
            *per.entry(channel.to_owned()).or_insert(0) += 1;
        }
    }
    per
}

/// How many of the first `live` channels' live messages were turned red.
fn red_live_messages(reqs: &[Recorded], live: u64) -> u64 {
    (0..live)
        .filter(|i| {
            let path = format!("/channels/{}/messages/{}", channel(*i), message(*i));
            reqs.iter().any(|r| {
                r.method == "PATCH"
                    && r.status == 200
                    && r.path == path
                    && r.json["embeds"][0]["color"] == RED
            })
        })
        .count() as u64
}

/// 1,000 channels watch the peer, the first `live` of them with a live message of
/// it refreshed every `live_interval` too; the peer stops.
async fn storm(live: u64, live_interval: Duration) {
    let peer =
        peers::spawn_node_peer("java-server.js", &[&json!({"motd": "Hi"}).to_string()]).await;
    let address = format!("127.0.0.1:{}", peer.port);
    let target: Target = address.parse().expect("target");
    let (fake, api) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.redb");

    // The watches (and live messages) are in the store before the bot starts.
    {
        let store = FileStore::open(&path).await.expect("open the store");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis();
        let created_at = Timestamp(u64::try_from(now).expect("ms"));
        let watch = |chat: String| Watch {
            chat: ChatRef::new(Platform::Discord, chat).expect("chat"),
            target: target.clone(),
            created_at,
            players: Vec::new(),
        };
        for i in 0..CHANNELS {
            assert!(store.add_watch(&watch(channel(i))).await.expect("add"));
        }
        for i in 0..live {
            let marker = format!("live:{}:{}", channel(i), message(i));
            assert!(store.add_watch(&watch(marker)).await.expect("add"));
            fake.seed_message(&channel(i), &message(i), json!({"embeds": []}));
        }
    }
    let bot = start_bot(&api, &path, live_interval).await;
    let first = ChatRef::new(Platform::Discord, channel(0)).expect("chat");
    bot.wait_polled_up(&first, &address, Duration::from_secs(30))
        .await;
    let before = fake.counters();

    drop(peer);
    let stopped = Instant::now();
    let deadline = stopped + DRAIN;
    let mut first_at = None;
    loop {
        let reqs = fake.requests();
        let told = downs_per_channel(&reqs).len() as u64;
        if told > 0 && first_at.is_none() {
            first_at = Some(stopped.elapsed());
        }
        let red = red_live_messages(&reqs, live);
        if told >= CHANNELS && red >= live {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {told} of {CHANNELS} channels told and {red} of {live} live messages \
             red within {DRAIN:?}; {:?}",
            fake.counters()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = stopped.elapsed();
    // Late repeats would show up here.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let reqs = fake.requests();
    let counters = fake.counters();
    bot.stop().await;

    let per = downs_per_channel(&reqs);
    let twice: Vec<_> = per.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "told more than once: {twice:?}");
    for i in 0..CHANNELS {
        assert_eq!(per.get(&channel(i)), Some(&1), "channel {}", channel(i));
    }
    let posted = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.status == 200 && r.path.starts_with("/channels/"))
        .count();
    assert_eq!(posted as u64, CHANNELS, "nothing else was posted");

    let sends = reqs
        .iter()
        .filter(|r| r.path.starts_with("/channels/"))
        .count();
    let too_many = counters.too_many - before.too_many;
    eprintln!(
        "storm ({CHANNELS} channels, {live} live messages): first told {:?} and all done \
         {drained:?} after the stop; {sends} requests to channels, {too_many} answered 429 \
         ({} global), at most {} requests in a second, {} invalid requests, {} requests in all",
        first_at.unwrap_or_default(),
        counters.too_many_global - before.too_many_global,
        counters.max_per_second,
        counters.invalid,
        counters.requests,
    );
    assert!(
        too_many * 100 < sends as u64,
        "{too_many} 429s for {sends} requests: 1 % or more"
    );
    assert!(
        counters.max_per_second <= 50,
        "{} requests within a second",
        counters.max_per_second
    );
    assert!(
        counters.invalid < 100,
        "{} invalid requests (Discord bans at 10,000 in 10 minutes)",
        counters.invalid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_channels_are_told_once_within_discords_limits() {
    storm(0, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_messages_refreshing_in_a_storm_stay_within_discords_limits() {
    storm(200, Duration::from_secs(5)).await;
}
