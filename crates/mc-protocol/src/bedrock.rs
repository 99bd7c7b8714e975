//! Bedrock Edition status: RakNet's unconnected ping and pong.
//!
//! # Exchange (UDP)
//! 1. The client sends [`UnconnectedPingC2s`]: `01`, an i64 time, the 16-byte
//!    offline-message magic [`MAGIC`], an i64 client GUID — 33 bytes. (`02` asks only
//!    servers with open slots to answer; servers treat it like `01`.)
//! 2. The server answers [`UnconnectedPongS2c`]: `1C`, the same i64 time, an i64
//!    server GUID, the magic, and a u16-length-prefixed UTF-8 string: the server info
//!    `MCPE;motd;protocol;version;online;max;serverId;subMotd;gameMode;gameModeNumeric;portV4;portV6;`
//!    ([`BedrockStatus`]).
//!
//! The time is whatever the client chose (this module has no clock): a client
//! matches a pong to its ping by it.
//!
//! # A `;` inside the MOTD
//! The info string has no escaping, so a `;` in the MOTD (or sub-MOTD) splits it. The
//! fields after the MOTD are numbers in known places, so [`BedrockStatus::parse`]
//! recovers it with this documented heuristic:
//! - the MOTD ends just before the *first* field `i ≥ 2` such that fields `i`
//!   (protocol), `i + 2` (online) and `i + 3` (max) are integers; fields `1..i` are
//!   joined with `;` into the MOTD. A MOTD whose own `;`-separated pieces look like
//!   `…;integer;anything;integer;integer` cannot be told apart and is cut early.
//! - after the server id, when more pieces remain than the five known fields
//!   (sub-MOTD, game mode, game mode number, two ports) *and* the game mode number and
//!   ports in their plain places do not parse, the sub-MOTD ends before the first
//!   piece `k` such that `k + 2` is an integer and `k + 3`, `k + 4` are ports. So a
//!   `;` in the sub-MOTD is recovered when the game mode, its number and both ports
//!   are present, as every vanilla server sends them. Fields beyond the IPv6 port are
//!   kept in [`BedrockStatus::extra`].
//!
//! The version name, server id and game mode cannot contain `;`. An empty optional
//! field is `None`; the encoder writes `None` as an empty field when a later field is
//! present and stops after the last present one.
//!
//! # Numbers
//! Protocol and game mode number must parse as `i32`, player counts as `i64`, ports as
//! `u16`; anything else is [`DecodeError::InvalidField`] naming the field.
//!
//! ```
//! use mc_protocol::bedrock::{BedrockStatus, Edition};
//! let s = BedrockStatus::parse(
//!     "MCPE;Dedicated Server;390;1.14.60;0;10;13253860892328930865;Bedrock level;Survival;1;19132;19133;",
//! ).unwrap();
//! assert_eq!((s.edition, s.protocol, s.max, s.port_v4), (Edition::Mcpe, 390, 10, Some(19132)));
//! assert_eq!(s.sub_motd.as_deref(), Some("Bedrock level"));
//! ```

use crate::codec::{DecodeError, DecodeResult, Reader};

/// RakNet's offline-message id ("magic"), present in every unconnected packet.
pub const MAGIC: [u8; 16] = [
    0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78,
];
/// Packet id of an unconnected ping.
pub const PING_ID: u8 = 0x01;
/// Packet id of an unconnected ping that only servers with open slots answer.
pub const PING_OPEN_CONNECTIONS_ID: u8 = 0x02;
/// Packet id of an unconnected pong.
pub const PONG_ID: u8 = 0x1C;
/// Length of an unconnected ping.
pub const PING_LEN: usize = 1 + 8 + 16 + 8;
/// Length of a pong without its info string.
pub const PONG_HEADER_LEN: usize = 1 + 8 + 8 + 16 + 2;
/// The longest info string the u16 length prefix can announce, in bytes.
pub const MAX_INFO_LEN: usize = u16::MAX as usize;

/// An unconnected ping (client → server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnconnectedPingC2s {
    /// The client's time (any value; the pong echoes it).
    pub time: i64,
    /// The client's RakNet GUID.
    pub client_guid: i64,
    /// Sent as `02` ("answer only if you have open slots") instead of `01`.
    pub open_connections_only: bool,
}

