//! GameSpy4 Query (UDP): handshake, basic stat and full stat.
//!
//! A Minecraft server with `enable-query=true` answers three requests on its query
//! port (by default the game port, over UDP):
//!
//! | request | bytes | answer |
//! |---------|-------|--------|
//! | [`HandshakeC2s`] | `FE FD 09` session id | [`HandshakeS2c`]: `09` session id, challenge token as a NUL-terminated decimal string |
//! | [`BasicStatC2s`] | `FE FD 00` session id, token (`i32` BE) | [`BasicStatS2c`]: `00` session id, MOTD, game type, map, players, max (NUL-terminated), host port (`u16` **LE**), host ip |
//! | [`FullStatC2s`]  | as basic, then 4 padding bytes | [`FullStatS2c`]: `00` session id, `splitnum\0\x80\0`, key/value pairs ending with an empty key, `\x01player_\0\0`, player names ending with an empty name |
//!
//! # Session ids
//! The server copies the 4 session id bytes of a request into its answer. Vanilla
//! servers do so through a Java `String` decoded as UTF-8, which mangles any byte ≥ 0x80;
//! only the low nibble of each byte is safe, so a client generates its id with
//! [`SessionId::masked`] (`& 0x0F0F0F0F`) and compares masked ids
//! ([`SessionId::same_session`]). Decoders keep the 4 bytes exactly as received, so a
//! responder can echo a foreign client's id (qstat sends `10 20 30 40`) unchanged.
//!
//! # Text
//! Query text is Latin-1: decoding maps each byte to the char of the same value, so any
//! bytes decode. Encoding maps each char ≤ U+00FF back to its byte and replaces any
//! other char with `?` (the protocol cannot carry it; vanilla servers truncate such
//! chars to their low byte instead). A NUL inside a value would end it early, so the
//! encoders replace it with `?` as well — except in the full stat's `hostname`, whose
//! parser tolerates NULs (see [`FullStatS2c::decode`]).
//!
//! # Bounds
//! Every decoder refuses input longer than [`MAX_DATAGRAM`]; strings are therefore
//! bounded by the datagram, and the full stat holds at most [`MAX_KEYS`] keys and
//! [`MAX_PLAYERS`] player names, whatever `numplayers` announces. Nothing is
//! preallocated from a peer's count.
//!
//! # Flow
//! [`QueryClient`] is the sans-IO client (handshake → token → stat request), with the
//! session id passed in; it also says what to resend when the caller's retransmission
//! timer fires ([`QueryClient::retransmit`]) and which challenge token to use when
//! late or duplicate handshake answers come. [`QueryServer`] is the sans-IO responder,
//! with challenge tokens derived from a secret, the client's address and the time
//! passed in. The tokio client and responder live in `net::query` (feature `tokio`).
//!
//! No independent Query *server* exists to test our client against, so the client is
//! checked against our responder and against the hex vectors below, and the responder
//! against three independent clients (mcstatus, minecraft-server-util, qstat).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::time::Duration;

use crate::codec::{DecodeError, DecodeResult, Reader};

/// The two bytes every request starts with.
pub const MAGIC: [u8; 2] = [0xFE, 0xFD];
/// Packet type of the handshake (request and answer).
pub const TYPE_HANDSHAKE: u8 = 9;
/// Packet type of the stat requests and answers.
pub const TYPE_STAT: u8 = 0;
/// The 11 bytes between the session id and the key/value pairs of a full stat.
pub const FULL_STAT_PADDING: [u8; 11] = *b"splitnum\0\x80\0";
/// The 10 bytes between the key/value pairs and the player names of a full stat.
pub const PLAYER_PADDING: [u8; 10] = *b"\x01player_\0\0";
/// The largest datagram any decoder accepts (the UDP maximum).
pub const MAX_DATAGRAM: usize = 65_535;
/// The most player names a full stat may list.
pub const MAX_PLAYERS: usize = 16_384;
/// The most key/value pairs a full stat may hold.
pub const MAX_KEYS: usize = 256;

/// The keys a vanilla server sends in its full stat, in its order.
const KNOWN_KEYS: [&str; 10] = [
    "hostname",
    "gametype",
    "game_id",
    "version",
    "plugins",
    "map",
    "numplayers",
    "maxplayers",
    "hostport",
    "hostip",
];

/// A request's session id, echoed in the answer.
///
/// Holds the 4 bytes (big-endian) exactly as sent; see the module docs for masking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SessionId(pub u32);

impl SessionId {
    /// The bits of a session id that survive a vanilla server: the low nibble of each byte.
    pub const MASK: u32 = 0x0F0F_0F0F;

    /// A client's session id from any 32 random bits, masked with [`Self::MASK`].
    pub fn masked(raw: u32) -> Self {
        Self(raw & Self::MASK)
    }

