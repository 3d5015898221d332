//! Crash safety: a child process changing layers is killed at random moments; after each
//! kill every layer verifies and holds exactly the contents of a completed operation.

use std::time::Duration;

use layer_store::crash::{CrashConfig, run_trials};

#[test]
fn killed_writers_leave_old_or_new_layers() {
    let dir = tempfile::tempdir_in(layer_store::crash::scratch_dir()).unwrap();
    let config = CrashConfig::new(env!("CARGO_BIN_EXE_layer-store-crash"), dir.path())
        .trials(60)
        .seed(42)
        .max_delay(Duration::from_millis(30));
    let report = run_trials(&config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.trials, 60);
    // The child made progress, so kills landed amid operations.
    assert!(report.operations >= 5, "{report:?}");
    assert!(report.b_present > 0 && report.b_absent > 0, "{report:?}");
}
