//! `Store::put_file` on every store, `FaultyStore` faults on it, and `put_file_with_retry`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use writer_with_retry::{
    Fail, FailReason, FakeTime, FaultConfig, FaultyStore, FileStore, MemStore, RetryOptions, Store,
    StoreError, put_file_with_retry,
};

fn source(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every file under `dir`, recursively, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn retry(max_attempts: u32, time: &Arc<FakeTime>) -> RetryOptions {
    let policy = Fail::with_backoff(
        Duration::from_millis(10),
        Duration::from_secs(1),
        max_attempts,
    )
    .unwrap();
    RetryOptions::new(policy)
        .unwrap()
        .fake_time(time.clone())
        .seed(3)
}

#[test]
fn file_store_put_file_stores_the_bytes_and_keeps_the_source() {
    let src_dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = FileStore::new(root.path()).unwrap();
    let src = source(src_dir.path(), "part", b"first");
    store.put_file("a/b/part", &src).unwrap();
    assert_eq!(store.get("a/b/part").unwrap(), b"first");
    // The source is still there and unchanged, so a retry could use it again.
    assert_eq!(std::fs::read(&src).unwrap(), b"first");
    // A second put replaces the object.
    let other = source(src_dir.path(), "other", b"second, longer");
    store.put_file("a/b/part", &other).unwrap();
    assert_eq!(store.get("a/b/part").unwrap(), b"second, longer");
    // Removing the source afterwards leaves the stored object whole.
    std::fs::remove_file(&other).unwrap();
    assert_eq!(store.get("a/b/part").unwrap(), b"second, longer");
    assert_eq!(files_under(root.path()), vec!["a/b/part".to_owned()]);
}

#[test]
fn file_store_put_file_without_sync_and_inside_the_root() {
    let root = tempfile::tempdir().unwrap();
    let store = FileStore::new(root.path()).unwrap().sync(false);
    // A source inside the root itself (the same file system: a hard link).
    let src = source(store.root(), "staged", &[7u8; 5000]);
    store.put_file("x/y", &src).unwrap();
    assert_eq!(store.get("x/y").unwrap(), vec![7u8; 5000]);
    assert_eq!(
        store.list("").unwrap(),
        vec!["staged".to_owned(), "x/y".to_owned()]
    );
}

#[test]
fn file_store_put_file_errors_leave_nothing_behind() {
    let src_dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = FileStore::new(root.path()).unwrap();
    let missing = src_dir.path().join("missing");
    let err = store.put_file("k", &missing).unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert_eq!(err.key(), Some("k"));
    // The error names the source file, not a missing key.
    assert!(
        matches!(&err, StoreError::KeyIo { path, .. } if path == &missing),
        "{err:?}"
    );
    // A directory is not a file to store.
    assert!(store.put_file("k", src_dir.path()).is_err());
    // A hostile key is refused before anything is written.
    let src = source(src_dir.path(), "s", b"x");
    for key in ["../escape", "/abs", "a/../b", ""] {
        let err = store.put_file(key, &src).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidKey { .. }),
            "{key}: {err:?}"
        );
    }
    assert!(files_under(root.path()).is_empty());
    assert!(!src_dir.path().parent().unwrap().join("escape").exists());
}

#[test]
fn default_put_file_reads_the_file_for_mem_store() {
    let src_dir = tempfile::tempdir().unwrap();
    let store = MemStore::new();
    let src = source(src_dir.path(), "s", b"in memory");
    store.put_file("m", &src).unwrap();
    assert_eq!(store.get("m").unwrap(), b"in memory");
    // Through the forwarding impls too.
    let shared: Arc<dyn Store> = Arc::new(MemStore::new());
    shared.put_file("n", &src).unwrap();
    assert_eq!(shared.get("n").unwrap(), b"in memory");
    let err = store
        .put_file("m", &src_dir.path().join("nope"))
        .unwrap_err();
    assert!(matches!(err, StoreError::KeyIo { .. }), "{err:?}");
}

