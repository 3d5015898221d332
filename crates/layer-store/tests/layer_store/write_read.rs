//! Writing a layer and reading it back: point reads, listing, overwrite rules, metadata.

use std::collections::BTreeMap;

use keyed_tile::SpatialKey;
use layer_store::{Error, KeyIndexMethod, WriteOptions};

use crate::common::{catalog, contents, id, metadata, spatial_bounds, value};

fn zorder() -> KeyIndexMethod {
    KeyIndexMethod::ZOrder {
        temporal_resolution_ms: None,
    }
}

#[test]
fn write_then_read_every_key() {
    let (dir, catalog) = catalog();
    let layer = id("dem", 5);
    let bounds = spatial_bounds(0, 0, 31, 31);
    let mut model = BTreeMap::new();
    // Reverse order: the writer must sort.
    let records: Vec<_> = (0..32)
        .rev()
        .flat_map(|c| (0..32).map(move |r| (SpatialKey::new(c, r), value(c, r, 0))))
        .filter(|(k, _)| (k.col + k.row) % 3 != 0)
        .collect();
    for (k, v) in &records {
        model.insert(*k, v.clone());
    }
    let options = WriteOptions::default().max_part_bytes(4096).partitions(3);
    let report = catalog
        .write(&layer, metadata(bounds), zorder(), records, &options)
        .unwrap();
    assert_eq!(report.records_written, model.len() as u64);
    assert!(
        report.parts_written > 3,
        "small parts roll over: {report:?}"
    );
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    for (k, v) in &model {
        assert_eq!(&reader.read(k).unwrap(), v);
    }
    let missing = SpatialKey::new(3, 0);
    assert!(matches!(
        reader.read(&missing),
        Err(Error::ValueNotFound { .. })
    ));
    // Outside the index bounds: not found, not an error of another kind.
    assert!(matches!(
        reader.read(&SpatialKey::new(-5, 900)),
        Err(Error::ValueNotFound { .. })
    ));
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    assert_eq!(catalog.list().unwrap(), vec![layer.clone()]);
    let report = catalog.verify(&layer).unwrap();
    assert_eq!(report.records, model.len() as u64);
    // The layout on disk.
    assert!(
        dir.path()
            .join("_attributes/dem__5__metadata.json")
            .is_file()
    );
    let info = catalog.info(&layer).unwrap();
    assert_eq!(info.part_count, reader.part_count());
    assert!(info.parts_dir.starts_with(dir.path().join("dem").join("5")));
}

#[test]
fn writing_over_a_layer_needs_overwrite() {
    let (_dir, catalog) = catalog();
    let layer = id("a", 1);
    let bounds = spatial_bounds(0, 0, 7, 7);
    let one = vec![(SpatialKey::new(1, 1), b"one".to_vec())];
    let two = vec![(SpatialKey::new(2, 2), b"two".to_vec())];
    catalog
        .write(
            &layer,
            metadata(bounds),
            zorder(),
            one.clone(),
            &WriteOptions::default(),
        )
        .unwrap();
    let err = catalog
        .write(
            &layer,
            metadata(bounds),
            zorder(),
            two.clone(),
            &WriteOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::LayerExists { .. }), "{err}");
    assert_eq!(
        contents::<SpatialKey>(&catalog, &layer),
        one.into_iter().collect()
    );
    catalog
        .write(
            &layer,
            metadata(bounds),
            zorder(),
            two.clone(),
            &WriteOptions::default().overwrite(true),
        )
        .unwrap();
    assert_eq!(
        contents::<SpatialKey>(&catalog, &layer),
        two.into_iter().collect()
    );
}

#[test]
fn duplicate_keys_keep_the_later_value() {
    let (_dir, catalog) = catalog();
    let layer = id("dups", 0);
    let k = SpatialKey::new(4, 4);
    let records = vec![
        (k, b"first".to_vec()),
        (SpatialKey::new(1, 2), b"other".to_vec()),
        (k, b"second".to_vec()),
    ];
    let report = catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 7, 7)),
            zorder(),
            records,
            &WriteOptions::default(),
        )
        .unwrap();
    assert_eq!(report.duplicates_dropped, 1);
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    assert_eq!(reader.read(&k).unwrap(), b"second");
}

