//! Prints ADR 0003-style thread-count tables (`| threads | median ms | speedup |`) for the three
//! workloads of `benches::thread_workloads`, measured with pool-tuning's calibration, and writes
//! them to a markdown file. `cargo xtask bench threads` runs it.
//!
//! Usage: `thread_table [--out FILE] [--case mmap|latency|write]... [--runs N] [--quick]`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use benches::thread_workloads::{LatencyReads, LatencyWrites, MmapReads, Sizes, THREADS};
use pool_tuning::{CalibrationOptions, calibrate, cores};

fn main() -> anyhow::Result<()> {
    let mut out = PathBuf::from("target/thread-count.md");
    let mut cases = Vec::new();
    let mut runs = 3;
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().context("--out needs a file")?.into(),
            "--case" => cases.push(args.next().context("--case needs mmap, latency or write")?),
            "--runs" => {
                runs = args
                    .next()
                    .context("--runs needs a number")?
                    .parse()
                    .context("--runs")?;
            }
            "--quick" => quick = true,
            other => bail!("unknown argument `{other}`"),
        }
    }
    if cases.is_empty() {
        cases = vec!["mmap".into(), "latency".into(), "write".into()];
    }
    let sizes = Sizes::new(quick);
    let options = CalibrationOptions {
        warmup_runs: 1,
        runs,
        ..CalibrationOptions::default()
    };
    let mut doc = format!(
        "# Thread counts (ADR 0003)\n\n{} tiles per request; {runs} measured runs after one warm-up, median; \
         {} cores on this machine.\n",
        sizes.tiles,
        cores()
    );
    for case in &cases {
        let (title, calibration) = match case.as_str() {
            "mmap" => {
                let w = MmapReads::new(sizes)?;
                let title = format!(
                    "(a) reads from {} local mapfile parts through mmap, {}-byte tiles",
                    sizes.parts, sizes.tile_bytes
                );
                (title, calibrate(|n| w.run(n), &THREADS, &options)?)
            }
            "latency" => {
                let w = LatencyReads::new(sizes);
                let title = format!(
                    "(b) reads from a store with {:?}–{:?} simulated latency per request",
                    sizes.min_latency, sizes.max_latency
                );
                (title, calibrate(|n| w.run(n), &THREADS, &options)?)
            }
            "write" => {
                let w = LatencyWrites::new(sizes)?;
                let title = format!(
                    "(c) writes through writer-with-retry, {:?}–{:?} latency, 1 % transient errors",
                    sizes.min_latency, sizes.max_latency
                );
                (title, calibrate(|n| w.run(n), &THREADS, &options)?)
            }
            other => bail!("unknown case `{other}`: expected mmap, latency or write"),
        };
        let section = format!(
            "\n## {title}\n\n{}\nbest: {} threads\n",
            calibration.to_markdown(),
            calibration.best
        );
        print!("{section}");
        doc.push_str(&section);
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let _ = writeln!(doc);
    std::fs::write(&out, doc).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
