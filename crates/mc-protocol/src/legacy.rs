//! Legacy server list ping, as servers before 1.7 speak it (and most later servers
//! still answer it).
//!
//! # Requests (client → server)
//! Three forms, one per client generation ([`LegacyPingC2s`]):
//!
//! | form | bytes | reply format |
//! |------|-------|--------------|
//! | beta 1.8 – 1.3 | `FE` | beta: `motd§online§max` |
//! | 1.4 – 1.5 | `FE 01` | `§1\0protocol\0version\0motd\0online\0max` |
//! | 1.6 | `FE 01 FA` + an `MC\|PingHost` plugin message | same as 1.4 |
//!
//! The 1.6 plugin message is: channel name (u16 length in UTF-16 code units, then
//! UTF-16BE text, always `MC|PingHost`), a u16 data length, the client's protocol
//! version (one byte), the host name it connected to (UTF-16 string as before) and the
//! port (big-endian i32).
//!
//! A request has no length prefix: the only way to tell `FE` from the start of
//! `FE 01` is that no more bytes arrive. [`LegacyPingC2s::decode_partial`] therefore
//! says whether more bytes *could* change the answer ([`RequestProgress::Prefix`]),
//! and the caller decides how long to wait. It is lenient where real clients are
//! sloppy: `FE 01 FA` alone (what mcstatus sends) and an `FE 01 FA` whose plugin
//! message is malformed (what minecraft-server-util sends: UTF-8 text, 16-bit port)
//! are both a 1.6 request without [`PingHost`], since the reply format depends only
//! on the `FE 01` prefix. [`LegacyPingC2s::decode`] is the strict decoder of one
//! complete, well-formed request.
//!
//! # Reply (server → client)
//! A "kick" packet [`LegacyKickS2c`]: `FF`, a u16 length in UTF-16 code units, the
//! UTF-16BE reason text. The text carries the status ([`LegacyStatus`]) in one of two
//! formats, told apart by the `§1\0` prefix of the newer one.
//!
//! # Numbers
//! The protocol version, online and max players are text in the reply. They must parse
//! as integers (`i32` for the protocol, `i64` for the player counts; Rust's integer
//! syntax, so an optional `+` and leading zeros are accepted): anything else is a typed
//! [`DecodeError::InvalidField`] naming the field, never a silent 0.
//!
//! ```
//! use mc_protocol::legacy::{LegacyKickS2c, LegacyStatus, LegacyVersion};
//! let status = LegacyStatus {
//!     version: Some(LegacyVersion { protocol: 78, name: "1.6.4".into() }),
//!     motd: "A Minecraft Server".into(),
//!     online: 3,
//!     max: 20,
//! };
//! let mut wire = Vec::new();
//! LegacyKickS2c::from_status(&status).encode(&mut wire);
//! let kick = LegacyKickS2c::decode(&wire).unwrap();
//! assert_eq!(kick.status().unwrap(), status);
//! ```

use crate::codec::{DecodeError, DecodeResult, Reader, cautious_capacity};

/// The first byte of every legacy request.
pub const PING_ID: u8 = 0xFE;
/// The byte after [`PING_ID`] in the 1.4+ forms.
pub const PING_PAYLOAD: u8 = 0x01;
/// The plugin-message packet id that starts the 1.6 form's third part.
pub const PLUGIN_MESSAGE_ID: u8 = 0xFA;
/// The channel name of the 1.6 plugin message.
pub const PING_HOST_CHANNEL: &str = "MC|PingHost";
/// The first byte of the reply.
pub const KICK_ID: u8 = 0xFF;
/// The longest host name accepted in a 1.6 request, in UTF-16 code units (the
/// longest DNS name is 253 characters).
pub const MAX_HOSTNAME_UNITS: usize = 255;
/// The longest kick reason the format can carry, in UTF-16 code units.
pub const MAX_REASON_UNITS: usize = u16::MAX as usize;
/// The protocol version byte our 1.6 requests carry (1.6.4).
pub const PROTOCOL_1_6_4: u8 = 78;
/// The longest well-formed request, in bytes: `FE 01 FA`, the channel name, the
/// data length and the largest data (version byte, host name, port).
pub const MAX_REQUEST_LEN: usize = 3 + 2 + 2 * PING_HOST_CHANNEL.len() + 2 + MAX_PING_HOST_DATA_LEN;
/// The largest data length of a well-formed 1.6 plugin message.
const MAX_PING_HOST_DATA_LEN: usize = 1 + 2 + 2 * MAX_HOSTNAME_UNITS + 4;

