//! Micro benchmarks of every codec, on realistic messages: decode and encode.
//!
//! Run: `cargo bench -p mc-protocol --bench codecs` (add `-- --quick` for a short run,
//! or a name filter such as `-- forge`). Results: BENCHMARKS.md at the repository root.
//!
//! The messages:
//! - a vanilla 1.20.4 status (chat-component MOTD, 12-player sample, 6 KiB favicon);
//! - a Forge 1.16 status with 200 mods and 200 channels in `forgeData` and a 40 KiB
//!   base64 favicon (what a large modpack sends);
//! - a Query full stat with 100 players and 20 plugins;
//! - a Bedrock pong from a vanilla dedicated server;
//! - a 1.6-style legacy kick.
//!
//! Inputs are built deterministically here (no files), so the figures are comparable
//! between runs and machines.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mc_protocol::bedrock::{BedrockStatus, Edition, UnconnectedPingC2s, UnconnectedPongS2c};
use mc_protocol::java::status::favicon_data_url;
use mc_protocol::java::{
    ForgeData, FrameDecoder, JavaPlayers, JavaStatus, JavaVersion, Lenient, Packet, PlayerSample,
    StatusResponseS2c,
};
use mc_protocol::legacy::{LegacyKickS2c, LegacyStatus, LegacyVersion};
use mc_protocol::query::{FullStatS2c, QueryFull, QueryPlugins, SessionId};
use serde_json::json;

/// Deterministic filler bytes (a PNG's compressed body looks random too).
fn pseudo_random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 56) as u8
        })
        .collect()
}

fn sample(i: usize) -> PlayerSample {
    PlayerSample {
        name: format!("Player_{i:03}"),
        id: format!("8667ba71-b85a-4004-af54-457a9734e{i:03}"),
    }
}

fn vanilla_status() -> JavaStatus {
    JavaStatus {
        version: Some(JavaVersion {
            name: "1.20.4".into(),
            protocol: 765,
        }),
        players: Some(JavaPlayers {
            max: 100,
            online: 37,
            sample: Some((0..12).map(sample).collect()),
        }),
        description: json!({
            "text": "",
            "extra": [
                {"text": "A Minecraft Server", "color": "gold", "bold": true},
                {"text": "\nsurvival · economy · 1.20.4", "color": "gray"}
            ]
        }),
        // A 64×64 PNG is typically 4–8 KiB.
        favicon: Some(favicon_data_url(&pseudo_random_bytes(4500, 1))),
        enforces_secure_chat: Some(true),
        ..JavaStatus::default()
    }
}

fn forge_status() -> JavaStatus {
    let mods: Vec<_> = (0..200)
        .map(|i| json!({"modId": format!("examplemod{i}"), "modmarker": format!("1.{i}.3")}))
        .collect();
    let channels: Vec<_> = (0..200)
        .map(|i| {
            json!({"res": format!("examplemod{i}:main"), "version": "1", "required": i % 3 == 0})
        })
        .collect();
    let forge: ForgeData = serde_json::from_value(json!({
        "channels": channels,
        "mods": mods,
        "fmlNetworkVersion": 2
    }))
    .expect("valid forgeData");
    JavaStatus {
        version: Some(JavaVersion {
            name: "1.16.5".into(),
            protocol: 754,
        }),
        players: Some(JavaPlayers {
            max: 50,
            online: 4,
            sample: Some((0..4).map(sample).collect()),
        }),
        description: json!({"text": "§6All the Mods 6 §7— §a200 mods"}),
        // 30 KiB of PNG: 40 KiB of base64.
        favicon: Some(favicon_data_url(&pseudo_random_bytes(30 * 1024, 2))),
        forge_data: Some(Lenient::Parsed(forge)),
        ..JavaStatus::default()
    }
}

fn query_full() -> QueryFull {
    let plugins: Vec<String> = (0..20).map(|i| format!("Plugin{i} 2.{i}.0")).collect();
    let plugin_refs: Vec<&str> = plugins.iter().map(String::as_str).collect();
    QueryFull {
        motd: "§aA Paper server §7with Query".into(),
        game_type: "SMP".into(),
        game_id: "MINECRAFT".into(),
        version: "1.21.4".into(),
        plugins: QueryPlugins::from_parts("Paper on 1.21.4-R0.1-SNAPSHOT", &plugin_refs),
        map: "world".into(),
        online: 100,
        max: 200,
        host_port: 25565,
        host_ip: "0.0.0.0".into(),
        players: (0..100).map(|i| format!("Player_{i:03}")).collect(),
        extra: Vec::new(),
    }
}

