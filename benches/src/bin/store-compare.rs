//! Layer-store peer comparison: the same tiles written to a Tessera layer, to redb (the key
//! index as the key) and to SQLite in the MBTiles layout; bulk write, warm point reads and box
//! queries timed on each, printed as a table and as `speedup <op> vs <peer>: <x>` lines.
//!
//! Usage: `cargo run --release -p benches --bin store-compare -- [--tiles N] [--reads R]
//! [--boxes B] [--box-side S] [--dir DIR]`, or `-- --rss-check [--budget-mib M] [--data-mib D]`
//! to write D MiB (default 256) through a Tessera writer with a memory budget of M MiB
//! (default 64) and compare the peak RSS (`VmHWM` of /proc/self/status) with M + 64 MiB.
//!
//! Every store gets the same input: N encoded 256×256 uint8 tiles (zstd level 1, tens of KiB
//! each) on a square grid, given in one shuffled order (records arrive in any order). Every
//! store writes durably (Tessera fsyncs its parts, redb commits with its default durability,
//! SQLite runs with `synchronous=FULL` in one transaction). Reads are warm: each read phase
//! runs once untimed, then timed, with the same random keys and boxes for every store.

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
use layer_store::{Catalog, KeyIndexChoice, LayerId, LayerMetadata, LayerReader, WriteOptions};
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
            "--budget-mib" => {
                args.budget_mib = value()?.parse().context("--budget-mib needs a count")?;
            }
            "--data-mib" => args.data_mib = value()?.parse().context("--data-mib needs a count")?,
            // `cargo bench` passes --bench.
            "--bench" => {}
            other => bail!(
                "unknown argument `{other}`\nusage: store-compare [--tiles N] [--reads R] [--boxes B] [--box-side S] [--dir DIR] [--seed S] [--tessera-only]\n       store-compare --rss-check [--budget-mib M] [--data-mib D]"
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

/// Times for one store: write, all point reads, all box queries.
#[derive(Debug, Default, Clone, Copy)]
struct Times {
    write: Duration,
    point: Duration,
    boxes: Duration,
}

/// What every store must agree on, so that no store is timed doing less work.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Checksum {
    point_bytes: u64,
    box_records: u64,
    box_bytes: u64,
}

struct Workload {
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
        side,
        records,
        pool: tile_pool(args.seed)?,
        reads,
        boxes,
        index: AnyKeyIndex::zorder(bounds, None)?,
    })
}

fn compare(args: &Args, dir: &Path) -> anyhow::Result<()> {
    let w = workload(args)?;
    let total: u64 = w.records.iter().map(|(_, t)| w.pool[*t].len() as u64).sum();
    println!(
        "store-compare: {} tiles of {TILE_SIDE}x{TILE_SIDE} uint8 (zstd 1), mean {:.1} KiB, {:.0} MiB in all; grid {}x{}; {} point reads; {} boxes of {}x{}",
        w.records.len(),
        total as f64 / w.records.len() as f64 / 1024.0,
        total as f64 / f64::from(1 << 20),
        w.side,
        w.side,
        w.reads.len(),
        w.boxes.len(),
        args.box_side,
        args.box_side,
    );

    // A reused --dir starts empty, so that every store writes from scratch.
    for name in ["tessera", "tiles.redb", "tiles.mbtiles"] {
        let path = dir.join(name);
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else if path.exists() {
            std::fs::remove_file(&path)?;
        }
    }
    let (tessera, tessera_iter, sum_t) = run_tessera(&w, &dir.join("tessera"))?;
    if args.tessera_only {
        let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        println!(
            "tessera: write {:.3} s, point-read {:.2} us/read, box-query {:.1} us/box (iterator {:.1} us/box)",
            tessera.write.as_secs_f64(),
            per(tessera.point, w.reads.len()),
            per(tessera.boxes, w.boxes.len()),
            per(tessera_iter, w.boxes.len())
        );
        return Ok(());
    }
    let (redb, sum_r) = run_redb(&w, &dir.join("tiles.redb"))?;
    let (sqlite, sum_s) = run_sqlite(&w, &dir.join("tiles.mbtiles"))?;
    if sum_t != sum_r || sum_t != sum_s {
        bail!("the stores disagree: tessera {sum_t:?}, redb {sum_r:?}, sqlite {sum_s:?}");
    }

    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
    println!();
    println!(
        "{:<28} {:>12} {:>12} {:>12}",
        "operation", "tessera", "redb", "sqlite"
    );
    println!(
        "{:<28} {:>12.3} {:>12.3} {:>12.3}",
        "write (s)",
        tessera.write.as_secs_f64(),
        redb.write.as_secs_f64(),
        sqlite.write.as_secs_f64()
    );
    println!(
        "{:<28} {:>12.2} {:>12.2} {:>12.2}",
        "point-read (us/read)",
        per(tessera.point, w.reads.len()),
        per(redb.point, w.reads.len()),
        per(sqlite.point, w.reads.len())
    );
    println!(
        "{:<28} {:>12.1} {:>12.1} {:>12.1}",
        "box-query (us/box)",
        per(tessera.boxes, w.boxes.len()),
        per(redb.boxes, w.boxes.len()),
        per(sqlite.boxes, w.boxes.len())
    );
    println!(
        "{:<28} {:>12.1} {:>12} {:>12}",
        "box-query, iterator (us/box)",
        per(tessera_iter, w.boxes.len()),
        "-",
        "-"
    );
    println!(
        "(box queries returned {} records, {:.0} MiB in all)",
        sum_t.box_records,
        sum_t.box_bytes as f64 / f64::from(1 << 20)
    );
    println!();
    let ratio = |peer: Duration, ours: Duration| peer.as_secs_f64() / ours.as_secs_f64().max(1e-12);
    for (op, ours, r, s) in [
        ("write", tessera.write, redb.write, sqlite.write),
        ("point-read", tessera.point, redb.point, sqlite.point),
        ("box-query", tessera.boxes, redb.boxes, sqlite.boxes),
    ] {
        println!("speedup {op} vs redb: {:.2}", ratio(r, ours));
        println!("speedup {op} vs sqlite: {:.2}", ratio(s, ours));
    }
    Ok(())
}

