//! Calling the Bot API with retries: `retry_after` on 429 is honoured, transient
//! failures (network errors, 5xx answers) are retried with exponential backoff.
//!
//! teloxide itself waits 10 s after any 5xx answer before reporting it; the backoff
//! here comes on top of that. A request is tried at most [`MAX_ATTEMPTS`] times.

use std::time::Duration;

use teloxide::requests::{Output, Payload, Request};
use teloxide::{ApiError, RequestError};

/// How many times one request is tried in all.
pub const MAX_ATTEMPTS: u32 = 4;

/// The longest `retry_after` honoured; a longer one fails the request (the update is
/// dropped with a log line rather than holding a worker for minutes).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The first backoff after a transient failure; it doubles each time.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Why a failed request may be tried again, and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Telegram said 429 with `retry_after`.
    RateLimited(Duration),
    /// A network error or a server error: back off.
    Transient,
}

/// Whether `e` is worth another try.
#[must_use]
pub fn classify(e: &RequestError) -> Option<Retry> {
    match e {
        RequestError::RetryAfter(s) => Some(Retry::RateLimited(s.duration())),
        RequestError::Network(e) if !e.is_builder() && !e.is_redirect() => Some(Retry::Transient),
        RequestError::Io(_) => Some(Retry::Transient),
        // A gateway in front of the API answering an HTML error page; a JSON body that
        // does not fit the schema is a bug, not a transient failure.
        RequestError::InvalidJson { raw, .. } if !raw.trim_start().starts_with('{') => {
            Some(Retry::Transient)
        }
        RequestError::Api(ApiError::Unknown(description)) if is_server_error(description) => {
            Some(Retry::Transient)
        }
        _ => None,
    }
}

/// Descriptions the Bot API gives with its 5xx answers.
fn is_server_error(description: &str) -> bool {
    const SERVER_ERRORS: [&str; 4] = [
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
    ];
    SERVER_ERRORS.iter().any(|s| description.contains(s))
}

/// The wait before attempt `attempt + 1` (attempts count from 0), or `None` to give up.
#[must_use]
pub fn delay(retry: Retry, attempt: u32) -> Option<Duration> {
    if attempt + 1 >= MAX_ATTEMPTS {
        return None;
    }
    match retry {
        Retry::RateLimited(d) if d > MAX_RETRY_AFTER => None,
        // Telegram counts whole seconds; a zero would retry into the same limit.
        Retry::RateLimited(d) => Some(d.max(Duration::from_secs(1))),
        Retry::Transient => Some(FIRST_BACKOFF.saturating_mul(1 << attempt.min(10))),
    }
}

/// Send `request`, retrying as described in the [module docs](self).
///
/// # Errors
/// The last [`RequestError`] when the request failed for good.
pub async fn call<R>(request: R) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError>,
{
    let method = <R::Payload as Payload>::NAME;
    let mut attempt = 0;
    loop {
        let err = match request.send_ref().await {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        let Some(retry) = classify(&err) else {
            metrics::counter!("mcstat_telegram_api_errors_total", "method" => method).increment(1);
            return Err(err);
        };
        let Some(wait) = delay(retry, attempt) else {
            metrics::counter!("mcstat_telegram_api_errors_total", "method" => method).increment(1);
            tracing::warn!(method, attempts = attempt + 1, error = %err, "Bot API call failed, giving up");
            return Err(err);
        };
        let reason = match retry {
            Retry::RateLimited(_) => "rate_limited",
            Retry::Transient => "transient",
        };
        metrics::counter!("mcstat_telegram_api_retries_total", "method" => method, "reason" => reason)
            .increment(1);
        tracing::info!(method, reason, wait_ms = wait.as_millis() as u64, error = %err, "Bot API call failed, retrying");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use teloxide::types::Seconds;

    use super::*;

    #[test]
    fn rate_limits_wait_as_told_and_transients_back_off() {
        let e = RequestError::RetryAfter(Seconds::from_seconds(3));
        let r = classify(&e).expect("retryable");
        assert_eq!(delay(r, 0), Some(Duration::from_secs(3)));
        assert_eq!(delay(r, MAX_ATTEMPTS - 1), None);
        let zero = classify(&RequestError::RetryAfter(Seconds::from_seconds(0))).expect("retry");
        assert_eq!(delay(zero, 0), Some(Duration::from_secs(1)));
        let long = classify(&RequestError::RetryAfter(Seconds::from_seconds(3600))).expect("r");
        assert_eq!(delay(long, 0), None);
        let io = RequestError::Io(Arc::new(std::io::Error::other("reset")));
        let r = classify(&io).expect("retryable");
        assert_eq!(delay(r, 0), Some(FIRST_BACKOFF));
        assert_eq!(delay(r, 1), Some(FIRST_BACKOFF * 2));
    }

    #[test]
    fn server_errors_retry_and_client_errors_do_not() {
        let gateway = RequestError::InvalidJson {
            source: Arc::new(serde_json::from_str::<u8>("<").expect_err("invalid")),
            raw: "<html>502 Bad Gateway</html>".into(),
        };
        assert_eq!(classify(&gateway), Some(Retry::Transient));
        let schema = RequestError::InvalidJson {
            source: Arc::new(serde_json::from_str::<u8>("{}").expect_err("invalid")),
            raw: r#"{"ok":true,"result":null}"#.into(),
        };
        assert_eq!(classify(&schema), None);
        let server = RequestError::Api(ApiError::Unknown("Internal Server Error".into()));
        assert_eq!(classify(&server), Some(Retry::Transient));
        assert_eq!(
            classify(&RequestError::Api(ApiError::MessageNotModified)),
            None
        );
        assert_eq!(classify(&RequestError::Api(ApiError::BotBlocked)), None);
    }
}
