//! Queries by key bounds and by extent: agreement with a filter over the model, index
//! order, parallel and sequential runs, coarse budgets, batches that split an index group.

use std::collections::BTreeMap;

use keyed_tile::index::{AnyKeyIndex, Budget, KeyIndex};
use keyed_tile::{Extent, KeyBounds, SpaceTimeKey, SpatialKey};
use layer_store::{Catalog, CatalogOptions, LayerId, QueryOptions, WriteOptions};

use crate::common::{id, metadata, spatial_bounds, st_bounds, value};

fn spatial_layer(
    threads: usize,
) -> (
    tempfile::TempDir,
    Catalog,
    LayerId,
    BTreeMap<SpatialKey, Vec<u8>>,
) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open_with(
        dir.path(),
        CatalogOptions::default()
            .threads(threads)
            .sync(false)
            .reader_cache(3),
    )
    .unwrap();
    let layer = id("q", 6);
    let model: BTreeMap<_, _> = (0..40)
        .flat_map(|c| (0..40).map(move |r| (SpatialKey::new(c, r), value(c, r, 2))))
        .filter(|(k, _)| (k.col * k.row) % 5 != 1)
        .collect();
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 39, 39)),
            AnyKeyIndex::hilbert(spatial_bounds(0, 0, 63, 63), None).unwrap(),
            model.clone(),
            &WriteOptions::default().max_part_bytes(2048),
        )
        .unwrap();
    (dir, catalog, layer, model)
}

fn boxes() -> Vec<KeyBounds<SpatialKey>> {
    vec![
        spatial_bounds(0, 0, 39, 39),
        spatial_bounds(3, 4, 17, 9),
        spatial_bounds(20, 20, 20, 20),
        spatial_bounds(30, 0, 63, 63),
        spatial_bounds(-10, -10, 2, 2),
        spatial_bounds(41, 41, 50, 50),
        spatial_bounds(100, 100, 200, 200),
    ]
}

#[test]
fn queries_agree_with_the_model_in_index_order() {
    for threads in [1, 3] {
        let (_dir, catalog, layer, model) = spatial_layer(threads);
        let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
        assert!(reader.part_count() > 10);
        let index = reader.attributes().key_index.clone();
        for b in boxes() {
            let expected: BTreeMap<_, _> = model
                .iter()
                .filter(|(k, _)| b.contains(k))
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            for budget in [Budget::EXACT, Budget::max_ranges(1), Budget::max_ranges(7)] {
                let options = QueryOptions::default().budget(budget).parallel_min_cells(0);
                let mut last = 0;
                let mut got = BTreeMap::new();
                for r in reader.query_with(&b, &options).unwrap() {
                    let (k, v) = r.unwrap();
                    let i = index.to_index(&k).unwrap();
                    assert!(i >= last, "results out of index order");
                    last = i;
                    assert!(got.insert(k, v).is_none());
                }
                assert_eq!(got, expected, "box {b} threads {threads} budget {budget:?}");
            }
            let count = reader
                .query_for_each(&b, |k, v| {
                    assert_eq!(model.get(&k).map(Vec::as_slice), Some(v));
                    Ok(())
                })
                .unwrap();
            assert_eq!(count as usize, expected.len());
        }
    }
}

#[test]
fn dropping_a_query_early_stops_it() {
    let (_dir, catalog, layer, _model) = spatial_layer(2);
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    let everything = spatial_bounds(0, 0, 63, 63);
    let options = QueryOptions::default().parallel_min_cells(0);
    let first: Vec<_> = reader
        .query_with(&everything, &options)
        .unwrap()
        .take(3)
        .collect();
    assert_eq!(first.len(), 3);
    // The reader still works afterwards.
    assert!(reader.read(&SpatialKey::new(0, 0)).is_ok());
}

#[test]
fn query_by_extent_goes_through_the_layout() {
    let (_dir, catalog, layer, model) = spatial_layer(2);
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    let layout = crate::common::layout();
    // A map area covering parts of tiles (2..=4, 60..=61 from the top).
    let extent = Extent::new(2.5 * 1024.0, 2.2 * 1024.0, 4.5 * 1024.0, 3.9 * 1024.0).unwrap();
    let bounds = layout.extent_to_bounds(&extent);
    let expected: BTreeMap<_, _> = model
        .iter()
        .filter(|(k, _)| bounds.contains(k))
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let got: BTreeMap<_, _> = reader
        .query_extent(&extent, None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, expected);
}

