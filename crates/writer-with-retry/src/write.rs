//! `write_all`: many concurrent puts with retry, backpressure and a final outcome for every record.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::rng::{SplitMix, mix, time_seed};
use crate::{Clock, Fail, PolicyError, Sleeper, Store, StoreError, SystemClock, ThreadSleeper};

/// What to do after a record fails for good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Keep writing the other records.
    #[default]
    BestEffort,
    /// Stop taking new records after the first record that fails for good. Records already being
    /// written finish; every record not attempted is reported as [`FailReason::Skipped`].
    FailFast,
}

/// Progress of a write, passed to the progress callback after every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Records with a final outcome so far.
    pub done: u64,
    /// Records in all, when the input iterator knows its exact length.
    pub total: Option<u64>,
}

type ProgressFn = dyn Fn(Progress) + Send + Sync;

/// Options of [`write_all`]. Build with [`WriteOptions::default`] and the setters.
#[derive(Clone)]
pub struct WriteOptions {
    workers: usize,
    queue_depth: usize,
    policy: Fail,
    mode: Mode,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    progress: Option<Arc<ProgressFn>>,
    seed: Option<u64>,
    verify_failures: bool,
}

impl std::fmt::Debug for WriteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteOptions")
            .field("workers", &self.workers)
            .field("queue_depth", &self.queue_depth)
            .field("policy", &self.policy)
            .field("mode", &self.mode)
            .field("seed", &self.seed)
            .field("verify_failures", &self.verify_failures)
            .finish_non_exhaustive()
    }
}

impl Default for WriteOptions {
    /// Automatic worker count and queue depth, [`Fail::default`], best effort, real time.
    fn default() -> Self {
        Self {
            workers: 0,
            queue_depth: 0,
            policy: Fail::default(),
            mode: Mode::BestEffort,
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(ThreadSleeper),
            progress: None,
            seed: None,
            verify_failures: true,
        }
    }
}

/// The most writer threads a write starts, whatever is asked: beyond this, threads cost more
/// memory and scheduling than a store can turn into throughput.
pub const MAX_WORKERS: usize = 1024;

/// The deepest queue a write allocates.
pub const MAX_QUEUE_DEPTH: usize = 1 << 16;

/// The worker count used when 0 is asked for: four per core, between 4 and 32. Puts to a remote
/// store wait on the network far more than they compute, so more threads than cores pay off;
/// the cap keeps a many-core machine from opening hundreds of connections.
pub fn auto_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (4 * cores).clamp(4, 32)
}

impl WriteOptions {
    /// Number of writer threads; 0 chooses [`auto_workers`].
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Records queued between the input and the workers; 0 means twice the worker count.
    /// Memory held by the write is bounded by (queue depth + workers) × record size.
    #[must_use]
    pub fn queue_depth(mut self, depth: usize) -> Self {
        self.queue_depth = depth;
        self
    }

    /// The retry policy, checked.
    pub fn policy(mut self, policy: Fail) -> Result<Self, PolicyError> {
        policy.validate()?;
        self.policy = policy;
        Ok(self)
    }