/// Which request a client sends; it also decides the reply format a server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegacyForm {
    /// Beta 1.8 to 1.3: `FE`; the reply is in the beta format.
    Beta,
    /// 1.4 and 1.5: `FE 01`; the reply is in the `§1` format.
    V1_4,
    /// 1.6: `FE 01 FA` + `MC|PingHost`; the reply is in the `§1` format.
    V1_6,
}

/// What a 1.6 client says about where it connects, in its `MC|PingHost` message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PingHost {
    /// The client's protocol version (73 = 1.6.1, 74 = 1.6.2, 78 = 1.6.4).
    pub protocol_version: u8,
    /// The host name the client connected to, at most [`MAX_HOSTNAME_UNITS`] UTF-16
    /// code units.
    pub hostname: String,
    /// The port the client connected to.
    pub port: i32,
}

/// A legacy status request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LegacyPingC2s {
    /// `FE`.
    Beta,
    /// `FE 01`.
    V1_4,
    /// `FE 01 FA` and, when the client sent a well-formed one, its plugin message.
    /// `None` encodes as the bare `FE 01 FA` that mcstatus sends.
    V1_6(Option<PingHost>),
}

/// How far [`LegacyPingC2s::decode_partial`] got with the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestProgress {
    /// A complete request: no further byte can change the answer.
    Complete(LegacyPingC2s),
    /// The bytes so far are this request, but more bytes could still extend it
    /// (`FE` may become `FE 01`, which may become a 1.6 request). A server waits a
    /// short while for more, then answers this.
    Prefix(LegacyPingC2s),
}

impl RequestProgress {
    /// The request, complete or not.
    pub fn request(&self) -> &LegacyPingC2s {
        match self {
            Self::Complete(r) | Self::Prefix(r) => r,
        }
    }

    /// The request, complete or not, by value.
    pub fn into_request(self) -> LegacyPingC2s {
        match self {
            Self::Complete(r) | Self::Prefix(r) => r,
        }
    }
}

impl LegacyPingC2s {
    /// The form of this request.
    pub fn form(&self) -> LegacyForm {
        match self {
            Self::Beta => LegacyForm::Beta,
            Self::V1_4 => LegacyForm::V1_4,
            Self::V1_6(_) => LegacyForm::V1_6,
        }
    }

    /// Appends the wire bytes.
    ///
    /// A host name longer than [`MAX_HOSTNAME_UNITS`] is truncated to that length.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(PING_ID);
        match self {
            Self::Beta => {}
            Self::V1_4 => out.push(PING_PAYLOAD),
            Self::V1_6(host) => {
                out.extend_from_slice(&[PING_PAYLOAD, PLUGIN_MESSAGE_ID]);
                if let Some(host) = host {
                    write_utf16(out, PING_HOST_CHANNEL, MAX_HOSTNAME_UNITS);
                    let hostname = utf16_units(&host.hostname, MAX_HOSTNAME_UNITS);
                    // 1 + 2 + 2 * 255 + 4 always fits a u16.
                    let data_len = (1 + 2 + 2 * hostname.len() + 4) as u16;
                    out.extend_from_slice(&data_len.to_be_bytes());
                    out.push(host.protocol_version);
                    write_units(out, &hostname);
                    out.extend_from_slice(&host.port.to_be_bytes());
                }
            }
        }
    }

    /// Decodes one complete, well-formed request that is all of `buf`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`] when a marker byte is wrong,
    /// [`DecodeError::BadMagic`] when the channel is not `MC|PingHost`,
    /// [`DecodeError::StringTooLong`], [`DecodeError::InvalidText`] (`UTF-16BE`),
    /// [`DecodeError::InvalidField`] when the data length disagrees with its content,
    /// [`DecodeError::UnexpectedEof`] or [`DecodeError::TrailingBytes`].
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(buf);
        expect_byte(&mut r, PING_ID)?;
        if r.remaining() == 0 {
            return Ok(Self::Beta);
        }
        expect_byte(&mut r, PING_PAYLOAD)?;
        if r.remaining() == 0 {
            return Ok(Self::V1_4);
        }
        expect_byte(&mut r, PLUGIN_MESSAGE_ID)?;
        if r.remaining() == 0 {
            return Ok(Self::V1_6(None));
        }
        let host = decode_ping_host(&mut r)?;
        r.finish()?;
        Ok(Self::V1_6(Some(host)))
    }

    /// Classifies the bytes a server has received so far (see the module docs).
    ///
    /// Lenient in the 1.6 form: a plugin message that cannot be `MC|PingHost` (wrong
    /// channel, invalid text, inconsistent or oversized lengths) gives
    /// `Complete(V1_6(None))`, and bytes after a complete request are ignored. Never
    /// needs more than [`MAX_REQUEST_LEN`] bytes to reach `Complete`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] on empty input, and
    /// [`DecodeError::UnexpectedPacketId`] when the bytes are not a legacy ping at all
    /// (the first byte is not `FE`, or `FE` is followed by anything but `01`, or
    /// `FE 01` by anything but `FA`).
    pub fn decode_partial(buf: &[u8]) -> DecodeResult<RequestProgress> {
        let mut r = Reader::new(buf);
        expect_byte(&mut r, PING_ID)?;
        if r.remaining() == 0 {
            return Ok(RequestProgress::Prefix(Self::Beta));
        }
        expect_byte(&mut r, PING_PAYLOAD)?;
        if r.remaining() == 0 {
            return Ok(RequestProgress::Prefix(Self::V1_4));
        }
        expect_byte(&mut r, PLUGIN_MESSAGE_ID)?;
        let message = r.rest();
        Ok(match decode_ping_host(&mut r) {
            Ok(host) => RequestProgress::Complete(Self::V1_6(Some(host))),
            Err(DecodeError::UnexpectedEof { .. }) if !cannot_be_ping_host(message) => {
                RequestProgress::Prefix(Self::V1_6(None))
            }
            Err(_) => RequestProgress::Complete(Self::V1_6(None)),
        })
    }
}

