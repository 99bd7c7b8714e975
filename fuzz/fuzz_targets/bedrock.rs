#![no_main]
//! Bedrock decoders on arbitrary bytes: the unconnected ping, the pong and its server
//! info string. Where a decode succeeds, encoding the value and decoding again gives
//! the same value.

use mc_protocol::bedrock::{BedrockStatus, UnconnectedPingC2s, UnconnectedPongS2c};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(ping) = UnconnectedPingC2s::decode(data) {
        let mut wire = Vec::new();
        ping.encode(&mut wire);
        assert_eq!(wire, data, "a ping re-encodes to its bytes");
    }
    if let Ok(pong) = UnconnectedPongS2c::decode(data) {
        let mut wire = Vec::new();
        pong.encode(&mut wire);
        assert_eq!(wire, data, "a pong re-encodes to its bytes");
        check_status(&pong.info);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_status(text);
    }
});

fn check_status(info: &str) {
    if let Ok(status) = BedrockStatus::parse(info) {
        let again = BedrockStatus::parse(&status.to_info_string());
        assert_eq!(again, Ok(status), "status round trip");
    }
}
