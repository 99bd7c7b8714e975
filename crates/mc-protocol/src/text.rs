//! MOTD text: legacy `§` codes and Java chat components, rendered to plain text,
//! ANSI and HTML (sans-IO).
//!
//! A [`Motd`] is a list of [`Span`]s, each a run of text with one [`Style`]. It is
//! built from
//! - [`Motd::from_legacy`]: a string with `§` formatting codes, read with a
//!   [`Palette`] (Java and Bedrock disagree on several codes, see below), or
//! - [`Motd::from_component`]: a Java chat component (the status `description`):
//!   a string, an object with `text`/`translate`/`extra`/style fields, or an array,
//!
//! and rendered with [`Motd::to_plain`], [`Motd::to_ansi`], [`Motd::to_html`] or
//! [`Motd::to_legacy`]. Constructors normalise: empty spans are dropped and
//! neighbours with the same style are merged, so two equal texts compare equal.
//!
//! # Legacy codes
//! `§` followed by one character (case-insensitive):
//!
//! | code | Java | Bedrock |
//! |------|------|---------|
//! | `0`–`9`, `a`–`f` | the 16 colours | the same 16 colours |
//! | `g h i j p q s t u v` | (unknown) | minecoin gold and material colours |
//! | `m` | strikethrough | colour `material_redstone` |
//! | `n` | underlined | colour `material_copper` |
//! | `k l o` | obfuscated, bold, italic | the same |
//! | `r` | reset | reset |
//! | `x` + `§R§R§G§G§B§B` | 24-bit colour (the Spigot/BungeeCord form) | (unknown) |
//!
//! A colour code resets bold/italic/... on Java (as the vanilla client does); on
//! Bedrock formatting persists across colour codes. `§r` returns to the base style
//! (no style for [`Motd::from_legacy`], the component's style inside a component).
//!
//! **Unknown codes are dropped** together with their `§`, and so is a `§` at the end
//! of the text: this is what the vanilla Java client does, and it means the text of
//! a parsed MOTD never contains a `§`.
//!
//! # Chat components
//! Children (`extra`, and the elements after the first of an array) inherit the
//! parent's style and may override each field. Content: `text` (a string, number or
//! boolean; `§` codes inside apply, as in the vanilla client), `translate` with
//! `with` arguments (`%s`, `%1$s`, `%%`; an unknown key shows its `fallback`, else
//! the key itself; a malformed format shows the format string itself), `score.value`,
//! `selector` and `keybind` (shown as written); `nbt` shows nothing. Colours are the
//! 16 Java names or `#RRGGBB`; an unknown colour leaves the inherited one.
//!
//! Hostile components are bounded: nesting deeper than [`Motd::MAX_DEPTH`] is
//! ignored, at most [`Motd::MAX_NODES`] components are visited, and output stops at
//! [`Motd::MAX_TEXT_LEN`] bytes (translation arguments repeated many times count
//! every time). The result is then truncated, never an error.

use std::fmt::{self, Write as _};

use serde_json::Value;

use crate::DecodeError;

/// Which edition's legacy formatting codes to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Palette {
    /// Java Edition: 16 colours, `§k`–`§o` formatting, `§x` hex colours.
    #[default]
    Java,
    /// Bedrock Edition: 16 colours plus minecoin gold and 11 material colours;
    /// `§m`/`§n` are colours, not strikethrough/underline.
    Bedrock,
}

/// A colour with a name: the 16 shared colours and the Bedrock-only ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedColor {
    /// `§0` `black`, #000000 (Java and Bedrock).
    Black,
    /// `§1` `dark_blue`, #0000AA (Java and Bedrock).
    DarkBlue,
    /// `§2` `dark_green`, #00AA00 (Java and Bedrock).
    DarkGreen,
    /// `§3` `dark_aqua`, #00AAAA (Java and Bedrock).
    DarkAqua,
    /// `§4` `dark_red`, #AA0000 (Java and Bedrock).
    DarkRed,
    /// `§5` `dark_purple`, #AA00AA (Java and Bedrock).
    DarkPurple,
    /// `§6` `gold`, #FFAA00 (Java and Bedrock).
    Gold,
    /// `§7` `gray`, #AAAAAA (Java and Bedrock).
    Gray,
    /// `§8` `dark_gray`, #555555 (Java and Bedrock).
    DarkGray,
    /// `§9` `blue`, #5555FF (Java and Bedrock).
    Blue,
    /// `§a` `green`, #55FF55 (Java and Bedrock).
    Green,
    /// `§b` `aqua`, #55FFFF (Java and Bedrock).
    Aqua,
    /// `§c` `red`, #FF5555 (Java and Bedrock).
    Red,
    /// `§d` `light_purple`, #FF55FF (Java and Bedrock).
    LightPurple,
    /// `§e` `yellow`, #FFFF55 (Java and Bedrock).
    Yellow,
    /// `§f` `white`, #FFFFFF (Java and Bedrock).
    White,
    /// `§g` `minecoin_gold`, #DDD605 (Bedrock only).
    MinecoinGold,
    /// `§h` `material_quartz`, #E3D4D1 (Bedrock only).
    MaterialQuartz,
    /// `§i` `material_iron`, #CECACA (Bedrock only).
    MaterialIron,
    /// `§j` `material_netherite`, #443A3B (Bedrock only).
    MaterialNetherite,
    /// `§m` `material_redstone`, #971607 (Bedrock only).
    MaterialRedstone,
    /// `§n` `material_copper`, #B4684D (Bedrock only).
    MaterialCopper,
    /// `§p` `material_gold`, #DEB12D (Bedrock only).
    MaterialGold,
    /// `§q` `material_emerald`, #47A036 (Bedrock only).
    MaterialEmerald,
    /// `§s` `material_diamond`, #2CBAA8 (Bedrock only).
    MaterialDiamond,
    /// `§t` `material_lapis`, #21497B (Bedrock only).
    MaterialLapis,
    /// `§u` `material_amethyst`, #9A5CC6 (Bedrock only).
    MaterialAmethyst,
    /// `§v` `material_resin`, #EB7114 (Bedrock only).
    MaterialResin,
}