/// Space-time keys whose instants share one time bin share one index: collisions.
fn colliding_layer(
    threads: usize,
) -> (
    tempfile::TempDir,
    Catalog,
    LayerId,
    BTreeMap<SpaceTimeKey, Vec<u8>>,
) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open_with(
        dir.path(),
        CatalogOptions::default().threads(threads).sync(false),
    )
    .unwrap();
    let layer = id("collide", 1);
    let bounds = st_bounds(0, 0, 0, 3, 3, 10_000_000);
    // One-hour bins; instants one second apart: 700 keys per (col, row) share an index.
    let index = AnyKeyIndex::zorder(bounds, Some(3_600_000)).unwrap();
    let model: BTreeMap<_, _> = (0..3)
        .flat_map(|c| {
            (0..2).flat_map(move |r| {
                (0..700).map(move |s| {
                    let k = SpaceTimeKey::new(c, r, i64::from(s) * 1000);
                    (k, format!("{c}/{r}/{s}").into_bytes())
                })
            })
        })
        .collect();
    catalog
        .write(
            &layer,
            metadata(bounds),
            index,
            model.clone(),
            &WriteOptions::default(),
        )
        .unwrap();
    (dir, catalog, layer, model)
}

#[test]
fn colliding_keys_are_told_apart() {
    let (_dir, catalog, layer, model) = colliding_layer(2);
    let reader = catalog.reader::<SpaceTimeKey>(&layer).unwrap();
    let index = &reader.attributes().key_index;
    let a = index.to_index(&SpaceTimeKey::new(1, 1, 0)).unwrap();
    let b = index.to_index(&SpaceTimeKey::new(1, 1, 699_000)).unwrap();
    assert_eq!(a, b, "the test needs colliding keys");
    for (k, v) in model.iter().step_by(7) {
        assert_eq!(&reader.read(k).unwrap(), v);
    }
    // Same bin, absent instant: not found.
    assert!(reader.read(&SpaceTimeKey::new(1, 1, 500)).is_err());
    catalog.verify(&layer).unwrap();
}

#[test]
fn time_range_queries_refine_within_a_bin() {
    for threads in [1, 2] {
        let (_dir, catalog, layer, model) = colliding_layer(threads);
        let reader = catalog.reader::<SpaceTimeKey>(&layer).unwrap();
        // Batches hold 256 records: 700 colliding records span several, which the
        // sequential iterator resumes in the middle of an index group.
        let all_keys = st_bounds(0, 0, 0, 3, 3, 10_000_000);
        let options = QueryOptions::default().parallel_min_cells(0);
        let all: Vec<_> = reader
            .query_with(&all_keys, &options)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(all.len(), model.len());
        let all: BTreeMap<_, _> = all.into_iter().collect();
        assert_eq!(all, model);
        let q = st_bounds(1, 0, 100_000, 2, 1, 399_000);
        let got: BTreeMap<_, _> = reader.query(&q).unwrap().map(Result::unwrap).collect();
        let expected: BTreeMap<_, _> = model
            .iter()
            .filter(|(k, _)| q.contains(k))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        assert_eq!(got.len(), 2 * 2 * 300);
        assert_eq!(got, expected);
        let extent = crate::common::layout().key_extent(SpatialKey::new(2, 1));
        let got = reader
            .query_extent(&extent, Some((5_000, 5_999)))
            .unwrap()
            .map(Result::unwrap)
            .map(|(k, _)| k)
            .collect::<Vec<_>>();
        assert!(got.contains(&SpaceTimeKey::new(2, 1, 5_000)));
        assert!(got.iter().all(|k| k.instant == 5_000));
    }
}

#[test]
fn updates_merge_colliding_keys_once_each() {
    let (_dir, catalog, layer, mut model) = colliding_layer(2);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let updates: Vec<_> = (0..700)
        .step_by(3)
        .map(|s| (SpaceTimeKey::new(2, 1, i64::from(s) * 1000), b"u".to_vec()))
        .chain([(SpaceTimeKey::new(2, 1, 1), b"new".to_vec())])
        .collect();
    catalog
        .update(
            &layer,
            updates.clone(),
            |_, existing: &[u8], updating: &[u8]| {
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                [existing, updating].concat()
            },
            &layer_store::UpdateOptions::default(),
        )
        .unwrap();
    assert_eq!(calls.into_inner(), updates.len() - 1);
    for (k, v) in updates {
        model.entry(k).or_default().extend_from_slice(&v);
    }
    let got: BTreeMap<_, _> = catalog
        .reader::<SpaceTimeKey>(&layer)
        .unwrap()
        .all()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, model);
    catalog.verify(&layer).unwrap();
}
