//! GeoTIFF reading against gdalinfo's view of the samples, write/read round trips over every
//! type and layout, GDAL's view of what we write, and bad input.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Cursor;

use keyed_tile::{CellType, MultibandTile, Tile};
use proptest::prelude::*;
use raster::{
    BigTiff, ChunkLayout, Compression, Crs, Error, GeoTransform, Interleave, Limits, Raster,
    WriteOptions, read_geotiff, read_geotiff_bytes, read_geotiff_info, read_geotiff_info_bytes,
    write_geotiff_bytes,
};

use crate::{golden, sample};

/// Parses a golden file of `key=value` fields separated by tabs, skipping `#` comments.
pub(crate) fn golden_records(name: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(golden(name)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split('\t')
                .map(|f| {
                    let (k, v) = f.split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect()
        })
        .collect()
}

fn floats(s: &str) -> Vec<f64> {
    s.split(',').map(|v| v.parse().unwrap()).collect()
}

fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    let scale = want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol * scale,
        "{what}: got {got}, gdalinfo says {want}"
    );
}

/// Checks size, bands, geotransform, NoData and CRS against one gdalinfo record.
fn check_against_gdalinfo(r: &Raster, rec: &HashMap<String, String>) {
    let file = &rec["file"];
    let size = floats(&rec["size"]);
    assert_eq!(
        (r.cols() as f64, r.rows() as f64),
        (size[0], size[1]),
        "{file} size"
    );
    assert_eq!(r.band_count().to_string(), rec["bands"], "{file} bands");
    let gt = floats(&rec["gt"]);
    for (i, (got, want)) in r.transform.to_gdal().iter().zip(&gt).enumerate() {
        assert_close(&format!("{file} GT{i}"), *got, *want, 1e-12);
    }
    match rec["nodata"].as_str() {
        "none" => assert_eq!(r.nodata(), None, "{file} nodata"),
        "nan" | "NaN" => assert!(r.nodata().is_some_and(f64::is_nan), "{file} nodata"),
        v => assert_eq!(r.nodata(), Some(v.parse().unwrap()), "{file} nodata"),
    }
    match rec["epsg"].as_str() {
        "none" => assert_eq!(r.crs.epsg(), None, "{file} EPSG"),
        code => assert_eq!(r.crs.epsg(), Some(code.parse().unwrap()), "{file} EPSG"),
    }
    // GDAL's proj4 export and ours must describe the same CRS, parameter by parameter
    // (numbers compared as numbers: "0.0" and "0" agree, and GDAL prints 15 digits).
    let (ours, theirs) = (proj4_map(r.crs.proj4()), proj4_map(&rec["proj4"]));
    let keys = |m: &[(String, String)]| m.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(&theirs), "{file} proj4");
    for ((k, a), (_, b)) in ours.iter().zip(&theirs) {
        match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => assert_close(&format!("{file} proj4 {k}"), x, y, 1e-14),
            _ => assert_eq!(a, b, "{file} proj4 {k}"),
        }
    }
}

/// Equality of rasters with NaN cells equal to themselves (bit patterns compared).
pub(crate) fn assert_same(a: &Raster, b: &Raster, what: &str) {
    assert_eq!(a.transform, b.transform, "{what} transform");
    assert_eq!(a.crs, b.crs, "{what} CRS");
    assert_eq!(a.cell_type(), b.cell_type(), "{what} cell type");
    assert_eq!(a.band_count(), b.band_count(), "{what} bands");
    for (x, y) in a.tile.bands().iter().zip(b.tile.bands()) {
        let bits = |t: &Tile| t.to_f64s().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y), "{what} cells");
    }
}

