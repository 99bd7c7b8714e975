#![no_main]
//! Stored history bytes (a head, raw / rollup / outage chunks, plain or sealed) never
//! make the decoders panic; a head that decodes encodes to bytes that decode to the
//! same head, and
//! adding a sample to it never panics either.

use mcstat_core::history::{HistoryConfig, SeriesHead, codec, prepare};
use mcstat_core::{HistorySample, Target, Timestamp};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(head) = SeriesHead::decode(rest) {
                assert_eq!(SeriesHead::decode(&head.encode()), Ok(head.clone()));
                let target: Target = "a.example".parse().expect("valid");
                let at = head.last.map_or(1, |p| p.at.saturating_add(60_000));
                let sample = HistorySample {
                    target,
                    at: Timestamp(at),
                    online: which & 0x10 != 0,
                    players: Some(u32::from(which)),
                    latency_ms: Some(20),
                    cause: None,
                };
                let _ = prepare(Some(rest), &[sample], &HistoryConfig::default());
            }
        }
        1 => {
            let _ = codec::decode_raw(rest, 0);
        }
        2 => {
            let _ = codec::decode_rollups(rest, 0, 300_000);
        }
        _ => {
            let _ = codec::decode_outages(rest, 0);
        }
    }
});
