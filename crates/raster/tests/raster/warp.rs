//! Warping against committed gdalwarp goldens (grid choice and pixels), warp modes and seams.

use std::path::PathBuf;

use keyed_tile::{CellType, Extent, MultibandTile, SpatialKey, Tile};
use raster::{
    Crs, FloatingLayoutScheme, GeoTransform, Grid, Raster, ResampleMethod, WarpMode, WarpOptions,
    read_geotiff, target_grid, warp, warp_tiles,
};

use crate::sample;

/// A gdalwarp golden made by `cargo xtask data` (commands in tests/data/gdal/README.md).
fn gdal(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/gdal")
        .join(name)
}

/// How many cells agree between our band and GDAL's, over cells where either side holds
/// data (NoData and gdalwarp's zero fill both count as "no data").
#[derive(Debug)]
struct Agreement {
    cells: usize,
    equal: usize,
    within_one: usize,
    max_diff: f64,
}

impl Agreement {
    fn equal_pct(&self) -> f64 {
        100.0 * self.equal as f64 / self.cells.max(1) as f64
    }
    fn within_one_pct(&self) -> f64 {
        100.0 * self.within_one as f64 / self.cells.max(1) as f64
    }
}

fn agreement(ours: &Tile, theirs: &Tile) -> Agreement {
    assert_eq!((ours.cols(), ours.rows()), (theirs.cols(), theirs.rows()));
    let norm = |v: f64| if v.is_nan() { 0.0 } else { v };
    let mut a = Agreement {
        cells: 0,
        equal: 0,
        within_one: 0,
        max_diff: 0.0,
    };
    for (o, t) in ours.to_f64s().into_iter().zip(theirs.to_f64s()) {
        let (o, t) = (norm(o), norm(t));
        if o == 0.0 && t == 0.0 {
            continue;
        }
        a.cells += 1;
        let d = (o - t).abs();
        a.max_diff = a.max_diff.max(d);
        if d == 0.0 {
            a.equal += 1;
        }
        if d <= 1.0 {
            a.within_one += 1;
        }
    }
    a
}

fn first_band(r: Raster) -> Raster {
    Raster {
        tile: MultibandTile::from(r.tile.band(0).unwrap().clone()),
        ..r
    }
}

fn grid_of(r: &Raster) -> Grid {
    Grid {
        transform: r.transform,
        cols: r.cols(),
        rows: r.rows(),
    }
}

/// Checks our default grid against gdalwarp's: same size within one cell, geotransform
/// within one cell.
fn assert_same_grid(ours: &Grid, theirs: &Grid, what: &str) {
    let (a, b) = (ours.transform.to_gdal(), theirs.transform.to_gdal());
    let cell = b[1].abs();
    assert!(
        ours.cols.abs_diff(theirs.cols) <= 1,
        "{what}: cols {} vs {}",
        ours.cols,
        theirs.cols
    );
    assert!(
        ours.rows.abs_diff(theirs.rows) <= 1,
        "{what}: rows {} vs {}",
        ours.rows,
        theirs.rows
    );
    assert!(
        (a[0] - b[0]).abs() <= cell,
        "{what}: origin x {a:?} vs {b:?}"
    );
    assert!(
        (a[3] - b[3]).abs() <= cell,
        "{what}: origin y {a:?} vs {b:?}"
    );
    // The cell size may differ by at most one cell over the whole extent.
    assert!(
        (a[1] - b[1]).abs() * theirs.cols as f64 <= cell,
        "{what}: {a:?} vs {b:?}"
    );
    assert!(
        (a[5] - b[5]).abs() * theirs.rows as f64 <= cell,
        "{what}: {a:?} vs {b:?}"
    );
    assert_eq!(
        (a[2], a[4]),
        (0.0, 0.0),
        "{what}: target grids are north-up"
    );
}

