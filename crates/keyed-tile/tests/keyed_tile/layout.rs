//! Layout math: map coordinates to keys and back, row 0 at the top.

use keyed_tile::{Extent, LayoutDefinition, SpatialKey, TileLayout};
use proptest::prelude::*;

fn layout() -> LayoutDefinition {
    // 10 x 5 tiles of 256 x 256 cells over a 1000 x 500 extent offset from the origin.
    LayoutDefinition::new(
        Extent::new(-500.0, 100.0, 500.0, 600.0).unwrap(),
        TileLayout::new(10, 5, 256, 256),
    )
    .unwrap()
}

#[test]
fn cell_size_and_corners() {
    let l = layout();
    assert_eq!(l.cell_size(), (100.0 / 256.0, 100.0 / 256.0));
    assert_eq!(l.tile_size(), (100.0, 100.0));
    // Row 0 is the north edge.
    assert_eq!(l.map_to_key(-500.0, 600.0), SpatialKey::new(0, 0));
    assert_eq!(l.map_to_key(-499.0, 101.0), SpatialKey::new(0, 4));
    assert_eq!(l.map_to_key(499.0, 599.0), SpatialKey::new(9, 0));
    // Outside the extent: negative columns, rows past the end.
    assert_eq!(l.map_to_key(-501.0, 650.0), SpatialKey::new(-1, -1));
    assert_eq!(
        l.key_extent(SpatialKey::new(2, 1)),
        Extent::new(-300.0, 400.0, -200.0, 500.0).unwrap()
    );
    assert_eq!(
        l.bounds(),
        keyed_tile::KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(9, 4)).unwrap()
    );
}

#[test]
fn extent_to_bounds_excludes_touching_tiles() {
    let l = layout();
    // Exactly tile (2, 1).
    let e = l.key_extent(SpatialKey::new(2, 1));
    let b = l.extent_to_bounds(&e);
    assert_eq!(
        (b.min, b.max),
        (SpatialKey::new(2, 1), SpatialKey::new(2, 1))
    );
    // A little more than it reaches into the neighbours.
    let e = Extent::new(e.xmin - 1.0, e.ymin - 1.0, e.xmax + 1.0, e.ymax + 1.0).unwrap();
    let b = l.extent_to_bounds(&e);
    assert_eq!(
        (b.min, b.max),
        (SpatialKey::new(1, 0), SpatialKey::new(3, 2))
    );
    // A point-sized extent gives one tile.
    let p = Extent::new(-250.0, 450.0, -250.0, 450.0).unwrap();
    let b = l.extent_to_bounds(&p);
    assert_eq!(
        (b.min, b.max),
        (SpatialKey::new(2, 1), SpatialKey::new(2, 1))
    );
}

#[test]
fn invalid_layouts_are_rejected() {
    let e = Extent::new(0.0, 0.0, 1.0, 1.0).unwrap();
    assert!(LayoutDefinition::new(e, TileLayout::new(0, 1, 1, 1)).is_err());
    assert!(LayoutDefinition::new(e, TileLayout::new(u32::MAX, 1, 1, 1)).is_err());
    let flat = Extent::new(0.0, 0.0, 1.0, 0.0).unwrap();
    assert!(LayoutDefinition::new(flat, TileLayout::new(1, 1, 1, 1)).is_err());
    assert!(Extent::new(1.0, 0.0, 0.0, 1.0).is_err());
    assert!(Extent::new(f64::NAN, 0.0, 0.0, 1.0).is_err());
    assert!(Extent::new(0.0, f64::NEG_INFINITY, 0.0, 1.0).is_err());
    // Huge or zero tile layouts.
    for t in [
        TileLayout::new(1, 0, 1, 1),
        TileLayout::new(1, 1, 0, 1),
        TileLayout::new(1, 1, 1, 0),
        TileLayout::new(1, u32::MAX, 1, 1),
    ] {
        assert!(LayoutDefinition::new(e, t).is_err(), "{t:?}");
    }
    // The largest grid a key can number is fine.
    let max = i32::MAX.unsigned_abs();
    let big = LayoutDefinition::new(e, TileLayout::new(max, max, u32::MAX, u32::MAX)).unwrap();
    assert_eq!(
        big.bounds().max,
        SpatialKey::new(i32::MAX - 1, i32::MAX - 1)
    );
    assert!(big.cell_size().0 > 0.0);
    // An extent wider than f64 can measure, and one too small to split into cells.
    let wide = Extent::new(-f64::MAX, 0.0, f64::MAX, 1.0).unwrap();
    let err = LayoutDefinition::new(wide, TileLayout::new(1, 1, 1, 1)).unwrap_err();
    assert!(err.to_string().contains("tile width"), "{err}");
    let tiny = Extent::new(0.0, 0.0, 1e-310, 1e-310).unwrap();
    let err = LayoutDefinition::new(tiny, TileLayout::new(max, 1, u32::MAX, 1)).unwrap_err();
    assert!(err.to_string().contains("cell width"), "{err}");
}