    /// Whether an answer's id belongs to this request, comparing masked ids.
    pub fn same_session(self, other: Self) -> bool {
        self.0 & Self::MASK == other.0 & Self::MASK
    }
}

/// Client → server: asks for a challenge token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeC2s {
    /// Echoed in the answer.
    pub session_id: SessionId,
}

/// Client → server: asks for the basic stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasicStatC2s {
    /// Echoed in the answer.
    pub session_id: SessionId,
    /// The token from the server's [`HandshakeS2c`].
    pub token: i32,
}

/// Client → server: asks for the full stat (the basic request plus 4 padding bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullStatC2s {
    /// Echoed in the answer.
    pub session_id: SessionId,
    /// The token from the server's [`HandshakeS2c`].
    pub token: i32,
}

/// Any request a server may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryRequestC2s {
    /// `FE FD 09`.
    Handshake(HandshakeC2s),
    /// `FE FD 00` with a token, 11 bytes.
    BasicStat(BasicStatC2s),
    /// `FE FD 00` with a token and padding, 15 bytes.
    FullStat(FullStatC2s),
}

/// Server → client: the challenge token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeS2c {
    /// The request's session id.
    pub session_id: SessionId,
    /// The token to send back in the stat request.
    pub token: i32,
}

/// Server → client: the basic stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicStatS2c {
    /// The request's session id.
    pub session_id: SessionId,
    /// The stat.
    pub stat: QueryBasic,
}

/// Server → client: the full stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullStatS2c {
    /// The request's session id.
    pub session_id: SessionId,
    /// The stat.
    pub stat: QueryFull,
}

/// What a basic stat reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryBasic {
    /// The MOTD (may hold `§` formatting codes).
    pub motd: String,
    /// Game type, `SMP` on vanilla.
    pub game_type: String,
    /// The world name.
    pub map: String,
    /// Players online.
    pub online: u32,
    /// Player slots.
    pub max: u32,
    /// The game port the server reports.
    pub host_port: u16,
    /// The IP the server reports (its `server-ip`, often `0.0.0.0`).
    pub host_ip: String,
}

/// What a full stat reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryFull {
    /// The MOTD (key `hostname`).
    pub motd: String,
    /// Game type (`gametype`), `SMP` on vanilla.
    pub game_type: String,
    /// Game id (`game_id`), `MINECRAFT` on vanilla.
    pub game_id: String,
    /// Version name (`version`), e.g. `1.21.4`.
    pub version: String,
    /// Server software and plugins (`plugins`).
    pub plugins: QueryPlugins,
    /// The world name (`map`).
    pub map: String,
    /// Players online (`numplayers`).
    pub online: u32,
    /// Player slots (`maxplayers`).
    pub max: u32,
    /// The game port the server reports (`hostport`).
    pub host_port: u16,
    /// The IP the server reports (`hostip`).
    pub host_ip: String,
    /// The names of the players online (may be fewer than `online`).
    pub players: Vec<String>,
    /// Keys other than the ten above, in the order received.
    pub extra: Vec<(String, String)>,
}

/// The `plugins` value: `Software: plugin1; plugin2` (Bukkit and descendants), a bare
/// software name, or empty (vanilla).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryPlugins {
    /// The value as sent.
    pub raw: String,
    /// The part before the first `:` (trimmed), or the whole value if there is none.
    pub server_mod: String,
    /// The `;`-separated names after the first `:`, trimmed, empty ones dropped.
    pub plugins: Vec<String>,
}

impl QueryPlugins {
    /// Parses a `plugins` value.
    ///
    /// ```
    /// use mc_protocol::query::QueryPlugins;
    /// let p = QueryPlugins::parse("Paper on 1.21: WorldEdit 7.3; Essentials");
    /// assert_eq!(p.server_mod, "Paper on 1.21");
    /// assert_eq!(p.plugins, ["WorldEdit 7.3", "Essentials"]);
    /// ```
    pub fn parse(raw: &str) -> Self {
        let (server_mod, plugins) = match raw.split_once(':') {
            Some((software, list)) => (
                software.trim(),
                list.split(';')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            None => (raw.trim(), Vec::new()),
        };
        Self {
            raw: raw.to_owned(),
            server_mod: server_mod.to_owned(),
            plugins,
        }
    }

    /// Builds the raw value from a software name and plugin names.
    pub fn from_parts(server_mod: &str, plugins: &[&str]) -> Self {
        if plugins.is_empty() {
            Self::parse(server_mod)
        } else {
            Self::parse(&format!("{server_mod}: {}", plugins.join("; ")))
        }
    }
}

impl QueryFull {
    /// The MOTD (`hostname`) with its `§` codes read in the Java palette.
    pub fn styled_motd(&self) -> crate::text::Motd {
        crate::text::Motd::from_legacy(&self.motd, crate::text::Palette::Java)
    }

