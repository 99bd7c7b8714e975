//! The outbox contract (tests/support/outbox_contract.rs) on every outbox of this
//! crate and core's reference: `MemoryOutbox`, `FileStore` (feature `file`, in a
//! temporary directory) and `RedisStore` (feature `redis`, against a `redis-server`
//! the test starts on a free loopback port), plus what only one store can show (the
//! file store's durability across a reopen, Redis' keys sharing one cluster slot per
//! platform).

mod support;

use mcstat_core::outbox::MemoryOutbox;

use crate::support::outbox_contract::outbox_contract;

#[tokio::test]
async fn memory_outbox_passes_the_outbox_contract() {
    outbox_contract(&MemoryOutbox::new()).await;
}
