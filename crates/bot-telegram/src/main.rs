//! `mcstat-telegram`: the mcstat Telegram bot.
//!
//! Configuration comes from `MCSTAT_*` environment variables and an optional TOML file
//! (`--config PATH` or `MCSTAT_CONFIG`); see `.env.example` at the repository root.

use std::process::ExitCode;

use mcstat_service::ServiceConfig;
use mcstat_service::config::{ConfigError, ConfigSource};
use mcstat_telegram::config::TelegramConfig;

const USAGE: &str = "\
mcstat-telegram: the mcstat Telegram bot

Usage: mcstat-telegram [--config PATH]

Settings come from MCSTAT_* environment variables, on top of the TOML file given with
--config or MCSTAT_CONFIG. The one required setting is the bot token:
  MCSTAT_TELEGRAM_TOKEN=123456:ABC... mcstat-telegram
Every setting is documented in .env.example.";

fn load() -> Result<(ServiceConfig, TelegramConfig), ConfigError> {
    let source = ConfigSource::from_args("mcstat-telegram", env!("CARGO_PKG_VERSION"), USAGE)?;
    let service = ServiceConfig::from_source(&source)?;
    let telegram = TelegramConfig::from_source(&source, std::env::var("TELOXIDE_TOKEN").ok())?;
    Ok((service, telegram))
}

fn main() -> ExitCode {
    let (service, telegram) = match load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mcstat-telegram: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = mcstat_service::init_logging(service.log_format, &service.log) {
        eprintln!("mcstat-telegram: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcstat-telegram: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mcstat_telegram::run::run(service, telegram)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %mcstat_service::ops::error_chain(e.as_ref()), "mcstat-telegram stopped");
            ExitCode::FAILURE
        }
    }
}