    /// The basic stat this full stat implies (what a responder answers a basic request with).
    pub fn basic(&self) -> QueryBasic {
        QueryBasic {
            motd: self.motd.clone(),
            game_type: self.game_type.clone(),
            map: self.map.clone(),
            online: self.online,
            max: self.max,
            host_port: self.host_port,
            host_ip: self.host_ip.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------
// Text helpers

/// Decodes Latin-1: each byte is the char of the same value.
fn latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        // ASCII (nearly every name and key) reads the same in both: one copy instead
        // of a char-by-char re-encoding.
        Ok(ascii) if bytes.is_ascii() => ascii.to_owned(),
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Appends `s` as Latin-1 (chars above U+00FF, and NUL unless `allow_nul`, become `?`)
/// and a NUL terminator.
fn put_cstr(out: &mut Vec<u8>, s: &str, allow_nul: bool) {
    out.extend(s.chars().map(|c| match u8::try_from(c) {
        Ok(0) if !allow_nul => b'?',
        Ok(b) => b,
        Err(_) => b'?',
    }));
    out.push(0);
}

/// Reads a NUL-terminated string (the NUL is consumed, not returned).
fn read_cstr<'a>(r: &mut Reader<'a>) -> DecodeResult<&'a [u8]> {
    let rest = r.rest();
    let Some(end) = rest.iter().position(|&b| b == 0) else {
        return Err(DecodeError::UnexpectedEof { needed: 1 });
    };
    let s = r.read_bytes(end)?;
    r.read_u8()?;
    Ok(s)
}

fn parse_number<T: std::str::FromStr>(field: &'static str, bytes: &[u8]) -> DecodeResult<T> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DecodeError::InvalidField {
            field,
            reason: format!("not a number: {:?}", latin1(bytes)),
        })
}

fn check_size(buf: &[u8]) -> DecodeResult<()> {
    if buf.len() > MAX_DATAGRAM {
        return Err(DecodeError::FrameTooLarge {
            size: buf.len() as u64,
            max: MAX_DATAGRAM,
        });
    }
    Ok(())
}

fn expect_type(r: &mut Reader<'_>, expected: u8) -> DecodeResult<()> {
    let found = r.read_u8()?;
    if found != expected {
        return Err(DecodeError::UnexpectedPacketId {
            expected: expected.into(),
            found: found.into(),
        });
    }
    Ok(())
}

fn read_session(r: &mut Reader<'_>) -> DecodeResult<SessionId> {
    Ok(SessionId(u32::from_be_bytes(r.read_array()?)))
}

fn put_header(out: &mut Vec<u8>, packet_type: u8, session_id: SessionId) {
    out.push(packet_type);
    out.extend_from_slice(&session_id.0.to_be_bytes());
}

// ---------------------------------------------------------------------------------
// Requests

impl HandshakeC2s {
    /// Encoded size.
    pub const LEN: usize = 7;

    /// Appends `FE FD 09` and the session id.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        put_header(out, TYPE_HANDSHAKE, self.session_id);
    }
}

impl BasicStatC2s {
    /// Encoded size.
    pub const LEN: usize = 11;

    /// Appends `FE FD 00`, the session id and the token.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        put_header(out, TYPE_STAT, self.session_id);
        out.extend_from_slice(&self.token.to_be_bytes());
    }
}

impl FullStatC2s {
    /// Encoded size.
    pub const LEN: usize = 15;

    /// Appends `FE FD 00`, the session id, the token and `00 00 00 00`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        put_header(out, TYPE_STAT, self.session_id);
        out.extend_from_slice(&self.token.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
    }
}