/// One agreement case: warp `source` to `crs` with `method`, compare with golden `name`.
fn check(
    name: &str,
    source: &str,
    crs: &str,
    method: ResampleMethod,
    default_grid: bool,
    resolution: Option<(f64, f64)>,
) -> Agreement {
    // The goldens keep band 1 only; warping just that band keeps the tests quick.
    let src = first_band(read_geotiff(sample(source)).unwrap());
    let theirs = read_geotiff(gdal(name)).unwrap();
    let dst = Crs::parse(crs).unwrap();
    if default_grid {
        let options = WarpOptions {
            method,
            resolution,
            ..WarpOptions::default()
        };
        let ours = target_grid(&src, &dst, &options).unwrap();
        assert_same_grid(&ours, &grid_of(&theirs), name);
    }
    // Pixels on GDAL's own grid (as `-te` / `-ts` would force).
    let options = WarpOptions {
        method,
        grid: Some(grid_of(&theirs)),
        ..WarpOptions::default()
    };
    let ours = warp(&src, &dst, &options).unwrap();
    let a = agreement(ours.tile.band(0).unwrap(), theirs.tile.band(0).unwrap());
    println!(
        "{name}: {} cells, equal {:.2}%, within 1 {:.2}%, max diff {:.3}",
        a.cells,
        a.equal_pct(),
        a.within_one_pct(),
        a.max_diff
    );
    assert!(a.cells > 0, "{name}: no data compared");
    if method == ResampleMethod::NearestNeighbor {
        assert!(a.equal_pct() >= 99.0, "{name}: {a:?}");
    } else {
        assert!(a.within_one_pct() >= 99.0, "{name}: {a:?}");
    }
    a
}

#[test]
fn landsat_to_4326_agrees_with_gdalwarp_for_every_method() {
    for (m, g) in [
        (ResampleMethod::NearestNeighbor, "near"),
        (ResampleMethod::Bilinear, "bilinear"),
        (ResampleMethod::CubicConvolution, "cubic"),
        (ResampleMethod::CubicSpline, "cubicspline"),
        (ResampleMethod::Lanczos, "lanczos"),
    ] {
        check(
            &format!("l7_4326_{g}.tif"),
            "L7_ETMs.tif",
            "EPSG:4326",
            m,
            true,
            None,
        );
    }
}

#[test]
fn landsat_to_4326_with_a_cell_size_agrees_with_gdalwarp_tr() {
    check(
        "l7_4326_tr_near.tif",
        "L7_ETMs.tif",
        "EPSG:4326",
        ResampleMethod::NearestNeighbor,
        true,
        Some((0.0003, 0.0003)),
    );
}

#[test]
fn landsat_to_3857_agrees_with_gdalwarp() {
    for (m, g) in [
        (ResampleMethod::NearestNeighbor, "near"),
        (ResampleMethod::Bilinear, "bilinear"),
        (ResampleMethod::CubicConvolution, "cubic"),
    ] {
        check(
            &format!("l7_3857_{g}.tif"),
            "L7_ETMs.tif",
            "EPSG:3857",
            m,
            true,
            None,
        );
    }
}

#[test]
fn dem_with_proj_string_crs_to_4326_agrees_with_gdalwarp() {
    for (m, g) in [
        (ResampleMethod::NearestNeighbor, "near"),
        (ResampleMethod::Bilinear, "bilinear"),
        (ResampleMethod::CubicConvolution, "cubic"),
        (ResampleMethod::CubicSpline, "cubicspline"),
        (ResampleMethod::Lanczos, "lanczos"),
    ] {
        check(
            &format!("dem_4326_{g}.tif"),
            "olinda_dem_utm25s.tif",
            "EPSG:4326",
            m,
            true,
            None,
        );
    }
}

#[test]
fn global_grid_to_3857_agrees_with_gdalwarp_on_a_window() {
    // gdalwarp cannot suggest a grid for na.tif in web mercator (it reaches the pole), so the
    // goldens use an explicit window; we compare on that window.
    for (m, g) in [
        (ResampleMethod::NearestNeighbor, "near"),
        (ResampleMethod::Bilinear, "bilinear"),
    ] {
        check(
            &format!("na_3857_{g}.tif"),
            "na.tif",
            "EPSG:3857",
            m,
            false,
            None,
        );
    }
}

