//! `cargo xtask ci`: the checks CI runs, in the order a developer would want them to fail.

use crate::{run_in, workspace_root};

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(extra) = args.first() {
        anyhow::bail!("`ci` takes no arguments, got `{extra}`");
    }
    let root = workspace_root();
    run_in(&root, "cargo", &["fmt", "--all", "--check"], &[])?;
    run_in(
        &root,
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    run_in(&root, "cargo", &["test", "--workspace"], &[])?;
    // Benchmarks run once each, in test mode, so they keep compiling and working.
    run_in(
        &root,
        "cargo",
        &["bench", "--workspace", "--", "--test"],
        &[],
    )?;
    Ok(())
}