#[test]
fn faulty_store_injects_faults_on_put_file() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = source(src_dir.path(), "s", b"payload");
    let config = FaultConfig {
        transient_rate: 1.0,
        ..FaultConfig::default()
    };
    let store = FaultyStore::new(MemStore::new(), config);
    let err = store.put_file("k", &src).unwrap_err();
    assert!(err.is_transient());
    assert!(!store.inner().exists("k").unwrap());

    let config = FaultConfig {
        permanent_keys: BTreeSet::from(["bad".to_owned()]),
        ..FaultConfig::default()
    };
    let store = FaultyStore::new(MemStore::new(), config);
    let err = store.put_file("bad", &src).unwrap_err();
    assert!(matches!(err, StoreError::Permanent { .. }), "{err:?}");
    store.put_file("good", &src).unwrap();
    assert_eq!(store.inner().get("good").unwrap(), b"payload");
    assert_eq!(store.stats().permanent, 1);
    assert_eq!(store.stats().puts_reached, 1);
}

#[test]
fn put_file_with_retry_outlasts_transient_faults() {
    let src_dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let config = FaultConfig {
        transient_rate: 0.5,
        lost_response_rate: 0.3,
        seed: 11,
        ..FaultConfig::default()
    };
    let store = FaultyStore::new(FileStore::new(root.path()).unwrap(), config);
    let time = Arc::new(FakeTime::new());
    let options = retry(40, &time);
    let mut total_attempts = 0;
    for n in 0..20u8 {
        let src = source(src_dir.path(), &format!("s{n}"), &[n; 100]);
        let attempts = put_file_with_retry(&store, &format!("k/{n}"), &src, &options).unwrap();
        assert!((1..=40).contains(&attempts));
        total_attempts += attempts;
        assert_eq!(store.inner().get(&format!("k/{n}")).unwrap(), vec![n; 100]);
    }
    // At a 50% fault rate some retries must have happened, with backoff sleeps.
    assert!(total_attempts > 20, "attempts {total_attempts}");
    assert!(time.sleep_count() > 0);
    assert!(store.stats().transient > 0);
    // Only the stored objects are in the root: no temporary file is left.
    assert_eq!(
        files_under(root.path()).len(),
        20,
        "{:?}",
        files_under(root.path())
    );
}

#[test]
fn put_file_with_retry_gives_up_and_classifies() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = source(src_dir.path(), "s", b"payload");
    let time = Arc::new(FakeTime::new());

    // Always transient: every attempt is used, then the last error is reported.
    let config = FaultConfig {
        transient_rate: 1.0,
        ..FaultConfig::default()
    };
    let store = FaultyStore::new(MemStore::new(), config);
    let failure = put_file_with_retry(&store, "k", &src, &retry(5, &time)).unwrap_err();
    assert_eq!(failure.key, "k");
    assert_eq!(failure.attempts, 5);
    assert!(matches!(failure.reason, FailReason::AttemptsExhausted(_)));
    assert!(failure.last_error().unwrap().is_transient());
    assert_eq!(store.stats().calls, 5);
    assert_eq!(time.sleep_count(), 4);

    // Permanent: one attempt, no sleep.
    let config = FaultConfig {
        permanent_keys: BTreeSet::from(["p".to_owned()]),
        ..FaultConfig::default()
    };
    let store = FaultyStore::new(MemStore::new(), config);
    let before = time.sleep_count();
    let failure = put_file_with_retry(&store, "p", &src, &retry(5, &time)).unwrap_err();
    assert_eq!(failure.attempts, 1);
    assert!(matches!(failure.reason, FailReason::Permanent(_)));
    assert!(!failure.outcome_unknown);
    assert_eq!(time.sleep_count(), before);

    // A deadline shorter than the backoff stops the retries early.
    let policy = Fail::with_backoff(Duration::from_secs(1), Duration::from_secs(1), 50)
        .unwrap()
        .deadline(Duration::from_millis(1));
    let options = RetryOptions::new(policy).unwrap().fake_time(time).seed(1);
    let store = FaultyStore::new(
        MemStore::new(),
        FaultConfig {
            transient_rate: 1.0,
            ..FaultConfig::default()
        },
    );
    let failure = put_file_with_retry(&store, "d", &src, &options).unwrap_err();
    assert!(failure.attempts < 50);
    assert!(matches!(failure.reason, FailReason::DeadlineExceeded(_)));
}

#[test]
fn retry_options_check_the_policy() {
    let bad = Fail::WithBackoff {
        base: Duration::from_millis(50),
        cap: Duration::from_millis(15),
        max_attempts: 3,
        deadline: None,
    };
    assert!(RetryOptions::new(bad).is_err());
    assert_eq!(RetryOptions::default().policy(), Fail::default());
}
