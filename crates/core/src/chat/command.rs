//! The commands both bots offer, and the table `/help` and command registration are
//! generated from.

use super::view::{UserError, UserErrorKind};
use super::{EXAMPLE_ADDRESS, clean, quote_input};

/// One command as a user asks for it (already parsed by the bot or by
/// [`Command::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/start`: a welcome with a first example.
    Start,
    /// `/help`: every command.
    Help,
    /// `/about`: name, version, where the code lives.
    About,
    /// `/status [address]`: the status card. Without an address, the chat's last
    /// server.
    Status {
        /// What the user typed, unparsed (see [`super::parse_address`] for the rules).
        address: Option<String>,
    },
    /// `/players [address] [page]`: who is online. Without an address, the chat's
    /// last server.
    Players {
        /// What the user typed, unparsed.
        address: Option<String>,
        /// The page, **0-based** (text commands take a 1-based page number).
        page: usize,
    },
    /// `/watch`, `/unwatch`, `/watches`, `/uptime`: answered by the bot with the
    /// [`WatchService`](crate::watch::WatchService) (see [`super::watch`]);
    /// [`ChatService`](super::ChatService) does not serve them.
    Watch(WatchCommand),
}

/// The watch commands (see [`Command::Watch`]). Addresses are kept as typed; the bot
/// checks them with [`WatchCommand::target`](super::watch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchCommand {
    /// `/watch address [player…]`: tell this chat when the server goes down or comes
    /// back, and when one of `players` joins or leaves.
    Watch {
        /// What the user typed, unparsed (`None`: nothing).
        address: Option<String>,
        /// Player names to follow: the words after the address, a name with spaces
        /// in double quotes (see [`split_players`]).
        players: Vec<String>,
    },
    /// `/unwatch address`: stop watching.
    Unwatch {
        /// What the user typed, unparsed.
        address: Option<String>,
    },
    /// `/watches`: this chat's watches with their state and 24 h uptime.
    List,
    /// `/uptime address`: uptime over 24 h, 7 d, 30 d, 90 d and a year and the last
    /// outages (with their causes).
    Uptime {
        /// What the user typed, unparsed.
        address: Option<String>,
    },
    /// `/graph address [24h|7d|30d|90d|1y]`: a chart of players and latency (a PNG drawn by
    /// a [`ChartRenderer`](crate::ports::ChartRenderer)).
    Graph {
        /// What the user typed, unparsed.
        address: Option<String>,
        /// The range as typed (`None`: 24 h); see
        /// [`ChartRange`](crate::chart::ChartRange)'s `FromStr`.
        range: Option<String>,
    },
}

impl WatchCommand {
    /// The command's name without slash (`watch`), as in [`COMMANDS`].
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Watch { .. } => "watch",
            Self::Unwatch { .. } => "unwatch",
            Self::List => "watches",
            Self::Uptime { .. } => "uptime",
            Self::Graph { .. } => "graph",
        }
    }
}

/// One row of the command table: what `/help` lists and what bots register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandInfo {
    /// The name without slash: `status`.
    pub name: &'static str,
    /// The arguments in usage form (`[address]`), empty when there are none.
    pub args: &'static str,
    /// One line for menus and `/help` (at most 100 characters: Discord's limit).
    pub description: &'static str,
    /// The arguments one by one, for platforms with typed options (Discord).
    pub options: &'static [CommandOption],
}

/// One argument of a command, for platforms with typed options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandOption {
    /// The option name (`address`).
    pub name: &'static str,
    /// One line (at most 100 characters).
    pub description: &'static str,
    /// Its type.
    pub kind: OptionKind,
    /// Whether it must be given.
    pub required: bool,
}

/// The type of a [`CommandOption`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Free text (an address).
    Text,
    /// A whole number, at least 1 (a 1-based page number).
    Page,
}

const ADDRESS_OPTION: CommandOption = CommandOption {
    name: "address",
    description: "host or host:port; bedrock:host for Bedrock (default: this chat's last server)",
    kind: OptionKind::Text,
    required: false,
};

const PAGE_OPTION: CommandOption = CommandOption {
    name: "page",
    description: "page number, from 1",
    kind: OptionKind::Page,
    required: false,
};

const WATCH_ADDRESS_OPTION: CommandOption = CommandOption {
    name: "address",
    description: "host or host:port; bedrock:host for Bedrock",
    kind: OptionKind::Text,
    required: true,
};