/// (code, name, RGB, ANSI 16-colour SGR foreground), indexed by `NamedColor as usize`.
/// Values from the Minecraft wiki's "Formatting codes" page.
const COLORS: [(char, &str, [u8; 3], u8); 28] = [
    ('0', "black", [0x00, 0x00, 0x00], 30),
    ('1', "dark_blue", [0x00, 0x00, 0xAA], 34),
    ('2', "dark_green", [0x00, 0xAA, 0x00], 32),
    ('3', "dark_aqua", [0x00, 0xAA, 0xAA], 36),
    ('4', "dark_red", [0xAA, 0x00, 0x00], 31),
    ('5', "dark_purple", [0xAA, 0x00, 0xAA], 35),
    ('6', "gold", [0xFF, 0xAA, 0x00], 33),
    ('7', "gray", [0xAA, 0xAA, 0xAA], 37),
    ('8', "dark_gray", [0x55, 0x55, 0x55], 90),
    ('9', "blue", [0x55, 0x55, 0xFF], 94),
    ('a', "green", [0x55, 0xFF, 0x55], 92),
    ('b', "aqua", [0x55, 0xFF, 0xFF], 96),
    ('c', "red", [0xFF, 0x55, 0x55], 91),
    ('d', "light_purple", [0xFF, 0x55, 0xFF], 95),
    ('e', "yellow", [0xFF, 0xFF, 0x55], 93),
    ('f', "white", [0xFF, 0xFF, 0xFF], 97),
    ('g', "minecoin_gold", [0xDD, 0xD6, 0x05], 0),
    ('h', "material_quartz", [0xE3, 0xD4, 0xD1], 0),
    ('i', "material_iron", [0xCE, 0xCA, 0xCA], 0),
    ('j', "material_netherite", [0x44, 0x3A, 0x3B], 0),
    ('m', "material_redstone", [0x97, 0x16, 0x07], 0),
    ('n', "material_copper", [0xB4, 0x68, 0x4D], 0),
    ('p', "material_gold", [0xDE, 0xB1, 0x2D], 0),
    ('q', "material_emerald", [0x47, 0xA0, 0x36], 0),
    ('s', "material_diamond", [0x2C, 0xBA, 0xA8], 0),
    ('t', "material_lapis", [0x21, 0x49, 0x7B], 0),
    ('u', "material_amethyst", [0x9A, 0x5C, 0xC6], 0),
    ('v', "material_resin", [0xEB, 0x71, 0x14], 0),
];

impl NamedColor {
    /// Every named colour: the 16 Java ones first, then the Bedrock-only ones.
    pub const ALL: [Self; 28] = [
        Self::Black,
        Self::DarkBlue,
        Self::DarkGreen,
        Self::DarkAqua,
        Self::DarkRed,
        Self::DarkPurple,
        Self::Gold,
        Self::Gray,
        Self::DarkGray,
        Self::Blue,
        Self::Green,
        Self::Aqua,
        Self::Red,
        Self::LightPurple,
        Self::Yellow,
        Self::White,
        Self::MinecoinGold,
        Self::MaterialQuartz,
        Self::MaterialIron,
        Self::MaterialNetherite,
        Self::MaterialRedstone,
        Self::MaterialCopper,
        Self::MaterialGold,
        Self::MaterialEmerald,
        Self::MaterialDiamond,
        Self::MaterialLapis,
        Self::MaterialAmethyst,
        Self::MaterialResin,
    ];

    /// The legacy code character (lowercase), e.g. `'c'` for red, `'m'` for
    /// material redstone (Bedrock).
    #[must_use]
    pub const fn code(self) -> char {
        COLORS[self as usize].0
    }

    /// The name used in chat components and on the wiki, e.g. `"light_purple"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        COLORS[self as usize].1
    }

    /// The colour as red, green, blue.
    #[must_use]
    pub const fn rgb(self) -> (u8, u8, u8) {
        let [r, g, b] = COLORS[self as usize].2;
        (r, g, b)
    }

    /// Whether Java Edition knows this colour (the 16 shared ones).
    #[must_use]
    pub const fn is_java(self) -> bool {
        (self as usize) < 16
    }

    /// The colour a legacy code selects under `palette`, if any.
    #[must_use]
    pub fn from_code(code: char, palette: Palette) -> Option<Self> {
        let code = code.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.code() == code && (palette == Palette::Bedrock || c.is_java()))
    }

    /// The colour with this component name (any of the 28), e.g. `"gold"`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A text colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Color {
    /// One of the named colours.
    Named(NamedColor),
    /// A 24-bit colour (`#RRGGBB` in components, `§x` in Spigot legacy text).
    Rgb(u8, u8, u8),
}

impl Color {
    /// The colour as red, green, blue.
    #[must_use]
    pub const fn rgb(self) -> (u8, u8, u8) {
        match self {
            Self::Named(named) => named.rgb(),
            Self::Rgb(r, g, b) => (r, g, b),
        }
    }

    /// `#rrggbb`.
    #[must_use]
    pub fn to_hex(self) -> String {
        let (r, g, b) = self.rgb();
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Parses a Java chat component colour: one of the 16 Java names or `#RRGGBB`.
    #[must_use]
    pub fn parse_java(s: &str) -> Option<Self> {
        if let Some(hex) = s.strip_prefix('#') {
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let v = u32::from_str_radix(hex, 16).ok()?;
            let [_, r, g, b] = v.to_be_bytes();
            return Some(Self::Rgb(r, g, b));
        }
        NamedColor::from_name(s)
            .filter(|c| c.is_java())
            .map(Self::Named)
    }

    /// The nearest of the 16 Java colours (itself when it is one).
    #[must_use]
    pub fn nearest_java(self) -> NamedColor {
        if let Self::Named(named) = self
            && named.is_java()
        {
            return named;
        }
        let (r, g, b) = self.rgb();
        let dist = |c: &NamedColor| {
            let (cr, cg, cb) = c.rgb();
            let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
            d(r, cr) + d(g, cg) + d(b, cb)
        };
        NamedColor::ALL[..16]
            .iter()
            .copied()
            .min_by_key(dist)
            .unwrap_or(NamedColor::White)
    }
}

/// How one run of text looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Style {
    /// The colour; `None` is the client's default (white on the server list).
    pub color: Option<Color>,
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
    /// Underlined.
    pub underlined: bool,
    /// Struck through.
    pub strikethrough: bool,
    /// Obfuscated ("magic" scrambling characters).
    pub obfuscated: bool,
}

