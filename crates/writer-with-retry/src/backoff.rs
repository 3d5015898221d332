//! Retry policy (`Fail`), exponential backoff with full jitter, and injectable time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::PolicyError;

/// What to do when an attempt fails with a transient error, in the style of gix-lock's `Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fail {
    /// Give up after the first attempt.
    Immediately,
    /// Retry with exponential backoff and full jitter: before retry `n` (counting from 0) sleep a
    /// uniformly random time in `[0, min(cap, base × 2^n)]`.
    WithBackoff {
        /// The first delay's upper bound.
        base: Duration,
        /// The largest delay. Must be at least `base`.
        cap: Duration,
        /// Attempts in all, the first one included; at least 1.
        max_attempts: u32,
        /// Time allowed for one record from its first attempt; a retry whose delay would end
        /// past it is not started. `None` means no deadline.
        deadline: Option<Duration>,
    },
}

impl Default for Fail {
    /// Backoff from a 50 ms base (GeoTrellis's base) to a 10 s cap, 8 attempts, 2 min per record.
    /// The cap sits well above the base, unlike GeoTrellis's 15 ms cap that undid the backoff.
    fn default() -> Self {
        Self::WithBackoff {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(10),
            max_attempts: 8,
            deadline: Some(Duration::from_secs(120)),
        }
    }
}

impl Fail {
    /// A checked backoff policy without a deadline.
    pub fn with_backoff(
        base: Duration,
        cap: Duration,
        max_attempts: u32,
    ) -> Result<Self, PolicyError> {
        let fail = Self::WithBackoff {
            base,
            cap,
            max_attempts,
            deadline: None,
        };
        fail.validate()?;
        Ok(fail)
    }

    /// The same policy with a per-record deadline (no effect on [`Fail::Immediately`]).
    #[must_use]
    pub fn deadline(self, limit: Duration) -> Self {
        match self {
            Self::Immediately => Self::Immediately,
            Self::WithBackoff {
                base,
                cap,
                max_attempts,
                ..
            } => Self::WithBackoff {
                base,
                cap,
                max_attempts,
                deadline: Some(limit),
            },
        }
    }

    /// Checks that the policy can work: a non-zero base, `cap >= base`, at least one attempt.
    pub fn validate(&self) -> Result<(), PolicyError> {
        match *self {
            Self::Immediately => Ok(()),
            Self::WithBackoff {
                base,
                cap,
                max_attempts,
                ..
            } => {
                if base.is_zero() {
                    Err(PolicyError::ZeroBase)
                } else if cap < base {
                    Err(PolicyError::CapBelowBase { base, cap })
                } else if max_attempts == 0 {
                    Err(PolicyError::ZeroAttempts)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Attempts allowed per record, the first included.
    pub fn max_attempts(&self) -> u32 {
        match *self {
            Self::Immediately => 1,
            Self::WithBackoff { max_attempts, .. } => max_attempts.max(1),
        }
    }

    /// The per-record deadline, if any.
    pub fn deadline_limit(&self) -> Option<Duration> {
        match *self {
            Self::Immediately => None,
            Self::WithBackoff { deadline, .. } => deadline,
        }
    }

    /// The upper bound of the delay before retry `retry` (0 for the first retry):
    /// `min(cap, base × 2^retry)`, or zero for [`Fail::Immediately`].
    pub fn delay_bound(&self, retry: u32) -> Duration {
        match *self {
            Self::Immediately => Duration::ZERO,
            Self::WithBackoff { base, cap, .. } => {
                let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
                base.checked_mul(factor).map_or(cap, |d| d.min(cap))
            }
        }
    }

    /// The jittered delay before retry `retry`, given a uniform number `unit` in `[0, 1)`:
    /// "full jitter", a uniform draw in `[0, delay_bound(retry)]`.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        self.delay_bound(retry).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The jittered delays of successive retries, from a seed: the gix-lock style iterator.
    /// It yields `max_attempts - 1` delays.
    pub fn delays(&self, seed: u64) -> impl Iterator<Item = Duration> + '_ {
        let mut rng = crate::rng::SplitMix::new(seed);
        (0..self.max_attempts().saturating_sub(1))
            .map(move |retry| self.delay(retry, rng.next_unit()))
    }
}

/// A source of the current time, injectable so tests need not wait.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// A way to wait, injectable so tests need not wait.
pub trait Sleeper: Send + Sync {
    /// Blocks the calling thread for `duration` (or pretends to).
    fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Real sleeping with `std::thread::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&self, duration: Duration) {
        if !duration.is_zero() {
            std::thread::sleep(duration);
        }
    }
}

/// Simulated time for tests: sleeping returns at once and moves this clock forward instead.
///
/// It is both a [`Clock`] and a [`Sleeper`]; share one `Arc<FakeTime>` as both. Time only moves
/// forward, by the sum of all sleeps on all threads.
#[derive(Debug)]
pub struct FakeTime {
    start: Instant,
    offset_nanos: AtomicU64,
    sleeps: AtomicU64,
}

impl Default for FakeTime {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeTime {
    /// A fake clock that starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            offset_nanos: AtomicU64::new(0),
            sleeps: AtomicU64::new(0),
        }
    }

    /// Total simulated time slept so far.
    pub fn slept(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::Relaxed))
    }

    /// Number of calls to `sleep` so far.
    pub fn sleep_count(&self) -> u64 {
        self.sleeps.load(Ordering::Relaxed)
    }

    /// Moves the clock forward without a sleep.
    pub fn advance(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl Clock for FakeTime {
    fn now(&self) -> Instant {
        self.start + self.slept()
    }
}

impl Sleeper for FakeTime {
    fn sleep(&self, duration: Duration) {
        self.sleeps.fetch_add(1, Ordering::Relaxed);
        self.advance(duration);
    }
}
