//! mapfile against the limits of the machine: sequential write against `std::fs::write` of
//! the same bytes, `get` latency on a warm 1 GiB file (goal: under 0.5 µs), range scans
//! against a plain memcpy of the same bytes, and `get` across sparse index intervals and
//! record sizes (the measurement behind `WriterOptions::for_record_size`).
//!
//! Run with `cargo bench -p benches --bench mapfile`; in test mode (`-- --test`) every file
//! is tiny.

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mapfile::{ChunkWriter, FileWriter, MapFileReader, MapFileWriter, MappedReader, WriterOptions};

/// Whether criterion runs in test mode (`cargo bench -- --test`), where inputs stay small.
fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// Indexes are spaced 3 apart, so lookups of absent indexes fall between records.
const STEP: u64 = 3;

/// A payload of `len` bytes that depends on the record number.
fn payload(n: u64, len: usize) -> Vec<u8> {
    (0..len).map(|j| (n as u8).wrapping_add(j as u8)).collect()
}

/// Writes `count` records of `len` bytes to `path` and maps it, warm in the page cache.
fn make_file(path: &Path, count: u64, len: usize, interval: u32) -> MappedReader {
    let file = File::create(path).unwrap();
    let options = WriterOptions::default().with_index_interval(interval);
    let mut writer = MapFileWriter::new(ChunkWriter::new(file), options).unwrap();
    let body = payload(0, len);
    for n in 0..count {
        writer.append(n * STEP, &body).unwrap();
    }
    writer.finish().unwrap();
    let reader = MapFileReader::open(path).unwrap();
    // Warm: touch every page once.
    let sum: usize = reader.iter().map(|r| r.unwrap().payload.len()).sum();
    black_box(sum);
    reader
}

/// Reproducible pseudo-random record numbers below `count` (xorshift): a million of them,
/// so that successive lookups do not find their records in the CPU caches.
fn lookups(count: u64) -> Vec<u64> {
    let n = if test_mode() { 4096 } else { 1 << 20 };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % count
        })
        .collect()
}

fn write(c: &mut Criterion) {
    let total: u64 = if test_mode() { 256 << 10 } else { 64 << 20 };
    let len = 4096;
    let count = total / (len as u64 + 12);
    let records: Vec<Vec<u8>> = (0..count).map(|n| payload(n, len)).collect();
    let dir = tempfile::tempdir().unwrap();
    // The same bytes the map file writer produces, for the plain write.
    let mut encoded = MapFileWriter::new(Vec::new(), WriterOptions::default()).unwrap();
    for (n, r) in records.iter().enumerate() {
        encoded.append(n as u64 * STEP, r).unwrap();
    }
    let encoded = encoded.finish().unwrap().0;

    let mut group = c.benchmark_group("mapfile_write");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    group.sample_size(10);
    let path = dir.path().join("part-r-00000-0");
    group.bench_function("mapfile_buffered", |b| {
        b.iter(|| {
            let file = ChunkWriter::new(File::create(&path).unwrap());
            let mut w = MapFileWriter::new(file, WriterOptions::default()).unwrap();
            for (n, r) in records.iter().enumerate() {
                w.append(n as u64 * STEP, r).unwrap();
            }
            w.finish().unwrap().1
        });
    });
    group.bench_function("std_fs_write", |b| {
        b.iter(|| std::fs::write(&path, &encoded).unwrap());
    });
    group.bench_function("mapfile_atomic_fsync", |b| {
        b.iter(|| {
            let mut w = FileWriter::create(&path, WriterOptions::default()).unwrap();
            for (n, r) in records.iter().enumerate() {
                w.append(n as u64 * STEP, r).unwrap();
            }
            w.finish().unwrap()
        });
    });
    group.bench_function("std_fs_write_fsync", |b| {
        b.iter(|| {
            std::fs::write(&path, &encoded).unwrap();
            File::open(&path).unwrap().sync_all().unwrap();
        });
    });
    group.finish();
}

