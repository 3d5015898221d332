//! `MemStore` and `FaultyStore` behave as the `Store` contract says.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use writer_with_retry::{FakeTime, FaultConfig, FaultyStore, MemStore, Store, StoreError};

/// The `Store` contract, checked on any empty store.
pub(crate) fn check_contract(store: &dyn Store) {
    assert!(!store.exists("a/b").unwrap());
    assert!(matches!(store.get("a/b"), Err(StoreError::NotFound { key }) if key == "a/b"));
    store.put("a/b", b"hello").unwrap();
    store.put("a/c", b"").unwrap();
    store.put("b", b"xyz").unwrap();
    store.put("a/b", b"hello, world").unwrap();
    assert_eq!(store.get("a/b").unwrap(), b"hello, world");
    assert_eq!(store.get("a/c").unwrap(), b"");
    assert_eq!(store.get_range("a/b", 7..12).unwrap(), b"world");
    assert_eq!(store.get_range("a/b", 12..12).unwrap(), b"");
    let err = store.get_range("a/b", 5..13).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::RangeOutOfBounds {
                start: 5,
                end: 13,
                len: 12,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_transient());
    assert!(store.exists("a/b").unwrap());
    assert_eq!(store.list("").unwrap(), ["a/b", "a/c", "b"]);
    assert_eq!(store.list("a/").unwrap(), ["a/b", "a/c"]);
    assert_eq!(store.list("a").unwrap(), ["a/b", "a/c"]);
    assert!(store.list("c").unwrap().is_empty());
    store.delete("a/b").unwrap();
    store.delete("a/b").unwrap();
    assert!(!store.exists("a/b").unwrap());
    assert_eq!(store.list("").unwrap(), ["a/c", "b"]);
}

#[test]
fn mem_store_contract() {
    let store = MemStore::new();
    check_contract(&store);
    assert_eq!(store.len(), 2);
    assert_eq!(store.total_bytes(), 3);
}

#[test]
fn faulty_store_without_faults_is_transparent() {
    check_contract(&FaultyStore::new(MemStore::new(), FaultConfig::default()));
}

#[test]
fn faulty_store_injects_reproducibly() {
    let config = FaultConfig {
        seed: 9,
        transient_rate: 0.4,
        lost_response_rate: 0.3,
        permanent_keys: BTreeSet::from(["bad".to_owned()]),
        ..FaultConfig::default()
    };
    let outcomes = || {
        let store = FaultyStore::new(MemStore::new(), config.clone());
        let v: Vec<String> = (0..200)
            .map(|i| match store.put(&format!("k{}", i % 20), b"v") {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("{}", e.is_transient()),
            })
            .collect();
        (v, store.stats())
    };
    let (a, stats) = outcomes();
    let (b, _) = outcomes();
    assert_eq!(a, b, "the same seed gives the same faults");
    assert_eq!(stats.calls, 200);
    // Rates are near what was asked (200 draws; loose bounds).
    assert!((40..=120).contains(&stats.transient), "{stats:?}");
    assert!(
        stats.lost_responses > 10 && stats.lost_responses < stats.puts_reached,
        "{stats:?}"
    );

    let store = FaultyStore::new(MemStore::new(), config);
    let err = (0..20).find_map(|_| store.put("bad", b"v").err().filter(|e| !e.is_transient()));
    assert!(matches!(err, Some(StoreError::Permanent { ref key, .. }) if key == "bad"));
    assert!(!store.inner().exists("bad").unwrap());
}

#[test]
fn lost_response_reaches_the_inner_store() {
    let store = FaultyStore::new(
        MemStore::new(),
        FaultConfig {
            lost_response_rate: 1.0,
            ..FaultConfig::default()
        },
    );
    let err = store.put("k", b"v").unwrap_err();
    assert!(err.is_transient());
    assert_eq!(store.inner().get("k").unwrap(), b"v");
    assert_eq!(store.stats().lost_responses, 1);
}

#[test]
fn latency_uses_the_sleeper() {
    let time = Arc::new(FakeTime::new());
    let store = FaultyStore::with_sleeper(
        MemStore::new(),
        FaultConfig {
            latency: Duration::from_millis(5),
            jitter: Duration::from_millis(10),
            ..FaultConfig::default()
        },
        time.clone(),
    );
    for i in 0..10 {
        store.put(&format!("k{i}"), b"v").unwrap();
    }
    let slept = time.slept();
    assert!(
        slept >= Duration::from_millis(50) && slept <= Duration::from_millis(150),
        "{slept:?}"
    );
    assert_eq!(time.sleep_count(), 10);
}

#[test]
fn faulty_reads_only_when_asked() {
    let config = FaultConfig {
        transient_rate: 1.0,
        ..FaultConfig::default()
    };
    let store = FaultyStore::new(MemStore::new(), config.clone());
    store.inner().put("k", b"v").unwrap();
    assert_eq!(store.get("k").unwrap(), b"v");
    assert!(store.put("k", b"w").unwrap_err().is_transient());
    let store = FaultyStore::new(
        MemStore::new(),
        FaultConfig {
            faulty_reads: true,
            ..config
        },
    );
    assert!(store.get("k").unwrap_err().is_transient());
    assert!(store.list("").unwrap_err().is_transient());
}
