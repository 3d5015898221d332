//! Temporary A/B probe.
use std::time::Instant;
use keyed_tile::{CellType, Extent, KeyBounds, LayoutDefinition, SpatialKey, TileLayout};
use layer_store::{Catalog, KeyIndexMethod, LayerId, LayerMetadata, WriteOptions};
fn main() {
    let side = 256i32;
    let dir = std::path::PathBuf::from("/tmp/lsab");
    let _ = std::fs::remove_dir_all(&dir);
    let catalog = Catalog::open(&dir).unwrap();
    let layout = LayoutDefinition::new(Extent::new(0.0, 0.0, 1.0, 1.0).unwrap(), TileLayout::new(side as u32, side as u32, 256, 256)).unwrap();
    let bounds = KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(side - 1, side - 1)).unwrap();
    let md = LayerMetadata { layout_definition: layout, extent: layout.extent, crs: "EPSG:3857".into(), cell_type: "uint8".parse::<CellType>().unwrap(), bounds };
    let tile: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let payload = vec![7u8; tile];
    let n = (side * side) as usize;
    let mut readers = Vec::new();
    for ii in [16u32, 4, 1] {
        let id = LayerId::new(format!("p{ii}"), 1).unwrap();
        let records = (0..n).map(|j| (SpatialKey::new((j % side as usize) as i32, (j / side as usize) as i32), payload.as_slice()));
        catalog.write(&id, md.clone(), KeyIndexMethod::ZOrder { temporal_resolution_ms: None }, records, &WriteOptions::default().index_interval(ii)).unwrap();
        readers.push((ii, catalog.reader::<SpatialKey>(&id).unwrap()));
    }
    for round in 0..3 {
        for (ii, reader) in &readers {
            let mut x = 1u64;
            let reads = 300_000;
            let mut sum = 0usize;
            let t = Instant::now();
            for _ in 0..reads {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let k = SpatialKey::new(((x >> 33) % side as u64) as i32, ((x >> 13) % side as u64) as i32);
                sum += reader.read_with(&k, <[u8]>::len).unwrap();
            }
            let r = t.elapsed();
            println!("round {round} ii {ii}: {:.0} ns/read_with ({sum})", r.as_nanos() as f64 / reads as f64);
        }
    }
}