/// Whether an incomplete plugin message already differs from every well-formed
/// `MC|PingHost` message (so waiting for more bytes is pointless).
fn cannot_be_ping_host(rest: &[u8]) -> bool {
    let mut expected = Vec::with_capacity(2 + 2 * PING_HOST_CHANNEL.len());
    write_utf16(&mut expected, PING_HOST_CHANNEL, MAX_HOSTNAME_UNITS);
    let n = rest.len().min(expected.len());
    if rest[..n] != expected[..n] {
        return true;
    }
    // The data length, once present, must be within bounds.
    match rest.get(expected.len()..expected.len() + 2) {
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])) > MAX_PING_HOST_DATA_LEN,
        _ => false,
    }
}

fn expect_byte(r: &mut Reader<'_>, expected: u8) -> DecodeResult<()> {
    let found = r.read_u8()?;
    if found == expected {
        Ok(())
    } else {
        Err(DecodeError::UnexpectedPacketId {
            expected: expected.into(),
            found: found.into(),
        })
    }
}

/// Decodes the `MC|PingHost` plugin message after `FE 01 FA`.
fn decode_ping_host(r: &mut Reader<'_>) -> DecodeResult<PingHost> {
    let channel = read_utf16(r, PING_HOST_CHANNEL.len())?;
    if channel != PING_HOST_CHANNEL {
        return Err(DecodeError::BadMagic {
            what: "MC|PingHost channel",
        });
    }
    let data_len = usize::from(r.read_u16_be()?);
    if data_len > MAX_PING_HOST_DATA_LEN {
        return Err(DecodeError::FrameTooLarge {
            size: data_len as u64,
            max: MAX_PING_HOST_DATA_LEN,
        });
    }
    let mut data = Reader::new(r.read_bytes(data_len)?);
    let protocol_version = data.read_u8()?;
    let hostname = read_utf16(&mut data, MAX_HOSTNAME_UNITS)?;
    let port = data.read_i32_be()?;
    if data.remaining() != 0 {
        return Err(DecodeError::InvalidField {
            field: "MC|PingHost data length",
            reason: format!("{} byte(s) beyond host name and port", data.remaining()),
        });
    }
    Ok(PingHost {
        protocol_version,
        hostname,
        port,
    })
}

/// The reply to every legacy request: `FF`, a u16 length in UTF-16 code units, and
/// the UTF-16BE reason text that carries the status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyKickS2c {
    /// The reason text (a status in one of the two formats, see [`LegacyStatus`]).
    pub reason: String,
}

impl LegacyKickS2c {
    /// The kick packet carrying `status`, in the format its `version` implies
    /// ([`LegacyStatus::to_kick_reason`]).
    pub fn from_status(status: &LegacyStatus) -> Self {
        Self {
            reason: status.to_kick_reason(),
        }
    }

    /// The status carried by the reason text ([`LegacyStatus::from_kick_reason`]).
    ///
    /// # Errors
    /// See [`LegacyStatus::from_kick_reason`].
    pub fn status(&self) -> DecodeResult<LegacyStatus> {
        LegacyStatus::from_kick_reason(&self.reason)
    }