impl QueryRequestC2s {
    /// Appends the request.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Handshake(p) => p.encode(out),
            Self::BasicStat(p) => p.encode(out),
            Self::FullStat(p) => p.encode(out),
        }
    }

    /// The request as a datagram.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FullStatC2s::LEN);
        self.encode(&mut out);
        out
    }

    /// Decodes a request datagram.
    ///
    /// A stat request is full when it has the 4 padding bytes (15 bytes in all) and basic
    /// without them (11 bytes), as on vanilla; the padding's value is ignored (qstat
    /// sends `FF FF FF 01`).
    ///
    /// # Errors
    /// [`DecodeError::BadMagic`] without `FE FD`, [`DecodeError::UnexpectedPacketId`]
    /// for a type other than 9 or 0, [`DecodeError::UnexpectedEof`] or
    /// [`DecodeError::TrailingBytes`] for any other length.
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        check_size(buf)?;
        let mut r = Reader::new(buf);
        if r.read_array::<2>()? != MAGIC {
            return Err(DecodeError::BadMagic {
                what: "query request",
            });
        }
        let packet_type = r.read_u8()?;
        let session_id = read_session(&mut r)?;
        let request = match packet_type {
            TYPE_HANDSHAKE => Self::Handshake(HandshakeC2s { session_id }),
            TYPE_STAT => {
                let token = r.read_i32_be()?;
                if r.remaining() == 0 {
                    Self::BasicStat(BasicStatC2s { session_id, token })
                } else {
                    r.read_bytes(4)?;
                    Self::FullStat(FullStatC2s { session_id, token })
                }
            }
            found => {
                return Err(DecodeError::UnexpectedPacketId {
                    expected: TYPE_STAT.into(),
                    found: found.into(),
                });
            }
        };
        r.finish()?;
        Ok(request)
    }
}

// ---------------------------------------------------------------------------------
// Responses

impl HandshakeS2c {
    /// Appends `09`, the session id and the token as NUL-terminated decimal.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_header(out, TYPE_HANDSHAKE, self.session_id);
        out.extend_from_slice(self.token.to_string().as_bytes());
        out.push(0);
    }

    /// Decodes a handshake answer.
    ///
    /// The token is a decimal in the range of `i32` (possibly negative) or of `u32` (a
    /// server printing the token unsigned; kept as the same 32 bits).
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`] unless the type is 9,
    /// [`DecodeError::InvalidField`] for a token that is not such a number,
    /// [`DecodeError::UnexpectedEof`] without the NUL, [`DecodeError::TrailingBytes`]
    /// after it.
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        check_size(buf)?;
        let mut r = Reader::new(buf);
        expect_type(&mut r, TYPE_HANDSHAKE)?;
        let session_id = read_session(&mut r)?;
        let text = read_cstr(&mut r)?;
        r.finish()?;
        let wide: i64 = parse_number("challenge token", text)?;
        let token = i32::try_from(wide)
            .ok()
            .or_else(|| u32::try_from(wide).ok().map(|u| u as i32))
            .ok_or_else(|| DecodeError::InvalidField {
                field: "challenge token",
                reason: format!("{wide} is out of range"),
            })?;
        Ok(Self { session_id, token })
    }
}

impl BasicStatS2c {
    /// Appends the answer.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let s = &self.stat;
        put_header(out, TYPE_STAT, self.session_id);
        put_cstr(out, &s.motd, false);
        put_cstr(out, &s.game_type, false);
        put_cstr(out, &s.map, false);
        put_cstr(out, &s.online.to_string(), false);
        put_cstr(out, &s.max.to_string(), false);
        out.extend_from_slice(&s.host_port.to_le_bytes());
        put_cstr(out, &s.host_ip, false);
    }

    /// Decodes a basic stat answer.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`] unless the type is 0,
    /// [`DecodeError::UnexpectedEof`] when it is cut short, [`DecodeError::InvalidField`]
    /// for a player count that is not a number, [`DecodeError::TrailingBytes`].
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        check_size(buf)?;
        let mut r = Reader::new(buf);
        expect_type(&mut r, TYPE_STAT)?;
        let session_id = read_session(&mut r)?;
        let motd = latin1(read_cstr(&mut r)?);
        let game_type = latin1(read_cstr(&mut r)?);
        let map = latin1(read_cstr(&mut r)?);
        let online = parse_number("numplayers", read_cstr(&mut r)?)?;
        let max = parse_number("maxplayers", read_cstr(&mut r)?)?;
        let host_port = r.read_u16_le()?;
        let host_ip = latin1(read_cstr(&mut r)?);
        r.finish()?;
        Ok(Self {
            session_id,
            stat: QueryBasic {
                motd,
                game_type,
                map,
                online,
                max,
                host_port,
                host_ip,
            },
        })
    }
}

/// Where the `hostname` value ends: the first NUL followed by a known key and its NUL,
/// or by the end of the key/value section; failing that, the first NUL.
fn hostname_end(rest: &[u8]) -> Option<usize> {
    let follows = |i: usize| {
        let after = rest.get(i + 1..).unwrap_or_default();
        let end_of_section = after.starts_with(b"\0\x01player_\0");
        end_of_section
            || KNOWN_KEYS[1..]
                .iter()
                .any(|k| after.starts_with(k.as_bytes()) && after.get(k.len()) == Some(&0))
    };
    let mut nuls = rest
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == 0)
        .map(|(i, _)| i);
    let first = nuls.clone().next()?;
    Some(nuls.find(|&i| follows(i)).unwrap_or(first))
}

