//! Incremental update (ADR 0002): merge order, exactly-once, overwrite mode, untouched
//! parts kept, out-of-bounds updates rejected whole, metadata growth.

use std::collections::BTreeMap;
use std::sync::Mutex;

use keyed_tile::SpatialKey;
use layer_store::{Error, KeyIndexMethod, UpdateOptions, WriteOptions, updating_wins};

use crate::common::{catalog, contents, id, metadata, spatial_bounds, value};

fn zorder() -> KeyIndexMethod {
    KeyIndexMethod::ZOrder {
        temporal_resolution_ms: None,
    }
}

/// A layer over cols/rows 0..32 holding the keys with even columns below 16.
fn setup() -> (
    tempfile::TempDir,
    layer_store::Catalog,
    layer_store::LayerId,
    BTreeMap<SpatialKey, Vec<u8>>,
) {
    let (dir, catalog) = catalog();
    let layer = id("upd", 4);
    let records: BTreeMap<_, _> = (0..16)
        .step_by(2)
        .flat_map(|c| (0..16).map(move |r| (SpatialKey::new(c, r), value(c, r, 0))))
        .collect();
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 15, 15)),
            keyed_tile::index::AnyKeyIndex::zorder(spatial_bounds(0, 0, 31, 31), None).unwrap(),
            records.clone(),
            &WriteOptions::default().max_part_bytes(512).partitions(4),
        )
        .unwrap();
    (dir, catalog, layer, records)
}

#[test]
fn merge_gets_existing_then_updating_exactly_once_per_key() {
    let (_dir, catalog, layer, mut model) = setup();
    let calls: Mutex<Vec<SpatialKey>> = Mutex::new(Vec::new());
    let updates: Vec<(SpatialKey, Vec<u8>)> = vec![
        (SpatialKey::new(2, 3), b"new-2-3".to_vec()),
        (SpatialKey::new(4, 4), b"new-4-4".to_vec()),
        (SpatialKey::new(1, 1), b"fresh".to_vec()),
    ];
    let merge = |k: &SpatialKey, existing: &[u8], updating: &[u8]| {
        calls.lock().unwrap().push(*k);
        let mut v = existing.to_vec();
        v.extend_from_slice(b"+");
        v.extend_from_slice(updating);
        v
    };
    let report = catalog
        .update(&layer, updates.clone(), merge, &UpdateOptions::default())
        .unwrap();
    let mut calls = calls.into_inner().unwrap();
    calls.sort();
    assert_eq!(calls, vec![SpatialKey::new(2, 3), SpatialKey::new(4, 4)]);
    assert_eq!(report.merged, 2);
    for (k, v) in updates {
        let entry = model.entry(k).or_default();
        if entry.is_empty() {
            *entry = v;
        } else {
            entry.extend_from_slice(b"+");
            entry.extend_from_slice(&v);
        }
    }
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    catalog.verify(&layer).unwrap();
}

#[test]
fn only_touched_parts_are_rewritten() {
    let (_dir, catalog, layer, mut model) = setup();
    let before = catalog.reader::<SpatialKey>(&layer).unwrap().part_count();
    assert!(before >= 6, "the setup needs several parts, got {before}");
    let k = SpatialKey::new(0, 0);
    let report = catalog
        .update(
            &layer,
            vec![(k, b"changed".to_vec())],
            updating_wins,
            &UpdateOptions::default(),
        )
        .unwrap();
    assert_eq!(report.parts_written, 1, "{report:?}");
    assert_eq!(report.parts_kept, before - 1, "{report:?}");
    model.insert(k, b"changed".to_vec());
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
}

