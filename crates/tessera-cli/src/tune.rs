//! `tessera tune threads`: measures the best thread count on this machine (ADR 0003) and can
//! save it into a thread configuration file.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use tessera::mapfile::{FileWriter, MappedReader, WriterOptions, part_file_name};
use tessera::pool_tuning::{
    ADR_CANDIDATES, ADR_TILES_PER_REQUEST, Backend, Calibration, CalibrationOptions, Operation,
    Order, Pool, SimulatedLatency, ThreadConfig, calibrate,
};

use crate::UsageError;

/// Tune thread pools for this machine.
#[derive(Debug, Subcommand)]
pub(crate) enum TuneCommand {
    /// Time one request of tiles at 1, 2, 4, 8, 16 and 32 threads and print
    /// `| threads | median ms | speedup |`.
    Threads {
        /// What to read: local mapfile parts through mmap, or a store with 5–20 ms simulated
        /// latency per request (as with S3).
        #[arg(long, value_enum, default_value_t = TuneBackend::File)]
        backend: TuneBackend,
        /// Save the best count (and the table) into this thread configuration file, as the
        /// collection-read count of the `file` backend (or `s3` for `latency`). The file is
        /// created if missing; its other settings are kept.
        #[arg(long, value_name = "CONFIG")]
        save: Option<PathBuf>,
        /// Tiles per request (ADR 0003 measured about 900).
        #[arg(long, default_value_t = ADR_TILES_PER_REQUEST)]
        tiles: usize,
        /// Bytes per tile for the `file` backend.
        #[arg(long, default_value_t = 32 * 1024)]
        tile_bytes: usize,
        /// Measured runs per thread count; the median is kept.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Unmeasured warm-up runs per thread count.
        #[arg(long, default_value_t = 1)]
        warmup: usize,
    },
}

/// The workloads `tune threads` can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TuneBackend {
    /// Local mapfile parts read through mmap.
    File,
    /// A store with 5–20 ms of simulated latency per request.
    Latency,
}

