//! Part files go through writer-with-retry's `Store`: transient faults are retried and the
//! layer is written whole; a permanent failure leaves the old layer as it was.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keyed_tile::SpatialKey;
use layer_store::writer_with_retry::{
    Fail, FakeTime, FaultConfig, FaultyStore, FileStore, RetryOptions, Store, StoreError,
};
use layer_store::{
    Catalog, CatalogOptions, Error, KeyIndexMethod, LayerId, PartStore, UpdateOptions,
    WriteOptions, updating_wins,
};

use crate::common::{contents, id, metadata, spatial_bounds, value};

const METHOD: KeyIndexMethod = KeyIndexMethod::ZOrder {
    temporal_resolution_ms: None,
};

fn records(version: u32) -> BTreeMap<SpatialKey, Vec<u8>> {
    (0..24)
        .flat_map(|c| (0..24).map(move |r| (c, r)))
        .map(|(c, r)| (SpatialKey::new(c, r), value(c, r, version)))
        .collect()
}

/// Small parts and several partitions, so a write puts many part files.
fn options() -> WriteOptions {
    WriteOptions::default().max_part_bytes(2048).partitions(4)
}

fn retry(time: &Arc<FakeTime>, attempts: u32) -> RetryOptions {
    let policy =
        Fail::with_backoff(Duration::from_millis(5), Duration::from_secs(1), attempts).unwrap();
    RetryOptions::new(policy)
        .unwrap()
        .fake_time(time.clone())
        .seed(9)
}

fn open(dir: &Path, store: Arc<dyn Store>, retry: RetryOptions) -> Catalog {
    let options = CatalogOptions::default().threads(2).sync(false);
    Catalog::open_with_store(dir, options, PartStore::new(store).retry(retry)).unwrap()
}

/// Every file under `dir` whose name shows it is temporary or staged.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".tessera-tmp-") || name.starts_with(".stage-") {
                out.push(path.display().to_string());
            }
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

#[test]
fn transient_faults_are_retried_and_the_layer_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let config = FaultConfig {
        transient_rate: 0.4,
        lost_response_rate: 0.2,
        seed: 5,
        ..FaultConfig::default()
    };
    let files = FileStore::new(dir.path()).unwrap().sync(false);
    let faulty = Arc::new(FaultyStore::new(files, config));
    let time = Arc::new(FakeTime::new());
    let catalog = open(dir.path(), faulty.clone(), retry(&time, 30));
    let layer = id("faulty", 4);

    let first = records(0);
    let report = catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 23, 23)),
            METHOD,
            first.clone(),
            &options(),
        )
        .unwrap();
    assert!(report.parts_written > 4, "{report:?}");
    let stats = faulty.stats();
    assert!(stats.transient + stats.lost_responses > 0, "{stats:?}");
    assert!(time.sleep_count() > 0, "no backoff happened");
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), first);
    catalog.verify(&layer).unwrap();

    // An update through the same faulty store.
    let update: Vec<_> = (0..6)
        .map(|c| (SpatialKey::new(c, c), value(c, c, 1)))
        .collect();
    catalog
        .update(
            &layer,
            update.clone(),
            updating_wins,
            &UpdateOptions::default().write(options()),
        )
        .unwrap();
    let mut expected = first;
    expected.extend(update);
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), expected);
    catalog.verify(&layer).unwrap();
    // The rewritten parts went through the faulty store too.
    assert!(faulty.stats().puts_reached > stats.puts_reached);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

/// A file store that refuses every put after the first `allowed`, permanently.
struct FailAfter {
    inner: FileStore,
    allowed: u64,
    puts: AtomicU64,
}

impl FailAfter {
    fn check(&self, key: &str) -> Result<(), StoreError> {
        if self.puts.fetch_add(1, Ordering::SeqCst) >= self.allowed {
            return Err(StoreError::Permanent {
                key: key.to_owned(),
                message: "injected: disk quota exceeded".to_owned(),
            });
        }
        Ok(())
    }
}

impl Store for FailAfter {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.check(key)?;
        self.inner.put(key, bytes)
    }
    fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        self.check(key)?;
        self.inner.put_file(key, path)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(key)
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StoreError> {
        self.inner.get_range(key, range)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
}

