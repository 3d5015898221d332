//! `ThreadConfig`: ADR 0003 defaults, JSON load and save, environment overrides.

use std::path::Path;

use pool_tuning::{
    Backend, Calibration, Error, HADOOP_READER_CACHE, Measurement, Operation, S3_CAP, ThreadConfig,
    cores,
};

#[test]
fn defaults_follow_adr_0003() {
    let config = ThreadConfig::default();
    for op in Operation::ALL {
        assert_eq!(
            config.configured(&Backend::file(), op),
            0,
            "stored as automatic"
        );
        assert_eq!(config.threads(&Backend::file(), op), cores());
        assert_eq!(config.threads(&Backend::s3(), op), cores().min(S3_CAP));
        let other = Backend::named("azure_blob").unwrap();
        assert_eq!(config.threads(&other, op), cores());
    }
    assert_eq!(
        config.threads(&Backend::hadoop(), Operation::CollectionRead),
        16
    );
    assert_eq!(config.threads(&Backend::hadoop(), Operation::BulkRead), 16);
    assert_eq!(
        config.threads(&Backend::hadoop(), Operation::BulkWrite),
        cores()
    );
    assert_eq!(config.reader_cache, HADOOP_READER_CACHE);
    let names: Vec<&str> = config.backends.keys().map(Backend::as_str).collect();
    assert_eq!(names, ["file", "hadoop", "s3"]);
}

#[test]
fn backend_and_operation_names() {
    for bad in ["", "S3", "my-store", "a b", "é"] {
        assert!(
            matches!(Backend::named(bad), Err(Error::BackendName { .. })),
            "{bad:?}"
        );
    }
    assert_eq!("gcs_2".parse::<Backend>().unwrap().as_str(), "gcs_2");
    assert_eq!(
        "bulk_write".parse::<Operation>().unwrap(),
        Operation::BulkWrite
    );
    assert!(matches!(
        "bulk".parse::<Operation>(),
        Err(Error::OperationName { .. })
    ));
}

#[test]
fn json_round_trip_and_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.json");
    let mut config = ThreadConfig::default();
    config.set(Backend::s3(), Operation::BulkWrite, 24);
    config.set(Backend::named("gcs").unwrap(), Operation::BulkRead, 12);
    config.save(&path).unwrap();
    let back = ThreadConfig::load(&path).unwrap();
    assert_eq!(back, config);
    assert_eq!(back.threads(&Backend::s3(), Operation::BulkWrite), 24);
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // Missing fields take defaults; a missing file gives the defaults.
    let partial = ThreadConfig::from_json(
        r#"{"backends":{"s3":{"bulk_read":3}}}"#,
        Path::new("p.json"),
    )
    .unwrap();
    assert_eq!(partial.threads(&Backend::s3(), Operation::BulkRead), 3);
    assert_eq!(partial.configured(&Backend::s3(), Operation::BulkWrite), 0);
    assert_eq!(partial.reader_cache, 16);
    assert_eq!(
        ThreadConfig::load_or_default(dir.path().join("none.json")).unwrap(),
        ThreadConfig::default()
    );
}

