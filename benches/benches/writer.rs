//! writer-with-retry throughput: against worker count on a store with 5 ms of simulated latency
//! (ideal: workers / 5 ms), and against a `FileStore` compared with plain fsynced writes.
//!
//! Run with `cargo bench -p benches --bench writer`. Besides criterion's own output, it prints a
//! table of the measured throughput as a percentage of the ideal, the ratio that matters here
//! (issue 4's goal: at least 90 % up to 32 workers).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use writer_with_retry::{FaultConfig, FaultyStore, FileStore, MemStore, WriteOptions, write_all};

/// Whether criterion runs in test mode (`cargo bench -- --test`), where inputs stay small.
fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// The simulated per-put latency of the scaling benchmark (issue 4: 5 ms).
const LATENCY: Duration = Duration::from_millis(5);

const WORKERS: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// Puts per worker in one measured write; enough rounds that thread start-up is amortised.
fn rounds() -> usize {
    if test_mode() { 1 } else { 20 }
}

fn records(n: usize, size: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| (format!("bench/{}/{i}", i % 16), vec![(i % 251) as u8; size]))
        .collect()
}

fn latency_store() -> FaultyStore<MemStore> {
    FaultyStore::new(
        MemStore::new(),
        FaultConfig {
            latency: LATENCY,
            ..FaultConfig::default()
        },
    )
}

fn scaling(c: &mut Criterion) {
    let workers: &[usize] = if test_mode() { &[1, 4] } else { &WORKERS };
    let mut group = c.benchmark_group("writer_latency_5ms");
    group.sample_size(10);
    for &n in workers {
        let input = records(n * rounds(), 256);
        let store = latency_store();
        let options = WriteOptions::default().workers(n);
        group.throughput(Throughput::Elements(input.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| {
                let report = write_all(&store, input.iter().map(|(k, v)| (k, v)), &options);
                assert!(report.is_success());
                black_box(report.written)
            });
        });
    }
    group.finish();
}

/// The median of `runs` measurements of `f`, in records per second.
fn median_rate(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut rates: Vec<f64> = (0..runs).map(|_| f()).collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// Prints records/s against the ideal `workers / 5 ms` for each worker count (median of 5),
/// and against bare threads that only sleep 5 ms per record: that baseline shows what the
/// machine's timers and scheduler allow, so the last column is the writer's own efficiency.
fn percent_of_ideal(_: &mut Criterion) {
    let workers: &[usize] = if test_mode() { &[1, 4] } else { &WORKERS };
    let runs = if test_mode() { 1 } else { 5 };
    println!("\nwriter_latency_5ms: throughput as a share of the ideal (workers / 5 ms)");
    println!(
        "| workers | records/s | ideal/s | % of ideal | bare sleeping threads/s | % of bare |"
    );
    println!(
        "|--------:|----------:|--------:|-----------:|------------------------:|----------:|"
    );
    for &n in workers {
        let input = records(n * rounds(), 256);
        let store = latency_store();
        let options = WriteOptions::default().workers(n);
        let rate = median_rate(runs, || {
            let start = Instant::now();
            let report = write_all(&store, input.iter().map(|(k, v)| (k, v)), &options);
            assert!(report.is_success());
            report.written as f64 / start.elapsed().as_secs_f64()
        });
        let bare = median_rate(runs, || {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(|| {
                        for _ in 0..rounds() {
                            std::thread::sleep(LATENCY);
                        }
                    });
                }
            });
            (n * rounds()) as f64 / start.elapsed().as_secs_f64()
        });
        let ideal = n as f64 / LATENCY.as_secs_f64();
        println!(
            "| {n} | {rate:.0} | {ideal:.0} | {:.1} | {bare:.0} | {:.1} |",
            100.0 * rate / ideal,
            100.0 * rate / bare
        );
    }
}

/// Throughput against a `FileStore` (write to a temporary file, fsync, rename, fsync the
/// directory), next to the limit of the same bytes written and fsynced by one plain loop.
fn file_store(c: &mut Criterion) {
    let (count, size) = if test_mode() {
        (4, 1024)
    } else {
        (64, 64 * 1024)
    };
    let input = records(count, size);
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("writer_file_store");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((count * size) as u64));
    group.bench_function("plain_fsync_loop", |b| {
        let root = dir.path().join("plain");
        std::fs::create_dir_all(&root).unwrap();
        b.iter(|| {
            for (i, (_, bytes)) in input.iter().enumerate() {
                let path = root.join(i.to_string());
                let mut f = std::fs::File::create(&path).unwrap();
                std::io::Write::write_all(&mut f, bytes).unwrap();
                f.sync_all().unwrap();
            }
        });
    });
    for workers in [1, 4, 16] {
        let store = FileStore::new(dir.path().join(format!("store-{workers}"))).unwrap();
        let options = WriteOptions::default().workers(workers);
        group.bench_function(BenchmarkId::new("write_all", workers), |b| {
            b.iter(|| {
                let report = write_all(&store, input.iter().map(|(k, v)| (k, v)), &options);
                assert!(report.is_success());
                black_box(report.bytes)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, scaling, file_store, percent_of_ideal);
criterion_main!(benches);