#[test]
fn rotated_source_agrees_with_gdalwarp() {
    for (m, g) in [
        (ResampleMethod::NearestNeighbor, "near"),
        (ResampleMethod::Bilinear, "bilinear"),
        (ResampleMethod::CubicConvolution, "cubic"),
    ] {
        check(
            &format!("geomatrix_4326_{g}.tif"),
            "geomatrix.tif",
            "EPSG:4326",
            m,
            true,
            None,
        );
    }
}

/// A smooth but non-linear float raster whose size is a multiple of the tile size.
fn wavy(cols: u32, rows: u32) -> Raster {
    let values: Vec<f64> = (0..rows)
        .flat_map(|r| {
            (0..cols).map(move |c| {
                let (x, y) = (f64::from(c), f64::from(r));
                100.0 + 40.0 * (x * 0.37).sin() * (y * 0.23).cos() + ((c * 7 + r * 13) % 11) as f64
            })
        })
        .collect();
    let tile = Tile::from_f64s(
        CellType::Float64(keyed_tile::NoData::Constant),
        cols,
        rows,
        &values,
    )
    .unwrap();
    Raster {
        tile: MultibandTile::from(tile),
        transform: GeoTransform::north_up(288_000.0, 9_120_000.0, 30.0, 30.0),
        crs: Crs::parse("EPSG:31985").unwrap(),
    }
}

/// Cuts a raster whose size is a multiple of `size` into `size` × `size` tiles.
fn cut(r: &Raster, size: u32) -> Vec<(SpatialKey, MultibandTile)> {
    let band = r.tile.band(0).unwrap();
    let mut out = Vec::new();
    for kr in 0..r.tile.rows() / size {
        for kc in 0..r.tile.cols() / size {
            let mut vals = Vec::new();
            for row in 0..size {
                for col in 0..size {
                    vals.push(band.get_double(kc * size + col, kr * size + row));
                }
            }
            let t = Tile::from_f64s(band.cell_type(), size, size, &vals).unwrap();
            out.push((
                SpatialKey::new(kc as i32, kr as i32),
                MultibandTile::from(t),
            ));
        }
    }
    out
}

#[test]
fn buffered_tiles_match_whole_raster_warping_and_per_tile_can_seam() {
    let whole = wavy(96, 64);
    let layout = FloatingLayoutScheme::new(32, 32)
        .layout_for(&whole.transform, 96, 64)
        .unwrap();
    // The whole-raster warp uses the layout's own geotransform so both see identical geometry.
    let (cw, ch) = layout.cell_size();
    let mosaic = Raster {
        transform: GeoTransform::north_up(layout.extent.xmin, layout.extent.ymax, cw, ch),
        ..whole.clone()
    };
    let tiles = cut(&mosaic, 32);
    let dst = Crs::parse("EPSG:4326").unwrap();
    for method in [
        ResampleMethod::Bilinear,
        ResampleMethod::CubicConvolution,
        ResampleMethod::Lanczos,
    ] {
        let options = WarpOptions {
            method,
            threads: 1,
            ..WarpOptions::default()
        };
        let grid = target_grid(&mosaic, &dst, &options).unwrap();
        let options = WarpOptions {
            grid: Some(grid),
            ..options
        };
        let reference = warp(&mosaic, &dst, &options).unwrap();
        let buffered = warp_tiles(
            &tiles,
            &layout,
            &mosaic.crs,
            &dst,
            &grid,
            WarpMode::Buffered,
            &options,
        )
        .unwrap();
        let per_tile = warp_tiles(
            &tiles,
            &layout,
            &mosaic.crs,
            &dst,
            &grid,
            WarpMode::PerTile,
            &options,
        )
        .unwrap();
        let r = reference.tile.band(0).unwrap().to_f64s();
        let b = buffered.tile.band(0).unwrap().to_f64s();
        let p = per_tile.tile.band(0).unwrap().to_f64s();
        let same = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
        let buffered_diffs = r.iter().zip(&b).filter(|(x, y)| !same(**x, **y)).count();
        let per_tile_diffs = r.iter().zip(&p).filter(|(x, y)| !same(**x, **y)).count();
        assert_eq!(
            buffered_diffs, 0,
            "{method}: buffered differs from the whole-raster warp"
        );
        assert!(
            per_tile_diffs > 0,
            "{method}: per-tile warping shows no seam"
        );
        // Away from tile edges the modes agree: the seams are only near the joins.
        assert!(
            per_tile_diffs < r.len() / 4,
            "{method}: {per_tile_diffs} of {} cells differ",
            r.len()
        );
    }
}

