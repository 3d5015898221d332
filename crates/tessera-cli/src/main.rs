//! The `tessera` command-line tool.
//!
//! Exit codes: 0 on success, 1 on failure (with a message on stderr), 2 on a usage
//! error. A panic (exit 101) is always a bug.

mod index;
mod layer;
mod mapfile;
mod raster;
mod tune;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tessera: keyed raster tile storage and ingest.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// The command groups. Each group lives in a module of its own.
#[derive(Debug, Subcommand)]
enum Command {
    // One variant per command group, e.g. `#[command(subcommand)] Index(index::IndexCommand),`.
    /// Encode keys and decompose queries with key indexes (Z-order, Hilbert, row-major).
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Inspect and manage the layers of a catalog: list, info, get, query, delete, copy, move, reindex.
    #[command(subcommand)]
    Layer(layer::LayerCommand),
    /// Inspect and check map part files.
    #[command(subcommand)]
    Mapfile(mapfile::MapfileCommand),
    /// Inspect, render and reproject GeoTIFFs.
    #[command(subcommand)]
    Raster(raster::RasterCommand),
    /// Measure and save thread counts for this machine (ADR 0003).
    #[command(subcommand)]
    Tune(tune::TuneCommand),
}

/// An error in how the command was called rather than in what it did: exit code 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with 2.
    let cli = Cli::parse();
    let json = cli.json;
    let result: anyhow::Result<()> = match cli.command {
        // One arm per command group, e.g. `Command::Index(cmd) => index::run(cmd, json),`.
        Command::Index(cmd) => index::run(cmd, json),
        Command::Layer(cmd) => layer::run(cmd, json),
        Command::Mapfile(cmd) => mapfile::run(cmd, json),
        Command::Raster(cmd) => raster::run(cmd, json),
        Command::Tune(cmd) => tune::run(cmd, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("tessera: error: {}", message(err));
    if err.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

/// The error and its causes joined by ": ", leaving out a cause whose text the message already
/// ends with: many library errors print their source themselves, and `{:#}` would repeat it.
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
