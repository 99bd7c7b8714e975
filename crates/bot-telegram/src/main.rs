//! `mcstat-telegram`: the mcstat Telegram bot.
//!
//! Configuration comes from `MCSTAT_*` environment variables and an optional TOML file
//! (`--config PATH` or `MCSTAT_CONFIG`); see `.env.example` at the repository root.

use std::path::PathBuf;
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

fn config_path() -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args_os().skip(1);
    let mut path = std::env::var_os(mcstat_service::config::CONFIG_FILE_VAR).map(PathBuf::from);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--config" | "-c") => match args.next() {
                Some(p) => path = Some(PathBuf::from(p)),
                None => return Err("--config needs a file path".into()),
            },
            Some("--help" | "-h") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Some("--version" | "-V") => {
                println!("mcstat-telegram {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            _ => return Err(format!("unexpected argument {arg:?}\n\n{USAGE}")),
        }
    }
    Ok(path)
}

fn load() -> Result<(ServiceConfig, TelegramConfig), ConfigError> {
    let path = config_path().map_err(ConfigError::Check)?;
    let source = ConfigSource::load(path.as_deref())?;
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
