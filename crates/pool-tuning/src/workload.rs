//! Ready-made calibration workloads that need nothing but this crate.

use std::time::Duration;

use crate::{Error, Order, Pool};

/// ADR 0003's query size: about 900 tiles read per request.
pub const ADR_TILES_PER_REQUEST: usize = 900;

/// Reads of `tiles` tiles from a store with a simulated per-tile latency, as with S3: tile `i`
/// waits a latency drawn reproducibly from `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedLatency {
    /// Tiles per request.
    pub tiles: usize,
    /// Shortest latency.
    pub min: Duration,
    /// Longest latency.
    pub max: Duration,
    /// Seed of the per-tile latencies.
    pub seed: u64,
}

impl Default for SimulatedLatency {
    /// 900 tiles with 5–20 ms each, the S3 case of ADR 0003.
    fn default() -> Self {
        Self {
            tiles: ADR_TILES_PER_REQUEST,
            min: Duration::from_millis(5),
            max: Duration::from_millis(20),
            seed: 0,
        }
    }
}

impl SimulatedLatency {
    /// The latency of tile `i`.
    pub fn latency(&self, i: usize) -> Duration {
        let mut x = (i as u64) ^ self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // SplitMix64's finaliser: a cheap, well-spread hash of the tile number.
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        // Saturating, so that absurd bounds give a long latency rather than a panic.
        self.min
            .saturating_add(self.max.saturating_sub(self.min).mul_f64(unit))
    }

    /// The time one thread needs for the whole request.
    pub fn serial_time(&self) -> Duration {
        (0..self.tiles).fold(Duration::ZERO, |sum, i| sum.saturating_add(self.latency(i)))
    }

    /// Runs one request with `threads` threads on a [`Pool`].
    pub fn run(&self, threads: usize) -> Result<(), Error> {
        let mut first_error = None;
        Pool::new(threads).for_each(
            0..self.tiles,
            Order::Unordered,
            |i| std::thread::sleep(self.latency(i)),
            |_, r| match r {
                Ok(()) => std::ops::ControlFlow::Continue(()),
                Err(e) => {
                    first_error = Some(e);
                    std::ops::ControlFlow::Break(())
                }
            },
        );
        first_error.map_or(Ok(()), Err)
    }
}
