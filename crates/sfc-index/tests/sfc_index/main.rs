//! Integration tests for sfc-index: round trips, brute-force range agreement, Hilbert adjacency, errors.

mod adjacency;
mod decompose;
mod errors;
mod roundtrip;
#[cfg(feature = "serde")]
mod serde_json_shape;
mod support;
