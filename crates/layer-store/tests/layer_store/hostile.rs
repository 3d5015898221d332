//! Hostile input never panics: corrupt metadata documents, misnamed and duplicated part
//! files, and keys at the ends of the integer ranges. Tests run in debug, where integer
//! overflow panics, so every arithmetic slip on these paths would show here.

use std::path::PathBuf;

use keyed_tile::{KeyBounds, SpaceTimeKey, SpatialKey};
use layer_store::{
    Catalog, CatalogOptions, Error, KeyIndexMethod, LayerId, UpdateOptions, WriteOptions,
    updating_wins,
};

use crate::common::{catalog, contents, id, metadata, spatial_bounds, st_bounds, value};

const ZORDER: KeyIndexMethod = KeyIndexMethod::ZOrder {
    temporal_resolution_ms: None,
};

fn write_small(catalog: &Catalog, layer: &LayerId) {
    let records = (0..8).flat_map(|c| (0..8).map(move |r| (SpatialKey::new(c, r), value(c, r, 0))));
    catalog
        .write(
            layer,
            metadata(spatial_bounds(0, 0, 7, 7)),
            ZORDER,
            records,
            &WriteOptions::default().max_part_bytes(512),
        )
        .unwrap();
}

fn metadata_path(catalog: &Catalog, layer: &LayerId) -> PathBuf {
    catalog.attributes().path(layer, "metadata").unwrap()
}

#[test]
fn corrupt_metadata_is_an_error_naming_the_file() {
    let (dir, catalog) = catalog();
    let layer = id("corrupt", 3);
    let healthy = id("healthy", 3);
    write_small(&catalog, &layer);
    write_small(&catalog, &healthy);
    let path = metadata_path(&catalog, &layer);
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();

    let mut huge_generation = good.clone();
    huge_generation["header"]["generation"] = serde_json::json!(u64::MAX);
    let mut missing_generation = good.clone();
    missing_generation["header"]["generation"] = serde_json::json!(77);
    let mut negative_generation = good.clone();
    negative_generation["header"]["generation"] = serde_json::json!(-1);
    let mut bad_index = good.clone();
    bad_index["keyIndex"]["properties"]["keyBounds"]["maxKey"]["col"] = serde_json::json!(i64::MAX);
    let mut other_type = good.clone();
    other_type["keyIndex"]["type"] = serde_json::json!("peano");
    let mut path_escape = good.clone();
    path_escape["header"]["path"] = serde_json::json!("../../../etc");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\xffnot json".to_vec()),
        ("empty", Vec::new()),
        (
            "truncated",
            serde_json::to_vec(&good).unwrap()[..40].to_vec(),
        ),
        ("an empty object", b"{}".to_vec()),
        (
            "a huge generation",
            serde_json::to_vec(&huge_generation).unwrap(),
        ),
        (
            "a missing generation",
            serde_json::to_vec(&missing_generation).unwrap(),
        ),
        (
            "a negative generation",
            serde_json::to_vec(&negative_generation).unwrap(),
        ),
        (
            "a key index out of range",
            serde_json::to_vec(&bad_index).unwrap(),
        ),
        (
            "an unknown key index",
            serde_json::to_vec(&other_type).unwrap(),
        ),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        // Reading fails with an error; nothing panics.
        let Err(err) = catalog.reader::<SpatialKey>(&layer) else {
            panic!("{what}: a reader opened");
        };
        // The message and its causes (messages do not repeat their sources' text).
        let mut message = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            message = format!("{message}: {c}");
            cause = c.source();
        }
        assert!(
            message.contains("metadata")
                || message.contains("/g77")
                || message.contains("/g18446744073709551615")
                || message.contains("generation"),
            "{what}: the error names no file: {message}"
        );
        assert!(catalog.verify(&layer).is_err(), "{what}");
        let update = vec![(SpatialKey::new(1, 1), b"x".to_vec())];
        assert!(
            catalog
                .update(&layer, update, updating_wins, &UpdateOptions::default())
                .is_err(),
            "{what}"
        );
        assert!(
            catalog
                .reindex::<SpatialKey>(&layer, KeyIndexMethod::RowMajor, &WriteOptions::default())
                .is_err(),
            "{what}"
        );
        // Copy works on the untyped document, so a layer whose key index alone is damaged
        // copies as it is; either way nothing panics, and the copy is removed again.
        if catalog.copy(&layer, &id("copied", 3), false).is_ok() {
            catalog.delete(&id("copied", 3)).unwrap();
        }
        // One broken layer does not make the catalog unopenable, nor its neighbours unreadable.
        let reopened = Catalog::open_with(dir.path(), CatalogOptions::default().sync(false))
            .unwrap_or_else(|e| panic!("{what}: the catalog does not open: {e}"));
        assert_eq!(
            contents::<SpatialKey>(&reopened, &healthy).len(),
            64,
            "{what}"
        );
    }
    // The header's path is informative only: an escaping one points nowhere.
    std::fs::write(&path, serde_json::to_vec(&path_escape).unwrap()).unwrap();
    assert_eq!(contents::<SpatialKey>(&catalog, &layer).len(), 64);
    // A broken layer can still be deleted, completely.
    std::fs::write(&path, b"garbage").unwrap();
    catalog.delete(&layer).unwrap();
    assert!(!dir.path().join("corrupt").exists());
    assert!(!catalog.exists(&layer));
}

