//! The status JSON a server sends in [`super::StatusResponseS2c`].
//!
//! Vanilla treats every field as optional, and so does [`JavaStatus`]: a proxy such
//! as Waterfall may omit `players`, a minimal server may omit `description`. Fields
//! this crate does not know are kept in [`JavaStatus::extra`] and written back on
//! encode. The description is kept raw (a string or a chat component); turning it
//! into text is [`crate::text`]'s job.

use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::forge::{ForgeData, ModEntry, ModInfo, unified_mods};
use crate::codec::{DecodeError, DecodeResult};

/// A server's answer to the status request.
///
/// ```
/// use mc_protocol::java::JavaStatus;
/// let s = JavaStatus::from_json(
///     r#"{"version":{"name":"1.20.4","protocol":765},
///         "players":{"max":20,"online":1,"sample":[{"name":"Steve","id":"8667ba71-b85a-4004-af54-457a9734eed7"}]},
///         "description":{"text":"Hello"},"motdVersion":2}"#,
/// ).unwrap();
/// assert_eq!(s.version.as_ref().unwrap().protocol, 765);
/// assert_eq!(s.players.as_ref().unwrap().online, 1);
/// assert_eq!(s.extra["motdVersion"], 2); // unknown fields are kept
/// ```
///
/// # Decoding
/// `Deserialize` is written by hand (a map visitor) so that each field is parsed once,
/// straight into its place: unknown fields go directly into [`Self::extra`] (a derived
/// `#[serde(flatten)]` first buffers each one in serde's private `Content` and then
/// converts it). [`JavaStatus::from_json`] (what the client uses) also captures
/// `modinfo`/`forgeData` as raw JSON text and parses them straight into their typed
/// structs instead of building a [`Value`] tree and converting it (see [`Lenient`]);
/// the `Deserialize` impl, which may run inside any deserializer (an enum, a
/// `flatten` wrapper, a format other than JSON), goes through [`Value`] for those two
/// as the derived impl did. Either way the result is the one the former derived
/// implementation gave, every malformed case included (the unit tests keep that
/// implementation as a reference and compare): a bad `modinfo`/`forgeData` is still a
/// [`Lenient::Invalid`] with the same error text, and JSON that the derived parse
/// refused inside them (a number beyond `f64`, a lone surrogate, nesting past
/// serde_json's limit) still fails the status; only an error's position inside
/// `modinfo`/`forgeData` may be counted from the start of that value in `from_json`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct JavaStatus {
    /// The server's version name and protocol number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<JavaVersion>,
    /// Player counts and sample; absent on some proxies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<JavaPlayers>,
    /// The MOTD, raw: a string or a chat component (`Null` when absent).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub description: Value,
    /// The icon as a `data:image/png;base64,` URL; see [`Self::favicon_png`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favicon: Option<String>,
    /// `enforcesSecureChat` (1.19.1+).
    #[serde(
        rename = "enforcesSecureChat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enforces_secure_chat: Option<bool>,
    /// `preventsChatReports` (the No Chat Reports mod).
    #[serde(
        rename = "preventsChatReports",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prevents_chat_reports: Option<bool>,
    /// FML1's `modinfo` (Forge 1.7–1.12), kept raw if it does not parse.
    #[serde(rename = "modinfo", default, skip_serializing_if = "Option::is_none")]
    pub mod_info: Option<Lenient<ModInfo>>,
    /// FML2/3's `forgeData` (Forge 1.13+), kept raw if it does not parse.
    #[serde(rename = "forgeData", default, skip_serializing_if = "Option::is_none")]
    pub forge_data: Option<Lenient<ForgeData>>,
    /// Every other top-level field, written back as it came. Must not repeat a key
    /// named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `version`: what the server runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JavaVersion {
    /// A display name (`"1.20.4"`, `"Paper 1.21"`, `"Waterfall 1.8.x-1.21.x"`).
    pub name: String,
    /// The protocol number (765 for 1.20.4); proxies often echo the client's.
    pub protocol: i32,
}

/// `players`: counts and an optional sample of who is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JavaPlayers {
    /// Slots; servers may send any number, including negatives.
    pub max: i64,
    /// Players online, as the server claims.
    pub online: i64,
    /// Some of the players online (vanilla: up to 12, random); servers also use it
    /// for hover text, with made-up names and ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Vec<PlayerSample>>,
}

/// One entry of `players.sample`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlayerSample {
    /// The player name (or a line of hover text).
    pub name: String,
    /// The player's UUID with hyphens; empty when the server sent none.
    #[serde(default)]
    pub id: String,
}

/// A JSON object in the status that is parsed when it can be and kept raw when it
/// cannot, so that bad data in an optional part (Forge's mod lists) never fails the
/// whole status. Anything but an object is `Invalid`. Serialises back to what it was.
///
/// Its `Deserialize` impl works with any deserializer: it reads a [`Value`], then
/// converts it. [`JavaStatus`] gets the same result for its two `Lenient` fields
/// without the `Value` when the text parses (see its "Decoding" section).
#[derive(Debug, Clone, PartialEq)]
pub enum Lenient<T> {
    /// The value had the expected shape.
    Parsed(T),
    /// The value did not parse; it is kept as it came.
    Invalid {
        /// The JSON as received.
        raw: Value,
        /// Why it did not parse.
        error: String,
    },
}

