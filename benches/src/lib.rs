//! Shared helpers for Tessera's benchmarks and peer comparisons.

pub mod thread_workloads;
