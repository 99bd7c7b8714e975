//! `mcstat diagnose` end to end: our own responders (Java, legacy, Query, Bedrock),
//! closed and stalled ports, a blocklist file, and Debian's dnsmasq for the DNS
//! scenarios (SRV to a dead port, no SRV, IPv6 only, NXDOMAIN, a blocked name).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mc_protocol::bedrock::BedrockStatus;
use mc_protocol::java::HandshakeC2s;
use mc_protocol::legacy::{LegacyStatus, LegacyVersion};
use mc_protocol::net::bedrock::BedrockResponder;
use mc_protocol::net::java::{JavaResponder, JavaResponderHandle};
use mc_protocol::net::legacy::LegacyResponder;
use mc_protocol::net::query::QueryResponder;
use mc_protocol::query::{QueryFull, QueryPlugins};
use serde_json::Value;
use tokio::process::{Child, Command};

use super::{mcstat, stdout};

const STATUS: &str = r#"{"version":{"name":"Paper 1.21.4","protocol":769},"players":{"online":3,"max":20},"description":"§aDiagnose me"}"#;

async fn java_at(addr: SocketAddr) -> JavaResponderHandle {
    JavaResponder::bind(addr, |_: &HandshakeC2s| STATUS)
        .await
        .expect("bind java")
        .spawn()
}

/// A loopback port where nothing listens (TCP and UDP).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

fn query_stat() -> QueryFull {
    QueryFull {
        motd: "Diagnose me".into(),
        game_type: "SMP".into(),
        game_id: "MINECRAFT".into(),
        version: "1.21.4".into(),
        plugins: QueryPlugins::from_parts("Paper on 1.21.4", &[]),
        map: "world".into(),
        online: 3,
        max: 20,
        host_port: 25565,
        host_ip: "127.0.0.1".into(),
        players: vec!["Alex".into()],
        extra: Vec::new(),
    }
}

/// Runs `mcstat diagnose ARGS --json`: exit code and the report.
async fn diagnose(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["diagnose"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = mcstat(&all).await;
    let text = stdout(&out);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

/// The statuses of the steps named `name`, in order.
fn statuses(report: &Value, name: &str) -> Vec<String> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["name"] == name)
        .map(|s| s["status"].as_str().expect("status").to_owned())
        .collect()
}

fn detail(report: &Value, name: &str) -> String {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["name"] == name)
        .map(|s| s["detail"].as_str().expect("detail"))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn verdict(report: &Value) -> &str {
    report["verdict"].as_str().expect("verdict")
}

fn advice(report: &Value) -> String {
    report["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .map(|a| a.as_str().expect("advice line"))
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn java_server_up_with_query_off() {
    let java = java_at("127.0.0.1:0".parse().expect("addr")).await;
    let addr = java.local_addr().to_string();
    let no_bedrock = closed_port().to_string();
    let (code, r) = diagnose(&[&addr, "--bedrock-port", &no_bedrock]).await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["online"], true);
    assert_eq!(statuses(&r, "dns"), ["ok"]);
    assert_eq!(statuses(&r, "srv"), ["skipped"]);
    assert_eq!(statuses(&r, "tcp"), ["ok"]);
    assert_eq!(statuses(&r, "java"), ["ok"]);
    assert!(
        detail(&r, "java").contains("Paper 1.21.4 (protocol 769), 3/20 players, “Diagnose me”"),
        "{r}"
    );
    assert_eq!(statuses(&r, "query"), ["failed"]);
    assert_eq!(statuses(&r, "bedrock"), ["failed"]);
    assert_eq!(statuses(&r, "blocklist"), ["ok"]);
    assert!(
        detail(&r, "blocklist").contains("blocklist snapshot of 2026-"),
        "{r}"
    );
    assert!(
        detail(&r, "blocklist")
            .contains("--blocklist https://sessionserver.mojang.com/blockedservers"),
        "{r}"
    );
    assert!(
        verdict(&r).starts_with("the server answers Java status: it is up"),
        "{r}"
    );
    assert!(
        advice(&r).contains("Query is disabled: set enable-query=true"),
        "{r}"
    );
    for step in r["steps"].as_array().expect("steps") {
        assert!(step["millis"].is_u64(), "{step}");
    }

    // The same as text.
    let out = mcstat(&["diagnose", &addr, "--bedrock-port", &no_bedrock]).await;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("Diagnosing {addr}\n")), "{text}");
    assert!(text.contains("[ok  ] java"), "{text}");
    assert!(text.contains("[FAIL] query"), "{text}");
    assert!(text.contains("[skip] srv"), "{text}");
    assert!(
        text.contains("Verdict: the server answers Java status: it is up"),
        "{text}"
    );
    assert!(text.contains("  - Query is disabled"), "{text}");
}