/// A proj4 string as sorted `(key, value)` pairs with numeric values normalised.
fn proj4_map(s: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = s
        .split_whitespace()
        .map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            let v = v
                .parse::<f64>()
                .map_or_else(|_| v.to_owned(), |n| n.to_string());
            (k.to_owned(), v)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn samples_agree_with_gdalinfo() {
    let records = golden_records("gdalinfo_samples.txt");
    assert_eq!(records.len(), 4);
    for rec in &records {
        let file = &rec["file"];
        let r = read_geotiff(sample(file)).unwrap();
        check_against_gdalinfo(&r, rec);
        let info = read_geotiff_info(sample(file)).unwrap();
        assert_eq!(info.sample_type.gdal_name(), rec["type"], "{file} type");
        check_stats(&r, rec);
    }
}

/// Every band's minimum, maximum and mean over valid cells, against gdalinfo -stats.
fn check_stats(r: &Raster, rec: &HashMap<String, String>) {
    let file = &rec["file"];
    for (b, stats) in rec["stats"].split(';').enumerate() {
        let want = floats(stats);
        let v: Vec<f64> = r.tile.band(b).unwrap().to_f64s();
        let valid: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
        let min = valid.iter().copied().fold(f64::INFINITY, f64::min);
        let max = valid.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = valid.iter().sum::<f64>() / valid.len() as f64;
        assert_close(&format!("{file} band {} min", b + 1), min, want[0], 1e-9);
        assert_close(&format!("{file} band {} max", b + 1), max, want[1], 1e-9);
        assert_close(&format!("{file} band {} mean", b + 1), mean, want[2], 1e-9);
    }
}

#[test]
fn rotated_transform_is_kept_not_misread() {
    let r = read_geotiff(sample("geomatrix.tif")).unwrap();
    assert!(r.transform.is_rotated());
    // PixelIsPoint: the matrix origin (1841000, 1144000) is the first pixel's centre.
    let (x, y) = r.transform.pixel_to_map(0.5, 0.5);
    assert_close("centre x", x, 1_841_000.0, 1e-12);
    assert_close("centre y", y, 1_144_000.0, 1e-12);
    let info = read_geotiff_info(sample("geomatrix.tif")).unwrap();
    assert!(info.pixel_is_point);
}

/// The rasters written for GDAL to read back (see golden/gdalinfo_written.txt).
fn rasters_for_gdal() -> Vec<(&'static str, Raster, WriteOptions)> {
    let l7 = read_geotiff(sample("L7_ETMs.tif")).unwrap();
    let mut olinda = read_geotiff(sample("olinda_dem_utm25s.tif")).unwrap();
    let bands = olinda.tile.clone().into_bands();
    let band = bands[0].convert("float32ud-9999".parse().unwrap()).unwrap();
    olinda.tile = MultibandTile::from(band);
    let geomatrix = read_geotiff(sample("geomatrix.tif")).unwrap();
    let mut na = read_geotiff(sample("na.tif")).unwrap();
    let band = na.tile.clone().into_bands()[0]
        .convert("float32".parse().unwrap())
        .unwrap();
    na.tile = MultibandTile::from(band);
    let merc = int16_mercator();
    vec![
        ("w_l7.tif", l7, WriteOptions::default()),
        (
            "w_olinda.tif",
            olinda,
            WriteOptions {
                compression: Compression::None,
                ..WriteOptions::default()
            },
        ),
        ("w_geomatrix.tif", geomatrix, WriteOptions::default()),
        ("w_na.tif", na, WriteOptions::default()),
        (
            "w_big.tif",
            read_geotiff(sample("L7_ETMs.tif")).unwrap(),
            WriteOptions {
                layout: ChunkLayout::Tiles {
                    width: 64,
                    height: 64,
                },
                interleave: Interleave::Band,
                big_tiff: BigTiff::Always,
                ..WriteOptions::default()
            },
        ),
        (
            "w_tmerc_ft.tif",
            Raster {
                crs: Crs::parse(
                    "+proj=tmerc +lat_0=30 +lon_0=-117 +k=0.9999 +x_0=609601.2192024384 +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=us-ft +no_defs",
                )
                .unwrap(),
                transform: GeoTransform::north_up(1_900_000.0, 600_000.0, 100.0, 100.0),
                ..int16_mercator()
            },
            WriteOptions::default(),
        ),
        (
            "w_merc.tif",
            merc,
            WriteOptions {
                compression: Compression::Lzw,
                layout: ChunkLayout::Tiles {
                    width: 16,
                    height: 32,
                },
                interleave: Interleave::Band,
                ..WriteOptions::default()
            },
        ),
    ]
}

fn int16_mercator() -> Raster {
    let ct: CellType = "int16".parse().unwrap();
    let bands = (0..2)
        .map(|b| {
            let v: Vec<i32> = (0..50 * 40)
                .map(|i| {
                    if i % 7 == 0 {
                        i32::MIN
                    } else {
                        i * (b + 1) - 1000
                    }
                })
                .collect();
            Tile::from_i32s(ct, 50, 40, &v).unwrap()
        })
        .collect();
    Raster {
        tile: MultibandTile::new(bands).unwrap(),
        transform: GeoTransform::north_up(
            -20_037_508.342_789_244,
            20_037_508.342_789_244,
            1000.0,
            1000.0,
        ),
        crs: Crs::parse("EPSG:3857").unwrap(),
    }
}

/// Writes the GDAL check files into `$RASTER_WRITE_FOR_GDAL` when it is set; the golden file
/// names the command that was then run on them. Without the variable this only checks that
/// every raster can be written.
#[test]
fn written_files_agree_with_gdalinfo() {
    let out_dir = std::env::var_os("RASTER_WRITE_FOR_GDAL");
    let all = rasters_for_gdal();
    let written: Vec<Vec<u8>> = all
        .iter()
        .map(|(name, raster, options)| {
            let bytes = write_geotiff_bytes(raster, options).unwrap();
            if let Some(dir) = &out_dir {
                std::fs::write(std::path::Path::new(dir).join(name), &bytes).unwrap();
            }
            bytes
        })
        .collect();
    let records = golden_records("gdalinfo_written.txt");
    assert_eq!(records.len(), all.len());
    for ((name, raster, _), bytes) in all.iter().zip(&written) {
        let rec = records.iter().find(|r| r["file"] == *name).unwrap();
        // GDAL read our file as this: the raster we wrote must say the same...
        check_against_gdalinfo(raster, rec);
        // ...and so must our own reading of it.
        let back = read_geotiff_bytes(bytes, &Limits::default()).unwrap();
        check_against_gdalinfo(&back, rec);
        assert_same(&back, raster, name);
        // GDAL's statistics over our file match the cells we wrote.
        check_stats(raster, rec);
    }
}

const TYPES: [&str; 7] = [
    "uint8raw",
    "int8",
    "uint16ud9",
    "int16",
    "int32ud-5",
    "float32raw",
    "float64",
];

fn test_raster(cell_type: &str, cols: u32, rows: u32, bands: usize, seed: u64) -> Raster {
    let ct: CellType = cell_type.parse().unwrap();
    let mut state = seed | 1;
    let tiles = (0..bands)
        .map(|_| {
            let v: Vec<f64> = (0..cols * rows)
                .map(|_| {
                    // xorshift: deterministic values spread over each type's range.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let x = (state % 20_000) as f64 - 10_000.0;
                    if ct.is_floating_point() { x / 7.0 } else { x }
                })
                .collect();
            Tile::from_f64s(ct, cols, rows, &v).unwrap()
        })
        .collect();
    Raster {
        tile: MultibandTile::new(tiles).unwrap(),
        transform: GeoTransform::north_up(500_000.0, 4_000_000.0, 10.0, 10.0),
        crs: Crs::parse("EPSG:32611").unwrap(),
    }
}

#[test]
fn round_trip_every_type_layout_interleave_and_compression() {
    let layouts = [
        ChunkLayout::Strips { rows_per_strip: 0 },
        ChunkLayout::Strips { rows_per_strip: 1 },
        ChunkLayout::Strips { rows_per_strip: 7 },
        ChunkLayout::Tiles {
            width: 16,
            height: 16,
        },
        ChunkLayout::Tiles {
            width: 32,
            height: 48,
        },
    ];
    let compressions = [
        Compression::None,
        Compression::Lzw,
        Compression::Deflate,
        Compression::PackBits,
    ];
    let mut count = 0;
    for (t, ty) in TYPES.iter().enumerate() {
        for bands in [1, 3] {
            let r = test_raster(ty, 37, 23, bands, t as u64 * 31 + bands as u64);
            for layout in layouts {
                for interleave in [Interleave::Pixel, Interleave::Band] {
                    for compression in compressions {
                        let o = WriteOptions {
                            compression,
                            layout,
                            interleave,
                            ..WriteOptions::default()
                        };
                        let bytes = write_geotiff_bytes(&r, &o).unwrap();
                        let info = read_geotiff_info_bytes(&bytes).unwrap();
                        assert_eq!(info.compression, compression);
                        assert_eq!(info.tiled, matches!(layout, ChunkLayout::Tiles { .. }));
                        let back = read_geotiff_bytes(&bytes, &Limits::default())
                            .unwrap_or_else(|e| panic!("{ty} x{bands} {o:?}: {e}"));
                        assert_eq!(back, r, "{ty} x{bands} {o:?}");
                        count += 1;
                    }
                }
            }
        }
    }
    assert_eq!(count, 7 * 2 * 5 * 2 * 4);
}

#[test]
fn nodata_round_trips_through_gdal_nodata() {
    // (written, read back): a user NoData equal to the type's constant reads as the constant.
    for (ty, back_ty) in [
        ("uint8ud0", "uint8"),
        ("uint8ud255", "uint8ud255"),
        ("int8ud-128", "int8"),
        ("uint16ud65535", "uint16ud65535"),
        ("int16ud-9999", "int16ud-9999"),
        ("int32ud-2147483648", "int32"),
        ("float32ud-9999", "float32ud-9999"),
        ("float32", "float32"),
        ("float64ud1.5", "float64ud1.5"),
        ("float64", "float64"),
        ("int16", "int16"),
        ("int16raw", "int16raw"),
    ] {
        let r = test_raster(ty, 9, 5, 2, 7);
        let bytes = write_geotiff_bytes(&r, &WriteOptions::default()).unwrap();
        let back = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
        assert_eq!(back.cell_type().to_string(), back_ty, "{ty}");
        assert_eq!(
            back.nodata().map(f64::to_bits),
            r.nodata().map(f64::to_bits),
            "{ty}"
        );
        for b in 0..2 {
            let (got, want) = (back.tile.band(b).unwrap(), r.tile.band(b).unwrap());
            assert_eq!(got.buffer(), want.buffer(), "{ty}");
        }
    }
}

/// Adds GeoKeys for EPSG:4326 and a tiepoint/scale to an image being encoded by the tiff
/// crate's own encoder, so files from an independent writer can be read.
fn add_georef<W: std::io::Write + std::io::Seek, C: tiff::encoder::colortype::ColorType>(
    img: &mut tiff::encoder::ImageEncoder<'_, W, C, tiff::encoder::TiffKindStandard>,
) {
    use tiff::tags::Tag;
    let e = img.encoder();
    e.write_tag(Tag::ModelPixelScaleTag, &[0.5f64, 0.25, 0.0][..])
        .unwrap();
    e.write_tag(
        Tag::ModelTiepointTag,
        &[0.0f64, 0.0, 0.0, 10.0, 50.0, 0.0][..],
    )
    .unwrap();
    e.write_tag(
        Tag::GeoKeyDirectoryTag,
        &[1u16, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326][..],
    )
    .unwrap();
    e.write_tag(Tag::GdalNodata, "7").unwrap();
}

macro_rules! encode_with_tiff_crate {
    ($color:ty, $data:expr, $compression:expr) => {{
        let mut buf = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut buf)
            .unwrap()
            .with_compression($compression);
        let mut img = enc.new_image::<$color>(6, 4).unwrap();
        img.rows_per_strip(3).unwrap();
        add_georef(&mut img);
        img.write_data(&$data).unwrap();
        buf.into_inner()
    }};
}

