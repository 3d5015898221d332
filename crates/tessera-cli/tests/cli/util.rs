//! Helpers shared by every command group's tests: run the binary, read its output, find sample data.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `tessera` binary with `args`. A panic (exit 101) is always a bug, so it fails the test here.
pub(crate) fn tessera(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(101),
        "tessera {args:?} panicked: {}",
        stderr(&out)
    );
    out
}

/// The command's standard output, which must be UTF-8.
pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The command's standard error, which must be UTF-8.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The path of a sample raster in `../shared/data`.
pub(crate) fn shared_data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}
