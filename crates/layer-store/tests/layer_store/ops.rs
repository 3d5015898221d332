//! Delete, copy, move, reindex and list.

use std::path::Path;

use keyed_tile::SpatialKey;
use layer_store::{Catalog, Error, KeyIndexMethod, LayerId, WriteOptions};

use crate::common::{catalog, contents, id, metadata, spatial_bounds, value};

fn write_sample(
    catalog: &Catalog,
    layer: &LayerId,
) -> std::collections::BTreeMap<SpatialKey, Vec<u8>> {
    let records: std::collections::BTreeMap<_, _> = (0..12)
        .flat_map(|c| (0..12).map(move |r| (SpatialKey::new(c, r), value(c, r, 1))))
        .collect();
    catalog
        .write(
            layer,
            metadata(spatial_bounds(0, 0, 11, 11)),
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            },
            records.clone(),
            &WriteOptions::default().max_part_bytes(400),
        )
        .unwrap();
    catalog
        .attributes()
        .write(layer, "histogram", &[1, 2, 3])
        .unwrap();
    records
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let e = e.unwrap();
            out.push(e.path().display().to_string());
            if e.path().is_dir() {
                out.extend(files_under(&e.path()));
            }
        }
    }
    out
}

#[test]
fn delete_removes_everything() {
    let (dir, catalog) = catalog();
    let keep = id("keep", 1);
    let gone = id("gone", 1);
    write_sample(&catalog, &keep);
    write_sample(&catalog, &gone);
    catalog.delete(&gone).unwrap();
    assert!(!catalog.exists(&gone));
    assert!(!dir.path().join("gone").exists(), "layer directory left");
    let left: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|p| p.contains("gone"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(catalog.list().unwrap(), vec![keep.clone()]);
    assert!(matches!(
        catalog.delete(&gone),
        Err(Error::LayerNotFound { .. })
    ));
    // Another zoom of the same name keeps the name's directory.
    let z2 = id("keep", 2);
    write_sample(&catalog, &z2);
    catalog.delete(&z2).unwrap();
    assert!(dir.path().join("keep").join("1").is_dir());
    assert!(!dir.path().join("keep").join("2").exists());
}

#[test]
fn copy_and_move_carry_contents_and_attributes() {
    let (dir, catalog) = catalog();
    let src = id("src", 3);
    let model = write_sample(&catalog, &src);
    let copy = id("copy", 3);
    catalog.copy(&src, &copy, false).unwrap();
    assert_eq!(contents::<SpatialKey>(&catalog, &copy), model);
    assert_eq!(
        catalog
            .attributes()
            .read::<Vec<i32>>(&copy, "histogram")
            .unwrap(),
        vec![1, 2, 3]
    );
    assert!(matches!(
        catalog.copy(&src, &copy, false),
        Err(Error::LayerExists { .. })
    ));
    catalog.copy(&src, &copy, true).unwrap();
    // Deleting the source leaves the copy whole (hard links, not shared paths).
    let moved = id("moved", 0);
    catalog.move_layer(&src, &moved, false).unwrap();
    assert!(!catalog.exists(&src));
    assert!(!dir.path().join("src").exists());
    assert_eq!(contents::<SpatialKey>(&catalog, &moved), model);
    assert_eq!(contents::<SpatialKey>(&catalog, &copy), model);
    catalog.verify(&moved).unwrap();
    let header = catalog
        .read_attributes::<SpatialKey>(&moved)
        .unwrap()
        .header;
    assert!(header.path.starts_with("moved/0/g"), "{}", header.path);
    assert_eq!(catalog.list().unwrap(), vec![copy.clone(), moved.clone()]);
}

#[test]
fn reindex_keeps_contents_under_another_index() {
    let (_dir, catalog) = catalog();
    let layer = id("re", 2);
    let model = write_sample(&catalog, &layer);
    let report = catalog
        .reindex::<SpatialKey>(
            &layer,
            KeyIndexMethod::Hilbert {
                temporal_resolution_bits: None,
            },
            &WriteOptions::default().max_part_bytes(400),
        )
        .unwrap();
    assert_eq!(report.records_written, model.len() as u64);
    let attrs = catalog.read_attributes::<SpatialKey>(&layer).unwrap();
    assert_eq!(attrs.key_index.method(), "hilbert");
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
    catalog.verify(&layer).unwrap();
    // A new index too small for the data is refused, and the layer stays as it was.
    let small = keyed_tile::index::AnyKeyIndex::rowmajor(spatial_bounds(0, 0, 5, 5)).unwrap();
    let err = catalog
        .reindex::<SpatialKey>(&layer, small, &WriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::OutOfKeyBounds { .. }), "{err}");
    assert_eq!(
        catalog
            .read_attributes::<SpatialKey>(&layer)
            .unwrap()
            .key_index
            .method(),
        "hilbert"
    );
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), model);
}

#[test]
fn open_cleans_leftovers_of_killed_writers() {
    let (dir, catalog) = catalog();
    let layer = id("left", 0);
    write_sample(&catalog, &layer);
    let generation = catalog.info(&layer).unwrap().generation;
    let layer_dir = dir.path().join("left").join("0");
    std::fs::create_dir_all(layer_dir.join("g99")).unwrap();
    std::fs::write(layer_dir.join("g99").join("part-r-00000-0"), b"junk").unwrap();
    std::fs::create_dir_all(layer_dir.join(".spill-g99")).unwrap();
    // An orphan layer directory without metadata.
    std::fs::create_dir_all(dir.path().join("orphan").join("3").join("g1")).unwrap();
    // A temporary attribute file of a dead process (pid 0 never names a user process).
    let tmp = dir.path().join("_attributes").join(".tmp-x-0-1");
    std::fs::write(&tmp, b"{").unwrap();
    // Things the catalog did not make are never touched.
    std::fs::create_dir_all(dir.path().join("notes").join("7")).unwrap();
    std::fs::write(
        dir.path().join("notes").join("7").join("readme.txt"),
        b"mine",
    )
    .unwrap();
    let reopened = Catalog::open(dir.path()).unwrap();
    assert!(dir.path().join("notes/7/readme.txt").is_file());
    let entries: Vec<_> = std::fs::read_dir(&layer_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, vec![format!("g{generation}")]);
    assert!(!dir.path().join("orphan").exists());
    assert!(!tmp.exists());
    assert_eq!(reopened.list().unwrap(), vec![layer]);
}

#[test]
fn info_describes_without_the_key_type() {
    let (_dir, catalog) = catalog();
    let layer = id("info", 7);
    write_sample(&catalog, &layer);
    let info = catalog.info(&layer).unwrap();
    assert_eq!(info.key_class, "SpatialKey");
    assert!(info.part_count > 1);
    assert!(info.part_bytes > 0);
    assert_eq!(info.attributes, vec!["histogram", "metadata"]);
    assert!(matches!(
        catalog.info(&id("none", 0)),
        Err(Error::LayerNotFound { .. })
    ));
}
