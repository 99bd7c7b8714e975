//! Embed the core and the adapters (through the `mcstat` facade): the core's
//! [`LookupService`] over the [`NetworkSource`], with answers cached in a
//! [`StatusCache`] and the server remembered in a [`ChatStore`] — first on the
//! embedded [`FileStore`] with the in-process [`MemoryCache`], then (with `--redis`)
//! again on [`RedisStore`] with its [`RedisCache`].
//!
//! ```sh
//! cargo run --example lookup --features core,adapters -- play.example.net
//! cargo run --example lookup --features core,adapters -- bedrock:play.example.net
//! cargo run --example lookup --features core,adapters,redis -- --redis redis://127.0.0.1:6379 play.example.net
//! cargo run --example lookup --features core,adapters -- --allow-loopback 127.0.0.1:25565
//! ```
//!
//! The status is asked twice (the second answer comes from the cache), then the
//! players. [`run`] takes the cache and the store as ports (`Arc<dyn …>`), so any
//! backend plugs in without touching it.

use std::error::Error;
use std::sync::Arc;

use mcstat::adapters::{ClientOptions, FileStore, MemoryCache, NetworkSource, SystemClock};
use mcstat::core::ports::{ChatStore, Clock, StatusCache};
use mcstat::core::{
    ChatRef, Freshness, LookupConfig, LookupService, Observed, Platform, PlayerSource,
    StatusOutcome, Target, TargetPolicy, UserRef,
};

/// Looks `target` up with the network source behind `cache`, prints what it finds, and
/// remembers it as the last server of a chat in `store`.
async fn run(
    target: &Target,
    policy: TargetPolicy,
    cache: Arc<dyn StatusCache>,
    store: Arc<dyn ChatStore>,
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

    // What a bot does after a lookup: remember the server for a bare `/status`.
    let chat = ChatRef::new(Platform::Api, "example")?;
    let mut state = store.chat(&chat).await?.unwrap_or_default();
    state.remember(target);
    store.put_chat(&chat, &state).await?;
    let back = store.chat(&chat).await?.and_then(|s| s.last_server);
    println!(
        "remembered: {}",
        back.map_or_else(|| "nothing".to_owned(), |t| t.to_string())
    );
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
    let mut redis_url: Option<String> = None;
    let mut file = std::env::temp_dir().join("mcstat-example.redb");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--allow-loopback" => policy = TargetPolicy::with_loopback(),
            "--redis" => redis_url = args.next(),
            "--file" => file = args.next().ok_or("--file needs a path")?.into(),
            _ => address = Some(arg),
        }
    }
    let address = address.ok_or(
        "usage: lookup [--allow-loopback] [--file PATH] [--redis URL] ADDRESS \
         (e.g. play.example.net, bedrock:host:19132)",
    )?;
    let target: Target = address.parse()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    println!("== file store {} + memory cache", file.display());
    let store = Arc::new(FileStore::open(&file).await?);
    let cache = Arc::new(MemoryCache::new(1_000, clock.clone()));
    if let Err(e) = run(&target, policy.clone(), cache, store, clock.clone()).await {
        eprintln!("{target}: {e}");
        std::process::exit(1);
    }

    if let Some(url) = redis_url {
        with_redis(&url, &target, policy, clock).await?;
    }
    Ok(())
}

#[cfg(feature = "redis")]
async fn with_redis(
    url: &str,
    target: &Target,
    policy: TargetPolicy,
    clock: Arc<dyn Clock>,
) -> Result<(), Box<dyn Error>> {
    use mcstat::adapters::{RedisConfig, RedisStore};

    println!("== Redis store + Redis cache ({url})");
    let store = RedisStore::connect(&RedisConfig::new(url)).await?;
    let cache = Arc::new(store.cache());
    if let Err(e) = run(target, policy, cache, Arc::new(store), clock).await {
        eprintln!("{target}: {e}");
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(not(feature = "redis"))]
async fn with_redis(
    _url: &str,
    _target: &Target,
    _policy: TargetPolicy,
    _clock: Arc<dyn Clock>,
) -> Result<(), Box<dyn Error>> {
    Err("this example was built without Redis: add `--features redis`".into())
}
