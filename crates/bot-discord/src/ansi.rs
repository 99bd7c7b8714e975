//! A MOTD as Discord shows colours: an ```` ```ansi ```` code block with the subset of
//! SGR codes Discord renders (reset, bold, underline, foreground 30–37).
//!
//! Discord's eight foreground colours are gray (30), red, green, yellow, blue, pink,
//! cyan and white (37); each Minecraft colour (hex colours via their nearest of the 16
//! Java colours) maps to the nearest of them. Italic, strikethrough and obfuscated are
//! not rendered by Discord and are dropped.

use mc_protocol::text::{Motd, NamedColor};

/// The most bytes of MOTD text put in a block (an embed description holds 4096
/// characters; escapes and the fence take the rest).
pub const MAX_MOTD_BYTES: usize = 2000;

/// The Discord ANSI foreground code for a Minecraft colour.
#[must_use]
pub const fn discord_color(color: NamedColor) -> u8 {
    match color {
        NamedColor::Black | NamedColor::DarkGray => 30,
        NamedColor::DarkRed | NamedColor::Red => 31,
        NamedColor::DarkGreen | NamedColor::Green => 32,
        NamedColor::Gold | NamedColor::Yellow => 33,
        NamedColor::DarkBlue | NamedColor::Blue => 34,
        NamedColor::DarkPurple | NamedColor::LightPurple => 35,
        NamedColor::DarkAqua | NamedColor::Aqua => 36,
        _ => 37,
    }
}

/// The MOTD's text with Discord ANSI escapes, without the fence. Control characters
/// other than newline are dropped, and backticks cannot form a closing fence (a zero
/// width space follows each). At most [`MAX_MOTD_BYTES`] bytes of text.
#[must_use]
pub fn motd_ansi(motd: &Motd) -> String {
    let mut out = String::new();
    let mut budget = MAX_MOTD_BYTES;
    for span in &motd.spans {
        if budget == 0 {
            break;
        }
        let mut text = String::new();
        for c in span.text.chars() {
            if c.is_control() && c != '\n' {
                continue;
            }
            let need = c.len_utf8() + if c == '`' { 3 } else { 0 };
            if need > budget {
                budget = 0;
                break;
            }
            budget -= need;
            text.push(c);
            if c == '`' {
                text.push('\u{200b}');
            }
        }
        if text.is_empty() {
            continue;
        }
        let style = span.style;
        out.push_str("\u{1b}[0");
        if style.bold {
            out.push_str(";1");
        }
        if style.underlined {
            out.push_str(";4");
        }
        if let Some(color) = style.color {
            out.push_str(&format!(";{}", discord_color(color.nearest_java())));
        }
        out.push('m');
        out.push_str(&text);
    }
    if !out.is_empty() {
        out.push_str("\u{1b}[0m");
    }
    out
}

/// The MOTD in an ```` ```ansi ```` block, or `None` when it has no visible text.
#[must_use]
pub fn motd_block(motd: &Motd) -> Option<String> {
    if motd.to_plain().trim().is_empty() {
        return None;
    }
    Some(format!("```ansi\n{}\n```", motd_ansi(motd)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mc_protocol::text::Palette;

    #[test]
    fn colours_bold_underline_and_reset() {
        let motd = Motd::from_legacy("§a§lHello §r§9§nworld§r plain", Palette::Java);
        assert_eq!(
            motd_ansi(&motd),
            "\u{1b}[0;1;32mHello \u{1b}[0;4;34mworld\u{1b}[0m plain\u{1b}[0m"
        );
    }

    #[test]
    fn hex_colours_map_to_the_nearest() {
        let motd = Motd::from_component_str(r##"{"text":"x","color":"#FF0000"}"##).expect("json");
        assert_eq!(motd_ansi(&motd), "\u{1b}[0;31mx\u{1b}[0m");
    }

    #[test]
    fn hostile_text_cannot_escape_the_block() {
        let motd = Motd::from_legacy("```\n@everyone\u{1b}[2J\u{7}", Palette::Java);
        let block = motd_block(&motd).expect("visible");
        assert_eq!(block.matches("```").count(), 2, "{block:?}");
        assert!(!block.contains("\u{1b}[2J"));
        assert!(!block.contains('\u{7}'));
    }

    #[test]
    fn long_motd_is_bounded_and_empty_has_no_block() {
        let motd = Motd::from_legacy(&"§cé".repeat(5000), Palette::Java);
        assert!(motd_ansi(&motd).len() < MAX_MOTD_BYTES + 64);
        assert_eq!(motd_block(&Motd::from_legacy("§a  ", Palette::Java)), None);
    }
}
