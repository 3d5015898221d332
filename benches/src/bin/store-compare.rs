//! Layer-store peer comparison: the same tiles written to a Tessera layer, to redb (the key
//! index as the key) and to SQLite in the MBTiles layout; bulk write, warm point reads and box
//! queries timed on each, printed as a table and as `speedup <op> vs <peer>: <x>` lines.
//!
//! Usage: `cargo run --release -p benches --bin store-compare -- [--tiles N] [--reads R]
//! [--boxes B] [--box-side S] [--runs N] [--write-runs N] [--dir DIR]`, or
//! `-- --rss-check [--budget-mib M] [--data-mib D]` to write D MiB (default 256) through a
//! Tessera writer with a memory budget of M MiB (default 64) and compare the peak RSS
//! (`VmHWM` of /proc/self/status) with M + 64 MiB. `--tessera-only` and `--index-interval N`
//! help profiling Tessera alone.
//!
//! Every store gets the same input: N encoded 256×256 uint8 tiles (zstd level 1, tens of KiB
//! each) on a square grid, given in one shuffled order (records arrive in any order). Every
//! store writes durably (Tessera fsyncs its parts, redb commits with its default durability,
//! SQLite runs with `synchronous=FULL` in one transaction). Reads are warm: each read phase
//! runs once untimed, then in rounds where the stores take turns, with the same random keys
//! and boxes for every store; each store's best round counts (the machine is shared and noisy,
//! and taking turns exposes every store to the same disturbance). Beside the stores, each
//! write round also times the disk's floor: the same bytes written to two plain files at
//! once and fsynced, the bytes alone with no store's work around them (in a noisy run a
//! store can come in under it, as the floor is timed apart from the stores). During
//! Tessera's writes the page cache is sampled every 5 ms, and its largest growth is printed
//! (the part files count, as they stay cached; so does anything else the machine caches
//! meanwhile). Beside the point reads, a floor phase touches the first byte of each record
//! read, one touch waiting for the last, in maps of the same part files: the memory cost of
//! reaching a record at all. After the speedups,
//! `ceiling <op> vs <peer>: <x>` lines give x = peer time / floor, the largest speedup any
//! store could show against that peer in this run; a ceiling under a goal puts the goal out
//! of reach on this machine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use keyed_tile::codec::{self, Compression};
use keyed_tile::index::{AnyKeyIndex, Budget, KeyIndex};
use keyed_tile::{
    CellBuffer, CellType, Extent, KeyBounds, LayoutDefinition, MultibandTile, NoData, SpatialKey,
    Tile, TileLayout,
};
use layer_store::{
    Catalog, CatalogOptions, KeyIndexChoice, LayerId, LayerMetadata, LayerReader, WriteOptions,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use redb::{ReadableDatabase, TableDefinition};
use rusqlite::params;

/// The redb table: the key index as the key, the key (col, row) and the tile as the value.
const REDB_TILES: TableDefinition<u64, &[u8]> = TableDefinition::new("tiles");

/// The zoom level written to the MBTiles table (any constant does; one layer).
const ZOOM: i64 = 12;

/// Distinct tiles generated; the N records cycle through them (the stores never compare
/// values, and generating N tiles would dominate the run).
const TILE_POOL: usize = 32;

/// Cells per tile side.
const TILE_SIDE: u32 = 256;

/// The seed of the point-read floor's records (apart from the point reads' own).
const FLOOR_SEED: u64 = 7;

/// The query budget used for the Tessera layer and for redb (Tessera's default).
const QUERY_BUDGET: usize = 2048;

#[derive(Debug)]
struct Args {
    tiles: usize,
    reads: usize,
    boxes: usize,
    box_side: i32,
    dir: Option<PathBuf>,
    rss_check: bool,
    budget_mib: usize,
    data_mib: usize,
    seed: u64,
    /// Only Tessera: no peers and no speedups (for profiling Tessera alone).
    tessera_only: bool,
    /// Timed rounds of each read phase; the best counts.
    runs: usize,
    /// Rounds of the bulk writes; the best counts.
    write_runs: usize,
    /// Tessera's sparse index interval (0: layer-store's automatic choice).
    index_interval: u32,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        tiles: 20_000,
        reads: 0,
        boxes: 200,
        box_side: 16,
        dir: None,
        rss_check: false,
        budget_mib: 64,
        data_mib: 256,
        seed: 42,
        tessera_only: false,
        runs: 5,
        write_runs: 2,
        index_interval: 0,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value"))
                .cloned()
        };
        match flag.as_str() {
            "--tiles" => args.tiles = value()?.parse().context("--tiles needs a count")?,
            "--reads" => args.reads = value()?.parse().context("--reads needs a count")?,
            "--boxes" => args.boxes = value()?.parse().context("--boxes needs a count")?,
            "--box-side" => {
                args.box_side = value()?.parse().context("--box-side needs a count")?;
            }
            "--dir" => args.dir = Some(PathBuf::from(value()?)),
            "--seed" => args.seed = value()?.parse().context("--seed needs a number")?,
            "--rss-check" => args.rss_check = true,
            "--tessera-only" => args.tessera_only = true,
            "--runs" => args.runs = value()?.parse().context("--runs needs a count")?,
            "--write-runs" => {
                args.write_runs = value()?.parse().context("--write-runs needs a count")?;
            }
            "--index-interval" => {
                args.index_interval = value()?.parse().context("--index-interval needs a count")?;
            }
            "--budget-mib" => {
                args.budget_mib = value()?.parse().context("--budget-mib needs a count")?;
            }
            "--data-mib" => args.data_mib = value()?.parse().context("--data-mib needs a count")?,
            // `cargo bench` passes --bench.
            "--bench" => {}
            other => bail!(
                "unknown argument `{other}`\nusage: store-compare [--tiles N] [--reads R] [--boxes B] [--box-side S] [--dir DIR] [--seed S] [--runs N] [--write-runs N] [--index-interval N] [--tessera-only]\n       store-compare --rss-check [--budget-mib M] [--data-mib D]"
            ),
        }
    }
    if args.tiles == 0 || args.box_side < 1 || args.budget_mib == 0 {
        bail!("--tiles, --box-side and --budget-mib must be at least 1");
    }
    if args.reads == 0 {
        args.reads = args.tiles.min(20_000);
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let tmp;
    let dir = if let Some(d) = &args.dir {
        std::fs::create_dir_all(d).with_context(|| d.display().to_string())?;
        d.clone()
    } else {
        // Beside the target directory rather than in /tmp, which may be a small tmpfs.
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
        std::fs::create_dir_all(&base)?;
        tmp = tempfile::Builder::new()
            .prefix("store-compare-")
            .tempdir_in(&base)?;
        tmp.path().to_path_buf()
    };
    if args.rss_check {
        rss_check(&args, &dir)
    } else {
        compare(&args, &dir)
    }
}