impl UnconnectedPingC2s {
    /// Appends the 33 wire bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(if self.open_connections_only {
            PING_OPEN_CONNECTIONS_ID
        } else {
            PING_ID
        });
        out.extend_from_slice(&self.time.to_be_bytes());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.client_guid.to_be_bytes());
    }

    /// Decodes a ping that is all of `buf` (a datagram), id `01` or `02`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`], [`DecodeError::BadMagic`],
    /// [`DecodeError::UnexpectedEof`] or [`DecodeError::TrailingBytes`].
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(buf);
        let open_connections_only = match r.read_u8()? {
            PING_ID => false,
            PING_OPEN_CONNECTIONS_ID => true,
            found => {
                return Err(DecodeError::UnexpectedPacketId {
                    expected: PING_ID.into(),
                    found: found.into(),
                });
            }
        };
        let time = r.read_i64_be()?;
        read_magic(&mut r)?;
        let client_guid = r.read_i64_be()?;
        r.finish()?;
        Ok(Self {
            time,
            client_guid,
            open_connections_only,
        })
    }
}

/// An unconnected pong (server → client).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnconnectedPongS2c {
    /// The time of the ping this answers.
    pub time: i64,
    /// The server's RakNet GUID.
    pub server_guid: i64,
    /// The server info string (see [`BedrockStatus`]).
    pub info: String,
}

impl UnconnectedPongS2c {
    /// The pong answering `ping` with `status`.
    pub fn answer(ping: &UnconnectedPingC2s, server_guid: i64, status: &BedrockStatus) -> Self {
        Self {
            time: ping.time,
            server_guid,
            info: status.to_info_string(),
        }
    }

    /// The status in the info string ([`BedrockStatus::parse`]).
    ///
    /// # Errors
    /// See [`BedrockStatus::parse`].
    pub fn status(&self) -> DecodeResult<BedrockStatus> {
        BedrockStatus::parse(&self.info)
    }

    /// Appends the wire bytes. An info string longer than [`MAX_INFO_LEN`] bytes is
    /// truncated at a character boundary.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(PONG_ID);
        out.extend_from_slice(&self.time.to_be_bytes());
        out.extend_from_slice(&self.server_guid.to_be_bytes());
        out.extend_from_slice(&MAGIC);
        let mut end = self.info.len().min(MAX_INFO_LEN);
        while !self.info.is_char_boundary(end) {
            end -= 1;
        }
        // `end` ≤ u16::MAX by construction.
        out.extend_from_slice(&(end as u16).to_be_bytes());
        out.extend_from_slice(&self.info.as_bytes()[..end]);
    }

    /// Decodes a pong that is all of `buf` (a datagram).
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`], [`DecodeError::BadMagic`],
    /// [`DecodeError::UnexpectedEof`], [`DecodeError::InvalidText`] (`UTF-8`) or
    /// [`DecodeError::TrailingBytes`].
    pub fn decode(buf: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(buf);
        let id = r.read_u8()?;
        if id != PONG_ID {
            return Err(DecodeError::UnexpectedPacketId {
                expected: PONG_ID.into(),
                found: id.into(),
            });
        }
        let time = r.read_i64_be()?;
        let server_guid = r.read_i64_be()?;
        read_magic(&mut r)?;
        let len = usize::from(r.read_u16_be()?);
        let info = std::str::from_utf8(r.read_bytes(len)?)
            .map_err(|_| DecodeError::InvalidText { encoding: "UTF-8" })?
            .to_owned();
        r.finish()?;
        Ok(Self {
            time,
            server_guid,
            info,
        })
    }
}

fn read_magic(r: &mut Reader<'_>) -> DecodeResult<()> {
    if r.read_array::<16>()? == MAGIC {
        Ok(())
    } else {
        Err(DecodeError::BadMagic {
            what: "RakNet offline message id",
        })
    }
}

/// Which Bedrock product answered: the first field of the info string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edition {
    /// `MCPE`: Bedrock Edition (the name stems from Pocket Edition).
    Mcpe,
    /// `MCEE`: Education Edition.
    Mcee,
}

impl Edition {
    /// The wire name: `MCPE` or `MCEE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mcpe => "MCPE",
            Self::Mcee => "MCEE",
        }
    }
}

