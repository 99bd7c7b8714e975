//! `mcstat-bench serve`: the local peers, in their own process so that the client
//! being measured never shares a runtime with them.
//!
//! - Java: [`JavaResponder`] with the status of [`fixtures::java_status`] (serialised
//!   once), no connection cap below the benchmark's concurrency.
//! - Query: [`QueryResponder`] with [`fixtures::query_full`].
//! - Bedrock: [`BedrockResponder`] with [`fixtures::bedrock_status`].
//! - Stalls, for the heap measurement: a TCP listener that accepts and never answers,
//!   and a UDP socket that never reads.
//!
//! Prints the ports as one JSON line, then serves until its standard input closes.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mc_protocol::net::bedrock::BedrockResponder;
use mc_protocol::net::java::JavaResponder;
use mc_protocol::net::query::QueryResponder;
use tokio::net::{TcpSocket, UdpSocket};

use crate::fixtures;

pub(crate) fn serve() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        let json = fixtures::java_status().to_json();
        let java = JavaResponder::bind(any, move |_| json.clone())
            .await
            .map_err(|e| format!("java bind: {e}"))?
            .with_max_connections(65_536)
            .with_timeout(Duration::from_secs(30))
            .spawn();
        let query = QueryResponder::bind(any, fixtures::query_full())
            .await
            .map_err(|e| format!("query bind: {e}"))?
            .spawn();
        let bedrock = BedrockResponder::bind(any, fixtures::bedrock_status())
            .await
            .map_err(|e| format!("bedrock bind: {e}"))?
            .spawn();
        // A backlog above the heap measurement's concurrency: no SYN is dropped.
        let tcp_stall = TcpSocket::new_v4()
            .and_then(|s| {
                s.bind(any)?;
                s.listen(4096)
            })
            .map_err(|e| format!("stall bind: {e}"))?;
        let udp_stall = UdpSocket::bind(any)
            .await
            .map_err(|e| format!("stall bind: {e}"))?;
        let ports = serde_json::json!({
            "java": java.local_addr().port(),
            "query": query.local_addr().map(|a| a.port()),
            "bedrock": bedrock.local_addr().port(),
            "tcp_stall": tcp_stall.local_addr().map_err(|e| e.to_string())?.port(),
            "udp_stall": udp_stall.local_addr().map_err(|e| e.to_string())?.port(),
        });
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{ports}").map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())?;

        let stall = tokio::spawn(async move {
            // Held open, never read, until the process ends.
            let mut held = Vec::new();
            while let Ok((stream, _)) = tcp_stall.accept().await {
                held.push(stream);
            }
        });
        // Serve until the driver closes our stdin (or dies).
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin()
                .lock()
                .read_line(&mut line)
                .is_ok_and(|n| n > 0)
            {
                line.clear();
            }
        })
        .await;
        stall.abort();
        drop((java, query, bedrock, udp_stall));
        Ok(())
    })
}