impl Style {
    /// The style with only the colour of `self` (formatting cleared).
    const fn color_only(color: Option<Color>) -> Self {
        Self {
            color,
            bold: false,
            italic: false,
            underlined: false,
            strikethrough: false,
            obfuscated: false,
        }
    }
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    /// The text.
    pub text: String,
    /// Its style.
    pub style: Style,
}

/// A styled MOTD (or any Minecraft text). See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Motd {
    /// The runs of text, in order. Constructors never produce empty spans or two
    /// neighbours with the same style.
    pub spans: Vec<Span>,
}

/// Shared budget of one conversion.
#[derive(Debug)]
struct Limits {
    bytes_left: usize,
    nodes_left: usize,
}

impl Limits {
    const fn unlimited() -> Self {
        Self {
            bytes_left: usize::MAX,
            nodes_left: usize::MAX,
        }
    }

    fn exhausted(&self) -> bool {
        self.bytes_left == 0 || self.nodes_left == 0
    }
}

/// Appends `text` with `style`, merging with the last span, within the byte budget.
fn push(spans: &mut Vec<Span>, limits: &mut Limits, text: &str, style: Style) {
    if text.is_empty() || limits.bytes_left == 0 {
        return;
    }
    let mut end = text.len().min(limits.bytes_left);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    limits.bytes_left -= text.len();
    if text.is_empty() {
        limits.bytes_left = 0;
        return;
    }
    match spans.last_mut() {
        Some(last) if last.style == style => last.text.push_str(text),
        _ => spans.push(Span {
            text: text.to_owned(),
            style,
        }),
    }
}

/// Reads `§` codes in `s`, starting from (and resetting to) `base`.
fn push_legacy(spans: &mut Vec<Span>, limits: &mut Limits, s: &str, base: Style, palette: Palette) {
    let mut style = base;
    let mut rest = s;
    while let Some(pos) = rest.find('§') {
        push(spans, limits, &rest[..pos], style);
        let after = &rest[pos + '§'.len_utf8()..];
        let mut chars = after.chars();
        let Some(code) = chars.next() else {
            return; // A lone '§' at the end: dropped.
        };
        rest = chars.as_str();
        let code = code.to_ascii_lowercase();
        if code == 'r' {
            style = base;
            continue;
        }
        let format = match (palette, code) {
            (_, 'k') => Some(&mut style.obfuscated),
            (_, 'l') => Some(&mut style.bold),
            (_, 'o') => Some(&mut style.italic),
            (Palette::Java, 'm') => Some(&mut style.strikethrough),
            (Palette::Java, 'n') => Some(&mut style.underlined),
            _ => None,
        };
        if let Some(flag) = format {
            *flag = true;
            continue;
        }
        if let Some(named) = NamedColor::from_code(code, palette) {
            style = match palette {
                Palette::Java => Style::color_only(Some(Color::Named(named))),
                Palette::Bedrock => Style {
                    color: Some(Color::Named(named)),
                    ..style
                },
            };
            continue;
        }
        if palette == Palette::Java
            && code == 'x'
            && let Some((rgb, tail)) = spigot_hex(rest)
        {
            style = Style::color_only(Some(rgb));
            rest = tail;
        }
        // Any other code is dropped with its '§' (as vanilla does).
    }
    push(spans, limits, rest, style);
}

/// Parses the `§R§R§G§G§B§B` that follows `§x`; returns the colour and the rest.
fn spigot_hex(s: &str) -> Option<(Color, &str)> {
    let mut chars = s.chars();
    let mut value: u32 = 0;
    for _ in 0..6 {
        if chars.next()? != '§' {
            return None;
        }
        value = value * 16 + chars.next()?.to_digit(16)?;
    }
    let [_, r, g, b] = value.to_be_bytes();
    Some((Color::Rgb(r, g, b), chars.as_str()))
}

/// Translations the renderer knows; anything else shows its fallback or its key.
const TRANSLATIONS: &[(&str, &str)] = &[
    ("chat.type.text", "<%s> %s"),
    ("chat.type.announcement", "[%s] %s"),
    ("chat.type.emote", "* %s %s"),
    ("translation.test.none", "Hello, world!"),
    (
        "translation.test.complex",
        "Prefix, %s%2$s again %s and %1$s lastly %s and also %1$s again!",
    ),
    ("translation.test.escape", "%%s %%%s %%%%s %%%%%s"),
    ("translation.test.invalid", "hi %"),
    ("translation.test.invalid2", "hi %  s"),
    ("translation.test.args", "%s %s"),
    ("translation.test.world", "world"),
];

/// The most arguments of one `translate` component that are looked at.
const MAX_TRANSLATE_ARGS: usize = 64;

/// A piece of a translation format string.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Literal(&'a str),
    Arg(usize),
}

