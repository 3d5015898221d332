//! Raster peer comparison: our warp vs gdalwarp, and our tiling + pyramid + PNG vs gdal2tiles.py, in one run.
//!
//! Usage: `cargo run --release -p benches --bin raster_compare [-- --runs N]`, after
//! `cargo xtask data bench` has made `target/bench-data/l7_x20_rgb.tif` (L7_ETMs.tif bands
//! 3,2,1 upscaled 20 times: 6980 x 7040 x 3 bytes). Both sides run end to end (read the
//! GeoTIFF, process, write the output) with 2 threads/processes; each operation is timed
//! `--runs` times (default 2) and the best time counts; `--only OP` runs one operation
//! (`warp-near`, `warp-bilinear`, `render`, `tile-pyramid-png`; `copy-no-warp` runs only
//! when all do). Our GeoTIFF writes skip the fsync, as GDAL's do; `--sync` keeps it.
//! Prints `ratio <op>: <ours/theirs>` (below 1.0 means we are faster). Fails with a clear
//! message when GDAL is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use keyed_tile::{CellType, MultibandTile, NoData};
use raster::{
    Compression, Crs, PyramidMethod, RenderOptions, ResampleMethod, Stretch, TileOptions,
    WarpOptions, WriteOptions, ZoomRounding, ZoomedLayoutScheme, build_pyramid, read_geotiff,
    render_png_bytes, tile_to_layout, warp, write_geotiff_with,
};

const THREADS: usize = 2;

fn main() -> anyhow::Result<()> {
    let mut runs = 2usize;
    let mut only: Option<String> = None;
    let mut sync = false;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .context("--runs needs a number")?
                    .parse()
                    .context("--runs needs a number")?;
            }
            "--sync" => sync = true,
            "--only" => only = Some(it.next().context("--only needs an operation name")?.clone()),
            // `cargo bench` passes --bench; nothing else is accepted.
            "--bench" => {}
            other => bail!(
                "unknown argument `{other}` (usage: raster_compare [--runs N] [--sync] [--only warp-near|warp-bilinear|render|tile-pyramid-png])"
            ),
        }
    }
    for tool in ["gdalwarp", "gdal2tiles.py"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            bail!(
                "`{tool}` was not found: install GDAL (Debian: apt-get install gdal-bin python3-gdal) to run this comparison"
            );
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let input = root.join("target/bench-data/l7_x20_rgb.tif");
    if !input.is_file() {
        bail!(
            "{} is missing: run `cargo xtask data bench` first (needs GDAL)",
            input.display()
        );
    }
    let scratch = tempfile::tempdir()?;
    let dst = Crs::parse("EPSG:3857")?;
    // gdalwarp writes uncompressed GeoTIFF unless told otherwise, and does not fsync the file:
    // so do we here, unless `--sync` asks for our default durable write.
    let uncompressed = WriteOptions {
        compression: Compression::None,
        sync,
        ..WriteOptions::default()
    };

    for (method, gdal) in [
        (ResampleMethod::NearestNeighbor, "near"),
        (ResampleMethod::Bilinear, "bilinear"),
    ] {
        if only.as_ref().is_some_and(|o| *o != format!("warp-{gdal}")) {
            continue;
        }
        let ours_out = scratch.path().join(format!("ours_{gdal}.tif"));
        let theirs_out = scratch.path().join(format!("gdal_{gdal}.tif"));
        let mut phases = [Duration::MAX; 3];
        let ours = best_of(runs, || {
            let t = Instant::now();
            let src = read_geotiff(&input)?;
            let read = t.elapsed();
            let options = WarpOptions {
                method,
                threads: THREADS,
                ..WarpOptions::default()
            };
            let out = warp(&src, &dst, &options)?;
            let warped = t.elapsed();
            write_geotiff_with(&out, &ours_out, &uncompressed)?;
            let done = t.elapsed();
            phases[0] = phases[0].min(read);
            phases[1] = phases[1].min(warped.saturating_sub(read));
            phases[2] = phases[2].min(done.saturating_sub(warped));
            Ok(())
        })?;
        println!(
            "warp-{gdal} (ours): read {:.2} s, warp {:.2} s, write {:.2} s",
            phases[0].as_secs_f64(),
            phases[1].as_secs_f64(),
            phases[2].as_secs_f64()
        );
        let theirs = best_of(runs, || {
            run(
                "gdalwarp",
                &[
                    "-q",
                    "-overwrite",
                    "-t_srs",
                    "EPSG:3857",
                    "-r",
                    gdal,
                    "-wo",
                    "NUM_THREADS=2",
                    &input.to_string_lossy(),
                    &theirs_out.to_string_lossy(),
                ],
            )
        })?;
        report(&format!("warp-{gdal}"), ours, theirs);
    }

    // Render the whole raster to PNG (bands 1, 2, 3 stretched from each band's minimum to its
    // maximum) against `gdal_translate -of PNG -scale`, which does the same.
    if only.as_ref().is_none_or(|o| o == "render") {
        let ours_out = scratch.path().join("ours_render.png");
        let theirs_out = scratch.path().join("gdal_render.png");
        let ours = best_of(runs, || {
            let src = read_geotiff(&input)?;
            raster::render_png(&src, &ours_out, &RenderOptions::default())?;
            Ok(())
        })?;
        let theirs = best_of(runs, || {
            run(
                "gdal_translate",
                &[
                    "-q",
                    "-of",
                    "PNG",
                    "-scale",
                    &input.to_string_lossy(),
                    &theirs_out.to_string_lossy(),
                ],
            )
        })?;
        println!(
            "render PNG size: ours {} bytes, GDAL {} bytes",
            std::fs::metadata(&ours_out)?.len(),
            std::fs::metadata(&theirs_out)?.len()
        );
        report("render", ours, theirs);
    }

    if only.as_ref().is_some_and(|o| o != "tile-pyramid-png") {
        return Ok(());
    }
    // Context for the warp ratios: the same GeoTIFF read and written with no warp at all.
    if only.is_none() {
        let ours_out = scratch.path().join("ours_copy.tif");
        let theirs_out = scratch.path().join("gdal_copy.tif");
        let ours = best_of(runs, || {
            let src = read_geotiff(&input)?;
            write_geotiff_with(&src, &ours_out, &uncompressed)?;
            Ok(())
        })?;
        let theirs = best_of(runs, || {
            run(
                "gdal_translate",
                &[
                    "-q",
                    &input.to_string_lossy(),
                    &theirs_out.to_string_lossy(),
                ],
            )
        })?;
        report("copy-no-warp", ours, theirs);
    }

    // Tiles and pyramid: web mercator, gdal2tiles' default maximum zoom (the finest zoom not
    // finer than the source), nearest neighbour on both sides, PNG tiles in z/x/y folders.
    let probe = read_geotiff(&input)?;
    let scheme = ZoomedLayoutScheme::web_mercator(256);
    let suggested = raster::target_grid(&probe, &dst, &WarpOptions::default())?;
    let zoom = scheme.zoom_for_cell_size(suggested.transform.pixel_width, ZoomRounding::Coarser);
    drop(probe);
    let ours_dir = scratch.path().join("ours_tiles");
    let theirs_dir = scratch.path().join("gdal_tiles");
    let mut tile_count = 0;
    let ours = best_of(runs, || {
        if ours_dir.exists() {
            std::fs::remove_dir_all(&ours_dir)?;
        }
        tile_count = tile_pyramid_png(&input, &dst, scheme, zoom, &ours_dir)?;
        Ok(())
    })?;
    let theirs = best_of(runs, || {
        if theirs_dir.exists() {
            std::fs::remove_dir_all(&theirs_dir)?;
        }
        run(
            "gdal2tiles.py",
            &[
                "-q",
                "--processes=2",
                "-r",
                "near",
                "-z",
                &format!("0-{zoom}"),
                "-w",
                "none",
                &input.to_string_lossy(),
                &theirs_dir.to_string_lossy(),
            ],
        )
    })?;
    let theirs_count = count_png(&theirs_dir)?;
    println!("tiles: ours {tile_count} PNGs, gdal2tiles {theirs_count} PNGs, zoom 0-{zoom}");
    report("tile-pyramid-png", ours, theirs);
    Ok(())
}