#[test]
fn reads_files_from_the_tiff_crates_encoder() {
    use tiff::encoder::{Compression as C, DeflateLevel, colortype as ct};
    let n = 24;
    let comps = [
        C::Uncompressed,
        C::Lzw,
        C::Deflate(DeflateLevel::Balanced),
        C::Packbits,
    ];
    for comp in comps {
        let files: Vec<(&str, Vec<u8>, Vec<f64>)> = vec![
            {
                let d: Vec<u8> = (0..n).map(|i| i as u8 * 10).collect();
                (
                    "uint8ud7",
                    encode_with_tiff_crate!(ct::Gray8, d, comp),
                    d.iter().map(|&v| f64::from(v)).collect(),
                )
            },
            {
                let d: Vec<i8> = (0..n).map(|i| i as i8 - 12).collect();
                (
                    "int8ud7",
                    encode_with_tiff_crate!(ct::GrayI8, d, comp),
                    d.iter().map(|&v| f64::from(v)).collect(),
                )
            },
            {
                let d: Vec<u16> = (0..n).map(|i| i as u16 * 2000).collect();
                (
                    "uint16ud7",
                    encode_with_tiff_crate!(ct::Gray16, d, comp),
                    d.iter().map(|&v| f64::from(v)).collect(),
                )
            },
            {
                let d: Vec<i16> = (0..n).map(|i| i as i16 * 1000 - 12000).collect();
                (
                    "int16ud7",
                    encode_with_tiff_crate!(ct::GrayI16, d, comp),
                    d.iter().map(|&v| f64::from(v)).collect(),
                )
            },
            {
                // u32 becomes float64, which holds values above i32::MAX exactly.
                let d: Vec<u32> = (0..n).map(|i| i as u32 * 178_000_000).collect();
                (
                    "float64ud7",
                    encode_with_tiff_crate!(ct::Gray32, d, comp),
                    d.iter().map(|&v| f64::from(v)).collect(),
                )
            },
            {
                let d: Vec<i32> = (0..n).map(|i| i * 90_000_000 - 1_000_000_000).collect();
                (
                    "int32ud7",
                    encode_with_tiff_crate!(ct::GrayI32, d, comp),
                    d.iter().map(|&v| f64::from(v)).collect(),
                )
            },
            {
                let d: Vec<f32> = (0..n).map(|i| i as f32 / 3.0).collect();
                (
                    "float32ud7",
                    encode_with_tiff_crate!(ct::Gray32Float, d, comp),
                    d.iter().map(|&v| f64::from(v)).collect(),
                )
            },
            {
                let d: Vec<f64> = (0..n).map(|i| f64::from(i) / 3.0).collect();
                (
                    "float64ud7",
                    encode_with_tiff_crate!(ct::Gray64Float, d, comp),
                    d.clone(),
                )
            },
        ];
        for (ty, bytes, want) in files {
            let r = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
            assert_eq!(r.cell_type().to_string(), ty);
            assert_eq!((r.cols(), r.rows(), r.band_count()), (6, 4, 1));
            assert_eq!(r.transform, GeoTransform::north_up(10.0, 50.0, 0.5, 0.25));
            assert_eq!(r.crs.epsg(), Some(4326));
            let got = r.tile.band(0).unwrap().to_f64s();
            for (g, w) in got.iter().zip(&want) {
                // The value 7 is NoData and reads as NaN.
                if *w == 7.0 {
                    assert!(g.is_nan());
                } else {
                    assert_eq!(g, w, "{ty}");
                }
            }
        }
        // RGB from the tiff crate: three bands.
        let d: Vec<u8> = (0..n * 3).map(|i| i as u8).collect();
        let bytes = encode_with_tiff_crate!(ct::RGB8, d, comp);
        let r = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
        assert_eq!(r.band_count(), 3);
        assert_eq!(r.tile.band(2).unwrap().get(1, 0), 5);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_write_read_round_trip(
        ty in 0..TYPES.len(),
        cols in 1u32..40,
        rows in 1u32..40,
        bands in 1usize..5,
        seed in any::<u64>(),
        tiles in any::<bool>(),
        planar in any::<bool>(),
        comp in 0..4usize,
        rows_per_strip in 0u32..9,
        big in any::<bool>(),
    ) {
        let r = test_raster(TYPES[ty], cols, rows, bands, seed);
        let o = WriteOptions {
            compression: [Compression::None, Compression::Lzw, Compression::Deflate, Compression::PackBits][comp],
            layout: if tiles { ChunkLayout::Tiles { width: 16, height: 32 } } else { ChunkLayout::Strips { rows_per_strip } },
            interleave: if planar { Interleave::Band } else { Interleave::Pixel },
            big_tiff: if big { BigTiff::Always } else { BigTiff::Never },
            sync: true,
        };
        let bytes = write_geotiff_bytes(&r, &o).unwrap();
        let back = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(back, r);
    }

    /// Random byte damage to small samples, and to small compressed tiled and planar files
    /// from our writer, gives an error or a raster, never a panic.
    #[test]
    fn prop_mutated_files_never_panic(
        file in 0..4usize,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8),
        cut in any::<u16>(),
    ) {
        let mut bytes = damage_input(file);
        for (pos, val) in edits {
            let i = usize::from(pos) % bytes.len();
            bytes[i] = val;
        }
        if cut % 3 == 0 {
            bytes.truncate(usize::from(cut) % bytes.len());
        }
        // A tight limit keeps damaged sizes from costing gigabytes of zeroes per case.
        let limits = Limits { max_raster_bytes: 1 << 20, ..Limits::default() };
        let _ = read_geotiff_bytes(&bytes, &limits);
        let _ = read_geotiff_info_bytes(&bytes);
    }
}