#[tokio::test]
async fn query_on_the_game_port_and_bedrock_alongside() {
    // Java on TCP port P, Query on UDP port P (as a server with enable-query does).
    let java = java_at("127.0.0.1:0".parse().expect("addr")).await;
    let addr = java.local_addr();
    let query = QueryResponder::bind(addr, query_stat())
        .await
        .expect("bind query on the game port")
        .spawn();
    let bedrock = BedrockResponder::bind(
        "127.0.0.1:0".parse().expect("addr"),
        BedrockStatus::parse("MCPE;Geyser;671;1.20.80;3;20;1;Geyser;Survival;1;19132;19133;")
            .expect("bedrock status"),
    )
    .await
    .expect("bind bedrock")
    .spawn();
    let bedrock_port = bedrock.local_addr().port().to_string();
    let (code, r) = diagnose(&[&addr.to_string(), "--bedrock-port", &bedrock_port]).await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(statuses(&r, "query"), ["ok"], "{r}");
    assert!(detail(&r, "query").contains("Paper on 1.21.4"), "{r}");
    assert_eq!(statuses(&r, "bedrock"), ["ok"], "{r}");
    assert!(!advice(&r).contains("Query"), "{r}");
    drop(query);
}

#[tokio::test]
async fn only_the_legacy_ping_answers() {
    let legacy = LegacyResponder::bind(
        "127.0.0.1:0".parse().expect("addr"),
        LegacyStatus {
            version: Some(LegacyVersion {
                protocol: 78,
                name: "1.6.4".into(),
            }),
            motd: "Old times".into(),
            online: 1,
            max: 8,
        },
    )
    .await
    .expect("bind legacy")
    .spawn();
    let addr = legacy.local_addr().to_string();
    let (code, r) = diagnose(&[&addr, "--bedrock-port", &closed_port().to_string()]).await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(statuses(&r, "java"), ["failed"], "{r}");
    assert_eq!(statuses(&r, "legacy"), ["ok"], "{r}");
    assert!(detail(&r, "legacy").contains("1.6.4, 1/8 players"), "{r}");
    assert_eq!(
        verdict(&r),
        "only the legacy ping answers: a server older than 1.7 or a proxy"
    );
}

#[tokio::test]
async fn bedrock_only_server() {
    let bedrock = BedrockResponder::bind(
        "127.0.0.1:0".parse().expect("addr"),
        BedrockStatus::parse("MCPE;Bedrock world;671;1.20.80;0;10;1;World;Survival;1;19132;19133;")
            .expect("bedrock status"),
    )
    .await
    .expect("bind bedrock")
    .spawn();
    let port = bedrock.local_addr().port();

    // As a Bedrock address: only DNS, Bedrock and the blocklist run.
    let (code, r) = diagnose(&[&format!("bedrock:127.0.0.1:{port}")]).await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["address"], format!("bedrock:127.0.0.1:{port}"));
    assert_eq!(statuses(&r, "bedrock"), ["ok"], "{r}");
    assert!(
        detail(&r, "bedrock").contains("1.20.80 (protocol 671), 0/10 players"),
        "{r}"
    );
    for step in ["srv", "tcp", "java", "legacy", "query"] {
        assert_eq!(statuses(&r, step), ["skipped"], "{step}: {r}");
    }
    assert_eq!(
        verdict(&r),
        format!("the server answers Bedrock status on UDP port {port}: it is up")
    );

    // As a Java address: nothing on TCP, but Bedrock answers.
    let java_port = closed_port().to_string();
    let (code, r) = diagnose(&[
        &format!("127.0.0.1:{java_port}"),
        "--bedrock-port",
        &port.to_string(),
    ])
    .await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(statuses(&r, "tcp"), ["failed"], "{r}");
    assert_eq!(
        verdict(&r),
        format!("only Bedrock answers (UDP port {port}): this is a Bedrock server, not a Java one")
    );
    assert!(advice(&r).contains("mcstat bedrock"), "{r}");
}

