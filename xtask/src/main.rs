//! Developer tasks for the Tessera workspace, run as `cargo xtask <task>`.

mod bench;
mod ci;
mod crash_test;
mod data;
mod fuzz;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  bench threads [--quick]     thread-count tables (ADR 0003) for mmap, latency and write; writes target/thread-count.md
  crash-test [--trials N]     kill layer-store writers at random moments N times (default 500), check every layer
  ci                          fmt --check, clippy -D warnings, tests (with doctests), benchmarks in test mode
  tidy                        check workspace conventions (lints.workspace, //! file headers)
  fuzz <target> [--seconds N] run one cargo-fuzz target on the stable toolchain
  data [goldens|bench]        regenerate the raster GDAL goldens and the benchmark raster (needs GDAL)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "bench" => bench::run(rest),
        "ci" => ci::run(rest),
        "crash-test" => crash_test::run(rest),
        "tidy" => tidy::run(rest),
        "fuzz" => fuzz::run(rest),
        "data" => data::run(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("xtask: unknown task `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask {task}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs a command to completion in `dir`, echoing it first, and fails if it fails.
pub(crate) fn run_in(
    dir: &Path,
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> anyhow::Result<()> {
    let env_prefix: Vec<String> = envs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!("$ {} {program} {}", env_prefix.join(" "), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .status()
        .with_context(|| format!("could not start `{program}`"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}
