#![no_main]
//! Java Server List Ping: the same bytes go to the incremental frame decoder (split
//! into chunks), every packet decoder, the status client state machine, the status
//! JSON parser and Forge's packed-data decoders. No input may panic; wherever a
//! decode succeeds, encoding the value and decoding it again must give it back.

use libfuzzer_sys::fuzz_target;
use mc_protocol::java::forge::{PackedForgeData, decode_optimized, encode_optimized};
use mc_protocol::java::frame::decode_frame;
use mc_protocol::java::status::decode_favicon;
use mc_protocol::java::{
    FrameDecoder, HandshakeC2s, JavaStatus, Packet, PingRequestC2s, PongResponseS2c, StatusClient,
    StatusRequestC2s, StatusResponseS2c,
};

const MAX_FRAME: usize = 64 * 1024;

fn round_trip<P: Packet + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(p) = P::decode(bytes) {
        assert_eq!(P::decode(&p.to_frame_bytes()).as_ref(), Ok(&p));
    }
}

fn frames(data: &[u8]) {
    let chunk = data.first().map_or(1, |&b| usize::from(b % 16) + 1);
    let mut decoder = FrameDecoder::with_max_frame(MAX_FRAME);
    let mut client = StatusClient::new(-1, "fuzz", 25565, MAX_FRAME);
    let mut client_alive = true;
    for part in data.chunks(chunk) {
        decoder.queue_bytes(part);
        if client_alive {
            client_alive = client.handle_bytes(part).is_ok();
            if client.poll_status().is_some() {
                let _ = client.send_ping(0);
            }
        }
        loop {
            match decoder.try_next_frame() {
                Ok(Some(frame)) => {
                    let mut wire = Vec::new();
                    frame.encode(&mut wire);
                    assert_eq!(decode_frame(&wire, MAX_FRAME).as_ref(), Ok(&frame));
                    let _ = HandshakeC2s::from_frame(&frame);
                    let _ = StatusResponseS2c::from_frame(&frame);
                    let _ = PongResponseS2c::from_frame(&frame);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

fn status_json(text: &str) {
    let Ok(status) = JavaStatus::from_json(text) else {
        return;
    };
    assert_eq!(
        JavaStatus::from_json(&status.to_json()).as_ref(),
        Ok(&status)
    );
    let _ = status.mods();
    let _ = status.favicon_png();
    if let Some(Ok(packed)) = status.forge_data().and_then(|f| f.decode_packed()) {
        assert_eq!(
            PackedForgeData::decode_str(&packed.encode_str()),
            Ok(packed)
        );
    }
}

fn forge(data: &[u8]) {
    if let Ok(packed) = PackedForgeData::decode_bytes(data) {
        assert_eq!(
            PackedForgeData::decode_bytes(&packed.encode_bytes()).as_ref(),
            Ok(&packed)
        );
    }
    assert_eq!(
        decode_optimized(&encode_optimized(data)).as_deref(),
        Ok(data)
    );
}

fuzz_target!(|data: &[u8]| {
    frames(data);
    round_trip::<HandshakeC2s>(data);
    round_trip::<StatusRequestC2s>(data);
    round_trip::<StatusResponseS2c>(data);
    round_trip::<PingRequestC2s>(data);
    round_trip::<PongResponseS2c>(data);
    forge(data);
    if let Ok(text) = std::str::from_utf8(data) {
        status_json(text);
        let _ = PackedForgeData::decode_str(text);
        let _ = decode_favicon(text);
    }
});
