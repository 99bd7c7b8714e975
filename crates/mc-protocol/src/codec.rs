//! Shared building blocks of every codec: a bounds-checked [`Reader`] cursor, VarInt
//! and VarLong, and the one [`DecodeError`] every decoder returns.
//!
//! A decoder never trusts a length it read from the peer: it compares it with a maximum
//! *before* it allocates or waits for the bytes, and it caps any preallocation.

use std::fmt;

/// Why a sequence of bytes is not a valid message.
///
/// Decoders return this for every malformed input; none of them panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the message did.
    #[error("unexpected end of input: needed {needed} more byte(s)")]
    UnexpectedEof {
        /// How many more bytes the decoder needed at least.
        needed: usize,
    },
    /// A VarInt or VarLong had more bytes than its type allows (a sixth byte for a
    /// VarInt, an eleventh for a VarLong).
    #[error("VarInt/VarLong longer than {max} bytes")]
    VarIntTooLong {
        /// The largest number of bytes the type allows.
        max: usize,
    },
    /// A length-prefixed frame announced more bytes than the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Announced size.
        size: u64,
        /// Configured maximum.
        max: usize,
    },
    /// A length was negative where only lengths ≥ 0 make sense.
    #[error("negative length {0}")]
    NegativeLength(i64),
    /// A string was longer than its bound.
    #[error("string of {len} bytes exceeds the maximum of {max}")]
    StringTooLong {
        /// Announced or actual length.
        len: u64,
        /// Bound for this field.
        max: usize,
    },
    /// Text was not valid UTF-8 (or UTF-16 for the legacy protocol).
    #[error("invalid {encoding} text")]
    InvalidText {
        /// `"UTF-8"` or `"UTF-16BE"`.
        encoding: &'static str,
    },
    /// A JSON document did not parse or did not have the required shape.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The packet id (or the first byte of a datagram) was not the expected one.
    #[error("unexpected packet id {found:#04x} (expected {expected:#04x})")]
    UnexpectedPacketId {
        /// What the protocol requires here.
        expected: i32,
        /// What the peer sent.
        found: i32,
    },
    /// A fixed magic sequence (RakNet's offline message id, a legacy marker, ...) did
    /// not match.
    #[error("bad magic bytes in {what}")]
    BadMagic {
        /// Which magic was wrong.
        what: &'static str,
    },
    /// Bytes were left over after a message that has a definite end.
    #[error("{0} trailing byte(s) after the message")]
    TrailingBytes(usize),
    /// A field had a value outside its valid range or an impossible shape.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What was wrong with it.
        reason: String,
    },
}

/// The result of every decoder.
pub type DecodeResult<T> = Result<T, DecodeError>;

