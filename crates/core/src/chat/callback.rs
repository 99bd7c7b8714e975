//! Button data: what a button press sends back (see [`CallbackData`]).

use crate::domain::Target;

/// The longest encoded callback data: Telegram's limit, in bytes.
pub const MAX_CALLBACK_LEN: usize = 64;

/// The highest page number a callback may carry.
pub const MAX_CALLBACK_PAGE: usize = 99_999;

/// Which server a button is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRef {
    /// The chat's last server (`~`).
    Last,
    /// This server.
    Server(Target),
}

/// What a button asks for, encoded compactly.
///
/// Telegram limits callback data to 64 bytes and Discord a `custom_id` to 100, so
/// the encoding is short text, `|`-separated, with the target last (it is the only
/// part that may contain `:`):
///
/// | data                | meaning |
/// |---------------------|---------|
/// | `a`                 | about |
/// | `h`                 | help |
/// | `s\|<t>`            | status of `<t>` |
/// | `p\|<page>\|<t>`    | players of `<t>`, page `<page>` (0-based) |
/// | `r\|s\|<t>`         | refresh the status (a cached answer must be recent) |
/// | `r\|p\|<page>\|<t>` | refresh a players page |
///
/// `<t>` is a target in its text form (`play.example.net:25566`,
/// `bedrock:pe.example.net`) or `~`, the chat's last server. [`CallbackData::encode`]
/// falls back to `~` when the target would make the data longer than
/// [`MAX_CALLBACK_LEN`]. [`CallbackData::decode`] refuses anything else with a
/// [`CallbackError`] (stale data from an older version, data from another bot,
/// garbage): never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackData {
    /// The about card.
    About,
    /// The help list.
    Help,
    /// A status card.
    Status {
        /// Which server.
        target: TargetRef,
        /// Refresh: a cached answer is used only if it is very recent.
        refresh: bool,
    },
    /// A players page.
    Players {
        /// Which server.
        target: TargetRef,
        /// The page, 0-based.
        page: usize,
        /// Refresh: a cached answer is used only if it is very recent.
        refresh: bool,
    },
}

/// Why callback data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// Longer than [`MAX_CALLBACK_LEN`]: not ours.
    #[error("callback data is too long")]
    TooLong,
    /// Not one of the known forms.
    #[error("unknown callback data")]
    Unknown,
    /// A page that is not a number in `0..=MAX_CALLBACK_PAGE`.
    #[error("bad page number in callback data")]
    BadPage,
    /// The target is not an address.
    #[error("bad target in callback data")]
    BadTarget,
}

fn encode_target(t: &TargetRef) -> String {
    match t {
        TargetRef::Last => "~".to_owned(),
        TargetRef::Server(t) => t.to_string(),
    }
}

fn decode_target(s: &str) -> Result<TargetRef, CallbackError> {
    if s == "~" {
        return Ok(TargetRef::Last);
    }
    s.parse::<Target>()
        .map(TargetRef::Server)
        .map_err(|_| CallbackError::BadTarget)
}

fn decode_page(s: &str) -> Result<usize, CallbackError> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CallbackError::BadPage);
    }
    s.parse().map_err(|_| CallbackError::BadPage)
}

impl CallbackData {
    fn encode_with(&self, target: Option<&TargetRef>) -> String {
        let t = |own: &TargetRef| encode_target(target.unwrap_or(own));
        match self {
            Self::About => "a".to_owned(),
            Self::Help => "h".to_owned(),
            Self::Status {
                target: own,
                refresh,
            } => format!("{}s|{}", if *refresh { "r|" } else { "" }, t(own)),
            Self::Players {
                target: own,
                page,
                refresh,
            } => format!(
                "{}p|{}|{}",
                if *refresh { "r|" } else { "" },
                page.min(&MAX_CALLBACK_PAGE),
                t(own)
            ),
        }
    }

    /// The compact text form, at most [`MAX_CALLBACK_LEN`] bytes: a target too long
    /// to fit is replaced by `~` (the chat's last server). Pages above
    /// [`MAX_CALLBACK_PAGE`] are clamped.
    #[must_use]
    pub fn encode(&self) -> String {
        let full = self.encode_with(None);
        if full.len() <= MAX_CALLBACK_LEN {
            full
        } else {
            self.encode_with(Some(&TargetRef::Last))
        }
    }

    /// Parse data a button sent back.
    ///
    /// # Errors
    /// [`CallbackError`] for anything [`encode`](Self::encode) does not produce.
    pub fn decode(data: &str) -> Result<Self, CallbackError> {
        if data.len() > MAX_CALLBACK_LEN {
            return Err(CallbackError::TooLong);
        }
        let (refresh, rest) = match data.strip_prefix("r|") {
            Some(rest) => (true, rest),
            None => (false, data),
        };
        match rest.split_once('|') {
            None if !refresh && rest == "a" => Ok(Self::About),
            None if !refresh && rest == "h" => Ok(Self::Help),
            Some(("s", t)) => Ok(Self::Status {
                target: decode_target(t)?,
                refresh,
            }),
            Some(("p", rest)) => {
                let (page, t) = rest.split_once('|').ok_or(CallbackError::Unknown)?;
                Ok(Self::Players {
                    page: decode_page(page)?,
                    target: decode_target(t)?,
                    refresh,
                })
            }
            _ => Err(CallbackError::Unknown),
        }
    }
}