/// Splits a translation format like the vanilla client (`%s`, `%N$s`, `%%`).
/// `None` when the format is malformed or names a missing argument.
fn tokenize(format: &str, args: usize) -> Option<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut next = 0usize;
    let mut rest = format;
    while let Some(pos) = rest.find('%') {
        if pos > 0 {
            pieces.push(Piece::Literal(&rest[..pos]));
        }
        let after = &rest[pos + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let (explicit, after) = match after[digits..].strip_prefix('$') {
            Some(tail) if digits > 0 => (Some(after[..digits].parse::<usize>().ok()?), tail),
            _ => (None, after),
        };
        if let Some(tail) = after.strip_prefix('%')
            && explicit.is_none()
        {
            pieces.push(Piece::Literal("%"));
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('s') {
            let index = match explicit {
                Some(n) => n.checked_sub(1)?,
                None => {
                    next += 1;
                    next - 1
                }
            };
            if index >= args {
                return None;
            }
            pieces.push(Piece::Arg(index));
            rest = tail;
        } else {
            return None;
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    Some(pieces)
}

/// The style of a component object: `parent` with the object's own fields applied.
fn apply_style(parent: Style, map: &serde_json::Map<String, Value>) -> Style {
    let mut style = parent;
    match map.get("color") {
        Some(Value::String(c)) if c == "reset" => style.color = None,
        Some(Value::String(c)) => {
            if let Some(color) = Color::parse_java(c) {
                style.color = Some(color);
            }
        }
        _ => {}
    }
    for (key, flag) in [
        ("bold", &mut style.bold),
        ("italic", &mut style.italic),
        ("underlined", &mut style.underlined),
        ("strikethrough", &mut style.strikethrough),
        ("obfuscated", &mut style.obfuscated),
    ] {
        if let Some(Value::Bool(b)) = map.get(key) {
            *flag = *b;
        }
    }
    style
}

/// The style children of `v` inherit (for an array: its first element's style).
fn own_style(v: &Value, parent: Style) -> Style {
    let mut current = v;
    for _ in 0..Motd::MAX_DEPTH {
        match current {
            Value::Object(map) => return apply_style(parent, map),
            Value::Array(items) => match items.first() {
                Some(first) => current = first,
                None => return parent,
            },
            _ => return parent,
        }
    }
    parent
}

/// Walks one component.
fn component(spans: &mut Vec<Span>, limits: &mut Limits, v: &Value, parent: Style, depth: usize) {
    if depth >= Motd::MAX_DEPTH || limits.exhausted() {
        return;
    }
    limits.nodes_left -= 1;
    match v {
        Value::Null => {}
        Value::Bool(b) => push(spans, limits, if *b { "true" } else { "false" }, parent),
        Value::Number(n) => push(spans, limits, &n.to_string(), parent),
        Value::String(s) => push_legacy(spans, limits, s, parent, Palette::Java),
        Value::Array(items) => {
            let Some((first, rest)) = items.split_first() else {
                return;
            };
            component(spans, limits, first, parent, depth + 1);
            let style = own_style(first, parent);
            for item in rest {
                if limits.exhausted() {
                    break;
                }
                component(spans, limits, item, style, depth + 1);
            }
        }
        Value::Object(map) => {
            let style = apply_style(parent, map);
            content(spans, limits, map, style, depth);
            match map.get("extra") {
                Some(Value::Array(items)) => {
                    for item in items {
                        if limits.exhausted() {
                            break;
                        }
                        component(spans, limits, item, style, depth + 1);
                    }
                }
                Some(other) => component(spans, limits, other, style, depth + 1),
                None => {}
            }
        }
    }
}

/// The content of a component object (without its `extra`).
fn content(
    spans: &mut Vec<Span>,
    limits: &mut Limits,
    map: &serde_json::Map<String, Value>,
    style: Style,
    depth: usize,
) {
    if let Some(text) = map.get("text") {
        match text {
            Value::String(s) => push_legacy(spans, limits, s, style, Palette::Java),
            Value::Number(_) | Value::Bool(_) => component(spans, limits, text, style, depth + 1),
            _ => {}
        }
    } else if let Some(Value::String(key)) = map.get("translate") {
        translate(spans, limits, map, key, style, depth);
    } else if let Some(score) = map.get("score") {
        if let Some(Value::String(value)) = score.get("value") {
            push(spans, limits, value, style);
        }
    } else if let Some(Value::String(selector)) = map.get("selector") {
        push(spans, limits, selector, style);
    } else if let Some(Value::String(keybind)) = map.get("keybind") {
        push(spans, limits, keybind, style);
    }
}

/// A `translate` component: format string with substituted, rendered arguments.
fn translate(
    spans: &mut Vec<Span>,
    limits: &mut Limits,
    map: &serde_json::Map<String, Value>,
    key: &str,
    style: Style,
    depth: usize,
) {
    let format = TRANSLATIONS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, f)| *f)
        .or_else(|| map.get("fallback").and_then(Value::as_str))
        .unwrap_or(key);
    let args: &[Value] = match map.get("with") {
        Some(Value::Array(args)) => &args[..args.len().min(MAX_TRANSLATE_ARGS)],
        _ => &[],
    };
    let Some(pieces) = tokenize(format, args.len()) else {
        push_legacy(spans, limits, format, style, Palette::Java);
        return;
    };
    // Each argument is rendered once (its cost counted once), then copied; every
    // copy counts against the byte budget too.
    let mut rendered: Vec<Option<Vec<Span>>> = vec![None; args.len()];
    for piece in pieces {
        if limits.exhausted() {
            return;
        }
        match piece {
            Piece::Literal(text) => push_legacy(spans, limits, text, style, Palette::Java),
            Piece::Arg(index) => {
                let (Some(slot), Some(arg)) = (rendered.get_mut(index), args.get(index)) else {
                    continue;
                };
                let arg_spans = slot.get_or_insert_with(|| {
                    let mut out = Vec::new();
                    component(&mut out, limits, arg, style, depth + 1);
                    out
                });
                for span in arg_spans.iter() {
                    push(spans, limits, &span.text, span.style);
                }
            }
        }
    }
}

/// Drops C0/C1 control characters except newline and tab (terminal and markup
/// safety).
fn is_unsafe_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Which colours [`Motd::to_ansi_with`] emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnsiColors {
    /// 24-bit `38;2;R;G;B` colours.
    #[default]
    TrueColor,
    /// The 16 standard colours (`30`–`37`, `90`–`97`), nearest match for others.
    Ansi16,
}

impl Motd {
    /// Components nested deeper than this are ignored.
    pub const MAX_DEPTH: usize = 32;
    /// At most this many components are visited in one [`Motd::from_component`].
    pub const MAX_NODES: usize = 4096;
    /// Output stops after this many bytes of text.
    pub const MAX_TEXT_LEN: usize = 32 * 1024;

    /// A MOTD from spans, normalised (empty spans dropped, equal neighbours merged).
    #[must_use]
    pub fn new(spans: impl IntoIterator<Item = Span>) -> Self {
        let mut out = Vec::new();
        let mut limits = Limits::unlimited();
        for span in spans {
            push(&mut out, &mut limits, &span.text, span.style);
        }
        Self { spans: out }
    }

    /// Reads text with legacy `§` codes under `palette`; see the [module docs](self).
    #[must_use]
    pub fn from_legacy(s: &str, palette: Palette) -> Self {
        let mut spans = Vec::new();
        push_legacy(
            &mut spans,
            &mut Limits::unlimited(),
            s,
            Style::default(),
            palette,
        );
        Self { spans }
    }

    /// Reads a Java chat component; see the [module docs](self). Never fails: a
    /// shape that is not a component shows nothing, and hostile input is truncated.
    #[must_use]
    pub fn from_component(v: &Value) -> Self {
        let mut spans = Vec::new();
        let mut limits = Limits {
            bytes_left: Self::MAX_TEXT_LEN,
            nodes_left: Self::MAX_NODES,
        };
        component(&mut spans, &mut limits, v, Style::default(), 0);
        Self { spans }
    }

    /// Parses JSON text, then reads it with [`Motd::from_component`].
    ///
    /// # Errors
    /// [`DecodeError::InvalidJson`] when `json` is not JSON.
    pub fn from_component_str(json: &str) -> Result<Self, DecodeError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
        Ok(Self::from_component(&value))
    }

    /// Whether there is no text at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.spans.iter().all(|s| s.text.is_empty())
    }

    /// The text without any styling, exactly as the spans hold it (control
    /// characters included; use [`Motd::to_ansi`] or [`Motd::to_html`] for output
    /// that goes to a terminal or a page).
    #[must_use]
    pub fn to_plain(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Text with 24-bit ANSI SGR escapes (bold, italic, underline, strikethrough,
    /// colour; obfuscated text is shown as is), ending with a reset. Control
    /// characters from the text (other than newline and tab) are dropped, so a
    /// server cannot send its own escapes to the terminal.
    #[must_use]
    pub fn to_ansi(&self) -> String {
        self.to_ansi_with(AnsiColors::TrueColor)
    }

    /// Like [`Motd::to_ansi`] with a choice of colour depth. Empty MOTD → `""`.
    #[must_use]
    pub fn to_ansi_with(&self, colors: AnsiColors) -> String {
        let mut out = String::new();
        for span in &self.spans {
            let s = span.style;
            out.push_str("\x1b[0");
            for (on, code) in [
                (s.bold, ";1"),
                (s.italic, ";3"),
                (s.underlined, ";4"),
                (s.strikethrough, ";9"),
            ] {
                if on {
                    out.push_str(code);
                }
            }
            if let Some(color) = s.color {
                match colors {
                    AnsiColors::TrueColor => {
                        let (r, g, b) = color.rgb();
                        let _ = write!(out, ";38;2;{r};{g};{b}");
                    }
                    AnsiColors::Ansi16 => {
                        let sgr = COLORS[color.nearest_java() as usize].3;
                        let _ = write!(out, ";{sgr}");
                    }
                }
            }
            out.push('m');
            out.extend(span.text.chars().filter(|&c| !is_unsafe_control(c)));
        }
        if !out.is_empty() {
            out.push_str("\x1b[0m");
        }
        out
    }

    /// HTML: per span `<span style="color:#rrggbb">`, `<b>`, `<i>`, `<u>`, `<s>` and
    /// `<span class="mc-obfuscated">`, properly nested and closed; the text escaped
    /// (`& < > " '`) and stripped of control characters other than newline and tab.
    /// Newlines stay `\n` (show them with `white-space: pre-wrap` or replace them).
    #[must_use]
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        for span in &self.spans {
            let s = span.style;
            let mut closers: Vec<&str> = Vec::new();
            if let Some(color) = s.color {
                let _ = write!(out, "<span style=\"color:{}\">", color.to_hex());
                closers.push("</span>");
            }
            for (on, open, close) in [
                (s.bold, "<b>", "</b>"),
                (s.italic, "<i>", "</i>"),
                (s.underlined, "<u>", "</u>"),
                (s.strikethrough, "<s>", "</s>"),
                (s.obfuscated, "<span class=\"mc-obfuscated\">", "</span>"),
            ] {
                if on {
                    out.push_str(open);
                    closers.push(close);
                }
            }
            for c in span.text.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    c if is_unsafe_control(c) => {}
                    c => out.push(c),
                }
            }
            for close in closers.iter().rev() {
                out.push_str(close);
            }
        }
        out
    }

    /// Legacy `§` text for `palette` (e.g. for the legacy ping's kick string).
    ///
    /// Java: the 16 colours as codes, other colours as `§x` hex; Bedrock: named
    /// colours as codes, 24-bit colours as the nearest Java colour, and no
    /// strikethrough/underline (Bedrock has no code for them). A `§` inside the text
    /// cannot be represented and is dropped. For Java,
    /// `from_legacy(to_legacy(m), Java) == m` for every MOTD without `§` in its text
    /// whose colours are Java colours or RGB (Bedrock colours come back as RGB).
    #[must_use]
    pub fn to_legacy(&self, palette: Palette) -> String {
        let mut out = String::new();
        let mut styled = false;
        for span in &self.spans {
            let s = span.style;
            match (s.color, palette) {
                (Some(Color::Named(n)), Palette::Bedrock) => {
                    if styled {
                        out.push_str("§r");
                    }
                    out.push('§');
                    out.push(n.code());
                }
                (Some(Color::Named(n)), Palette::Java) if n.is_java() => {
                    out.push('§');
                    out.push(n.code());
                }
                (Some(color), Palette::Java) => {
                    out.push_str("§x");
                    for c in color.to_hex().chars().skip(1) {
                        out.push('§');
                        out.push(c);
                    }
                }
                (Some(color), Palette::Bedrock) => {
                    if styled {
                        out.push_str("§r");
                    }
                    out.push('§');
                    out.push(color.nearest_java().code());
                }
                (None, _) => {
                    if styled {
                        out.push_str("§r");
                    }
                }
            }
            let java = palette == Palette::Java;
            for (on, code) in [
                (s.obfuscated, 'k'),
                (s.bold, 'l'),
                (s.strikethrough && java, 'm'),
                (s.underlined && java, 'n'),
                (s.italic, 'o'),
            ] {
                if on {
                    out.push('§');
                    out.push(code);
                }
            }
            styled = s != Style::default();
            out.extend(span.text.chars().filter(|&c| c != '§'));
        }
        out
    }
}

