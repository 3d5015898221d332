//! Spills of large records (5-20 KiB values) go to a value log and runs of references into
//! it: writes and updates under a small budget read back exactly, on the writer-thread
//! and the single-thread paths, and leave no spill directory or value log behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use keyed_tile::SpatialKey;
use layer_store::{
    Catalog, CatalogOptions, KeyIndexMethod, LayerId, UpdateOptions, WriteOptions, updating_wins,
};

use crate::common::{catalog, contents, id, metadata, spatial_bounds};

/// A budget whose sorter share (a quarter of it, as the reserve for buffers exceeds it)
/// takes in about ten records of these sizes: writing a few hundred spills dozens of runs.
const BUDGET: usize = 512 << 10;

/// A catalog limited to one thread: the value log is written on the spilling thread.
fn catalog_one_thread() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let catalog =
        Catalog::open_with(dir.path(), CatalogOptions::default().threads(1).sync(false)).unwrap();
    (dir, catalog)
}

/// Records, and what a layer holds after they are written.
type Records = Vec<(SpatialKey, Vec<u8>)>;
type Model = BTreeMap<SpatialKey, Vec<u8>>;

/// The `n`th of the keys used here: distinct cells spread over the 64 x 64 grid.
fn key(n: u32) -> SpatialKey {
    let cell = (n * 997) % 4096;
    SpatialKey::new((cell % 64) as i32, (cell / 64) as i32)
}

/// A value of 5-20 KiB naming its key and version, filled with bytes that depend on
/// both, so that a payload read from a wrong place in the value log cannot pass.
fn big_value(k: SpatialKey, version: u32) -> Vec<u8> {
    let mut x = (u64::from(k.col as u32) << 40)
        ^ (u64::from(k.row as u32) << 20)
        ^ u64::from(version)
        ^ 0x9E37_79B9_7F4A_7C15;
    let mut step = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = 5 * 1024 + (step() % (15 * 1024)) as usize;
    let mut v = format!("{}/{}@{version}:", k.col, k.row).into_bytes();
    while v.len() < len {
        v.extend_from_slice(&step().to_le_bytes());
    }
    v.truncate(len);
    v
}

/// `count` records over `keys` distinct keys (starting at key number `first`) in a
/// scrambled order, each key's versions counting up from `version`; and the model of what
/// a write keeps (the latest version of each key).
fn scrambled(first: u32, keys: u32, count: u32, version: u32) -> (Records, Model) {
    let mut seen: BTreeMap<SpatialKey, u32> = BTreeMap::new();
    let mut model = BTreeMap::new();
    let mut records = Vec::new();
    let mut x = 0x2545_F491_4F6C_DD1Du64 ^ u64::from(first);
    for _ in 0..count {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let k = key(first + ((x >> 33) % u64::from(keys)) as u32);
        let times = seen.entry(k).or_insert(0);
        let v = big_value(k, version + *times);
        *times += 1;
        model.insert(k, v.clone());
        records.push((k, v));
    }
    (records, model)
}

fn layer_dir(catalog: &Catalog, layer: &LayerId) -> PathBuf {
    catalog
        .dir()
        .join(layer.name())
        .join(layer.zoom().to_string())
}

/// The spill directories (`.spill-g<n>`) in a layer's directory, each with its run files
/// and the length of its value log (if it has one).
fn spill_dirs(layer_dir: &Path) -> Vec<(PathBuf, usize, Option<u64>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(layer_dir).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_name().to_string_lossy().starts_with(".spill-g") {
            continue;
        }
        let mut runs = 0;
        let mut log = None;
        for inner in std::fs::read_dir(entry.path()).unwrap() {
            let inner = inner.unwrap();
            let name = inner.file_name().to_string_lossy().into_owned();
            if name.starts_with("values") {
                // The value log: one file, or one per writer thread.
                let len = inner.metadata().unwrap().len();
                log = Some(log.unwrap_or(0) + len);
            } else if name.starts_with("run-") {
                runs += 1;
            }
        }
        out.push((entry.path(), runs, log));
    }
    out
}

/// Every path under `dir` whose name looks like a spill directory or a value log.
fn spill_leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".spill") || name.contains("spill-") || name.starts_with("values") {
                out.push(entry.path());
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out
}