/// The tiles to store: `TILE_POOL` encoded tiles of smooth gradients plus 2 bits of noise,
/// which zstd level 1 squeezes to a few tens of KiB, like real imagery tiles.
fn tile_pool(seed: u64) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pool = Vec::with_capacity(TILE_POOL);
    for t in 0..TILE_POOL {
        let mut cells = Vec::with_capacity((TILE_SIDE * TILE_SIDE) as usize);
        for y in 0..TILE_SIDE {
            for x in 0..TILE_SIDE {
                let base = (x + y * (t as u32 % 3 + 1)) / 4;
                cells.push((base as u8).wrapping_add(rng.gen_range(0..4u8)));
            }
        }
        let cell_type = CellType::UInt8(NoData::Raw);
        let tile = Tile::from_buffer(cell_type, TILE_SIDE, TILE_SIDE, CellBuffer::UInt8(cells))?;
        let tile = MultibandTile::new(vec![tile])?;
        pool.push(codec::encode(&tile, Compression::Zstd(1)));
    }
    Ok(pool)
}

/// The square grid holding `tiles` keys: its side.
fn grid_side(tiles: usize) -> i32 {
    (tiles as f64).sqrt().ceil().max(1.0) as i32
}

fn layer_metadata(side: i32) -> anyhow::Result<LayerMetadata<SpatialKey>> {
    let cells = f64::from(side) * f64::from(TILE_SIDE);
    let extent = Extent::new(0.0, 0.0, cells, cells)?;
    let layout = LayoutDefinition::new(
        extent,
        TileLayout::new(side as u32, side as u32, TILE_SIDE, TILE_SIDE),
    )?;
    Ok(LayerMetadata {
        layout_definition: layout,
        extent,
        crs: "EPSG:3857".to_owned(),
        cell_type: CellType::UInt8(NoData::Raw),
        bounds: KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(side - 1, side - 1))?,
    })
}