    /// Appends the wire bytes. A reason longer than [`MAX_REASON_UNITS`] UTF-16 code
    /// units is truncated to that length (never inside a surrogate pair).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(KICK_ID);
        write_utf16(out, &self.reason, MAX_REASON_UNITS);
    }

    /// The total frame length (header included) announced by the 3-byte header
    /// `FF len len`, checked against `max` bytes before anything else is read.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`] when the first byte is not `FF`,
    /// [`DecodeError::FrameTooLarge`] when the frame would exceed `max`.
    pub fn frame_len(header: [u8; 3], max: usize) -> DecodeResult<usize> {
        let [id, hi, lo] = header;
        if id != KICK_ID {
            return Err(DecodeError::UnexpectedPacketId {
                expected: KICK_ID.into(),
                found: id.into(),
            });
        }
        let size = 3 + 2 * usize::from(u16::from_be_bytes([hi, lo]));
        if size > max {
            return Err(DecodeError::FrameTooLarge {
                size: size as u64,
                max,
            });
        }
        Ok(size)
    }

    /// Incremental decoding: `Ok(None)` while `buf` holds less than a whole frame,
    /// else the packet and the bytes it used. The announced length is checked
    /// against `max` (bytes, header included) as soon as the header is present.
    ///
    /// # Errors
    /// As [`LegacyKickS2c::frame_len`], and [`DecodeError::InvalidText`]
    /// (`UTF-16BE`) for a lone surrogate.
    pub fn decode_frame(buf: &[u8], max: usize) -> DecodeResult<Option<(Self, usize)>> {
        let Some(&[id, hi, lo]) = buf.get(..3) else {
            return match buf.first() {
                Some(&id) if id != KICK_ID => Err(DecodeError::UnexpectedPacketId {
                    expected: KICK_ID.into(),
                    found: id.into(),
                }),
                _ => Ok(None),
            };
        };
        let size = Self::frame_len([id, hi, lo], max)?;
        match buf.get(3..size) {
            Some(body) => Ok(Some((
                Self {
                    reason: decode_utf16be(body)?,
                },
                size,
            ))),
            None => Ok(None),
        }
    }

    /// Decodes a packet that is all of `buf`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`], [`DecodeError::UnexpectedPacketId`],
    /// [`DecodeError::InvalidText`] or [`DecodeError::TrailingBytes`].
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(buf);
        expect_byte(&mut r, KICK_ID)?;
        let reason = read_utf16(&mut r, MAX_REASON_UNITS)?;
        r.finish()?;
        Ok(Self { reason })
    }
}

/// The game version a 1.4+ server reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LegacyVersion {
    /// Protocol number (e.g. 78 for 1.6.4, 47 for 1.8 servers answering a legacy ping).
    pub protocol: i32,
    /// Version name (e.g. `1.6.4`); may be any text.
    pub name: String,
}

/// What a legacy reply says about the server.
///
/// The two formats:
/// - beta (`version` is `None`): `motd§online§max`. The MOTD may itself contain `§`
///   (colour codes), so the text is split on the *last two* `§`.
/// - 1.4+ (`version` is `Some`): `§1\0protocol\0version\0motd\0online\0max`, exactly
///   six NUL-separated fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyStatus {
    /// Protocol and version name; `None` for a beta-format reply, which has neither.
    pub version: Option<LegacyVersion>,
    /// The message of the day, with its `§` formatting codes.
    pub motd: String,
    /// Players online.
    pub online: i64,
    /// Player slots.
    pub max: i64,
}

impl LegacyStatus {
    /// The MOTD with its `§` codes read in the Java palette.
    pub fn styled_motd(&self) -> crate::text::Motd {
        crate::text::Motd::from_legacy(&self.motd, crate::text::Palette::Java)
    }