#[test]
fn bad_json_names_file_and_place() {
    let err = ThreadConfig::from_json(
        "{\n  \"backends\": {\"s3\": {\"bulk_read\": -1}}}",
        Path::new("cfg.json"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Json { line: 2, .. }), "{err:?}");
    assert!(err.to_string().starts_with("cfg.json:2:"), "{err}");

    let err = ThreadConfig::from_json(
        r#"{"backends":{"s3":{"bulk_reed":3}}}"#,
        Path::new("cfg.json"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("bulk_reed"),
        "typos are caught: {err}"
    );

    let err =
        ThreadConfig::from_json(r#"{"backends":{"S3!":{}}}"#, Path::new("cfg.json")).unwrap_err();
    assert!(err.to_string().contains("S3!"), "{err}");

    let err = ThreadConfig::from_json(
        r#"{"backends":{"s3":{"bulk_write":100000}}}"#,
        Path::new("cfg.json"),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Invalid { ref json_path, .. } if json_path == "backends.s3.bulk_write"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("cfg.json: backends.s3.bulk_write"),
        "{err}"
    );

    let err = ThreadConfig::load("/nonexistent/threads.json").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/threads.json"),
        "{err}"
    );
}

#[test]
fn environment_overrides() {
    let mut config = ThreadConfig::default();
    config
        .apply_env_vars([
            ("PATH", "/usr/bin"),
            ("TESSERA_THREADS_S3_BULK_READ", "4"),
            ("TESSERA_THREADS_FILE_COLLECTION_READ", " 3 "),
            ("TESSERA_THREADS_MY_STORE_BULK_WRITE", "20"),
            ("TESSERA_THREADS_HADOOP_BULK_READ", "0"),
        ])
        .unwrap();
    assert_eq!(config.threads(&Backend::s3(), Operation::BulkRead), 4);
    assert_eq!(
        config.threads(&Backend::file(), Operation::CollectionRead),
        3
    );
    assert_eq!(
        config.threads(&Backend::named("my_store").unwrap(), Operation::BulkWrite),
        20
    );
    assert_eq!(config.threads(&Backend::hadoop(), Operation::BulkRead), 16);
}

#[test]
fn bad_environment_values_name_the_variable() {
    for (name, value) in [
        ("TESSERA_THREADS_S3_BULK_READ", "four"),
        ("TESSERA_THREADS_S3_BULK_READ", "-1"),
        ("TESSERA_THREADS_S3_BULK_READ", ""),
        ("TESSERA_THREADS_S3_BULK_READ", "5000"),
        ("TESSERA_THREADS_S3", "4"),
        ("TESSERA_THREADS_S3_READ", "4"),
        ("TESSERA_THREADS__BULK_READ", "4"),
        ("TESSERA_THREADS_s3_BULK_READ", "4"),
        ("TESSERA_THREADS_MY-STORE_BULK_READ", "4"),
    ] {
        let mut config = ThreadConfig::default();
        let err = config.apply_env_vars([(name, value)]).unwrap_err();
        assert!(
            matches!(err, Error::EnvVar { name: ref n, .. } if n == name),
            "{name}={value}: {err:?}"
        );
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn calibration_is_saved_in_the_config() {
    let calibration = Calibration {
        best: 4,
        table: vec![
            Measurement {
                threads: 1,
                median_ms: 100.0,
                runs_ms: vec![100.0],
            },
            Measurement {
                threads: 4,
                median_ms: 30.0,
                runs_ms: vec![30.0],
            },
        ],
    };
    let mut config = ThreadConfig::default();
    config.record_calibration(Backend::file(), Operation::BulkRead, &calibration);
    config.record_calibration(Backend::file(), Operation::BulkRead, &calibration);
    assert_eq!(
        config.calibrations.len(),
        1,
        "a newer calibration replaces the older"
    );
    assert_eq!(config.configured(&Backend::file(), Operation::BulkRead), 4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    config.save(&path).unwrap();
    let back = ThreadConfig::load(&path).unwrap();
    assert_eq!(back.calibrations[0].calibration, calibration);
    assert_eq!(back, config);
}

#[test]
fn overflowing_environment_values_say_too_many() {
    for value in ["99999999999999999999", "4097", "18446744073709551616"] {
        let mut config = ThreadConfig::default();
        let err = config
            .apply_env_vars([("TESSERA_THREADS_FILE_BULK_READ", value)])
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("TESSERA_THREADS_FILE_BULK_READ"), "{text}");
        assert!(text.contains("more than the limit"), "{value}: {text}");
    }
    for value in ["abc", "-1", "1.5", "0x10", "+3"] {
        let err = ThreadConfig::default()
            .apply_env_vars([("TESSERA_THREADS_FILE_BULK_READ", value)])
            .unwrap_err();
        assert!(err.to_string().contains("whole number"), "{value}: {err}");
    }
}

/// Hostile configuration files: every one is an error naming the file, none panics.
#[test]
fn hostile_json_is_an_error_never_a_panic() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "cfg.json:1:"),
        ("null".into(), "cfg.json:1:"),
        ("[]".into(), "cfg.json:1:"),
        (deep, "cfg.json:1:"),
        (r#"{"backends":{"s3":{"bulk_read":1.5}}}"#.into(), "cfg.json:1:"),
        (r#"{"backends":{"s3":{"bulk_read":1e300}}}"#.into(), "cfg.json:1:"),
        (
            r#"{"backends":{"s3":{"bulk_read":99999999999999999999999}}}"#.into(),
            "cfg.json:1:",
        ),
        (r#"{"backends":{"":{}}}"#.into(), "cfg.json:1:"),
        (r#"{"reader_cache":-3}"#.into(), "cfg.json:1:"),
        (r#"{"reader_cache":1000000}"#.into(), "reader_cache"),
        (
            r#"{"calibrations":[{"backend":"s3","operation":"bulk_read",
                "calibration":{"best":18446744073709551615,"table":[]}}]}"#
                .into(),
            "calibrations[0].calibration.best",
        ),
        (
            r#"{"calibrations":[{"backend":"s3","operation":"bulk_read",
                "calibration":{"best":1,"table":[{"threads":999999,"median_ms":1.0,"runs_ms":[]}]}}]}"#
                .into(),
            "calibrations[0].calibration.table[0].threads",
        ),
        (
            r#"{"calibrations":[{"backend":"s3","operation":"fly","calibration":{"best":1,"table":[]}}]}"#
                .into(),
            "cfg.json:1:",
        ),
    ];
    for (text, needle) in cases {
        let err = ThreadConfig::from_json(&text, Path::new("cfg.json"))
            .map(|_| text.chars().take(60).collect::<String>())
            .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("cfg.json"), "{message}");
        assert!(message.contains(needle), "{needle}: {message}");
    }
}

#[test]
fn a_directory_as_config_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = ThreadConfig::load_or_default(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains(dir.path().to_str().unwrap()),
        "{err}"
    );
    let err = ThreadConfig::default().save(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains(dir.path().to_str().unwrap()),
        "{err}"
    );
}