/// Writes version 0 of a layer with a healthy catalog and returns its contents.
fn write_old(dir: &Path, layer: &LayerId) -> BTreeMap<SpatialKey, Vec<u8>> {
    let healthy =
        Catalog::open_with(dir, CatalogOptions::default().threads(2).sync(false)).unwrap();
    let old = records(0);
    healthy
        .write(
            layer,
            metadata(spatial_bounds(0, 0, 23, 23)),
            METHOD,
            old.clone(),
            &options(),
        )
        .unwrap();
    old
}

#[test]
fn a_permanent_failure_mid_write_leaves_the_old_layer() {
    let dir = tempfile::tempdir().unwrap();
    let layer = id("refused", 2);
    let old = write_old(dir.path(), &layer);
    let generation = Catalog::open(dir.path())
        .unwrap()
        .info(&layer)
        .unwrap()
        .generation;

    // Some parts of the new generation get stored, then the store refuses for good.
    let store = Arc::new(FailAfter {
        inner: FileStore::new(dir.path()).unwrap().sync(false),
        allowed: 3,
        puts: AtomicU64::new(0),
    });
    let time = Arc::new(FakeTime::new());
    let catalog = open(dir.path(), store.clone(), retry(&time, 5));
    let err = catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 23, 23)),
            METHOD,
            records(1),
            &options().overwrite(true),
        )
        .unwrap_err();
    match &err {
        Error::PartStore {
            key,
            attempts,
            source,
            ..
        } => {
            assert!(
                key.starts_with("refused/2/g") && key.contains("/part-r-"),
                "{key}"
            );
            assert_eq!(*attempts, 1, "a permanent error is not retried");
            assert!(!source.is_transient());
        }
        other => panic!("expected a part store error, got {other:?}"),
    }
    assert!(err.to_string().contains("refused/2/g"), "{err}");
    assert_eq!(time.sleep_count(), 0);
    assert!(store.puts.load(Ordering::SeqCst) > 3);

    // The old layer is intact: same generation, same contents, every checksum good, and
    // nothing of the failed write is left behind.
    let info = catalog.info(&layer).unwrap();
    assert_eq!(info.generation, generation);
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), old);
    catalog.verify(&layer).unwrap();
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
    let layer_dir = dir.path().join("refused").join("2");
    let entries: Vec<_> = std::fs::read_dir(&layer_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, vec![format!("g{generation}")]);
}

#[test]
fn exhausted_retries_fail_an_update_and_keep_the_old_layer() {
    let dir = tempfile::tempdir().unwrap();
    let layer = id("throttled", 3);
    let old = write_old(dir.path(), &layer);

    let config = FaultConfig {
        transient_rate: 1.0,
        ..FaultConfig::default()
    };
    let faulty = Arc::new(FaultyStore::new(
        FileStore::new(dir.path()).unwrap().sync(false),
        config,
    ));
    let time = Arc::new(FakeTime::new());
    let catalog = open(dir.path(), faulty.clone(), retry(&time, 4));
    let update = vec![(SpatialKey::new(1, 1), b"new".to_vec())];
    let err = catalog
        .update(
            &layer,
            update,
            updating_wins,
            &UpdateOptions::default().write(options()),
        )
        .unwrap_err();
    match &err {
        Error::PartStore {
            attempts, source, ..
        } => {
            assert_eq!(*attempts, 4);
            assert!(source.is_transient());
        }
        other => panic!("expected a part store error, got {other:?}"),
    }
    assert_eq!(faulty.stats().puts_reached, 0);
    assert_eq!(contents::<SpatialKey>(&catalog, &layer), old);
    catalog.verify(&layer).unwrap();
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn the_default_part_store_is_a_file_store_over_the_catalog() {
    let (dir, catalog) = crate::common::catalog();
    let layer = id("plain", 1);
    catalog
        .write(
            &layer,
            metadata(spatial_bounds(0, 0, 23, 23)),
            METHOD,
            records(0),
            &options(),
        )
        .unwrap();
    let info = catalog.info(&layer).unwrap();
    // Every part file is an object of the part store, under its key.
    let prefix = format!("plain/1/g{}/", info.generation);
    let keys = catalog.part_store().store().list(&prefix).unwrap();
    assert_eq!(keys.len(), info.part_count);
    assert!(keys.iter().all(|k| k.contains("/part-r-")), "{keys:?}");
    assert!(leftovers(dir.path()).is_empty());
}
