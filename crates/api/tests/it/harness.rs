//! The API started in-process on port 0 over a fresh file store, with loopback
//! targets allowed, and a small HTTP/1.1 client.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mcstat_api::ApiConfig;
use mcstat_core::policy::IpNet;
use mcstat_service::ServiceConfig;
use mcstat_service::backend::Backend;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running API, stopped when dropped.
#[derive(Debug)]
pub(crate) struct TestApi {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Shared settings with 127.0.0.0/8 allowed and a short lookup deadline.
pub(crate) fn service_config(dir: &tempfile::TempDir, lookup_timeout_ms: u64) -> ServiceConfig {
    ServiceConfig {
        store_path: dir.path().join("mcstat.redb"),
        allow_networks: vec![IpNet::new(IpAddr::from([127, 0, 0, 0]), 8)],
        lookup_timeout_ms,
        ..ServiceConfig::default()
    }
}

impl TestApi {
    /// Start with the default API settings but no per-IP limit.
    pub(crate) async fn start() -> Self {
        Self::with(ApiConfig {
            api_rate_per_minute: 0,
            ..ApiConfig::default()
        })
        .await
    }

    /// Start with `api` settings.
    pub(crate) async fn with(api: ApiConfig) -> Self {
        Self::with_timeout(api, 3000).await
    }

    /// Start with `api` settings and a lookup deadline.
    pub(crate) async fn with_timeout(api: ApiConfig, lookup_timeout_ms: u64) -> Self {
        Self::start_with(api, lookup_timeout_ms, &[]).await
    }

    /// Start without a per-IP limit over a store that already holds `samples` (as
    /// the watch scheduler records them).
    pub(crate) async fn with_history(samples: &[mcstat_core::HistorySample]) -> Self {
        Self::start_with(
            ApiConfig {
                api_rate_per_minute: 0,
                ..ApiConfig::default()
            },
            3000,
            samples,
        )
        .await
    }

    async fn start_with(
        api: ApiConfig,
        lookup_timeout_ms: u64,
        samples: &[mcstat_core::HistorySample],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let service = service_config(&dir, lookup_timeout_ms);
        let metrics = mcstat_service::ops::install_metrics().expect("metrics recorder");
        let backend = Backend::build(&service).await.expect("backend");
        if !samples.is_empty() {
            backend
                .history
                .append_samples(samples)
                .await
                .expect("history stored");
        }
        let lookups = mcstat_api::lookup_service(&backend, &service);
        let watches = backend.watch_service(&service);
        let router = mcstat_api::app(lookups, watches, &backend, &api, metrics);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(mcstat_api::serve(listener, router, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            _dir: dir,
        }
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[]).await
    }

    /// `GET path` with extra headers.
    pub(crate) async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        request(self.addr, "GET", path, headers).await
    }
}

/// An HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as a problem: checks the media type and the RFC 9457 members.
    pub(crate) fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let p = self.json();
        assert_eq!(p["code"], code, "{p}");
        assert_eq!(p["status"], status, "{p}");
        assert_eq!(
            p["type"],
            format!("urn:mcstat:problem:{code}").as_str(),
            "{p}"
        );
        assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
        assert_eq!(
            p["request_id"].as_str(),
            self.header("x-request-id"),
            "the problem names the request id of the header"
        );
        p
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("response within 30 s")
        .expect("read");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&raw[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size = usize::from_str_radix(
            std::str::from_utf8(&b[..line_end])
                .expect("hex")
                .split(';')
                .next()
                .expect("size"),
            16,
        )
        .expect("chunk size");
        b = &b[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// A 1×1 PNG.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50,
    0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// `data:image/png;base64,...` for the peer's `favicon` option.
pub(crate) fn favicon_data_url(png: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
pub(crate) async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

/// The Java peer with a MOTD with colours, 3 of 20 players, a sample and an icon.
pub(crate) async fn java_peer() -> crate::support::Peer {
    let config = serde_json::json!({
        "version": "1.20.4",
        "motd": "§aGreen §lbold <tag>",
        "maxPlayers": 20,
        "online": 3,
        "sample": [
            {"name": "Alex", "id": "ec561538-f3fd-461d-aff5-086b22154bce"},
            {"name": "Steve", "id": "8667ba71-b85a-4004-af54-457a9734eed7"}
        ],
        "favicon": favicon_data_url(PNG),
    });
    crate::support::spawn_node_peer("java-server.js", &[&config.to_string()]).await
}
