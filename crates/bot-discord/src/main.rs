//! `mcstat-discord`: the Discord bot binary. Reads the configuration (see the
//! `config` module and `mcstat_service::ServiceConfig`), builds the bot and runs it
//! until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use mcstat_discord::config::DiscordConfig;
use mcstat_discord::wiring;
use mcstat_service::{ConfigSource, ServiceConfig, init_logging, shutdown_signal};

const USAGE: &str = "\
mcstat-discord: the Discord bot for Minecraft server status.

Usage: mcstat-discord [--config PATH]

Settings come from MCSTAT_* environment variables, on top of the TOML file given with
--config or MCSTAT_CONFIG. The one required setting is the bot token:
  MCSTAT_DISCORD_TOKEN=... mcstat-discord
Every setting is documented in .env.example.";

#[tokio::main]
async fn main() -> ExitCode {
    let source = match ConfigSource::from_args("mcstat-discord", env!("CARGO_PKG_VERSION"), USAGE) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let (service, discord) = match (
        ServiceConfig::from_source(&source),
        DiscordConfig::from_source(&source),
    ) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) => return fail(&e),
        (_, Err(e)) => return fail(&e),
    };
    if let Err(e) = init_logging(service.log_format, &service.log) {
        return fail(&e);
    }
    let app = match wiring::build(&service, discord).await {
        Ok(app) => app,
        Err(e) => return fail_any(&e),
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "mcstat-discord starting"
    );
    match wiring::run(app, &service, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("mcstat-discord stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail_any(&e),
    }
}

fn fail(e: &dyn std::error::Error) -> ExitCode {
    eprintln!("mcstat-discord: {}", mcstat_service::ops::error_chain(e));
    ExitCode::FAILURE
}

fn fail_any(e: &anyhow::Error) -> ExitCode {
    tracing::error!("{e:#}");
    eprintln!("mcstat-discord: {e:#}");
    ExitCode::FAILURE
}
