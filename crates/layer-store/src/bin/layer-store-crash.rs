//! The crash-test runner: `layer-store-crash trials N [--dir D] [--seed S] [--max-delay-ms M]`
//! starts itself as `layer-store-crash child DIR` N times and kills it at random moments
//! (see `layer_store::crash`). Exit 0 when every trial holds, 1 on a violation, 2 on bad usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use layer_store::crash::{CrashConfig, child_main, run_trials};

const USAGE: &str = "usage: layer-store-crash trials N [--dir DIR] [--seed S] [--max-delay-ms M]\n       layer-store-crash child DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("child") => {
            let Some(dir) = args.get(1) else {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            };
            match child_main(&PathBuf::from(dir)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("layer-store-crash child: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("check") => match args.get(1).map(|d| layer_store::crash::check(d.as_ref())) {
            Some(Ok((a, b))) => {
                println!("ok: layer a at operation {a}, layer b present: {b}");
                ExitCode::SUCCESS
            }
            Some(Err(e)) => {
                eprintln!("FAILED: {e}");
                ExitCode::FAILURE
            }
            None => ExitCode::from(2),
        },
        Some("trials") => match trials(&args[1..]) {
            Ok(code) => code,
            Err(msg) => {
                eprintln!("{msg}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn trials(args: &[String]) -> Result<ExitCode, String> {
    let mut it = args.iter();
    let n: usize = it
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("trials needs a count")?;
    let mut dir: Option<PathBuf> = None;
    let mut seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut max_delay = Duration::from_millis(40);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dir" => dir = Some(PathBuf::from(value)),
            "--seed" => seed = value.parse().map_err(|_| format!("bad seed {value}"))?,
            "--max-delay-ms" => {
                max_delay =
                    Duration::from_millis(value.parse().map_err(|_| format!("bad delay {value}"))?);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = dir.unwrap_or_else(|| {
        layer_store::crash::scratch_dir().join(format!("layer-store-crash-{}", std::process::id()))
    });
    let config = CrashConfig::new(exe, &dir)
        .trials(n)
        .seed(seed)
        .max_delay(max_delay);
    println!("crash test: {n} trials in {} (seed {seed})", dir.display());
    let result = run_trials(&config);
    match result {
        Ok(report) => {
            println!(
                "ok: {} trials, {} kills, {} operations on layer a, layer b present {} / absent {} times",
                report.trials, report.kills, report.operations, report.b_present, report.b_absent
            );
            let _ = std::fs::remove_dir_all(&dir);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("FAILED: {e}\n(catalog kept at {})", dir.display());
            Ok(ExitCode::FAILURE)
        }
    }
}
