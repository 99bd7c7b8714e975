#![no_main]
//! Legacy ping decoders on arbitrary bytes: requests (strict and incremental) and
//! the kick reply (whole, framed, and its status text). Where a decode succeeds,
//! encoding the value and decoding again gives the same value.

use mc_protocol::legacy::{LegacyKickS2c, LegacyPingC2s, LegacyStatus, MAX_REQUEST_LEN};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(request) = LegacyPingC2s::decode(data) {
        let mut wire = Vec::new();
        request.encode(&mut wire);
        assert_eq!(
            wire, data,
            "a strictly decoded request re-encodes to its bytes"
        );
        assert!(wire.len() <= MAX_REQUEST_LEN);
    }
    if let Ok(progress) = LegacyPingC2s::decode_partial(data) {
        let request = progress.into_request();
        let mut wire = Vec::new();
        request.encode(&mut wire);
        assert_eq!(
            LegacyPingC2s::decode(&wire).as_ref(),
            Ok(&request),
            "request round trip"
        );
    }

    let framed = LegacyKickS2c::decode_frame(data, data.len());
    if let Ok(kick) = LegacyKickS2c::decode(data) {
        assert_eq!(framed, Ok(Some((kick.clone(), data.len()))));
        let mut wire = Vec::new();
        kick.encode(&mut wire);
        assert_eq!(wire, data, "a kick re-encodes to its bytes");
        if let Ok(status) = kick.status() {
            let mut wire = Vec::new();
            LegacyKickS2c::from_status(&status).encode(&mut wire);
            let again = LegacyKickS2c::decode(&wire).and_then(|k| k.status());
            assert_eq!(again, Ok(status), "status round trip");
        }
    }

    // The status parser on any text, too.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(status) = LegacyStatus::from_kick_reason(text)
    {
        assert_eq!(
            LegacyStatus::from_kick_reason(&status.to_kick_reason()),
            Ok(status)
        );
    }
});