fn bedrock_status() -> BedrockStatus {
    BedrockStatus {
        edition: Edition::Mcpe,
        motd: "Dedicated Server".into(),
        protocol: 766,
        version: "1.21.50".into(),
        online: 3,
        max: 10,
        server_id: Some("13253860892328930865".into()),
        sub_motd: Some("Bedrock level".into()),
        game_mode: Some("Survival".into()),
        game_mode_numeric: Some(1),
        port_v4: Some(19132),
        port_v6: Some(19133),
        extra: Vec::new(),
    }
}

fn legacy_status() -> LegacyStatus {
    LegacyStatus {
        version: Some(LegacyVersion {
            protocol: 78,
            name: "1.6.4".into(),
        }),
        motd: "§eA Minecraft Server §7(legacy)".into(),
        online: 7,
        max: 20,
    }
}

/// Decoding a status frame the way the client does: split the frame off the byte
/// stream, decode the packet, parse the JSON.
fn decode_status_frame(frame: &[u8]) -> JavaStatus {
    let mut decoder = FrameDecoder::new();
    decoder.queue_bytes(frame);
    let frame = decoder
        .try_next_frame()
        .expect("valid frame")
        .expect("whole frame");
    let response = StatusResponseS2c::from_frame(&frame).expect("status response");
    JavaStatus::from_json(&response.json).expect("valid status")
}

fn encode_status_frame(status: &JavaStatus) -> Vec<u8> {
    StatusResponseS2c {
        json: status.to_json(),
    }
    .to_frame_bytes()
}

fn java(c: &mut Criterion) {
    let mut group = c.benchmark_group("java_status");
    for (name, status) in [
        ("vanilla", vanilla_status()),
        ("forge_200_mods", forge_status()),
    ] {
        let frame = encode_status_frame(&status);
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_with_input(BenchmarkId::new("decode", name), &frame, |b, frame| {
            b.iter(|| decode_status_frame(black_box(frame)));
        });
        group.bench_with_input(BenchmarkId::new("encode", name), &status, |b, status| {
            b.iter(|| encode_status_frame(black_box(status)));
        });
    }
    // What a caller does with a Forge status after decoding it: the unified mod list.
    let forge = forge_status();
    group.bench_function("mods/forge_200_mods", |b| {
        b.iter(|| black_box(&forge).mods())
    });
    group.finish();
}

fn query(c: &mut Criterion) {
    let mut group = c.benchmark_group("query_full_stat");
    let answer = FullStatS2c {
        session_id: SessionId::masked(0x0102_0304),
        stat: query_full(),
    };
    let mut bytes = Vec::new();
    answer.encode(&mut bytes);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode/100_players", |b| {
        b.iter(|| FullStatS2c::decode(black_box(&bytes)).expect("valid full stat"));
    });
    group.bench_function("encode/100_players", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            black_box(&answer).encode(&mut out);
            out
        });
    });
    group.finish();
}

fn bedrock(c: &mut Criterion) {
    let mut group = c.benchmark_group("bedrock_pong");
    let ping = UnconnectedPingC2s {
        time: 1_700_000_000_000,
        client_guid: 42,
        open_connections_only: false,
    };
    let status = bedrock_status();
    let pong = UnconnectedPongS2c::answer(&ping, 0x1234_5678_9abc_def0, &status);
    let mut bytes = Vec::new();
    pong.encode(&mut bytes);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            UnconnectedPongS2c::decode(black_box(&bytes))
                .and_then(|p| p.status())
                .expect("valid pong")
        });
    });
    group.bench_function("encode", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            UnconnectedPongS2c::answer(&ping, 0x1234_5678_9abc_def0, black_box(&status))
                .encode(&mut out);
            out
        });
    });
    group.finish();
}

fn legacy(c: &mut Criterion) {
    let mut group = c.benchmark_group("legacy_kick");
    let status = legacy_status();
    let mut bytes = Vec::new();
    LegacyKickS2c::from_status(&status).encode(&mut bytes);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            LegacyKickS2c::decode(black_box(&bytes))
                .and_then(|k| k.status())
                .expect("valid kick")
        });
    });
    group.bench_function("encode", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            LegacyKickS2c::from_status(black_box(&status)).encode(&mut out);
            out
        });
    });
    group.finish();
}

criterion_group!(benches, java, query, bedrock, legacy);
criterion_main!(benches);