/// Our pipeline: read, tile to the zoom level, pyramid down to 0, PNG per tile.
fn tile_pyramid_png(
    input: &Path,
    dst: &Crs,
    scheme: ZoomedLayoutScheme,
    zoom: u32,
    out_dir: &Path,
) -> anyhow::Result<usize> {
    let mut src = read_geotiff(input)?;
    // The bands hold bytes without NoData; mark 0 as NoData so the borders come out
    // transparent, as gdal2tiles' alpha band makes them.
    let bands = src
        .tile
        .bands()
        .iter()
        .map(|b| b.convert(CellType::UInt8(NoData::Constant)))
        .collect::<Result<Vec<_>, _>>()?;
    src.tile = MultibandTile::new(bands)?;
    let layout = scheme.layout_for_zoom(zoom)?;
    let options = TileOptions {
        method: ResampleMethod::NearestNeighbor,
        threads: THREADS,
        ..TileOptions::default()
    };
    let base = tile_to_layout(&src, &layout, dst, &options)?;
    drop(src);
    let levels = build_pyramid(&scheme, zoom, base, 0, PyramidMethod::Nearest, THREADS)?;
    let render = RenderOptions {
        bands: Some(vec![1, 2, 3]),
        stretch: Stretch::None,
        ramp: None,
    };
    let jobs: Vec<(u32, &raster::KeyedTile)> = levels
        .iter()
        .flat_map(|l| l.tiles.iter().map(move |t| (l.zoom, t)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((z, (key, tile))) = jobs.get(i) else {
                            return Ok(());
                        };
                        let dir = out_dir.join(z.to_string()).join(key.col.to_string());
                        std::fs::create_dir_all(&dir)?;
                        let png = render_png_bytes(tile, &render)?;
                        std::fs::write(dir.join(format!("{}.png", key.row)), png)?;
                    }
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a PNG worker panicked"))??;
        }
        Ok(())
    })?;
    Ok(jobs.len())
}

fn count_png(dir: &Path) -> anyhow::Result<usize> {
    let mut n = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "png") {
                n += 1;
            }
        }
    }
    Ok(n)
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

fn best_of(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed());
    }
    Ok(best)
}

fn report(op: &str, ours: Duration, theirs: Duration) {
    println!(
        "{op}: ours {:.2} s, GDAL {:.2} s",
        ours.as_secs_f64(),
        theirs.as_secs_f64()
    );
    println!(
        "ratio {op}: {:.3}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}
