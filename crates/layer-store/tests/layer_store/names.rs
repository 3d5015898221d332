//! Layer and attribute names: bad names are errors and never reach outside the catalog.

use layer_store::{Error, LayerId};

use crate::common::catalog;

#[test]
fn bad_layer_names_are_rejected() {
    for bad in [
        "",
        "..",
        "a/b",
        "a\\b",
        "../x",
        "x/..",
        "a..b",
        "a\u{0}b",
        "a\nb",
        "a\u{7f}b",
        "a__b",
        ".hidden",
        "_attributes",
        "_locks",
        " padded",
        "padded ",
        "a:b",
    ] {
        match LayerId::new(bad, 3) {
            Err(Error::BadLayerName { name, .. }) => assert_eq!(name, bad),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    let long = "x".repeat(layer_store::MAX_NAME_BYTES + 1);
    assert!(LayerId::new(long, 0).is_err());
}

#[test]
fn good_layer_names_are_accepted() {
    for good in [
        "landsat",
        "a",
        "NLCD-2011",
        "dem.v2",
        "ünïcode",
        "a_b",
        "with space",
    ] {
        let id = LayerId::new(good, 12).unwrap();
        assert_eq!(id.name(), good);
        assert_eq!(id.zoom(), 12);
        assert_eq!(id.to_string().parse::<LayerId>().unwrap(), id);
    }
}

#[test]
fn deserialized_ids_are_validated() {
    let ok: LayerId = serde_json::from_str(r#"{"name":"a","zoom":1}"#).unwrap();
    assert_eq!(ok, LayerId::new("a", 1).unwrap());
    assert!(serde_json::from_str::<LayerId>(r#"{"name":"../etc","zoom":1}"#).is_err());
}

#[test]
fn bad_attribute_names_are_rejected_and_write_nothing() {
    let (dir, catalog) = catalog();
    let id = LayerId::new("a", 1).unwrap();
    let store = catalog.attributes();
    for bad in ["", "../x", "a/b", "a b", "x__y", "metadata"] {
        assert!(store.write(&id, bad, &1).is_err(), "{bad:?}");
    }
    let entries: Vec<_> = std::fs::read_dir(store.dir()).unwrap().collect();
    assert!(entries.is_empty());
    // Nothing outside the catalog either.
    assert!(!dir.path().parent().unwrap().join("x.json").exists());
}