impl fmt::Display for Motd {
    /// The plain text ([`Motd::to_plain`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spans.iter().try_for_each(|s| f.write_str(&s.text))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn named(c: NamedColor) -> Option<Color> {
        Some(Color::Named(c))
    }

    fn span(text: &str, style: Style) -> Span {
        Span {
            text: text.into(),
            style,
        }
    }

    fn colored(c: NamedColor) -> Style {
        Style {
            color: named(c),
            ..Style::default()
        }
    }

    #[test]
    fn legacy_java_basics() {
        let m = Motd::from_legacy("§aGreen §lBold§cRed§r plain", Palette::Java);
        assert_eq!(
            m.spans,
            vec![
                span("Green ", colored(NamedColor::Green)),
                span(
                    "Bold",
                    Style {
                        bold: true,
                        ..colored(NamedColor::Green)
                    }
                ),
                // A colour code resets bold on Java.
                span("Red", colored(NamedColor::Red)),
                span(" plain", Style::default()),
            ]
        );
        assert_eq!(m.to_plain(), "Green BoldRed plain");
        // Upper-case codes work; formatting before colour is lost (vanilla).
        let m = Motd::from_legacy("§L§CX§nY", Palette::Java);
        assert_eq!(
            m.spans,
            vec![
                span("X", colored(NamedColor::Red)),
                span(
                    "Y",
                    Style {
                        underlined: true,
                        ..colored(NamedColor::Red)
                    }
                ),
            ]
        );
    }

    #[test]
    fn legacy_unknown_codes_are_dropped() {
        assert_eq!(
            Motd::from_legacy("a§zb§§c§", Palette::Java).to_plain(),
            "abc"
        );
        // Bedrock-only codes mean nothing on Java.
        assert_eq!(
            Motd::from_legacy("§gGold", Palette::Java).spans,
            vec![span("Gold", Style::default())]
        );
        assert_eq!(Motd::from_legacy("", Palette::Java), Motd::default());
        assert_eq!(Motd::from_legacy("§a§l", Palette::Java), Motd::default());
    }

    #[test]
    fn legacy_bedrock_palette() {
        let m = Motd::from_legacy("§lB§mRedstone§nCopper§gCoin§r§vResin", Palette::Bedrock);
        let bold = |c| Style {
            bold: true,
            ..colored(c)
        };
        assert_eq!(
            m.spans,
            vec![
                span(
                    "B",
                    Style {
                        bold: true,
                        ..Style::default()
                    }
                ),
                // Formatting persists across colour codes on Bedrock; m/n are colours.
                span("Redstone", bold(NamedColor::MaterialRedstone)),
                span("Copper", bold(NamedColor::MaterialCopper)),
                span("Coin", bold(NamedColor::MinecoinGold)),
                span("Resin", colored(NamedColor::MaterialResin)),
            ]
        );
        assert_eq!(NamedColor::MaterialResin.rgb(), (0xEB, 0x71, 0x14));
        assert_eq!(
            NamedColor::from_code('q', Palette::Bedrock),
            Some(NamedColor::MaterialEmerald)
        );
        assert_eq!(NamedColor::from_code('q', Palette::Java), None);
        // §x is not a Bedrock code.
        assert_eq!(
            Motd::from_legacy("§x§f§f§0§0§0§0X", Palette::Bedrock).spans,
            vec![span("X", colored(NamedColor::Black))]
        );
    }

    #[test]
    fn legacy_spigot_hex() {
        let m = Motd::from_legacy("§l§x§F§F§8§8§0§0Orange§x§1§2", Palette::Java);
        assert_eq!(
            m.spans,
            vec![span(
                "Orange",
                Style {
                    color: Some(Color::Rgb(0xFF, 0x88, 0x00)),
                    ..Style::default()
                }
            )]
        );
        // An incomplete §x sequence: §x is dropped, the rest read as normal codes.
        assert_eq!(
            Motd::from_legacy("§x§1§2Z", Palette::Java).spans,
            vec![span("Z", colored(NamedColor::DarkGreen))]
        );
    }

    #[test]
    fn renderers() {
        let m = Motd::from_legacy("§c§lHi <&> \"'§r\u{1b}[2Jok\n", Palette::Java);
        assert_eq!(
            m.to_html(),
            "<span style=\"color:#ff5555\"><b>Hi &lt;&amp;&gt; &quot;&#39;</b></span>[2Jok\n"
        );
        assert_eq!(
            m.to_ansi(),
            "\x1b[0;1;38;2;255;85;85mHi <&> \"'\x1b[0m[2Jok\n\x1b[0m"
        );
        assert_eq!(
            m.to_ansi_with(AnsiColors::Ansi16),
            "\x1b[0;1;91mHi <&> \"'\x1b[0m[2Jok\n\x1b[0m"
        );
        assert_eq!(m.to_plain(), "Hi <&> \"'\u{1b}[2Jok\n");
        assert_eq!(Motd::default().to_ansi(), "");
        let all = Motd::new([span(
            "x",
            Style {
                color: Some(Color::Rgb(1, 2, 3)),
                bold: true,
                italic: true,
                underlined: true,
                strikethrough: true,
                obfuscated: true,
            },
        )]);
        assert_eq!(
            all.to_html(),
            "<span style=\"color:#010203\"><b><i><u><s><span class=\"mc-obfuscated\">x</span></s></u></i></b></span>"
        );
        assert_eq!(all.to_ansi(), "\x1b[0;1;3;4;9;38;2;1;2;3mx\x1b[0m");
        assert_eq!(
            all.to_ansi_with(AnsiColors::Ansi16),
            "\x1b[0;1;3;4;9;30mx\x1b[0m"
        );
    }

    #[test]
    fn to_legacy_forms() {
        let m = Motd::from_legacy("§6§lGold§r plain §x§1§2§3§4§5§6hex", Palette::Java);
        assert_eq!(
            m.to_legacy(Palette::Java),
            "§6§lGold§r plain §x§1§2§3§4§5§6hex"
        );
        assert_eq!(m.to_legacy(Palette::Bedrock), "§6§lGold§r plain §8hex");
        let b = Motd::from_legacy("§mRed§lstone", Palette::Bedrock);
        assert_eq!(b.to_legacy(Palette::Bedrock), "§mRed§r§m§lstone");
        assert_eq!(
            Motd::from_legacy(&b.to_legacy(Palette::Bedrock), Palette::Bedrock),
            b
        );
    }

    #[test]
    fn component_plain_string_with_codes() {
        let m = Motd::from_component(&json!("§eA Minecraft Server"));
        assert_eq!(
            m.spans,
            vec![span("A Minecraft Server", colored(NamedColor::Yellow))]
        );
        assert_eq!(Motd::from_component(&json!(null)), Motd::default());
        assert_eq!(Motd::from_component(&json!(12.5)).to_plain(), "12.5");
        assert_eq!(Motd::from_component(&json!(true)).to_plain(), "true");
    }

    #[test]
    fn component_inheritance_and_overrides() {
        let v = json!({
            "text": "A",
            "color": "gold",
            "bold": true,
            "extra": [
                "B",
                {"text": "C", "bold": false, "color": "#00FF7f"},
                {"text": "D", "color": "not-a-colour", "extra": [{"text": "E", "italic": true}]},
                {"text": "§cF§rG"},
            ]
        });
        let gold_bold = Style {
            bold: true,
            ..colored(NamedColor::Gold)
        };
        assert_eq!(
            Motd::from_component(&v).spans,
            vec![
                span("AB", gold_bold),
                span(
                    "C",
                    Style {
                        color: Some(Color::Rgb(0, 0xFF, 0x7F)),
                        ..Style::default()
                    }
                ),
                span("D", gold_bold),
                span(
                    "E",
                    Style {
                        italic: true,
                        ..gold_bold
                    }
                ),
                // §c resets formatting (Java), §r returns to the component's style.
                span("F", colored(NamedColor::Red)),
                span("G", gold_bold),
            ]
        );
    }

    #[test]
    fn component_arrays() {
        // The elements after the first inherit the first's style.
        let v = json!([{"text": "a", "color": "red"}, "b", {"text": "c", "color": "blue"}]);
        assert_eq!(
            Motd::from_component(&v).spans,
            vec![
                span("ab", colored(NamedColor::Red)),
                span("c", colored(NamedColor::Blue))
            ]
        );
        assert_eq!(Motd::from_component(&json!([])), Motd::default());
        assert_eq!(
            Motd::from_component(&json!([[["x"]], "y"])).to_plain(),
            "xy"
        );
        // "extra" as a single object is tolerated.
        assert_eq!(
            Motd::from_component(&json!({"text": "a", "extra": {"text": "b"}})).to_plain(),
            "ab"
        );
    }

    #[test]
    fn component_translate() {
        let t = |v: Value| Motd::from_component(&v).to_plain();
        assert_eq!(
            t(json!({"translate": "translation.test.complex", "with": ["a", "b", "c", "d"]})),
            "Prefix, ab again b and a lastly c and also a again!"
        );
        assert_eq!(
            t(json!({"translate": "translation.test.escape", "with": ["a", "b"]})),
            "%s %a %%s %%b"
        );
        assert_eq!(t(json!({"translate": "translation.test.invalid"})), "hi %");
        assert_eq!(
            t(json!({"translate": "translation.test.invalid2"})),
            "hi %  s"
        );
        assert_eq!(
            t(json!({"translate": "translation.test.none"})),
            "Hello, world!"
        );
        // Missing argument: the format is shown as is.
        assert_eq!(
            t(json!({"translate": "translation.test.args", "with": ["x"]})),
            "%s %s"
        );
        // Unknown key: the fallback, else the key.
        assert_eq!(
            t(json!({"translate": "my.key", "fallback": "Hi %s!", "with": [{"text": "Bob"}]})),
            "Hi Bob!"
        );
        assert_eq!(t(json!({"translate": "my.key"})), "my.key");
        assert_eq!(
            t(json!({"translate": "k", "fallback": "%2$s %1$s", "with": [1, true]})),
            "true 1"
        );
        assert_eq!(
            t(json!({"translate": "k", "fallback": "%d", "with": [1]})),
            "%d"
        );
        assert_eq!(
            t(json!({"translate": "k", "fallback": "%0$s", "with": [1]})),
            "%0$s"
        );
        assert_eq!(
            t(json!({"translate": "k", "fallback": "%1$%", "with": [1]})),
            "%1$%"
        );
        // Arguments inherit the translate component's style and keep their own.
        let m = Motd::from_component(&json!({
            "translate": "chat.type.text", "color": "gray",
            "with": [{"text": "Steve", "color": "aqua"}, "hello"]
        }));
        assert_eq!(
            m.spans,
            vec![
                span("<", colored(NamedColor::Gray)),
                span("Steve", colored(NamedColor::Aqua)),
                span("> hello", colored(NamedColor::Gray)),
            ]
        );
    }

    #[test]
    fn component_other_contents() {
        let t = |v: Value| Motd::from_component(&v).to_plain();
        assert_eq!(
            t(json!({"score": {"name": "x", "objective": "o", "value": "42"}})),
            "42"
        );
        assert_eq!(t(json!({"selector": "@p"})), "@p");
        assert_eq!(t(json!({"keybind": "key.jump"})), "key.jump");
        assert_eq!(t(json!({"nbt": "a", "block": "0 0 0"})), "");
        assert_eq!(t(json!({"text": 5})), "5");
        assert_eq!(t(json!({"text": {"nested": true}, "extra": ["ok"]})), "ok");
    }

    #[test]
    fn real_world_motds() {
        // Hypixel-style: a centred legacy string with a newline.
        let hypixel =
            "                §aHypixel Network §c[1.8-1.21]\n     §6§lSKYBLOCK §7| §b§lBEDWARS";
        let m = Motd::from_component(&json!(hypixel));
        assert_eq!(
            m.to_plain(),
            "                Hypixel Network [1.8-1.21]\n     SKYBLOCK | BEDWARS"
        );
        assert_eq!(
            m.to_html(),
            "                <span style=\"color:#55ff55\">Hypixel Network </span>\
             <span style=\"color:#ff5555\">[1.8-1.21]\n     </span>\
             <span style=\"color:#ffaa00\"><b>SKYBLOCK </b></span>\
             <span style=\"color:#aaaaaa\">| </span>\
             <span style=\"color:#55ffff\"><b>BEDWARS</b></span>"
        );
        // Paper/Adventure-style: empty root text, hex colours in extra.
        let paper = r##"{"extra":[{"bold":true,"color":"#FF5F1F","text":"Cube"},{"color":"#1FA2FF","text":"Craft"},{"color":"gray","text":" | "},{"color":"white","text":"1.21"}],"text":""}"##;
        let m = Motd::from_component_str(paper).unwrap();
        assert_eq!(m.to_plain(), "CubeCraft | 1.21");
        assert_eq!(m.spans[0].style.color, Some(Color::Rgb(0xFF, 0x5F, 0x1F)));
        assert!(m.spans[0].style.bold);
        assert!(!m.spans[1].style.bold);
        // A vanilla server's default MOTD.
        assert_eq!(
            Motd::from_component_str(r#"{"text":"A Minecraft Server"}"#)
                .unwrap()
                .to_plain(),
            "A Minecraft Server"
        );
        assert!(matches!(
            Motd::from_component_str("{not json"),
            Err(DecodeError::InvalidJson(_))
        ));
    }

    #[test]
    fn hostile_components_are_bounded() {
        // Deep nesting: ignored beyond MAX_DEPTH, no stack overflow.
        let mut v = json!("deep");
        for _ in 0..100 {
            v = json!({"text": "x", "extra": [v]});
        }
        let m = Motd::from_component(&v);
        assert_eq!(m.to_plain(), "x".repeat(Motd::MAX_DEPTH));
        // Exponential translate: each level repeats its argument 8 times.
        let mut v = json!("AAAAAAAA");
        for _ in 0..20 {
            v = json!({"translate": "k", "fallback": "%1$s%1$s%1$s%1$s%1$s%1$s%1$s%1$s", "with": [v]});
        }
        let m = Motd::from_component(&v);
        assert!(m.to_plain().len() <= Motd::MAX_TEXT_LEN);
        // Very many nodes (the array itself is one).
        let v = Value::Array(vec![json!("y"); 100_000]);
        assert_eq!(
            Motd::from_component(&v).to_plain().len(),
            Motd::MAX_NODES - 1
        );
        // Truncation keeps UTF-8 intact.
        let v = json!("é".repeat(Motd::MAX_TEXT_LEN));
        let plain = Motd::from_component(&v).to_plain();
        assert!(plain.len() <= Motd::MAX_TEXT_LEN && plain.len() > Motd::MAX_TEXT_LEN - 2);
    }

    #[test]
    fn tokenize_vectors() {
        assert_eq!(
            tokenize("a%sb%2$s%%", 2),
            Some(vec![
                Piece::Literal("a"),
                Piece::Arg(0),
                Piece::Literal("b"),
                Piece::Arg(1),
                Piece::Literal("%")
            ])
        );
        assert_eq!(tokenize("%s", 0), None);
        assert_eq!(tokenize("%99999999999999999999999$s", 1), None);
        assert_eq!(tokenize("100%", 0), None);
        assert_eq!(tokenize("", 0), Some(vec![]));
    }

    fn arb_color() -> impl Strategy<Value = Option<Color>> {
        prop_oneof![
            Just(None),
            (0usize..16).prop_map(|i| Some(Color::Named(NamedColor::ALL[i]))),
            any::<(u8, u8, u8)>().prop_map(|(r, g, b)| Some(Color::Rgb(r, g, b))),
        ]
    }

    fn arb_style() -> impl Strategy<Value = Style> {
        (arb_color(), any::<[bool; 5]>()).prop_map(|(color, f)| Style {
            color,
            bold: f[0],
            italic: f[1],
            underlined: f[2],
            strikethrough: f[3],
            obfuscated: f[4],
        })
    }

    fn arb_motd() -> impl Strategy<Value = Motd> {
        proptest::collection::vec(("[^§]{0,8}", arb_style()), 0..8)
            .prop_map(|v| Motd::new(v.into_iter().map(|(t, s)| span(&t, s))))
    }

    /// Removes exactly the tags `to_html` writes.
    fn strip_our_tags(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        'outer: while !rest.is_empty() {
            for tag in [
                "<b>",
                "</b>",
                "<i>",
                "</i>",
                "<u>",
                "</u>",
                "<s>",
                "</s>",
                "</span>",
                "<span class=\"mc-obfuscated\">",
            ] {
                if let Some(tail) = rest.strip_prefix(tag) {
                    rest = tail;
                    continue 'outer;
                }
            }
            if let Some(tail) = rest.strip_prefix("<span style=\"color:#") {
                rest = &tail[8..];
                continue;
            }
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        #[test]
        fn legacy_plain_has_no_codes(s in "(\\PC|§[0-9a-zA-Z§])*", bedrock: bool) {
            let palette = if bedrock { Palette::Bedrock } else { Palette::Java };
            let m = Motd::from_legacy(&s, palette);
            let plain = m.to_plain();
            let chars: Vec<char> = plain.chars().collect();
            for pair in chars.windows(2) {
                prop_assert!(!(pair[0] == '§' && NamedColor::from_code(pair[1], palette).is_some()));
                prop_assert!(!(pair[0] == '§' && "klmnorKLMNOR".contains(pair[1])));
            }
            prop_assert!(!plain.contains('§'));
            // Normalised: no empty spans, no equal neighbours.
            prop_assert!(m.spans.iter().all(|s| !s.text.is_empty()));
            prop_assert!(m.spans.windows(2).all(|w| w[0].style != w[1].style));
        }

        #[test]
        fn html_never_leaks_markup(s in "(\\PC|[<>&\"'§]|§[0-9a-zA-Z])*", bedrock: bool) {
            let palette = if bedrock { Palette::Bedrock } else { Palette::Java };
            let m = Motd::from_legacy(&s, palette);
            let html = m.to_html();
            let text = strip_our_tags(&html);
            prop_assert!(!text.contains('<') && !text.contains('>') && !text.contains('"'));
            let expected: String = m.to_plain().chars().filter(|&c| !is_unsafe_control(c)).collect();
            prop_assert_eq!(unescape(&text), expected);
        }

        #[test]
        fn java_legacy_round_trip(m in arb_motd()) {
            prop_assert_eq!(Motd::from_legacy(&m.to_legacy(Palette::Java), Palette::Java), m);
        }

        #[test]
        fn ansi_has_no_foreign_escapes(s in "(\\PC|[\\x00-\\x1f\\x7f-\\x9f])*") {
            let m = Motd::from_component(&Value::String(s));
            let ansi = m.to_ansi();
            // Every ESC is one of ours: ESC '[' digits/';' 'm'.
            for (i, _) in ansi.match_indices('\u{1b}') {
                let tail = &ansi[i + 1..];
                prop_assert!(tail.starts_with('['));
                let end = tail.find('m').unwrap();
                prop_assert!(tail[1..end].bytes().all(|b| b.is_ascii_digit() || b == b';'));
            }
        }

        #[test]
        fn component_never_panics(json in "[\\[\\]{}\",:a-z0-9%$§ ]{0,64}") {
            if let Ok(m) = Motd::from_component_str(&json) {
                let _ = (m.to_ansi(), m.to_html(), m.to_legacy(Palette::Bedrock));
                if !m.to_plain().contains('§') {
                    let legacy = m.to_legacy(Palette::Java);
                    prop_assert_eq!(Motd::from_legacy(&legacy, Palette::Java), m);
                }
            }
        }
    }
}