impl FullStatS2c {
    /// Appends the answer: the ten vanilla keys in vanilla order, then `extra` (skipping
    /// any extra whose key is empty or one of the ten), then the players.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let s = &self.stat;
        put_header(out, TYPE_STAT, self.session_id);
        out.extend_from_slice(&FULL_STAT_PADDING);
        let numbers = [
            s.online.to_string(),
            s.max.to_string(),
            s.host_port.to_string(),
        ];
        let values: [&str; 10] = [
            &s.motd,
            &s.game_type,
            &s.game_id,
            &s.version,
            &s.plugins.raw,
            &s.map,
            &numbers[0],
            &numbers[1],
            &numbers[2],
            &s.host_ip,
        ];
        for (key, value) in KNOWN_KEYS.iter().zip(values) {
            put_cstr(out, key, false);
            put_cstr(out, value, *key == "hostname");
        }
        for (key, value) in &s.extra {
            if key.is_empty() || KNOWN_KEYS.contains(&key.as_str()) {
                continue;
            }
            put_cstr(out, key, false);
            put_cstr(out, value, false);
        }
        out.push(0);
        out.extend_from_slice(&PLAYER_PADDING);
        for name in s.players.iter().filter(|n| !n.is_empty()) {
            put_cstr(out, name, false);
        }
        out.push(0);
    }

    /// Decodes a full stat answer.
    ///
    /// Keys may come in any order; keys other than the vanilla ten are kept in
    /// [`QueryFull::extra`]; a repeated key keeps its last value. A missing text key
    /// reads as empty; `numplayers`, `maxplayers` and `hostport` are required.
    ///
    /// A MOTD may contain NUL bytes, so the `hostname` value ends at the first NUL that
    /// is followed by a vanilla key name and its NUL (or by the end of the key/value
    /// section), as mcstatus and minecraft-server-util do; without such a NUL it ends at
    /// the first NUL. (A MOTD with a NUL followed by an unknown key is therefore read up
    /// to the next vanilla key — the format cannot tell them apart.)
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`] unless the type is 0, [`DecodeError::BadMagic`]
    /// for wrong padding, [`DecodeError::UnexpectedEof`] when cut short,
    /// [`DecodeError::InvalidField`] for a missing or non-numeric count or port or more
    /// than [`MAX_KEYS`] keys or [`MAX_PLAYERS`] players, [`DecodeError::TrailingBytes`].
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        check_size(buf)?;
        let mut r = Reader::new(buf);
        expect_type(&mut r, TYPE_STAT)?;
        let session_id = read_session(&mut r)?;
        let padding = r.read_array::<11>()?;
        if padding[..9] != FULL_STAT_PADDING[..9] {
            return Err(DecodeError::BadMagic {
                what: "full stat padding",
            });
        }

        let mut stat = QueryFull::default();
        let (mut online, mut max, mut host_port) = (None, None, None);
        let mut keys = 0usize;
        loop {
            let key = read_cstr(&mut r)?;
            if key.is_empty() {
                break;
            }
            keys += 1;
            if keys > MAX_KEYS {
                return Err(DecodeError::InvalidField {
                    field: "full stat",
                    reason: format!("more than {MAX_KEYS} keys"),
                });
            }
            let value = if key == b"hostname" {
                let end = hostname_end(r.rest()).ok_or(DecodeError::UnexpectedEof { needed: 1 })?;
                let value = r.read_bytes(end)?;
                r.read_u8()?;
                value
            } else {
                read_cstr(&mut r)?
            };
            match key {
                b"hostname" => stat.motd = latin1(value),
                b"gametype" => stat.game_type = latin1(value),
                b"game_id" => stat.game_id = latin1(value),
                b"version" => stat.version = latin1(value),
                b"plugins" => stat.plugins = QueryPlugins::parse(&latin1(value)),
                b"map" => stat.map = latin1(value),
                b"numplayers" => online = Some(parse_number("numplayers", value)?),
                b"maxplayers" => max = Some(parse_number("maxplayers", value)?),
                b"hostport" => host_port = Some(parse_number("hostport", value)?),
                b"hostip" => stat.host_ip = latin1(value),
                _ => {
                    let key = latin1(key);
                    let value = latin1(value);
                    match stat.extra.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => stat.extra.push((key, value)),
                    }
                }
            }
        }
        let missing = |field: &'static str| DecodeError::InvalidField {
            field,
            reason: "missing".to_owned(),
        };
        stat.online = online.ok_or_else(|| missing("numplayers"))?;
        stat.max = max.ok_or_else(|| missing("maxplayers"))?;
        stat.host_port = host_port.ok_or_else(|| missing("hostport"))?;

        let padding = r.read_array::<10>()?;
        if padding[..9] != PLAYER_PADDING[..9] {
            return Err(DecodeError::BadMagic {
                what: "player list padding",
            });
        }
        loop {
            let name = read_cstr(&mut r)?;
            if name.is_empty() {
                break;
            }
            if stat.players.len() >= MAX_PLAYERS {
                return Err(DecodeError::InvalidField {
                    field: "players",
                    reason: format!("more than {MAX_PLAYERS} names"),
                });
            }
            stat.players.push(latin1(name));
        }
        r.finish()?;
        Ok(Self { session_id, stat })
    }
}

// ---------------------------------------------------------------------------------
// Sans-IO client

/// Which stat a [`QueryClient`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKind {
    /// The basic stat.
    Basic,
    /// The full stat (with version, plugins, players).
    Full,
}

/// The result of a [`QueryClient`] exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStat {
    /// A basic stat.
    Basic(QueryBasic),
    /// A full stat.
    Full(QueryFull),
}

/// Why a [`QueryClient`] refused an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryClientError {
    /// The datagram is not the answer expected now (wrong type, malformed).
    #[error("invalid answer")]
    Decode(#[from] DecodeError),
    /// The answer carries another session's id.
    #[error("foreign session id {found:#010x} (expected {expected:#010x})")]
    ForeignSession {
        /// Our (masked) session id.
        expected: u32,
        /// The id in the answer.
        found: u32,
    },
    /// A datagram arrived after the exchange ended.
    #[error("the exchange is already finished")]
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// Nothing sent yet: the handshake is next.
    Start,
    /// The handshake is out; waiting for a token.
    AwaitToken,
    /// A (new) token came: the stat request with it is next.
    SendStat,
    /// The stat request is out; waiting for the stat.
    AwaitStat,
    Done,
}

/// The client side of one Query exchange, without I/O.
///
/// Call order: [`poll_transmit`](Self::poll_transmit) → send the handshake; feed the
/// answer to [`handle_datagram`](Self::handle_datagram) (→ `Ok(None)`);
/// `poll_transmit` → send the stat request; feed the answer to `handle_datagram`
/// (→ `Ok(Some(stat))`). An answer with a foreign session id or of the wrong type is an
/// error; the caller decides whether to give up (our tokio client does) or wait on.
/// After every `Ok(None)`, call `poll_transmit` again: a late handshake answer may
/// carry a newer token (see below).
///
/// # Lost datagrams
/// UDP loses datagrams, so the caller keeps a retransmission timer: when no answer came
/// in time it sends [`retransmit`](Self::retransmit)'s datagram — the handshake again
/// while waiting for a token, the stat request again while waiting for the stat. Every
/// copy carries the same session id, so an answer to any copy is ours (a foreign id is
/// still an error) and its type tells which request it answers.
///
/// Which token to use when several handshakes went out: vanilla issues a new random
/// token for every handshake and answers a stat request only with the *latest* token
/// it issued to that address (and drops every token every 30 s); [`QueryServer`]
/// gives the same token to repeated handshakes within a period and accepts the current
/// and the previous period's. So the client always uses the token of the latest
/// handshake answer it received: while waiting for the stat, a handshake answer with
/// the token in use is a duplicate and ignored, one with another token is a newer
/// token for a resent handshake, and the stat request is sent again with it at once
/// (`poll_transmit`). At most one token per handshake sent is taken, so a server
/// answering stat requests with ever new tokens cannot make the client loop. If the
/// stat request stays unanswered after [`STAT_SENDS_PER_TOKEN`](Self::STAT_SENDS_PER_TOKEN)
/// sends with one token — the server may have dropped it, or answers were reordered
/// and an older token was taken last — `retransmit` starts over with a handshake; a
/// late stat answer is still accepted meanwhile.
///
/// ```
/// use mc_protocol::query::*;
/// let mut client = QueryClient::new(SessionId::masked(0x0102_0304), StatKind::Basic);
/// assert_eq!(client.poll_transmit().unwrap(), [0xFE, 0xFD, 9, 1, 2, 3, 4]);
/// // No answer in time: the handshake again.
/// assert_eq!(client.retransmit().unwrap(), [0xFE, 0xFD, 9, 1, 2, 3, 4]);
/// assert_eq!(client.handle_datagram(b"\x09\x01\x02\x03\x04-12345\0"), Ok(None));
/// let request = client.poll_transmit().unwrap();
/// assert_eq!(request, [0xFE, 0xFD, 0, 1, 2, 3, 4, 0xFF, 0xFF, 0xCF, 0xC7]);
/// // The answer to the second handshake, with a newer token: the request again, with it.
/// assert_eq!(client.handle_datagram(b"\x09\x01\x02\x03\x04-1\0"), Ok(None));
/// let request = client.poll_transmit().unwrap();
/// assert_eq!(request, [0xFE, 0xFD, 0, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF]);
/// ```
#[derive(Debug, Clone)]
pub struct QueryClient {
    session_id: SessionId,
    kind: StatKind,
    state: ClientState,
    /// The token of the latest handshake answer taken.
    token: Option<i32>,
    /// Handshakes sent, counting every copy.
    handshakes: u32,
    /// Handshake answers received with our session id.
    handshake_answers: u32,
    /// Sends of the stat request with the current token.
    stat_sends: u32,
}

