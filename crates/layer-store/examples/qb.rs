//! Temporary query probe.
use std::time::Instant;
use keyed_tile::{CellType, Extent, KeyBounds, LayoutDefinition, SpatialKey, TileLayout};
use layer_store::{Catalog, KeyIndexMethod, LayerId, LayerMetadata, QueryOptions, WriteOptions};
fn main() {
    let side = 512i32;
    let dir = std::path::PathBuf::from("/tmp/lsqb");
    let _ = std::fs::remove_dir_all(&dir);
    let catalog = Catalog::open(&dir).unwrap();
    let layout = LayoutDefinition::new(Extent::new(0.0, 0.0, 1.0, 1.0).unwrap(), TileLayout::new(side as u32, side as u32, 256, 256)).unwrap();
    let bounds = KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(side - 1, side - 1)).unwrap();
    let md = LayerMetadata { layout_definition: layout, extent: layout.extent, crs: "EPSG:3857".into(), cell_type: "uint8".parse::<CellType>().unwrap(), bounds };
    let payload = vec![7u8; 1024];
    let n = (side * side) as usize;
    let id = LayerId::new("q", 1).unwrap();
    let records = (0..n).map(|j| (SpatialKey::new((j % side as usize) as i32, (j / side as usize) as i32), payload.as_slice()));
    catalog.write(&id, md, KeyIndexMethod::ZOrder { temporal_resolution_ms: None }, records, &WriteOptions::default().max_part_bytes(16 << 20)).unwrap();
    let reader = catalog.reader::<SpatialKey>(&id).unwrap();
    println!("parts {}", reader.part_count());
    for size in [4, 16, 64] {
        for threads in [1, 2] {
            let opts = QueryOptions::default().threads(threads);
            let t = Instant::now();
            let mut got = 0;
            let queries = 300;
            for q in 0..queries {
                let c = (q * 37) % (side - size);
                let r = (q * 53) % (side - size);
                let b = KeyBounds::new(SpatialKey::new(c, r), SpatialKey::new(c + size - 1, r + size - 1)).unwrap();
                got += reader.query_with(&b, &opts).unwrap().count();
            }
            println!("box {size}x{size} threads {threads}: {:.1} us/query ({got})", t.elapsed().as_micros() as f64 / queries as f64);
        }
    }
}
