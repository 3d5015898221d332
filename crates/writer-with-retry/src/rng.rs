//! A tiny deterministic random source (SplitMix64) for jitter and fault injection.
//!
//! Jitter and fault decisions need speed and reproducibility from a seed, not cryptographic
//! quality, so a dependency on `rand` would buy nothing here.

/// SplitMix64's output function: a good 64-bit mix of `x`.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform number in `[0, 1)` from 64 random bits.
pub(crate) fn unit(bits: u64) -> f64 {
    // The top 53 bits fill an f64 mantissa exactly.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a over a string, to fold a key into a seed.
pub(crate) fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// A sequential SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    pub(crate) fn next_unit(&mut self) -> f64 {
        unit(self.next_u64())
    }
}

/// A seed that differs between runs, for callers that ask for no fixed seed.
pub(crate) fn time_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    mix(nanos ^ u64::from(std::process::id()))
}
