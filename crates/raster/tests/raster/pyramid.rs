//! Pyramids: tiled Landsat down to zoom 0, keys halving per level, averages of constants.

use keyed_tile::{CellType, MultibandTile, NoData, SpatialKey, Tile};
use raster::{
    Crs, PyramidMethod, TileOptions, ZoomRounding, ZoomedLayoutScheme, build_pyramid, read_geotiff,
    tile_to_layout,
};

use crate::sample;

#[test]
fn landsat_pyramid_reaches_zoom_zero_with_parent_keys() {
    let src = read_geotiff(sample("L7_ETMs.tif")).unwrap();
    let scheme = ZoomedLayoutScheme::geographic(256);
    let crs = Crs::parse("EPSG:4326").unwrap();
    let zoom = scheme.zoom_for_cell_size(0.000_258, ZoomRounding::Coarser);
    let layout = scheme.layout_for_zoom(zoom).unwrap();
    let base = tile_to_layout(&src, &layout, &crs, &TileOptions::default()).unwrap();
    assert!(!base.is_empty());
    for method in [PyramidMethod::Average, PyramidMethod::Nearest] {
        let levels = build_pyramid(&scheme, zoom, base.clone(), 0, method, 2).unwrap();
        assert_eq!(levels.len() as u32, zoom + 1);
        for pair in levels.windows(2) {
            let (fine, coarse) = (&pair[0], &pair[1]);
            assert_eq!(coarse.zoom + 1, fine.zoom);
            let mut parents: Vec<SpatialKey> = fine
                .tiles
                .iter()
                .map(|(k, _)| SpatialKey::new(k.col / 2, k.row / 2))
                .collect();
            parents.sort_by_key(|k| (k.row, k.col));
            parents.dedup();
            let keys: Vec<SpatialKey> = coarse.tiles.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, parents, "zoom {}", coarse.zoom);
        }
        let top = levels.last().unwrap();
        assert_eq!(top.zoom, 0);
        assert_eq!(top.tiles.len(), 1);
        // Olinda (lon -34.9, lat -8.0) is in the western, southern half: key (0, 0) at zoom 0
        // has 2 x 1 tiles, so it is tile (0, 0).
        assert_eq!(top.tiles[0].0, SpatialKey::new(0, 0));
    }
}

#[test]
fn averaging_a_constant_keeps_it_and_nodata_stays_nodata() {
    let scheme = ZoomedLayoutScheme::web_mercator(8);
    let ct = CellType::Int16(NoData::Constant);
    let full = MultibandTile::from(Tile::from_f64s(ct, 8, 8, &[42.0; 64]).unwrap());
    let base = vec![
        (SpatialKey::new(4, 4), full.clone()),
        (SpatialKey::new(5, 4), full),
    ];
    let levels = build_pyramid(&scheme, 3, base, 1, PyramidMethod::Average, 1).unwrap();
    let z2 = &levels[1];
    assert_eq!(z2.tiles.len(), 1);
    let b = z2.tiles[0].1.band(0).unwrap();
    // Children (4, 4) and (5, 4) fill the top half of parent (2, 2).
    assert_eq!(b.get(0, 0), 42);
    assert_eq!(b.get(7, 3), 42);
    assert!(b.is_nodata(0, 4));
    let z1 = &levels[2];
    assert_eq!(z1.tiles[0].0, SpatialKey::new(1, 1));
    assert_eq!(z1.tiles[0].1.band(0).unwrap().get(0, 0), 42);
}