    /// Best effort or fail fast.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The clock deadlines are measured with.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How backoff delays are slept.
    #[must_use]
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Uses a [`crate::FakeTime`] (or any type that is both) as clock and sleeper.
    #[must_use]
    pub fn fake_time<T: Clock + Sleeper + 'static>(self, time: Arc<T>) -> Self {
        self.clock(time.clone()).sleeper(time)
    }

    /// A callback run after each record gets its outcome. It runs on a writer thread while the
    /// report is locked, so keep it cheap (update a progress bar, not a database).
    #[must_use]
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// Seed of the backoff jitter, for reproducible runs; by default it comes from the time.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether a record that fails after a transient error is checked with `get` (default yes).
    ///
    /// A transient error can hide a put that did reach the store (a lost response). Checking
    /// makes the report exact: a record is reported written if and only if the store holds
    /// exactly its bytes.
    #[must_use]
    pub fn verify_failures(mut self, verify: bool) -> Self {
        self.verify_failures = verify;
        self
    }

    /// The worker count a write with these options uses: [`auto_workers`] for 0, and at most
    /// [`MAX_WORKERS`].
    pub fn effective_workers(&self) -> usize {
        if self.workers == 0 {
            auto_workers()
        } else {
            self.workers.min(MAX_WORKERS)
        }
    }

    /// The queue depth a write with these options uses: twice the workers for 0, and at most
    /// [`MAX_QUEUE_DEPTH`] (the queue is allocated up front).
    pub fn effective_queue_depth(&self) -> usize {
        if self.queue_depth == 0 {
            2 * self.effective_workers()
        } else {
            self.queue_depth.min(MAX_QUEUE_DEPTH)
        }
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> Fail {
        self.policy
    }
}

/// Why a record was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FailReason {
    /// The store returned an error that retrying cannot fix.
    #[error("permanent error: {0}")]
    Permanent(StoreError),
    /// Every allowed attempt failed with a transient error; this is the last one.
    #[error("gave up after the last allowed attempt: {0}")]
    AttemptsExhausted(StoreError),
    /// The per-record deadline would pass before the next retry; this is the last error.
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(StoreError),
    /// The record was never attempted because a fail-fast write had already stopped.
    #[error("skipped: the write stopped after an earlier failure")]
    Skipped,
}

/// A record that was not written.
#[derive(Debug)]
pub struct Failure {
    /// The record's key.
    pub key: String,
    /// Attempts made (0 when skipped).
    pub attempts: u32,
    /// Why it failed, with the last error.
    pub reason: FailReason,
    /// True when a put may have reached the store but checking afterwards failed too, so the
    /// store may or may not hold the record. Never set when `verify_failures` is on and the
    /// check got an answer.
    pub outcome_unknown: bool,
}

impl Failure {
    /// The last error the store returned, if the record was attempted.
    pub fn last_error(&self) -> Option<&StoreError> {
        match &self.reason {
            FailReason::Permanent(e)
            | FailReason::AttemptsExhausted(e)
            | FailReason::DeadlineExceeded(e) => Some(e),
            FailReason::Skipped => None,
        }
    }
}

/// What [`write_all`] did. Every input record is counted exactly once: in `written` or in
/// `failures`.
#[derive(Debug, Default)]
pub struct WriteReport {
    /// Records written.
    pub written: u64,
    /// Bytes of the records written.
    pub bytes: u64,
    /// Put attempts in all.
    pub attempts: u64,
    /// Attempts beyond each record's first.
    pub retries: u64,
    /// Records found written by a check after their last attempt reported a transient error
    /// (the response was lost); they are counted in `written`.
    pub verified_after_error: u64,
    /// Records that were not written, in the order their outcome was known.
    pub failures: Vec<Failure>,
    /// Wall-clock time of the whole write, measured with the options' clock.
    pub elapsed: Duration,
}

impl WriteReport {
    /// Records seen: written plus failed.
    pub fn total(&self) -> u64 {
        self.written + self.failures.len() as u64
    }

    /// True when every record was written.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }

    /// Records skipped by a fail-fast write.
    pub fn skipped(&self) -> u64 {
        self.failures
            .iter()
            .filter(|f| matches!(f.reason, FailReason::Skipped))
            .count() as u64
    }

    /// Records written per second.
    pub fn records_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.written as f64 / secs
        } else {
            0.0
        }
    }
}

struct Shared<'a> {
    report: Mutex<WriteReport>,
    done: Mutex<u64>,
    stop: AtomicBool,
    total: Option<u64>,
    options: &'a WriteOptions,
}