const RANGE_OPTION: CommandOption = CommandOption {
    name: "range",
    description: "24h (default), 7d, 30d, 90d or 1y",
    kind: OptionKind::Text,
    required: false,
};

const PLAYERS_OPTION: CommandOption = CommandOption {
    name: "player",
    description: "player names to report joining and leaving, separated by spaces; \"Steve Smith\" in quotes",
    kind: OptionKind::Text,
    required: false,
};

/// Every command, in the order `/help` lists them.
pub const COMMANDS: &[CommandInfo] = &[
    CommandInfo {
        name: "start",
        args: "",
        description: "Welcome and a first example",
        options: &[],
    },
    CommandInfo {
        name: "help",
        args: "",
        description: "Every command and how to write an address",
        options: &[],
    },
    CommandInfo {
        name: "about",
        args: "",
        description: "What this bot is and where its code lives",
        options: &[],
    },
    CommandInfo {
        name: "status",
        args: "[address]",
        description: "Is a server online: MOTD, version, players, latency (last server if none given)",
        options: &[ADDRESS_OPTION],
    },
    CommandInfo {
        name: "players",
        args: "[address] [page]",
        description: "Who is online on a server (last server if none given)",
        options: &[ADDRESS_OPTION, PAGE_OPTION],
    },
    CommandInfo {
        name: "watch",
        args: "address [player…]",
        description: "Tell this chat when a server goes down or comes back (and when named players join)",
        options: &[WATCH_ADDRESS_OPTION, PLAYERS_OPTION],
    },
    CommandInfo {
        name: "unwatch",
        args: "address",
        description: "Stop watching a server in this chat",
        options: &[WATCH_ADDRESS_OPTION],
    },
    CommandInfo {
        name: "watches",
        args: "",
        description: "The servers this chat watches, with their state and 24 h uptime",
        options: &[],
    },
    CommandInfo {
        name: "uptime",
        args: "address",
        description: "Uptime of a server over 24 h, 7 d, 30 d, 90 d and 1 y, and its last outages",
        options: &[WATCH_ADDRESS_OPTION],
    },
    CommandInfo {
        name: "graph",
        args: "address [range]",
        description: "A chart of a server's players and latency over 24h, 7d, 30d, 90d or 1y (range; default 24h)",
        options: &[WATCH_ADDRESS_OPTION, RANGE_OPTION],
    },
];

/// The longest command line [`Command::parse`] looks at, in bytes.
pub const MAX_COMMAND_LEN: usize = 2048;