#[test]
fn duplicated_and_stray_part_files_are_errors_not_panics() {
    let (_dir, catalog) = catalog();
    let layer = id("dupes", 0);
    write_small(&catalog, &layer);
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    let parts: Vec<(u64, PathBuf)> = reader.parts().map(|(f, p)| (f, p.to_path_buf())).collect();
    drop(reader);
    assert!(parts.len() > 1, "{parts:?}");
    let (first, path) = &parts[0];
    assert_eq!(*first, 0);
    let gen_dir = path.parent().unwrap();
    // A second file with the same first index 0, and stray files that are not parts.
    std::fs::copy(path, gen_dir.join("part-r-99999-0")).unwrap();
    std::fs::write(gen_dir.join("part-r-1-2"), b"not a part").unwrap();
    std::fs::write(gen_dir.join("notes.txt"), b"hello").unwrap();
    match catalog.verify(&layer) {
        Err(Error::OverlappingParts { index: 0, .. }) => {}
        other => panic!("a duplicated part verifies: {other:?}"),
    }
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    for c in 0..8 {
        assert_eq!(reader.read(&SpatialKey::new(c, 0)).unwrap(), value(c, 0, 0));
    }
    // An empty, truncated part is an error naming it.
    std::fs::write(&parts[1].1, b"").unwrap();
    match catalog.verify(&layer) {
        Err(e) => assert!(e.to_string().contains("part-r-"), "{e}"),
        Ok(r) => panic!("{r:?}"),
    }
}