pub(crate) fn run(cmd: TuneCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        TuneCommand::Threads {
            backend,
            save,
            tiles,
            tile_bytes,
            runs,
            warmup,
        } => {
            check_sizes(backend, tiles, tile_bytes, runs, warmup)?;
            // A save that is bound to fail (a corrupt config, a missing directory) fails
            // before the minutes of measuring, not after.
            if let Some(path) = &save {
                check_save_path(path)?;
            }
            let options = CalibrationOptions {
                warmup_runs: warmup,
                runs,
                ..CalibrationOptions::default()
            };
            let (title, config_backend, calibration) = match backend {
                TuneBackend::File => {
                    let work = MmapWorkload::new(tiles, tile_bytes)?;
                    let title = format!(
                        "{tiles} tiles of {tile_bytes} bytes read from local mapfile parts through mmap"
                    );
                    (
                        title,
                        Backend::file(),
                        calibrate(|n| work.run(n), &ADR_CANDIDATES, &options)?,
                    )
                }
                TuneBackend::Latency => {
                    let work = SimulatedLatency {
                        tiles,
                        ..SimulatedLatency::default()
                    };
                    let title = format!("{tiles} tile reads with 5–20 ms simulated latency each");
                    (
                        title,
                        Backend::s3(),
                        calibrate(|n| work.run(n), &ADR_CANDIDATES, &options)?,
                    )
                }
            };
            if let Some(path) = &save {
                save_into(path, config_backend.clone(), &calibration)?;
            }
            if json {
                let value = json!({
                    "workload": title,
                    "backend": config_backend.as_str(),
                    "operation": Operation::CollectionRead.as_str(),
                    "best": calibration.best,
                    "table": calibration.table,
                    "saved": save,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("{title}\n");
                print!("{}", calibration.to_markdown());
                println!("\nbest: {} threads", calibration.best);
                if let Some(path) = &save {
                    println!(
                        "saved as {}.{} in {}",
                        config_backend,
                        Operation::CollectionRead,
                        path.display()
                    );
                }
            }
            Ok(())
        }
    }
}

/// Most tiles per request: 100 times ADR 0003's 900, so that a typo cannot run for hours.
const MAX_TILES: usize = 100 * ADR_TILES_PER_REQUEST;

/// Most runs (measured or warm-up) per thread count.
const MAX_RUNS: usize = 1000;

/// Most bytes the `file` workload writes to the temporary directory: its four parts stay
/// below the mapfile writer's roll-over size, and a typo cannot fill the disk.
const MAX_FILE_BYTES: usize = 256 << 20;

/// Rejects sizes that are zero or absurd, as usage errors.
fn check_sizes(
    backend: TuneBackend,
    tiles: usize,
    tile_bytes: usize,
    runs: usize,
    warmup: usize,
) -> anyhow::Result<()> {
    let usage = |msg: String| Err(UsageError(msg).into());
    if !(1..=MAX_TILES).contains(&tiles) {
        return usage(format!("--tiles must be 1..={MAX_TILES}, got {tiles}"));
    }
    if !(1..=MAX_RUNS).contains(&runs) {
        return usage(format!("--runs must be 1..={MAX_RUNS}, got {runs}"));
    }
    if warmup > MAX_RUNS {
        return usage(format!("--warmup must be 0..={MAX_RUNS}, got {warmup}"));
    }
    if backend == TuneBackend::File {
        if tile_bytes == 0 {
            return usage("--tile-bytes must be at least 1".to_owned());
        }
        if tiles.saturating_mul(tile_bytes) > MAX_FILE_BYTES {
            return usage(format!(
                "--tiles {tiles} of --tile-bytes {tile_bytes} is more than the {} MiB the file \
                 workload may write",
                MAX_FILE_BYTES >> 20
            ));
        }
    }
    Ok(())
}

/// Checks that `--save` can work: its directory exists and an existing file is a valid
/// configuration.
fn check_save_path(path: &Path) -> anyhow::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent.filter(|dir| !dir.is_dir()) {
        anyhow::bail!(
            "--save {}: directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    if path.is_dir() {
        anyhow::bail!("--save {}: is a directory", path.display());
    }
    ThreadConfig::load_or_default(path).with_context(|| format!("--save {}", path.display()))?;
    // The save writes a temporary file beside the config, then renames it: try that now.
    let mut probe = path.as_os_str().to_owned();
    probe.push(format!(".probe-{}", std::process::id()));
    let probe = PathBuf::from(probe);
    std::fs::File::create(&probe).with_context(|| {
        format!(
            "--save {}: cannot write beside it ({})",
            path.display(),
            probe.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn save_into(path: &Path, backend: Backend, calibration: &Calibration) -> anyhow::Result<()> {
    let mut config = ThreadConfig::load_or_default(path)?;
    config.record_calibration(backend, Operation::CollectionRead, calibration);
    config.save(path)?;
    Ok(())
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads of tiles from four mapfile parts through mmap, each tile "decoded" by hashing its
/// bytes so that a read costs CPU in proportion to its size.
struct MmapWorkload {
    _dir: TempDir,
    readers: Vec<MappedReader>,
    per_part: usize,
    tiles: usize,
}

impl MmapWorkload {
    fn new(tiles: usize, tile_bytes: usize) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos();
        let dir = TempDir(
            std::env::temp_dir().join(format!("tessera-tune-{}-{nanos}", std::process::id())),
        );
        std::fs::create_dir_all(&dir.0).with_context(|| dir.0.display().to_string())?;
        let parts = tiles.clamp(1, 4);
        let per_part = tiles.div_ceil(parts);
        let mut readers = Vec::with_capacity(parts);
        for part in 0..parts {
            let first = (part * per_part) as u64;
            let path = dir.0.join(part_file_name(part as u32, first));
            let mut writer = FileWriter::create(&path, WriterOptions::default())?;
            for i in 0..per_part {
                let index = first + i as u64;
                let tile: Vec<u8> = (0..tile_bytes).map(|b| (b as u64 ^ index) as u8).collect();
                writer.append(index, &tile)?;
            }
            writer.finish()?;
            readers.push(MappedReader::open(&path).with_context(|| path.display().to_string())?);
        }
        Ok(Self {
            _dir: dir,
            readers,
            per_part,
            tiles,
        })
    }

    fn run(&self, threads: usize) -> anyhow::Result<()> {
        let mut failure = None;
        Pool::new(threads).for_each(
            0..self.tiles,
            Order::Unordered,
            |i| -> anyhow::Result<u64> {
                let reader = self
                    .readers
                    .get(i / self.per_part)
                    .context("no part for the tile")?;
                let payloads = reader.get(i as u64)?;
                let tile = payloads
                    .first()
                    .with_context(|| format!("tile {i} missing"))?;
                Ok(std::hint::black_box(decode(tile)))
            },
            |_, r| match r {
                Ok(Ok(_)) => ControlFlow::Continue(()),
                Ok(Err(e)) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
                Err(e) => {
                    failure = Some(e.into());
                    ControlFlow::Break(())
                }
            },
        );
        failure.map_or(Ok(()), Err)
    }
}

/// Stands in for decoding a tile: a multiply-xor hash over its bytes.
fn decode(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0x243F_6A88_85A3_08D3, |h, c| {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01B3)
    })
}