/// A button under a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// What it says (may start with an emoji).
    pub label: String,
    /// Encoded [`CallbackData`], at most [`MAX_CALLBACK_LEN`] bytes.
    pub data: String,
}

impl Button {
    /// A button that sends `data` back.
    #[must_use]
    pub fn new(label: impl Into<String>, data: &CallbackData) -> Self {
        Self {
            label: label.into(),
            data: data.encode(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn target(s: &str) -> Target {
        s.parse().expect("valid target")
    }

    #[test]
    fn known_forms() {
        let t = TargetRef::Server(target("bedrock:pe.example.net:19133"));
        let cases = [
            (CallbackData::About, "a"),
            (CallbackData::Help, "h"),
            (
                CallbackData::Status {
                    target: t,
                    refresh: false,
                },
                "s|bedrock:pe.example.net:19133",
            ),
            (
                CallbackData::Players {
                    target: TargetRef::Last,
                    page: 3,
                    refresh: true,
                },
                "r|p|3|~",
            ),
            (
                CallbackData::Status {
                    target: TargetRef::Server(target("[2001:db8::1]:25566")),
                    refresh: true,
                },
                "r|s|[2001:db8::1]:25566",
            ),
        ];
        for (data, text) in cases {
            assert_eq!(data.encode(), text);
            assert_eq!(CallbackData::decode(text), Ok(data));
        }
    }

    #[test]
    fn long_target_falls_back_to_last_server() {
        let long = format!("{}.example.net", "a".repeat(60));
        let data = CallbackData::Players {
            target: TargetRef::Server(target(&long)),
            page: 2,
            refresh: false,
        };
        assert_eq!(data.encode(), "p|2|~");
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "x",
            "a|",
            "r|a",
            "s|",
            "s|foo bar",
            "s|http://x",
            "p|x|~",
            "p||~",
            "p|1",
            "p|-1|~",
            "p|123456|~",
            "r|r|s|~",
            "s|~|",
            "\u{0}",
            &"s|".repeat(40),
        ] {
            assert!(CallbackData::decode(bad).is_err(), "{bad:?} must fail");
        }
    }

    fn arb_target() -> impl Strategy<Value = Target> {
        let host = prop_oneof![
            "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,4}".prop_map(|s| s),
            any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
            any::<u128>().prop_map(|v| format!("[{}]", std::net::Ipv6Addr::from(v))),
        ];
        (host, proptest::option::of(1u16..), any::<bool>()).prop_filter_map(
            "valid address",
            |(host, port, bedrock)| {
                let mut s = if bedrock {
                    format!("bedrock:{host}")
                } else {
                    host
                };
                if let Some(p) = port {
                    s = format!("{s}:{p}");
                }
                s.parse().ok()
            },
        )
    }

    fn arb_data() -> impl Strategy<Value = CallbackData> {
        let tref = prop_oneof![
            Just(TargetRef::Last),
            arb_target().prop_map(TargetRef::Server)
        ];
        prop_oneof![
            Just(CallbackData::About),
            Just(CallbackData::Help),
            (tref.clone(), any::<bool>())
                .prop_map(|(target, refresh)| CallbackData::Status { target, refresh }),
            (tref, 0..=MAX_CALLBACK_PAGE, any::<bool>()).prop_map(|(target, page, refresh)| {
                CallbackData::Players {
                    target,
                    page,
                    refresh,
                }
            }),
        ]
    }

    fn with_last(data: &CallbackData) -> CallbackData {
        match data.clone() {
            CallbackData::Status { refresh, .. } => CallbackData::Status {
                target: TargetRef::Last,
                refresh,
            },
            CallbackData::Players { page, refresh, .. } => CallbackData::Players {
                target: TargetRef::Last,
                page,
                refresh,
            },
            other => other,
        }
    }

    proptest! {
        #[test]
        fn round_trips_within_the_limit(data in arb_data()) {
            let text = data.encode();
            prop_assert!(text.len() <= MAX_CALLBACK_LEN, "{text}");
            let back = CallbackData::decode(&text).expect("decodes");
            if data.encode_with(None).len() <= MAX_CALLBACK_LEN {
                prop_assert_eq!(back, data);
            } else {
                // Only a target too long to fit falls back to the last server.
                prop_assert_eq!(back, with_last(&data));
            }
        }

        #[test]
        fn decode_never_panics(s in "\\PC{0,80}") {
            let _ = CallbackData::decode(&s);
        }
    }
}