/// What a Bedrock server says about itself in its pong.
///
/// The first six fields are required; the rest are optional (`None` when absent or
/// empty). See the module docs for how a `;` inside the MOTD is handled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BedrockStatus {
    /// `MCPE` or `MCEE`.
    pub edition: Edition,
    /// First MOTD line, with `§` formatting codes.
    pub motd: String,
    /// Network protocol number (e.g. 390).
    pub protocol: i32,
    /// Version name (e.g. `1.14.60`).
    pub version: String,
    /// Players online.
    pub online: i64,
    /// Player slots.
    pub max: i64,
    /// The server's id (usually its RakNet GUID in decimal).
    pub server_id: Option<String>,
    /// Second MOTD line (vanilla servers put the level name here).
    pub sub_motd: Option<String>,
    /// Game mode name (e.g. `Survival`).
    pub game_mode: Option<String>,
    /// Game mode number (0 survival, 1 creative, 2 adventure).
    pub game_mode_numeric: Option<i32>,
    /// IPv4 port.
    pub port_v4: Option<u16>,
    /// IPv6 port.
    pub port_v6: Option<u16>,
    /// Fields after the IPv6 port, kept verbatim (some servers add their own).
    pub extra: Vec<String>,
}

// The layout heuristics of `parse` only trust numbers written canonically (no `+`,
// no leading zeros, no `-0`): a value re-encoded by `to_info_string` is canonical, so
// a decision made on canonical text is the same when the output is parsed again.
fn is_int(s: &str) -> bool {
    s.parse::<i64>().is_ok_and(|n| n.to_string() == s)
}

fn is_port(s: &str) -> bool {
    s.parse::<u16>().is_ok_and(|n| n.to_string() == s)
}

fn parse_field<T: std::str::FromStr>(text: &str, field: &'static str) -> DecodeResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| DecodeError::InvalidField {
        field,
        reason: format!("{text:?} is not a number: {e}"),
    })
}

fn optional_text(field: Option<&&str>) -> Option<String> {
    field.filter(|s| !s.is_empty()).map(|s| (*s).to_owned())
}

fn optional_number<T: std::str::FromStr>(
    field: Option<&&str>,
    name: &'static str,
) -> DecodeResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match field {
        Some(s) if !s.is_empty() => parse_field(s, name).map(Some),
        _ => Ok(None),
    }
}

impl BedrockStatus {
    /// The MOTD with its `§` codes read in the Bedrock palette.
    pub fn styled_motd(&self) -> crate::text::Motd {
        crate::text::Motd::from_legacy(&self.motd, crate::text::Palette::Bedrock)
    }

