//! `FaultyStore`: wraps a store and injects transient errors, permanent errors, latency and lost
//! responses, reproducibly from a seed.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::rng::{hash_str, mix, unit};
use crate::{Sleeper, Store, StoreError, ThreadSleeper};

/// What a [`FaultyStore`] injects.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Seed of every random decision.
    pub seed: u64,
    /// Probability in `[0, 1]` that an operation fails with [`StoreError::Transient`] before it
    /// reaches the inner store.
    pub transient_rate: f64,
    /// Probability in `[0, 1]` that a put which reached the inner store still reports a transient
    /// error: the response was lost. A retry then puts the same bytes again.
    pub lost_response_rate: f64,
    /// Keys whose puts always fail with [`StoreError::Permanent`].
    pub permanent_keys: BTreeSet<String>,
    /// Latency added to every operation.
    pub latency: Duration,
    /// Extra latency drawn uniformly from `[0, jitter]` for every operation.
    pub jitter: Duration,
    /// Whether reads, lists and deletes get transient errors too (puts always do).
    pub faulty_reads: bool,
}

impl Default for FaultConfig {
    /// No faults and no latency.
    fn default() -> Self {
        Self {
            seed: 0,
            transient_rate: 0.0,
            lost_response_rate: 0.0,
            permanent_keys: BTreeSet::new(),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            faulty_reads: false,
        }
    }
}

/// Counts of what a [`FaultyStore`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Operations called, of every kind.
    pub calls: u64,
    /// Puts that reached the inner store (including those whose response was then lost).
    pub puts_reached: u64,
    /// Transient errors injected before the inner store.
    pub transient: u64,
    /// Puts that reached the inner store but reported an error.
    pub lost_responses: u64,
    /// Permanent errors injected.
    pub permanent: u64,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    puts_reached: AtomicU64,
    transient: AtomicU64,
    lost_responses: AtomicU64,
    permanent: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Put,
    Get,
    GetRange,
    Exists,
    List,
    Delete,
}

/// A store wrapper that injects failures and latency, for testing writers against S3-like
/// behaviour.
///
/// Random decisions depend only on the seed, the key, the operation and how many times that
/// operation was called on that key, so a run is reproducible even when threads interleave
/// differently, as long as each key is handled by one thread at a time.
pub struct FaultyStore<S> {
    inner: S,
    config: FaultConfig,
    sleeper: Arc<dyn Sleeper>,
    calls_per_key: Mutex<HashMap<(String, Op), u64>>,
    counters: Counters,
}

impl<S: std::fmt::Debug> std::fmt::Debug for FaultyStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyStore")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`; latency is slept for real.
    pub fn new(inner: S, config: FaultConfig) -> Self {
        Self::with_sleeper(inner, config, Arc::new(ThreadSleeper))
    }

    /// Wraps `inner`, sleeping latency with `sleeper` (a [`crate::FakeTime`] makes it free).
    pub fn with_sleeper(inner: S, config: FaultConfig, sleeper: Arc<dyn Sleeper>) -> Self {
        Self {
            inner,
            config,
            sleeper,
            calls_per_key: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    /// The wrapped store, to check what really got stored.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The fault configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// What was injected so far.
    pub fn stats(&self) -> FaultStats {
        let c = &self.counters;
        FaultStats {
            calls: c.calls.load(Ordering::Relaxed),
            puts_reached: c.puts_reached.load(Ordering::Relaxed),
            transient: c.transient.load(Ordering::Relaxed),
            lost_responses: c.lost_responses.load(Ordering::Relaxed),
            permanent: c.permanent.load(Ordering::Relaxed),
        }
    }
}

impl<S: Store> FaultyStore<S> {
    /// Three independent uniform draws for this call: latency jitter, transient, lost response.
    fn draws(&self, key: &str, op: Op) -> [f64; 3] {
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let n = {
            let mut calls = self.calls_per_key.lock();
            let n = calls.entry((key.to_owned(), op)).or_insert(0);
            *n += 1;
            *n
        };
        let base = mix(self.config.seed ^ mix(hash_str(key) ^ mix(op as u64 ^ (n << 8))));
        [unit(mix(base)), unit(mix(base ^ 1)), unit(mix(base ^ 2))]
    }

    /// Sleeps the latency and maybe fails transiently; `faulty` says whether this operation
    /// may fail.
    fn before(&self, key: &str, op: Op, faulty: bool) -> Result<[f64; 3], StoreError> {
        let draws = self.draws(key, op);
        let delay = self.config.latency + self.config.jitter.mul_f64(draws[0]);
        if !delay.is_zero() {
            self.sleeper.sleep(delay);
        }
        if faulty && draws[1] < self.config.transient_rate {
            self.counters.transient.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Transient {
                key: key.to_owned(),
                message: "injected: slow down".to_owned(),
            });
        }
        Ok(draws)
    }
}

impl<S: Store> FaultyStore<S> {
    /// A put of either kind, with the same faults: `put` calls the inner store.
    fn faulty_put(
        &self,
        key: &str,
        put: impl FnOnce(&S) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let draws = self.before(key, Op::Put, true)?;
        if self.config.permanent_keys.contains(key) {
            self.counters.permanent.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Permanent {
                key: key.to_owned(),
                message: "injected: access denied".to_owned(),
            });
        }
        put(&self.inner)?;
        self.counters.puts_reached.fetch_add(1, Ordering::Relaxed);
        if draws[2] < self.config.lost_response_rate {
            self.counters.lost_responses.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Transient {
                key: key.to_owned(),
                message: "injected: the response was lost after the write".to_owned(),
            });
        }
        Ok(())
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.faulty_put(key, |inner| inner.put(key, bytes))
    }

    /// Injects the same faults as [`Store::put`] (puts and file puts share their call
    /// counts), then hands the file to the inner store's `put_file`.
    fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        self.faulty_put(key, |inner| inner.put_file(key, path))
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.before(key, Op::Get, self.config.faulty_reads)?;
        self.inner.get(key)
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        self.before(key, Op::GetRange, self.config.faulty_reads)?;
        self.inner.get_range(key, range)
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.before(key, Op::Exists, self.config.faulty_reads)?;
        self.inner.exists(key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.before(prefix, Op::List, self.config.faulty_reads)?;
        self.inner.list(prefix)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.before(key, Op::Delete, self.config.faulty_reads)?;
        self.inner.delete(key)
    }
}