impl QueryClient {
    /// How often [`retransmit`](Self::retransmit) sends the stat request with one token
    /// before it handshakes again for a new one.
    pub const STAT_SENDS_PER_TOKEN: u32 = 3;

    /// A client using `session_id` (make it with [`SessionId::masked`] from random bits).
    pub fn new(session_id: SessionId, kind: StatKind) -> Self {
        Self {
            session_id,
            kind,
            state: ClientState::Start,
            token: None,
            handshakes: 0,
            handshake_answers: 0,
            stat_sends: 0,
        }
    }

    /// This exchange's session id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The challenge token in use: the latest one taken from a handshake answer.
    pub fn token(&self) -> Option<i32> {
        self.token
    }

    /// The next new datagram to send, if any: the handshake first, the stat request once
    /// a token arrived (again when a newer token arrived). `None` while waiting for an
    /// answer or when finished.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        match self.state {
            ClientState::Start => Some(self.handshake()),
            ClientState::SendStat => {
                self.stat_sends = 0;
                Some(self.stat_request())
            }
            _ => None,
        }
    }

    /// The datagram to send when no answer came within the caller's retransmission
    /// timeout: the handshake again while waiting for a token; the stat request again
    /// (with the latest token) while waiting for the stat, or the handshake after
    /// [`STAT_SENDS_PER_TOKEN`](Self::STAT_SENDS_PER_TOKEN) unanswered sends of it; what
    /// [`poll_transmit`](Self::poll_transmit) has if it has something. `None` when
    /// finished.
    pub fn retransmit(&mut self) -> Option<Vec<u8>> {
        match self.state {
            ClientState::Start | ClientState::SendStat => self.poll_transmit(),
            ClientState::AwaitToken => Some(self.handshake()),
            ClientState::AwaitStat if self.stat_sends >= Self::STAT_SENDS_PER_TOKEN => {
                Some(self.handshake())
            }
            ClientState::AwaitStat => Some(self.stat_request()),
            ClientState::Done => None,
        }
    }

    fn handshake(&mut self) -> Vec<u8> {
        self.state = ClientState::AwaitToken;
        self.handshakes = self.handshakes.saturating_add(1);
        QueryRequestC2s::Handshake(HandshakeC2s {
            session_id: self.session_id,
        })
        .to_bytes()
    }

    fn stat_request(&mut self) -> Vec<u8> {
        self.state = ClientState::AwaitStat;
        self.stat_sends = self.stat_sends.saturating_add(1);
        let (session_id, token) = (self.session_id, self.token.unwrap_or_default());
        match self.kind {
            StatKind::Basic => QueryRequestC2s::BasicStat(BasicStatC2s { session_id, token }),
            StatKind::Full => QueryRequestC2s::FullStat(FullStatC2s { session_id, token }),
        }
        .to_bytes()
    }

    /// Whether the stat has been received.
    pub fn is_finished(&self) -> bool {
        self.state == ClientState::Done
    }

    /// Handles an answer: `Ok(None)` for a handshake answer (the token: a stat request
    /// is now ready in [`poll_transmit`](Self::poll_transmit); or a late or duplicate
    /// one, see the type's docs), `Ok(Some(stat))` for the stat.
    ///
    /// Before a token came only a handshake answer is expected; after, a stat answer or
    /// a late handshake answer.
    ///
    /// # Errors
    /// [`QueryClientError::Decode`] for an answer that is not one expected now,
    /// [`QueryClientError::ForeignSession`] for another session's answer,
    /// [`QueryClientError::Finished`] after the stat. The state does not change on error.
    pub fn handle_datagram(
        &mut self,
        datagram: &[u8],
    ) -> Result<Option<QueryStat>, QueryClientError> {
        if self.state == ClientState::Done {
            return Err(QueryClientError::Finished);
        }
        if self.token.is_none() || datagram.first() == Some(&TYPE_HANDSHAKE) {
            let answer = HandshakeS2c::decode(datagram)?;
            self.check_session(answer.session_id)?;
            let waiting = matches!(self.state, ClientState::Start | ClientState::AwaitToken);
            if !waiting && self.token == Some(answer.token) {
                // A repeat of the token in use (a duplicated datagram, or our
                // responder's answer to a resent handshake): changes nothing, and
                // does not use up the allowance of a later handshake's answer.
                return Ok(None);
            }
            self.handshake_answers = self.handshake_answers.saturating_add(1);
            let take = match self.state {
                // Waiting for a token: any token, even the one in use (the server may
                // repeat it, as ours does within a period).
                ClientState::Start | ClientState::AwaitToken => true,
                // Waiting for the stat: only a newer token, and at most one per handshake.
                _ => self.token != Some(answer.token) && self.handshake_answers <= self.handshakes,
            };
            if take {
                self.token = Some(answer.token);
                self.state = ClientState::SendStat;
            }
            return Ok(None);
        }
        let (session_id, stat) = match self.kind {
            StatKind::Basic => {
                let a = BasicStatS2c::decode(datagram)?;
                (a.session_id, QueryStat::Basic(a.stat))
            }
            StatKind::Full => {
                let a = FullStatS2c::decode(datagram)?;
                (a.session_id, QueryStat::Full(a.stat))
            }
        };
        self.check_session(session_id)?;
        self.state = ClientState::Done;
        Ok(Some(stat))
    }

    fn check_session(&self, found: SessionId) -> Result<(), QueryClientError> {
        if self.session_id.same_session(found) {
            Ok(())
        } else {
            Err(QueryClientError::ForeignSession {
                expected: self.session_id.0 & SessionId::MASK,
                found: found.0,
            })
        }
    }
}

