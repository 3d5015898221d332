//! `calibrate`: measures a workload at candidate thread counts and picks the best count.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::Error;

/// The thread counts of ADR 0003's measurements.
pub const ADR_CANDIDATES: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// How to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationOptions {
    /// Unmeasured runs before the measured ones at each count (caches, page faults, thread
    /// start-up).
    pub warmup_runs: usize,
    /// Measured runs at each count; the median is kept, so one noisy run does not decide.
    pub runs: usize,
    /// The best count is the smallest whose median is within this fraction of the fastest
    /// median: extra threads that buy less than this cost memory and contention for nothing.
    pub tolerance: f64,
}

impl Default for CalibrationOptions {
    /// One warm-up, five runs, 5 % tolerance.
    fn default() -> Self {
        Self {
            warmup_runs: 1,
            runs: 5,
            tolerance: 0.05,
        }
    }
}

/// The measurements at one thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// Threads used.
    pub threads: usize,
    /// The median run time, in milliseconds.
    pub median_ms: f64,
    /// Every measured run, in milliseconds, in the order run.
    pub runs_ms: Vec<f64>,
}

/// A calibration result: the chosen count and the table it was chosen from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// The best thread count.
    pub best: usize,
    /// One row per candidate, in increasing thread count.
    pub table: Vec<Measurement>,
}

impl Calibration {
    /// The baseline row: the one with the fewest threads (normally 1).
    pub fn baseline(&self) -> Option<&Measurement> {
        self.table.first()
    }

    /// The median of the row with `threads` threads, in milliseconds.
    pub fn median_ms(&self, threads: usize) -> Option<f64> {
        self.table
            .iter()
            .find(|m| m.threads == threads)
            .map(|m| m.median_ms)
    }

    /// Speedup of `threads` over the baseline: baseline median / this median.
    pub fn speedup(&self, threads: usize) -> Option<f64> {
        let base = self.baseline()?.median_ms;
        let this = self.median_ms(threads)?;
        (this > 0.0).then(|| base / this)
    }

    /// The table in ADR style: `| threads | median ms | speedup |`, speedup against the
    /// baseline (1 thread when measured).
    pub fn to_markdown(&self) -> String {
        let mut out =
            String::from("| threads | median ms | speedup |\n|--------:|----------:|--------:|\n");
        for m in &self.table {
            let speedup = self.speedup(m.threads).unwrap_or(f64::NAN);
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "| {} | {:.1} | {:.2} |",
                m.threads, m.median_ms, speedup
            );
        }
        out
    }
}

/// The median of a non-empty list of durations, in milliseconds (the mean of the middle two
/// for an even count).
fn median_ms(runs: &[f64]) -> f64 {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
    }
}

/// Runs `workload(threads)` at every candidate count (0 = the core count; duplicates measured
/// once): `warmup_runs` unmeasured runs, then `runs` timed runs, keeping the median. The best
/// count is the smallest whose median is within `tolerance` of the fastest.
pub fn calibrate<W, E>(
    mut workload: W,
    candidates: &[usize],
    options: &CalibrationOptions,
) -> Result<Calibration, Error>
where
    W: FnMut(usize) -> Result<(), E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    calibrate_timed(
        |threads| {
            let start = Instant::now();
            workload(threads).map(|()| start.elapsed())
        },
        candidates,
        options,
    )
}

/// Like [`calibrate`], but the workload measures itself and returns the time that counts, so
/// that it can leave out its own set-up (or, in tests, report exact times).
pub fn calibrate_timed<W, E>(
    mut workload: W,
    candidates: &[usize],
    options: &CalibrationOptions,
) -> Result<Calibration, Error>
where
    W: FnMut(usize) -> Result<Duration, E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut counts: Vec<usize> = candidates
        .iter()
        .map(|&c| if c == 0 { crate::cores() } else { c })
        .collect();
    counts.sort_unstable();
    counts.dedup();
    if counts.is_empty() || options.runs == 0 {
        return Err(Error::NoCandidates);
    }
    let mut table = Vec::with_capacity(counts.len());
    for threads in counts {
        let mut run = |threads| -> Result<Duration, Error> {
            workload(threads).map_err(|e| Error::Workload {
                threads,
                source: e.into(),
            })
        };
        for _ in 0..options.warmup_runs {
            run(threads)?;
        }
        let runs_ms = (0..options.runs)
            .map(|_| run(threads).map(|d| d.as_secs_f64() * 1e3))
            .collect::<Result<Vec<_>, _>>()?;
        table.push(Measurement {
            threads,
            median_ms: median_ms(&runs_ms),
            runs_ms,
        });
    }
    let fastest = table
        .iter()
        .map(|m| m.median_ms)
        .fold(f64::INFINITY, f64::min);
    let best = table
        .iter()
        .find(|m| m.median_ms <= fastest * (1.0 + options.tolerance.max(0.0)))
        .map_or(1, |m| m.threads);
    Ok(Calibration { best, table })
}
