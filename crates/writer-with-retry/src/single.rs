//! Retrying one object at a time: `put_file_with_retry` for large objects that `write_all`
//! would have to hold in memory.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::rng::{SplitMix, time_seed};
use crate::{
    Clock, Fail, FailReason, Failure, PolicyError, Sleeper, Store, StoreError, SystemClock,
    ThreadSleeper,
};

/// How a single object is retried: the policy, the time source and the jitter seed.
///
/// The same policy [`crate::WriteOptions`] uses for many records, for a caller that drives
/// its own threads (one large object per thread, say) and needs each object's outcome.
#[derive(Clone)]
pub struct RetryOptions {
    policy: Fail,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    seed: Option<u64>,
}

impl fmt::Debug for RetryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryOptions")
            .field("policy", &self.policy)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for RetryOptions {
    /// [`Fail::default`] with the real clock and real sleeping.
    fn default() -> Self {
        Self {
            policy: Fail::default(),
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(ThreadSleeper),
            seed: None,
        }
    }
}

impl RetryOptions {
    /// Options with a checked `policy`, the real clock and real sleeping.
    pub fn new(policy: Fail) -> Result<Self, PolicyError> {
        policy.validate()?;
        Ok(Self {
            policy,
            ..Self::default()
        })
    }

    /// Uses a [`crate::FakeTime`] (or any type that is both) as clock and sleeper.
    #[must_use]
    pub fn fake_time<T: Clock + Sleeper + 'static>(mut self, time: Arc<T>) -> Self {
        self.clock = time.clone();
        self.sleeper = time;
        self
    }

    /// A fixed jitter seed, for reproducible delays (by default each call draws one).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The retry policy.
    pub fn policy(&self) -> Fail {
        self.policy
    }

    /// Runs `op` until it succeeds, fails permanently, or runs out of attempts or deadline,
    /// sleeping a jittered backoff between attempts. Returns the value and the attempts
    /// made, or the [`Failure`] naming `key`, the attempts and the last error.
    pub fn run<T>(
        &self,
        key: &str,
        mut op: impl FnMut() -> Result<T, StoreError>,
    ) -> Result<(T, u32), Failure> {
        let mut rng = SplitMix::new(self.seed.unwrap_or_else(time_seed));
        let max_attempts = self.policy.max_attempts();
        let first = self.clock.now();
        let mut attempts = 0u32;
        let mut saw_transient = false;
        let reason = loop {
            attempts = attempts.saturating_add(1);
            let err = match op() {
                Ok(value) => return Ok((value, attempts)),
                Err(err) => err,
            };
            if !err.is_transient() {
                break FailReason::Permanent(err);
            }
            saw_transient = true;
            if attempts >= max_attempts {
                break FailReason::AttemptsExhausted(err);
            }
            let delay = self.policy.delay(attempts - 1, rng.next_unit());
            let past_deadline = self.policy.deadline_limit().is_some_and(|limit| {
                self.clock.now().saturating_duration_since(first) + delay > limit
            });
            if past_deadline {
                break FailReason::DeadlineExceeded(err);
            }
            self.sleeper.sleep(delay);
        };
        Err(Failure {
            key: key.to_owned(),
            attempts,
            reason,
            // A transient error may have been a lost response to a put that landed.
            outcome_unknown: saw_transient,
        })
    }
}

/// Stores the file at `path` under `key` with [`Store::put_file`], retrying transient
/// errors with `options`' backoff. Returns the attempts made.
///
/// The file is not consumed, so every attempt puts the same bytes; the caller removes it
/// afterwards. A permanent error ends the retries at once. The [`Failure`] says why the
/// object was not stored; with `outcome_unknown` set, a lost response may mean it was.
pub fn put_file_with_retry<S: Store + ?Sized>(
    store: &S,
    key: &str,
    path: &Path,
    options: &RetryOptions,
) -> Result<u32, Failure> {
    options
        .run(key, || store.put_file(key, path))
        .map(|((), attempts)| attempts)
}
