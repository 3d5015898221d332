//! `FileStore`: the contract, atomic puts without leftover temporary files, and hostile keys.

use std::fs;
use std::path::{Path, PathBuf};

use writer_with_retry::{FileStore, MemStore, Store, StoreError, validate_key};

use crate::mem_store::check_contract;

/// Every file and directory under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn has_temp_files(dir: &Path) -> bool {
    tree(dir).iter().any(|p| p.contains(".tessera-tmp-"))
}

#[test]
fn file_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("root")).unwrap();
    check_contract(&store);
    assert!(store.root().ends_with("root"));
    assert_eq!(fs::read(store.root().join("b")).unwrap(), b"xyz");
    assert!(!has_temp_files(dir.path()));
}

#[test]
fn put_leaves_no_temporary_files_on_success_or_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    for i in 0..20 {
        store
            .put(&format!("layer/{}/{i}", i % 3), &vec![i as u8; 1000])
            .unwrap();
    }
    assert!(!has_temp_files(dir.path()));

    // The rename fails: the target is a non-empty directory.
    store.put("dir/inner", b"x").unwrap();
    let err = store.put("dir", b"y").unwrap_err();
    assert!(
        matches!(err, StoreError::KeyIo { ref key, .. } if key == "dir"),
        "{err}"
    );
    assert!(!err.is_transient());
    assert!(!has_temp_files(dir.path()), "{:?}", tree(dir.path()));

    // Creating the parent fails: a path component is a file.
    let err = store.put("layer/0/0/deeper", b"y").unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert!(!has_temp_files(dir.path()));
    assert_eq!(store.get("layer/0/0").unwrap(), vec![0u8; 1000]);
}

#[test]
fn temporary_files_are_never_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    store.put("a/x", b"1").unwrap();
    // A crashed writer's leftover.
    fs::write(dir.path().join("a/.tessera-tmp-1-0-y"), b"partial").unwrap();
    assert_eq!(store.list("").unwrap(), ["a/x"]);
    assert!(validate_key("a/.tessera-tmp-1-0-y").is_err());
}

const HOSTILE: &[&str] = &[
    "",
    "..",
    ".",
    "../escape",
    "a/../../escape",
    "a/..",
    "./a",
    "a//b",
    "a/",
    "/etc/passwd",
    "/tmp/escape",
    "a\0b",
    "\0",
    "..\\escape",
    "a\\..\\..\\escape",
    "C:\\escape",
    "c:escape",
    "a/\nb",
];

#[test]
fn hostile_keys_are_permanent_errors_and_write_nothing() {
    let outer = tempfile::tempdir().unwrap();
    let root: PathBuf = outer.path().join("root");
    let store = FileStore::new(&root).unwrap();
    let long = "k".repeat(1025);
    for key in HOSTILE.iter().copied().chain([long.as_str()]) {
        let err = store.put(key, b"evil").unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidKey { .. }),
            "{key:?}: {err}"
        );
        assert!(!err.is_transient(), "{key:?}");
        assert_eq!(err.key(), Some(key));
        assert!(store.get(key).is_err(), "{key:?}");
        assert!(store.exists(key).is_err(), "{key:?}");
        assert!(store.delete(key).is_err(), "{key:?}");
        assert!(store.get_range(key, 0..1).is_err(), "{key:?}");
        // The same rules hold in memory.
        assert!(MemStore::new().put(key, b"evil").is_err(), "{key:?}");
    }
    assert_eq!(tree(outer.path()), ["root"], "nothing written anywhere");
    assert!(store.list("").unwrap().is_empty());
    assert!(store.list("../").unwrap().is_empty());
}

#[test]
fn ordinary_keys_are_accepted() {
    for key in [
        "a",
        "a/b/c",
        "layer/12/part-r-00000-123",
        "a.b",
        "..a",
        "a..",
        ".hidden",
        "ü/ñ",
        "a b",
    ] {
        assert!(validate_key(key).is_ok(), "{key:?}");
    }
}

#[test]
fn list_descends_only_where_the_prefix_leads() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    for key in ["x/1", "x/2", "xy/1", "y/1", "x/z/3"] {
        store.put(key, key.as_bytes()).unwrap();
    }
    assert_eq!(store.list("x/").unwrap(), ["x/1", "x/2", "x/z/3"]);
    assert_eq!(store.list("x").unwrap(), ["x/1", "x/2", "x/z/3", "xy/1"]);
    assert_eq!(store.list("x/z").unwrap(), ["x/z/3"]);
    assert_eq!(store.list("x/z/3").unwrap(), ["x/z/3"]);
}