/// Small inputs for the damage test: two samples and two of our own layouts.
fn damage_input(i: usize) -> Vec<u8> {
    match i {
        0 => std::fs::read(sample("geomatrix.tif")).unwrap(),
        1 => std::fs::read(sample("na.tif")).unwrap(),
        _ => {
            let r = test_raster("int16", 40, 35, 3, 11);
            let o = WriteOptions {
                compression: if i == 2 {
                    Compression::Lzw
                } else {
                    Compression::Deflate
                },
                layout: if i == 2 {
                    ChunkLayout::Tiles {
                        width: 16,
                        height: 16,
                    }
                } else {
                    ChunkLayout::Strips { rows_per_strip: 4 }
                },
                interleave: Interleave::Band,
                ..WriteOptions::default()
            };
            write_geotiff_bytes(&r, &o).unwrap()
        }
    }
}

// ---- Bad input -------------------------------------------------------------------------------

/// Offset of tag `tag`'s 12-byte entry in IFD 0 of a little-endian classic TIFF.
fn tag_entry(bytes: &[u8], tag: u16) -> usize {
    assert_eq!(&bytes[..2], b"II");
    let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes(bytes[ifd..ifd + 2].try_into().unwrap()) as usize;
    (0..n)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&e| u16::from_le_bytes(bytes[e..e + 2].try_into().unwrap()) == tag)
        .unwrap_or_else(|| panic!("tag {tag} not found"))
}

