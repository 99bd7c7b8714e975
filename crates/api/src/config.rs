//! The API's own settings, read from the same [`ConfigSource`] as the shared
//! [`ServiceConfig`](mcstat_service::ServiceConfig) (the API listens on its
//! `http_addr`, default [`DEFAULT_ADDR`]).
//!
//! | key | environment | default | meaning |
//! |---|---|---|---|
//! | `api_cors_origins` | `MCSTAT_API_CORS_ORIGINS` | — (no CORS headers) | origins that browsers may call the API from, e.g. `https://a.example,https://b.example`, or `*` for any |
//! | `api_rate_burst` | `MCSTAT_API_RATE_BURST` | `20` | requests per client IP at once |
//! | `api_rate_per_minute` | `MCSTAT_API_RATE_PER_MINUTE` | `30` | requests per client IP per minute after the burst; `0` turns the per-IP limit off |
//! | `api_client_ip_header` | `MCSTAT_API_CLIENT_IP_HEADER` | — (the peer address) | behind a reverse proxy: the header it writes the client address into (`x-forwarded-for`: the last address counts; `x-real-ip`) |

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use mcstat_service::config::{ConfigError, ConfigSource};
use serde::{Deserialize, Deserializer};

/// Where the API listens when `MCSTAT_HTTP_ADDR` is not set.
pub const DEFAULT_ADDR: &str = "0.0.0.0:8080";

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers: browsers on other origins cannot read the answers (default).
    #[default]
    None,
    /// Any origin (`*`).
    Any,
    /// Exactly these origins (`https://host[:port]`).
    List(Vec<HeaderValue>),
}

/// The HTTP API's settings. See the [module docs](self) for the keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// CORS origins.
    #[serde(deserialize_with = "origins")]
    pub api_cors_origins: CorsOrigins,
    /// Per-IP burst.
    pub api_rate_burst: u32,
    /// Per-IP requests per minute after the burst (0: no per-IP limit).
    pub api_rate_per_minute: u32,
    /// The header holding the client address, behind a reverse proxy.
    #[serde(deserialize_with = "header_name")]
    pub api_client_ip_header: Option<HeaderName>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            api_cors_origins: CorsOrigins::None,
            api_rate_burst: 20,
            api_rate_per_minute: 30,
            api_client_ip_header: None,
        }
    }
}

impl ApiConfig {
    /// The most requests per minute per IP accepted (one per millisecond).
    pub const MAX_PER_MINUTE: u32 = 60_000;

    /// Read and check the API settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault.
    pub fn from_source(source: &ConfigSource) -> Result<Self, ConfigError> {
        let config: Self = source.extract()?;
        config.check()?;
        Ok(config)
    }

    /// Check the values that are each valid but out of range.
    ///
    /// # Errors
    /// [`ConfigError::Check`] naming the variable.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.api_rate_per_minute > Self::MAX_PER_MINUTE {
            return Err(ConfigError::Check(format!(
                "MCSTAT_API_RATE_PER_MINUTE is {} but must be at most {}",
                self.api_rate_per_minute,
                Self::MAX_PER_MINUTE
            )));
        }
        if self.api_rate_per_minute > 0 && self.api_rate_burst == 0 {
            return Err(ConfigError::Check(
                "MCSTAT_API_RATE_BURST must be at least 1 (set MCSTAT_API_RATE_PER_MINUTE=0 to turn the per-IP limit off)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The per-IP rate limit as (burst, one more every), or `None` when off.
    #[must_use]
    pub fn per_ip_limit(&self) -> Option<(u32, Duration)> {
        (self.api_rate_per_minute > 0).then(|| {
            (
                self.api_rate_burst.max(1),
                Duration::from_secs(60) / self.api_rate_per_minute,
            )
        })
    }
}

/// A list of origins: `*`, a TOML array, or one string with commas or spaces between
/// the origins (the form an environment variable can hold).
fn origins<'de, D: Deserializer<'de>>(d: D) -> Result<CorsOrigins, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let items: Vec<String> = match Raw::deserialize(d)? {
        Raw::One(s) => s
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Raw::Many(v) => v,
    };
    if items.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if items.iter().any(|o| o == "*") {
        return Ok(CorsOrigins::Any);
    }
    items
        .iter()
        .map(|o| parse_origin(o).map_err(serde::de::Error::custom))
        .collect::<Result<Vec<_>, _>>()
        .map(CorsOrigins::List)
}

/// An origin is `http(s)://host[:port]`: no path, no trailing slash.
fn parse_origin(origin: &str) -> Result<HeaderValue, String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("CORS origin \"{origin}\" must start with https:// or http:// (or be *)")
        })?;
    if rest.is_empty()
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return Err(format!(
            "CORS origin \"{origin}\" must be scheme://host[:port], without a path or trailing slash"
        ));
    }
    HeaderValue::from_str(origin).map_err(|e| format!("CORS origin \"{origin}\": {e}"))
}

