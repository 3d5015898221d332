//! The attribute store: read, write, list and delete JSON attributes per layer.

use std::collections::BTreeMap;

use layer_store::{Error, METADATA};

use crate::common::{catalog, id};

#[test]
fn attributes_round_trip_list_and_delete() {
    let (_dir, catalog) = catalog();
    let store = catalog.attributes();
    let a = id("a", 1);
    let b = id("a", 2);
    let mut hist = BTreeMap::new();
    hist.insert("1".to_owned(), 10u32);
    store.write(&a, "histogram", &hist).unwrap();
    store.write(&a, "note", "hello").unwrap();
    store.write(&b, "note", "other").unwrap();
    assert_eq!(
        store
            .read::<BTreeMap<String, u32>>(&a, "histogram")
            .unwrap(),
        hist
    );
    assert_eq!(store.read::<String>(&a, "note").unwrap(), "hello");
    assert_eq!(store.list(&a).unwrap(), vec!["histogram", "note"]);
    assert_eq!(store.list(&b).unwrap(), vec!["note"]);
    // Only layers with metadata are layers.
    assert!(store.layers().unwrap().is_empty());
    store.delete(&a, "note").unwrap();
    assert_eq!(store.list(&a).unwrap(), vec!["histogram"]);
    assert!(matches!(
        store.read::<String>(&a, "note"),
        Err(Error::AttributeNotFound { .. })
    ));
    // Metadata is written by catalog operations only.
    assert!(store.write(&a, METADATA, &1).is_err());
    assert!(store.delete(&a, METADATA).is_err());
}

#[test]
fn bad_json_names_file_and_line() {
    let (_dir, catalog) = catalog();
    let store = catalog.attributes();
    let a = id("a", 1);
    let path = store.path(&a, "broken").unwrap();
    std::fs::write(&path, "{\n  \"x\": [1, 2,\n}").unwrap();
    match store.read::<serde_json::Value>(&a, "broken") {
        Err(Error::Json { path: p, line, .. }) => {
            assert_eq!(p, path);
            assert_eq!(line, 3);
        }
        other => panic!("{other:?}"),
    }
}
