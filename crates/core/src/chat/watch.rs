//! The user-facing side of the watch commands ([`WatchCommand`](super::WatchCommand)):
//! which server a command names, and every [`WatchError`] as a [`UserError`] whose
//! message says what to do. The bots call the
//! [`WatchService`](crate::watch::WatchService) and render its results themselves.

use super::view::{UserError, UserErrorKind};
use super::{EXAMPLE_ADDRESS, display_target, parse_with_hint};
use crate::chart::ChartRange;
use crate::domain::Target;
use crate::watch::{MAX_PLAYER_NAME_LEN, WatchError};

/// The server a watch command names: `address` as typed, for the command `name`
/// (`watch`, `unwatch`, `uptime`; used in the hint).
///
/// # Errors
/// [`UserErrorKind::BadArguments`] when no address was given,
/// [`UserErrorKind::BadAddress`] when it is not one; both say what to type.
pub fn watch_target(address: Option<&str>, name: &str) -> Result<Target, UserError> {
    let slash = format!("/{}", super::clean(name, 16));
    match address.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => parse_with_hint(a, &slash),
        None => Err(UserError::new(
            UserErrorKind::BadArguments,
            format!("Which server? Name it. Try {slash} {EXAMPLE_ADDRESS}"),
        )),
    }
}

/// The chart range a `/graph` command asks for (`None`: 24 h).
///
/// # Errors
/// [`UserErrorKind::BadArguments`] saying which ranges there are.
pub fn chart_range(input: Option<&str>) -> Result<ChartRange, UserError> {
    input
        .unwrap_or_default()
        .parse()
        .map_err(|e: crate::chart::ChartRangeError| {
            UserError::new(
                UserErrorKind::BadArguments,
                format!("{e}. Try /graph {EXAMPLE_ADDRESS} 7d"),
            )
        })
}

/// A [`WatchError`] about `target` (`None`: the chat's whole list) as a message for
/// the user.
#[must_use]
pub fn watch_error(e: &WatchError, target: Option<&Target>) -> UserError {
    let shown = target.map_or_else(|| "the server".to_owned(), display_target);
    match e {
        WatchError::LimitReached { max } => UserError::new(
            UserErrorKind::BadArguments,
            format!(
                "This chat already watches {max} servers, the most it may. Stop watching one first: /watches lists them, then try /unwatch address"
            ),
        ),
        WatchError::TooManyPlayers { max } => UserError::new(
            UserErrorKind::BadArguments,
            format!(
                "A watch follows at most {max} players. Try /watch {shown} with fewer names, e.g. /watch {shown} Notch"
            ),
        ),
        WatchError::BadPlayerName(name) => UserError::new(
            UserErrorKind::BadArguments,
            format!(
                "“{}” is not a player name (1 to {MAX_PLAYER_NAME_LEN} letters, digits, _ . * -). Try /watch {shown} Notch",
                super::clean(name, 70)
            ),
        ),
        WatchError::Policy(v) => UserError::new(
            UserErrorKind::Refused,
            format!(
                "I don't watch {shown}: {} is a {} address, and I only contact public servers. Try a public server address, e.g. /watch {EXAMPLE_ADDRESS}",
                v.ip, v.kind
            ),
        ),
        WatchError::Store(error) => {
            tracing::warn!(
                target = %shown,
                error = error as &dyn std::error::Error,
                "watch store failed"
            );
            UserError::new(
                UserErrorKind::Unavailable,
                "My storage is not answering right now, so nothing changed. Please try again in a minute."
                    .to_owned(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StoreError;

    #[test]
    fn targets_need_an_address_and_hint_the_command() {
        let e = watch_target(None, "watch").expect_err("no address");
        assert_eq!(e.kind, UserErrorKind::BadArguments);
        assert!(
            e.message.contains("Try /watch play.example.net"),
            "{}",
            e.message
        );
        let e = watch_target(Some("a b"), "uptime").expect_err("bad");
        assert_eq!(e.kind, UserErrorKind::BadAddress);
        assert!(e.message.contains("Try /uptime"), "{}", e.message);
        let t = watch_target(Some(" bedrock:pe.example "), "watch").expect("valid");
        assert_eq!(display_target(&t), "bedrock:pe.example");
    }

    #[test]
    fn chart_ranges_default_to_a_day() {
        assert_eq!(chart_range(None), Ok(ChartRange::Day));
        assert_eq!(chart_range(Some("30D")), Ok(ChartRange::Month));
        let e = chart_range(Some("fortnight")).expect_err("bad");
        assert_eq!(e.kind, UserErrorKind::BadArguments);
        assert!(e.message.contains("24h, 7d or 30d"), "{}", e.message);
    }

    #[test]
    fn every_error_says_what_to_do() {
        let t: Target = "mc.example:25566".parse().expect("valid");
        let policy = crate::TargetPolicy::public_only()
            .check("10.0.0.1".parse().expect("ip"))
            .expect_err("private");
        let cases = [
            (
                WatchError::LimitReached { max: 10 },
                UserErrorKind::BadArguments,
                "/unwatch",
            ),
            (
                WatchError::TooManyPlayers { max: 3 },
                UserErrorKind::BadArguments,
                "at most 3",
            ),
            (
                WatchError::BadPlayerName("a\u{202e}b".into()),
                UserErrorKind::BadArguments,
                "“ab” is not a player name",
            ),
            (
                WatchError::Policy(policy),
                UserErrorKind::Refused,
                "10.0.0.1",
            ),
            (
                WatchError::Store(StoreError::Unavailable("down".into())),
                UserErrorKind::Unavailable,
                "try again",
            ),
        ];
        for (e, kind, text) in cases {
            let u = watch_error(&e, Some(&t));
            assert_eq!(u.kind, kind, "{e}");
            assert!(u.message.contains(text), "{}", u.message);
        }
    }
}