/// A cursor over a byte slice whose reads are all bounds-checked.
///
/// Every `read_*` either consumes exactly the bytes of the value or returns
/// [`DecodeError::UnexpectedEof`] and consumes nothing useful; call [`Reader::finish`]
/// at the end of a message with a definite end to refuse trailing bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// How many bytes have been read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Reads exactly `n` bytes.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than `n` bytes remain.
    pub fn read_bytes(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEof {
                needed: n - self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads a fixed-size array.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than `N` bytes remain.
    pub fn read_array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let bytes = self.read_bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads every remaining byte.
    pub fn read_rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] on empty input.
    pub fn read_u8(&mut self) -> DecodeResult<u8> {
        Ok(self.read_array::<1>()?[0])
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 2 bytes remain.
    pub fn read_u16_be(&mut self) -> DecodeResult<u16> {
        Ok(u16::from_be_bytes(self.read_array()?))
    }

    /// Reads a little-endian `u16`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 2 bytes remain.
    pub fn read_u16_le(&mut self) -> DecodeResult<u16> {
        Ok(u16::from_le_bytes(self.read_array()?))
    }

    /// Reads a big-endian `i32`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 4 bytes remain.
    pub fn read_i32_be(&mut self) -> DecodeResult<i32> {
        Ok(i32::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `i64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 8 bytes remain.
    pub fn read_i64_be(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 8 bytes remain.
    pub fn read_u64_be(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_be_bytes(self.read_array()?))
    }

    /// Reads a VarInt.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] or [`DecodeError::VarIntTooLong`].
    pub fn read_varint(&mut self) -> DecodeResult<i32> {
        let (value, len) = VarInt::decode(self.rest())?;
        self.pos += len;
        Ok(value.0)
    }

    /// Reads a VarLong.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] or [`DecodeError::VarIntTooLong`].
    pub fn read_varlong(&mut self) -> DecodeResult<i64> {
        let (value, len) = VarLong::decode(self.rest())?;
        self.pos += len;
        Ok(value.0)
    }

    /// Reads a VarInt-length-prefixed UTF-8 string of at most `max` bytes, checking
    /// the length before reading the body.
    ///
    /// # Errors
    /// [`DecodeError::NegativeLength`], [`DecodeError::StringTooLong`],
    /// [`DecodeError::UnexpectedEof`] or [`DecodeError::InvalidText`].
    pub fn read_string(&mut self, max: usize) -> DecodeResult<&'a str> {
        let len = self.read_varint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::NegativeLength(len.into()))?;
        if len > max {
            return Err(DecodeError::StringTooLong {
                len: len as u64,
                max,
            });
        }
        let bytes = self.read_bytes(len)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidText { encoding: "UTF-8" })
    }

    /// Refuses any unread byte.
    ///
    /// # Errors
    /// [`DecodeError::TrailingBytes`] when bytes remain.
    pub fn finish(&self) -> DecodeResult<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

/// Writes a VarInt-length-prefixed UTF-8 string.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    // A Rust string longer than i32::MAX bytes cannot be sent in this format; the
    // length is saturated so the peer sees a bad frame instead of a wrapped one.
    let len = i32::try_from(s.len()).unwrap_or(i32::MAX);
    VarInt(len).encode(out);
    out.extend_from_slice(s.as_bytes());
}

/// Caps a preallocation derived from peer input ("cautious capacity").
pub fn cautious_capacity(announced: usize, max: usize) -> usize {
    announced.min(max).min(4096)
}

/// A Java-edition VarInt: a signed 32-bit integer in 1 to 5 bytes, seven bits a
/// byte, least significant group first, the high bit marking "more bytes follow".
///
/// ```
/// use mc_protocol::VarInt;
/// let mut out = Vec::new();
/// VarInt(25565).encode(&mut out);
/// assert_eq!(out, [0xdd, 0xc7, 0x01]);
/// assert_eq!(VarInt::decode(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Ok((VarInt(-1), 5)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VarInt(pub i32);

impl VarInt {
    /// The most bytes a VarInt takes; a sixth byte is an error.
    pub const MAX_SIZE: usize = 5;

    /// Appends the encoding.
    pub fn encode(self, out: &mut Vec<u8>) {
        let mut v = self.0 as u32;
        loop {
            if v & !0x7f == 0 {
                out.push(v as u8);
                return;
            }
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
    }

    /// The encoded size in bytes.
    pub fn encoded_len(self) -> usize {
        match self.0 as u32 {
            0..=0x7f => 1,
            0x80..=0x3fff => 2,
            0x4000..=0x1f_ffff => 3,
            0x20_0000..=0x0fff_ffff => 4,
            _ => 5,
        }
    }

    /// Decodes from the start of `buf`, returning the value and the bytes used.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] if `buf` ends inside the VarInt (so a streaming
    /// caller waits for more), [`DecodeError::VarIntTooLong`] on a sixth byte.
    pub fn decode(buf: &[u8]) -> DecodeResult<(Self, usize)> {
        let mut value: u32 = 0;
        for i in 0..Self::MAX_SIZE {
            let Some(&byte) = buf.get(i) else {
                return Err(DecodeError::UnexpectedEof { needed: 1 });
            };
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok((Self(value as i32), i + 1));
            }
        }
        Err(DecodeError::VarIntTooLong {
            max: Self::MAX_SIZE,
        })
    }
}

impl fmt::Display for VarInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A Java-edition VarLong: a signed 64-bit integer in 1 to 10 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VarLong(pub i64);

impl VarLong {
    /// The most bytes a VarLong takes; an eleventh byte is an error.
    pub const MAX_SIZE: usize = 10;

    /// Appends the encoding.
    pub fn encode(self, out: &mut Vec<u8>) {
        let mut v = self.0 as u64;
        loop {
            if v & !0x7f == 0 {
                out.push(v as u8);
                return;
            }
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
    }

    /// Decodes from the start of `buf`, returning the value and the bytes used.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] or [`DecodeError::VarIntTooLong`].
    pub fn decode(buf: &[u8]) -> DecodeResult<(Self, usize)> {
        let mut value: u64 = 0;
        for i in 0..Self::MAX_SIZE {
            let Some(&byte) = buf.get(i) else {
                return Err(DecodeError::UnexpectedEof { needed: 1 });
            };
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok((Self(value as i64), i + 1));
            }
        }
        Err(DecodeError::VarIntTooLong {
            max: Self::MAX_SIZE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(v: i32) -> Vec<u8> {
        let mut out = Vec::new();
        VarInt(v).encode(&mut out);
        out
    }

    #[test]
    fn varint_vectors() {
        let vectors: &[(i32, &str)] = &[
            (0, "00"),
            (1, "01"),
            (127, "7f"),
            (128, "8001"),
            (255, "ff01"),
            (25565, "ddc701"),
            (2_097_151, "ffff7f"),
            (i32::MAX, "ffffffff07"),
            (-1, "ffffffff0f"),
            (i32::MIN, "8080808008"),
        ];
        for &(v, h) in vectors {
            let bytes = hex::decode(h).expect("hex");
            assert_eq!(enc(v), bytes, "encode {v}");
            assert_eq!(VarInt::decode(&bytes), Ok((VarInt(v), bytes.len())), "decode {h}");
            assert_eq!(VarInt(v).encoded_len(), bytes.len());
        }
    }

    #[test]
    fn varint_sixth_byte_is_refused() {
        assert_eq!(
            VarInt::decode(&hex::decode("ffffffffff01").expect("hex")),
            Err(DecodeError::VarIntTooLong { max: 5 })
        );
        assert_eq!(
            VarInt::decode(&[0x80, 0x80]),
            Err(DecodeError::UnexpectedEof { needed: 1 })
        );
    }

    #[test]
    fn varlong_vectors() {
        let vectors: &[(i64, &str)] = &[
            (0, "00"),
            (2_147_483_647, "ffffffff07"),
            (-1, "ffffffffffffffffff01"),
            (i64::MAX, "ffffffffffffffff7f"),
            (i64::MIN, "80808080808080808001"),
        ];
        for &(v, h) in vectors {
            let bytes = hex::decode(h).expect("hex");
            let mut out = Vec::new();
            VarLong(v).encode(&mut out);
            assert_eq!(out, bytes, "encode {v}");
            assert_eq!(VarLong::decode(&bytes), Ok((VarLong(v), bytes.len())));
        }
        assert!(matches!(
            VarLong::decode(&[0xff; 11]),
            Err(DecodeError::VarIntTooLong { max: 10 })
        ));
    }

    #[test]
    fn string_bound_checked_before_body() {
        // Announces 2^31-1 bytes with only 3 present: refused on the length alone.
        let mut buf = enc(i32::MAX);
        buf.extend_from_slice(b"abc");
        assert!(matches!(
            Reader::new(&buf).read_string(32767),
            Err(DecodeError::StringTooLong { .. })
        ));
        let mut buf = enc(-5);
        buf.extend_from_slice(b"abc");
        assert_eq!(
            Reader::new(&buf).read_string(10),
            Err(DecodeError::NegativeLength(-5))
        );
        let buf = [2, 0xc3, 0x28];
        assert_eq!(
            Reader::new(&buf).read_string(10),
            Err(DecodeError::InvalidText { encoding: "UTF-8" })
        );
    }

    proptest! {
        #[test]
        fn varint_round_trip(v: i32) {
            let bytes = enc(v);
            prop_assert_eq!(VarInt::decode(&bytes), Ok((VarInt(v), bytes.len())));
        }

        #[test]
        fn varlong_round_trip(v: i64) {
            let mut bytes = Vec::new();
            VarLong(v).encode(&mut bytes);
            prop_assert_eq!(VarLong::decode(&bytes), Ok((VarLong(v), bytes.len())));
        }

        #[test]
        fn string_round_trip(s in ".{0,200}") {
            let mut buf = Vec::new();
            write_string(&mut buf, &s);
            let mut r = Reader::new(&buf);
            prop_assert_eq!(r.read_string(1024), Ok(s.as_str()));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn varint_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = VarInt::decode(&bytes);
            let _ = VarLong::decode(&bytes);
        }
    }
}
