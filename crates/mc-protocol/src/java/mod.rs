//! Java Edition Server List Ping (Minecraft 1.7+), without I/O.
//!
//! # The exchange
//! Over one TCP connection, every packet framed as `VarInt length ‖ VarInt id ‖ body`:
//!
//! ```text
//! client                                   server
//!   HandshakeC2s (0x00, next state 1) ──▶
//!   StatusRequestC2s (0x00)           ──▶
//!                                     ◀──  StatusResponseS2c (0x00, JSON)
//!   PingRequestC2s (0x01, payload)    ──▶
//!                                     ◀──  PongResponseS2c (0x01, same payload)
//! ```
//!
//! The status comes before the ping: vanilla servers answer a bare ping, but many
//! others (proxies, plugin servers, the npm `minecraft-protocol` server) only answer
//! a ping that follows a status request. [`StatusClient`] drives the client side;
//! [`JavaStatus`] is the JSON document (version, players, description, favicon,
//! Forge mods, unknown fields kept).
//!
//! # Limits
//! - A frame is refused as soon as its length prefix is complete if it exceeds the
//!   configured maximum ([`frame::DEFAULT_MAX_FRAME`] = 8 MiB by default), so a
//!   2 GiB prefix costs nothing; a sixth length byte is [`DecodeError::VarIntTooLong`].
//! - Packets are strict: wrong id, truncated field or trailing bytes inside a frame
//!   are errors. Bytes *after* a frame are the next frame and never corrupt it.
//! - The handshake address is bounded to 255 UTF-16 units, the status JSON by the
//!   frame size (vanilla's 32767-unit limit is exceeded by real modded servers), a
//!   decoded favicon to [`status::MAX_FAVICON_BYTES`].
//! - Forge data never fails a status: see [`forge`] and [`Lenient`].
//!
//! [`DecodeError::VarIntTooLong`]: crate::DecodeError::VarIntTooLong

pub mod client;
pub mod forge;
pub mod frame;
pub mod packet;
pub mod status;

pub use client::{ClientState, ExchangeError, StatusClient};
pub use forge::{ForgeData, ModEntry, ModInfo, PackedForgeData};
pub use frame::{Frame, FrameDecoder};
pub use packet::{
    HandshakeC2s, NextState, Packet, PingRequestC2s, PongResponseS2c, StatusRequestC2s,
    StatusResponseS2c,
};
pub use status::{JavaPlayers, JavaStatus, JavaVersion, Lenient, PlayerSample};