fn get_and_scan(c: &mut Criterion) {
    // 1 GiB of 1 KiB tiles (about a million records) with the recommended interval.
    let len = 1024;
    let total: u64 = if test_mode() { 256 << 10 } else { 1 << 30 };
    let count = total / (len as u64 + 12);
    let dir = tempfile::tempdir().unwrap();
    let interval = WriterOptions::for_record_size(len).index_interval;
    let reader = make_file(&dir.path().join("big"), count, len, interval);
    let keys = lookups(count);

    let mut group = c.benchmark_group("mapfile_get");
    let mut i = 0;
    group.bench_function(BenchmarkId::new("1GiB_1KiB_records", interval), |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            reader.get(black_box(keys[i] * STEP)).unwrap().len()
        });
    });
    group.bench_function(
        BenchmarkId::new("1GiB_1KiB_records_absent", interval),
        |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                reader.get(black_box(keys[i] * STEP + 1)).unwrap().len()
            });
        },
    );
    // The path of layer-store's point reads: a one-index range, walked record by record.
    group.bench_function(BenchmarkId::new("1GiB_1KiB_records_range", interval), |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let at = black_box(keys[i] * STEP);
            reader
                .range(at..=at)
                .map(|r| r.unwrap().payload.len())
                .sum::<usize>()
        });
    });
    // The floor: one read of one byte of a random record, each read depending on the one
    // before so that misses cannot overlap, as a lookup's chain of reads cannot. This is the
    // latency of the cache and TLB miss any lookup in a file larger than the caches pays.
    let bytes = reader.bytes();
    let mut prev = 0u8;
    group.bench_function("dependent_random_read_floor", |b| {
        b.iter(|| {
            i = (i + 1 + usize::from(prev & 1)) % keys.len();
            let at = 16 + keys[i] as usize * (len + 12);
            prev = bytes[at];
            prev
        });
    });
    group.finish();

    // Range scan: copy every payload of a 64 MiB stretch, against one memcpy of its bytes.
    let span_records = (if test_mode() {
        64
    } else {
        (64 << 20) / (len as u64 + 12)
    })
    .min(count);
    let lo = count / 4 * STEP;
    let hi = lo + (span_records - 1) * STEP;
    let first = reader.range(lo..=hi).next().unwrap().unwrap();
    let start = first.payload.as_ptr() as usize - reader.bytes().as_ptr() as usize - 12;
    let span = (span_records * (len as u64 + 12)) as usize;
    let raw = &reader.bytes()[start..start + span];
    let mut out = Vec::with_capacity(span);
    let mut group = c.benchmark_group("mapfile_scan");
    group.throughput(Throughput::Bytes(span as u64));
    group.bench_function("range_copy_payloads", |b| {
        b.iter(|| {
            out.clear();
            for r in reader.range(black_box(lo..=hi)) {
                out.extend_from_slice(r.unwrap().payload);
            }
            out.len()
        });
    });
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(raw));
            out.len()
        });
    });
    group.finish();
}

fn intervals(c: &mut Criterion) {
    let total: u64 = if test_mode() { 64 << 10 } else { 32 << 20 };
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("mapfile_get_interval");
    for len in [64usize, 1024, 16384] {
        let count = total / (len as u64 + 12);
        let keys = lookups(count);
        for interval in [4u32, 16, 32, 128] {
            let reader = make_file(
                &dir.path().join(format!("{len}-{interval}")),
                count,
                len,
                interval,
            );
            let mut i = 0;
            group.bench_function(BenchmarkId::new(format!("payload_{len}"), interval), |b| {
                b.iter(|| {
                    i = (i + 1) % keys.len();
                    reader.get(black_box(keys[i] * STEP)).unwrap().len()
                });
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = write, get_and_scan, intervals
}
criterion_main!(benches);
