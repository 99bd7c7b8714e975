//! Sans-IO codecs for every way a Minecraft server answers "are you up?".
//!
//! No networking and no clock live in this crate's core: every type here turns bytes
//! into values and values into bytes, and the request/response state machines take
//! their input as arguments. The optional `tokio` feature adds [`net`], a client and a
//! small responder (server side) for each protocol plus SRV resolution, all with one
//! overall deadline per exchange. The UDP clients (Query, Bedrock) resend a request
//! that got no answer, with exponential backoff (250 ms, 500 ms, 1 s, 2 s, ...), within
//! that deadline, so one lost datagram does not fail a lookup.
//!
//! | module      | protocol | transport |
//! |-------------|----------|-----------|
//! | [`java`]    | Java Server List Ping (1.7+): handshake, status JSON, ping/pong | TCP |
//! | [`legacy`]  | legacy ping: beta `FE`, 1.4–1.5 `FE 01`, 1.6 `FE 01 FA` | TCP |
//! | [`query`]   | GameSpy4 Query: handshake, basic and full stat | UDP |
//! | [`bedrock`] | RakNet unconnected ping/pong with the `MCPE;` string | UDP |
//! | [`text`]    | MOTD (legacy `§` codes, chat components) to plain, ANSI, HTML | — |
//! | [`address`] | `host`, `host:port`, IPv4, `[IPv6]:port`, IDN; SRV ordering | — |
//!
//! # Hostile input
//! Every decoder bounds a length before it buffers or allocates, refuses trailing
//! bytes where a format has an end, and returns a typed [`DecodeError`] rather than
//! panicking, whatever the bytes.

#![deny(missing_docs)]

pub mod address;
pub mod bedrock;
pub mod codec;
pub mod java;
pub mod legacy;
pub mod query;
pub mod text;

#[cfg(feature = "tokio")]
pub mod net;

pub use codec::{DecodeError, VarInt, VarLong};
