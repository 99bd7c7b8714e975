//! Rendering an [`Answer`] or a [`Failure`]: a card for people, JSON for scripts.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::lookup::{Answer, Failure};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

/// A server-controlled string made safe for a terminal: control characters (ESC,
/// CR, BEL, NEL, ...) are dropped, so a hostile server cannot inject escape
/// sequences (title changes, cursor moves, fake lines) into the card. The MOTD is
/// already cleaned by `Motd`; this covers every other field shown.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The human card.
pub(crate) fn answer_card(a: &Answer, color: bool) -> String {
    let mut out = String::new();
    let latency = a
        .latency
        .map(|l| format!(", {} ms", ms(l)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} is {} ({}{latency})",
        paint(color, GREEN, "●"),
        paint(color, BOLD, &clean(&a.address)),
        paint(color, GREEN, "online"),
        a.protocol,
    );
    // `to_ansi` already drops the MOTD's control characters; `to_plain` keeps them.
    let motd = if color {
        a.motd.to_ansi()
    } else {
        a.motd.to_plain()
    };
    for line in motd.lines().filter(|l| !l.trim().is_empty()) {
        let line = if color { line.to_owned() } else { clean(line) };
        let _ = writeln!(out, "  {line}");
    }
    let label = |out: &mut String, name: &str, value: &str| {
        let _ = writeln!(
            out,
            "  {} {}",
            paint(color, DIM, &format!("{name:<9}")),
            clean(value)
        );
    };
    if let Some((name, protocol)) = &a.version {
        let v = match protocol {
            Some(p) => format!("{name} (protocol {p})"),
            None => name.clone(),
        };
        label(&mut out, "Version", &v);
    }
    if let Some(p) = &a.players {
        let mut v = format!("{}/{}", p.online, p.max);
        if let Some(names) = p.names.as_ref().filter(|n| !n.is_empty()) {
            let _ = write!(v, ": {}", names.join(", "));
        }
        label(&mut out, "Players", &v);
    }
    for (name, value) in &a.details {
        label(&mut out, name, value);
    }
    label(&mut out, "Address", &a.ip.to_string());
    if let Some(first) = &a.fallback_from {
        label(
            &mut out,
            "Note",
            &format!("the modern status failed ({first}); this is the legacy ping's answer"),
        );
    }
    out
}

/// The human message for a server that did not answer.
pub(crate) fn failure_card(f: &Failure, color: bool) -> String {
    let hint = match f.kind {
        "resolve" => "check the spelling of the address",
        "timeout" => "the server may be offline, or a firewall drops the packets; try --timeout 10",
        "connect" => {
            "nothing accepts connections there: the server is offline or the port is wrong"
        }
        "invalid" | "mismatch" => {
            "something answered, but not as a Minecraft server of this kind would"
        }
        _ => "the server closed the connection or the network failed",
    };
    format!(
        "{} {} is {}: {}\n  {}\n",
        paint(color, RED, "✗"),
        paint(color, BOLD, &clean(&f.address)),
        paint(color, RED, "not answering"),
        clean(&f.message),
        paint(color, DIM, hint),
    )
}

/// The `--json` object for an answer.
pub(crate) fn answer_json(a: &Answer) -> Value {
    let mut v = json!({
        "online": true,
        "protocol": a.protocol,
        "address": a.address,
        "ip": a.ip.to_string(),
        "srv": a.via_srv,
        "latency_ms": a.latency.map(ms),
        "motd": {
            "plain": a.motd.to_plain(),
            "html": a.motd.to_html(),
            "raw": a.motd_raw,
        },
        "version": a.version.as_ref().map(|(name, protocol)| json!({"name": name, "protocol": protocol})),
        "players": a.players.as_ref().map(|p| {
            let mut players = json!({"online": p.online, "max": p.max});
            if let Some(names) = &p.names {
                players["sample"] = json!(names);
            }
            players
        }),
        "status": a.status,
    });
    if let Some(first) = &a.fallback_from {
        v["fallback_from"] = json!(first);
    }
    v
}

/// The `--json` object for a failure.
pub(crate) fn failure_json(f: &Failure) -> Value {
    json!({
        "online": false,
        "address": f.address,
        "error": f.message,
        "error_kind": f.kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::Players;
    use mc_protocol::text::{Motd, Palette};

    fn hostile_answer() -> Answer {
        Answer {
            protocol: "query",
            address: "example.net:25565".into(),
            ip: "127.0.0.1:25565".parse().expect("ip"),
            via_srv: false,
            latency: None,
            motd: Motd::from_legacy("hi\x1b[2J", Palette::Java),
            motd_raw: Value::Null,
            version: Some(("1.20\x1b]0;owned\x07".into(), None)),
            players: Some(Players {
                online: 1,
                max: 2,
                names: Some(vec!["Alex\r\x1b[1A\x1b[2KSteve".into()]),
            }),
            details: vec![("Map", "world\u{9b}31m".into())],
            status: Value::Null,
            fallback_from: Some("bad\x1b[5m".into()),
        }
    }

    #[test]
    fn peer_strings_cannot_inject_terminal_escapes() {
        let card = answer_card(&hostile_answer(), false);
        assert!(
            !card.chars().any(|c| c.is_control() && c != '\n'),
            "{card:?}"
        );
        assert!(card.contains("Version   1.20]0;owned"), "{card:?}");
        assert!(card.contains("1/2: Alex[1A[2KSteve"), "{card:?}");
        // In colour the only escapes are ours.
        let card = answer_card(&hostile_answer(), true);
        assert!(!card.contains("\x1b]0"), "{card:?}");
        assert!(!card.contains('\r') && !card.contains('\u{9b}'), "{card:?}");
    }

    #[test]
    fn failure_messages_are_cleaned() {
        let f = Failure {
            address: "x:1".into(),
            kind: "invalid",
            message: "not a number: \x1b[31m".into(),
        };
        let card = failure_card(&f, false);
        assert!(!card.contains('\x1b'), "{card:?}");
    }
}
