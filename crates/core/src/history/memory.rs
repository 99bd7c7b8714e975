//! [`MemoryHistory`]: the history port in memory (one process, nothing survives it).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{ChunkKey, HistoryConfig, SeriesHead, Stream, prepare};
use crate::domain::{HistorySample, Target, Timestamp};
use crate::ports::{HistoryStore, StoreError};

#[derive(Debug, Default)]
struct Series {
    head: Option<Vec<u8>>,
    chunks: BTreeMap<ChunkKey, Vec<u8>>,
}

/// History in memory, with the same tiers and semantics as the stores (for tests,
/// benchmarks and embedders that need no persistence).
#[derive(Debug, Default)]
pub struct MemoryHistory {
    config: HistoryConfig,
    series: Mutex<HashMap<String, Series>>,
}

impl MemoryHistory {
    /// Empty history kept as `config` says.
    #[must_use]
    pub fn new(config: HistoryConfig) -> Self {
        Self {
            config,
            series: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Series>> {
        self.series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many bytes the history holds (heads and chunks).
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.lock()
            .values()
            .map(|s| {
                s.head.as_ref().map_or(0, Vec::len) + s.chunks.values().map(Vec::len).sum::<usize>()
            })
            .sum()
    }
}

#[async_trait]
impl HistoryStore for MemoryHistory {
    async fn append_samples(&self, samples: &[HistorySample]) -> Result<(), StoreError> {
        let mut by_target: BTreeMap<String, Vec<HistorySample>> = BTreeMap::new();
        for s in samples {
            by_target.entry(s.target.key()).or_default().push(s.clone());
        }
        let mut all = self.lock();
        for (key, samples) in by_target {
            let series = all.entry(key).or_default();
            let prepared = prepare(series.head.as_deref(), &samples, &self.config)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if prepared.accepted == 0 {
                continue;
            }
            for write in &prepared.writes {
                let new = write.apply(series.chunks.get(&write.key).map(Vec::as_slice));
                series.chunks.insert(write.key, new);
            }
            series.head = Some(prepared.head_bytes);
        }
        Ok(())
    }

    async fn head(&self, target: &Target) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(&target.key()).and_then(|s| s.head.clone()))
    }

    async fn chunks(
        &self,
        target: &Target,
        stream: Stream,
        first: u64,
        last: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let all = self.lock();
        let Some(series) = all.get(&target.key()) else {
            return Ok(Vec::new());
        };
        Ok(series
            .chunks
            .range(
                ChunkKey {
                    stream,
                    index: first,
                }..=ChunkKey {
                    stream,
                    index: last,
                },
            )
            .map(|(k, v)| (k.index, v.clone()))
            .collect())
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut all = self.lock();
        let mut deleted = 0;
        all.retain(|_, series| {
            let before = series.chunks.len();
            series
                .chunks
                .retain(|key, _| self.config.expires_at(*key) > now);
            deleted += (before - series.chunks.len()) as u64;
            let alive = series
                .head
                .as_deref()
                .and_then(|h| SeriesHead::decode(h).ok())
                .and_then(|h| h.last)
                .is_some_and(|p| Timestamp(p.at).plus(self.config.longest()) > now);
            alive || !series.chunks.is_empty()
        });
        Ok(deleted)
    }
}
