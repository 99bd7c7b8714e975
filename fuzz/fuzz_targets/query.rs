#![no_main]
//! Every Query decoder on arbitrary bytes; where one succeeds, encoding the value and
//! decoding it again gives the same value.

use mc_protocol::query::{BasicStatS2c, FullStatS2c, HandshakeS2c, QueryRequestC2s};

fn again<T>(value: &T, encode: impl Fn(&T, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(request) = QueryRequestC2s::decode(data) {
        assert_eq!(QueryRequestC2s::decode(&request.to_bytes()), Ok(request));
    }
    if let Ok(answer) = HandshakeS2c::decode(data) {
        let bytes = again(&answer, HandshakeS2c::encode);
        assert_eq!(HandshakeS2c::decode(&bytes), Ok(answer));
    }
    if let Ok(answer) = BasicStatS2c::decode(data) {
        let bytes = again(&answer, BasicStatS2c::encode);
        assert_eq!(BasicStatS2c::decode(&bytes), Ok(answer));
    }
    if let Ok(answer) = FullStatS2c::decode(data) {
        let bytes = again(&answer, FullStatS2c::encode);
        assert_eq!(FullStatS2c::decode(&bytes), Ok(answer));
    }
});
