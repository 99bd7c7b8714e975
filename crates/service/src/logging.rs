//! Logging: human-readable lines on a terminal, JSON lines in production.
//!
//! Libraries that log through the `log` crate (teloxide does) are bridged into
//! `tracing`, so one filter and one format apply to everything. Secrets are kept out of
//! logs by type: tokens and URLs with passwords are [`Secret`](crate::Secret)s.

use serde::Deserialize;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (default).
    #[default]
    Human,
    /// One JSON object per line, with the fields of the current span (e.g. the update's
    /// request id): for log collectors.
    Json,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// The filter is not valid.
    #[error(
        "invalid log filter \"{filter}\": {reason} (write e.g. \"info\" or \"info,mcstat_telegram=debug\")"
    )]
    Filter {
        /// The filter as given.
        filter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A global logger was already installed.
    #[error("logging is already initialised")]
    AlreadyInitialised,
}

/// Parse a filter: a level (`info`), or `target=level` pairs and a default level
/// separated by commas (`warn,mcstat_telegram=debug`).
///
/// # Errors
/// [`LoggingError::Filter`].
pub fn parse_filter(filter: &str) -> Result<Targets, LoggingError> {
    filter.parse().map_err(|e| LoggingError::Filter {
        filter: filter.chars().take(200).collect(),
        reason: format!("{e}"),
    })
}

/// Install the global logger, writing to standard error.
///
/// # Errors
/// [`LoggingError`] when the filter is invalid or a logger is already installed.
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    let targets = parse_filter(filter)?;
    let registry = tracing_subscriber::registry().with(targets);
    let result = match format {
        LogFormat::Human => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    result.map_err(|_| LoggingError::AlreadyInitialised)
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn filters_parse_or_explain() {
        assert!(parse_filter("info").is_ok());
        assert!(parse_filter("warn,mcstat_telegram=debug").is_ok());
        let err = parse_filter("info,x=loud").expect_err("bad level");
        assert!(err.to_string().contains("x=loud"), "{err}");
    }
}