    /// Parses a kick reason in either format (the `§1\0` prefix selects the 1.4+ one).
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] when the text has the wrong number of fields
    /// (`field: "kick reason"`) or a number does not parse (`field: "protocol"`,
    /// `"online"` or `"max"`).
    pub fn from_kick_reason(reason: &str) -> DecodeResult<Self> {
        if let Some(rest) = reason.strip_prefix("§1\0") {
            let fields: Vec<&str> = rest.splitn(6, '\0').collect();
            let &[protocol, name, motd, online, max] = fields.as_slice() else {
                return Err(DecodeError::InvalidField {
                    field: "kick reason",
                    reason: format!(
                        "a §1 reply has 6 NUL-separated fields, found {}",
                        fields.len() + 1
                    ),
                });
            };
            Ok(Self {
                version: Some(LegacyVersion {
                    protocol: parse_number(protocol, "protocol")?,
                    name: name.to_owned(),
                }),
                motd: motd.to_owned(),
                online: parse_number(online, "online")?,
                max: parse_number(max, "max")?,
            })
        } else {
            let mut fields = reason.rsplitn(3, '§');
            let (Some(max), Some(online), Some(motd)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(DecodeError::InvalidField {
                    field: "kick reason",
                    reason: "a beta reply is motd§online§max".to_owned(),
                });
            };
            Ok(Self {
                version: None,
                motd: motd.to_owned(),
                online: parse_number(online, "online")?,
                max: parse_number(max, "max")?,
            })
        }
    }

    /// The kick reason in the format `version` implies: 1.4+ when `Some`, beta when
    /// `None`.
    ///
    /// NUL separates the fields of the 1.4+ format, so a NUL in its MOTD or version
    /// name is written as a space; a beta MOTD keeps its NULs unless it starts with
    /// `§1\0`, which would read as the 1.4+ format (that NUL becomes a space). A MOTD
    /// too long for [`MAX_REASON_UNITS`] is shortened so that the numbers after it
    /// survive.
    pub fn to_kick_reason(&self) -> String {
        let (head, motd, tail) = match &self.version {
            Some(v) => (
                format!("§1\0{}\0{}\0", v.protocol, v.name.replace('\0', " ")),
                self.motd.replace('\0', " "),
                format!("\0{}\0{}", self.online, self.max),
            ),
            None => (
                String::new(),
                match self.motd.strip_prefix("§1\0") {
                    Some(rest) => format!("§1 {rest}"),
                    None => self.motd.clone(),
                },
                format!("§{}§{}", self.online, self.max),
            ),
        };
        let fixed = head.encode_utf16().count() + tail.encode_utf16().count();
        let motd = truncate_utf16(&motd, MAX_REASON_UNITS.saturating_sub(fixed));
        format!("{head}{motd}{tail}")
    }

    /// This status as a server answers a request of `form`: a beta request gets the
    /// beta format (no version); a 1.4+ request gets the `§1` format, with
    /// [`LegacyVersion::default`] when this status has no version.
    pub fn for_form(&self, form: LegacyForm) -> Self {
        let version = match form {
            LegacyForm::Beta => None,
            LegacyForm::V1_4 | LegacyForm::V1_6 => Some(self.version.clone().unwrap_or_default()),
        };
        Self {
            version,
            ..self.clone()
        }
    }
}

fn parse_number<T: std::str::FromStr>(text: &str, field: &'static str) -> DecodeResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| DecodeError::InvalidField {
        field,
        reason: format!("{text:?} is not a number: {e}"),
    })
}

/// Decodes UTF-16BE bytes (an even number of them), refusing lone surrogates.
fn decode_utf16be(bytes: &[u8]) -> DecodeResult<String> {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    let mut out = String::with_capacity(cautious_capacity(bytes.len(), bytes.len()));
    for c in char::decode_utf16(units) {
        out.push(c.map_err(|_| DecodeError::InvalidText {
            encoding: "UTF-16BE",
        })?);
    }
    Ok(out)
}

/// Reads a u16-length-prefixed (in code units) UTF-16BE string of at most `max`
/// code units, checking the length before reading the body.
fn read_utf16(r: &mut Reader<'_>, max: usize) -> DecodeResult<String> {
    let len = usize::from(r.read_u16_be()?);
    if len > max {
        return Err(DecodeError::StringTooLong {
            len: len as u64,
            max,
        });
    }
    decode_utf16be(r.read_bytes(2 * len)?)
}

/// The UTF-16 code units of `s`, at most `max` of them, never ending inside a
/// surrogate pair.
fn utf16_units(s: &str, max: usize) -> Vec<u16> {
    let mut units = Vec::with_capacity(s.len().min(max));
    let mut buf = [0u16; 2];
    for c in s.chars() {
        let encoded = c.encode_utf16(&mut buf);
        if units.len() + encoded.len() > max {
            break;
        }
        units.extend_from_slice(encoded);
    }
    units
}

fn truncate_utf16(s: &str, max: usize) -> String {
    String::from_utf16_lossy(&utf16_units(s, max))
}