#[test]
fn keys_at_the_ends_of_the_integer_ranges() {
    let (_dir, catalog) = catalog();
    let layer = id("extreme", 0);
    let bounds = spatial_bounds(i32::MIN, i32::MIN, i32::MAX, i32::MAX);
    let corners = [
        SpatialKey::new(i32::MIN, i32::MIN),
        SpatialKey::new(i32::MAX, i32::MAX),
        SpatialKey::new(i32::MIN, i32::MAX),
        SpatialKey::new(i32::MAX, i32::MIN),
        SpatialKey::new(0, 0),
        SpatialKey::new(-1, -1),
    ];
    for method in [ZORDER, KeyIndexMethod::RowMajor] {
        let records: Vec<_> = corners
            .iter()
            .map(|k| (*k, k.to_string().into_bytes()))
            .collect();
        catalog
            .write(
                &layer,
                metadata(bounds),
                method,
                records.clone(),
                &WriteOptions::default().overwrite(true).partitions(7),
            )
            .unwrap();
        let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
        for (k, v) in &records {
            assert_eq!(&reader.read(k).unwrap(), v);
        }
        assert_eq!(reader.all().unwrap().count(), corners.len());
        // A map extent far beyond the layout clips to the key bounds without overflow.
        // keyed-tile saturates its far edge at i32::MAX and ends the box one tile before
        // it, so the keys in column or row i32::MAX stay outside.
        let everywhere = keyed_tile::Extent::new(-1e300, -1e300, 1e300, 1e300).unwrap();
        let found = reader.query_extent(&everywhere, None).unwrap().count();
        let inside = corners
            .iter()
            .filter(|k| k.col < i32::MAX && k.row < i32::MAX)
            .count();
        assert_eq!(found, inside);
        let corner = KeyBounds::new(
            SpatialKey::new(i32::MAX - 1, i32::MAX - 1),
            SpatialKey::new(i32::MAX, i32::MAX),
        )
        .unwrap();
        let found: Vec<_> = reader
            .query(&corner)
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(found, vec![SpatialKey::new(i32::MAX, i32::MAX)]);
        catalog.verify(&layer).unwrap();
        // Updates at the extremes merge too.
        let update = vec![(SpatialKey::new(i32::MAX, i32::MAX), b"new".to_vec())];
        catalog
            .update(&layer, update, updating_wins, &UpdateOptions::default())
            .unwrap();
        let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
        assert_eq!(
            reader.read(&SpatialKey::new(i32::MAX, i32::MAX)).unwrap(),
            b"new"
        );
    }

    // Space-time bounds needing more than 64 bits are a key index error, and nothing is
    // written.
    let st = id("extreme-time", 0);
    let wide = st_bounds(i32::MIN, i32::MIN, i64::MIN, i32::MAX, i32::MAX, i64::MAX);
    let records = vec![(SpaceTimeKey::new(0, 0, i64::MAX), b"t".to_vec())];
    match catalog.write(
        &st,
        metadata(wide),
        KeyIndexMethod::ZOrder {
            temporal_resolution_ms: Some(1),
        },
        records,
        &WriteOptions::default(),
    ) {
        Err(Error::KeyIndex { id, .. }) => assert_eq!(id, st.to_string()),
        other => panic!("{other:?}"),
    }
    assert!(!catalog.exists(&st));
    // Instants at the ends of i64 with a coarse resolution fit.
    let narrow = st_bounds(0, 0, i64::MIN, 3, 3, i64::MAX);
    let records = vec![
        (SpaceTimeKey::new(0, 0, i64::MIN), b"past".to_vec()),
        (SpaceTimeKey::new(3, 3, i64::MAX), b"future".to_vec()),
    ];
    catalog
        .write(
            &st,
            metadata(narrow),
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: Some(1 << 44),
            },
            records.clone(),
            &WriteOptions::default(),
        )
        .unwrap();
    let reader = catalog.reader::<SpaceTimeKey>(&st).unwrap();
    for (k, v) in &records {
        assert_eq!(&reader.read(k).unwrap(), v);
    }
    catalog.verify(&st).unwrap();
}

#[test]
fn absurd_options_are_errors() {
    let (_dir, catalog) = catalog();
    let layer = id("options", 0);
    let records = vec![(SpatialKey::new(0, 0), b"v".to_vec())];
    for (name, options) in [
        ("partitions", WriteOptions::default().partitions(usize::MAX)),
        ("max_part_bytes", WriteOptions::default().max_part_bytes(0)),
    ] {
        match catalog.write(
            &layer,
            metadata(spatial_bounds(0, 0, 7, 7)),
            ZORDER,
            records.clone(),
            &options,
        ) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(!catalog.exists(&layer));
    // The largest allowed count and one-byte parts still write a correct layer.
    let records: Vec<_> = (0..8)
        .map(|c| (SpatialKey::new(c, 7 - c), value(c, 0, 0)))
        .collect();
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 7, 7)),
            ZORDER,
            records.clone(),
            &WriteOptions::default()
                .partitions(layer_store::MAX_PARTITIONS)
                .max_part_bytes(1),
        )
        .unwrap();
    let reader = catalog.reader::<SpatialKey>(&layer).unwrap();
    assert_eq!(reader.part_count(), records.len());
    for (k, v) in &records {
        assert_eq!(&reader.read(k).unwrap(), v);
    }
}
