//! Look up a server with the core's ports and the adapters (through the `mcstat`
//! facade): a [`NetworkSource`] behind a cache, here the in-process [`MemoryCache`].
//!
//! ```sh
//! cargo run --example lookup --features core,adapters -- play.example.net
//! cargo run --example lookup --features core,adapters -- bedrock:play.example.net
//! cargo run --example lookup --features core,adapters -- --allow-loopback 127.0.0.1:25565
//! ```
//!
//! The lookup runs twice: the second answer comes from the cache. [`lookup`] only
//! sees the ports (`&dyn StatusSource`, `&dyn StatusCache`), so another cache or
//! store plugs in without touching it.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use mcstat::adapters::{ClientOptions, MemoryCache, NetworkSource, SystemClock};
use mcstat::core::ports::{CachedValue, Clock, StatusCache, StatusSource};
use mcstat::core::{Freshness, Observed, StatusOutcome, Target, TargetPolicy};

/// How long an answer is cached: online 60 s, offline 10 s (as the core's defaults).
fn ttl(outcome: &StatusOutcome) -> Duration {
    if outcome.is_online() {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(10)
    }
}

/// The status of `target`: from `cache` when it holds a fresh answer, else from
/// `source` (then cached). A failing cache counts as a miss.
async fn lookup(
    source: &dyn StatusSource,
    cache: &dyn StatusCache,
    clock: &dyn Clock,
    target: &Target,
) -> Result<Observed<StatusOutcome>, Box<dyn Error>> {
    let key = format!("status:{}", target.key());
    if let Ok(Some(CachedValue::Status(outcome))) = cache.get(&key).await {
        let age = clock.now().since(outcome.taken_at());
        return Ok(Observed {
            value: outcome,
            freshness: Freshness::Cached {
                age_ms: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
            },
        });
    }
    let outcome = source.status(target).await?;
    if let Err(e) = cache
        .put(&key, &CachedValue::Status(outcome.clone()), ttl(&outcome))
        .await
    {
        eprintln!("cache unavailable: {e}");
    }
    Ok(Observed {
        value: outcome,
        freshness: Freshness::Live,
    })
}

fn print(observed: &Observed<StatusOutcome>) {
    let from = match observed.freshness {
        Freshness::Live => "live".to_owned(),
        Freshness::Cached { age_ms } => format!("cached, {age_ms} ms old"),
    };
    match &observed.value {
        StatusOutcome::Online(r) => {
            println!("{} is up ({}, {from})", r.target, r.protocol.as_str());
            println!("  {}", r.motd.plain().replace('\n', "\n  "));
            if let Some(version) = &r.version {
                println!("  version  {version}");
            }
            if let (Some(online), Some(max)) = (r.players_online, r.players_max) {
                println!("  players  {online}/{max} {}", r.sample.join(", "));
            }
            if let Some(ms) = r.latency_ms {
                println!("  latency  {ms} ms");
            }
            if let Some(addr) = &r.answered_by {
                println!("  address  {addr}");
            }
        }
        StatusOutcome::Offline { target, reason, .. } => {
            println!("{target} is down: {reason} ({from})");
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut policy = TargetPolicy::public_only();
    let mut address = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--allow-loopback" => policy = TargetPolicy::with_loopback(),
            _ => address = Some(arg),
        }
    }
    let address = address.ok_or(
        "usage: lookup [--allow-loopback] ADDRESS (e.g. play.example.net, bedrock:host:19132)",
    )?;
    let target: Target = address.parse()?;

    let clock = Arc::new(SystemClock);
    let source = NetworkSource::from_system_conf(policy, ClientOptions::default(), clock.clone())?;
    let cache = MemoryCache::new(1_000, clock.clone());

    for _ in 0..2 {
        match lookup(&source, &cache, clock.as_ref(), &target).await {
            Ok(observed) => print(&observed),
            Err(e) => {
                eprintln!("{target}: {e}");
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