#[tokio::test]
async fn nothing_listens() {
    let port = closed_port();
    let (code, r) = diagnose(&[
        &format!("127.0.0.1:{port}"),
        "--bedrock-port",
        &closed_port().to_string(),
    ])
    .await;
    assert_eq!(code, Some(2), "{r}");
    assert_eq!(r["online"], false);
    assert_eq!(statuses(&r, "tcp"), ["failed"]);
    assert!(detail(&r, "tcp").contains("connection refused"), "{r}");
    assert_eq!(statuses(&r, "java"), ["skipped"]);
    assert_eq!(
        verdict(&r),
        "connection refused on every address: the server is down or the port is wrong"
    );
}

#[tokio::test]
async fn a_stalled_server_cannot_hang_the_walk() {
    // Accepts TCP and never answers.
    let stall = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = stall.local_addr().expect("addr").to_string();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = stall.accept().await {
            held.push(s);
        }
    });
    let started = Instant::now();
    let (code, r) = diagnose(&[
        &addr,
        "--timeout",
        "1",
        "--bedrock-port",
        &closed_port().to_string(),
    ])
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(2), "{r}");
    assert_eq!(statuses(&r, "tcp"), ["ok"]);
    assert_eq!(statuses(&r, "java"), ["failed"]);
    assert!(detail(&r, "java").contains("no answer within"), "{r}");
    assert_eq!(
        verdict(&r),
        "the port accepts connections but does not answer as a Minecraft server"
    );
}

