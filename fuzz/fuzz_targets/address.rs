#![no_main]
//! Address parsing on arbitrary strings: never panics, and whatever parses prints
//! in a canonical form that parses back to the same value.

use mc_protocol::address::ServerAddress;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(addr) = s.parse::<ServerAddress>() {
        let shown = addr.to_string();
        assert_eq!(shown.parse::<ServerAddress>(), Ok(addr));
    }
});
