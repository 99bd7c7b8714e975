//! A `redis-server` of the test's own on a free loopback port, killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) `redis-server` without persistence.
#[derive(Debug)]
pub(crate) struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

impl RedisServer {
    /// Start a server on a free port and wait until it answers.
    pub(crate) fn start() -> Self {
        // Another test may take the same "free" port between our probe and the
        // server's bind: then the server exits and we try another port.
        for _ in 0..5 {
            let mut server = Self::stopped(free_port());
            if server.try_spawn() {
                return server;
            }
        }
        panic!("redis-server could not bind a free loopback port in 5 attempts");
    }

    /// Start a server on `port` and wait until it answers.
    pub(crate) fn start_on(port: u16) -> Self {
        let mut server = Self::stopped(port);
        server.spawn();
        server
    }

    fn stopped(port: u16) -> Self {
        Self {
            port,
            child: None,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `redis://127.0.0.1:port/`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port.
    pub(crate) const fn port(&self) -> u16 {
        self.port
    }

    fn spawn(&mut self) {
        assert!(
            self.try_spawn(),
            "redis-server could not bind 127.0.0.1:{}",
            self.port
        );
    }

    /// Run redis-server on the port; `false` if it exited (port taken).
    fn try_spawn(&mut self) -> bool {
        assert!(self.child.is_none(), "the server is already running");
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install it with scripts/install-test-deps.sh"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        // Ready when the server on the port reports *our* child's pid (not another
        // test's server that happens to hold the port).
        while self.server_pid() != Some(child.id()) {
            if child.try_wait().ok().flatten().is_some() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        true
    }

    /// The `process_id` the server on the port reports in `INFO server`.
    fn server_pid(&self) -> Option<u32> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        s.write_all(b"INFO server\r\n").ok()?;
        let mut reply = Vec::new();
        let mut buf = [0; 4096];
        while reply.len() < 64 * 1024 {
            let n = s.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&reply);
            if let Some(rest) = text.split("process_id:").nth(1)
                && let Some((pid, _)) = rest.split_once("\r\n")
            {
                return pid.parse().ok();
            }
        }
        None
    }

    /// Kill the server with SIGKILL (its data is gone: no persistence).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start the server again on the same port.
    pub(crate) fn restart(&mut self) {
        self.spawn();
    }

    /// Freeze the server (SIGSTOP): connections stay open, nothing answers.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaw a paused server (SIGCONT).
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }
}

impl Drop for RedisServer {
    /// SIGKILL also ends a paused server.
    fn drop(&mut self) {
        self.kill();
    }
}

/// Redis Cluster's slot of a key (CRC16/XMODEM of its hash tag, mod 16384).
pub(crate) fn key_slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let tagged = bytes.iter().position(|&b| b == b'{').and_then(|open| {
        let close = bytes[open + 1..].iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &bytes[open + 1..open + 1 + close])
    });
    let mut crc: u16 = 0;
    for &b in tagged.unwrap_or(bytes) {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16_384
}

#[test]
fn the_slot_function_matches_redis_cluster() {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
    assert_eq!(key_slot("123456789"), 12_739);
    assert_eq!(key_slot("foo"), 12_182);
    assert_eq!(key_slot("{user1000}.following"), key_slot("user1000"));
}
