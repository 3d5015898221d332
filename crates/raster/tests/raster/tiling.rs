//! Tile-to-layout: zoomed and floating layouts, warping on the way, empty tiles skipped.

use keyed_tile::{CellType, MultibandTile, NoData, SpatialKey, Tile};
use raster::{
    Crs, FloatingLayoutScheme, GeoTransform, Grid, Raster, ResampleMethod, TileOptions,
    WarpOptions, ZoomRounding, ZoomedLayoutScheme, read_geotiff, tile_to_layout, tile_transform,
    warp,
};

use crate::sample;

#[test]
fn floating_layout_tiles_reassemble_the_raster() {
    let src = read_geotiff(sample("olinda_dem_utm25s.tif")).unwrap();
    let layout = FloatingLayoutScheme::new(32, 32)
        .layout_for(&src.transform, src.cols(), src.rows())
        .unwrap();
    let tiles = tile_to_layout(&src, &layout, &src.crs, &TileOptions::default()).unwrap();
    // 111 x 111 cells in 32 x 32 tiles: 4 x 4 tiles.
    assert_eq!(tiles.len(), 16);
    let band = src.tile.band(0).unwrap();
    for (key, tile) in &tiles {
        let t = tile.band(0).unwrap();
        for r in 0..32u32 {
            for c in 0..32u32 {
                let (gc, gr) = (key.col as u32 * 32 + c, key.row as u32 * 32 + r);
                if gc < 111 && gr < 111 {
                    assert_eq!(
                        t.get_double(c, r),
                        band.get_double(gc, gr),
                        "{key:?} {c} {r}"
                    );
                }
            }
        }
    }
    // Sorted by row, then column.
    let keys: Vec<SpatialKey> = tiles.iter().map(|(k, _)| *k).collect();
    let mut sorted = keys.clone();
    sorted.sort_by_key(|k| (k.row, k.col));
    assert_eq!(keys, sorted);
}

#[test]
fn zoomed_tiles_equal_warping_onto_each_tile_and_skip_empty_ones() {
    let src = read_geotiff(sample("L7_ETMs.tif")).unwrap();
    let wm = Crs::parse("EPSG:3857").unwrap();
    let scheme = ZoomedLayoutScheme::web_mercator(256);
    let zoom = scheme.zoom_for_cell_size(28.5, ZoomRounding::Coarser);
    assert_eq!(zoom, 12);
    let layout = scheme.layout_for_zoom(zoom).unwrap();
    // Nearest neighbour: the kernel scale (which tiling fixes once per layer) plays no part.
    let options = TileOptions {
        method: ResampleMethod::NearestNeighbor,
        threads: 2,
        ..TileOptions::default()
    };
    let tiles = tile_to_layout(&src, &layout, &wm, &options).unwrap();
    assert!(
        !tiles.is_empty() && tiles.len() <= 9,
        "{} tiles",
        tiles.len()
    );
    for (key, tile) in &tiles {
        assert_eq!((tile.cols(), tile.rows(), tile.band_count()), (256, 256, 6));
        let grid = Grid {
            transform: tile_transform(&layout, *key),
            cols: 256,
            rows: 256,
        };
        let whole = warp(
            &src,
            &wm,
            &WarpOptions {
                method: ResampleMethod::NearestNeighbor,
                grid: Some(grid),
                ..WarpOptions::default()
            },
        )
        .unwrap();
        assert!(
            &whole.tile == tile,
            "{key:?} differs from warping onto its grid"
        );
        let data = tile
            .band(0)
            .unwrap()
            .to_f64s()
            .iter()
            .filter(|v| **v != 0.0)
            .count();
        assert!(data > 0, "{key:?} is empty but was emitted");
    }
}

#[test]
fn tiles_outside_the_data_are_not_emitted() {
    let tile = Tile::from_f64s(CellType::Float32(NoData::Constant), 4, 4, &[1.0; 16]).unwrap();
    // A 40 m square in web mercator, inside one zoom-16 tile (611.5 m, cells of 2.39 m).
    let r = Raster {
        tile: MultibandTile::from(tile),
        transform: GeoTransform::north_up(1000.0, 1040.0, 10.0, 10.0),
        crs: Crs::parse("EPSG:3857").unwrap(),
    };
    let layout = ZoomedLayoutScheme::web_mercator(256)
        .layout_for_zoom(16)
        .unwrap();
    let tiles = tile_to_layout(&r, &layout, &r.crs, &TileOptions::default()).unwrap();
    assert_eq!(tiles.len(), 1);
    let cells = tiles[0].1.band(0).unwrap().to_f64s();
    let valid = cells.iter().filter(|v| !v.is_nan()).count();
    // About (40 / 2.39)^2 = 280 cells hold data, the rest of the tile is NoData.
    assert!((200..=330).contains(&valid), "{valid}");
    assert!(cells.iter().filter(|v| !v.is_nan()).all(|v| *v == 1.0));
    // At zoom 10 (cells of 153 m) no cell centre falls in the raster: nothing is emitted.
    let coarse = ZoomedLayoutScheme::web_mercator(256)
        .layout_for_zoom(10)
        .unwrap();
    assert!(
        tile_to_layout(&r, &coarse, &r.crs, &TileOptions::default())
            .unwrap()
            .is_empty()
    );
    // Nothing to emit for a layout that does not reach the raster.
    let far = Raster {
        transform: GeoTransform::north_up(-1.0e7, 1.0e7, 10.0, 10.0),
        ..r.clone()
    };
    let small = FloatingLayoutScheme::new(4, 4)
        .layout_for(&r.transform, 4, 4)
        .unwrap();
    assert!(
        tile_to_layout(&far, &small, &far.crs, &TileOptions::default())
            .unwrap()
            .is_empty()
    );
}
