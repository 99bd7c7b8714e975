#![no_main]
//! MOTD text: legacy `§` parsing under both palettes and chat components from
//! arbitrary JSON bytes; every renderer runs; nothing may panic, output stays
//! bounded, and Java legacy text round-trips.

use mc_protocol::text::{AnsiColors, Motd, Palette};

fn render_all(m: &Motd, java_colours_only: bool) {
    let plain = m.to_plain();
    let _ = m.to_ansi();
    let _ = m.to_ansi_with(AnsiColors::Ansi16);
    let html = m.to_html();
    assert!(!html.contains("<script"));
    let _ = m.to_legacy(Palette::Bedrock);
    // Bedrock material colours become `§x` hex in Java legacy text, so only
    // Java-palette MOTDs round-trip exactly.
    if java_colours_only && !plain.contains('§') {
        let legacy = m.to_legacy(Palette::Java);
        assert_eq!(&Motd::from_legacy(&legacy, Palette::Java), m);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for palette in [Palette::Java, Palette::Bedrock] {
            let m = Motd::from_legacy(s, palette);
            assert!(!m.to_plain().contains('§'));
            render_all(&m, palette == Palette::Java);
        }
        if let Ok(m) = Motd::from_component_str(s) {
            assert!(m.to_plain().len() <= Motd::MAX_TEXT_LEN);
            render_all(&m, true);
        }
    }
});
