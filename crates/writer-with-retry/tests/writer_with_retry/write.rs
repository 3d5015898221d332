//! `write_all`: outcomes, retries, modes, deadlines, panics, progress and backpressure.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use writer_with_retry::{
    Fail, FailReason, FakeTime, FaultConfig, FaultyStore, FileStore, MemStore, Mode, Store,
    StoreError, WriteOptions, write_all,
};

use crate::with_guard;

/// A counter shared between the input iterator and the progress callback.
#[derive(Default)]
struct Counter(AtomicU64);

impl Counter {
    fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

const GUARD: Duration = Duration::from_secs(20);

fn records(n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| (format!("r/{i:04}"), vec![(i % 251) as u8; 1 + i % 7]))
        .collect()
}

fn fast_retries(attempts: u32) -> WriteOptions {
    let time = Arc::new(FakeTime::new());
    WriteOptions::default()
        .fake_time(time)
        .seed(1)
        .policy(
            Fail::with_backoff(Duration::from_millis(50), Duration::from_secs(5), attempts)
                .unwrap(),
        )
        .unwrap()
}

#[test]
fn writes_everything_to_a_healthy_store() {
    with_guard(GUARD, || {
        let store = MemStore::new();
        let input = records(500);
        let report = write_all(&store, input.clone(), &WriteOptions::default().workers(8));
        assert!(report.is_success());
        assert_eq!(report.written, 500);
        assert_eq!(report.attempts, 500);
        assert_eq!(report.retries, 0);
        assert_eq!(
            report.bytes,
            input.iter().map(|(_, v)| v.len() as u64).sum::<u64>()
        );
        for (k, v) in &input {
            assert_eq!(&store.get(k).unwrap(), v);
        }
    });
}

#[test]
fn zero_workers_means_automatic() {
    let options = WriteOptions::default();
    assert!(options.effective_workers() >= 4);
    assert_eq!(
        options.effective_queue_depth(),
        2 * options.effective_workers()
    );
    // Absurd requests are capped rather than allocated.
    let huge = WriteOptions::default()
        .workers(usize::MAX)
        .queue_depth(usize::MAX);
    assert_eq!(huge.effective_workers(), writer_with_retry::MAX_WORKERS);
    assert_eq!(
        huge.effective_queue_depth(),
        writer_with_retry::MAX_QUEUE_DEPTH
    );
    let store = MemStore::new();
    let report = with_guard(GUARD, move || {
        let r = write_all(&store, records(50), &WriteOptions::default().workers(0));
        (r.written, store.len())
    });
    assert_eq!(report, (50, 50));
}

#[test]
fn retries_transient_errors_and_counts_attempts() {
    with_guard(GUARD, || {
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                seed: 3,
                transient_rate: 0.5,
                ..FaultConfig::default()
            },
        );
        let report = write_all(&store, records(300), &fast_retries(30).workers(4));
        assert!(report.is_success(), "{:?}", report.failures.first());
        assert_eq!(report.written, 300);
        assert_eq!(report.attempts, store.stats().calls);
        assert_eq!(report.retries, report.attempts - 300);
        assert!(
            report.retries > 100,
            "about half the puts fail: {}",
            report.retries
        );
    });
}

#[test]
fn fail_immediately_makes_one_attempt() {
    with_guard(GUARD, || {
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                seed: 5,
                transient_rate: 0.5,
                ..FaultConfig::default()
            },
        );
        let options = WriteOptions::default()
            .workers(3)
            .policy(Fail::Immediately)
            .unwrap();
        let report = write_all(&store, records(200), &options);
        assert_eq!(report.attempts, 200);
        assert_eq!(report.total(), 200);
        assert!(!report.failures.is_empty());
        for failure in &report.failures {
            assert_eq!(failure.attempts, 1);
            assert!(
                matches!(failure.reason, FailReason::AttemptsExhausted(ref e) if e.is_transient())
            );
            assert!(!store.inner().exists(&failure.key).unwrap());
        }
    });
}

#[test]
fn permanent_errors_are_not_retried() {
    with_guard(GUARD, || {
        let bad: BTreeSet<String> = ["r/0003", "r/0077"].map(String::from).into();
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                permanent_keys: bad.clone(),
                ..FaultConfig::default()
            },
        );
        let report = write_all(&store, records(100), &fast_retries(5).workers(4));
        assert_eq!(report.written, 98);
        let failed: BTreeSet<String> = report.failures.iter().map(|f| f.key.clone()).collect();
        assert_eq!(failed, bad);
        for failure in &report.failures {
            assert_eq!(failure.attempts, 1);
            assert!(matches!(
                failure.reason,
                FailReason::Permanent(StoreError::Permanent { .. })
            ));
            assert!(
                failure
                    .last_error()
                    .unwrap()
                    .to_string()
                    .contains(&failure.key)
            );
        }
    });
}

#[test]
fn fail_fast_stops_but_reports_every_record() {
    with_guard(GUARD, || {
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                permanent_keys: BTreeSet::from(["r/0010".to_owned()]),
                ..FaultConfig::default()
            },
        );
        let options = fast_retries(3)
            .workers(2)
            .queue_depth(2)
            .mode(Mode::FailFast);
        let report = write_all(&store, records(1000), &options);
        assert_eq!(report.total(), 1000, "every record has an outcome");
        assert!(
            report.skipped() > 900,
            "stopped early: {} skipped",
            report.skipped()
        );
        assert_eq!(report.written as usize, store.inner().len());
        let failed: BTreeSet<&str> = report.failures.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            failed.len(),
            report.failures.len(),
            "no record reported twice"
        );
        for (key, _) in records(1000) {
            assert!(
                store.inner().exists(&key).unwrap() != failed.contains(key.as_str()),
                "{key}"
            );
        }
    });
}