impl<T> Lenient<T> {
    /// The parsed value, if it parsed.
    pub fn parsed(&self) -> Option<&T> {
        match self {
            Self::Parsed(v) => Some(v),
            Self::Invalid { .. } => None,
        }
    }

    /// Why it did not parse, if it did not.
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::Parsed(_) => None,
            Self::Invalid { error, .. } => Some(error),
        }
    }
}

const NOT_AN_OBJECT: &str = "expected a JSON object";

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Parsed(v) => v.serialize(serializer),
            Self::Invalid { raw, .. } => raw.serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        Ok(Self::from_value(raw))
    }
}

impl<T: DeserializeOwned> Lenient<T> {
    /// `raw` as `T`, or kept as it is with the reason it is not one.
    fn from_value(raw: Value) -> Self {
        if !raw.is_object() {
            return Self::Invalid {
                raw,
                error: NOT_AN_OBJECT.to_owned(),
            };
        }
        match T::deserialize(&raw) {
            Ok(v) => Self::Parsed(v),
            Err(e) => Self::Invalid {
                raw,
                error: e.to_string(),
            },
        }
    }

    /// What the generic [`Deserialize`] impl gives for the JSON value `text`, without
    /// building a [`Value`] tree when `text` is an object that parses as `T` (the
    /// common case): `T` is parsed from the text directly. Only when that fails, or
    /// when [`RawScan`] finds something on which parsing the text as `T` and parsing
    /// it as a `Value` could disagree, is the text parsed as a `Value` and converted,
    /// exactly as the generic impl does.
    ///
    /// `depth_budget` is how many more levels of nesting the surrounding parse allows
    /// (as serde_json counts them); deeper text is the recursion-limit error the
    /// `Value` parse would have raised in place.
    fn from_raw_json(text: &str, depth_budget: usize) -> Result<Self, serde_json::Error> {
        let scan = RawScan::of(text);
        if scan.depth > depth_budget {
            return Err(de::Error::custom("recursion limit exceeded"));
        }
        if scan.plain
            && text.starts_with('{')
            && let Ok(v) = serde_json::from_str::<T>(text)
        {
            return Ok(Self::Parsed(v));
        }
        let raw: Value = serde_json::from_str(text)?;
        Ok(Self::from_value(raw))
    }
}

/// What a byte scan of syntactically valid JSON text (as serde_json captured it in a
/// [`RawValue`]: validated by skipping, not by parsing) tells about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RawScan {
    /// The deepest nesting of arrays and objects (`{}` is 1).
    depth: usize,
    /// `false` when the text holds something that skipping accepts and parsing into a
    /// `Value` may refuse: a number with an exponent or longer than
    /// [`RawScan::MAX_PLAIN_NUMBER`] bytes (maybe out of `f64` range), or a `\u`
    /// escape of the surrogate range `\uD...` (maybe a lone surrogate). Conservative:
    /// `false` only sends the text down the exact, slower path.
    plain: bool,
}

impl RawScan {
    /// Longer number tokens might not fit an `f64` (whose range ends near 1.8e308).
    const MAX_PLAIN_NUMBER: usize = 300;

    /// One pass over the bytes; string contents are skipped 8 bytes at a time.
    fn of(text: &str) -> Self {
        let bytes = text.as_bytes();
        let (mut depth, mut max_depth, mut plain) = (0usize, 0usize, true);
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            i += 1;
            match b {
                b'"' => loop {
                    i = skip_plain_string_bytes(bytes, i);
                    match bytes.get(i) {
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            if bytes.get(i + 1) == Some(&b'u')
                                && matches!(bytes.get(i + 2), Some(b'd' | b'D'))
                            {
                                plain = false;
                            }
                            // The escaped byte cannot end the string.
                            i += 2;
                        }
                        _ => break,
                    }
                },
                b'{' | b'[' => {
                    depth += 1;
                    max_depth = max_depth.max(depth);
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                b'-' | b'0'..=b'9' => {
                    let start = i - 1;
                    while let Some(&c) = bytes.get(i) {
                        match c {
                            b'0'..=b'9' | b'.' | b'-' | b'+' => i += 1,
                            b'e' | b'E' => {
                                plain = false;
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    if i - start > Self::MAX_PLAIN_NUMBER {
                        plain = false;
                    }
                }
                _ => {}
            }
        }
        Self {
            depth: max_depth,
            plain,
        }
    }
}

/// The index of the first `"` or `\` at or after `i` (the length if none), checking
/// 8 bytes at a time.
fn skip_plain_string_bytes(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let has_byte = |word: u64, b: u8| {
        let x = word ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGH != 0
    };
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if has_byte(word, b'"') || has_byte(word, b'\\') {
            break;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' {
            break;
        }
        i += 1;
    }
    i
}

/// The levels of nesting serde_json allows (its parser's recursion limit: a value
/// at most 127 deep).
const JSON_DEPTH_LIMIT: usize = 127;

/// Deserialises an optional `modinfo`/`forgeData`: `null` is `None`, anything else
/// a [`Lenient`] (see [`Lenient::from_raw_json`]).
struct LenientField<T>(PhantomData<fn() -> T>);

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for LenientField<T> {
    type Value = Option<Lenient<T>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let Some(raw) = Option::<Box<RawValue>>::deserialize(deserializer)? else {
            return Ok(None);
        };
        // The field sits in the status object, itself the document: two levels used.
        Lenient::from_raw_json(raw.get(), JSON_DEPTH_LIMIT - 1)
            .map(Some)
            .map_err(de::Error::custom)
    }
}