/// The value stored in redb: the key (so that box queries can refine the index ranges, as
/// Tessera's records do), then the tile.
fn redb_value(key: SpatialKey, tile: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + tile.len());
    v.extend_from_slice(&key.col.to_le_bytes());
    v.extend_from_slice(&key.row.to_le_bytes());
    v.extend_from_slice(tile);
    v
}

fn redb_key(v: &[u8]) -> Option<SpatialKey> {
    let col = i32::from_le_bytes(v.get(0..4)?.try_into().ok()?);
    let row = i32::from_le_bytes(v.get(4..8)?.try_into().ok()?);
    Some(SpatialKey::new(col, row))
}

struct Workload {
    runs: usize,
    write_runs: usize,
    index_interval: u32,
    side: i32,
    records: Vec<(SpatialKey, usize)>,
    pool: Vec<Vec<u8>>,
    reads: Vec<SpatialKey>,
    boxes: Vec<KeyBounds<SpatialKey>>,
    index: AnyKeyIndex<SpatialKey>,
}

fn workload(args: &Args) -> anyhow::Result<Workload> {
    let side = grid_side(args.tiles);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut records: Vec<(SpatialKey, usize)> = (0..args.tiles)
        .map(|i| {
            let key = SpatialKey::new(i as i32 % side, i as i32 / side);
            (key, i % TILE_POOL)
        })
        .collect();
    records.shuffle(&mut rng);
    let reads = (0..args.reads)
        .map(|_| records[rng.gen_range(0..records.len())].0)
        .collect();
    let rows_used = (args.tiles as i32 + side - 1) / side;
    let b = args.box_side.min(side);
    let boxes = (0..args.boxes)
        .map(|_| {
            let c0 = rng.gen_range(0..=side - b);
            let r0 = rng.gen_range(0..=(rows_used - b).max(0));
            KeyBounds::new(
                SpatialKey::new(c0, r0),
                SpatialKey::new(c0 + b - 1, r0 + b - 1),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bounds = KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(side - 1, side - 1))?;
    Ok(Workload {
        runs: args.runs,
        write_runs: args.write_runs,
        index_interval: args.index_interval,
        side,
        records,
        pool: tile_pool(args.seed)?,
        reads,
        boxes,
        index: AnyKeyIndex::zorder(bounds, None)?,
    })
}

/// What one timed read phase of one store returned: records and value bytes seen.
type Seen = (u64, u64);

/// A read phase of one store, run again for each round.
type Phase<'a> = Box<dyn FnMut() -> anyhow::Result<Seen> + 'a>;

/// Runs every store's phase once untimed (to warm caches), then `runs` rounds in which each
/// store runs it once, timed; each store's best round counts. Taking turns within a round
/// puts every store under the same load from the rest of the machine (which is shared and
/// noisy), so the ratios hold better than the absolute times. The order of the turns
/// rotates from round to round: a phase finds the CPU caches as the phase before it left
/// them (SQLite's reads sweep them clean; Tessera's leave them nearly untouched), so a
/// fixed order would favour whichever store always follows a light one.
fn race(runs: usize, phases: &mut [Phase<'_>]) -> anyhow::Result<Vec<(Duration, Seen)>> {
    let mut out = Vec::with_capacity(phases.len());
    for phase in phases.iter_mut() {
        out.push((Duration::MAX, phase()?));
    }
    let n = phases.len();
    for round in 0..runs.max(1) {
        for turn in 0..n {
            let i = (round + turn) % n;
            let start = Instant::now();
            let seen = phases[i]()?;
            let (best, last) = &mut out[i];
            *best = (*best).min(start.elapsed());
            *last = seen;
        }
    }
    Ok(out)
}

/// Removes a store left by an earlier run in a reused `--dir`.
fn remove_store(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)?;
    } else if path.exists() {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// The names of the stores, in the order of every phase's results.
const STORES: [&str; 3] = ["tessera", "redb", "sqlite"];

fn compare(args: &Args, dir: &Path) -> anyhow::Result<()> {
    let w = workload(args)?;
    let total: u64 = w.records.iter().map(|(_, t)| w.pool[*t].len() as u64).sum();
    println!(
        "store-compare: {} tiles of {TILE_SIDE}x{TILE_SIDE} uint8 (zstd 1), mean {:.1} KiB, {:.0} MiB in all; grid {}x{}; {} point reads; {} boxes of {}x{}; best of {} rounds",
        w.records.len(),
        total as f64 / w.records.len() as f64 / 1024.0,
        total as f64 / f64::from(1 << 20),
        w.side,
        w.side,
        w.reads.len(),
        w.boxes.len(),
        args.box_side,
        args.box_side,
        w.runs,
    );
    let tessera_dir = dir.join("tessera");
    let redb_path = dir.join("tiles.redb");
    let sqlite_path = dir.join("tiles.mbtiles");

    // Bulk writes, in turns as the reads; each round writes every store afresh.
    let write_rounds = if args.tessera_only { 1 } else { w.write_runs };
    let mut writes = [Duration::MAX; 3];
    let mut floor = Duration::MAX;
    let mut cache_peak: Option<u64> = None;
    let floor_dir = dir.join("floor");
    for _ in 0..write_rounds.max(1) {
        // Removed first, so that the growth counts from the cache without the old layer.
        remove_store(&tessera_dir)?;
        let (took, peak) = cache_growth(|| write_tessera(&w, &tessera_dir));
        writes[0] = writes[0].min(took?);
        if let Some(p) = peak {
            cache_peak = Some(cache_peak.unwrap_or(0).max(p));
        }
        if !args.tessera_only {
            writes[1] = writes[1].min(write_redb(&w, &redb_path)?);
            writes[2] = writes[2].min(write_sqlite(&w, &sqlite_path)?);
            floor = floor.min(write_floor(&w, &floor_dir)?);
        }
    }
    remove_store(&floor_dir)?;

    let catalog = Catalog::open(&tessera_dir)?;
    let reader: LayerReader<SpatialKey> = catalog.reader(&layer_id()?)?;
    let one = Catalog::open_with(&tessera_dir, CatalogOptions::default().threads(1))?;
    let one_reader: LayerReader<SpatialKey> = one.reader(&layer_id()?)?;

    if args.tessera_only {
        let mut point = vec![tessera_points(&w, &reader)];
        let point = race(w.runs, &mut point)?;
        let mut boxes = vec![
            tessera_boxes(&w, &reader),
            tessera_boxes(&w, &one_reader),
            tessera_iter_boxes(&w, &reader),
        ];
        let boxes = race(w.runs, &mut boxes)?;
        let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        println!(
            "tessera: write {:.3} s, point-read {:.2} us/read, box-query {:.1} us/box (one thread {:.1}, iterator {:.1})",
            writes[0].as_secs_f64(),
            per(point[0].0, w.reads.len()),
            per(boxes[0].0, w.boxes.len()),
            per(boxes[1].0, w.boxes.len()),
            per(boxes[2].0, w.boxes.len())
        );
        return Ok(());
    }

    let db = redb::Database::open(&redb_path)?;
    let txn = db.begin_read()?;
    let table = txn.open_table(REDB_TILES)?;
    let conn = rusqlite::Connection::open(&sqlite_path)?;

    let touch = TouchFloor::new(&w, &reader)?;
    let mut point = vec![
        tessera_points(&w, &reader),
        redb_points(&w, &table),
        sqlite_points(&w, &conn)?,
        touch.phase(),
    ];
    let point = race(w.runs, &mut point)?;
    let mut boxes = vec![
        tessera_boxes(&w, &reader),
        redb_boxes(&w, &table),
        sqlite_boxes(&w, &conn)?,
        tessera_boxes(&w, &one_reader),
        tessera_iter_boxes(&w, &reader),
    ];
    let boxes = race(w.runs, &mut boxes)?;

    for (i, store) in STORES.iter().enumerate().skip(1) {
        if point[i].1 != point[0].1 || boxes[i].1 != boxes[0].1 {
            bail!(
                "{store} disagrees with tessera: point reads {:?} vs {:?}, boxes {:?} vs {:?}",
                point[i].1,
                point[0].1,
                boxes[i].1,
                boxes[0].1
            );
        }
    }
    for (i, name) in ["one thread", "iterator"].iter().enumerate() {
        if boxes[3 + i].1 != boxes[0].1 {
            bail!(
                "tessera box queries ({name}) disagree: {:?} vs {:?}",
                boxes[3 + i].1,
                boxes[0].1
            );
        }
    }

    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
    println!();
    println!(
        "{:<28} {:>12} {:>12} {:>12}",
        "operation", STORES[0], STORES[1], STORES[2]
    );
    println!(
        "{:<28} {:>12.3} {:>12.3} {:>12.3}",
        "write (s)",
        writes[0].as_secs_f64(),
        writes[1].as_secs_f64(),
        writes[2].as_secs_f64()
    );
    println!(
        "{:<28} {:>12.2} {:>12.2} {:>12.2}",
        "point-read (us/read)",
        per(point[0].0, w.reads.len()),
        per(point[1].0, w.reads.len()),
        per(point[2].0, w.reads.len())
    );
    println!(
        "{:<28} {:>12.1} {:>12.1} {:>12.1}",
        "box-query (us/box)",
        per(boxes[0].0, w.boxes.len()),
        per(boxes[1].0, w.boxes.len()),
        per(boxes[2].0, w.boxes.len())
    );
    for (row, i) in [
        ("box-query, 1 thread (us/box)", 3),
        ("box-query, iterator (us/box)", 4),
    ] {
        println!(
            "{:<28} {:>12.1} {:>12} {:>12}",
            row,
            per(boxes[i].0, w.boxes.len()),
            "-",
            "-"
        );
    }
    println!(
        "(the disk's floor: the same bytes written to two files at once and fsynced took {:.3} s; tessera's write took {:.2} times that)",
        floor.as_secs_f64(),
        writes[0].as_secs_f64() / floor.as_secs_f64().max(1e-12)
    );
    if let Some(peak) = cache_peak {
        println!(
            "(tessera's write grew the page cache by at most {:.0} MiB, {:.2} times the data, the part files included)",
            peak as f64 / f64::from(1 << 20),
            peak as f64 / total as f64
        );
    }
    let touch_us = per(point[3].0, w.reads.len());
    println!(
        "(the point-read floor: one dependent touch of each record read, in the same mapped part files, took {touch_us:.2} us/read; tessera's read took {:.2} times that)",
        per(point[0].0, w.reads.len()) / touch_us.max(1e-12)
    );
    println!(
        "(box queries returned {} records, {:.0} MiB in all)",
        boxes[0].1.0,
        boxes[0].1.1 as f64 / f64::from(1 << 20)
    );
    println!();
    let ratio = |peer: Duration, ours: Duration| peer.as_secs_f64() / ours.as_secs_f64().max(1e-12);
    for (op, times) in [
        ("write", writes),
        ("point-read", [point[0].0, point[1].0, point[2].0]),
        ("box-query", [boxes[0].0, boxes[1].0, boxes[2].0]),
    ] {
        println!("speedup {op} vs redb: {:.2}", ratio(times[1], times[0]));
        println!("speedup {op} vs sqlite: {:.2}", ratio(times[2], times[0]));
    }
    // What no store could beat in this run: writing the bytes at the disk's floor, and
    // reading by touching each record once. A ceiling under a goal means the goal is out
    // of reach on this machine, whatever the store does.
    println!();
    for (op, times, bound) in [
        ("write", writes, floor),
        (
            "point-read",
            [point[0].0, point[1].0, point[2].0],
            point[3].0,
        ),
    ] {
        println!("ceiling {op} vs redb: {:.2}", ratio(times[1], bound));
        println!("ceiling {op} vs sqlite: {:.2}", ratio(times[2], bound));
    }
    Ok(())
}

fn layer_id() -> anyhow::Result<LayerId> {
    Ok(LayerId::new("compare", ZOOM as u32)?)
}

/// The machine's page cache (`Cached` in /proc/meminfo, in bytes), where there is one.
fn page_cache_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("Cached:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs `f` while sampling the page cache every 5 ms, and returns its result with the
/// largest growth of the page cache seen over its size at the start (the machine's, so
/// other processes count too; `None` without /proc/meminfo).
fn cache_growth<T>(f: impl FnOnce() -> T) -> (T, Option<u64>) {
    let Some(base) = page_cache_bytes() else {
        return (f(), None);
    };
    let done = std::sync::atomic::AtomicBool::new(false);
    let peak = AtomicU64::new(base);
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if let Some(now) = page_cache_bytes() {
                    peak.fetch_max(now, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let out = f();
        done.store(true, Ordering::Relaxed);
        out
    });
    let grown = peak.load(Ordering::Relaxed).saturating_sub(base);
    (out, Some(grown))
}

fn write_tessera(w: &Workload, dir: &Path) -> anyhow::Result<Duration> {
    remove_store(dir)?;
    let catalog = Catalog::open(dir)?;
    let start = Instant::now();
    catalog.write(
        &layer_id()?,
        layer_metadata(w.side)?,
        KeyIndexChoice::Index(w.index.clone()),
        w.records.iter().map(|(k, t)| (*k, w.pool[*t].as_slice())),
        &WriteOptions::default().index_interval(w.index_interval),
    )?;
    Ok(start.elapsed())
}

fn tessera_points<'a>(w: &'a Workload, reader: &'a LayerReader<SpatialKey>) -> Phase<'a> {
    Box::new(move || {
        let mut bytes = 0u64;
        for key in &w.reads {
            bytes += reader.read_with(key, |v| v.len() as u64)?;
        }
        Ok((w.reads.len() as u64, bytes))
    })
}

/// The floor of a point read: the first byte of as many records as the point reads
/// return, touched through maps of the same part files, each touch waiting for the one
/// before. Any read that returns a record's bytes touches them at least once. The records
/// are drawn apart from the point reads' (another seed), so that a floor round leaves no
/// store's records in the CPU caches for the round after it.
struct TouchFloor {
    maps: Vec<mapfile::MappedReader>,
    /// (map, offset of the record's payload) of each read, in read order.
    touches: Vec<(usize, usize)>,
}

impl TouchFloor {
    fn new(w: &Workload, reader: &LayerReader<SpatialKey>) -> anyhow::Result<Self> {
        let parts: Vec<(u64, PathBuf)> = reader.parts().map(|(f, p)| (f, p.to_owned())).collect();
        let maps = parts
            .iter()
            .map(|(_, p)| mapfile::MapFileReader::open(p).with_context(|| p.display().to_string()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut rng = StdRng::seed_from_u64(FLOOR_SEED);
        let touches = (0..w.reads.len())
            .map(|_| {
                let key = &w.records[rng.gen_range(0..w.records.len())].0;
                let index = w.index.to_index(key)?;
                let m = parts
                    .partition_point(|(first, _)| *first <= index)
                    .checked_sub(1)
                    .context("a read key before the first part")?;
                let payload = maps[m]
                    .get_iter(index)
                    .next()
                    .context("a read key without a record")??;
                let base = maps[m].bytes().as_ptr() as usize;
                Ok((m, payload.as_ptr() as usize - base))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(TouchFloor { maps, touches })
    }

    fn phase(&self) -> Phase<'_> {
        Box::new(move || {
            // Zero, but opaque to the compiler: each touch's offset depends on the byte
            // the touch before it read, so the touches cannot overlap.
            let mask = std::hint::black_box(0usize);
            let mut dep = 0usize;
            for &(m, at) in &self.touches {
                dep = usize::from(self.maps[m].bytes()[at + (dep & mask)]);
            }
            std::hint::black_box(dep);
            Ok((self.touches.len() as u64, 0))
        })
    }
}

/// Box queries through `query_for_each` (files in parallel, values borrowed).
fn tessera_boxes<'a>(w: &'a Workload, reader: &'a LayerReader<SpatialKey>) -> Phase<'a> {
    Box::new(move || {
        let records = AtomicU64::new(0);
        let bytes = AtomicU64::new(0);
        for b in &w.boxes {
            reader.query_for_each(b, |_, v| {
                records.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(v.len() as u64, Ordering::Relaxed);
                Ok(())
            })?;
        }
        Ok((records.into_inner(), bytes.into_inner()))
    })
}

/// Box queries through the streaming iterator (`LayerReader::query`), which copies values.
fn tessera_iter_boxes<'a>(w: &'a Workload, reader: &'a LayerReader<SpatialKey>) -> Phase<'a> {
    Box::new(move || {
        let (mut records, mut bytes) = (0u64, 0u64);
        for b in &w.boxes {
            for r in reader.query(b)? {
                let (_, v) = r?;
                records += 1;
                bytes += v.len() as u64;
            }
        }
        Ok((records, bytes))
    })
}

fn write_redb(w: &Workload, path: &Path) -> anyhow::Result<Duration> {
    remove_store(path)?;
    let db = redb::Database::create(path)?;
    let start = Instant::now();
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(REDB_TILES)?;
        for (key, t) in &w.records {
            let index = w.index.to_index(key)?;
            table.insert(index, redb_value(*key, &w.pool[*t]).as_slice())?;
        }
    }
    txn.commit()?;
    Ok(start.elapsed())
}

type RedbTable = redb::ReadOnlyTable<u64, &'static [u8]>;

fn redb_points<'a>(w: &'a Workload, table: &'a RedbTable) -> Phase<'a> {
    Box::new(move || {
        let mut bytes = 0u64;
        for key in &w.reads {
            let index = w.index.to_index(key)?;
            let guard = table.get(index)?.context("redb: a key is missing")?;
            bytes += guard.value().len() as u64 - 8;
        }
        Ok((w.reads.len() as u64, bytes))
    })
}

/// Box queries on redb: the same decomposition into index ranges as Tessera's, a range scan
/// per range, and the same refinement by the exact key box.
fn redb_boxes<'a>(w: &'a Workload, table: &'a RedbTable) -> Phase<'a> {
    let budget = Budget::max_ranges(QUERY_BUDGET);
    Box::new(move || {
        let (mut records, mut bytes) = (0u64, 0u64);
        for b in &w.boxes {
            for range in w.index.index_ranges(b, budget)? {
                for entry in table.range(*range.start()..=*range.end())? {
                    let (_, v) = entry?;
                    let v = v.value();
                    let key = redb_key(v).context("redb: a value without its key")?;
                    if b.contains(&key) {
                        records += 1;
                        bytes += v.len() as u64 - 8;
                    }
                }
            }
        }
        Ok((records, bytes))
    })
}

/// MBTiles rows are TMS rows: row 0 at the bottom.
fn tms_row(w: &Workload, row: i32) -> i64 {
    i64::from(w.side - 1 - row)
}

/// The disk's floor for a bulk write: the tiles' bytes, in arrival order with no key or
/// index, written to two files by two threads (as Tessera writes two parts at once on two
/// cores) and fsynced. No store can write the same bytes durably in less.
fn write_floor(w: &Workload, dir: &Path) -> anyhow::Result<Duration> {
    remove_store(dir)?;
    std::fs::create_dir_all(dir)?;
    let start = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let half = w.records.len() / 2;
        let (a, b) = w.records.split_at(half);
        let jobs: Vec<_> = [a, b]
            .into_iter()
            .enumerate()
            .map(|(n, records)| {
                let path = dir.join(format!("floor-{n}"));
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut out =
                        std::io::BufWriter::with_capacity(512 << 10, std::fs::File::create(&path)?);
                    for (_, t) in records {
                        std::io::Write::write_all(&mut out, &w.pool[*t])?;
                    }
                    out.into_inner()
                        .map_err(std::io::IntoInnerError::into_error)?
                        .sync_all()?;
                    Ok(())
                })
            })
            .collect();
        for job in jobs {
            job.join()
                .map_err(|_| anyhow::anyhow!("a floor writer panicked"))??;
        }
        Ok(())
    })?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(start.elapsed())
}

fn write_sqlite(w: &Workload, path: &Path) -> anyhow::Result<Duration> {
    remove_store(path)?;
    let mut db = rusqlite::Connection::open(path)?;
    // The MBTiles 1.3 layout: a `tiles` table with a unique index on (zoom, column, row).
    db.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
         CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
    )?;
    let start = Instant::now();
    let txn = db.transaction()?;
    {
        let mut insert = txn.prepare(
            "INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (key, t) in &w.records {
            insert.execute(params![ZOOM, key.col, tms_row(w, key.row), w.pool[*t]])?;
        }
    }
    txn.commit()?;
    Ok(start.elapsed())
}

fn sqlite_points<'a>(w: &'a Workload, db: &'a rusqlite::Connection) -> anyhow::Result<Phase<'a>> {
    let mut stmt = db.prepare(
        "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
    )?;
    Ok(Box::new(move || {
        let mut bytes = 0u64;
        for key in &w.reads {
            bytes += stmt.query_row(params![ZOOM, key.col, tms_row(w, key.row)], |row| {
                Ok(row.get_ref(0)?.as_blob()?.len() as u64)
            })?;
        }
        Ok((w.reads.len() as u64, bytes))
    }))
}

fn sqlite_boxes<'a>(w: &'a Workload, db: &'a rusqlite::Connection) -> anyhow::Result<Phase<'a>> {
    let mut stmt = db.prepare(
        "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column BETWEEN ?2 AND ?3 AND tile_row BETWEEN ?4 AND ?5",
    )?;
    Ok(Box::new(move || {
        let (mut records, mut bytes) = (0u64, 0u64);
        for b in &w.boxes {
            let mut rows = stmt.query(params![
                ZOOM,
                b.min.col,
                b.max.col,
                tms_row(w, b.max.row),
                tms_row(w, b.min.row)
            ])?;
            while let Some(row) = rows.next()? {
                records += 1;
                bytes += row.get_ref(0)?.as_blob()?.len() as u64;
            }
        }
        Ok((records, bytes))
    }))
}

/// The peak resident set size of this process in bytes (`VmHWM` in /proc/self/status).
fn peak_rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("/proc/self/status (the RSS check needs Linux)")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM line in /proc/self/status")?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("bad VmHWM line {line:?}"))?;
    Ok(kib * 1024)
}

