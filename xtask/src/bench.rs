//! `cargo xtask bench threads`: ADR 0003-style thread-count tables for the three workloads
//! (local mmap reads, reads with simulated latency, writes through writer-with-retry), printed
//! and written to `target/thread-count.md`.

use crate::{run_in, workspace_root};

const BENCH_USAGE: &str =
    "usage: cargo xtask bench threads [--quick] [--runs N] [--case mmap|latency|write]...";

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let Some((what, rest)) = args.split_first() else {
        anyhow::bail!("{BENCH_USAGE}");
    };
    match what.as_str() {
        "threads" => threads(rest),
        other => anyhow::bail!("unknown benchmark `{other}`\n{BENCH_USAGE}"),
    }
}

fn threads(args: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    let out = root.join("target").join("thread-count.md");
    let out = out
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the target path is not UTF-8"))?;
    // The benches crate's binary measures the workloads with pool-tuning's calibration (warm-up,
    // several runs, median), which is what the table needs; criterion's output would have to be
    // parsed for the same numbers.
    let mut cmd = vec![
        "run",
        "--release",
        "--quiet",
        "-p",
        "benches",
        "--bin",
        "thread_table",
        "--",
        "--out",
        out,
    ];
    cmd.extend(args.iter().map(String::as_str));
    run_in(&root, "cargo", &cmd, &[])
}