#[test]
fn out_of_bounds_write_creates_nothing() {
    let (dir, catalog) = catalog();
    let layer = id("oob", 0);
    let records = vec![
        (SpatialKey::new(1, 1), b"in".to_vec()),
        (SpatialKey::new(100, 1), b"out".to_vec()),
    ];
    let err = catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 7, 7)),
            zorder(),
            records,
            &WriteOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::OutOfKeyBounds { .. }), "{err}");
    assert!(!catalog.exists(&layer));
    assert!(
        !dir.path().join("oob").join("0").exists()
            || std::fs::read_dir(dir.path().join("oob/0"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn metadata_grows_to_cover_the_data() {
    let (_dir, catalog) = catalog();
    let layer = id("grow", 0);
    let index = keyed_tile::index::AnyKeyIndex::zorder(spatial_bounds(0, 0, 63, 63), None).unwrap();
    let records = vec![(SpatialKey::new(40, 50), b"x".to_vec())];
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 3, 3)),
            index,
            records,
            &WriteOptions::default(),
        )
        .unwrap();
    let attrs = catalog.read_attributes::<SpatialKey>(&layer).unwrap();
    assert_eq!(attrs.metadata.bounds, spatial_bounds(0, 0, 40, 50));
    let e = attrs.metadata.extent;
    let tile = crate::common::layout().key_extent(SpatialKey::new(40, 50));
    assert!(e.xmax >= tile.xmax && e.ymin <= tile.ymin);
    assert_eq!(attrs.header.key_class, "SpatialKey");
    assert_eq!(attrs.key_index.method(), "zorder");
    // The wrong key type is a clear error.
    assert!(matches!(
        catalog.reader::<keyed_tile::SpaceTimeKey>(&layer),
        Err(Error::KeyTypeMismatch { .. })
    ));
}

#[test]
fn a_reader_of_a_replaced_generation_reports_stale_and_reopens() {
    let (_dir, catalog) = catalog();
    let layer = id("stale", 0);
    let bounds = spatial_bounds(0, 0, 15, 15);
    let records: Vec<_> = (0..16)
        .flat_map(|c| (0..16).map(move |r| (SpatialKey::new(c, r), value(c, r, 0))))
        .collect();
    let options = WriteOptions::default().max_part_bytes(512).overwrite(true);
    catalog
        .write(
            &layer,
            metadata(bounds),
            zorder(),
            records.clone(),
            &options,
        )
        .unwrap();
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    let first = SpatialKey::new(0, 0);
    assert!(reader.read(&first).is_ok());
    catalog
        .write(&layer, metadata(bounds), zorder(), records, &options)
        .unwrap();
    // The part of (0, 0) is still mapped; another part is gone with the old generation.
    assert!(reader.read(&first).is_ok());
    let far = SpatialKey::new(15, 15);
    assert!(matches!(reader.read(&far), Err(Error::StaleReader { .. })));
    assert_eq!(
        reader.reopen().unwrap().read(&far).unwrap(),
        value(15, 15, 0)
    );
}

#[test]
fn damaged_parts_are_reported_not_panicked_on() {
    let (_dir, catalog) = catalog();
    let layer = id("damaged", 0);
    let records: Vec<_> = (0..16)
        .flat_map(|c| (0..16).map(move |r| (SpatialKey::new(c, r), value(c, r, 0))))
        .collect();
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 15, 15)),
            zorder(),
            records.clone(),
            &WriteOptions::default().max_part_bytes(1024),
        )
        .unwrap();
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    let parts: Vec<_> = reader.parts().map(|(_, p)| p.to_path_buf()).collect();
    drop(reader);
    // Flip a byte inside the records of one part, and truncate another.
    let mut bytes = std::fs::read(&parts[0]).unwrap();
    bytes[40] ^= 0x55;
    std::fs::write(&parts[0], &bytes).unwrap();
    let short = std::fs::read(&parts[1]).unwrap();
    std::fs::write(&parts[1], &short[..short.len() / 2]).unwrap();
    match catalog.verify(&layer) {
        Err(Error::Part { path, .. }) => assert_eq!(path, parts[0]),
        other => panic!("{other:?}"),
    }
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    let mut errors = 0;
    for (k, v) in &records {
        match reader.read(k) {
            Ok(got) => assert!(got == *v || got.len() == v.len()),
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0);
    let mut query_failed = false;
    for r in reader.all().unwrap() {
        if r.is_err() {
            query_failed = true;
        }
    }
    assert!(query_failed);
}

#[test]
fn tiles_round_trip_through_the_codec() {
    use keyed_tile::codec::Compression;
    use keyed_tile::{CellType, MultibandTile, Tile};
    let (_dir, catalog) = catalog();
    let layer = id("tiles", 2);
    let tiles: Vec<_> = (0..4)
        .map(|c| {
            let mut t = Tile::new("int16".parse::<CellType>().unwrap(), 8, 8).unwrap();
            t.set(1, 2, c * 100).unwrap();
            (SpatialKey::new(c, 1), MultibandTile::from(t))
        })
        .collect();
    catalog
        .write_tiles(
            &layer,
            metadata(spatial_bounds(0, 0, 7, 7)),
            zorder(),
            tiles.clone(),
            Compression::default(),
            &WriteOptions::default(),
        )
        .unwrap();
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    for (k, t) in &tiles {
        assert_eq!(&reader.read_tile(k).unwrap(), t);
    }
}
