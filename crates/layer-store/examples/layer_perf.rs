//! Temporary perf probe (not committed): write, point reads, box queries.
use std::time::Instant;

use keyed_tile::{CellType, Extent, KeyBounds, LayoutDefinition, SpatialKey, TileLayout};
use layer_store::{Catalog, KeyIndexMethod, LayerId, LayerMetadata, WriteOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let side: i32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
    let tile: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let budget: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(256 << 20);
    let dir = std::path::PathBuf::from(args.get(4).cloned().unwrap_or("/tmp/lsperf".into()));
    let _ = std::fs::remove_dir_all(&dir);
    let catalog = Catalog::open(&dir).unwrap();
    let id = LayerId::new("p", 1).unwrap();
    let layout = LayoutDefinition::new(Extent::new(0.0, 0.0, 1.0, 1.0).unwrap(), TileLayout::new(side as u32, side as u32, 256, 256)).unwrap();
    let bounds = KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(side - 1, side - 1)).unwrap();
    let md = LayerMetadata { layout_definition: layout, extent: layout.extent, crs: "EPSG:3857".into(), cell_type: "uint8".parse::<CellType>().unwrap(), bounds };
    let payload = vec![7u8; tile];
    let t = Instant::now();
    let n = (side * side) as usize;
    let records = (0..n).map(|i| {
        let j = (i * 7919) % n;
        (SpatialKey::new((j % side as usize) as i32, (j / side as usize) as i32), payload.as_slice())
    });
    let report = catalog.write(&id, md, KeyIndexMethod::ZOrder { temporal_resolution_ms: None }, records, &WriteOptions::default().memory_budget(budget).index_interval(std::env::var("II").ok().and_then(|s| s.parse().ok()).unwrap_or(0))).unwrap();
    let w = t.elapsed();
    println!("write {n} tiles of {tile} B: {:?} ({:.1} MB/s), spills {}, parts {}", w, (n * tile) as f64 / w.as_secs_f64() / 1e6, report.spilled_runs, report.parts_written);
    let reader = catalog.reader::<SpatialKey>(&id).unwrap();
    let mut x = 1u64;
    let reads = 200_000;
    let mut sum = 0usize;
    for _ in 0..1000 { let _ = reader.read_with(&SpatialKey::new(1, 1), |v| v.len()); }
    let t = Instant::now();
    for _ in 0..reads {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let k = SpatialKey::new(((x >> 33) % side as u64) as i32, ((x >> 13) % side as u64) as i32);
        sum += reader.read(&k).unwrap().len();
    }
    let r = t.elapsed();
    println!("point read: {:.0} ns/read ({sum})", r.as_nanos() as f64 / reads as f64);
    let t = Instant::now();
    let mut got = 0;
    let queries = 200;
    for q in 0..queries {
        let c = (q * 37) % (side - 16);
        let rr = (q * 53) % (side - 16);
        let b = KeyBounds::new(SpatialKey::new(c, rr), SpatialKey::new(c + 15, rr + 15)).unwrap();
        got += reader.query(&b).unwrap().count();
    }
    let qt = t.elapsed();
    println!("box query 16x16: {:.1} us/query ({got} tiles)", qt.as_micros() as f64 / queries as f64);
}