impl Command {
    /// The command's name without slash (`status`), as in [`COMMANDS`].
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Help => "help",
            Self::About => "about",
            Self::Status { .. } => "status",
            Self::Players { .. } => "players",
            Self::Watch(w) => w.name(),
        }
    }

    /// The bot a text command is addressed to: `Some("mcstat_bot")` for
    /// `/status@mcstat_bot ...`, `None` when the command names no bot. A bot in a
    /// group ignores commands addressed to another bot.
    #[must_use]
    pub fn addressee(line: &str) -> Option<&str> {
        let line = line.trim_start();
        let word = line.split(char::is_whitespace).next().unwrap_or(line);
        word.split_once('@')
            .map(|(_, bot)| bot)
            .filter(|b| !b.is_empty())
    }

    /// Parse a text command line: `/status play.example.net`,
    /// `/status@mcstat_bot play.example.net`, `/players play.example.net 2`,
    /// `players` (the slash is optional).
    ///
    /// The `@botname` suffix is dropped whatever it is; a bot that must ignore
    /// commands addressed to other bots checks it before calling this. For
    /// `/status` everything after the command is the address (so `/status foo bar`
    /// reaches the address check and gets its "no spaces" message); for `/players`
    /// a last word that is a number is the 1-based page.
    ///
    /// # Errors
    /// A [`UserError`] of kind [`UserErrorKind::UnknownCommand`] (with a pointer to
    /// `/help`) for anything that is not one of [`COMMANDS`], or
    /// [`UserErrorKind::BadArguments`] for a page number of 0, an over-long line or
    /// a `/watch` with an unclosed quote (see [`split_players`]).
    pub fn parse(line: &str) -> Result<Self, UserError> {
        if line.len() > MAX_COMMAND_LEN {
            return Err(UserError::new(
                UserErrorKind::BadArguments,
                format!(
                    "That message is too long for a command (at most {MAX_COMMAND_LEN} bytes). Try /status play.example.net"
                ),
            ));
        }
        let line = line.trim();
        let line = line.strip_prefix('/').unwrap_or(line);
        let (word, rest) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        let name = word.split_once('@').map_or(word, |(n, _)| n);
        let address = (!rest.is_empty()).then(|| rest.to_owned());
        match name.to_ascii_lowercase().as_str() {
            "start" => Ok(Self::Start),
            "help" => Ok(Self::Help),
            "about" => Ok(Self::About),
            "status" => Ok(Self::Status { address }),
            "players" => {
                let mut words: Vec<&str> = rest.split_whitespace().collect();
                let mut page = 0;
                if let Some(last) = words.last()
                    && !last.is_empty()
                    && last.bytes().all(|b| b.is_ascii_digit())
                {
                    match last.parse::<usize>() {
                        Ok(n) if n >= 1 => page = n - 1,
                        _ => {
                            return Err(UserError::new(
                                UserErrorKind::BadArguments,
                                format!(
                                    "“{}” is not a page number: pages start at 1. Try /players play.example.net 2",
                                    quote_input(last)
                                ),
                            ));
                        }
                    }
                    words.pop();
                }
                let address = (!words.is_empty()).then(|| words.join(" "));
                Ok(Self::Players { address, page })
            }
            "watch" => {
                // The address is the first word, as in every other command; only
                // the player names may be quoted.
                let (address, players) = match rest.split_once(char::is_whitespace) {
                    Some((a, p)) => (Some(a.to_owned()), split_players(p)?),
                    None => (address, Vec::new()),
                };
                Ok(Self::Watch(WatchCommand::Watch { address, players }))
            }
            "unwatch" => Ok(Self::Watch(WatchCommand::Unwatch { address })),
            "watches" => Ok(Self::Watch(WatchCommand::List)),
            "uptime" => Ok(Self::Watch(WatchCommand::Uptime { address })),
            "graph" => {
                let (address, range) = match rest.split_once(char::is_whitespace) {
                    Some((a, r)) => (Some(a.to_owned()), Some(r.trim().to_owned())),
                    None => (address, None),
                };
                Ok(Self::Watch(WatchCommand::Graph { address, range }))
            }
            _ => Err(UserError::new(
                UserErrorKind::UnknownCommand,
                format!(
                    "I don't know the command “/{}”. Try /help to see every command, or /status play.example.net",
                    clean(name, 32)
                ),
            )),
        }
    }
}

/// Whether `c` opens or closes a quoted player name: the ASCII double quote and the
/// typographic ones phones insert (`“ ”` in English, `„ “` in German, `„ ”` in
/// Polish, `” ”` in Swedish). Any of them closes a quote any of them opened (a name
/// never contains one).
const fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201c}' | '\u{201d}' | '\u{201e}')
}