#[test]
fn keys_beyond_the_parts_go_to_new_parts() {
    let (_dir, catalog, layer, mut model) = setup();
    let before = catalog.reader::<SpatialKey>(&layer).unwrap().part_count();
    // Keys far outside the written area: their indexes lie beyond every part.
    let updates: Vec<_> = (20..32)
        .map(|c| (SpatialKey::new(c, 31), value(c, 31, 9)))
        .collect();
    let report = catalog
        .update(
            &layer,
            updates.clone(),
            updating_wins,
            &UpdateOptions::default(),
        )
        .unwrap();
    assert_eq!(report.parts_kept, before, "{report:?}");
    assert!(report.parts_written >= 1);
    model.extend(updates);
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    let attrs = catalog.read_attributes::<SpatialKey>(&layer).unwrap();
    assert_eq!(attrs.metadata.bounds, spatial_bounds(0, 0, 31, 31));
    catalog.verify(&layer).unwrap();
}

#[test]
fn overwrite_mode_never_calls_merge() {
    let (_dir, catalog, layer, mut model) = setup();
    let k = SpatialKey::new(6, 7);
    let merge = |_: &SpatialKey, _: &[u8], _: &[u8]| -> Vec<u8> {
        panic!("merge called in overwrite mode")
    };
    let report = catalog
        .update(
            &layer,
            vec![(k, b"over".to_vec())],
            merge,
            &UpdateOptions::default().overwrite(true),
        )
        .unwrap();
    assert_eq!(report.merged, 0);
    model.insert(k, b"over".to_vec());
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
}

#[test]
fn out_of_bounds_update_leaves_the_layer_unchanged() {
    let (dir, catalog, layer, model) = setup();
    let generation = catalog.info(&layer).unwrap().generation;
    let updates = vec![
        (SpatialKey::new(2, 2), b"would change".to_vec()),
        (SpatialKey::new(40, 2), b"outside".to_vec()),
    ];
    let err = catalog
        .update(&layer, updates, updating_wins, &UpdateOptions::default())
        .unwrap_err();
    match &err {
        Error::OutOfKeyBounds { key, .. } => assert!(key.contains("40"), "{err}"),
        other => panic!("{other}"),
    }
    assert_eq!(catalog.info(&layer).unwrap().generation, generation);
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    // No staging left behind.
    let layer_dir = dir.path().join("upd").join("4");
    let entries: Vec<_> = std::fs::read_dir(layer_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, vec![format!("g{generation}")]);
}

#[test]
fn update_of_a_missing_layer_is_an_error() {
    let (_dir, catalog) = catalog();
    let err = catalog
        .update(
            &id("nope", 1),
            vec![(SpatialKey::new(0, 0), b"x".to_vec())],
            updating_wins,
            &UpdateOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::LayerNotFound { .. }), "{err}");
}

#[test]
fn update_of_an_empty_layer_writes_new_parts() {
    let (_dir, catalog) = catalog();
    let layer = id("empty", 0);
    let none: Vec<(SpatialKey, Vec<u8>)> = Vec::new();
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 7, 7)),
            zorder(),
            none,
            &WriteOptions::default(),
        )
        .unwrap();
    assert!(contents::<SpatialKey>(&catalog, &layer).is_empty());
    let updates = vec![(SpatialKey::new(3, 3), b"x".to_vec())];
    catalog
        .update(
            &layer,
            updates.clone(),
            updating_wins,
            &UpdateOptions::default(),
        )
        .unwrap();
    assert_eq!(
        contents::<SpatialKey>(&catalog, &layer),
        updates.into_iter().collect()
    );
}

#[test]
fn concurrent_updates_of_one_layer_take_turns() {
    let (_dir, catalog, layer, mut model) = setup();
    let batches: Vec<Vec<(SpatialKey, Vec<u8>)>> = (0..4)
        .map(|t| {
            (0..8)
                .map(|i| (SpatialKey::new(16 + t, i), value(16 + t, i, 5)))
                .collect()
        })
        .collect();
    std::thread::scope(|s| {
        for batch in &batches {
            let catalog = catalog.clone();
            let layer = layer.clone();
            s.spawn(move || {
                catalog
                    .update(
                        &layer,
                        batch.clone(),
                        updating_wins,
                        &UpdateOptions::default(),
                    )
                    .unwrap();
            });
        }
    });
    for batch in batches {
        model.extend(batch);
    }
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    catalog.verify(&layer).unwrap();
}