/// Wraps `records` so that, when the last one is taken, the sorter's spill directory is
/// checked while it is in use: it holds a non-empty value log and, runs having been
/// compacted, at most 32 run files. The check runs (and panics) inside the write.
fn checking_spills(
    records: Records,
    layer_dir: PathBuf,
    checked: &AtomicU64,
) -> impl Iterator<Item = (SpatialKey, Vec<u8>)> + '_ {
    let last = records.len() - 1;
    records.into_iter().enumerate().map(move |(n, r)| {
        if n == last {
            let dirs = spill_dirs(&layer_dir);
            assert_eq!(dirs.len(), 1, "{dirs:?}");
            let (path, runs, log) = &dirs[0];
            assert!(
                log.is_some_and(|len| len > 0),
                "no value log in {}",
                path.display()
            );
            assert!((1..=32).contains(runs), "{runs} runs in {}", path.display());
            checked.fetch_add(1, Ordering::Relaxed);
        }
        r
    })
}

fn write_scrambled_and_read_back(catalog: &Catalog) {
    let layer = id("vlog", 6);
    let (records, model) = scrambled(0, 250, 600, 0);
    let checked = AtomicU64::new(0);
    let options = WriteOptions::default()
        .memory_budget(BUDGET)
        .max_part_bytes(1 << 20)
        .partitions(5);
    let report = catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 63, 63)),
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            },
            checking_spills(records, layer_dir(catalog, &layer), &checked),
            &options,
        )
        .unwrap();
    assert_eq!(checked.load(Ordering::Relaxed), 1);
    assert!(report.spilled_runs > 32, "{report:?}");
    assert_eq!(report.records_in, 600);
    assert_eq!(report.records_written, model.len() as u64);
    assert_eq!(report.duplicates_dropped, 600 - model.len() as u64);
    let got = contents::<SpatialKey>(catalog, &layer);
    assert_eq!(got.len(), model.len());
    for (k, v) in &model {
        assert!(got.get(k) == Some(v), "key {k}: wrong or missing value");
    }
    // Point lookups agree too.
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    for (k, v) in model.iter().step_by(17) {
        assert!(reader.read(k).unwrap() == *v, "key {k}");
    }
    catalog.verify(&layer).unwrap();
    // The spill is gone when the write returns (only closing its files is left to the
    // background).
    let left = spill_leftovers(catalog.dir());
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn write_spills_to_value_log_and_reads_back_with_writer_thread() {
    let (_dir, catalog) = catalog();
    assert!(catalog.options().effective_threads() > 1);
    write_scrambled_and_read_back(&catalog);
}

#[test]
fn write_spills_to_value_log_and_reads_back_on_one_thread() {
    let (_dir, catalog) = catalog_one_thread();
    write_scrambled_and_read_back(&catalog);
}

fn update_merges_from_value_log(catalog: &Catalog) {
    let layer = id("vlog-update", 6);
    // 150 keys, all written once.
    let (records, mut model) = scrambled(0, 150, 150, 0);
    let options = WriteOptions::default().memory_budget(BUDGET);
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 63, 63)),
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            },
            records,
            &options,
        )
        .unwrap();
    let dir = layer_dir(catalog, &layer);

    // Keys 100..300 updated in a scrambled order with repeats: 50 existing keys are merged
    // (once each, with the latest updating value), the rest are new.
    let (updates, latest) = scrambled(100, 200, 500, 10);
    let existing_hit = latest.keys().filter(|k| model.contains_key(k)).count() as u64;
    assert!(existing_hit > 20, "{existing_hit}");
    let calls = AtomicU64::new(0);
    let checked = AtomicU64::new(0);
    let merge = |_k: &SpatialKey, existing: &[u8], updating: &[u8]| {
        calls.fetch_add(1, Ordering::Relaxed);
        let mut v = existing[..40].to_vec();
        v.extend_from_slice(updating);
        v
    };
    let report = catalog
        .update(
            &layer,
            checking_spills(updates, dir.clone(), &checked),
            merge,
            &UpdateOptions::default().write(options.clone()),
        )
        .unwrap();
    assert_eq!(checked.load(Ordering::Relaxed), 1);
    assert!(report.spilled_runs > 1, "{report:?}");
    assert_eq!(calls.load(Ordering::Relaxed), existing_hit);
    assert_eq!(report.merged, existing_hit);
    assert_eq!(report.records_in, 500);
    for (k, v) in latest {
        let merged = match model.get(&k) {
            Some(old) => [&old[..40], &v[..]].concat(),
            None => v,
        };
        model.insert(k, merged);
    }
    let got = contents::<SpatialKey>(catalog, &layer);
    assert_eq!(got.len(), model.len());
    for (k, v) in &model {
        assert!(got.get(k) == Some(v), "key {k}: wrong or missing value");
    }

    // The default merge: the updating value wins over every existing one.
    let (updates, latest) = scrambled(50, 200, 400, 20);
    let report = catalog
        .update(
            &layer,
            checking_spills(updates, dir.clone(), &checked),
            updating_wins,
            &UpdateOptions::default().write(options),
        )
        .unwrap();
    assert_eq!(checked.load(Ordering::Relaxed), 2);
    assert!(report.spilled_runs > 1, "{report:?}");
    model.extend(latest);
    let got = contents::<SpatialKey>(catalog, &layer);
    assert_eq!(got.len(), model.len());
    for (k, v) in &model {
        assert!(got.get(k) == Some(v), "key {k}: wrong or missing value");
    }
    catalog.verify(&layer).unwrap();
    // The spill is gone when the write returns (only closing its files is left to the
    // background).
    let left = spill_leftovers(catalog.dir());
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn update_spilling_to_value_log_merges_once_per_existing_key() {
    let (_dir, catalog) = catalog();
    update_merges_from_value_log(&catalog);
}

