//! `mcstat-bench heap HOST PORTS_JSON CONCURRENCY`: heap bytes per in-flight lookup,
//! from the counting allocator ([`crate::alloc`]).
//!
//! - *In flight*: `CONCURRENCY` lookups are started against a peer that accepts (TCP)
//!   or receives (UDP) and never answers; once all of them are waiting for the answer,
//!   the heap above the baseline, divided by `CONCURRENCY`, is what one lookup holds
//!   while it waits: socket registration, task, timers, buffers, client state. The
//!   response is not part of it (none arrived).
//! - *Peak*: `CONCURRENCY` lookups against the real responders, all started at once;
//!   the peak heap above the baseline divided by `CONCURRENCY` includes the responses
//!   being read and decoded.
//!
//! One lookup of each kind runs before the baseline, so allocations made once per
//! thread or per runtime (thread-local receive buffers, driver slabs) are not counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::alloc;
use crate::clients::{Ctx, Tool, Workload};

/// Lookups at once in the Query peak run.
const QUERY_PEAK_CONCURRENCY: usize = 200;

/// How long the in-flight lookups wait for an answer (longer than the measurement).
const STALL: Duration = Duration::from_secs(30);

pub(crate) fn heap(host: [u8; 4], ports: &Value, concurrency: usize) -> Result<Value, String> {
    let port = |name: &str| -> Result<SocketAddr, String> {
        let p = ports[name]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("no {name} port"))?;
        Ok(SocketAddr::from((host, p)))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let cases = [
        (
            "java",
            Tool::Ours,
            Workload::Throughput,
            "java",
            "tcp_stall",
        ),
        (
            "craftping",
            Tool::Craftping,
            Workload::Throughput,
            "java",
            "tcp_stall",
        ),
        ("query", Tool::Ours, Workload::Query, "query", "udp_stall"),
        (
            "bedrock",
            Tool::Ours,
            Workload::Bedrock,
            "bedrock",
            "udp_stall",
        ),
    ];
    let mut out = serde_json::Map::new();
    runtime.block_on(async {
        for (name, tool, workload, live, stall) in cases {
            let live = Arc::new(Ctx::new(tool, workload, port(live)?));
            let stall = Arc::new(Ctx::new(tool, workload, port(stall)?).with_timeout(STALL));
            // Warm-up: one-time allocations are not per lookup.
            live.lookup(&mut Vec::new()).await?;
            let in_flight = in_flight(&stall, concurrency).await;
            // The Query responder's socket buffer drops most of a thousand handshakes
            // arriving at once, and Query clients do not retransmit: its peak run
            // uses fewer lookups, all of which get their answer.
            let peak_concurrency = if workload == Workload::Query {
                concurrency.min(QUERY_PEAK_CONCURRENCY)
            } else {
                concurrency
            };
            let (peak, peak_errors) = peak(&live, peak_concurrency).await;
            out.insert(
                name.to_owned(),
                json!({
                    "in_flight_bytes": in_flight,
                    "peak_bytes": peak,
                    "peak_errors": peak_errors,
                    "peak_concurrency": peak_concurrency,
                }),
            );
        }
        Ok::<_, String>(())
    })?;
    out.insert("concurrency".to_owned(), json!(concurrency));
    Ok(Value::Object(out))
}

/// Heap per lookup while `concurrency` lookups wait for an answer that never comes.
async fn in_flight(ctx: &Arc<Ctx>, concurrency: usize) -> f64 {
    let mut set = JoinSet::new();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let baseline = alloc::current();
    for _ in 0..concurrency {
        let ctx = Arc::clone(ctx);
        set.spawn(async move {
            let _ = ctx.lookup(&mut Vec::new()).await;
        });
    }
    // Let every lookup connect, send and park on its read.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let bytes = alloc::current().saturating_sub(baseline);
    set.abort_all();
    while set.join_next().await.is_some() {}
    tokio::time::sleep(Duration::from_millis(100)).await;
    bytes as f64 / concurrency as f64
}

/// Peak heap per lookup while `concurrency` lookups run to completion together, and
/// how many failed (UDP peers drop datagrams when a thousand arrive at once; Query
/// does not retransmit, so those lookups time out).
async fn peak(ctx: &Arc<Ctx>, concurrency: usize) -> (f64, usize) {
    let mut set = JoinSet::new();
    let baseline = alloc::current();
    alloc::reset_peak();
    for _ in 0..concurrency {
        let ctx = Arc::clone(ctx);
        set.spawn(async move { ctx.lookup(&mut Vec::new()).await });
    }
    let mut errors = 0;
    while let Some(done) = set.join_next().await {
        if !matches!(done, Ok(Ok(()))) {
            errors += 1;
        }
    }
    (
        alloc::peak().saturating_sub(baseline) as f64 / concurrency as f64,
        errors,
    )
}
