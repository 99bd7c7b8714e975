//! Plain-text wording of watch events and figures, so both bots say the same thing.
//! No markup: a bot escapes the text for its platform and may add its own styling.

use std::time::Duration;

use crate::chart::civil_utc;
use crate::chat::display_target;
use crate::domain::Timestamp;
use crate::ports::{Notification, NotificationEvent};

/// The longest player name shown, in characters.
const MAX_NAME: usize = 32;

/// A duration for people, at most two units: `45 s`, `12 min`, `3 h 12 min`,
/// `2 d 4 h`.
#[must_use]
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, mins) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// An uptime ratio as a percentage with two decimals (`99.95 %`), never rounded up
/// to `100.00 %` unless it is exactly 1; `no data` for `None`.
#[must_use]
pub fn format_ratio(ratio: Option<f64>) -> String {
    match ratio {
        None => "no data".to_owned(),
        Some(r) if r >= 1.0 => "100 %".to_owned(),
        Some(r) => {
            // Truncate: 99.999 % of up time is not "100 %".
            let hundredths = (r.max(0.0) * 10_000.0).floor() / 100.0;
            format!("{hundredths:.2} %")
        }
    }
}

/// A time to the minute in UTC: `2025-12-01 06:10 UTC` (the calendar of
/// [`civil_utc`], which the charts' tick labels use too).
#[must_use]
pub fn format_utc_minute(t: Timestamp) -> String {
    let (year, month, day, hour, minute) = civil_utc(t);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

/// The icon shown before a notification's sentence: 🔴 down, 🟢 back up, 👋 a
/// player joined, 🚪 a player left.
#[must_use]
pub const fn notification_icon(event: &NotificationEvent) -> &'static str {
    match event {
        NotificationEvent::WentDown { .. } => "🔴",
        NotificationEvent::CameBack { .. } => "🟢",
        NotificationEvent::PlayerJoined(_) => "👋",
        NotificationEvent::PlayerLeft(_) => "🚪",
    }
}

/// One sentence for a notification: `play.example.net is down (it was up for 3 h
/// 12 min).`, `play.example.net is back up after 12 min.`, `Notch joined
/// play.example.net.` Player names are cleaned (control and bidi characters removed,
/// at most 32 characters).
#[must_use]
pub fn notification_text(n: &Notification) -> String {
    let server = display_target(&n.target);
    match &n.event {
        NotificationEvent::WentDown { up_for: Some(d) } => {
            format!("{server} is down (it was up for {}).", format_duration(*d))
        }
        NotificationEvent::WentDown { up_for: None } => format!("{server} is down."),
        NotificationEvent::CameBack { down_for: Some(d) } => {
            format!("{server} is back up after {}.", format_duration(*d))
        }
        NotificationEvent::CameBack { down_for: None } => format!("{server} is back up."),
        NotificationEvent::PlayerJoined(name) => {
            format!("{} joined {server}.", crate::chat::clean(name, MAX_NAME))
        }
        NotificationEvent::PlayerLeft(name) => {
            format!("{} left {server}.", crate::chat::clean(name, MAX_NAME))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChatRef, Platform};

    #[test]
    fn durations_use_at_most_two_units() {
        let s = Duration::from_secs;
        assert_eq!(format_duration(s(0)), "0 s");
        assert_eq!(format_duration(s(45)), "45 s");
        assert_eq!(format_duration(s(60)), "1 min");
        assert_eq!(format_duration(s(12 * 60 + 59)), "12 min");
        assert_eq!(format_duration(s(3 * 3600)), "3 h");
        assert_eq!(format_duration(s(3 * 3600 + 12 * 60)), "3 h 12 min");
        assert_eq!(format_duration(s(2 * 86_400)), "2 d");
        assert_eq!(format_duration(s(2 * 86_400 + 4 * 3600 + 59)), "2 d 4 h");
    }

    #[test]
    fn ratios_never_round_up_to_100() {
        assert_eq!(format_ratio(None), "no data");
        assert_eq!(format_ratio(Some(1.0)), "100 %");
        assert_eq!(format_ratio(Some(0.99999)), "99.99 %");
        assert_eq!(format_ratio(Some(0.5)), "50.00 %");
        assert_eq!(format_ratio(Some(0.0)), "0.00 %");
    }

    #[test]
    fn utc_minutes() {
        assert_eq!(format_utc_minute(Timestamp(0)), "1970-01-01 00:00 UTC");
        assert_eq!(
            format_utc_minute(Timestamp(1_764_569_400_000)),
            "2025-12-01 06:10 UTC"
        );
        // Seconds are cut, not rounded; 2024 is a leap year.
        assert_eq!(
            format_utc_minute(Timestamp(1_709_164_859_999)),
            "2024-02-29 00:00 UTC"
        );
    }

    #[test]
    fn icons_for_each_event() {
        let d = Duration::from_secs(1);
        assert_eq!(
            notification_icon(&NotificationEvent::WentDown { up_for: None }),
            "🔴"
        );
        assert_eq!(
            notification_icon(&NotificationEvent::CameBack { down_for: Some(d) }),
            "🟢"
        );
        assert_eq!(
            notification_icon(&NotificationEvent::PlayerJoined("a".into())),
            "👋"
        );
        assert_eq!(
            notification_icon(&NotificationEvent::PlayerLeft("a".into())),
            "🚪"
        );
    }

    #[test]
    fn sentences_for_each_event() {
        let n = |event| Notification {
            key: "k".into(),
            chat: ChatRef::new(Platform::Telegram, "1").expect("valid"),
            target: "bedrock:xn--bcher-kva.example".parse().expect("valid"),
            event,
            at: Timestamp(0),
        };
        let m = Duration::from_secs(60);
        assert_eq!(
            notification_text(&n(NotificationEvent::WentDown {
                up_for: Some(m * 192)
            })),
            "bedrock:bücher.example is down (it was up for 3 h 12 min)."
        );
        assert_eq!(
            notification_text(&n(NotificationEvent::WentDown { up_for: None })),
            "bedrock:bücher.example is down."
        );
        assert_eq!(
            notification_text(&n(NotificationEvent::CameBack {
                down_for: Some(m * 12)
            })),
            "bedrock:bücher.example is back up after 12 min."
        );
        assert_eq!(
            notification_text(&n(NotificationEvent::CameBack { down_for: None })),
            "bedrock:bücher.example is back up."
        );
        assert_eq!(
            notification_text(&n(NotificationEvent::PlayerJoined(
                "No\u{202e}tch\n".into()
            ))),
            "Notch joined bedrock:bücher.example."
        );
        assert_eq!(
            notification_text(&n(NotificationEvent::PlayerLeft("x".repeat(40)))),
            format!("{} left bedrock:bücher.example.", "x".repeat(32))
        );
    }
}