    /// Parses an info string (one trailing `;` is optional).
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`]: `field: "bedrock status"` with fewer than six
    /// fields, `"edition"` for anything but `MCPE`/`MCEE`, or the name of a numeric
    /// field that does not parse.
    pub fn parse(info: &str) -> DecodeResult<Self> {
        let body = info.strip_suffix(';').unwrap_or(info);
        let parts: Vec<&str> = body.split(';').collect();
        if parts.len() < 6 {
            return Err(DecodeError::InvalidField {
                field: "bedrock status",
                reason: format!(
                    "expected at least 6 ';'-separated fields, found {}",
                    parts.len()
                ),
            });
        }
        let edition = match parts[0] {
            "MCPE" => Edition::Mcpe,
            "MCEE" => Edition::Mcee,
            other => {
                return Err(DecodeError::InvalidField {
                    field: "edition",
                    reason: format!("{other:?} is neither MCPE nor MCEE"),
                });
            }
        };
        // The MOTD ends before the first place where protocol, online and max line up.
        let i = (2..parts.len() - 3)
            .find(|&i| is_int(parts[i]) && is_int(parts[i + 2]) && is_int(parts[i + 3]))
            .unwrap_or(2);
        let motd = parts[1..i].join(";");
        let protocol = parse_field(parts[i], "protocol")?;
        let version = parts[i + 1].to_owned();
        let online = parse_field(parts[i + 2], "online")?;
        let max = parse_field(parts[i + 3], "max")?;
        let rest = &parts[i + 4..];
        let server_id = optional_text(rest.first());
        let tail = rest.get(1..).unwrap_or_default();
        // More pieces than the five known fields after the server id: either extra
        // fields or a `;` in the sub-MOTD. Keep the plain layout when its numbers
        // parse; otherwise the sub-MOTD ends where they line up.
        let numbers_parse = |k: usize| {
            let ok = |i: usize, check: fn(&str) -> bool| {
                tail.get(i).is_none_or(|s| s.is_empty() || check(s))
            };
            ok(k + 2, is_int) && ok(k + 3, is_port) && ok(k + 4, is_port)
        };
        let k = if tail.len() > 5 && !numbers_parse(0) {
            (1..tail.len() - 4)
                .find(|&k| is_int(tail[k + 2]) && is_port(tail[k + 3]) && is_port(tail[k + 4]))
                .unwrap_or(0)
        } else {
            0
        };
        let sub_motd = tail
            .get(..=k)
            .map(|pieces| pieces.join(";"))
            .filter(|s| !s.is_empty());
        Ok(Self {
            edition,
            motd,
            protocol,
            version,
            online,
            max,
            server_id,
            sub_motd,
            game_mode: optional_text(tail.get(k + 1)),
            game_mode_numeric: optional_number(tail.get(k + 2), "game mode number")?,
            port_v4: optional_number(tail.get(k + 3), "IPv4 port")?,
            port_v6: optional_number(tail.get(k + 4), "IPv6 port")?,
            extra: tail
                .get(k + 5..)
                .unwrap_or_default()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        })
    }

    /// The info string, ending in `;` as vanilla servers send it. Optional fields are
    /// written up to the last present one (all of them when `extra` is not empty),
    /// `None` as an empty field.
    pub fn to_info_string(&self) -> String {
        let mut fields = vec![
            self.edition.as_str().to_owned(),
            self.motd.clone(),
            self.protocol.to_string(),
            self.version.clone(),
            self.online.to_string(),
            self.max.to_string(),
        ];
        let optional = [
            self.server_id.clone(),
            self.sub_motd.clone(),
            self.game_mode.clone(),
            self.game_mode_numeric.map(|n| n.to_string()),
            self.port_v4.map(|p| p.to_string()),
            self.port_v6.map(|p| p.to_string()),
        ];
        let present = if self.extra.is_empty() {
            optional
                .iter()
                .rposition(Option::is_some)
                .map_or(0, |last| last + 1)
        } else {
            optional.len()
        };
        fields.extend(
            optional
                .into_iter()
                .take(present)
                .map(Option::unwrap_or_default),
        );
        fields.extend(self.extra.iter().cloned());
        let mut info = fields.join(";");
        info.push(';');
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("hex")
    }

    const MAGIC_HEX: &str = "00ffff00fefefefefdfdfdfd12345678";

    /// Found by the fuzzer: `-00` parsed as 0 and re-encoded as `0` moved the
    /// sub-MOTD boundary, so the round trip changed the value.
    #[test]
    fn non_canonical_numbers_round_trip() {
        for info in [
            "MCEE;C;100;1.0;1;100;id;sub;MCEE;x;ad.60;0;10;-00;86;1;30",
            "MCPE;a;0100;v;+1;02;id;sub;Survival;-0;019132;19133;",
        ] {
            let status = BedrockStatus::parse(info).expect("parses");
            assert_eq!(
                BedrockStatus::parse(&status.to_info_string()),
                Ok(status),
                "{info}"
            );
        }
    }

    fn vanilla() -> BedrockStatus {
        BedrockStatus {
            edition: Edition::Mcpe,
            motd: "Dedicated Server".into(),
            protocol: 390,
            version: "1.14.60".into(),
            online: 0,
            max: 10,
            server_id: Some("13253860892328930865".into()),
            sub_motd: Some("Bedrock level".into()),
            game_mode: Some("Survival".into()),
            game_mode_numeric: Some(1),
            port_v4: Some(19132),
            port_v6: Some(19133),
            extra: vec![],
        }
    }

    const VANILLA: &str = "MCPE;Dedicated Server;390;1.14.60;0;10;13253860892328930865;Bedrock level;Survival;1;19132;19133;";

    #[test]
    fn ping_vectors() {
        let ping = UnconnectedPingC2s {
            time: 0x0102_0304_0506_0708,
            client_guid: -2,
            open_connections_only: false,
        };
        let wire = hex(&format!("01 0102030405060708 {MAGIC_HEX} fffffffffffffffe"));
        let mut out = Vec::new();
        ping.encode(&mut out);
        assert_eq!(out, wire);
        assert_eq!(out.len(), PING_LEN);
        assert_eq!(UnconnectedPingC2s::decode(&wire), Ok(ping));
        // mcstatus's ping: all zero time and GUID.
        let mcstatus = hex(&format!("01 0000000000000000 {MAGIC_HEX} 0000000000000000"));
        assert_eq!(
            UnconnectedPingC2s::decode(&mcstatus),
            Ok(UnconnectedPingC2s {
                time: 0,
                client_guid: 0,
                open_connections_only: false
            })
        );
        let mut open = wire;
        open[0] = 0x02;
        assert_eq!(
            UnconnectedPingC2s::decode(&open),
            Ok(UnconnectedPingC2s {
                open_connections_only: true,
                ..ping
            })
        );
    }

    #[test]
    fn ping_hostile_input() {
        let wire = hex(&format!("01 0102030405060708 {MAGIC_HEX} fffffffffffffffe"));
        let mut bad = wire.clone();
        bad[9] = 0x01;
        assert_eq!(
            UnconnectedPingC2s::decode(&bad),
            Err(DecodeError::BadMagic {
                what: "RakNet offline message id"
            })
        );
        assert_eq!(
            UnconnectedPingC2s::decode(&wire[..20]),
            Err(DecodeError::UnexpectedEof { needed: 5 })
        );
        let mut long = wire.clone();
        long.push(0);
        assert_eq!(
            UnconnectedPingC2s::decode(&long),
            Err(DecodeError::TrailingBytes(1))
        );
        let mut other = wire;
        other[0] = 0x05;
        assert_eq!(
            UnconnectedPingC2s::decode(&other),
            Err(DecodeError::UnexpectedPacketId {
                expected: 1,
                found: 5
            })
        );
    }

    #[test]
    fn pong_vectors() {
        let pong = UnconnectedPongS2c {
            time: 42,
            server_guid: 0x1122_3344_5566_7788,
            info: "MCPE;§aHi;390;1.14.60;2;10;".into(),
        };
        let wire = hex(&format!(
            "1c 000000000000002a 1122334455667788 {MAGIC_HEX} 001c {}",
            hex::encode("MCPE;§aHi;390;1.14.60;2;10;")
        ));
        let mut out = Vec::new();
        pong.encode(&mut out);
        assert_eq!(out, wire);
        assert_eq!(UnconnectedPongS2c::decode(&wire), Ok(pong.clone()));
        let status = pong.status().expect("status");
        assert_eq!((status.motd.as_str(), status.online), ("§aHi", 2));
        assert_eq!(status.server_id, None);

        let ping = UnconnectedPingC2s {
            time: 42,
            client_guid: 7,
            open_connections_only: false,
        };
        let answer = UnconnectedPongS2c::answer(&ping, 5, &vanilla());
        assert_eq!((answer.time, answer.server_guid), (42, 5));
        assert_eq!(answer.info, VANILLA);
    }

    #[test]
    fn pong_hostile_input() {
        let good = hex(&format!(
            "1c 000000000000002a 1122334455667788 {MAGIC_HEX} 0002 6869"
        ));
        let mut bad_magic = good.clone();
        bad_magic[20] ^= 0xff;
        assert_eq!(
            UnconnectedPongS2c::decode(&bad_magic),
            Err(DecodeError::BadMagic {
                what: "RakNet offline message id"
            })
        );
        // Announces 65535 bytes, has 2.
        let mut long = good.clone();
        long[33] = 0xff;
        long[34] = 0xff;
        assert_eq!(
            UnconnectedPongS2c::decode(&long),
            Err(DecodeError::UnexpectedEof { needed: 65533 })
        );
        let mut not_utf8 = good.clone();
        not_utf8[35] = 0xc3;
        not_utf8[36] = 0x28;
        assert_eq!(
            UnconnectedPongS2c::decode(&not_utf8),
            Err(DecodeError::InvalidText { encoding: "UTF-8" })
        );
        let mut trailing = good;
        trailing.push(0);
        assert_eq!(
            UnconnectedPongS2c::decode(&trailing),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            UnconnectedPongS2c::decode(&hex("01")),
            Err(DecodeError::UnexpectedPacketId {
                expected: 0x1c,
                found: 1
            })
        );
    }

    #[test]
    fn parse_vanilla_and_variants() {
        assert_eq!(BedrockStatus::parse(VANILLA), Ok(vanilla()));
        assert_eq!(vanilla().to_info_string(), VANILLA);
        // Without the trailing `;`.
        assert_eq!(
            BedrockStatus::parse(VANILLA.trim_end_matches(';')),
            Ok(vanilla())
        );
        // bedrock-protocol adds a field "0" after the ports.
        let with_extra = format!("{VANILLA}0;");
        let parsed = BedrockStatus::parse(&with_extra).expect("extra");
        assert_eq!(parsed.extra, ["0"]);
        assert_eq!(parsed.to_info_string(), with_extra);
        // Education Edition, only the required fields.
        let ee = BedrockStatus::parse("MCEE;Class;100;1.0;1;30").expect("ee");
        assert_eq!(ee.edition, Edition::Mcee);
        assert_eq!(
            (ee.server_id, ee.sub_motd, ee.port_v4, ee.extra.len()),
            (None, None, None, 0)
        );
    }

    #[test]
    fn semicolons_in_motds() {
        let s = BedrockStatus::parse(
            "MCPE;Hello; World;x;390;1.14.60;0;10;123;Level;with;semis;Survival;1;19132;19133;",
        )
        .expect("parse");
        assert_eq!(s.motd, "Hello; World;x");
        assert_eq!(s.protocol, 390);
        assert_eq!(s.server_id.as_deref(), Some("123"));
        assert_eq!(s.sub_motd.as_deref(), Some("Level;with;semis"));
        assert_eq!(s.game_mode.as_deref(), Some("Survival"));
        assert_eq!((s.port_v4, s.port_v6), (Some(19132), Some(19133)));
        assert!(s.extra.is_empty());
        assert_eq!(BedrockStatus::parse(&s.to_info_string()), Ok(s));
        // A MOTD ending in ';' with nothing but the required fields.
        let s = BedrockStatus::parse("MCPE;a;;390;v;1;2;").expect("parse");
        assert_eq!(s.motd, "a;");
    }

    #[test]
    fn parse_errors() {
        let err = |info: &str| BedrockStatus::parse(info).expect_err(info);
        assert!(matches!(
            err("MCPE;motd;390;1.0;0"),
            DecodeError::InvalidField {
                field: "bedrock status",
                ..
            }
        ));
        assert!(matches!(
            err("MCXX;motd;390;1.0;0;10"),
            DecodeError::InvalidField {
                field: "edition",
                ..
            }
        ));
        assert!(matches!(
            err("MCPE;motd;new;1.0;0;10"),
            DecodeError::InvalidField {
                field: "protocol",
                ..
            }
        ));
        assert!(matches!(
            err("MCPE;motd;390;1.0;0;lots;"),
            DecodeError::InvalidField { field: "max", .. }
        ));
        assert!(matches!(
            err("MCPE;m;390;1.0;0;10;id;sub;Survival;one;"),
            DecodeError::InvalidField {
                field: "game mode number",
                ..
            }
        ));
        assert!(matches!(
            err("MCPE;m;390;1.0;0;10;id;sub;Survival;1;70000;"),
            DecodeError::InvalidField {
                field: "IPv4 port",
                ..
            }
        ));
    }

    #[test]
    fn optional_fields_are_written_up_to_the_last_present() {
        let mut s = vanilla();
        s.server_id = None;
        s.sub_motd = None;
        s.port_v6 = None;
        assert_eq!(
            s.to_info_string(),
            "MCPE;Dedicated Server;390;1.14.60;0;10;;;Survival;1;19132;"
        );
        assert_eq!(BedrockStatus::parse(&s.to_info_string()), Ok(s));
    }

    /// Text without `;` and not parseable as a number (so the heuristic has nothing
    /// to confuse), optionally containing `;` between letter-only pieces.
    fn piece() -> impl Strategy<Value = String> {
        "[a-zA-Z §.]{0,12}".prop_filter("not a number", |s| !is_int(s))
    }

    fn motd_with_semicolons() -> impl Strategy<Value = String> {
        proptest::collection::vec("[a-zA-Z §]{1,8}", 1..4).prop_map(|v| v.join(";"))
    }

    fn some_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-zA-Z0-9 §.]{1,12}")
    }

    fn arb_status() -> impl Strategy<Value = BedrockStatus> {
        let required = (
            prop_oneof![Just(Edition::Mcpe), Just(Edition::Mcee)],
            prop_oneof![piece(), motd_with_semicolons()],
            any::<i32>(),
            "[0-9a-z.]{0,10}",
            any::<i64>(),
            any::<i64>(),
        );
        let optional = (
            some_text(),
            prop_oneof![some_text(), motd_with_semicolons().prop_map(Some)],
            proptest::option::of(piece().prop_filter("non-empty", |s| !s.is_empty())),
            proptest::option::of(any::<i32>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u16>()),
            proptest::collection::vec("[a-z0-9]{0,5}", 0..3),
        );
        (required, optional)
            .prop_filter(
                "a `;` in the sub-MOTD is recoverable only with the fields after it",
                |(_, (_, sub, mode, gm, p4, p6, _))| {
                    !sub.as_deref().is_some_and(|s| s.contains(';'))
                        || (mode.is_some() && gm.is_some() && p4.is_some() && p6.is_some())
                },
            )
            .prop_map(
                |(
                    (edition, motd, protocol, version, online, max),
                    (server_id, sub_motd, game_mode, gm, port_v4, port_v6, extra),
                )| BedrockStatus {
                    edition,
                    motd,
                    protocol,
                    version,
                    online,
                    max,
                    server_id,
                    sub_motd,
                    game_mode,
                    game_mode_numeric: gm,
                    port_v4,
                    port_v6,
                    extra,
                },
            )
    }

    proptest! {
        #[test]
        fn status_round_trip(status in arb_status()) {
            let pong = UnconnectedPongS2c { time: 1, server_guid: 2, info: status.to_info_string() };
            let mut wire = Vec::new();
            pong.encode(&mut wire);
            let back = UnconnectedPongS2c::decode(&wire).expect("decode");
            prop_assert_eq!(&back, &pong);
            prop_assert_eq!(back.status(), Ok(status));
        }

        #[test]
        fn ping_round_trip(time: i64, client_guid: i64, open_connections_only: bool) {
            let ping = UnconnectedPingC2s { time, client_guid, open_connections_only };
            let mut wire = Vec::new();
            ping.encode(&mut wire);
            prop_assert_eq!(UnconnectedPingC2s::decode(&wire), Ok(ping));
        }

        #[test]
        fn pong_round_trip(time: i64, server_guid: i64, info in "\\PC{0,80}") {
            let pong = UnconnectedPongS2c { time, server_guid, info };
            let mut wire = Vec::new();
            pong.encode(&mut wire);
            prop_assert_eq!(UnconnectedPongS2c::decode(&wire), Ok(pong));
        }

        #[test]
        fn parse_is_stable(info in "(MCPE|MCEE|x)(;[a-z0-9+-]{0,3}){0,16};?") {
            // Whatever parses re-encodes to something that parses to the same status.
            if let Ok(status) = BedrockStatus::parse(&info) {
                prop_assert_eq!(BedrockStatus::parse(&status.to_info_string()), Ok(status));
            }
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = UnconnectedPingC2s::decode(&bytes);
            let _ = UnconnectedPongS2c::decode(&bytes);
        }
    }
}
