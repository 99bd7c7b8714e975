//! The file store's history writer: concurrent `append_samples` calls are committed
//! together and all land, an error fails only the calls it concerns and the writer
//! goes on, and the store appends well over 20,000 samples a second.

mod support;

#[cfg(feature = "file")]
mod file {
    use std::sync::Arc;

    use mcstat_adapters::FileStore;
    use mcstat_core::history::HistoryReader;
    use mcstat_core::ports::{HistoryStore, StoreError};
    use mcstat_core::{HistorySample, Timestamp};
    use redb::{Database, TableDefinition};

    use crate::support::samples::{T0, sample, target};

    const HISTORY_HEAD: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("history_head");

    async fn count(store: &FileStore, name: &str) -> usize {
        HistoryReader::new(store)
            .samples(&target(name), Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples")
            .len()
    }

    /// `tasks` tasks, each appending `per_task` samples of its own target one call at
    /// a time.
    async fn concurrent_appends(store: &FileStore, tasks: u64, per_task: u64) {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let name = format!("t{t}.example");
                    for i in 0..per_task {
                        let s = sample(&name, T0 + i * 60_000, i % 5 != 0);
                        store
                            .append_samples(std::slice::from_ref(&s))
                            .await
                            .expect("append");
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.expect("task");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_all_land() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.redb");
        let store = FileStore::open(&path).await.expect("open");
        concurrent_appends(&store, 100, 20).await;
        for t in 0..100 {
            assert_eq!(count(&store, &format!("t{t}.example")).await, 20, "t{t}");
        }
        // Durable: all there after a reopen (the drop waits for the writer).
        drop(store);
        let store = FileStore::open(&path).await.expect("reopen");
        for t in 0..100 {
            assert_eq!(count(&store, &format!("t{t}.example")).await, 20, "t{t}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_survives_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.redb");
        let store = FileStore::open(&path).await.expect("open");
        store
            .append_samples(&[
                sample("bad.example", T0, true),
                sample("good.example", T0, true),
            ])
            .await
            .expect("append");
        drop(store);
        // Damage one target's head.
        {
            let db = Database::open(&path).expect("open");
            let txn = db.begin_write().expect("write");
            txn.open_table(HISTORY_HEAD)
                .expect("heads")
                .insert(target("bad.example").key().as_str(), &[0xFF, 0, 1][..])
                .expect("insert");
            txn.commit().expect("commit");
        }
        let store = Arc::new(FileStore::open(&path).await.expect("reopen"));
        // Many calls at once, some for the damaged target: only those fail, even
        // when committed in the same group as the others.
        let handles: Vec<_> = (1..=40_u64)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let name = if i % 4 == 0 {
                        "bad.example".to_owned()
                    } else {
                        format!("good{i}.example")
                    };
                    let samples: Vec<HistorySample> =
                        (0..3).map(|k| sample(&name, T0 + k * 1000, true)).collect();
                    (i, store.append_samples(&samples).await)
                })
            })
            .collect();
        for h in handles {
            let (i, result) = h.await.expect("task");
            if i % 4 == 0 {
                assert!(
                    matches!(&result, Err(StoreError::Corrupt(m)) if m.contains("bad.example")),
                    "{i}: {result:?}"
                );
            } else {
                result.unwrap_or_else(|e| panic!("{i}: {e:?}"));
                assert_eq!(count(&store, &format!("good{i}.example")).await, 3);
            }
        }
        // A call mixing both targets fails as a whole (one transaction)...
        let mixed = [
            sample("good.example", T0 + 60_000, true),
            sample("bad.example", T0 + 60_000, true),
        ];
        let err = store.append_samples(&mixed).await.expect_err("mixed");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        assert_eq!(count(&store, "good.example").await, 1);
        // ...and the writer goes on.
        store
            .append_samples(&[sample("good.example", T0 + 120_000, false)])
            .await
            .expect("append after errors");
        assert_eq!(count(&store, "good.example").await, 2);
    }

    /// 20,000 samples over 1,000 servers in one call (one transaction), then 500
    /// concurrent callers of one sample each (group commit): every sample lands.
    /// (How fast is measured by `scripts/bench.sh --history`, never in a test.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_batch_and_many_concurrent_callers_all_land() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(dir.path().join("h.redb"))
            .await
            .expect("open");
        let samples: Vec<HistorySample> = (0..20_000_u64)
            .map(|i| {
                sample(
                    &format!("one{}.example", i % 1000),
                    T0 + (i / 1000) * 60_000,
                    true,
                )
            })
            .collect();
        store.append_samples(&samples).await.expect("append");
        assert_eq!(count(&store, "one7.example").await, 20);
        concurrent_appends(&store, 500, 40).await;
        for t in [0, 7, 499] {
            assert_eq!(count(&store, &format!("t{t}.example")).await, 40);
        }
    }
}