#[test]
fn invalid_layout_json_is_rejected() {
    let good = serde_json::to_value(layout()).unwrap();
    for (field, value) in [
        ("layoutCols", serde_json::json!(0)),
        ("tileRows", serde_json::json!(0)),
        ("layoutRows", serde_json::json!(u32::MAX)),
    ] {
        let mut json = good.clone();
        json["tileLayout"][field] = value;
        let err = serde_json::from_value::<LayoutDefinition>(json).unwrap_err();
        assert!(err.to_string().contains("tile layout"), "{field}: {err}");
    }
    let mut json = good;
    json["extent"]["xmax"] = serde_json::json!(-600.0);
    let err = serde_json::from_value::<LayoutDefinition>(json).unwrap_err();
    assert!(err.to_string().contains("extent"), "{err}");
}

#[test]
fn extreme_points_saturate() {
    let l = layout();
    for (x, y) in [
        (f64::NAN, 0.0),
        (f64::INFINITY, f64::NEG_INFINITY),
        (-f64::MAX, f64::MAX),
        (1e300, -1e300),
    ] {
        // No panic, and the saturated key's extent is computable.
        let k = l.map_to_key(x, y);
        let _ = l.key_extent(k);
    }
    assert_eq!(
        l.map_to_key(f64::INFINITY, f64::NEG_INFINITY),
        SpatialKey::new(i32::MAX, i32::MAX)
    );
    let all = Extent::new(-f64::MAX, -f64::MAX, f64::MAX, f64::MAX).unwrap();
    let b = l.extent_to_bounds(&all);
    // The east and south edges are exclusive: one less than the saturated edge.
    assert_eq!(
        (b.min, b.max),
        (
            SpatialKey::new(i32::MIN, i32::MIN),
            SpatialKey::new(i32::MAX - 1, i32::MAX - 1)
        )
    );
}

#[test]
fn layout_json_is_geotrellis_shaped() {
    let json = serde_json::to_value(layout()).unwrap();
    assert_eq!(json["tileLayout"]["layoutCols"], 10);
    assert_eq!(json["tileLayout"]["tileRows"], 256);
    assert_eq!(json["extent"]["xmin"], -500.0);
    let back: LayoutDefinition = serde_json::from_value(json).unwrap();
    assert_eq!(back, layout());
}

#[test]
fn tiny_tiles_far_from_the_origin_map_their_corners_back() {
    // Found by the property below: with tiles 1/121 map units wide at x = -174834, the
    // corner of column 167 computed in floating point lands 1.5e-9 tile units short of the
    // edge, more than a fixed snapping tolerance allowed, and mapped to column 166.
    let l = LayoutDefinition::new(
        Extent::new(-174_834.143_585_453_54, 0.0, -174_833.143_585_453_54, 1.0).unwrap(),
        TileLayout::new(121, 1, 256, 256),
    )
    .unwrap();
    let k = SpatialKey::new(167, 0);
    let e = l.key_extent(k);
    assert_eq!(l.map_to_key(e.xmin, e.ymax), k);
    let b = l.extent_to_bounds(&e);
    assert_eq!((b.min, b.max), (k, k));
}

proptest! {
    #[test]
    fn key_extent_and_map_to_key_agree(
        col in -1000i32..1000, row in -1000i32..1000,
        fx in 0.0f64..1.0, fy in 0.0f64..1.0,
        xmin in -1e6f64..1e6, ymin in -1e6f64..1e6, w in 1.0f64..1e5, h in 1.0f64..1e5,
        lc in 1u32..500, lr in 1u32..500,
    ) {
        let l = LayoutDefinition::new(
            Extent::new(xmin, ymin, xmin + w, ymin + h).unwrap(),
            TileLayout::new(lc, lr, 256, 256),
        ).unwrap();
        let k = SpatialKey::new(col, row);
        let e = l.key_extent(k);
        // Any point strictly inside the tile, and its top-left corner, map back to it.
        let x = e.xmin + (e.xmax - e.xmin) * (0.001 + 0.998 * fx);
        let y = e.ymin + (e.ymax - e.ymin) * (0.001 + 0.998 * fy);
        prop_assert_eq!(l.map_to_key(x, y), k);
        prop_assert_eq!(l.map_to_key(e.xmin, e.ymax), k);
        // The tile's own extent gives exactly its key.
        let b = l.extent_to_bounds(&e);
        prop_assert_eq!((b.min, b.max), (k, k));
    }
}