fn write_units(out: &mut Vec<u8>, units: &[u16]) {
    // `units` never holds more than u16::MAX entries (callers bound it).
    let len = u16::try_from(units.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    for unit in units.iter().take(usize::from(len)) {
        out.extend_from_slice(&unit.to_be_bytes());
    }
}

/// Writes a u16-length-prefixed UTF-16BE string, truncated to `max` code units.
fn write_utf16(out: &mut Vec<u8>, s: &str, max: usize) {
    write_units(out, &utf16_units(s, max.min(MAX_REASON_UNITS)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("hex")
    }

    fn encoded<T>(value: &T, encode: impl Fn(&T, &mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        encode(value, &mut out);
        out
    }

    /// `FE 01 FA`, `MC|PingHost`, data length 25, version 74, "localhost", 25565.
    const PING_1_6: &str = "fe01fa 000b 004d0043007c00500069006e00670048006f00730074 \
        0019 4a 0009 006c006f00630061006c0068006f00730074 000063dd";

    fn ping_1_6() -> LegacyPingC2s {
        LegacyPingC2s::V1_6(Some(PingHost {
            protocol_version: 74,
            hostname: "localhost".into(),
            port: 25565,
        }))
    }

    #[test]
    fn request_vectors() {
        let vectors = [
            (LegacyPingC2s::Beta, "fe"),
            (LegacyPingC2s::V1_4, "fe01"),
            (LegacyPingC2s::V1_6(None), "fe01fa"),
            (ping_1_6(), PING_1_6),
        ];
        for (request, wire) in vectors {
            let wire = hex(wire);
            assert_eq!(
                encoded(&request, LegacyPingC2s::encode),
                wire,
                "{request:?}"
            );
            assert_eq!(LegacyPingC2s::decode(&wire), Ok(request.clone()));
            assert_eq!(
                LegacyPingC2s::decode_partial(&wire)
                    .expect("partial")
                    .request(),
                &request
            );
        }
    }

    #[test]
    fn partial_requests_say_whether_to_wait() {
        use RequestProgress::{Complete, Prefix};
        let full = hex(PING_1_6);
        assert_eq!(
            LegacyPingC2s::decode_partial(&full),
            Ok(Complete(ping_1_6()))
        );
        for cut in 3..full.len() {
            assert_eq!(
                LegacyPingC2s::decode_partial(&full[..cut]),
                Ok(Prefix(LegacyPingC2s::V1_6(None))),
                "cut at {cut}"
            );
        }
        assert_eq!(
            LegacyPingC2s::decode_partial(&hex("fe")),
            Ok(Prefix(LegacyPingC2s::Beta))
        );
        assert_eq!(
            LegacyPingC2s::decode_partial(&hex("fe01")),
            Ok(Prefix(LegacyPingC2s::V1_4))
        );
        // Extra bytes after a complete request do not matter to a server.
        let mut extra = full;
        extra.push(0);
        assert_eq!(
            LegacyPingC2s::decode_partial(&extra),
            Ok(Complete(ping_1_6()))
        );
        assert_eq!(
            LegacyPingC2s::decode(&extra),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            LegacyPingC2s::decode_partial(&[]),
            Err(DecodeError::UnexpectedEof { needed: 1 })
        );
        assert_eq!(
            LegacyPingC2s::decode_partial(&hex("0f00")),
            Err(DecodeError::UnexpectedPacketId {
                expected: 0xfe,
                found: 0x0f
            })
        );
        assert_eq!(
            LegacyPingC2s::decode_partial(&hex("fe02")),
            Err(DecodeError::UnexpectedPacketId {
                expected: 0x01,
                found: 0x02
            })
        );
    }

    #[test]
    fn malformed_1_6_requests_still_count_as_1_6() {
        // minecraft-server-util 5.4.4: channel name in UTF-8, host in UTF-8, u16 port.
        let util = hex("fe01fa 000b 4d437c50696e67486f7374 0010 4a 0009 3132372e302e302e31 63dd");
        assert_eq!(
            LegacyPingC2s::decode_partial(&util),
            Ok(RequestProgress::Complete(LegacyPingC2s::V1_6(None)))
        );
        // Already decidable from the first byte that differs.
        assert_eq!(
            LegacyPingC2s::decode_partial(&util[..8]),
            Ok(RequestProgress::Complete(LegacyPingC2s::V1_6(None)))
        );
        assert_eq!(
            LegacyPingC2s::decode(&util),
            Err(DecodeError::BadMagic {
                what: "MC|PingHost channel"
            })
        );
        // An oversized data length is refused before its bytes arrive.
        let mut big = hex("fe01fa 000b 004d0043007c00500069006e00670048006f00730074 ffff");
        assert_eq!(
            LegacyPingC2s::decode_partial(&big),
            Ok(RequestProgress::Complete(LegacyPingC2s::V1_6(None)))
        );
        big.push(0x4a);
        assert_eq!(
            LegacyPingC2s::decode(&big),
            Err(DecodeError::FrameTooLarge {
                size: 0xffff,
                max: MAX_PING_HOST_DATA_LEN
            })
        );
        // Data length that disagrees with the content.
        let mut wrong = hex(PING_1_6);
        wrong[28] = 0x1a;
        wrong.push(0);
        assert!(matches!(
            LegacyPingC2s::decode(&wrong),
            Err(DecodeError::InvalidField { .. })
        ));
    }

    #[test]
    fn kick_vectors() {
        // §1\0 127 \0 1.6 \0 Hi \0 1 \0 20, as minecraft-protocol sends it.
        let modern = LegacyStatus {
            version: Some(LegacyVersion {
                protocol: 127,
                name: "1.6".into(),
            }),
            motd: "Hi".into(),
            online: 1,
            max: 20,
        };
        let modern_wire = hex(
            "ff 0012 00a7 0031 0000 0031 0032 0037 0000 0031 002e 0036 0000 0048 0069 0000 0031 0000 0032 0030",
        );
        // "A§c!§0§5": the MOTD keeps its own §.
        let beta = LegacyStatus {
            version: None,
            motd: "A§c!".into(),
            online: 0,
            max: 5,
        };
        let beta_wire = hex("ff 0008 0041 00a7 0063 0021 00a7 0030 00a7 0035");
        for (status, wire) in [(modern, modern_wire), (beta, beta_wire)] {
            let kick = LegacyKickS2c::from_status(&status);
            assert_eq!(encoded(&kick, LegacyKickS2c::encode), wire);
            let decoded = LegacyKickS2c::decode(&wire).expect("decode");
            assert_eq!(decoded, kick);
            assert_eq!(decoded.status(), Ok(status));
            assert_eq!(
                LegacyKickS2c::decode_frame(&wire, 1024),
                Ok(Some((kick, wire.len())))
            );
            for cut in 0..wire.len() {
                assert_eq!(LegacyKickS2c::decode_frame(&wire[..cut], 1024), Ok(None));
            }
        }
    }

    #[test]
    fn kick_hostile_input() {
        // A 0xFFFF length is refused against a small maximum before any body arrives.
        assert_eq!(
            LegacyKickS2c::decode_frame(&hex("ffffff"), 1024),
            Err(DecodeError::FrameTooLarge {
                size: 3 + 2 * 0xffff,
                max: 1024
            })
        );
        assert_eq!(
            LegacyKickS2c::decode_frame(&hex("ffffff"), usize::MAX),
            Ok(None)
        );
        assert_eq!(
            LegacyKickS2c::decode(&hex("ffffff")),
            Err(DecodeError::UnexpectedEof { needed: 0x1fffe })
        );
        // A lone high surrogate.
        assert_eq!(
            LegacyKickS2c::decode(&hex("ff0001d800")),
            Err(DecodeError::InvalidText {
                encoding: "UTF-16BE"
            })
        );
        assert_eq!(
            LegacyKickS2c::decode_frame(&hex("ff0002dc000041"), 1024),
            Err(DecodeError::InvalidText {
                encoding: "UTF-16BE"
            })
        );
        assert_eq!(
            LegacyKickS2c::decode_frame(&hex("00"), 1024),
            Err(DecodeError::UnexpectedPacketId {
                expected: 0xff,
                found: 0
            })
        );
        assert_eq!(
            LegacyKickS2c::decode(&hex("ff0000 00")),
            Err(DecodeError::TrailingBytes(1))
        );
    }

    #[test]
    fn reason_parsing() {
        let parse = LegacyStatus::from_kick_reason;
        assert_eq!(
            parse("§1Blue§3§20").expect("beta with a § MOTD").motd,
            "§1Blue"
        );
        assert!(matches!(
            parse("no counts"),
            Err(DecodeError::InvalidField {
                field: "kick reason",
                ..
            })
        ));
        assert!(matches!(
            parse("motd§many§20"),
            Err(DecodeError::InvalidField {
                field: "online",
                ..
            })
        ));
        assert!(matches!(
            parse("§1\x00x\x001.6\x00m\x000\x0020"),
            Err(DecodeError::InvalidField {
                field: "protocol",
                ..
            })
        ));
        assert!(matches!(
            parse("§1\x0078\x001.6\x00m\x000\x00lots"),
            Err(DecodeError::InvalidField { field: "max", .. })
        ));
        assert!(matches!(
            parse("§1\x0078\x001.6\x00m\x000"),
            Err(DecodeError::InvalidField {
                field: "kick reason",
                ..
            })
        ));
        assert!(matches!(
            parse("§1\x0078\x001.6\x00m\x000\x0020\x00extra"),
            Err(DecodeError::InvalidField {
                field: "kick reason",
                ..
            })
        ));
        assert_eq!(
            parse("§1\0-1\0\0\0-3\0+07").expect("odd but numeric"),
            LegacyStatus {
                version: Some(LegacyVersion {
                    protocol: -1,
                    name: String::new()
                }),
                motd: String::new(),
                online: -3,
                max: 7
            }
        );
    }

    #[test]
    fn encoding_keeps_the_format_parseable() {
        let status = LegacyStatus {
            version: Some(LegacyVersion {
                protocol: 5,
                name: "a\0b".into(),
            }),
            motd: "x\0y".into(),
            online: 1,
            max: 2,
        };
        let back = LegacyStatus::from_kick_reason(&status.to_kick_reason()).expect("parse");
        assert_eq!(back.motd, "x y");
        assert_eq!(back.version.expect("version").name, "a b");
        let beta = LegacyStatus {
            version: None,
            motd: "§1\0".into(),
            online: 1,
            max: 2,
        };
        assert_eq!(
            LegacyStatus::from_kick_reason(&beta.to_kick_reason())
                .expect("parse")
                .motd,
            "§1 "
        );
        let huge = LegacyStatus {
            version: None,
            motd: "😀".repeat(40_000),
            online: 12,
            max: 34,
        };
        let mut wire = Vec::new();
        LegacyKickS2c::from_status(&huge).encode(&mut wire);
        let back = LegacyKickS2c::decode(&wire)
            .expect("decode")
            .status()
            .expect("status");
        assert_eq!((back.online, back.max), (12, 34));
        // 65535 - 6 units for "§12§34", rounded down to whole emoji.
        assert_eq!(back.motd.encode_utf16().count(), 65528);
    }

    #[test]
    fn status_for_form() {
        let s = LegacyStatus {
            version: None,
            motd: "m".into(),
            online: 1,
            max: 2,
        };
        assert_eq!(s.for_form(LegacyForm::Beta), s);
        assert_eq!(
            s.for_form(LegacyForm::V1_6).version,
            Some(LegacyVersion::default())
        );
        let v = s.for_form(LegacyForm::V1_4);
        assert_eq!(v.for_form(LegacyForm::Beta), s);
    }

    fn arb_status() -> impl Strategy<Value = LegacyStatus> {
        let version = proptest::option::of(
            (any::<i32>(), "[^\\x00]{0,20}")
                .prop_map(|(protocol, name)| LegacyVersion { protocol, name }),
        );
        (version, "[^\\x00]{0,60}", any::<i64>(), any::<i64>()).prop_map(
            |(version, motd, online, max)| LegacyStatus {
                version,
                motd,
                online,
                max,
            },
        )
    }

    fn arb_request() -> impl Strategy<Value = LegacyPingC2s> {
        prop_oneof![
            Just(LegacyPingC2s::Beta),
            Just(LegacyPingC2s::V1_4),
            proptest::option::of((any::<u8>(), "\\PC{0,255}", any::<i32>()).prop_filter_map(
                "host fits",
                |(protocol_version, hostname, port)| {
                    (hostname.encode_utf16().count() <= MAX_HOSTNAME_UNITS).then_some(PingHost {
                        protocol_version,
                        hostname,
                        port,
                    })
                }
            ))
            .prop_map(LegacyPingC2s::V1_6),
        ]
    }

    proptest! {
        #[test]
        fn status_round_trip(status in arb_status()) {
            let mut wire = Vec::new();
            LegacyKickS2c::from_status(&status).encode(&mut wire);
            let kick = LegacyKickS2c::decode(&wire).expect("decode");
            prop_assert_eq!(kick.status(), Ok(status));
        }

        #[test]
        fn kick_round_trip(reason in "\\PC{0,100}") {
            let kick = LegacyKickS2c { reason };
            let wire = encoded(&kick, LegacyKickS2c::encode);
            prop_assert_eq!(LegacyKickS2c::decode(&wire), Ok(kick.clone()));
            prop_assert_eq!(LegacyKickS2c::decode_frame(&wire, wire.len()), Ok(Some((kick, wire.len()))));
        }

        #[test]
        fn request_round_trip(request in arb_request()) {
            let wire = encoded(&request, LegacyPingC2s::encode);
            prop_assert!(wire.len() <= MAX_REQUEST_LEN);
            prop_assert_eq!(LegacyPingC2s::decode(&wire), Ok(request.clone()));
            prop_assert_eq!(LegacyPingC2s::decode_partial(&wire).expect("partial").into_request(), request);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = LegacyPingC2s::decode(&bytes);
            let _ = LegacyPingC2s::decode_partial(&bytes);
            let _ = LegacyKickS2c::decode(&bytes);
            let _ = LegacyKickS2c::decode_frame(&bytes, 64);
        }
    }
}
