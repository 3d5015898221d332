//! Shared helpers for Tessera's benchmarks and peer comparisons.
