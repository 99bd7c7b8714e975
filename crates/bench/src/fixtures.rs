//! What the local peers serve: the same realistic messages for every tool.

use mc_protocol::bedrock::{BedrockStatus, Edition};
use mc_protocol::java::status::favicon_data_url;
use mc_protocol::java::{JavaPlayers, JavaStatus, JavaVersion, PlayerSample};
use mc_protocol::query::{QueryFull, QueryPlugins};
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

/// A vanilla 1.20.4 status: chat-component MOTD, 12-player sample, a 4.4 KiB icon
/// (6 KiB of base64). About 7 KiB on the wire, as a typical public server.
pub(crate) fn java_status() -> JavaStatus {
    JavaStatus {
        version: Some(JavaVersion {
            name: "1.20.4".into(),
            protocol: 765,
        }),
        players: Some(JavaPlayers {
            max: 100,
            online: 37,
            sample: Some(
                (0..12)
                    .map(|i| PlayerSample {
                        name: format!("Player_{i:03}"),
                        id: format!("8667ba71-b85a-4004-af54-457a9734e{i:03}"),
                    })
                    .collect(),
            ),
        }),
        description: json!({
            "text": "",
            "extra": [
                {"text": "A Minecraft Server", "color": "gold", "bold": true},
                {"text": "\nsurvival · economy · 1.20.4", "color": "gray"}
            ]
        }),
        favicon: Some(favicon_data_url(&pseudo_random_bytes(4500, 1))),
        enforces_secure_chat: Some(true),
        ..JavaStatus::default()
    }
}

/// A Paper server's full stat: 100 players, 20 plugins.
pub(crate) fn query_full() -> QueryFull {
    let plugins: Vec<String> = (0..20).map(|i| format!("Plugin{i} 2.{i}.0")).collect();
    let plugin_refs: Vec<&str> = plugins.iter().map(String::as_str).collect();
    QueryFull {
        motd: "A Paper server with Query".into(),
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

/// A vanilla dedicated Bedrock server's pong.
pub(crate) fn bedrock_status() -> BedrockStatus {
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