/// Sets a SHORT tag's inline value.
fn patch_short(bytes: &mut [u8], tag: u16, value: u16) {
    let e = tag_entry(bytes, tag);
    bytes[e + 8..e + 10].copy_from_slice(&value.to_le_bytes());
}

/// Turns a tag into a LONG with an inline value.
fn patch_long(bytes: &mut [u8], tag: u16, value: u32) {
    let e = tag_entry(bytes, tag);
    bytes[e + 2..e + 4].copy_from_slice(&4u16.to_le_bytes());
    bytes[e + 4..e + 8].copy_from_slice(&1u32.to_le_bytes());
    bytes[e + 8..e + 12].copy_from_slice(&value.to_le_bytes());
}

fn l7() -> Vec<u8> {
    std::fs::read(sample("L7_ETMs.tif")).unwrap()
}

#[test]
fn truncated_files_give_malformed_errors() {
    let full = l7();
    // The first image's pixel data ends before the overview IFD at 598196.
    for len in [0, 3, 7, 8, 100, 1200, 50_000, 300_000, 598_000] {
        let err = read_geotiff_bytes(&full[..len], &Limits::default()).unwrap_err();
        assert!(
            matches!(err, Error::Malformed { .. }),
            "cut at {len}: {err:?}"
        );
        assert!(err.to_string().starts_with("malformed TIFF"), "{err}");
    }
}