#[tokio::test]
async fn blocked_ip_from_a_list_file() {
    let java = java_at("127.0.0.1:0".parse().expect("addr")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("blocked.txt");
    // `printf '%s' '127.0.0.*' | sha1sum`
    std::fs::write(
        &list,
        "# test list\nffffffffffffffffffffffffffffffffffffffff\n426e28604fd685f5b41f557798f548e6357004d9\n",
    )
    .expect("write list");
    let list = list.to_str().expect("utf-8 path");
    let (code, r) = diagnose(&[
        &java.local_addr().to_string(),
        "--blocklist",
        list,
        "--bedrock-port",
        &closed_port().to_string(),
    ])
    .await;
    assert_eq!(code, Some(0), "the server still answers: {r}");
    assert_eq!(statuses(&r, "blocklist"), ["failed"], "{r}");
    assert!(
        detail(&r, "blocklist").contains("`127.0.0.*` is on the"),
        "{r}"
    );
    assert!(
        verdict(&r).ends_with("but the host is on Mojang's blocklist"),
        "{r}"
    );
    assert!(advice(&r).contains("host is on Mojang's blocklist"), "{r}");
    assert_eq!(r["blocklist"]["blocked"], true);
    assert_eq!(r["blocklist"]["match"]["candidate"], "127.0.0.*");
    assert_eq!(r["blocklist"]["source"], list);

    // A bad list is a bad command line.
    let out = mcstat(&["diagnose", "127.0.0.1", "--blocklist", "/no/such/list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/list"));
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "hello\n").expect("write");
    let out = mcstat(&[
        "diagnose",
        "127.0.0.1",
        "--blocklist",
        empty.to_str().expect("path"),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no SHA-1 hashes"));
    let out = mcstat(&["diagnose", "http://play.example.net"]).await;
    assert_eq!(out.status.code(), Some(1));
    let out = mcstat(&["diagnose", "127.0.0.1", "--dns", "nowhere"]).await;
    assert_eq!(out.status.code(), Some(1));
}

/// A running dnsmasq, killed when dropped.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
}

impl Dnsmasq {
    /// dnsmasq on a free loopback port answering `records` and nothing else under
    /// `mc.test`.
    async fn start(records: &[String]) -> Self {
        let port = (0..20)
            .find_map(|_| {
                let udp = UdpSocket::bind("127.0.0.1:0").ok()?;
                let port = udp.local_addr().ok()?.port();
                TcpListener::bind(("127.0.0.1", port)).ok().map(|_| port)
            })
            .expect("a free port for dnsmasq");
        let child = Command::new("dnsmasq")
            .arg("--no-daemon")
            .arg("--conf-file=/dev/null")
            .arg(format!("--port={port}"))
            .arg("--listen-address=127.0.0.1")
            .arg("--bind-interfaces")
            .arg("--no-resolv")
            .arg("--no-hosts")
            .arg("--pid-file=")
            .args(records)
            .arg("--address=/ready.mc.test/127.0.0.9")
            .arg("--local=/mc.test/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start dnsmasq ({e}): install it with `apt-get install dnsmasq`")
            });
        let dns = Self {
            child,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        };
        // Wait until it answers.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, r) = diagnose(&[
                "bedrock:ready.mc.test:1",
                "--dns",
                &dns.addr.to_string(),
                "--timeout",
                "0.5",
            ])
            .await;
            if statuses(&r, "dns") == ["ok"] {
                break;
            }
            assert!(Instant::now() < deadline, "dnsmasq did not answer: {r}");
        }
        dns
    }

    fn arg(&self) -> String {
        self.addr.to_string()
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[tokio::test]
async fn dns_scenarios() {
    let dead = closed_port();
    let java = java_at("127.0.0.1:0".parse().expect("addr")).await;
    let up = java.local_addr().port();
    let v6 = java_at("[::1]:0".parse().expect("addr")).await;
    let v6_port = v6.local_addr().port();
    // No SRV: the client uses port 25565; give this host its own loopback address so
    // that port 25565 there is ours.
    let pid = std::process::id();
    let plain_ip = Ipv4Addr::new(127, 77, ((pid >> 8) & 0xff) as u8, (pid & 0xfe) as u8 + 1);
    let plain = java_at(SocketAddr::new(IpAddr::V4(plain_ip), 25565)).await;
    let dns = Dnsmasq::start(&[
        format!("--srv-host=_minecraft._tcp.dead.mc.test,target.mc.test,{dead},0,5"),
        format!("--srv-host=_minecraft._tcp.up.mc.test,target.mc.test,{up},0,5"),
        "--host-record=target.mc.test,127.0.0.1".into(),
        format!("--host-record=plain.mc.test,{plain_ip}"),
        "--host-record=v6.mc.test,::1".into(),
        "--host-record=blocked.mc.test,127.0.0.1".into(),
        "--srv-host=_minecraft._tcp.none.mc.test".into(),
    ])
    .await;
    let server = dns.arg();
    let no_bedrock = closed_port().to_string();
    let run = |address: String, extra: Vec<String>| {
        let server = server.clone();
        let no_bedrock = no_bedrock.clone();
        async move {
            let mut args = vec![
                address,
                "--dns".into(),
                server,
                "--bedrock-port".into(),
                no_bedrock,
            ];
            args.extend(extra);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            diagnose(&args).await
        }
    };

    // SRV to a port where nothing listens.
    let (code, r) = run("dead.mc.test".into(), vec![]).await;
    assert_eq!(code, Some(2), "{r}");
    assert_eq!(statuses(&r, "srv"), ["ok"], "{r}");
    assert!(
        detail(&r, "srv").contains(&format!("→ target.mc.test:{dead}")),
        "{r}"
    );
    assert_eq!(statuses(&r, "srv-dns"), ["ok"], "{r}");
    assert_eq!(statuses(&r, "tcp"), ["failed"], "{r}");
    assert_eq!(
        verdict(&r),
        format!("SRV points to port {dead} but nothing listens there")
    );
    assert_eq!(
        statuses(&r, "dns"),
        ["failed"],
        "dead.mc.test itself has no address: {r}"
    );

    // SRV to a live server.
    let (code, r) = run("up.mc.test".into(), vec![]).await;
    assert_eq!(code, Some(0), "{r}");
    assert!(
        verdict(&r).contains(&format!("through SRV at target.mc.test:{up}")),
        "{r}"
    );

    // No SRV record: the host's own address on 25565.
    let (code, r) = run("plain.mc.test".into(), vec![]).await;
    assert_eq!(code, Some(0), "{r}");
    assert!(detail(&r, "srv").contains("no SRV record"), "{r}");
    assert!(
        detail(&r, "tcp").contains(&format!("{plain_ip}:25565 accepts")),
        "{r}"
    );
    assert!(
        verdict(&r).starts_with("the server answers Java status: it is up"),
        "{r}"
    );

    // SRV target ".": no service.
    let (code, r) = run("none.mc.test".into(), vec![]).await;
    assert_eq!(code, Some(2), "{r}");
    assert!(
        verdict(&r).starts_with("the SRV record says there is no Minecraft server"),
        "{r}"
    );

    // IPv6 only.
    let (code, r) = run(format!("v6.mc.test:{v6_port}"), vec![]).await;
    assert_eq!(code, Some(0), "{r}");
    assert!(detail(&r, "dns").contains("v6.mc.test: ::1"), "{r}");
    assert!(
        detail(&r, "tcp").contains(&format!("[::1]:{v6_port} accepts")),
        "{r}"
    );
    assert!(advice(&r).contains("only IPv6 (AAAA) addresses"), "{r}");

    // No such name.
    let (code, r) = run("missing.mc.test".into(), vec![]).await;
    assert_eq!(code, Some(2), "{r}");
    assert_eq!(
        verdict(&r),
        "missing.mc.test does not exist (NXDOMAIN): check the DNS name for typos"
    );

    // A blocked name: the list holds SHA-1("*.mc.test"), from `printf '%s' '*.mc.test' | sha1sum`.
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "9fedec1eb0210919642a44dcf45f7848d62b83a8\n").expect("write");
    let (code, r) = run(
        format!("blocked.mc.test:{up}"),
        vec!["--blocklist".into(), list.to_str().expect("path").into()],
    )
    .await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["blocklist"]["match"]["name"], "blocked.mc.test", "{r}");
    assert_eq!(r["blocklist"]["match"]["candidate"], "*.mc.test", "{r}");
    assert!(advice(&r).contains("host is on Mojang's blocklist"), "{r}");

    drop((java, v6, plain));
    dns.stop().await;
}