/// Player names as typed after `/watch address` (or in Discord's `players` option):
/// separated by spaces or commas, a name with spaces in double quotes —
/// `"Steve Smith" Notch` is `Steve Smith` and `Notch`. Typographic quotes (`“…”`,
/// `„…“`) work too. A quote inside a word joins like in a shell (`Steve" "Smith` is
/// `Steve Smith`); empty names (`""`) are dropped. The names are not checked here:
/// [`WatchService::watch`](crate::watch::WatchService::watch) does that.
///
/// # Errors
/// [`UserErrorKind::BadArguments`] when a quote is not closed, saying how to quote.
pub fn split_players(input: &str) -> Result<Vec<String>, UserError> {
    let mut names = Vec::new();
    let mut name = String::new();
    let mut quoted = false;
    for c in input.chars() {
        if is_quote(c) {
            quoted = !quoted;
        } else if !quoted && (c.is_whitespace() || c == ',') {
            if !name.is_empty() {
                names.push(std::mem::take(&mut name));
            }
        } else {
            name.push(c);
        }
    }
    if quoted {
        return Err(UserError::new(
            UserErrorKind::BadArguments,
            format!(
                "A quote is not closed. Put a player name with spaces between two double quotes. Try /watch {EXAMPLE_ADDRESS} \"Steve Smith\" Notch"
            ),
        ));
    }
    if !name.is_empty() {
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_with_bot_suffix_and_pages() {
        assert_eq!(Command::parse("/start"), Ok(Command::Start));
        assert_eq!(Command::parse("/HELP@mcstat_bot"), Ok(Command::Help));
        assert_eq!(
            Command::parse("/status@bot  play.example.net "),
            Ok(Command::Status {
                address: Some("play.example.net".into())
            })
        );
        assert_eq!(
            Command::parse("/status foo bar"),
            Ok(Command::Status {
                address: Some("foo bar".into())
            })
        );
        assert_eq!(
            Command::parse("/players a.example 3"),
            Ok(Command::Players {
                address: Some("a.example".into()),
                page: 2
            })
        );
        assert_eq!(
            Command::parse("/players 2"),
            Ok(Command::Players {
                address: None,
                page: 1
            })
        );
        assert_eq!(
            Command::parse("players"),
            Ok(Command::Players {
                address: None,
                page: 0
            })
        );
        let e = Command::parse("/players a.example 0").expect_err("page 0");
        assert_eq!(e.kind, UserErrorKind::BadArguments);
        let e = Command::parse("/players a.example 99999999999999999999999").expect_err("huge");
        assert_eq!(e.kind, UserErrorKind::BadArguments);
        let e = Command::parse("/frobnicate").expect_err("unknown");
        assert_eq!(e.kind, UserErrorKind::UnknownCommand);
        assert!(e.message.contains("/help"), "{}", e.message);
    }

    #[test]
    fn parses_watch_commands() {
        assert_eq!(
            Command::parse("/watch@bot a.example:25566 Notch  jeb_"),
            Ok(Command::Watch(WatchCommand::Watch {
                address: Some("a.example:25566".into()),
                players: vec!["Notch".into(), "jeb_".into()],
            }))
        );
        assert_eq!(
            Command::parse("/watch"),
            Ok(Command::Watch(WatchCommand::Watch {
                address: None,
                players: Vec::new(),
            }))
        );
        assert_eq!(
            Command::parse("/unwatch bedrock:pe.example"),
            Ok(Command::Watch(WatchCommand::Unwatch {
                address: Some("bedrock:pe.example".into())
            }))
        );
        assert_eq!(
            Command::parse("/WATCHES"),
            Ok(Command::Watch(WatchCommand::List))
        );
        assert_eq!(
            Command::parse("/uptime a.example"),
            Ok(Command::Watch(WatchCommand::Uptime {
                address: Some("a.example".into())
            }))
        );
        assert_eq!(Command::parse("/uptime").map(|c| c.name()), Ok("uptime"));
        assert_eq!(
            Command::parse("/graph a.example  7d"),
            Ok(Command::Watch(WatchCommand::Graph {
                address: Some("a.example".into()),
                range: Some("7d".into()),
            }))
        );
        assert_eq!(
            Command::parse("/graph a.example"),
            Ok(Command::Watch(WatchCommand::Graph {
                address: Some("a.example".into()),
                range: None,
            }))
        );
    }

    #[test]
    fn watch_takes_quoted_player_names() {
        let watch = |line: &str| match Command::parse(line) {
            Ok(Command::Watch(WatchCommand::Watch { address, players })) => (address, players),
            other => panic!("{line}: {other:?}"),
        };
        let (address, players) = watch("/watch play.example.net \"Steve Smith\" Notch");
        assert_eq!(address.as_deref(), Some("play.example.net"));
        assert_eq!(players, ["Steve Smith", "Notch"]);
        // Phones' typographic quotes: English, German, Polish, Swedish.
        for line in [
            "/watch a.example “Steve Smith” Notch",
            "/watch a.example „Steve Smith“ Notch",
            "/watch a.example „Steve Smith” Notch",
            "/watch a.example ”Steve Smith” Notch",
            "/watch a.example Steve\" \"Smith, Notch",
            "/watch a.example \"Steve Smith\",Notch \"\"",
        ] {
            assert_eq!(watch(line).1, ["Steve Smith", "Notch"], "{line}");
        }
        // Inner spaces are kept as typed: the service refuses double ones.
        assert_eq!(watch("/watch a.example \" A  B \"").1, [" A  B "]);
        // The address is the first word as in every other command (a quoted one is
        // refused as an address later, by every command alike).
        assert_eq!(
            watch("/watch \"a.example\"").0.as_deref(),
            Some("\"a.example\"")
        );
        assert_eq!(watch("/watch a.example").1, Vec::<String>::new());
        for line in [
            "/watch a.example \"Steve Smith",
            "/watch a.example “Steve",
            "/watch a.example Notch \"",
        ] {
            let e = Command::parse(line).expect_err(line);
            assert_eq!(e.kind, UserErrorKind::BadArguments);
            assert!(e.message.contains("quote is not closed"), "{}", e.message);
            assert!(
                e.message
                    .contains("Try /watch play.example.net \"Steve Smith\" Notch"),
                "{}",
                e.message
            );
        }
        assert_eq!(split_players(""), Ok(Vec::new()));
        assert_eq!(split_players(" , ,"), Ok(Vec::new()));
    }

    #[test]
    fn the_parsers_message_is_cleaned_too() {
        // Found by the proptest below: the address parser quotes the host it refuses.
        let e = crate::chat::parse_address("a\u{7f}b.example").expect_err("bad");
        assert!(!e.message.chars().any(char::is_control), "{:?}", e.message);
        assert!(e.message.contains("Try /status"), "{}", e.message);
    }

    #[test]
    fn addressee_names_the_bot() {
        assert_eq!(
            Command::addressee("/status@mcstat_bot a.example"),
            Some("mcstat_bot")
        );
        assert_eq!(Command::addressee("  /help@other"), Some("other"));
        assert_eq!(Command::addressee("/status a@b.example"), None);
        assert_eq!(Command::addressee("/status@ a.example"), None);
        assert_eq!(Command::addressee(""), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_errors_say_what_to_type(line in "/?([a-z]{1,8}|\\PC{0,20})(@[a-z_]{0,10})?( ([a-z0-9.:,\"“”„]|\\PC|[\\x00-\\x1f]){0,60}){0,3}") {
            if let Err(e) = Command::parse(&line) {
                proptest::prop_assert!(e.message.contains("Try /"), "{}", e.message);
            }
        }

        #[test]
        fn watch_with_quotes_never_panics(rest in "([a-zA-Z0-9 ,_.\"“”„]|\\PC|[\\x00-\\x1f]){0,80}") {
            match Command::parse(&format!("/watch {rest}")) {
                Ok(Command::Watch(WatchCommand::Watch { address, players })) => {
                    // No quote survives in a name and no name is empty.
                    for w in &players {
                        proptest::prop_assert!(!w.is_empty() && !w.chars().any(is_quote), "{:?}", w);
                    }
                    proptest::prop_assert!(address.is_some() || players.is_empty());
                }
                Ok(other) => proptest::prop_assert!(false, "{:?}", other),
                Err(e) => {
                    proptest::prop_assert_eq!(e.kind, UserErrorKind::BadArguments);
                    proptest::prop_assert!(e.message.contains("Try /watch"), "{}", e.message);
                    // An odd number of quotes among the names is the only way to fail.
                    let trimmed = format!("/watch {rest}");
                    let after_command = trimmed.trim().split_once(char::is_whitespace).map_or("", |(_, r)| r.trim());
                    let names = after_command.split_once(char::is_whitespace).map_or("", |(_, n)| n);
                    proptest::prop_assert!(names.chars().filter(|c| is_quote(*c)).count() % 2 == 1);
                }
            }
        }

        #[test]
        fn bad_addresses_always_get_a_suggestion(input in "([a-z.:\\[\\]]|\\PC|[\\x00-\\x1f\\x7f\\u{202e}])*") {
            if let Err(e) = crate::chat::parse_address(&input) {
                proptest::prop_assert_eq!(e.kind, UserErrorKind::BadAddress);
                proptest::prop_assert!(e.message.contains("Try /status"), "{}", e.message);
                proptest::prop_assert!(
                    !e.message.chars().any(|c| c.is_control() || c == '\u{202e}'),
                    "{:?}",
                    e.message
                );
            }
        }
    }

    #[test]
    fn every_command_is_in_the_table() {
        for c in [
            Command::Start,
            Command::Help,
            Command::About,
            Command::Status { address: None },
            Command::Players {
                address: None,
                page: 0,
            },
            Command::Watch(WatchCommand::Watch {
                address: None,
                players: Vec::new(),
            }),
            Command::Watch(WatchCommand::Unwatch { address: None }),
            Command::Watch(WatchCommand::List),
            Command::Watch(WatchCommand::Uptime { address: None }),
            Command::Watch(WatchCommand::Graph {
                address: None,
                range: None,
            }),
        ] {
            assert!(COMMANDS.iter().any(|i| i.name == c.name()), "{}", c.name());
        }
        for info in COMMANDS {
            assert!(info.description.len() <= 100, "{}", info.name);
            for o in info.options {
                assert!(o.description.len() <= 100, "{}", o.name);
                assert!(info.args.contains(o.name), "{} lists {}", info.name, o.name);
            }
            assert!(Command::parse(info.name).is_ok(), "{}", info.name);
        }
    }
}