/// Runs `f` once untimed (to warm caches), then once timed.
fn warm_then_time<T>(mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(Duration, T)> {
    f()?;
    let start = Instant::now();
    let out = f()?;
    Ok((start.elapsed(), out))
}

fn run_tessera(w: &Workload, dir: &Path) -> anyhow::Result<(Times, Duration, Checksum)> {
    let catalog = Catalog::open(dir)?;
    let id = LayerId::new("compare", ZOOM as u32)?;
    let mut times = Times::default();
    let start = Instant::now();
    catalog.write(
        &id,
        layer_metadata(w.side)?,
        KeyIndexChoice::Index(w.index.clone()),
        w.records.iter().map(|(k, t)| (*k, w.pool[*t].as_slice())),
        &WriteOptions::default(),
    )?;
    times.write = start.elapsed();

    let reader: LayerReader<SpatialKey> = catalog.reader(&id)?;
    let mut sum = Checksum::default();
    let (point, bytes) = warm_then_time(|| {
        let mut bytes = 0u64;
        for key in &w.reads {
            bytes += reader.read_with(key, |v| v.len() as u64)?;
        }
        Ok(bytes)
    })?;
    times.point = point;
    sum.point_bytes = bytes;

    let (boxes, (records, bytes)) = warm_then_time(|| {
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
    })?;
    times.boxes = boxes;
    sum.box_records = records;
    sum.box_bytes = bytes;

    let (iter_time, iter_records) = warm_then_time(|| {
        let mut records = 0u64;
        for b in &w.boxes {
            for r in reader.query(b)? {
                let (_, v) = r?;
                records += u64::from(!v.is_empty());
            }
        }
        Ok(records)
    })?;
    if iter_records != sum.box_records {
        bail!(
            "tessera: query iterator found {iter_records} records, query_for_each {}",
            sum.box_records
        );
    }
    Ok((times, iter_time, sum))
}

fn run_redb(w: &Workload, path: &Path) -> anyhow::Result<(Times, Checksum)> {
    let db = redb::Database::create(path)?;
    let mut times = Times::default();
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
    times.write = start.elapsed();

    let txn = db.begin_read()?;
    let table = txn.open_table(REDB_TILES)?;
    let mut sum = Checksum::default();
    let (point, bytes) = warm_then_time(|| {
        let mut bytes = 0u64;
        for key in &w.reads {
            let index = w.index.to_index(key)?;
            let guard = table.get(index)?.context("redb: a key is missing")?;
            bytes += guard.value().len() as u64 - 8;
        }
        Ok(bytes)
    })?;
    times.point = point;
    sum.point_bytes = bytes;

    let budget = Budget::max_ranges(QUERY_BUDGET);
    let (boxes, (records, bytes)) = warm_then_time(|| {
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
    })?;
    times.boxes = boxes;
    sum.box_records = records;
    sum.box_bytes = bytes;
    Ok((times, sum))
}

fn run_sqlite(w: &Workload, path: &Path) -> anyhow::Result<(Times, Checksum)> {
    let mut db = rusqlite::Connection::open(path)?;
    // The MBTiles 1.3 layout: a `tiles` table with a unique index on (zoom, column, row),
    // TMS rows (row 0 at the bottom).
    db.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
         CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
    )?;
    let flip = |row: i32| i64::from(w.side - 1 - row);
    let mut times = Times::default();
    let start = Instant::now();
    let txn = db.transaction()?;
    {
        let mut insert = txn.prepare(
            "INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (key, t) in &w.records {
            insert.execute(params![ZOOM, key.col, flip(key.row), w.pool[*t]])?;
        }
    }
    txn.commit()?;
    times.write = start.elapsed();

    let mut sum = Checksum::default();
    let mut point_stmt = db.prepare(
        "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
    )?;
    let (point, bytes) = warm_then_time(|| {
        let mut bytes = 0u64;
        for key in &w.reads {
            bytes += point_stmt.query_row(params![ZOOM, key.col, flip(key.row)], |row| {
                Ok(row.get_ref(0)?.as_blob()?.len() as u64)
            })?;
        }
        Ok(bytes)
    })?;
    times.point = point;
    sum.point_bytes = bytes;

    let mut box_stmt = db.prepare(
        "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column BETWEEN ?2 AND ?3 AND tile_row BETWEEN ?4 AND ?5",
    )?;
    let (boxes, (records, bytes)) = warm_then_time(|| {
        let (mut records, mut bytes) = (0u64, 0u64);
        for b in &w.boxes {
            let mut rows = box_stmt.query(params![
                ZOOM,
                b.min.col,
                b.max.col,
                flip(b.max.row),
                flip(b.min.row)
            ])?;
            while let Some(row) = rows.next()? {
                records += 1;
                bytes += row.get_ref(0)?.as_blob()?.len() as u64;
            }
        }
        Ok((records, bytes))
    })?;
    times.boxes = boxes;
    sum.box_records = records;
    sum.box_bytes = bytes;
    Ok((times, sum))
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
        &WriteOptions::default().memory_budget(budget).overwrite(true),
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
