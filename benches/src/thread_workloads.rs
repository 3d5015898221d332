//! The three workloads of ADR 0003's thread-count measurements, shared by the `thread_count`
//! criterion benchmark and the `thread_table` binary behind `cargo xtask bench threads`.
//!
//! Each workload is one request of about 900 tiles, run with a given number of threads:
//! (a) reads from local mapfile parts through mmap, (b) reads from a store with 5–20 ms of
//! simulated latency per request, as with S3, (c) writes through writer-with-retry to such a
//! store.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use mapfile::{FileWriter, MappedReader, WriterOptions, part_file_name};
use pool_tuning::{ADR_TILES_PER_REQUEST, Order, Pool, SimulatedLatency};
use writer_with_retry::{Fail, FaultConfig, FaultyStore, MemStore, WriteOptions, write_all};

/// The thread counts measured (ADR 0003's).
pub const THREADS: [usize; 6] = pool_tuning::ADR_CANDIDATES;

/// Input sizes: the ADR's in a real run, tiny in `--test` mode.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Tiles per request.
    pub tiles: usize,
    /// Bytes per tile.
    pub tile_bytes: usize,
    /// Mapfile parts the tiles are spread over.
    pub parts: usize,
    /// Shortest simulated latency.
    pub min_latency: Duration,
    /// Longest simulated latency.
    pub max_latency: Duration,
}

impl Sizes {
    /// The ADR's sizes (900 tiles of 32 KiB in 4 parts, 5–20 ms), or tiny ones when `quick`.
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                tiles: 16,
                tile_bytes: 512,
                parts: 2,
                min_latency: Duration::from_micros(200),
                max_latency: Duration::from_micros(800),
            }
        } else {
            Self {
                tiles: ADR_TILES_PER_REQUEST,
                tile_bytes: 32 * 1024,
                parts: 4,
                min_latency: Duration::from_millis(5),
                max_latency: Duration::from_millis(20),
            }
        }
    }
}

/// Stands in for decoding a tile: a multiply-xor hash over its bytes, so each read costs CPU
/// in proportion to its size as a real decode does.
pub fn decode(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0x243F_6A88_85A3_08D3, |h, c| {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01B3)
    })
}

fn run_pool<R: Send>(
    threads: usize,
    tiles: usize,
    f: impl Fn(usize) -> Result<R, String> + Sync,
) -> Result<(), String> {
    let mut failure = None;
    Pool::new(threads).for_each(0..tiles, Order::Unordered, f, |_, r| match r {
        Ok(Ok(_)) => ControlFlow::Continue(()),
        Ok(Err(e)) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
        Err(e) => {
            failure = Some(e.to_string());
            ControlFlow::Break(())
        }
    });
    failure.map_or(Ok(()), Err)
}

/// (a) Reads from local mapfile parts through mmap.
pub struct MmapReads {
    dir: tempfile::TempDir,
    readers: Vec<MappedReader>,
    tiles: usize,
}

impl MmapReads {
    /// Writes the tiles into `sizes.parts` part files in a temporary directory and maps them.
    pub fn new(sizes: Sizes) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let per_part = sizes.tiles.div_ceil(sizes.parts);
        let mut readers = Vec::new();
        for part in 0..sizes.parts {
            let first = (part * per_part) as u64;
            let path = dir.path().join(part_file_name(part as u32, first));
            let mut writer = FileWriter::create(&path, WriterOptions::default())?;
            for i in 0..per_part {
                let index = first + i as u64;
                let tile: Vec<u8> = (0..sizes.tile_bytes)
                    .map(|b| (b as u64 ^ index) as u8)
                    .collect();
                writer.append(index, &tile)?;
            }
            writer.finish()?;
            readers.push(MappedReader::open(&path)?);
        }
        Ok(Self {
            dir,
            readers,
            tiles: per_part * sizes.parts,
        })
    }

    /// Reads and decodes every tile with `threads` threads.
    pub fn run(&self, threads: usize) -> Result<(), String> {
        let per_part = self.tiles / self.readers.len().max(1);
        run_pool(threads, self.tiles, |i| {
            let reader = self
                .readers
                .get(i / per_part)
                .ok_or("no part for the tile")?;
            let payloads = reader.get(i as u64).map_err(|e| e.to_string())?;
            let tile = payloads
                .first()
                .ok_or_else(|| format!("tile {i} missing"))?;
            Ok(std::hint::black_box(decode(tile)))
        })
    }

    /// The directory holding the part files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// (b) Reads from a store with simulated per-request latency.
pub struct LatencyReads(pub SimulatedLatency);

impl LatencyReads {
    /// The ADR's S3 case at these sizes.
    pub fn new(sizes: Sizes) -> Self {
        Self(SimulatedLatency {
            tiles: sizes.tiles,
            min: sizes.min_latency,
            max: sizes.max_latency,
            seed: 0x5EED,
        })
    }

    /// One request with `threads` threads.
    pub fn run(&self, threads: usize) -> Result<(), String> {
        self.0.run(threads).map_err(|e| e.to_string())
    }
}

/// (c) Writes through writer-with-retry to a store with the same simulated latency and 1 % of
/// transient (throttling) errors, so retries happen as they do against S3.
pub struct LatencyWrites {
    store: FaultyStore<MemStore>,
    records: Vec<(String, Vec<u8>)>,
    policy: Fail,
}

impl LatencyWrites {
    /// Prepares the records (4 KiB each) and the store.
    pub fn new(sizes: Sizes) -> anyhow::Result<Self> {
        let store = FaultyStore::new(
            MemStore::new(),
            FaultConfig {
                seed: 0x5EED,
                transient_rate: 0.01,
                latency: sizes.min_latency,
                jitter: sizes.max_latency.saturating_sub(sizes.min_latency),
                ..FaultConfig::default()
            },
        );
        let records = (0..sizes.tiles)
            .map(|i| (format!("layer/12/{i:06}"), vec![(i % 251) as u8; 4096]))
            .collect();
        // Backoff from the smallest latency, capped well above it.
        let policy = Fail::with_backoff(sizes.min_latency, sizes.max_latency * 10, 8)?;
        Ok(Self {
            store,
            records,
            policy,
        })
    }

    /// Writes every record with `threads` writer threads.
    pub fn run(&self, threads: usize) -> Result<(), String> {
        let options = WriteOptions::default()
            .workers(threads)
            .policy(self.policy)
            .map_err(|e| e.to_string())?;
        let report = write_all(
            &self.store,
            self.records.iter().map(|(k, v)| (k, v)),
            &options,
        );
        match report.failures.first() {
            None => Ok(()),
            Some(f) => Err(format!(
                "{} of {} records failed, first {}: {}",
                report.failures.len(),
                report.total(),
                f.key,
                f.reason
            )),
        }
    }
}