#[tokio::test]
async fn blocklist_from_a_url_and_a_failed_fetch() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    // A one-route HTTP server: the list holds SHA-1("127.0.0.*").
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind http");
    let url = format!("http://{}/blockedservers", http.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        while let Ok((mut s, _)) = http.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let body = "426e28604fd685f5b41f557798f548e6357004d9\n";
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    let port = closed_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let (code, r) = diagnose(&[&addr, "--blocklist", &url, "--bedrock-port", &port]).await;
    assert_eq!(code, Some(2), "{r}");
    assert_eq!(r["blocklist"]["source"], url.as_str(), "{r}");
    assert_eq!(r["blocklist"]["match"]["candidate"], "127.0.0.*", "{r}");
    assert!(!detail(&r, "blocklist").contains("live list"), "{r}");
    server.abort();

    // Nothing at the URL: the snapshot is used, and the detail says why.
    let dead = format!("http://127.0.0.1:{}/blockedservers", closed_port());
    let (_, r) = diagnose(&[&addr, "--blocklist", &dead, "--bedrock-port", &port]).await;
    assert_eq!(statuses(&r, "blocklist"), ["ok"], "{r}");
    let d = detail(&r, "blocklist");
    assert!(d.starts_with(&format!("cannot fetch {dead}")), "{d}");
    assert!(d.contains("blocklist snapshot of 2026-"), "{d}");
}