/// A top-level key of the status object.
enum StatusKey {
    Version,
    Players,
    Description,
    Favicon,
    EnforcesSecureChat,
    PreventsChatReports,
    ModInfo,
    ForgeData,
    Other(String),
}

impl StatusKey {
    fn known(name: &str) -> Option<Self> {
        Some(match name {
            "version" => Self::Version,
            "players" => Self::Players,
            "description" => Self::Description,
            "favicon" => Self::Favicon,
            "enforcesSecureChat" => Self::EnforcesSecureChat,
            "preventsChatReports" => Self::PreventsChatReports,
            "modinfo" => Self::ModInfo,
            "forgeData" => Self::ForgeData,
            _ => return None,
        })
    }

    /// The key's JSON name and its bit in the visitor's "seen" mask (`None` for an
    /// unknown key, which may repeat: the last one wins, as in a JSON object).
    fn known_name(&self) -> Option<(&'static str, u8)> {
        Some(match self {
            Self::Version => ("version", 1),
            Self::Players => ("players", 1 << 1),
            Self::Description => ("description", 1 << 2),
            Self::Favicon => ("favicon", 1 << 3),
            Self::EnforcesSecureChat => ("enforcesSecureChat", 1 << 4),
            Self::PreventsChatReports => ("preventsChatReports", 1 << 5),
            Self::ModInfo => ("modinfo", 1 << 6),
            Self::ForgeData => ("forgeData", 1 << 7),
            Self::Other(_) => return None,
        })
    }
}