#[test]
fn deadline_ends_retries() {
    with_guard(GUARD, || {
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                transient_rate: 1.0,
                ..FaultConfig::default()
            },
        );
        let policy = Fail::with_backoff(Duration::from_secs(1), Duration::from_secs(60), 1000)
            .unwrap()
            .deadline(Duration::from_secs(30));
        let time = Arc::new(FakeTime::new());
        let options = WriteOptions::default()
            .fake_time(time)
            .seed(2)
            .workers(1)
            .policy(policy)
            .unwrap();
        let report = write_all(&store, records(3), &options);
        assert_eq!(report.failures.len(), 3);
        for failure in &report.failures {
            assert!(
                matches!(failure.reason, FailReason::DeadlineExceeded(_)),
                "{:?}",
                failure.reason
            );
            assert!(failure.attempts < 1000);
        }
    });
}

#[test]
fn lost_responses_are_found_by_verification() {
    with_guard(GUARD, || {
        // Every put lands and every response is lost: all attempts "fail", yet all records are
        // stored, and the report must say so.
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                lost_response_rate: 1.0,
                ..FaultConfig::default()
            },
        );
        let report = write_all(&store, records(50), &fast_retries(3).workers(4));
        assert!(report.is_success());
        assert_eq!(report.verified_after_error, 50);
        assert_eq!(report.attempts, 150);

        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                lost_response_rate: 1.0,
                ..FaultConfig::default()
            },
        );
        let report = write_all(
            &store,
            records(50),
            &fast_retries(3).workers(4).verify_failures(false),
        );
        assert_eq!(report.failures.len(), 50);
        assert!(report.failures.iter().all(|f| f.outcome_unknown));
    });
}

/// A store whose puts panic for some keys.
struct Panicky(MemStore);

impl Store for Panicky {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        assert!(!key.ends_with('7'), "injected panic on {key}");
        self.0.put(key, bytes)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.0.get(key)
    }
    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        self.0.get_range(key, range)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.0.exists(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.0.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key)
    }
}

#[test]
fn a_panicking_store_fails_records_instead_of_hanging() {
    with_guard(GUARD, || {
        let store = Panicky(MemStore::new());
        let report = write_all(&store, records(100), &fast_retries(3).workers(4));
        assert_eq!(report.total(), 100);
        assert_eq!(report.failures.len(), 10);
        for failure in &report.failures {
            assert!(matches!(
                failure.reason,
                FailReason::Permanent(StoreError::Panicked { ref message, .. }) if message.contains("injected panic")
            ));
        }
    });
}

#[test]
fn progress_reaches_the_total() {
    with_guard(GUARD, || {
        let calls = Arc::new(AtomicU64::new(0));
        let last = Arc::new(AtomicU64::new(0));
        let (c, l) = (calls.clone(), last.clone());
        let options = WriteOptions::default().workers(4).progress(move |p| {
            assert_eq!(p.total, Some(120));
            c.fetch_add(1, Ordering::SeqCst);
            l.fetch_max(p.done, Ordering::SeqCst);
        });
        let report = write_all(&MemStore::new(), records(120), &options);
        assert_eq!(report.written, 120);
        assert_eq!(calls.load(Ordering::SeqCst), 120);
        assert_eq!(last.load(Ordering::SeqCst), 120);

        // An input of unknown length reports no total.
        let options = WriteOptions::default()
            .workers(2)
            .progress(|p| assert_eq!(p.total, None));
        let input = records(30).into_iter().filter(|_| true);
        assert_eq!(write_all(&MemStore::new(), input, &options).written, 30);
    });
}

#[test]
fn backpressure_bounds_records_in_flight() {
    with_guard(GUARD, || {
        let workers = 3;
        let depth = 2;
        let pulled = Arc::new(Counter::default());
        let done = Arc::new(Counter::default());
        let max_in_flight = Arc::new(AtomicU64::new(0));
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                latency: Duration::from_micros(300),
                ..FaultConfig::default()
            },
        );
        let (p, d, m) = (pulled.clone(), done.clone(), max_in_flight.clone());
        let input = records(400).into_iter().inspect(move |_| {
            let in_flight = p.bump() - d.get();
            m.fetch_max(in_flight, Ordering::SeqCst);
        });
        let d = done.clone();
        let options = WriteOptions::default()
            .workers(workers)
            .queue_depth(depth)
            .progress(move |_| {
                d.bump();
            });
        let report = write_all(&store, input, &options);
        assert_eq!(report.written, 400);
        // Queue + one per worker + the record the producer holds while blocked on the queue.
        let bound = (workers + depth + 1) as u64;
        let seen = max_in_flight.load(Ordering::SeqCst);
        assert!(seen <= bound, "{seen} records in flight, bound {bound}");
        assert!(seen >= 2, "the workers did run in parallel");
    });
}

#[test]
fn writes_to_a_file_store() {
    with_guard(GUARD, || {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path()).unwrap();
        let mut input = records(60);
        input.push(("../escape".to_owned(), b"evil".to_vec()));
        let report = write_all(&store, input.clone(), &WriteOptions::default().workers(4));
        assert_eq!(report.written, 60);
        assert_eq!(report.failures.len(), 1);
        assert!(matches!(
            report.failures[0].reason,
            FailReason::Permanent(StoreError::InvalidKey { .. })
        ));
        assert_eq!(store.list("").unwrap().len(), 60);
        assert!(!dir.path().parent().unwrap().join("escape").exists());
    });
}