#[test]
fn corrupt_deflate_data_is_an_error() {
    let mut bytes = l7();
    // The first strip starts at 1136: keep its zlib header, smash the stream.
    for b in &mut bytes[1140..1400] {
        *b = 0xA5;
    }
    let err = read_geotiff_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}

#[test]
fn unsupported_compression_is_named() {
    for (code, name) in [(7u16, "JPEG (code 7)"), (12345, "unknown (code 12345)")] {
        let mut bytes = l7();
        patch_short(&mut bytes, 259, code);
        let err = read_geotiff_bytes(&bytes, &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn unknown_epsg_code_in_geokeys_is_an_unknown_crs() {
    let mut bytes = l7();
    // ProjectedCSTypeGeoKey (3072), inline, count 1, value 31985 → 3 (not an EPSG CRS).
    let needle: Vec<u8> = [3072u16, 0, 1, 31985]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = bytes.windows(8).position(|w| w == needle).unwrap();
    bytes[at + 6..at + 8].copy_from_slice(&3u16.to_le_bytes());
    let err = read_geotiff_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::UnknownCrs { .. }), "{err:?}");
    assert!(err.to_string().contains("EPSG:3"), "{err}");
}

#[test]
fn user_defined_projection_that_proj4rs_cannot_express_is_an_unknown_crs() {
    let mut bytes = std::fs::read(sample("olinda_dem_utm25s.tif")).unwrap();
    // ProjectionGeoKey (3074) 16125 (UTM 25S) → user-defined, with ProjCoordTrans absent.
    let needle: Vec<u8> = [3074u16, 0, 1, 16125]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = bytes.windows(8).position(|w| w == needle).unwrap();
    bytes[at + 6..at + 8].copy_from_slice(&32767u16.to_le_bytes());
    let err = read_geotiff_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("ProjCoordTransGeoKey"), "{err}");
    // And a projection method proj4rs has no formula for is named.
    bytes[at..at + 2].copy_from_slice(&3075u16.to_le_bytes());
    bytes[at + 6..at + 8].copy_from_slice(&3u16.to_le_bytes());
    let err = read_geotiff_bytes(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::UnknownCrs { .. }), "{err:?}");
    assert!(err.to_string().contains("ObliqueMercator"), "{err}");
}

#[test]
fn hostile_sizes_hit_the_limit_before_allocating() {
    // geomatrix.tif is one uncompressed strip: claim a million by a million pixels in it.
    let mut bytes = std::fs::read(sample("geomatrix.tif")).unwrap();
    for tag in [256, 257, 278] {
        patch_long(&mut bytes, tag, 1_000_000);
    }
    let err = read_geotiff_bytes(&bytes, &Limits::default()).unwrap_err();
    let Error::LimitsExceeded { needed, limit, .. } = err else {
        panic!("{err:?}");
    };
    // keyed-tile's cap on cells per band comes first.
    assert_eq!(needed, 1_000_000 * 1_000_000);
    assert_eq!(limit, keyed_tile::MAX_CELLS);
    // Under that cap, the byte limit applies: 40000 x 40000 x 1 byte against 1 GiB.
    for tag in [256, 257, 278] {
        patch_long(&mut bytes, tag, 40_000);
    }
    let one_gib = Limits {
        max_raster_bytes: 1 << 30,
        ..Limits::default()
    };
    let err = read_geotiff_bytes(&bytes, &one_gib).unwrap_err();
    let Error::LimitsExceeded { needed, limit, .. } = err else {
        panic!("{err:?}");
    };
    assert_eq!((needed, limit), (40_000 * 40_000, 1 << 30));
    // A tight limit rejects even the real file.
    let tight = Limits {
        max_raster_bytes: 349 * 352 * 6 - 1,
        ..Limits::default()
    };
    let err = read_geotiff_bytes(&l7(), &tight).unwrap_err();
    assert!(
        err.to_string().contains("raster 349x352x6 of Byte"),
        "{err}"
    );
}

