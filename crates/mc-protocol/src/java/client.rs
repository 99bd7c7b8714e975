//! The client side of the Server List Ping as a state machine without I/O.
//!
//! # Call order
//! 1. [`StatusClient::new`] queues the handshake and the status request;
//!    write what [`StatusClient::poll_transmit`] returns.
//! 2. Feed every byte read from the server to [`StatusClient::handle_bytes`] until
//!    [`StatusClient::poll_status`] returns the status response.
//! 3. Optionally call [`StatusClient::send_ping`] with a payload of your choice (the
//!    randomness or clock value enters here), write [`StatusClient::poll_transmit`]
//!    again, and feed bytes until [`StatusClient::is_done`].
//!
//! The status comes first and the ping second because non-vanilla servers do not
//! answer a ping sent before the status request. Frames the server sends after the
//! status and before the pong (some modded servers send a second packet) are
//! skipped, never mistaken for the status.
//!
//! ```
//! use mc_protocol::java::{Packet, PongResponseS2c, StatusClient, StatusResponseS2c};
//! let mut c = StatusClient::new(-1, "localhost", 25565, 1 << 20);
//! let request = c.poll_transmit().unwrap(); // handshake + status request, to write
//! # let _ = request;
//! let reply = StatusResponseS2c { json: r#"{"description":"hi"}"#.into() }.to_frame_bytes();
//! c.handle_bytes(&reply).unwrap();
//! assert_eq!(c.poll_status().unwrap().json, r#"{"description":"hi"}"#);
//! c.send_ping(42).unwrap();
//! let ping = c.poll_transmit().unwrap();
//! # let _ = ping;
//! c.handle_bytes(&PongResponseS2c { payload: 42 }.to_frame_bytes()).unwrap();
//! assert!(c.is_done());
//! ```

use super::frame::FrameDecoder;
use super::packet::{
    HandshakeC2s, Packet, PingRequestC2s, PongResponseS2c, StatusRequestC2s, StatusResponseS2c,
};
use crate::codec::{DecodeError, VarInt};

/// Why the exchange cannot continue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The server's bytes are not a valid frame or packet.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The pong did not echo the ping's payload.
    #[error("pong payload {received} does not match ping payload {sent}")]
    PongMismatch {
        /// What the ping carried.
        sent: i64,
        /// What the pong carried.
        received: i64,
    },
    /// A method was called out of order (e.g. [`StatusClient::send_ping`] before the
    /// status arrived).
    #[error("{0} called in the wrong state")]
    WrongState(&'static str),
}

/// Where the exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Handshake and status request queued or sent; waiting for the status.
    AwaitingStatus,
    /// The status arrived; [`StatusClient::send_ping`] may be called.
    StatusReceived,
    /// Ping queued or sent; waiting for the pong.
    AwaitingPong,
    /// The pong arrived and matched: the exchange is complete.
    Done,
}

/// The client side of one Server List Ping exchange (see the [module docs](self)
/// for the call order).
#[derive(Debug, Clone)]
pub struct StatusClient {
    state: ClientState,
    decoder: FrameDecoder,
    transmit: Vec<u8>,
    status: Option<StatusResponseS2c>,
    ping_payload: i64,
    skipped_frames: usize,
}

impl StatusClient {
    /// Starts an exchange with the server the user knows as `host:port`, announcing
    /// `protocol_version` ([`HandshakeC2s::PROTOCOL_ANY`] = -1 when unsure) and
    /// accepting frames up to `max_frame` bytes.
    pub fn new(protocol_version: i32, host: &str, port: u16, max_frame: usize) -> Self {
        let mut transmit = Vec::new();
        HandshakeC2s::status(protocol_version, host, port).encode(&mut transmit);
        StatusRequestC2s.encode(&mut transmit);
        Self {
            state: ClientState::AwaitingStatus,
            decoder: FrameDecoder::with_max_frame(max_frame),
            transmit,
            status: None,
            ping_payload: 0,
            skipped_frames: 0,
        }
    }

