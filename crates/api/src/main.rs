//! `mcstat-api`: the mcstat HTTP status API.
//!
//! Configuration comes from `MCSTAT_*` environment variables and an optional TOML file
//! (`--config PATH` or `MCSTAT_CONFIG`); see `.env.example` at the repository root.

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

fn load() -> Result<(ServiceConfig, ApiConfig), ConfigError> {
    let source = ConfigSource::from_args("mcstat-api", env!("CARGO_PKG_VERSION"), USAGE)?;
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
