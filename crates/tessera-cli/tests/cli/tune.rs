//! `tessera tune threads` run as a user would, with tiny workloads so the tests stay quick.

use std::process::{Command, Output};

use tessera::pool_tuning::{Backend, Operation, ThreadConfig};

fn tessera(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

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
