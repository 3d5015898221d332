//! `tessera tune threads` run as a user would, with tiny workloads so the tests stay quick.

use crate::util::{stdout, tessera};
use tessera::pool_tuning::{Backend, Operation, ThreadConfig};

/// The thread counts in the table's rows.
fn rows(text: &str) -> Vec<usize> {
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| threads"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect()
}

#[test]
fn latency_table_has_one_row_per_thread_count() {
    let out = tessera(&[
        "tune",
        "threads",
        "--backend",
        "latency",
        "--tiles",
        "4",
        "--runs",
        "1",
        "--warmup",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("| threads | median ms | speedup |"), "{text}");
    assert_eq!(rows(&text), [1, 2, 4, 8, 16, 32], "{text}");
    assert!(
        text.contains("| 1 | ") && text.contains(" | 1.00 |"),
        "{text}"
    );
    assert!(text.contains("best: "), "{text}");
}

#[test]
fn file_backend_reads_mapfile_parts_and_saves_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("threads.json");
    // An existing setting must survive the save.
    let mut existing = ThreadConfig::default();
    existing.set(Backend::s3(), Operation::BulkWrite, 24);
    existing.save(&config).unwrap();
    let config_arg = config.to_str().unwrap();
    let out = tessera(&[
        "tune",
        "threads",
        "--backend",
        "file",
        "--tiles",
        "16",
        "--tile-bytes",
        "256",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--save",
        config_arg,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert_eq!(rows(&text), [1, 2, 4, 8, 16, 32], "{text}");
    assert!(text.contains("saved as file.collection_read"), "{text}");
    let saved = ThreadConfig::load(&config).unwrap();
    assert_eq!(saved.configured(&Backend::s3(), Operation::BulkWrite), 24);
    let best = saved.configured(&Backend::file(), Operation::CollectionRead);
    assert!(text.contains(&format!("best: {best} threads")), "{text}");
    assert_eq!(saved.calibrations.len(), 1);
    assert_eq!(saved.calibrations[0].calibration.table.len(), 6);
}

#[test]
fn json_output() {
    let out = tessera(&[
        "--json",
        "tune",
        "threads",
        "--backend",
        "latency",
        "--tiles",
        "2",
        "--runs",
        "1",
        "--warmup",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["backend"], "s3");
    assert_eq!(value["table"].as_array().unwrap().len(), 6);
    assert!(value["best"].as_u64().unwrap() >= 1);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["tune", "threads", "--backend", "hadoop"][..],
        &["tune", "threads", "--tiles", "0"],
        &["tune", "threads", "--runs", "0"],
        &["tune", "threads", "--tile-bytes", "0", "--tiles", "1"],
        &["tune", "threads", "--tiles", "many"],
    ] {
        let out = tessera(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_unwritable_config_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("missing-dir").join("threads.json");
    let out = tessera(&[
        "tune",
        "threads",
        "--backend",
        "latency",
        "--tiles",
        "1",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--save",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("threads.json"), "{err}");
}

/// Every hostile `tune threads` invocation: exit 1 or 2 quickly, never a panic or a hang.
#[test]
fn hostile_invocations_never_panic() {
    use crate::mapfile::{argv, sweep};
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    std::fs::write(d("garbage.json"), b"{\"backends\": [").unwrap();
    std::fs::write(d("array.json"), b"[]").unwrap();
    std::fs::create_dir(d("adir")).unwrap();
    let quick = [
        "tune",
        "threads",
        "--backend",
        "latency",
        "--tiles",
        "4",
        "--runs",
        "1",
        "--warmup",
        "0",
    ];
    let mut cases = Vec::new();
    for (flag, value) in [
        ("--tiles", "0"),
        ("--tiles", "99999999999"),
        ("--tiles", "99999999999999999999999"),
        ("--tiles", "-1"),
        ("--runs", "0"),
        ("--runs", "18446744073709551615"),
        ("--warmup", "18446744073709551615"),
        ("--tile-bytes", "18446744073709551615"),
    ] {
        for backend in ["file", "latency"] {
            let mut a = argv(&["tune", "threads", "--backend", backend, flag, value]);
            // Small defaults for the other sizes, so that an accepted case stays quick.
            for (other, small) in [("--tiles", "4"), ("--runs", "1"), ("--warmup", "0")] {
                if other != flag {
                    a.extend(argv(&[other, small]));
                }
            }
            cases.push(a);
        }
    }
    for save in [
        d("garbage.json"),
        d("array.json"),
        d("adir"),
        d("no/such/dir/t.json"),
        "/proc/version".to_owned(),
        "/proc/tessera-cannot-write-here.json".to_owned(),
    ] {
        let mut a = argv(&quick);
        a.extend(argv(&["--save", &save]));
        cases.push(a);
    }
    sweep(&cases);
}

#[test]
fn bad_save_targets_fail_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{\"backends\": [").unwrap();
    let before = std::fs::read(&garbage).unwrap();
    for (save, needle) in [
        (garbage.clone(), "garbage.json:1:"),
        (dir.path().join("no/such/t.json"), "does not exist"),
        (dir.path().to_path_buf(), "is a directory"),
    ] {
        // 900 tiles at 5–20 ms and 1 thread would take seconds: a quick failure shows the
        // check ran first.
        let start = std::time::Instant::now();
        let out = tessera(&[
            "tune",
            "threads",
            "--backend",
            "latency",
            "--save",
            save.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "measured first"
        );
    }
    assert_eq!(
        std::fs::read(&garbage).unwrap(),
        before,
        "the config was changed"
    );
}

#[test]
fn absurd_sizes_are_usage_errors() {
    for (args, needle) in [
        (&["--tiles", "99999999999"][..], "--tiles must be"),
        (&["--runs", "99999999"], "--runs must be"),
        (&["--warmup", "99999999"], "--warmup must be"),
        (&["--tile-bytes", "18446744073709551615"], "MiB"),
    ] {
        let mut argv = vec!["tune", "threads", "--backend", "file"];
        argv.extend(args);
        let out = tessera(&argv);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