impl Shared<'_> {
    fn finish(&self, update: impl FnOnce(&mut WriteReport), failed: bool) {
        update(&mut self.report.lock());
        if failed && self.options.mode == Mode::FailFast {
            self.stop.store(true, Ordering::SeqCst);
        }
        let mut done = self.done.lock();
        *done += 1;
        if let Some(progress) = &self.options.progress {
            progress(Progress {
                done: *done,
                total: self.total,
            });
        }
    }

    fn skip(&self, key: String) {
        self.finish(
            |r| {
                r.failures.push(Failure {
                    key,
                    attempts: 0,
                    reason: FailReason::Skipped,
                    outcome_unknown: false,
                });
            },
            false,
        );
    }
}

/// Writes every record to `store` with `options.workers` threads, retrying transient errors.
///
/// The records are pulled from `records` on the calling thread and handed to the workers through
/// a bounded queue: when the queue is full the input is not read further (backpressure), so the
/// write holds at most (queue depth + workers) records however long the input is.
///
/// Returns only when every record has a final outcome: written, failed for good, or (fail-fast)
/// skipped. A store that panics fails the record with [`StoreError::Panicked`].
pub fn write_all<S, I, K, B>(store: &S, records: I, options: &WriteOptions) -> WriteReport
where
    S: Store + ?Sized,
    I: IntoIterator<Item = (K, B)>,
    K: AsRef<str> + Send,
    B: AsRef<[u8]> + Send,
{
    let start = options.clock.now();
    let records = records.into_iter();
    let total = match records.size_hint() {
        (lo, Some(hi)) if lo == hi => Some(lo as u64),
        _ => None,
    };
    let shared = Shared {
        report: Mutex::new(WriteReport::default()),
        done: Mutex::new(0),
        stop: AtomicBool::new(false),
        total,
        options,
    };
    let workers = options.effective_workers();
    let base_seed = options.seed.unwrap_or_else(time_seed);
    let (tx, rx) = crossbeam_channel::bounded::<(K, B)>(options.effective_queue_depth());
    let scope_result = crossbeam::scope(|scope| {
        for worker in 0..workers {
            let rx = rx.clone();
            let shared = &shared;
            // A worker that cannot be started (the system is out of threads) is simply missing;
            // if none starts, the calling thread writes everything itself (below).
            let _ = scope.builder().spawn(move |_| {
                let mut rng = SplitMix::new(mix(base_seed ^ worker as u64));
                for (key, bytes) in rx {
                    if shared.stop.load(Ordering::SeqCst) {
                        shared.skip(key.as_ref().to_owned());
                    } else {
                        write_one(store, key.as_ref(), bytes.as_ref(), shared, &mut rng);
                    }
                }
            });
        }
        drop(rx);
        let mut inline_rng = SplitMix::new(mix(base_seed ^ u64::MAX));
        let mut write_inline = |key: &str, bytes: &[u8]| {
            if shared.stop.load(Ordering::SeqCst) {
                shared.skip(key.to_owned());
            } else {
                write_one(store, key, bytes, &shared, &mut inline_rng);
            }
        };
        let mut records = records;
        let mut inline = false;
        for record in records.by_ref() {
            if shared.stop.load(Ordering::SeqCst) {
                shared.skip(record.0.as_ref().to_owned());
                break;
            }
            if let Err(crossbeam_channel::SendError((key, bytes))) = tx.send(record) {
                // No worker is running (none could be started): write on this thread instead.
                write_inline(key.as_ref(), bytes.as_ref());
                inline = true;
                break;
            }
        }
        if inline {
            for (key, bytes) in records.by_ref() {
                if shared.stop.load(Ordering::SeqCst) {
                    shared.skip(key.as_ref().to_owned());
                    break;
                }
                write_inline(key.as_ref(), bytes.as_ref());
            }
        }
        // After a fail-fast stop the rest of the input is drained so that every record is
        // reported; only keys are kept.
        for (key, _) in records {
            shared.skip(key.as_ref().to_owned());
        }
        drop(tx);
    });
    // Workers catch store panics themselves, so the scope can only fail on a bug here; the
    // records they held are then missing from the report, which `total()` makes visible.
    drop(scope_result);
    let mut report = shared.report.into_inner();
    report.elapsed = options.clock.now().saturating_duration_since(start);
    report
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

fn guarded<T>(key: &str, op: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    catch_unwind(AssertUnwindSafe(op)).unwrap_or_else(|payload| {
        Err(StoreError::Panicked {
            key: key.to_owned(),
            message: panic_message(payload.as_ref()),
        })
    })
}

fn write_one<S: Store + ?Sized>(
    store: &S,
    key: &str,
    bytes: &[u8],
    shared: &Shared<'_>,
    rng: &mut SplitMix,
) {
    let options = shared.options;
    let policy = options.policy;
    let max_attempts = policy.max_attempts();
    let first = options.clock.now();
    let mut attempts = 0u32;
    let mut saw_transient = false;
    let reason = loop {
        attempts += 1;
        let err = match guarded(key, || store.put(key, bytes)) {
            Ok(()) => {
                shared.finish(|r| record_written(r, bytes.len(), attempts, false), false);
                return;
            }
            Err(err) => err,
        };
        if !err.is_transient() {
            break FailReason::Permanent(err);
        }
        saw_transient = true;
        if attempts >= max_attempts {
            break FailReason::AttemptsExhausted(err);
        }
        let delay = policy.delay(attempts - 1, rng.next_unit());
        if past_deadline(&policy, options.clock.now(), first, delay) {
            break FailReason::DeadlineExceeded(err);
        }
        options.sleeper.sleep(delay);
    };
    // A transient error may have been a lost response to a put that did land; find out, so the
    // report says exactly what the store holds.
    let mut outcome_unknown = false;
    if saw_transient && options.verify_failures {
        match verify(store, key, bytes, &policy, options, rng) {
            Some(true) => {
                shared.finish(|r| record_written(r, bytes.len(), attempts, true), false);
                return;
            }
            Some(false) => {}
            None => outcome_unknown = true,
        }
    } else if saw_transient {
        outcome_unknown = true;
    }
    shared.finish(
        |r| {
            r.attempts += u64::from(attempts);
            r.retries += u64::from(attempts - 1);
            r.failures.push(Failure {
                key: key.to_owned(),
                attempts,
                reason,
                outcome_unknown,
            });
        },
        true,
    );
}

fn record_written(r: &mut WriteReport, len: usize, attempts: u32, verified: bool) {
    r.written += 1;
    r.bytes += len as u64;
    r.attempts += u64::from(attempts);
    r.retries += u64::from(attempts - 1);
    if verified {
        r.verified_after_error += 1;
    }
}

fn past_deadline(policy: &Fail, now: Instant, first: Instant, delay: Duration) -> bool {
    policy
        .deadline_limit()
        .is_some_and(|limit| now.saturating_duration_since(first) + delay > limit)
}

/// Reads the key back: `Some(true)` when it holds exactly `bytes`, `Some(false)` when it holds
/// something else or nothing, `None` when the reads kept failing. Reads are retried with the
/// write's policy (twice its attempts: a read is cheaper than a lost record).
fn verify<S: Store + ?Sized>(
    store: &S,
    key: &str,
    bytes: &[u8],
    policy: &Fail,
    options: &WriteOptions,
    rng: &mut SplitMix,
) -> Option<bool> {
    let max = policy.max_attempts().saturating_mul(2).max(2);
    for attempt in 1..=max {
        match guarded(key, || store.get(key)) {
            Ok(found) => return Some(found == bytes),
            Err(StoreError::NotFound { .. }) => return Some(false),
            Err(e) if e.is_transient() && attempt < max => {
                options
                    .sleeper
                    .sleep(policy.delay(attempt - 1, rng.next_unit()));
            }
            Err(_) => return None,
        }
    }
    None
}
