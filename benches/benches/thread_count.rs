//! ADR 0003's thread-count measurements under criterion: one request of about 900 tiles at
//! 1, 2, 4, 8, 16 and 32 threads, (a) read from local mapfile parts through mmap, (b) read from
//! a store with 5–20 ms of simulated latency, (c) written through writer-with-retry.
//!
//! Run with `cargo bench -p benches --bench thread_count`. `cargo xtask bench threads` measures
//! the same workloads with pool-tuning's calibration and prints the ADR-style tables.

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

use benches::thread_workloads::{LatencyReads, LatencyWrites, MmapReads, Sizes, THREADS};

/// Whether criterion runs in test mode (`cargo bench -- --test`), where inputs stay small.
fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

fn threads() -> &'static [usize] {
    if test_mode() { &[1, 4] } else { &THREADS }
}

fn bench_case(
    c: &mut Criterion,
    name: &str,
    tiles: usize,
    run: &dyn Fn(usize) -> Result<(), String>,
) {
    let mut group = c.benchmark_group(name);
    // The latency cases take up to 11 s per request at one thread, so keep criterion's minimum.
    // Flat sampling runs each sample once instead of 1, 2, ... 10 times.
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(tiles as u64));
    for &n in threads() {
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| run(n).unwrap());
        });
    }
    group.finish();
}

fn mmap_reads(c: &mut Criterion) {
    let sizes = Sizes::new(test_mode());
    let workload = MmapReads::new(sizes).unwrap();
    bench_case(c, "threads_mmap_reads", sizes.tiles, &|n| workload.run(n));
}

fn latency_reads(c: &mut Criterion) {
    let sizes = Sizes::new(test_mode());
    let workload = LatencyReads::new(sizes);
    bench_case(c, "threads_latency_reads", sizes.tiles, &|n| {
        workload.run(n)
    });
}

fn latency_writes(c: &mut Criterion) {
    let sizes = Sizes::new(test_mode());
    let workload = LatencyWrites::new(sizes).unwrap();
    bench_case(c, "threads_latency_writes", sizes.tiles, &|n| {
        workload.run(n)
    });
}

criterion_group!(benches, mmap_reads, latency_reads, latency_writes);
criterion_main!(benches);