/// Writes `data_mib` MiB of tiles through one Tessera write with a `budget_mib` memory
/// budget, generating the records as they are consumed, and checks the peak RSS against the
/// budget + 64 MiB (the goal of issue 6).
fn rss_check(args: &Args, dir: &Path) -> anyhow::Result<()> {
    let pool = tile_pool(args.seed)?;
    let mean = pool.iter().map(Vec::len).sum::<usize>() / pool.len();
    let count = (args.data_mib << 20) / mean.max(1);
    let side = grid_side(count);
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.shuffle(&mut StdRng::seed_from_u64(args.seed));
    let catalog = Catalog::open(dir)?;
    let id = LayerId::new("rss", ZOOM as u32)?;
    let budget = args.budget_mib << 20;
    let before = peak_rss()?;
    let start = Instant::now();
    let report = catalog.write(
        &id,
        layer_metadata(side)?,
        layer_store::KeyIndexMethod::ZOrder {
            temporal_resolution_ms: None,
        },
        order.iter().map(|&i| {
            let key = SpatialKey::new(i as i32 % side, i as i32 / side);
            (key, pool[i as usize % TILE_POOL].as_slice())
        }),
        &WriteOptions::default()
            .memory_budget(budget)
            .overwrite(true),
    )?;
    let elapsed = start.elapsed();
    let peak = peak_rss()?;
    let limit = budget as u64 + (64 << 20);
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "rss-check: wrote {count} tiles ({:.0} MiB of payload) in {:.2} s with a {} MiB budget: {} parts, {} spilled runs",
        mib(report.bytes_written),
        elapsed.as_secs_f64(),
        args.budget_mib,
        report.parts_written,
        report.spilled_runs
    );
    println!(
        "rss-check: peak RSS {:.1} MiB (before the write {:.1} MiB); limit budget + 64 MiB = {:.0} MiB: {}",
        mib(peak),
        mib(before),
        mib(limit),
        if peak <= limit { "ok" } else { "EXCEEDED" }
    );
    if peak > limit {
        bail!(
            "peak RSS {:.1} MiB is above {:.0} MiB",
            mib(peak),
            mib(limit)
        );
    }
    Ok(())
}
