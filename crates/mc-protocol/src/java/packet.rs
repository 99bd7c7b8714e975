//! The five packets of the Server List Ping, named by direction (`C2s`: client to
//! server, `S2c`: server to client).
//!
//! | state       | id     | packet                | fields |
//! |-------------|--------|-----------------------|--------|
//! | handshaking | `0x00` | [`HandshakeC2s`]      | protocol VarInt, address String(255), port u16, next state VarInt |
//! | status      | `0x00` | [`StatusRequestC2s`]  | — |
//! | status      | `0x00` | [`StatusResponseS2c`] | JSON String |
//! | status      | `0x01` | [`PingRequestC2s`]    | payload i64 |
//! | status      | `0x01` | [`PongResponseS2c`]   | payload i64 |
//!
//! Every decoder is strict: the packet id must match and no byte may follow the last
//! field inside the frame ([`DecodeError::TrailingBytes`]).

use crate::codec::{DecodeError, DecodeResult, Reader, VarInt, write_string};

use super::frame::{DEFAULT_MAX_FRAME, Frame, decode_frame, encode_frame};

/// A packet of the Server List Ping: its id, how its body is written and read.
pub trait Packet: Sized {
    /// The packet id written before the body.
    const ID: i32;

    /// Appends the body (the fields after the packet id).
    fn encode_body(&self, out: &mut Vec<u8>);

    /// Reads the body from `r`; the caller checks that nothing is left.
    ///
    /// # Errors
    /// Any [`DecodeError`] for a malformed field.
    fn decode_body(r: &mut Reader<'_>) -> DecodeResult<Self>;

    /// Appends the whole frame: length prefix, packet id and body.
    fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        self.encode_body(&mut body);
        encode_frame(Self::ID, &body, out);
    }

