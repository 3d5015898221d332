//! `tessera mapfile info|dump|verify`: inspect and check map part files.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use tessera::mapfile::{self, MapFileReader, MappedReader};

use crate::UsageError;

/// Inspect and check map part files.
#[derive(Debug, Subcommand)]
pub(crate) enum MapfileCommand {
    /// Show a file's version, record count, first and last index, sizes and index interval.
    Info {
        /// The map file.
        file: PathBuf,
    },
    /// List every record's index and payload length, one per line.
    Dump {
        /// The map file.
        file: PathBuf,
        /// Only records with an index at least this.
        #[arg(long)]
        from: Option<u64>,
        /// Only records with an index at most this.
        #[arg(long)]
        to: Option<u64>,
    },
    /// Check every checksum and the structure of each file; exit 1 naming the first bad block.
    Verify {
        /// The map files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub(crate) fn run(cmd: MapfileCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        MapfileCommand::Info { file } => info(&file, json),
        MapfileCommand::Dump { file, from, to } => {
            let (lo, hi) = (from.unwrap_or(0), to.unwrap_or(u64::MAX));
            if lo > hi {
                return Err(UsageError(format!("--from {lo} is larger than --to {hi}")).into());
            }
            match dump(&file, lo, hi, json) {
                Err(e) if is_broken_pipe(&e) => Ok(()),
                other => other,
            }
        }
        MapfileCommand::Verify { files } => verify(&files, json),
    }
}

fn open(file: &Path) -> anyhow::Result<MappedReader> {
    not_a_directory(file)?;
    MapFileReader::open(file).with_context(|| file.display().to_string())
}

/// Fails clearly on a directory: mapping one reports only "No such device".
fn not_a_directory(file: &Path) -> anyhow::Result<()> {
    if file.is_dir() {
        bail!("{}: is a directory, not a map file", file.display());
    }
    Ok(())
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn info(file: &Path, json: bool) -> anyhow::Result<()> {
    let reader = open(file)?;
    let info = reader.info();
    let (first, last) = match info.index_range {
        Some((first, last)) => (Some(first), Some(last)),
        None => (None, None),
    };
    if json {
        let value = json!({
            "file": file.display().to_string(),
            "version": info.version,
            "records": info.record_count,
            "first_index": first,
            "last_index": last,
            "file_bytes": info.file_bytes,
            "data_bytes": info.data_bytes,
            "index_entries": info.index_entries,
            "index_interval": info.index_interval,
        });
        println!("{value}");
    } else {
        let show = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        println!("file:           {}", file.display());
        println!("version:        {}", info.version);
        println!("records:        {}", info.record_count);
        println!("first index:    {}", show(first));
        println!("last index:     {}", show(last));
        println!("file bytes:     {}", info.file_bytes);
        println!("data bytes:     {}", info.data_bytes);
        println!("index entries:  {}", info.index_entries);
        println!("index interval: {}", info.index_interval);
    }
    Ok(())
}

fn dump(file: &Path, lo: u64, hi: u64, json: bool) -> anyhow::Result<()> {
    let reader = open(file)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    if json {
        write!(out, "[")?;
    }
    for (n, record) in reader.range(lo..=hi).enumerate() {
        let record = record.with_context(|| file.display().to_string())?;
        let len = record.payload.len();
        if json {
            let sep = if n == 0 { "" } else { "," };
            write!(
                out,
                "{sep}\n{}",
                json!({"index": record.index, "payload_bytes": len})
            )?;
        } else {
            writeln!(out, "{}\t{len}", record.index)?;
        }
    }
    if json {
        writeln!(out, "\n]")?;
    }
    out.flush()?;
    Ok(())
}

/// The byte offset a map file error points at, if it names one.
fn error_offset(err: &mapfile::Error) -> Option<u64> {
    match err {
        mapfile::Error::Format { offset, .. } | mapfile::Error::Checksum { offset, .. } => {
            Some(*offset)
        }
        _ => None,
    }
}

fn verify(files: &[PathBuf], json: bool) -> anyhow::Result<()> {
    let mut results = Vec::new();
    let mut first_failure = None;
    for file in files {
        if file.is_dir() {
            let message = "is a directory, not a map file";
            if !json {
                println!("{}: FAILED: {message}", file.display());
            }
            first_failure.get_or_insert_with(|| format!("{}: {message}", file.display()));
            results.push(json!({
                "file": file.display().to_string(), "ok": false, "error": message, "offset": null,
            }));
            continue;
        }
        let outcome = MapFileReader::open(file).and_then(|reader| reader.verify());
        match &outcome {
            Ok(()) => {
                if !json {
                    println!("{}: ok", file.display());
                }
            }
            Err(err) => {
                if !json {
                    println!("{}: FAILED: {err}", file.display());
                }
                if first_failure.is_none() {
                    first_failure = Some(format!("{}: {err}", file.display()));
                }
            }
        }
        results.push(match outcome {
            Ok(()) => json!({"file": file.display().to_string(), "ok": true}),
            Err(err) => json!({
                "file": file.display().to_string(),
                "ok": false,
                "error": err.to_string(),
                "offset": error_offset(&err),
            }),
        });
    }
    if json {
        println!("{}", json!({ "files": results }));
    }
    match first_failure {
        None => Ok(()),
        Some(first) => {
            let failed = results.iter().filter(|r| r["ok"] == false).count();
            bail!(
                "{failed} of {} files failed verification; first: {first}",
                files.len()
            )
        }
    }
}
