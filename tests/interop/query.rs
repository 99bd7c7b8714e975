//! Query interop: independent clients (PyPI mcstatus, npm minecraft-server-util,
//! Debian qstat) against OUR `QueryResponder`.
//!
//! No independent Query *server* exists on the registries, so our Query client is
//! checked against our responder and the hex vectors in `mc_protocol::query` instead.

use std::net::SocketAddr;

use mc_protocol::net::query::{QueryResponder, QueryResponderHandle};
use mc_protocol::query::{QueryFull, QueryPlugins};

use crate::support::{run_node, run_program, run_python};

fn sample() -> QueryFull {
    QueryFull {
        motd: "mcstat Query interop".into(),
        game_type: "SMP".into(),
        game_id: "MINECRAFT".into(),
        version: "1.21.4".into(),
        plugins: QueryPlugins::from_parts("Paper on 1.21.4", &["WorldEdit 7.3.9", "LuckPerms 5.4"]),
        map: "interop_world".into(),
        online: 3,
        max: 42,
        host_port: 25599,
        host_ip: "127.0.0.1".into(),
        players: vec!["Notch".into(), "jeb_".into(), "Dinnerbone".into()],
        extra: vec![],
    }
}

async fn responder(stat: QueryFull) -> (QueryResponderHandle, u16) {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let responder = QueryResponder::bind(addr, stat).await.expect("bind");
    let port = responder.local_addr().expect("local addr").port();
    (responder.spawn(), port)
}

/// Removes ANSI SGR sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn mcstatus_query_reads_our_responder() {
    let (_handle, port) = responder(sample()).await;
    let target = format!("127.0.0.1:{port}");
    let out = run_python(&["-m", "mcstatus", &target, "query"]).await;
    assert!(
        out.success,
        "mcstatus failed: {}\n{}",
        out.stdout, out.stderr
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    let line = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{}", out.stdout))
            .trim()
            .to_owned()
    };
    assert_eq!(line("host:"), "127.0.0.1:25599");
    // The CLI wraps the MOTD in ANSI resets.
    assert_eq!(strip_ansi(&line("motd:")), "mcstat Query interop");
    let software = line("software:");
    assert!(software.contains("1.21.4"), "{software}");
    assert!(software.contains("Paper on 1.21.4"), "{software}");
    assert_eq!(line("plugins:"), "['WorldEdit 7.3.9', 'LuckPerms 5.4']");
    assert_eq!(line("players:"), "3/42 ['Notch', 'jeb_', 'Dinnerbone']");
}

#[tokio::test]
async fn mcstatus_reads_a_motd_with_nul_bytes() {
    let stat = QueryFull {
        motd: "before\0after".into(),
        ..sample()
    };
    let (_handle, port) = responder(stat).await;
    let target = format!("127.0.0.1:{port}");
    let out = run_python(&[
        "-c",
        "import sys; from mcstatus import JavaServer; \
         r = JavaServer.lookup(sys.argv[1]).query(); \
         print(repr(r.raw['hostname'])); print(r.map_name); print(r.players.list)",
        &target,
    ])
    .await;
    assert!(
        out.success,
        "mcstatus failed: {}\n{}",
        out.stdout, out.stderr
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "'before\\x00after'",
            "interop_world",
            "['Notch', 'jeb_', 'Dinnerbone']"
        ]
    );
}

fn node_json(stdout: &str) -> serde_json::Value {
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn minecraft_server_util_query_full_reads_our_responder() {
    let (_handle, port) = responder(sample()).await;
    let port = port.to_string();
    let out = run_node("util-query-client.js", &["127.0.0.1", &port, "full"]).await;
    assert!(
        out.success,
        "queryFull failed: {}\n{}",
        out.stdout, out.stderr
    );
    let v = node_json(&out.stdout);
    assert_eq!(v["motd"]["clean"], "mcstat Query interop", "{v}");
    assert_eq!(v["version"], "1.21.4");
    assert_eq!(v["software"], "Paper on 1.21.4");
    assert_eq!(
        v["plugins"],
        serde_json::json!(["WorldEdit 7.3.9", "LuckPerms 5.4"])
    );
    assert_eq!(v["map"], "interop_world");
    assert_eq!(v["players"]["online"], 3);
    assert_eq!(v["players"]["max"], 42);
    assert_eq!(
        v["players"]["list"],
        serde_json::json!(["Notch", "jeb_", "Dinnerbone"])
    );
    assert_eq!(v["hostIP"], "127.0.0.1");
    assert_eq!(v["hostPort"], 25599);
}

#[tokio::test]
async fn minecraft_server_util_query_basic_reads_our_responder() {
    let (_handle, port) = responder(sample()).await;
    let port = port.to_string();
    let out = run_node("util-query-client.js", &["127.0.0.1", &port, "basic"]).await;
    assert!(
        out.success,
        "queryBasic failed: {}\n{}",
        out.stdout, out.stderr
    );
    let v = node_json(&out.stdout);
    assert_eq!(v["motd"]["clean"], "mcstat Query interop", "{v}");
    assert_eq!(v["gameType"], "SMP");
    assert_eq!(v["map"], "interop_world");
    assert_eq!(v["players"]["online"], 3);
    assert_eq!(v["players"]["max"], 42);
    assert_eq!(v["hostPort"], 25599);
    assert_eq!(v["hostIP"], "127.0.0.1");
}

#[tokio::test]
async fn qstat_gs4_reads_our_responder() {
    let (_handle, port) = responder(sample()).await;
    let target = format!("127.0.0.1:{port}");
    let out = run_program("quakestat", &["-gs4", &target, "-P", "-R", "-json"]).await;
    assert!(
        out.success,
        "quakestat failed: {}\n{}",
        out.stdout, out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout));
    let server = &v[0];
    assert_eq!(server["status"], "online", "{v}");
    assert_eq!(server["name"], "mcstat Query interop", "{v}");
    assert_eq!(server["map"], "interop_world", "{v}");
    assert_eq!(server["numplayers"], 3, "{v}");
    assert_eq!(server["maxplayers"], 42, "{v}");
    // qstat lists the players in reverse order.
    let mut names: Vec<&str> = server["players"]
        .as_array()
        .unwrap_or_else(|| panic!("no players in {v}"))
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    names.reverse();
    assert_eq!(names, ["Notch", "jeb_", "Dinnerbone"], "{v}");
    let rules = &server["rules"];
    assert_eq!(rules["version"], "1.21.4", "{v}");
    assert_eq!(rules["game_id"], "MINECRAFT", "{v}");
    assert_eq!(
        rules["plugins"], "Paper on 1.21.4: WorldEdit 7.3.9; LuckPerms 5.4",
        "{v}"
    );
}
