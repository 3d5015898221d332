//! Shared helpers: temporary catalogs, layer metadata and deterministic values.

use std::collections::BTreeMap;

use keyed_tile::{
    CellType, Extent, KeyBounds, LayoutDefinition, SpaceTimeKey, SpatialKey, TileLayout,
};
use layer_store::{Catalog, CatalogOptions, LayerId, LayerKey, LayerMetadata};

/// A fresh catalog in a temporary directory (fsync off: these tests kill no machines).
pub(crate) fn catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let catalog =
        Catalog::open_with(dir.path(), CatalogOptions::default().threads(2).sync(false)).unwrap();
    (dir, catalog)
}

pub(crate) fn id(name: &str, zoom: u32) -> LayerId {
    LayerId::new(name, zoom).unwrap()
}

/// A 64 x 64 tile layout of 256-cell tiles over a 64 km square.
pub(crate) fn layout() -> LayoutDefinition {
    LayoutDefinition::new(
        Extent::new(0.0, 0.0, 65_536.0, 65_536.0).unwrap(),
        TileLayout::new(64, 64, 256, 256),
    )
    .unwrap()
}

pub(crate) fn metadata<K: LayerKey>(bounds: KeyBounds<K>) -> LayerMetadata<K> {
    let layout = layout();
    let s = bounds.spatial();
    let extent = layout.key_extent(s.min).combine(&layout.key_extent(s.max));
    LayerMetadata {
        layout_definition: layout,
        extent,
        crs: "EPSG:3857".to_owned(),
        cell_type: "int16".parse::<CellType>().unwrap(),
        bounds,
    }
}

pub(crate) fn spatial_bounds(c0: i32, r0: i32, c1: i32, r1: i32) -> KeyBounds<SpatialKey> {
    KeyBounds::new(SpatialKey::new(c0, r0), SpatialKey::new(c1, r1)).unwrap()
}

pub(crate) fn st_bounds(
    c0: i32,
    r0: i32,
    t0: i64,
    c1: i32,
    r1: i32,
    t1: i64,
) -> KeyBounds<SpaceTimeKey> {
    KeyBounds::new(SpaceTimeKey::new(c0, r0, t0), SpaceTimeKey::new(c1, r1, t1)).unwrap()
}

/// A value that names its key and a version, of a length that varies with both.
pub(crate) fn value(col: i32, row: i32, version: u32) -> Vec<u8> {
    let len = 8 + ((col * 7 + row * 13) as u32 + version) as usize % 40;
    let mut v = format!("{col}/{row}@{version}:").into_bytes();
    v.resize(len.max(v.len()), b'x');
    v
}

/// Every record of a layer, through a full query, as a map.
pub(crate) fn contents<K: LayerKey>(catalog: &Catalog, id: &LayerId) -> BTreeMap<K, Vec<u8>> {
    let reader = catalog.reader::<K>(id).unwrap();
    let mut out = BTreeMap::new();
    for r in reader.all().unwrap() {
        let (k, v) = r.unwrap();
        assert!(out.insert(k, v).is_none(), "key {k} returned twice");
    }
    out
}
