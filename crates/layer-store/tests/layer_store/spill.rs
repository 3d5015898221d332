//! The bounded-memory path: a tiny memory budget forces many sorted runs to spill and merge.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use keyed_tile::SpatialKey;
use layer_store::{KeyIndexMethod, Phase, UpdateOptions, WriteOptions, updating_wins};

use crate::common::{catalog, contents, id, metadata, spatial_bounds, value};

#[test]
fn tiny_budget_spills_many_runs_and_reads_back() {
    let (dir, catalog) = catalog();
    let layer = id("spill", 9);
    let mut model = BTreeMap::new();
    let mut records = Vec::new();
    // A scrambled order with repeated keys: later values must win across runs.
    for round in 0..2u32 {
        for n in 0..3000u32 {
            let m = (n * 7919 + round * 13) % 3000;
            let k = SpatialKey::new((m % 60) as i32, (m / 60) as i32);
            let v = value(k.col, k.row, round);
            model.insert(k, v.clone());
            records.push((k, v));
        }
    }
    let done = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&done);
    let options = WriteOptions::default()
        .memory_budget(64 << 10)
        .max_part_bytes(16 << 10)
        .spill_dir(dir.path().join("spill-here"))
        .progress(move |p| {
            if p.phase == Phase::Done {
                seen.store(p.records_written, Ordering::Relaxed);
            }
        });
    let report = catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 59, 59)),
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            },
            records,
            &options,
        )
        .unwrap();
    assert!(report.spilled_runs > 3, "{report:?}");
    assert_eq!(report.records_in, 6000);
    assert_eq!(report.duplicates_dropped, 3000);
    assert_eq!(report.records_written, 3000);
    assert_eq!(done.load(Ordering::Relaxed), 3000);
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    catalog.verify(&layer).unwrap();
    // The spill directory is cleaned up by the time the write returns.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("spill-here"))
        .unwrap()
        .collect();
    assert!(left.is_empty());

    // An update with the same tiny budget spills too.
    let updates: Vec<_> = (0..2000u32)
        .map(|n| {
            let k = SpatialKey::new((n % 50) as i32, (n / 50) as i32 + 5);
            (k, value(k.col, k.row, 7))
        })
        .collect();
    let report = catalog
        .update(
            &layer,
            updates.clone(),
            updating_wins,
            &UpdateOptions::default().write(options.clone()),
        )
        .unwrap();
    assert!(report.spilled_runs > 1, "{report:?}");
    model.extend(updates);
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    catalog.verify(&layer).unwrap();
}
