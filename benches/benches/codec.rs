//! The tile codec on real tiles: encoded size (compression ratio) and encode/decode speed of
//! no compression, lz4_flex, zstd and deflate.
//!
//! Tiles are cut from the shared sample rasters (`../shared/data` beside the workspace, or
//! `$TESSERA_SAMPLE_DATA`, as `cargo xtask data` uses; see the README there):
//! four 256×256 6-band `uint8` tiles from the Landsat 7 scene `L7_ETMs.tif` (the image's
//! corners; it is 349×352) and the whole 111×111 `float32` DEM `olinda_dem_utm25s.tif`.
//! The sizes are printed to stderr before the timings; compare the timings as ratios.
//! Run with `cargo bench -p benches --bench codec`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyed_tile::codec::{self, Compression};
use keyed_tile::{CellBuffer, CellType, MultibandTile, NoData, Tile};
use tiff::decoder::{Decoder, DecodingResult};

/// Whether criterion runs in test mode (`cargo bench -- --test`), where inputs stay small.
fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

const COMPRESSIONS: [(&str, Compression); 6] = [
    ("none", Compression::None),
    ("lz4", Compression::Lz4),
    ("zstd1", Compression::Zstd(1)),
    ("zstd3", Compression::Zstd(3)),
    ("deflate1", Compression::Deflate(1)),
    ("deflate6", Compression::Deflate(6)),
];

fn data_dir() -> PathBuf {
    std::env::var_os("TESSERA_SAMPLE_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        PathBuf::from,
    )
}

/// Reads a whole GeoTIFF: width, height, samples per pixel and the pixel-interleaved samples.
fn read_tiff(name: &str) -> (u32, u32, DecodingResult) {
    let path = data_dir().join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = Decoder::new(std::io::BufReader::new(file)).expect("a TIFF");
    let (w, h) = decoder.dimensions().expect("dimensions");
    let image = decoder.read_image().expect("pixels");
    (w, h, image)
}

/// 256×256 6-band `uint8` tiles from the corners of the Landsat scene (one in test mode).
fn landsat_tiles() -> Vec<MultibandTile> {
    let (w, h, image) = read_tiff("L7_ETMs.tif");
    let DecodingResult::U8(pixels) = image else {
        panic!("L7_ETMs.tif: expected 8-bit samples");
    };
    let bands = pixels.len() / (w as usize * h as usize);
    assert_eq!(bands, 6, "L7_ETMs.tif has 6 bands");
    let size = 256u32;
    let corners = [(0, 0), (w - size, 0), (0, h - size), (w - size, h - size)];
    let count = if test_mode() { 1 } else { corners.len() };
    corners[..count]
        .iter()
        .map(|&(x0, y0)| {
            let tiles = (0..bands)
                .map(|b| {
                    let mut cells = Vec::with_capacity((size * size) as usize);
                    for y in y0..y0 + size {
                        for x in x0..x0 + size {
                            cells.push(pixels[(y as usize * w as usize + x as usize) * bands + b]);
                        }
                    }
                    Tile::from_buffer(
                        CellType::UInt8(NoData::Constant),
                        size,
                        size,
                        CellBuffer::UInt8(cells),
                    )
                    .expect("a tile")
                })
                .collect();
            MultibandTile::new(tiles).expect("equal bands")
        })
        .collect()
}

/// The whole `float32` DEM as one tile.
fn dem_tiles() -> Vec<MultibandTile> {
    let (w, h, image) = read_tiff("olinda_dem_utm25s.tif");
    let DecodingResult::F32(cells) = image else {
        panic!("olinda_dem_utm25s.tif: expected float32 samples");
    };
    let tile = Tile::from_buffer(
        CellType::Float32(NoData::Constant),
        w,
        h,
        CellBuffer::Float32(cells),
    )
    .expect("a tile");
    vec![MultibandTile::from(tile)]
}

fn raw_len(tiles: &[MultibandTile]) -> u64 {
    tiles
        .iter()
        .map(|t| codec::encode(t, Compression::None).len() as u64)
        .sum()
}

/// Prints the encoded size of every tile set under every compression.
fn report_sizes(name: &str, tiles: &[MultibandTile]) {
    let raw = raw_len(tiles);
    for (label, c) in COMPRESSIONS {
        let stored: u64 = tiles.iter().map(|t| codec::encode(t, c).len() as u64).sum();
        eprintln!(
            "codec size {name:<10} {label:<9} {stored:>9} bytes  ratio {:.2}",
            raw as f64 / stored as f64
        );
    }
}

fn bench_set(c: &mut Criterion, name: &str, tiles: &[MultibandTile]) {
    report_sizes(name, tiles);
    let raw = raw_len(tiles);
    let mut group = c.benchmark_group(format!("codec_encode/{name}"));
    group.throughput(Throughput::Bytes(raw));
    for (label, compression) in COMPRESSIONS {
        group.bench_with_input(
            BenchmarkId::from_parameter(label),
            &compression,
            |b, &compression| {
                b.iter(|| {
                    for t in tiles {
                        black_box(codec::encode(black_box(t), compression));
                    }
                });
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group(format!("codec_decode/{name}"));
    group.throughput(Throughput::Bytes(raw));
    for (label, compression) in COMPRESSIONS {
        let encoded: Vec<Vec<u8>> = tiles
            .iter()
            .map(|t| codec::encode(t, compression))
            .collect();
        group.bench_with_input(
            BenchmarkId::from_parameter(label),
            &encoded,
            |b, encoded| {
                b.iter(|| {
                    for bytes in encoded {
                        black_box(codec::decode(black_box(bytes)).expect("decodes"));
                    }
                });
            },
        );
    }
    group.finish();
}

fn codec_benches(c: &mut Criterion) {
    bench_set(c, "landsat_u8", &landsat_tiles());
    bench_set(c, "dem_f32", &dem_tiles());
}

criterion_group! {
    name = benches;
    // Short runs: the machine is shared and small; the ratios between compressions are stable.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = codec_benches
}
criterion_main!(benches);
