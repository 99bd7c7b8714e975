//! Helpers shared by the interop tests: where the independent peers are installed,
//! spawning a peer server and waiting until it listens, running a peer client.
//!
//! `scripts/test.sh` installs the peers and sets `MCSTAT_NODE_MODULES` and
//! `MCSTAT_PYTHON`; a test that needs one and does not find it fails with a message
//! saying how to get it (it never skips silently).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `tests/peers/` in the source tree: the peer scripts.
pub(crate) fn peers_dir() -> PathBuf {
    // This file is shared by test binaries of several packages: find the workspace's
    // `tests/peers` from whichever package compiled it.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("tests/peers"))
        .find(|dir| dir.join("package.json").is_file())
        .unwrap_or_else(|| panic!("no tests/peers above {}", manifest.display()))
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test.sh, which installs the peers")
    })
}

/// The `node_modules` holding the pinned npm peers.
pub(crate) fn node_modules() -> String {
    required_env("MCSTAT_NODE_MODULES")
}

/// The Python interpreter of the venv holding mcstatus.
pub(crate) fn python() -> String {
    required_env("MCSTAT_PYTHON")
}

/// A running peer server, killed when dropped.
#[derive(Debug)]
pub(crate) struct Peer {
    child: Child,
    /// The port the peer printed when it started listening.
    pub(crate) port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Starts `node tests/peers/<script> <args...>` and waits (up to 30 s) for it to print
/// a line `LISTENING <port>` on stdout. Other stdout lines are echoed to stderr.
pub(crate) async fn spawn_node_peer(script: &str, args: &[&str]) -> Peer {
    let mut child = Command::new("node")
        .arg(peers_dir().join(script))
        .args(args)
        .env("NODE_PATH", node_modules())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {script}: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read peer stdout") {
            if let Some(p) = line.strip_prefix("LISTENING ") {
                return p.trim().parse::<u16>().expect("port");
            }
            eprintln!("[{script}] {line}");
        }
        panic!("{script} exited before listening");
    })
    .await
    .unwrap_or_else(|_| panic!("{script} did not start listening within 30 s"));
    // Keep draining stdout so the peer never blocks on a full pipe.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[peer] {line}");
        }
    });
    Peer { child, port }
}

/// The output of a peer client run to completion.
#[derive(Debug)]
pub(crate) struct Output {
    /// Exit status was success.
    pub(crate) success: bool,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

async fn run(mut cmd: Command, what: &str) -> Output {
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 60 s"))
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `node tests/peers/<script> <args...>` to completion.
pub(crate) async fn run_node(script: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("node");
    cmd.arg(peers_dir().join(script))
        .args(args)
        .env("NODE_PATH", node_modules());
    run(cmd, script).await
}

/// Runs the venv's `python <args...>` (e.g. `-m mcstatus HOST:PORT json`).
pub(crate) async fn run_python(args: &[&str]) -> Output {
    let mut cmd = Command::new(python());
    cmd.args(args);
    run(cmd, "python").await
}

/// Runs any program to completion (e.g. `quakestat`).
pub(crate) async fn run_program(program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run(cmd, program).await
}
