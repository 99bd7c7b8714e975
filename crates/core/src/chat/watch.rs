//! The user-facing side of the watch commands ([`WatchCommand`]): which server a
//! command names, every [`WatchError`] as a [`UserError`] whose message says what to
//! do, and [`answer`] / [`graph_request`], which run a command on the
//! [`WatchService`] and return its [view](crate::watch::views). The bots lay the views
//! out in their markup.

use super::WatchCommand;
use super::view::{UserError, UserErrorKind};
use super::{EXAMPLE_ADDRESS, display_target, parse_with_hint};
use crate::chart::{ChartRange, ChartRequest};
use crate::domain::{ChatRef, Target, Timestamp, UserRef};
use crate::watch::views::{GraphView, Unwatched, UptimeView, WatchAdded, WatchList, WatchView};
use crate::watch::{MAX_PLAYER_NAME_LEN, WatchError, WatchService, clean_players};

/// Run a watch command other than `/graph` in `chat`, asked by `user`, at `now` (the
/// time the states of `/watches` are measured to). A `/graph` command gets the
/// figures of `/uptime` (a bot draws charts with [`graph_request`]). Permission
/// checks are the bot's.
///
/// # Errors
/// What the user should do differently: [`watch_target`]'s errors and every
/// [`WatchError`] as [`watch_error`] words it.
pub async fn answer(
    service: &WatchService,
    chat: &ChatRef,
    user: &UserRef,
    command: WatchCommand,
    now: Timestamp,
) -> Result<WatchView, UserError> {
    /// What to do once the address is checked.
    enum Act {
        Watch(Vec<String>),
        Unwatch,
        Uptime,
    }
    let name = command.name();
    let (address, act) = match command {
        WatchCommand::List => {
            return service
                .watches(chat)
                .await
                .map(|list| {
                    let max = service.config().max_watches_per_chat;
                    WatchView::List(WatchList::new(&list, max, now))
                })
                .map_err(|e| watch_error(&e, None));
        }
        WatchCommand::Watch { address, players } => (address, Act::Watch(players)),
        WatchCommand::Unwatch { address } => (address, Act::Unwatch),
        WatchCommand::Uptime { address } | WatchCommand::Graph { address, .. } => {
            (address, Act::Uptime)
        }
    };
    let target = watch_target(address.as_deref(), name)?;
    let result = match act {
        Act::Watch(players) => {
            service
                .watch(chat, user, &target, &players)
                .await
                .map(|outcome| {
                    // The watch was added, so the names are valid: show them as kept.
                    let kept = clean_players(&players, usize::MAX).unwrap_or(players);
                    let interval = service.config().interval;
                    WatchView::Added(WatchAdded::new(&target, outcome, kept, interval))
                })
        }
        Act::Unwatch => service
            .unwatch(chat, user, &target)
            .await
            .map(|removed| WatchView::Unwatched(Unwatched::new(&target, removed))),
        Act::Uptime => service
            .uptime(&target)
            .await
            .map(|report| WatchView::Uptime(UptimeView::new(&target, &report))),
    };
    result.map_err(|e| watch_error(&e, Some(&target)))
}

/// What `/graph address [range]` draws: the reply's view and the samples to hand to a
/// [`ChartRenderer`](crate::ports::ChartRenderer) (on a blocking pool).
///
/// # Errors
/// [`watch_target`]'s and [`chart_range`]'s errors, and a store failure as
/// [`watch_error`] words it.
pub async fn graph_request(
    service: &WatchService,
    address: Option<&str>,
    range: Option<&str>,
) -> Result<(GraphView, ChartRequest), UserError> {
    let target = watch_target(address, "graph")?;
    let range = chart_range(range)?;
    let request = service
        .chart(&target, range)
        .await
        .map_err(|e| watch_error(&e, Some(&target)))?;
    Ok((
        GraphView::new(&target, range, request.points.len()),
        request,
    ))
}

/// The error when the chart of `view` could not be drawn: it points at `/uptime`.
#[must_use]
pub fn chart_failed(view: &GraphView) -> UserError {
    UserError::new(
        UserErrorKind::Unavailable,
        format!(
            "I could not draw that chart. Try /uptime {} for the figures",
            view.display
        ),
    )
}

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
                "“{}” is not a player name (1 to {MAX_PLAYER_NAME_LEN} letters, digits, _ . * - and single spaces between words). Put a name with spaces in double quotes. Try /watch {shown} \"Steve Smith\" Notch",
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
        assert_eq!(chart_range(Some("90d")), Ok(ChartRange::Quarter));
        assert_eq!(chart_range(Some(" 1Y ")), Ok(ChartRange::Year));
        let e = chart_range(Some("fortnight")).expect_err("bad");
        assert_eq!(e.kind, UserErrorKind::BadArguments);
        assert!(
            e.message.contains("24h, 7d, 30d, 90d or 1y"),
            "{}",
            e.message
        );
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