impl<'de> Deserialize<'de> for StatusKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = StatusKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusKey, E> {
                Ok(StatusKey::known(v).unwrap_or_else(|| StatusKey::Other(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<StatusKey, E> {
                Ok(StatusKey::known(&v).unwrap_or(StatusKey::Other(v)))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Fills a [`JavaStatus`] from the status object, one field at a time.
struct StatusVisitor {
    /// `modinfo`/`forgeData` as [`RawValue`]s (needs serde_json's own deserializer,
    /// the status being the whole document): [`JavaStatus::from_json`] only.
    raw: bool,
}

impl<'de> Visitor<'de> for StatusVisitor {
    type Value = JavaStatus;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As the derived impl said.
        f.write_str("struct JavaStatus")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JavaStatus, A::Error> {
        let mut s = JavaStatus::default();
        let mut seen = 0u8;
        while let Some(key) = map.next_key::<StatusKey>()? {
            if let Some((name, bit)) = key.known_name() {
                if seen & bit != 0 {
                    return Err(de::Error::duplicate_field(name));
                }
                seen |= bit;
            }
            match key {
                StatusKey::Version => s.version = map.next_value()?,
                StatusKey::Players => s.players = map.next_value()?,
                StatusKey::Description => s.description = map.next_value()?,
                StatusKey::Favicon => s.favicon = map.next_value()?,
                StatusKey::EnforcesSecureChat => s.enforces_secure_chat = map.next_value()?,
                StatusKey::PreventsChatReports => s.prevents_chat_reports = map.next_value()?,
                StatusKey::ModInfo if self.raw => {
                    s.mod_info = map.next_value_seed(LenientField(PhantomData))?;
                }
                StatusKey::ForgeData if self.raw => {
                    s.forge_data = map.next_value_seed(LenientField(PhantomData))?;
                }
                StatusKey::ModInfo => s.mod_info = map.next_value()?,
                StatusKey::ForgeData => s.forge_data = map.next_value()?,
                StatusKey::Other(name) => {
                    let value = map.next_value()?;
                    s.extra.insert(name, value);
                }
            }
        }
        Ok(s)
    }
}

impl<'de> Deserialize<'de> for JavaStatus {
    /// Works in any deserializer; [`JavaStatus::from_json`] is faster on Forge
    /// statuses.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StatusVisitor { raw: false })
    }
}

/// The prefix of [`JavaStatus::favicon`].
pub const FAVICON_PREFIX: &str = "data:image/png;base64,";
/// The largest favicon PNG [`JavaStatus::favicon_png`] decodes (vanilla icons are
/// 64×64 and a few KiB).
pub const MAX_FAVICON_BYTES: usize = 1024 * 1024;
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// Decodes a `data:image/png;base64,` URL into PNG bytes. Line breaks and spaces in
/// the base64 (sent by some old servers) and missing padding are tolerated.
///
/// # Errors
/// [`DecodeError::InvalidField`] (field `favicon`) for another prefix, bad base64
/// or more than [`MAX_FAVICON_BYTES`]; [`DecodeError::BadMagic`] when the bytes are
/// not a PNG.
pub fn decode_favicon(data_url: &str) -> DecodeResult<Vec<u8>> {
    let bad = |reason: String| DecodeError::InvalidField {
        field: "favicon",
        reason,
    };
    let prefix = data_url
        .get(..FAVICON_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(FAVICON_PREFIX))
        .ok_or_else(|| bad(format!("does not start with {FAVICON_PREFIX:?}")))?;
    let b64 = &data_url[prefix.len()..];
    // Checked before decoding (and before stripping whitespace): base64 needs at
    // least 4/3 of the output length.
    let max_encoded = MAX_FAVICON_BYTES / 3 * 4 + 4;
    let encoded: Vec<u8> = b64
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .take(max_encoded + 1)
        .collect();
    if encoded.len() > max_encoded {
        return Err(bad(format!("larger than {MAX_FAVICON_BYTES} bytes")));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let png = engine
        .decode(&encoded)
        .map_err(|e| bad(format!("bad base64: {e}")))?;
    if !png.starts_with(&PNG_SIGNATURE) {
        return Err(DecodeError::BadMagic {
            what: "favicon PNG signature",
        });
    }
    Ok(png)
}

/// Encodes PNG bytes as the `data:image/png;base64,` URL servers send.
pub fn favicon_data_url(png: &[u8]) -> String {
    let mut s = String::from(FAVICON_PREFIX);
    base64::engine::general_purpose::STANDARD.encode_string(png, &mut s);
    s
}

impl JavaStatus {
    /// The description as a styled MOTD (plain string or chat component, with `§`
    /// codes inside text honoured), ready to render as plain text, ANSI or HTML.
    pub fn styled_motd(&self) -> crate::text::Motd {
        crate::text::Motd::from_component(&self.description)
    }

    /// Parses the status JSON.
    ///
    /// # Errors
    /// [`DecodeError::InvalidJson`] when the text is not JSON, not an object, or a
    /// known field has the wrong type (`modinfo`/`forgeData` never fail: see
    /// [`Lenient`]).
    pub fn from_json(json: &str) -> DecodeResult<Self> {
        // What `serde_json::from_str` does, with the raw-value visitor: the status is
        // the whole document here, so `modinfo`/`forgeData` can be captured as text.
        let mut de = serde_json::Deserializer::from_str(json);
        serde::Deserializer::deserialize_map(&mut de, StatusVisitor { raw: true })
            .and_then(|status| de.end().map(|()| status))
            .map_err(|e| DecodeError::InvalidJson(e.to_string()))
    }

    /// The JSON text, unknown fields included.
    pub fn to_json(&self) -> String {
        // Serialising string-keyed maps and `Value`s cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }

    /// The favicon as PNG bytes: `None` without a favicon, else the result of
    /// [`decode_favicon`].
    pub fn favicon_png(&self) -> Option<DecodeResult<Vec<u8>>> {
        self.favicon.as_deref().map(decode_favicon)
    }

    /// FML1's `modinfo`, when present and well-formed.
    pub fn mod_info(&self) -> Option<&ModInfo> {
        self.mod_info.as_ref().and_then(Lenient::parsed)
    }

    /// FML2/3's `forgeData`, when present and well-formed.
    pub fn forge_data(&self) -> Option<&ForgeData> {
        self.forge_data.as_ref().and_then(Lenient::parsed)
    }

    /// Whether the status carries Forge data (well-formed or not).
    pub fn is_forge(&self) -> bool {
        self.mod_info.is_some() || self.forge_data.is_some()
    }

    /// The server's mods, whichever FML version listed them: FML3's packed `d` when
    /// it decodes, else FML2's `mods`, else FML1's `modList`; empty for a vanilla
    /// server or when none of them parses.
    pub fn mods(&self) -> Vec<ModEntry> {
        unified_mods(self.mod_info(), self.forge_data())
    }

    /// The sample's player names (empty without a sample).
    pub fn sample_names(&self) -> Vec<&str> {
        self.players
            .as_ref()
            .and_then(|p| p.sample.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::forge::{Fml1Mod, ForgeChannel, ForgeMod, PackedForgeData, PackedMod};
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn vanilla_1_20() {
        let json = r#"{"version":{"name":"1.20.4","protocol":765},"enforcesSecureChat":true,
            "description":"A Minecraft Server","players":{"max":20,"online":2,
            "sample":[{"name":"Alex","id":"ec561538-f3fd-461d-aff5-086b22154bce"},
                      {"name":"Steve","id":"8667ba71-b85a-4004-af54-457a9734eed7"}]},
            "preventsChatReports":false}"#;
        let s = JavaStatus::from_json(json).expect("parse");
        assert_eq!(
            s.version,
            Some(JavaVersion {
                name: "1.20.4".into(),
                protocol: 765
            })
        );
        let players = s.players.as_ref().expect("players");
        assert_eq!((players.online, players.max), (2, 20));
        assert_eq!(s.sample_names(), ["Alex", "Steve"]);
        assert_eq!(s.description, json!("A Minecraft Server"));
        assert_eq!(s.enforces_secure_chat, Some(true));
        assert_eq!(s.prevents_chat_reports, Some(false));
        assert!(s.extra.is_empty());
        assert!(!s.is_forge());
        assert!(s.mods().is_empty());
        assert_eq!(JavaStatus::from_json(&s.to_json()), Ok(s));
    }

    #[test]
    fn waterfall_without_players() {
        let json = r#"{"version":{"name":"Waterfall 1.8.x-1.21.x","protocol":767},
            "description":{"text":"Proxy"}}"#;
        let s = JavaStatus::from_json(json).expect("parse");
        assert_eq!(s.players, None);
        assert!(s.sample_names().is_empty());
        assert_eq!(s.version.as_ref().map(|v| v.protocol), Some(767));
        // Players without a sample, as most servers send them.
        let s = JavaStatus::from_json(r#"{"players":{"max":0,"online":0}}"#).expect("parse");
        assert_eq!(s.players.and_then(|p| p.sample), None);
        // An empty object is a valid (if uninformative) status, as for vanilla.
        assert_eq!(JavaStatus::from_json("{}"), Ok(JavaStatus::default()));
    }

    #[test]
    fn text_component_is_kept_raw() {
        let description = json!({
            "text": "",
            "extra": [
                {"text": "Hello ", "color": "#FF5555", "bold": true},
                {"translate": "multiplayer.status.online", "with": ["x"], "color": "gold"},
                "plain"
            ]
        });
        let json = json!({"description": description, "version": {"name": "x", "protocol": 1}});
        let s = JavaStatus::from_json(&json.to_string()).expect("parse");
        assert_eq!(s.description, description);
        let back: Value = serde_json::from_str(&s.to_json()).expect("json");
        assert_eq!(back, json);
    }

    #[test]
    fn unknown_fields_survive() {
        let json = json!({
            "version": {"name": "Paper 1.21", "protocol": 767},
            "description": "x",
            "previewsChat": false,
            "modpackData": {"projectID": 123, "name": "Pack", "version": "1.0", "isMetadata": true},
            "isModded": true
        });
        let s = JavaStatus::from_json(&json.to_string()).expect("parse");
        assert_eq!(s.extra.len(), 3);
        assert_eq!(s.extra["modpackData"]["projectID"], 123);
        let back: Value = serde_json::from_str(&s.to_json()).expect("json");
        assert_eq!(back, json);
    }

    #[test]
    fn invalid_json_is_typed() {
        assert!(matches!(
            JavaStatus::from_json("{"),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(
            JavaStatus::from_json("[]"),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(
            JavaStatus::from_json(r#"{"version":{"name":1,"protocol":2}}"#),
            Err(DecodeError::InvalidJson(_))
        ));
        // Deep nesting hits serde_json's recursion limit, not the stack.
        let deep = format!(
            "{{\"description\":{}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(matches!(
            JavaStatus::from_json(&deep),
            Err(DecodeError::InvalidJson(_))
        ));
    }

    #[test]
    fn forge_fml1_modinfo() {
        let json = r#"{"version":{"name":"1.12.2","protocol":340},"description":"Forge",
            "modinfo":{"type":"FML","modList":[{"modid":"minecraft","version":"1.12.2"},
            {"modid":"mcp","version":"9.42"},{"modid":"FML","version":"8.0.99.99"}]}}"#;
        let s = JavaStatus::from_json(json).expect("parse");
        let info = s.mod_info().expect("modinfo");
        assert_eq!(info.kind, "FML");
        assert_eq!(
            info.mod_list[1],
            Fml1Mod {
                mod_id: "mcp".into(),
                version: "9.42".into()
            }
        );
        let mods = s.mods();
        assert_eq!(mods.len(), 3);
        assert_eq!(mods[2].id, "FML");
        assert_eq!(mods[2].version.as_deref(), Some("8.0.99.99"));
    }

    #[test]
    fn forge_fml2_forge_data() {
        let json = r#"{"version":{"name":"1.16.5","protocol":754},"description":{"text":"A Forge server"},
            "players":{"max":100,"online":0},
            "forgeData":{"channels":[{"res":"forge:tier_sorting","version":"1.0","required":false},
              {"res":"jei:channel","version":"7.7.1","required":true}],
              "mods":[{"modId":"forge","modmarker":"ANY"},{"modId":"jei","modmarker":"7.7.1.153"},
                      {"modid":"oldstyle","modmarker":"1"}],
              "fmlNetworkVersion":2}}"#;
        let s = JavaStatus::from_json(json).expect("parse");
        let forge = s.forge_data().expect("forgeData");
        assert_eq!(forge.fml_network_version, Some(2));
        assert_eq!(
            forge.channels[1],
            ForgeChannel {
                res: "jei:channel".into(),
                version: "7.7.1".into(),
                required: true
            }
        );
        assert_eq!(
            forge.mods[2],
            ForgeMod {
                mod_id: "oldstyle".into(),
                modmarker: "1".into()
            }
        );
        assert!(forge.decode_packed().is_none());
        let ids: Vec<String> = s.mods().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["forge", "jei", "oldstyle"]);
    }

    #[test]
    fn forge_fml3_packed_d() {
        let packed = PackedForgeData {
            truncated: false,
            mods: vec![
                PackedMod {
                    mod_id: "forge".into(),
                    version: Some("ANY".into()),
                    channels: vec![],
                },
                PackedMod {
                    mod_id: "create".into(),
                    version: Some("0.5.1.f".into()),
                    channels: vec![],
                },
                PackedMod {
                    mod_id: "spark".into(),
                    version: None,
                    channels: vec![],
                },
            ],
            non_mod_channels: vec![],
        };
        let json = json!({
            "version": {"name": "1.20.1", "protocol": 763},
            "description": "modded",
            "forgeData": {"channels": [], "mods": [], "fmlNetworkVersion": 3,
                          "truncated": true, "d": packed.encode_str()}
        });
        let s = JavaStatus::from_json(&json.to_string()).expect("parse");
        let forge = s.forge_data().expect("forgeData");
        assert_eq!(forge.decode_packed(), Some(Ok(packed)));
        let mods = s.mods();
        assert_eq!(
            mods.iter()
                .map(|m| (m.id.as_str(), m.version.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("forge", Some("ANY")),
                ("create", Some("0.5.1.f")),
                ("spark", None)
            ]
        );
        let back: Value = serde_json::from_str(&s.to_json()).expect("json");
        assert_eq!(back, json);
    }

    #[test]
    fn bad_mod_data_never_fails_the_status() {
        let json = json!({
            "version": {"name": "1.20.1", "protocol": 763},
            "players": {"max": 5, "online": 1},
            "modinfo": {"type": "FML", "modList": "not a list"},
            "forgeData": {"channels": 7, "d": 5}
        });
        let s = JavaStatus::from_json(&json.to_string()).expect("status still parses");
        assert!(s.is_forge());
        assert!(s.mod_info().is_none());
        assert!(s.mod_info.as_ref().and_then(Lenient::error).is_some());
        assert!(s.forge_data().is_none());
        assert!(s.mods().is_empty());
        assert_eq!(s.players.as_ref().map(|p| p.online), Some(1));
        let back: Value = serde_json::from_str(&s.to_json()).expect("json");
        assert_eq!(back, json, "invalid parts are re-emitted as they came");
        // A well-formed forgeData whose `d` is garbage: mods fall back to `mods`.
        let s = JavaStatus::from_json(
            r#"{"forgeData":{"channels":[],"mods":[{"modId":"a","modmarker":"1"}],"d":"\u0005"}}"#,
        )
        .expect("parse");
        assert!(matches!(
            s.forge_data().and_then(ForgeData::decode_packed),
            Some(Err(_))
        ));
        assert_eq!(s.mods()[0].id, "a");
    }

    const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

    #[test]
    fn favicon_data_url() {
        let url = format!("{FAVICON_PREFIX}{PNG_1X1}");
        let png = decode_favicon(&url).expect("png");
        assert!(png.starts_with(&PNG_SIGNATURE));
        assert_eq!(super::favicon_data_url(&png), url);
        // Line breaks (old servers) and missing padding are fine.
        let wrapped = format!(
            "{FAVICON_PREFIX}{}\n{}",
            &PNG_1X1[..40],
            PNG_1X1[40..].trim_end_matches('=')
        );
        assert_eq!(decode_favicon(&wrapped), Ok(png.clone()));
        let s = JavaStatus {
            favicon: Some(url),
            ..JavaStatus::default()
        };
        assert_eq!(s.favicon_png(), Some(Ok(png)));
        assert_eq!(JavaStatus::default().favicon_png(), None);
    }

    #[test]
    fn bad_favicons() {
        assert!(matches!(
            decode_favicon("data:image/jpeg;base64,AAAA"),
            Err(DecodeError::InvalidField {
                field: "favicon",
                ..
            })
        ));
        assert!(matches!(
            decode_favicon("data:image/png;base64,!!!!"),
            Err(DecodeError::InvalidField {
                field: "favicon",
                ..
            })
        ));
        assert!(matches!(
            decode_favicon("data:image/png;base64,AAAA"),
            Err(DecodeError::BadMagic { .. })
        ));
        let huge = format!(
            "{FAVICON_PREFIX}{}",
            "A".repeat(MAX_FAVICON_BYTES / 3 * 4 + 8)
        );
        assert!(matches!(
            decode_favicon(&huge),
            Err(DecodeError::InvalidField {
                field: "favicon",
                ..
            })
        ));
        assert!(decode_favicon("").is_err());
        assert!(decode_favicon("data:image/pngé").is_err());
    }

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        json_leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    const KNOWN: [&str; 8] = [
        "version",
        "players",
        "description",
        "favicon",
        "enforcesSecureChat",
        "preventsChatReports",
        "modinfo",
        "forgeData",
    ];

    prop_compose! {
        fn java_status()(
            version in proptest::option::of(("\\PC{0,16}", any::<i32>())),
            players in proptest::option::of((any::<i64>(), any::<i64>(),
                proptest::option::of(proptest::collection::vec(("\\PC{0,16}", "[0-9a-f-]{0,36}"), 0..4)))),
            description in json_value(),
            favicon in proptest::option::of("\\PC{0,20}"),
            enforces_secure_chat: Option<bool>,
            prevents_chat_reports: Option<bool>,
            mod_info in proptest::option::of(proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..3)),
            forge in proptest::option::of((proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..3),
                proptest::option::of(any::<i32>()), proptest::option::of(any::<bool>()),
                proptest::option::of("\\PC{0,12}"))),
            raw_forge in proptest::option::of(json_value()),
            extra in proptest::collection::btree_map("[a-zA-Z]{1,10}", json_value(), 0..4),
        ) -> JavaStatus {
            JavaStatus {
                version: version.map(|(name, protocol)| JavaVersion { name, protocol }),
                players: players.map(|(max, online, sample)| JavaPlayers {
                    max,
                    online,
                    sample: sample.map(|s| s.into_iter().map(|(name, id)| PlayerSample { name, id }).collect()),
                }),
                description,
                favicon,
                enforces_secure_chat,
                prevents_chat_reports,
                mod_info: mod_info.map(|l| Lenient::Parsed(ModInfo {
                    kind: "FML".into(),
                    mod_list: l.into_iter().map(|(mod_id, version)| Fml1Mod { mod_id, version }).collect(),
                })),
                forge_data: match (forge, raw_forge) {
                    (Some((mods, fml_network_version, truncated, d)), _) => Some(Lenient::Parsed(ForgeData {
                        channels: vec![],
                        mods: mods.into_iter().map(|(mod_id, modmarker)| ForgeMod { mod_id, modmarker }).collect(),
                        fml_network_version,
                        truncated,
                        d,
                    })),
                    // A raw value that happens to parse would come back as Parsed;
                    // only non-objects are certain to stay Invalid.
                    (None, Some(raw)) if !raw.is_object() && !raw.is_null() => {
                        Some(Lenient::Invalid { raw, error: NOT_AN_OBJECT.to_owned() })
                    }
                    _ => None,
                },
                extra: extra.into_iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).collect(),
            }
        }
    }

    /// The former, derived `Deserialize` of [`JavaStatus`] (`flatten` for unknown
    /// fields, `Lenient`'s generic `Value`-first impl): the reference the hand-written
    /// one must agree with, errors included.
    #[derive(Deserialize)]
    struct Reference {
        #[serde(default)]
        version: Option<JavaVersion>,
        #[serde(default)]
        players: Option<JavaPlayers>,
        #[serde(default)]
        description: Value,
        #[serde(default)]
        favicon: Option<String>,
        #[serde(rename = "enforcesSecureChat", default)]
        enforces_secure_chat: Option<bool>,
        #[serde(rename = "preventsChatReports", default)]
        prevents_chat_reports: Option<bool>,
        #[serde(rename = "modinfo", default)]
        mod_info: Option<Lenient<ModInfo>>,
        #[serde(rename = "forgeData", default)]
        forge_data: Option<Lenient<ForgeData>>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }

    fn reference(json: &str) -> Result<JavaStatus, String> {
        serde_json::from_str::<Reference>(json)
            .map(|r| JavaStatus {
                version: r.version,
                players: r.players,
                description: r.description,
                favicon: r.favicon,
                enforces_secure_chat: r.enforces_secure_chat,
                prevents_chat_reports: r.prevents_chat_reports,
                mod_info: r.mod_info,
                forge_data: r.forge_data,
                extra: r.extra,
            })
            .map_err(|e| e.to_string())
    }

    /// Same value, or both an error (messages may differ in position: an error
    /// inside `forgeData` is now found in its captured text).
    /// Both ways in: `from_json` (raw values) and the generic impl (`from_str`).
    fn agrees(json: &str) -> Result<(), String> {
        let generic = serde_json::from_str::<JavaStatus>(json).map_err(|e| e.to_string());
        for (way, new) in [
            (
                "from_json",
                JavaStatus::from_json(json).map_err(|e| e.to_string()),
            ),
            ("Deserialize", generic),
        ] {
            match (new, reference(json)) {
                (Ok(new), Ok(old)) if new == old => {}
                (Err(_), Err(_)) => {}
                (new, old) => return Err(format!("{json} ({way})\n new: {new:?}\n old: {old:?}")),
            }
        }
        Ok(())
    }

    #[test]
    fn deserializes_inside_enums_too() {
        // Inside an untagged or internally tagged enum serde buffers the value first,
        // where no raw value can be taken: the generic impl must not need one.
        #[derive(Debug, Deserialize)]
        #[serde(untagged)]
        enum Untagged {
            Status(JavaStatus),
        }
        #[derive(Debug, Deserialize)]
        #[serde(tag = "kind")]
        enum Tagged {
            Status(JavaStatus),
        }
        let json = r#"{"description":"hi","forgeData":{"fmlNetworkVersion":3,"mods":[]},"modinfo":{"type":"FML","modList":[]}}"#;
        let direct = JavaStatus::from_json(json).expect("direct");
        assert!(direct.forge_data().is_some() && direct.mod_info().is_some());
        let Untagged::Status(untagged) = serde_json::from_str(json).expect("untagged");
        assert_eq!(untagged, direct);
        let tagged_json = format!(r#"{{"kind":"Status",{}"#, &json[1..]);
        let Tagged::Status(tagged) = serde_json::from_str(&tagged_json).expect("tagged");
        assert_eq!(tagged, direct);
    }

    #[test]
    fn agrees_with_the_derived_impl_on_edge_cases() {
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let deep_forge = |n: usize| format!(r#"{{"forgeData":{{"x":{}}}}}"#, nest(n));
        let cases: Vec<String> = [
            "{}",
            "[]",
            "null",
            "{\"version\":null,\"players\":null,\"description\":null,\"favicon\":null}",
            "{\"enforcesSecureChat\":null,\"preventsChatReports\":null,\"modinfo\":null,\"forgeData\":null}",
            // Duplicates: known keys are an error (even after null), unknown ones the last wins.
            "{\"version\":{\"name\":\"a\",\"protocol\":1},\"version\":{\"name\":\"b\",\"protocol\":2}}",
            "{\"forgeData\":null,\"forgeData\":{}}",
            "{\"description\":1,\"description\":2}",
            "{\"x\":1,\"x\":2}",
            "{\"x\":1,\"y\":{\"a\":1,\"a\":[2]}}",
            // Duplicates inside forgeData: the Value keeps the last, the typed parse refuses.
            "{\"forgeData\":{\"d\":\"a\",\"d\":\"b\"}}",
            "{\"forgeData\":{\"mods\":[{\"modId\":\"a\",\"modid\":\"b\",\"modmarker\":\"1\"}]}}",
            "{\"forgeData\":{\"mods\":[{\"modId\":\"a\",\"modmarker\":\"1\",\"modmarker\":\"2\"}]}}",
            "{\"modinfo\":{\"type\":\"FML\",\"modList\":[],\"type\":\"x\"}}",
            // Not objects, and objects of the wrong shape.
            "{\"forgeData\":[[],[],1,true,\"x\"]}",
            "{\"forgeData\":[]}",
            "{\"forgeData\":5}",
            "{\"forgeData\":\"x\"}",
            "{\"forgeData\":true}",
            "{\"modinfo\":{\"type\":\"FML\"}}",
            "{\"modinfo\":{\"type\":\"FML\",\"modList\":[[\"a\",\"1\"]]}}",
            "{\"forgeData\":{\"channels\":[[\"r\",\"1\",true]]}}",
            "{\"forgeData\":{\"fmlNetworkVersion\":2.0}}",
            "{\"forgeData\":{\"fmlNetworkVersion\":-0}}",
            "{\"forgeData\":{\"fmlNetworkVersion\":99999999999999999999}}",
            "{\"forgeData\":{\"fmlNetworkVersion\":1e2}}",
            // What skipping accepts and a Value refuses, in ignored fields.
            "{\"forgeData\":{\"x\":1e400}}",
            "{\"forgeData\":{\"x\":-1E+400}}",
            "{\"forgeData\":{\"x\":1e300}}",
            "{\"forgeData\":{\"x\":\"\\ud800\"}}",
            "{\"forgeData\":{\"x\":\"\\uD83D\\uDE00\"}}",
            "{\"forgeData\":{\"\\udc00\":1}}",
            "{\"modinfo\":{\"type\":\"FML\",\"modList\":[],\"x\":[1e999]}}",
            "{\"forgeData\":{\"x\":\"\\\\ud800\"}}",
            "{\"forgeData\":{\"d\":\"\\u0005\\u7fff\"}}",
            "{\"x\":1e400}",
            "{\"description\":\"\\ud800\"}",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([
            format!("{{\"forgeData\":{{\"x\":{}}}}}", "9".repeat(400)),
            format!("{{\"forgeData\":{{\"x\":0.{}}}}}", "1".repeat(400)),
            format!("{{\"forgeData\":{{\"x\":{}}}}}", "9".repeat(310)),
        ])
        .chain((120..=130).map(deep_forge))
        .chain((120..=130).map(|n| format!(r#"{{"forgeData":{}}}"#, nest(n))))
        .chain((120..=130).map(|n| format!(r#"{{"x":{}}}"#, nest(n))))
        .collect();
        for case in &cases {
            if let Err(e) = agrees(case) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn raw_scan() {
        let plain = |t: &str| RawScan::of(t).plain;
        assert!(plain(r#"{"a":[1,-2.5,true,false,null,"e\"E\\"],"b":{}}"#));
        assert!(!plain(r#"{"a":1e3}"#));
        assert!(!plain(r#"{"a":-2.5E-3}"#));
        assert!(!plain(r#"["\uD800"]"#));
        assert!(plain(r#"["\\uD800","\u0041"]"#));
        assert_eq!(RawScan::of(r#"{"a":[[]],"b":"[[[["}"#).depth, 3);
        assert_eq!(RawScan::of("1").depth, 0);
    }

    /// JSON values with forge-ish keys and the numbers and strings that make the two
    /// parses differ if anything does.
    fn forge_like() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            Just("2.0".to_owned()),
            Just("1e400".to_owned()),
            Just("3".to_owned()),
            Just("\"\\ud800\"".to_owned()),
            Just("\"\\u0005\"".to_owned()),
            "\\PC{0,6}".prop_map(|s| Value::from(s).to_string()),
        ];
        let key = prop_oneof![
            Just("channels"),
            Just("mods"),
            Just("d"),
            Just("fmlNetworkVersion"),
            Just("truncated"),
            Just("modId"),
            Just("modid"),
            Just("modmarker"),
            Just("res"),
            Just("version"),
            Just("required"),
            Just("type"),
            Just("modList"),
            Just("x"),
        ];
        leaf.prop_recursive(4, 32, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                    let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_the_derived_impl(
            forge in proptest::option::of(forge_like()),
            modinfo in proptest::option::of(forge_like()),
            other in proptest::option::of(forge_like()),
            s in java_status(),
        ) {
            let mut fields: Vec<String> = Vec::new();
            if let Some(f) = forge { fields.push(format!("\"forgeData\":{f}")); }
            if let Some(m) = modinfo { fields.push(format!("\"modinfo\":{m}")); }
            if let Some(o) = other { fields.push(format!("\"other\":{o}")); }
            let json = format!("{{{}}}", fields.join(","));
            prop_assert_eq!(agrees(&json), Ok(()));
            let json = s.to_json();
            prop_assert_eq!(agrees(&json), Ok(()));
        }

        #[test]
        fn java_status_round_trip(s in java_status()) {
            prop_assert_eq!(JavaStatus::from_json(&s.to_json()), Ok(s));
        }

        #[test]
        fn from_json_never_panics(text in "\\PC{0,80}") {
            if let Ok(s) = JavaStatus::from_json(&text) {
                let _ = s.mods();
                let _ = s.favicon_png();
            }
        }
    }
}
