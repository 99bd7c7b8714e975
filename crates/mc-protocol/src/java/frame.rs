//! Length-prefixed framing: `VarInt length ‖ VarInt packet id ‖ body`, where the
//! length counts the packet id and the body.
//!
//! [`FrameDecoder`] is incremental in the valence / tokio-util style: queue whatever
//! bytes arrived with [`FrameDecoder::queue_bytes`], then call
//! [`FrameDecoder::try_next_frame`] until it returns `Ok(None)` ("need more bytes").
//! The length prefix is compared with the configured maximum as soon as it is
//! complete, *before* the decoder waits for (or allocates) the body, so a peer that
//! announces 2 GiB costs nothing. Bytes after a frame stay queued for the next call.

use crate::codec::{DecodeError, DecodeResult, Reader, VarInt};

/// The default largest frame accepted: 8 MiB, enough for a big modpack's status with
/// a favicon (the same default as [`crate::net::ClientOptions`]).
pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;

/// One frame of the Java protocol: a packet id and the bytes that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The packet id (the first VarInt inside the frame).
    pub id: i32,
    /// The packet's fields, after the id.
    pub body: Vec<u8>,
}

impl Frame {
    /// Appends this frame, length prefix included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_frame(self.id, &self.body, out);
    }
}

/// Appends `length ‖ id ‖ body` to `out`.
///
/// A body too large for the format (over `i32::MAX` bytes) gets a saturated length,
/// so the peer sees a refused frame rather than a wrapped one; it never panics.
pub fn encode_frame(id: i32, body: &[u8], out: &mut Vec<u8>) {
    let id = VarInt(id);
    let len = id.encoded_len().saturating_add(body.len());
    VarInt(i32::try_from(len).unwrap_or(i32::MAX)).encode(out);
    id.encode(out);
    out.extend_from_slice(body);
}

/// Decodes one complete frame (length prefix included) from `bytes`, refusing any
/// byte after it and any frame larger than `max_frame`.
///
/// # Errors
/// [`DecodeError::UnexpectedEof`] when `bytes` ends inside the frame, the length
/// errors of [`FrameDecoder::try_next_frame`], or [`DecodeError::TrailingBytes`].
pub fn decode_frame(bytes: &[u8], max_frame: usize) -> DecodeResult<Frame> {
    let mut decoder = FrameDecoder::with_max_frame(max_frame);
    decoder.queue_bytes(bytes);
    match decoder.try_next_frame()? {
        Some(frame) if decoder.buffered() == 0 => Ok(frame),
        Some(_) => Err(DecodeError::TrailingBytes(decoder.buffered())),
        None => {
            let needed = decoder.needed().unwrap_or(1);
            Err(DecodeError::UnexpectedEof { needed })
        }
    }
}

