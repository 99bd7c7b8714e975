//! Embed the core and the adapters (through the `mcstat` facade): the core's
//! [`LookupService`] over the [`NetworkSource`], with answers cached in a
//! [`StatusCache`], here the in-process [`MemoryCache`].
//!
//! ```sh
//! cargo run --example lookup --features core,adapters -- play.example.net
//! cargo run --example lookup --features core,adapters -- bedrock:play.example.net
//! cargo run --example lookup --features core,adapters -- --allow-loopback 127.0.0.1:25565
//! ```
//!
//! The status is asked twice (the second answer comes from the cache), then the
//! players. [`run`] takes the cache as a port (`Arc<dyn StatusCache>`), so another
//! cache backend plugs in without touching it.

use std::error::Error;
use std::sync::Arc;

use mcstat::adapters::{ClientOptions, MemoryCache, NetworkSource, SystemClock};
use mcstat::core::ports::{Clock, StatusCache};
use mcstat::core::{
    Freshness, LookupConfig, LookupService, Observed, Platform, PlayerSource, StatusOutcome,
    Target, TargetPolicy, UserRef,
};

/// Looks `target` up with the network source behind `cache`, and prints what it finds.
async fn run(
    target: &Target,
    policy: TargetPolicy,
    cache: Arc<dyn StatusCache>,
    clock: Arc<dyn Clock>,
) -> Result<(), Box<dyn Error>> {
    // The source checks every resolved IP against the policy right before connecting.
    let source =
        NetworkSource::from_system_conf(policy.clone(), ClientOptions::default(), clock.clone())?;
    let config = LookupConfig {
        policy,
        ..LookupConfig::default()
    };
    let service = LookupService::new(Arc::new(source), cache, clock, config);
    let user = UserRef::new(Platform::Api, "example")?;

    for _ in 0..2 {
        print_status(&service.status(&user, target).await?);
    }
    let players = service.players(&user, target).await?;
    if let Some(list) = &players.value {
        let source = match list.source {
            PlayerSource::Query => "Query",
            PlayerSource::Sample => "the status sample",
            PlayerSource::CountOnly => "counts only",
        };
        println!(
            "players ({source}, {}): {}",
            freshness(players.freshness),
            list.names.join(", ")
        );
    }
    Ok(())
}

fn freshness(f: Freshness) -> String {
    match f {
        Freshness::Live => "live".to_owned(),
        Freshness::Cached { age_ms } => format!("cached, {age_ms} ms old"),
    }
}

fn print_status(observed: &Observed<StatusOutcome>) {
    let from = freshness(observed.freshness);
    match &observed.value {
        StatusOutcome::Online(r) => {
            println!("{} is up ({}, {from})", r.target, r.protocol.as_str());
            println!("  {}", r.motd.plain().replace('\n', "\n  "));
            if let Some(version) = &r.version {
                println!("  version  {version}");
            }
            if let (Some(online), Some(max)) = (r.players_online, r.players_max) {
                println!("  players  {online}/{max}");
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

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cache = Arc::new(MemoryCache::new(1_000, clock.clone()));
    if let Err(e) = run(&target, policy, cache, clock).await {
        eprintln!("{target}: {e}");
        std::process::exit(1);
    }
    Ok(())
}