    /// The whole frame as a new vector.
    fn to_frame_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes from a [`Frame`] already split off the stream.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedPacketId`], a field error, or
    /// [`DecodeError::TrailingBytes`] when bytes follow the last field.
    fn from_frame(frame: &Frame) -> DecodeResult<Self> {
        if frame.id != Self::ID {
            return Err(DecodeError::UnexpectedPacketId {
                expected: Self::ID,
                found: frame.id,
            });
        }
        let mut r = Reader::new(&frame.body);
        let packet = Self::decode_body(&mut r)?;
        r.finish()?;
        Ok(packet)
    }

    /// Decodes exactly one whole frame (length prefix included) of at most
    /// [`DEFAULT_MAX_FRAME`] bytes.
    ///
    /// # Errors
    /// The framing errors of [`decode_frame`] and those of [`Self::from_frame`].
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        Self::from_frame(&decode_frame(bytes, DEFAULT_MAX_FRAME)?)
    }
}

/// What the client wants after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextState {
    /// `1`: the Server List Ping (status request, then ping).
    Status,
    /// `2`: logging in to play.
    Login,
    /// `3`: a transfer from another server (1.20.5+).
    Transfer,
}

impl NextState {
    /// The wire value.
    pub fn to_i32(self) -> i32 {
        match self {
            Self::Status => 1,
            Self::Login => 2,
            Self::Transfer => 3,
        }
    }

    /// Parses the wire value.
    ///
    /// # Errors
    /// [`DecodeError::InvalidField`] for anything but 1, 2 or 3.
    pub fn from_i32(v: i32) -> DecodeResult<Self> {
        match v {
            1 => Ok(Self::Status),
            2 => Ok(Self::Login),
            3 => Ok(Self::Transfer),
            other => Err(DecodeError::InvalidField {
                field: "next state",
                reason: format!("{other} is not 1 (status), 2 (login) or 3 (transfer)"),
            }),
        }
    }
}

/// The first packet of every connection (`0x00`, handshaking state).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HandshakeC2s {
    /// The client's protocol version; [`HandshakeC2s::PROTOCOL_ANY`] when the
    /// client only wants the status.
    pub protocol_version: i32,
    /// The host name or address the client was told to connect to, at most
    /// [`HandshakeC2s::MAX_ADDRESS_LEN`] UTF-16 code units (Forge clients append
    /// `\0FML\0`-style markers, which fit).
    pub server_address: String,
    /// The port the client was told to connect to.
    pub server_port: u16,
    /// What follows the handshake.
    pub next_state: NextState,
}

impl HandshakeC2s {
    /// `-1`: "any version", the convention for a client that only pings (vanilla
    /// servers and proxies answer the status whatever the version says).
    pub const PROTOCOL_ANY: i32 = -1;
    /// The bound on [`Self::server_address`], in UTF-16 code units as vanilla counts.
    pub const MAX_ADDRESS_LEN: usize = 255;

    /// A handshake announcing a status request.
    pub fn status(protocol_version: i32, server_address: &str, server_port: u16) -> Self {
        Self {
            protocol_version,
            server_address: server_address.to_owned(),
            server_port,
            next_state: NextState::Status,
        }
    }
}

impl Packet for HandshakeC2s {
    const ID: i32 = 0x00;

    fn encode_body(&self, out: &mut Vec<u8>) {
        VarInt(self.protocol_version).encode(out);
        write_string(out, &self.server_address);
        out.extend_from_slice(&self.server_port.to_be_bytes());
        VarInt(self.next_state.to_i32()).encode(out);
    }

    fn decode_body(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let protocol_version = r.read_varint()?;
        // A UTF-16 code unit takes at most 3 UTF-8 bytes; a 4-byte character is
        // two code units, so 3 bytes per unit bounds the byte length.
        let server_address = r.read_string(Self::MAX_ADDRESS_LEN * 3)?;
        let units = server_address.encode_utf16().count();
        if units > Self::MAX_ADDRESS_LEN {
            return Err(DecodeError::StringTooLong {
                len: units as u64,
                max: Self::MAX_ADDRESS_LEN,
            });
        }
        let server_port = r.read_u16_be()?;
        let next_state = NextState::from_i32(r.read_varint()?)?;
        Ok(Self {
            protocol_version,
            server_address: server_address.to_owned(),
            server_port,
            next_state,
        })
    }
}

/// The status request (`0x00`, status state): no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StatusRequestC2s;

impl Packet for StatusRequestC2s {
    const ID: i32 = 0x00;

    fn encode_body(&self, _out: &mut Vec<u8>) {}

    fn decode_body(_r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self)
    }
}

/// The status response (`0x00`, status state): the server's status as a JSON
/// string, parsed separately by [`super::JavaStatus::from_json`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusResponseS2c {
    /// The JSON document, as sent.
    pub json: String,
}

impl StatusResponseS2c {
    /// Decodes the body with an explicit bound on the JSON string's byte length
    /// (the [`Packet::decode_body`] bound is [`DEFAULT_MAX_FRAME`]; vanilla's own
    /// limit of 32767 UTF-16 units is exceeded by real modded servers, so the frame
    /// size is the practical bound).
    ///
    /// # Errors
    /// [`DecodeError::StringTooLong`], [`DecodeError::InvalidText`], ...
    pub fn decode_body_with_max(r: &mut Reader<'_>, max_json: usize) -> DecodeResult<Self> {
        Ok(Self {
            json: r.read_string(max_json)?.to_owned(),
        })
    }
}

impl StatusResponseS2c {
    /// [`Self::decode_body_with_max`] for a body the caller owns and no longer needs:
    /// the JSON keeps the body's allocation instead of being copied out of it (a
    /// status can be megabytes). The whole body must be the string.
    pub(crate) fn from_owned_body(mut body: Vec<u8>, max_json: usize) -> DecodeResult<Self> {
        let mut r = Reader::new(&body);
        let json_len = r.read_string(max_json)?.len();
        r.finish()?;
        body.drain(..body.len() - json_len);
        // A buffer grown by doubling may be up to twice the JSON; the status may be
        // kept for long.
        body.shrink_to_fit();
        let json =
            String::from_utf8(body).map_err(|_| DecodeError::InvalidText { encoding: "UTF-8" })?;
        Ok(Self { json })
    }
}

impl Packet for StatusResponseS2c {
    const ID: i32 = 0x00;

    fn encode_body(&self, out: &mut Vec<u8>) {
        write_string(out, &self.json);
    }

    fn decode_body(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Self::decode_body_with_max(r, DEFAULT_MAX_FRAME)
    }
}

/// The ping request (`0x01`, status state): a payload the server echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PingRequestC2s {
    /// Any value; vanilla clients send a timestamp in milliseconds.
    pub payload: i64,
}

impl Packet for PingRequestC2s {
    const ID: i32 = 0x01;

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.payload.to_be_bytes());
    }

    fn decode_body(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            payload: r.read_i64_be()?,
        })
    }
}

/// The pong response (`0x01`, status state): the ping's payload, echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PongResponseS2c {
    /// Must equal the ping's payload.
    pub payload: i64,
}

impl Packet for PongResponseS2c {
    const ID: i32 = 0x01;

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.payload.to_be_bytes());
    }

    fn decode_body(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            payload: r.read_i64_be()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    fn both_ways<P: Packet + PartialEq + std::fmt::Debug>(p: &P, wire: &str) {
        let wire = h(wire);
        assert_eq!(p.to_frame_bytes(), wire, "encode {p:?}");
        assert_eq!(&P::decode(&wire).expect("decode"), p, "decode");
    }

    #[test]
    fn handshake_vector() {
        // len 0x10, id 0, protocol -1, "localhost", 25565, status.
        both_ways(
            &HandshakeC2s::status(-1, "localhost", 25565),
            "1300ffffffff0f096c6f63616c686f737463dd01",
        );
        // protocol 767 (1.21), "mc.example.org", port 25565, login.
        both_ways(
            &HandshakeC2s {
                protocol_version: 767,
                server_address: "mc.example.org".into(),
                server_port: 25565,
                next_state: NextState::Login,
            },
            "1500ff050e6d632e6578616d706c652e6f726763dd02",
        );
    }

    #[test]
    fn status_request_vector() {
        both_ways(&StatusRequestC2s, "0100");
    }

    #[test]
    fn status_response_vector() {
        both_ways(
            &StatusResponseS2c {
                json: r#"{"a":1}"#.into(),
            },
            "0900077b2261223a317d",
        );
    }

    #[test]
    fn ping_pong_vectors() {
        both_ways(
            &PingRequestC2s {
                payload: 0x0102_0304_0506_0708,
            },
            "09010102030405060708",
        );
        both_ways(&PongResponseS2c { payload: -2 }, "0901fffffffffffffffe");
    }

    #[test]
    fn trailing_bytes_inside_a_frame_are_refused() {
        assert_eq!(
            StatusRequestC2s::decode(&h("020000")),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            PongResponseS2c::decode(&h("0a01000000000000000100")),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            PingRequestC2s::decode(&h("080100000000000000")),
            Err(DecodeError::UnexpectedEof { needed: 1 })
        );
    }

    #[test]
    fn wrong_ids_and_bad_fields() {
        assert_eq!(
            PongResponseS2c::decode(&h("09000000000000000001")),
            Err(DecodeError::UnexpectedPacketId {
                expected: 1,
                found: 0
            })
        );
        // next state 4.
        assert!(matches!(
            HandshakeC2s::decode(&h("0800ff05016163dd04")),
            Err(DecodeError::InvalidField {
                field: "next state",
                ..
            })
        ));
        // Address of 256 characters.
        let long = HandshakeC2s::status(1, &"a".repeat(256), 1).to_frame_bytes();
        assert_eq!(
            HandshakeC2s::decode(&long),
            Err(DecodeError::StringTooLong { len: 256, max: 255 })
        );
        // Invalid UTF-8 in the JSON.
        assert_eq!(
            StatusResponseS2c::decode(&h("04000280ff")),
            Err(DecodeError::InvalidText { encoding: "UTF-8" })
        );
        // JSON bound.
        let mut r = Reader::new(&[5, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(
            StatusResponseS2c::decode_body_with_max(&mut r, 4),
            Err(DecodeError::StringTooLong { len: 5, max: 4 })
        );
    }

    fn next_state() -> impl Strategy<Value = NextState> {
        prop_oneof![
            Just(NextState::Status),
            Just(NextState::Login),
            Just(NextState::Transfer)
        ]
    }

    proptest! {
        #[test]
        fn handshake_round_trip(
            protocol_version: i32,
            server_address in "\\PC{0,255}",
            server_port: u16,
            next_state in next_state(),
        ) {
            prop_assume!(server_address.encode_utf16().count() <= HandshakeC2s::MAX_ADDRESS_LEN);
            let p = HandshakeC2s { protocol_version, server_address, server_port, next_state };
            prop_assert_eq!(HandshakeC2s::decode(&p.to_frame_bytes()), Ok(p));
        }

        #[test]
        fn status_response_round_trip(json in "\\PC{0,500}") {
            let p = StatusResponseS2c { json };
            prop_assert_eq!(StatusResponseS2c::decode(&p.to_frame_bytes()), Ok(p));
        }

        #[test]
        fn ping_pong_round_trip(payload: i64) {
            let ping = PingRequestC2s { payload };
            prop_assert_eq!(PingRequestC2s::decode(&ping.to_frame_bytes()), Ok(ping));
            let pong = PongResponseS2c { payload };
            prop_assert_eq!(PongResponseS2c::decode(&pong.to_frame_bytes()), Ok(pong));
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = HandshakeC2s::decode(&bytes);
            let _ = StatusRequestC2s::decode(&bytes);
            let _ = StatusResponseS2c::decode(&bytes);
            let _ = PingRequestC2s::decode(&bytes);
            let _ = PongResponseS2c::decode(&bytes);
        }
    }
}
