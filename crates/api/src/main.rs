//! `mcstat-api`: the mcstat HTTP status API.
//!
//! Configuration comes from `MCSTAT_*` environment variables and an optional TOML file
//! (`--config PATH` or `MCSTAT_CONFIG`); see `.env.example` at the repository root.

use std::path::PathBuf;
use std::process::ExitCode;

use mcstat_api::ApiConfig;
use mcstat_service::ServiceConfig;
use mcstat_service::config::{ConfigError, ConfigSource};

const USAGE: &str = "\
mcstat-api: the mcstat HTTP status API

Usage: mcstat-api [--config PATH]

Settings come from MCSTAT_* environment variables, on top of the TOML file given with
--config or MCSTAT_CONFIG. The API listens on MCSTAT_HTTP_ADDR (default 0.0.0.0:8080):
  GET /v1/status/{address}, /v1/players/{address}, /v1/icon/{address}, /openapi.json,
  /healthz, /readyz, /metrics
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
                println!("mcstat-api {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            _ => return Err(format!("unexpected argument {arg:?}\n\n{USAGE}")),
        }
    }
    Ok(path)
}

fn load() -> Result<(ServiceConfig, ApiConfig), ConfigError> {
    let path = config_path().map_err(ConfigError::Check)?;
    let source = ConfigSource::load(path.as_deref())?;
    Ok((
        ServiceConfig::from_source(&source)?,
        ApiConfig::from_source(&source)?,
    ))
}

fn main() -> ExitCode {
    let (service, api) = match load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mcstat-api: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = mcstat_service::init_logging(service.log_format, &service.log) {
        eprintln!("mcstat-api: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcstat-api: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mcstat_api::run(service, api)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %mcstat_service::ops::error_chain(e.as_ref()), "mcstat-api stopped");
            ExitCode::FAILURE
        }
    }
}