#[test]
fn update_spilling_to_value_log_merges_on_one_thread() {
    let (_dir, catalog) = catalog_one_thread();
    update_merges_from_value_log(&catalog);
}

#[test]
fn value_log_in_a_chosen_spill_dir_is_removed() {
    let (dir, catalog) = catalog();
    let layer = id("vlog-dir", 6);
    let spill_here = dir.path().join("spill-here");
    std::fs::create_dir(&spill_here).unwrap();
    let (records, model) = scrambled(0, 100, 200, 0);
    let seen_log = AtomicU64::new(0);
    let records = records.into_iter().enumerate().map(|(n, r)| {
        if n == 199 {
            // The sorter's directory inside the chosen one holds the value log.
            for entry in std::fs::read_dir(&spill_here).unwrap() {
                let logs = std::fs::read_dir(entry.unwrap().path())
                    .unwrap()
                    .filter(|e| {
                        let name = e.as_ref().unwrap().file_name();
                        name.to_string_lossy().starts_with("values")
                    })
                    .count();
                if logs > 0 {
                    seen_log.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        r
    });
    let options = WriteOptions::default()
        .memory_budget(BUDGET)
        .spill_dir(&spill_here);
    let report = catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 63, 63)),
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            },
            records,
            &options,
        )
        .unwrap();
    assert_eq!(seen_log.load(Ordering::Relaxed), 1);
    assert!(report.spilled_runs > 1, "{report:?}");
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    let left: Vec<_> = std::fs::read_dir(&spill_here).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let left = spill_leftovers(&layer_dir(&catalog, &layer));
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_write_that_fails_after_spilling_leaves_no_value_log() {
    // The input spills to the value log, then a key outside the index's bounds ends the
    // write with an error: the spilled values go with it, in the catalog or in a chosen
    // spill directory, and no layer appears.
    for chosen in [false, true] {
        let (dir, catalog) = catalog();
        let layer = id("vlog-fail", 6);
        let elsewhere = tempfile::tempdir().unwrap();
        let spill_here = elsewhere.path().to_path_buf();
        let (mut records, _) = scrambled(0, 100, 300, 0);
        records.push((SpatialKey::new(64, 0), big_value(SpatialKey::new(64, 0), 0)));
        let mut options = WriteOptions::default().memory_budget(BUDGET);
        if chosen {
            options = options.spill_dir(&spill_here);
        }
        let err = catalog
            .write(
                &layer,
                metadata(spatial_bounds(0, 0, 63, 63)),
                KeyIndexMethod::ZOrder {
                    temporal_resolution_ms: None,
                },
                records,
                &options,
            )
            .unwrap_err();
        assert!(
            matches!(err, layer_store::Error::OutOfKeyBounds { .. }),
            "{err:?}"
        );
        let left = spill_leftovers(dir.path());
        assert!(left.is_empty(), "chosen {chosen}: {left:?}");
        assert!(std::fs::read_dir(&spill_here).unwrap().next().is_none());
        assert!(catalog.reader::<SpatialKey>(&layer).is_err());
    }
}