#[test]
fn errors_from_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.tif");
    std::fs::write(&p, &l7()[..5000]).unwrap();
    let err = read_geotiff(&p).unwrap_err().to_string();
    assert!(err.contains("cut.tif"), "{err}");
    let missing = read_geotiff(dir.path().join("nope.tif")).unwrap_err();
    assert!(matches!(missing, Error::Io(_)), "{missing:?}");
}

#[test]
fn write_geotiff_replaces_the_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.tif");
    std::fs::write(&p, b"old").unwrap();
    let r = test_raster("int16ud-1", 5, 4, 1, 3);
    raster::write_geotiff(&r, &p).unwrap();
    assert_eq!(read_geotiff(&p).unwrap(), r);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.tif")]);
    let mut s = String::new();
    let _ = write!(s, "{}", r.crs);
    assert!(s.contains("EPSG:32611"));
}

#[test]
fn reads_the_horizontal_predictor() {
    use tiff::encoder::{Compression as C, Predictor, colortype as ct};
    let d: Vec<u16> = (0..24).map(|i| i * 1000 + 3).collect();
    let mut buf = Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut buf)
        .unwrap()
        .with_compression(C::Lzw)
        .with_predictor(Predictor::Horizontal);
    let mut img = enc.new_image::<ct::Gray16>(6, 4).unwrap();
    add_georef(&mut img);
    img.write_data(&d).unwrap();
    let r = read_geotiff_bytes(&buf.into_inner(), &Limits::default()).unwrap();
    let got = r.tile.band(0).unwrap().to_i32s();
    assert_eq!(got, d.iter().map(|&v| i32::from(v)).collect::<Vec<_>>());
}

/// tiff 0.11 reads right-edge tiles row by row and, for some LZW streams, reports the stream
/// truncated just before its end; with planes after the first it also misjudges edge padding.
/// GDAL reads these files (checked with gdalinfo -checksum); so must we.
#[test]
fn lzw_edge_tiles_and_later_planes_read_back() {
    for (bands, seed) in [(1, 3), (3, 3), (3, 1_579_140_287_260_602_126)] {
        let r = test_raster("uint8raw", 37, 23, bands, seed);
        let o = WriteOptions {
            compression: Compression::Lzw,
            layout: ChunkLayout::Tiles {
                width: 16,
                height: 16,
            },
            interleave: Interleave::Band,
            ..WriteOptions::default()
        };
        let bytes = write_geotiff_bytes(&r, &o).unwrap();
        let back = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
        assert_eq!(back, r, "{bands} bands, seed {seed}");
    }
}

#[test]
fn bool_bands_are_written_as_bytes() {
    let t = Tile::from_i32s(CellType::Bool, 3, 2, &[0, 1, 1, 0, 0, 1]).unwrap();
    let r = Raster {
        tile: MultibandTile::from(t),
        transform: GeoTransform::north_up(0.0, 6.0, 2.0, 3.0),
        crs: Crs::parse("EPSG:4326").unwrap(),
    };
    let bytes = write_geotiff_bytes(&r, &WriteOptions::default()).unwrap();
    let back = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
    assert_eq!(back.cell_type().to_string(), "uint8raw");
    assert_eq!(back.tile.band(0).unwrap().to_i32s(), vec![0, 1, 1, 0, 0, 1]);
}

/// Transforms a few points from both CRSs to WGS 84 and compares: the same CRS, however spelled.
fn assert_same_crs(a: &Crs, b: &Crs, near: (f64, f64)) {
    let wgs84 = Crs::parse("EPSG:4326").unwrap();
    let ta = raster::Transformer::new(a, &wgs84).unwrap();
    let tb = raster::Transformer::new(b, &wgs84).unwrap();
    for (dx, dy) in [(0.0, 0.0), (10_000.0, -5_000.0), (-3_000.0, 8_000.0)] {
        let p = (near.0 + dx, near.1 + dy);
        let (pa, pb) = (
            ta.transform(p.0, p.1).unwrap(),
            tb.transform(p.0, p.1).unwrap(),
        );
        assert!(
            (pa.0 - pb.0).abs() < 1e-9 && (pa.1 - pb.1).abs() < 1e-9,
            "{a:?} vs {b:?} at {p:?}: {pa:?} {pb:?}"
        );
    }
}