// ---------------------------------------------------------------------------------
// Sans-IO responder

/// The server side of Query, without I/O: answers requests with challenge tokens that
/// depend on a secret, the client's address and the time, so it keeps no per-client
/// state (a flood of spoofed handshakes costs nothing).
///
/// A token is valid for the period it was issued in and the next one (a period is
/// [`QueryServer::TOKEN_PERIOD`]); a stat request with any other token gets no answer, as
/// on vanilla. The answer echoes the request's session id bytes unchanged.
///
/// A client that resends its handshake (because a datagram was lost) gets the same
/// token again within a period, and every token it got stays valid for at least a
/// period, so resent handshakes and stat requests need no care here. (Vanilla differs:
/// each handshake replaces the address's token with a new random one; see
/// [`QueryClient`] for how the client copes.)
#[derive(Debug, Clone)]
pub struct QueryServer {
    secret: u64,
}

impl QueryServer {
    /// How long a token period lasts: a token lives one to two periods.
    pub const TOKEN_PERIOD: Duration = Duration::from_secs(30);

    /// A responder whose tokens are derived from `secret` (pass random bits).
    pub fn new(secret: u64) -> Self {
        Self { secret }
    }

    fn token_in(&self, peer: SocketAddr, period: u64) -> i32 {
        let mut h = DefaultHasher::new();
        (self.secret, peer, period).hash(&mut h);
        // Non-negative, like vanilla's tokens.
        (h.finish() & 0x7FFF_FFFF) as i32
    }