/// Splits a byte stream into [`Frame`]s, bounding every frame by a maximum size.
///
/// ```
/// use mc_protocol::java::frame::FrameDecoder;
/// let mut d = FrameDecoder::new();
/// d.queue_bytes(&[0x09, 0x01]); // a 9-byte frame with packet id 1 ...
/// assert_eq!(d.try_next_frame(), Ok(None)); // ... is not complete yet
/// d.queue_bytes(&[0, 0, 0, 0, 0, 0, 0, 42, 0x01]); // rest, plus a byte of the next
/// let frame = d.try_next_frame().unwrap().unwrap();
/// assert_eq!((frame.id, frame.body.len()), (1, 8));
/// assert_eq!(d.buffered(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max_frame: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder accepting frames up to [`DEFAULT_MAX_FRAME`] bytes.
    pub fn new() -> Self {
        Self::with_max_frame(DEFAULT_MAX_FRAME)
    }

    /// A decoder accepting frames (packet id and body) up to `max_frame` bytes.
    pub fn with_max_frame(max_frame: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_frame,
        }
    }

    /// The largest frame this decoder accepts.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Appends bytes received from the peer.
    ///
    /// The decoder itself does not cap this buffer: a caller that only reads more
    /// after [`Self::try_next_frame`] returned `Ok(None)` never holds more than one
    /// length prefix, one frame and one read's worth of bytes.
    pub fn queue_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes queued and not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes every queued byte out of the decoder (e.g. to hand the stream over).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// How many more bytes the next frame needs at least, if known; `None` when the
    /// queued bytes already hold a complete frame or a corrupt prefix.
    pub fn needed(&self) -> Option<usize> {
        match VarInt::decode(&self.buf) {
            Err(DecodeError::UnexpectedEof { needed }) => Some(needed),
            Ok((VarInt(len), used)) => {
                let len = usize::try_from(len).ok()?;
                let total = used.checked_add(len)?;
                total.checked_sub(self.buf.len()).filter(|&n| n > 0)
            }
            Err(_) => None,
        }
    }

    /// Returns the next complete frame, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// The stream is corrupt and cannot be resynchronised:
    /// [`DecodeError::VarIntTooLong`] (a sixth length byte),
    /// [`DecodeError::NegativeLength`], [`DecodeError::FrameTooLarge`] (checked as
    /// soon as the prefix is complete, before the body arrives), or an invalid packet
    /// id inside the frame ([`DecodeError::InvalidField`] for an empty frame,
    /// [`DecodeError::VarIntTooLong`]).
    pub fn try_next_frame(&mut self) -> DecodeResult<Option<Frame>> {
        let (VarInt(len), prefix) = match VarInt::decode(&self.buf) {
            Ok(v) => v,
            Err(DecodeError::UnexpectedEof { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = usize::try_from(len).map_err(|_| DecodeError::NegativeLength(len.into()))?;
        if len > self.max_frame {
            return Err(DecodeError::FrameTooLarge {
                size: len as u64,
                max: self.max_frame,
            });
        }
        // `prefix <= 5` and `len <= max_frame`, a usize: the sum cannot overflow in
        // practice, but stay checked anyway.
        let Some(end) = prefix.checked_add(len) else {
            return Err(DecodeError::FrameTooLarge {
                size: len as u64,
                max: self.max_frame,
            });
        };
        let Some(frame) = self.buf.get(prefix..end) else {
            return Ok(None);
        };
        if frame.is_empty() {
            return Err(DecodeError::InvalidField {
                field: "frame",
                reason: "empty frame has no packet id".into(),
            });
        }
        let mut r = Reader::new(frame);
        let id = r.read_varint().map_err(|e| match e {
            DecodeError::UnexpectedEof { .. } => DecodeError::InvalidField {
                field: "packet id",
                reason: "frame ends inside the packet id".into(),
            },
            other => other,
        })?;
        let body_start = end - r.remaining();
        let body = if end == self.buf.len() {
            // The frame is all that is queued (the usual case: one answer per read
            // burst): hand the buffer over instead of allocating a copy.
            let mut body = std::mem::take(&mut self.buf);
            body.drain(..body_start);
            body
        } else {
            let body = r.rest().to_vec();
            self.buf.drain(..end);
            body
        };
        Ok(Some(Frame { id, body }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    #[test]
    fn encode_vectors() {
        let mut out = Vec::new();
        encode_frame(0, &[], &mut out);
        assert_eq!(out, h("0100"));
        out.clear();
        encode_frame(1, &h("0000000000000001"), &mut out);
        assert_eq!(out, h("09010000000000000001"));
        out.clear();
        // A 200-byte body: two-byte length prefix (201 = c9 01).
        encode_frame(0x7f, &[0xab; 200], &mut out);
        assert_eq!(&out[..3], &h("c9017f")[..]);
        assert_eq!(out.len(), 203);
    }

    #[test]
    fn two_gib_prefix_is_refused_before_the_body() {
        let mut d = FrameDecoder::new();
        d.queue_bytes(&h("ffffffff07"));
        assert_eq!(
            d.try_next_frame(),
            Err(DecodeError::FrameTooLarge {
                size: i32::MAX as u64,
                max: DEFAULT_MAX_FRAME
            })
        );
        let mut d = FrameDecoder::with_max_frame(10);
        d.queue_bytes(&[11]);
        assert_eq!(
            d.try_next_frame(),
            Err(DecodeError::FrameTooLarge { size: 11, max: 10 })
        );
    }

    #[test]
    fn sixth_prefix_byte_and_negative_length() {
        let mut d = FrameDecoder::new();
        d.queue_bytes(&h("8080808080"));
        assert_eq!(
            d.try_next_frame(),
            Err(DecodeError::VarIntTooLong { max: 5 })
        );
        let mut d = FrameDecoder::new();
        d.queue_bytes(&h("ffffffff0f"));
        assert_eq!(d.try_next_frame(), Err(DecodeError::NegativeLength(-1)));
    }

    #[test]
    fn partial_prefix_and_body_wait() {
        let mut d = FrameDecoder::new();
        d.queue_bytes(&[0x80]);
        assert_eq!(d.try_next_frame(), Ok(None));
        assert_eq!(d.needed(), Some(1));
        d.queue_bytes(&[0x01]); // length 128
        assert_eq!(d.try_next_frame(), Ok(None));
        assert_eq!(d.needed(), Some(128));
        d.queue_bytes(&[0x05; 128]);
        let f = d.try_next_frame().expect("ok").expect("frame");
        assert_eq!(f.id, 5);
        assert_eq!(f.body.len(), 127);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn empty_frame_and_bad_id() {
        let mut d = FrameDecoder::new();
        d.queue_bytes(&[0x00]);
        assert!(matches!(
            d.try_next_frame(),
            Err(DecodeError::InvalidField { field: "frame", .. })
        ));
        let mut d = FrameDecoder::new();
        d.queue_bytes(&[0x01, 0x80]);
        assert!(matches!(
            d.try_next_frame(),
            Err(DecodeError::InvalidField {
                field: "packet id",
                ..
            })
        ));
    }

    #[test]
    fn decode_frame_is_strict() {
        assert_eq!(
            decode_frame(&h("0100"), 16),
            Ok(Frame {
                id: 0,
                body: vec![]
            })
        );
        assert_eq!(
            decode_frame(&h("010000"), 16),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            decode_frame(&h("0300"), 16),
            Err(DecodeError::UnexpectedEof { needed: 2 })
        );
    }

    proptest! {
        #[test]
        fn frames_round_trip_in_any_split(
            frames in proptest::collection::vec((any::<i32>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..5),
            split in 1usize..64,
        ) {
            let mut wire = Vec::new();
            for (id, body) in &frames {
                encode_frame(*id, body, &mut wire);
            }
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            for chunk in wire.chunks(split) {
                d.queue_bytes(chunk);
                while let Some(f) = d.try_next_frame().expect("valid stream") {
                    got.push((f.id, f.body));
                }
            }
            prop_assert_eq!(got, frames);
            prop_assert_eq!(d.buffered(), 0);
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in 0usize..64) {
            let mut d = FrameDecoder::with_max_frame(max);
            d.queue_bytes(&bytes);
            while let Ok(Some(_)) = d.try_next_frame() {}
            let _ = d.needed();
        }
    }
}