#[test]
fn user_defined_crs_round_trip_through_geokeys() {
    for (proj, near) in [
        (
            "+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs",
            (500_000.0, 4_000_000.0),
        ),
        (
            "+proj=utm +zone=20 +south +ellps=intl +towgs84=-57,1,-41,0,0,0,0 +units=m +no_defs",
            (400_000.0, 7_000_000.0),
        ),
        (
            "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 +a=6377563.396 +rf=299.3249646 +units=m +no_defs",
            (400_000.0, 300_000.0),
        ),
        (
            "+proj=tmerc +lat_0=30 +lon_0=-117 +k=0.9999 +x_0=609601.2192024384 +y_0=0 +ellps=GRS80 +units=us-ft +no_defs",
            (1_900_000.0, 600_000.0),
        ),
        (
            "+proj=longlat +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +no_defs",
            (10.0, 50.0),
        ),
    ] {
        let crs = Crs::parse(proj).unwrap();
        let r = Raster {
            crs: crs.clone(),
            ..test_raster("int16", 4, 3, 1, 1)
        };
        let bytes = write_geotiff_bytes(&r, &WriteOptions::default()).unwrap();
        let back = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
        assert_eq!(back.crs.epsg(), None, "{proj}");
        let near = if crs.is_geographic() {
            (near.0, near.1)
        } else {
            near
        };
        if crs.is_geographic() {
            assert!(back.crs.is_geographic());
            assert!(
                back.crs.is_equivalent(&crs),
                "{proj} read back as {:?}",
                back.crs
            );
        } else {
            assert_same_crs(&back.crs, &crs, near);
        }
    }
    // Projections the writer cannot spell as GeoKeys are refused, not written wrongly.
    let lcc =
        Crs::parse("+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=-96 +datum=NAD83 +units=m")
            .unwrap();
    let r = Raster {
        crs: lcc,
        ..test_raster("int16", 4, 3, 1, 1)
    };
    let err = write_geotiff_bytes(&r, &WriteOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
}

/// Rasters of at least 4 MiB are decoded on two threads, split at a chunk-row boundary: every
/// layout must come back whole, from memory and from a file.
#[test]
fn large_rasters_read_back_through_the_two_thread_path() {
    // 1100 x 1000 x 2 bands of int16: 4.4 MB, over the 4 MiB threshold.
    let r = test_raster("int16", 1100, 1000, 2, 7);
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            ChunkLayout::Strips { rows_per_strip: 1 },
            Interleave::Pixel,
            Compression::None,
        ),
        (
            ChunkLayout::Strips { rows_per_strip: 0 },
            Interleave::Band,
            Compression::Deflate,
        ),
        (
            ChunkLayout::Tiles {
                width: 256,
                height: 128,
            },
            Interleave::Band,
            Compression::Lzw,
        ),
        (
            ChunkLayout::Tiles {
                width: 64,
                height: 48,
            },
            Interleave::Pixel,
            Compression::None,
        ),
    ];
    for (layout, interleave, compression) in cases {
        let o = WriteOptions {
            compression,
            layout,
            interleave,
            ..WriteOptions::default()
        };
        let bytes = write_geotiff_bytes(&r, &o).unwrap();
        let back = read_geotiff_bytes(&bytes, &Limits::default()).unwrap();
        assert_eq!(back, r, "{o:?} from memory");
        let path = dir.path().join("large.tif");
        std::fs::write(&path, &bytes).unwrap();
        let back = read_geotiff(&path).unwrap();
        assert_eq!(back, r, "{o:?} from a file");
    }
}

/// Every input that once crashed the `geotiff_read` fuzz target, replayed: each must give an
/// error, and the one that made the reader allocate 4 GiB for a tag must hit the tag limit.
#[test]
fn fuzz_crash_inputs_are_errors() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let small = Limits {
        max_raster_bytes: 1 << 20,
        max_tag_bytes: 1 << 16,
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let info = read_geotiff_info_bytes(&bytes);
        let full = read_geotiff_bytes(&bytes, &small);
        assert!(full.is_err(), "{name}: read a raster from a crash input");
        if name.starts_with("oom-ascii-tag") {
            assert!(
                matches!(info, Err(Error::LimitsExceeded { .. })),
                "{name}: {info:?}"
            );
            assert!(
                matches!(full, Err(Error::LimitsExceeded { .. })),
                "{name}: {full:?}"
            );
        }
        seen += 1;
    }
    assert!(seen >= 1, "no crash inputs in {}", dir.display());
}