#[test]
fn threads_do_not_change_the_result() {
    let mut src = read_geotiff(sample("L7_ETMs.tif")).unwrap();
    // Two bands: enough to check bands stay apart, quick in a debug build.
    src.tile = MultibandTile::new(src.tile.bands()[..2].to_vec()).unwrap();
    let dst = Crs::parse("EPSG:4326").unwrap();
    let one = WarpOptions {
        method: ResampleMethod::CubicConvolution,
        threads: 1,
        ..WarpOptions::default()
    };
    let a = warp(&src, &dst, &one).unwrap();
    let b = warp(&src, &dst, &WarpOptions { threads: 3, ..one }).unwrap();
    let c = warp(&src, &dst, &WarpOptions { threads: 0, ..one }).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn exact_mapping_stays_close_to_the_approximation() {
    let src = read_geotiff(sample("olinda_dem_utm25s.tif")).unwrap();
    let dst = Crs::parse("EPSG:4326").unwrap();
    let approx = warp(&src, &dst, &WarpOptions::default()).unwrap();
    let exact = warp(
        &src,
        &dst,
        &WarpOptions {
            error_threshold: 0.0,
            ..WarpOptions::default()
        },
    )
    .unwrap();
    let a = agreement(exact.tile.band(0).unwrap(), approx.tile.band(0).unwrap());
    assert!(a.equal_pct() > 99.0, "{a:?}");
}

#[test]
fn same_crs_warp_with_the_source_grid_is_the_identity() {
    let src = read_geotiff(sample("olinda_dem_utm25s.tif")).unwrap();
    let options = WarpOptions {
        grid: Some(grid_of(&src)),
        ..WarpOptions::default()
    };
    let out = warp(&src, &src.crs, &options).unwrap();
    assert_eq!(out.tile, src.tile);
    // An explicit extent and size behave like gdalwarp -te -ts.
    let e = Extent::new(288_776.25, 9_110_771.0, 298_765.0, 9_120_760.75).unwrap();
    let g = Grid::from_extent(&e, 50, 50).unwrap();
    assert_eq!((g.cols, g.rows), (50, 50));
}

#[test]
fn a_grid_reaching_the_pole_still_warps_to_web_mercator_or_fails_clearly() {
    // gdalwarp gives up on na.tif -> EPSG:3857 (the top row is at latitude 90). We drop the
    // points that do not project and warp what remains, or say why not.
    let src = read_geotiff(sample("na.tif")).unwrap();
    let dst = Crs::parse("EPSG:3857").unwrap();
    match warp(&src, &dst, &WarpOptions::default()) {
        Ok(out) => {
            let e = Grid {
                transform: out.transform,
                cols: out.cols(),
                rows: out.rows(),
            }
            .extent();
            assert!(e.ymax.is_finite() && e.ymax <= 20_037_508.35 * 2.0, "{e:?}");
            assert!(out.cols() > 0 && out.rows() > 0);
            println!(
                "na.tif -> EPSG:3857: {} x {} over {e:?}",
                out.cols(),
                out.rows()
            );
        }
        Err(err) => assert!(err.to_string().contains("transform"), "{err}"),
    }
}