    /// Where the exchange is.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// Bytes to write to the server, if any are queued.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.transmit.is_empty()).then(|| std::mem::take(&mut self.transmit))
    }

    /// Takes the status response once it arrived (returns it once).
    pub fn poll_status(&mut self) -> Option<StatusResponseS2c> {
        self.status.take()
    }

    /// Whether the pong arrived and matched.
    pub fn is_done(&self) -> bool {
        self.state == ClientState::Done
    }

    /// Frames skipped while waiting for the pong.
    pub fn skipped_frames(&self) -> usize {
        self.skipped_frames
    }

    /// Bytes received and not yet consumed by a packet.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Queues a ping carrying `payload`, once the status arrived.
    ///
    /// # Errors
    /// [`ExchangeError::WrongState`] before the status or after a ping.
    pub fn send_ping(&mut self, payload: i64) -> Result<(), ExchangeError> {
        if self.state != ClientState::StatusReceived {
            return Err(ExchangeError::WrongState("send_ping"));
        }
        PingRequestC2s { payload }.encode(&mut self.transmit);
        self.ping_payload = payload;
        self.state = ClientState::AwaitingPong;
        Ok(())
    }

    /// Processes bytes read from the server: complete frames advance the state,
    /// partial ones stay buffered. Bytes after the status stay queued until a ping
    /// is sent (at most one largest frame's worth); bytes after the pong are ignored
    /// and not buffered.
    ///
    /// # Errors
    /// [`ExchangeError::Decode`] for a corrupt frame or a status response that does
    /// not decode ([`DecodeError::InvalidText`] for bad UTF-8, ...),
    /// [`ExchangeError::PongMismatch`] for a pong with another payload,
    /// [`DecodeError::FrameTooLarge`] when more than a largest frame arrives between
    /// the status and the ping. After an error the exchange cannot continue.
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<(), ExchangeError> {
        match self.state {
            // Nothing more is read after the pong: do not even buffer it.
            ClientState::Done => return Ok(()),
            // Between status and ping nothing is decoded, so bound the queue here: more
            // than one largest frame can only be a peer flooding us.
            ClientState::StatusReceived => {
                let queued = self.decoder.buffered().saturating_add(bytes.len());
                let max = self.decoder.max_frame().saturating_add(VarInt::MAX_SIZE);
                if queued > max {
                    return Err(DecodeError::FrameTooLarge {
                        size: queued as u64,
                        max,
                    }
                    .into());
                }
            }
            ClientState::AwaitingStatus | ClientState::AwaitingPong => {}
        }
        self.decoder.queue_bytes(bytes);
        loop {
            match self.state {
                ClientState::StatusReceived | ClientState::Done => return Ok(()),
                ClientState::AwaitingStatus => {
                    let Some(frame) = self.decoder.try_next_frame()? else {
                        return Ok(());
                    };
                    if frame.id != StatusResponseS2c::ID {
                        return Err(DecodeError::UnexpectedPacketId {
                            expected: StatusResponseS2c::ID,
                            found: frame.id,
                        }
                        .into());
                    }
                    let status =
                        StatusResponseS2c::from_owned_body(frame.body, self.decoder.max_frame())?;
                    self.status = Some(status);
                    self.state = ClientState::StatusReceived;
                }
                ClientState::AwaitingPong => {
                    let Some(frame) = self.decoder.try_next_frame()? else {
                        return Ok(());
                    };
                    if frame.id != PongResponseS2c::ID {
                        self.skipped_frames += 1;
                        continue;
                    }
                    let pong = PongResponseS2c::from_frame(&frame)?;
                    if pong.payload != self.ping_payload {
                        return Err(ExchangeError::PongMismatch {
                            sent: self.ping_payload,
                            received: pong.payload,
                        });
                    }
                    self.state = ClientState::Done;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::java::frame::encode_frame;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    fn status_frame(json: &str) -> Vec<u8> {
        StatusResponseS2c { json: json.into() }.to_frame_bytes()
    }

    #[test]
    fn request_bytes() {
        let mut c = StatusClient::new(-1, "localhost", 25565, 1024);
        assert_eq!(c.state(), ClientState::AwaitingStatus);
        let mut expected = HandshakeC2s::status(-1, "localhost", 25565).to_frame_bytes();
        expected.extend_from_slice(&h("0100"));
        assert_eq!(c.poll_transmit(), Some(expected));
        assert_eq!(c.poll_transmit(), None);
    }

    #[test]
    fn full_exchange_byte_by_byte() {
        let mut c = StatusClient::new(765, "h", 1, 1024);
        let _ = c.poll_transmit();
        for b in status_frame("{}") {
            assert!(c.poll_status().is_none());
            c.handle_bytes(&[b]).expect("ok");
        }
        assert_eq!(c.state(), ClientState::StatusReceived);
        assert_eq!(c.poll_status().map(|s| s.json), Some("{}".into()));
        c.send_ping(7).expect("ping");
        assert_eq!(c.poll_transmit(), Some(h("09010000000000000007")));
        assert!(c.send_ping(8).is_err());
        for b in h("09010000000000000007") {
            c.handle_bytes(&[b]).expect("ok");
        }
        assert!(c.is_done());
    }

    #[test]
    fn ping_before_status_is_refused() {
        let mut c = StatusClient::new(-1, "h", 1, 1024);
        assert_eq!(c.send_ping(1), Err(ExchangeError::WrongState("send_ping")));
    }

    #[test]
    fn second_packet_after_status_stays_queued_then_is_skipped() {
        let mut c = StatusClient::new(-1, "h", 1, 1024);
        let mut wire = status_frame(r#"{"a":1}"#);
        encode_frame(0x00, b"\x02{}", &mut wire); // a second packet
        c.handle_bytes(&wire).expect("ok");
        assert_eq!(c.poll_status().map(|s| s.json), Some(r#"{"a":1}"#.into()));
        assert_eq!(c.buffered(), 5);
        c.send_ping(5).expect("ping");
        c.handle_bytes(&PongResponseS2c { payload: 5 }.to_frame_bytes())
            .expect("ok");
        assert!(c.is_done());
        assert_eq!(c.skipped_frames(), 1);
    }

    #[test]
    fn bytes_between_status_and_ping_are_bounded_and_after_pong_ignored() {
        let mut c = StatusClient::new(-1, "h", 1, 1024);
        c.handle_bytes(&status_frame("{}")).expect("ok");
        c.handle_bytes(&[0u8; 1000])
            .expect("one frame's worth is kept");
        assert_eq!(c.buffered(), 1000);
        assert_eq!(
            c.handle_bytes(&[0u8; 100]),
            Err(ExchangeError::Decode(DecodeError::FrameTooLarge {
                size: 1100,
                max: 1029
            }))
        );

        let mut c = StatusClient::new(-1, "h", 1, 1024);
        c.handle_bytes(&status_frame("{}")).expect("ok");
        c.send_ping(5).expect("ping");
        c.handle_bytes(&PongResponseS2c { payload: 5 }.to_frame_bytes())
            .expect("ok");
        for _ in 0..10 {
            c.handle_bytes(&[0u8; 4096]).expect("ignored");
        }
        assert_eq!(c.buffered(), 0);
    }

    #[test]
    fn errors_are_typed() {
        let mut c = StatusClient::new(-1, "h", 1, 1024);
        c.handle_bytes(&status_frame("{}")).expect("ok");
        c.send_ping(5).expect("ping");
        assert_eq!(
            c.handle_bytes(&PongResponseS2c { payload: 6 }.to_frame_bytes()),
            Err(ExchangeError::PongMismatch {
                sent: 5,
                received: 6
            })
        );

        let mut c = StatusClient::new(-1, "h", 1, 1024);
        assert_eq!(
            c.handle_bytes(&h("0a01000000000000000100")),
            Err(ExchangeError::Decode(DecodeError::UnexpectedPacketId {
                expected: 0,
                found: 1
            }))
        );

        let mut c = StatusClient::new(-1, "h", 1, 1024);
        assert_eq!(
            c.handle_bytes(&h("0400017bff")),
            Err(ExchangeError::Decode(DecodeError::TrailingBytes(1)))
        );

        let mut c = StatusClient::new(-1, "h", 1, 16);
        assert_eq!(
            c.handle_bytes(&h("ffffffff07")),
            Err(ExchangeError::Decode(DecodeError::FrameTooLarge {
                size: i32::MAX as u64,
                max: 16
            }))
        );
    }
}
