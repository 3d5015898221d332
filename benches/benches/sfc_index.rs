//! sfc-index against its peers: Z2 encode vs `zorder`, Hilbert 2-D encode vs `fast_hilbert`,
//! and decomposing a 1024 × 1024 × 365-day space-time box within 2000 ranges.
//!
//! Each encode benchmark encodes one batch of random coordinates, so the ratio of two
//! results is the ratio of their per-cell costs. Run with
//! `cargo bench -p benches --bench sfc_index`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sfc_index::{Box3, Budget, Curve2, Curve3, Hilbert2, Hilbert3, ZOrder2, ZOrder3};

/// Whether criterion runs in test mode (`cargo bench -- --test`), where inputs stay small.
fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// A reproducible batch of coordinate pairs, each below `2^bits`.
fn coords(bits: u32) -> Vec<(u32, u32)> {
    let n = if test_mode() { 64 } else { 4096 };
    let mask = if bits >= 32 {
        u32::MAX
    } else {
        (1 << bits) - 1
    };
    let mut rng = StdRng::seed_from_u64(0x7e55_e2a0);
    (0..n)
        .map(|_| (rng.r#gen::<u32>() & mask, rng.r#gen::<u32>() & mask))
        .collect()
}

fn z2_encode(c: &mut Criterion) {
    let input = coords(32);
    let mut group = c.benchmark_group("z2_encode");
    group.throughput(Throughput::Elements(input.len() as u64));
    group.bench_function("sfc_index", |b| {
        b.iter(|| {
            black_box(&input)
                .iter()
                .fold(0u64, |acc, &(x, y)| acc ^ ZOrder2.encode(x, y))
        });
    });
    group.bench_function("zorder", |b| {
        b.iter(|| {
            black_box(&input)
                .iter()
                .fold(0u64, |acc, &(x, y)| acc ^ zorder::index_of([x, y]))
        });
    });
    // The pdep path of `zorder`: the measurement behind sfc-index having no BMI2 path.
    if let Some(token) = zorder::bmi2::HardwareSupportToken::new() {
        group.bench_function("zorder_bmi2", |b| {
            b.iter(|| {
                black_box(&input).iter().fold(0u64, |acc, &(x, y)| {
                    acc ^ zorder::bmi2::index_of([x, y], token)
                })
            });
        });
    }
    group.finish();
}

fn hilbert2_encode(c: &mut Criterion) {
    // Full 32-bit coordinates, and 16-bit ones (both libraries skip leading zero bits).
    for bits in [32u32, 16] {
        let input = coords(bits);
        let curve = Hilbert2::new(bits).expect("a valid order");
        let order = bits as u8;
        let mut group = c.benchmark_group(format!("hilbert2_encode_order{bits}"));
        group.throughput(Throughput::Elements(input.len() as u64));
        group.bench_function("sfc_index", |b| {
            b.iter(|| {
                black_box(&input)
                    .iter()
                    .fold(0u64, |acc, &(x, y)| acc ^ curve.encode(x, y))
            });
        });
        group.bench_function("fast_hilbert", |b| {
            b.iter(|| {
                black_box(&input)
                    .iter()
                    .fold(0u64, |acc, &(x, y)| acc ^ fast_hilbert::xy2h(x, y, order))
            });
        });
        group.finish();
    }
}

fn decompose_space_time(c: &mut Criterion) {
    // 1024 × 1024 columns and rows by 365 days at a 1-day resolution. The "offset" box
    // sits off the curve's power-of-two alignment (days since 1970 for 2016), the worst
    // case; the "origin" box is what a key index sees when the query equals its bounds.
    let (side, days) = if test_mode() { (64, 30) } else { (1024, 365) };
    let boxes = [
        (
            "offset",
            Box3 {
                min: [1000, 3000, 17_000],
                max: [999 + side, 2999 + side, 16_999 + days],
            },
        ),
        (
            "origin",
            Box3 {
                min: [0, 0, 0],
                max: [side - 1, side - 1, days - 1],
            },
        ),
    ];
    let budget = Budget::max_ranges(2000);
    let hilbert = Hilbert3::new(21).expect("a valid order");
    let mut group = c.benchmark_group("decompose_1024x1024x365_2000_ranges");
    for (name, query) in boxes {
        group.bench_function(format!("z3_{name}"), |b| {
            b.iter(|| {
                ZOrder3
                    .ranges(black_box(&query), budget)
                    .expect("a valid box")
            });
        });
        group.bench_function(format!("hilbert3_{name}"), |b| {
            b.iter(|| {
                hilbert
                    .ranges(black_box(&query), budget)
                    .expect("a valid box")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, z2_encode, hilbert2_encode, decompose_space_time);
criterion_main!(benches);