fn header_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<HeaderName>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    HeaderName::from_bytes(s.to_ascii_lowercase().as_bytes())
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("\"{s}\" is not an HTTP header name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_limit_per_ip_and_send_no_cors_headers() {
        let c = ApiConfig::from_source(&ConfigSource::from_toml("")).expect("defaults");
        assert_eq!(c.api_cors_origins, CorsOrigins::None);
        assert_eq!(c.per_ip_limit(), Some((20, Duration::from_secs(2))));
        assert!(c.api_client_ip_header.is_none());
    }

    #[test]
    fn origins_take_every_form() {
        let c = ApiConfig::from_source(&ConfigSource::from_toml(
            r#"api_cors_origins = "https://a.example, http://b.example:8080""#,
        ))
        .expect("list");
        assert_eq!(
            c.api_cors_origins,
            CorsOrigins::List(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("http://b.example:8080"),
            ])
        );
        let c = ApiConfig::from_source(&ConfigSource::from_toml(r#"api_cors_origins = ["*"]"#))
            .expect("any");
        assert_eq!(c.api_cors_origins, CorsOrigins::Any);
        let err = ApiConfig::from_source(&ConfigSource::from_toml(
            r#"api_cors_origins = "https://a.example/""#,
        ))
        .expect_err("trailing slash");
        assert!(err.to_string().contains("api_cors_origins"), "{err}");
        let err = ApiConfig::from_source(&ConfigSource::from_toml(
            r#"api_cors_origins = "a.example""#,
        ))
        .expect_err("no scheme");
        assert!(err.to_string().contains("https://"), "{err}");
    }

    #[test]
    fn limits_are_checked_and_zero_turns_the_limit_off() {
        let c = ApiConfig::from_source(&ConfigSource::from_toml("api_rate_per_minute = 0"))
            .expect("off");
        assert_eq!(c.per_ip_limit(), None);
        let err = ApiConfig::from_source(&ConfigSource::from_toml(
            "api_rate_per_minute = 10\napi_rate_burst = 0",
        ))
        .expect_err("zero burst");
        assert!(err.to_string().contains("MCSTAT_API_RATE_BURST"), "{err}");
        let err = ApiConfig::from_source(&ConfigSource::from_toml("api_rate_per_minute = 1000000"))
            .expect_err("too many");
        assert!(
            err.to_string().contains("MCSTAT_API_RATE_PER_MINUTE"),
            "{err}"
        );
    }

    #[test]
    fn the_client_ip_header_is_a_header_name() {
        let c = ApiConfig::from_source(&ConfigSource::from_toml(
            r#"api_client_ip_header = "X-Forwarded-For""#,
        ))
        .expect("header");
        assert_eq!(
            c.api_client_ip_header,
            Some(HeaderName::from_static("x-forwarded-for"))
        );
        assert!(
            ApiConfig::from_source(&ConfigSource::from_toml(
                r#"api_client_ip_header = "bad header""#
            ))
            .is_err()
        );
    }
}