    fn period(now: Duration) -> u64 {
        now.as_secs() / Self::TOKEN_PERIOD.as_secs()
    }

    /// The token issued to `peer` at `now` (time since any fixed origin).
    pub fn token(&self, peer: SocketAddr, now: Duration) -> i32 {
        self.token_in(peer, Self::period(now))
    }

    /// Whether `token` is valid for `peer` at `now`.
    pub fn token_is_valid(&self, peer: SocketAddr, token: i32, now: Duration) -> bool {
        let period = Self::period(now);
        token == self.token_in(peer, period)
            || period
                .checked_sub(1)
                .is_some_and(|p| token == self.token_in(peer, p))
    }

    /// The answer to a datagram from `peer` at `now`, if it deserves one. `status` is
    /// called only for a stat request with a valid token.
    pub fn handle_datagram(
        &self,
        datagram: &[u8],
        peer: SocketAddr,
        now: Duration,
        status: impl FnOnce() -> QueryFull,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match QueryRequestC2s::decode(datagram).ok()? {
            QueryRequestC2s::Handshake(HandshakeC2s { session_id }) => HandshakeS2c {
                session_id,
                token: self.token(peer, now),
            }
            .encode(&mut out),
            QueryRequestC2s::BasicStat(BasicStatC2s { session_id, token }) => {
                if !self.token_is_valid(peer, token, now) {
                    return None;
                }
                BasicStatS2c {
                    session_id,
                    stat: status().basic(),
                }
                .encode(&mut out);
            }
            QueryRequestC2s::FullStat(FullStatC2s { session_id, token }) => {
                if !self.token_is_valid(peer, token, now) {
                    return None;
                }
                FullStatS2c {
                    session_id,
                    stat: status(),
                }
                .encode(&mut out);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests;
