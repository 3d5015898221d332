//! `cargo xtask fuzz <target> [--seconds N]`: runs a cargo-fuzz target on the stable toolchain.
//!
//! cargo-fuzz needs nightly-only compiler flags (`-Zsanitizer`), so we run it with
//! `RUSTC_BOOTSTRAP=1`, which lets the stable compiler accept them. cargo-fuzz itself
//! is installed from crates.io when it is missing.

use std::process::Command;

use anyhow::{Context, bail};

use crate::{run_in, workspace_root};

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut target = None;
    let mut seconds: u64 = 60;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = it.next().context("`--seconds` needs a value")?;
                seconds = value.parse().with_context(|| {
                    format!("`--seconds {value}`: not a whole number of seconds")
                })?;
            }
            flag if flag.starts_with('-') => bail!("unknown flag `{flag}`"),
            name if target.is_none() => target = Some(name.to_string()),
            extra => bail!("unexpected argument `{extra}`"),
        }
    }
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    let targets = list_targets(&fuzz_dir)?;
    let Some(target) = target else {
        bail!("name a target: one of {}", targets.join(", "));
    };
    if !targets.contains(&target) {
        bail!(
            "no fuzz target `{target}`; the targets are {}",
            targets.join(", ")
        );
    }
    ensure_cargo_fuzz()?;

    // New inputs go to corpus/<target> (ignored by git); the committed seeds are read too.
    let corpus = format!("corpus/{target}");
    let seeds = format!("seeds/{target}");
    std::fs::create_dir_all(fuzz_dir.join(&corpus))?;
    let mut cmd_args = vec!["fuzz", "run", target.as_str(), corpus.as_str()];
    if fuzz_dir.join(&seeds).is_dir() {
        cmd_args.push(seeds.as_str());
    }
    let max_time = format!("-max_total_time={seconds}");
    cmd_args.extend(["--", max_time.as_str(), "-print_final_stats=1"]);
    run_in(&fuzz_dir, "cargo", &cmd_args, &[("RUSTC_BOOTSTRAP", "1")])
}

fn list_targets(fuzz_dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(fuzz_dir.join("fuzz_targets")).context("reading fuzz/fuzz_targets")?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("cargo-fuzz is missing; installing it from crates.io");
        run_in(
            &workspace_root(),
            "cargo",
            &["install", "cargo-fuzz", "--locked"],
            &[],
        )?;
    }
    Ok(())
}
