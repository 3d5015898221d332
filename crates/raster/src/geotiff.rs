//! GeoTIFF reading and writing with the `tiff` crate: strips and tiles, chunky and planar,
//! none/LZW/Deflate/PackBits, GDAL_NODATA, tiepoint+scale or matrix georeferencing, GeoKeys.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, Write};
use std::path::Path;

use tiff::TiffError;
use tiff::decoder::{Decoder, DecodingResult, ifd::Value};
use tiff::encoder::compression::{
    CompressionAlgorithm, Compressor, Deflate, Lzw, Packbits, Uncompressed,
};
use tiff::encoder::{TiffEncoder, TiffKind};
use tiff::tags::Tag;

use crate::bands::{BandRef, Samples};
use crate::crs::Crs;
use crate::error::{Error, Result};
use crate::geo::{GeoTransform, Raster};
use crate::geokeys::{GeoKeys, RasterType};

/// Caps on what an untrusted header may make the reader allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decoded raster, in bytes: width × height × bands × bytes per sample.
    /// Checked from the header, before any pixel buffer is allocated.
    pub max_raster_bytes: u64,
    /// Largest single TIFF tag value (strip offset tables, GeoKey arrays), in bytes.
    pub max_tag_bytes: u64,
}

impl Default for Limits {
    /// 4 GiB of pixels (the most a classic TIFF can address) and 64 MiB per tag value.
    fn default() -> Self {
        Limits {
            max_raster_bytes: 4 << 30,
            max_tag_bytes: 64 << 20,
        }
    }
}

/// The sample type of a TIFF band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SampleType {
    /// Unsigned 8-bit (GDAL `Byte`).
    U8,
    /// Signed 8-bit (GDAL `Int8`).
    I8,
    /// Unsigned 16-bit (GDAL `UInt16`).
    U16,
    /// Signed 16-bit (GDAL `Int16`).
    I16,
    /// Unsigned 32-bit (GDAL `UInt32`); read as keyed-tile `float64`, see [`read_geotiff`].
    U32,
    /// Signed 32-bit (GDAL `Int32`).
    I32,
    /// 32-bit float (GDAL `Float32`).
    F32,
    /// 64-bit float (GDAL `Float64`).
    F64,
}

impl SampleType {
    /// GDAL's name for the type (`Byte`, `Int16`, `Float32`, ...).
    pub fn gdal_name(self) -> &'static str {
        match self {
            SampleType::U8 => "Byte",
            SampleType::I8 => "Int8",
            SampleType::U16 => "UInt16",
            SampleType::I16 => "Int16",
            SampleType::U32 => "UInt32",
            SampleType::I32 => "Int32",
            SampleType::F32 => "Float32",
            SampleType::F64 => "Float64",
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> u64 {
        match self {
            SampleType::U8 | SampleType::I8 => 1,
            SampleType::U16 | SampleType::I16 => 2,
            SampleType::U32 | SampleType::I32 | SampleType::F32 => 4,
            SampleType::F64 => 8,
        }
    }
}

/// TIFF compression schemes this crate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (code 1).
    None,
    /// LZW (code 5).
    Lzw,
    /// Deflate / zlib (code 8; 32946 is read too).
    #[default]
    Deflate,
    /// PackBits run-length encoding (code 32773).
    PackBits,
}

impl Compression {
    /// GDAL's name for the scheme (`NONE`, `LZW`, `DEFLATE`, `PACKBITS`).
    pub fn gdal_name(self) -> &'static str {
        match self {
            Compression::None => "NONE",
            Compression::Lzw => "LZW",
            Compression::Deflate => "DEFLATE",
            Compression::PackBits => "PACKBITS",
        }
    }

    fn code(self) -> u16 {
        match self {
            Compression::None => 1,
            Compression::Lzw => 5,
            Compression::Deflate => 8,
            Compression::PackBits => 32773,
        }
    }

    fn from_code(code: u16) -> Result<Compression> {
        Ok(match code {
            1 => Compression::None,
            5 => Compression::Lzw,
            8 | 32946 => Compression::Deflate,
            32773 => Compression::PackBits,
            other => {
                let name = match other {
                    2 => "CCITT RLE",
                    3 => "CCITT Group 3 fax",
                    4 => "CCITT Group 4 fax",
                    6 => "old-style JPEG",
                    7 => "JPEG",
                    34887 => "LERC",
                    34925 => "LZMA",
                    50000 => "ZSTD",
                    50001 => "WebP",
                    50002 => "JPEG XL",
                    _ => "unknown",
                };
                return Err(Error::unsupported(format!(
                    "TIFF compression {name} (code {other}); supported: none (1), LZW (5), Deflate (8, 32946), PackBits (32773)"
                )));
            }
        })
    }

    fn compressor(self) -> Compressor {
        match self {
            Compression::None => Compressor::Uncompressed(Uncompressed),
            Compression::Lzw => Compressor::Lzw(Lzw),
            Compression::Deflate => Compressor::Deflate(Deflate::default()),
            Compression::PackBits => Compressor::Packbits(Packbits),
        }
    }
}

/// How pixel data is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkLayout {
    /// Horizontal strips of `rows_per_strip` rows (0: about 64 KiB per strip).
    Strips {
        /// Rows per strip; 0 picks a size of about 64 KiB.
        rows_per_strip: u32,
    },
    /// Square-ish tiles; both sides must be multiples of 16 (TIFF 6.0 section 15).
    Tiles {
        /// Tile width in pixels.
        width: u32,
        /// Tile height in pixels.
        height: u32,
    },
}

/// How bands are interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interleave {
    /// All bands of a pixel together (PlanarConfiguration 1, "chunky", GDAL `PIXEL`).
    Pixel,
    /// Each band in chunks of its own (PlanarConfiguration 2, "planar", GDAL `BAND`).
    Band,
}

/// Whether to write BigTIFF (64-bit offsets), which GDAL and libtiff read but some older
/// readers do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BigTiff {
    /// BigTIFF only when the file could pass 4 GiB (GDAL's `BIGTIFF=IF_SAFER`).
    #[default]
    Auto,
    /// Always BigTIFF.
    Always,
    /// Never: writing a file past 4 GiB then fails.
    Never,
}

/// Options for [`write_geotiff_with`]. Build them with `..WriteOptions::default()` so that
/// fields added later keep their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Compression scheme (default Deflate).
    pub compression: Compression,
    /// Strips or tiles (default strips of about 64 KiB).
    pub layout: ChunkLayout,
    /// Band interleaving (default pixel-interleaved, as GDAL).
    pub interleave: Interleave,
    /// Classic TIFF or BigTIFF (default: BigTIFF only when needed).
    pub big_tiff: BigTiff,
    /// Whether [`write_geotiff_with`] syncs the file to disk before renaming it into place
    /// (default `true`): then after a crash `path` holds the old file or the whole new one.
    /// Without it the rename is still atomic for other readers, but a crash soon after may
    /// leave a short file; the sync costs about 3 ms per MB here. GDAL does not sync.
    pub sync: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compression: Compression::Deflate,
            layout: ChunkLayout::Strips { rows_per_strip: 0 },
            interleave: Interleave::Pixel,
            big_tiff: BigTiff::Auto,
            sync: true,
        }
    }
}

/// What a GeoTIFF header says, without decoding any pixels (what `gdalinfo` prints).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GeoTiffInfo {
    /// Width in pixels.
    pub cols: u32,
    /// Height in pixels.
    pub rows: u32,
    /// Number of bands (SamplesPerPixel).
    pub bands: u16,
    /// The sample type of every band.
    pub sample_type: SampleType,
    /// The compression scheme.
    pub compression: Compression,
    /// Band interleaving.
    pub interleave: Interleave,
    /// Chunk (block) size: strips are full width.
    pub block: (u32, u32),
    /// True for tiled files.
    pub tiled: bool,
    /// The affine transform (PixelIsPoint already shifted to corners), if georeferenced.
    pub transform: Option<GeoTransform>,
    /// True when the file declares PixelIsPoint (GDAL's `AREA_OR_POINT=Point`).
    pub pixel_is_point: bool,
    /// The CRS from the GeoKeys: `None` when there are none, `Some(Err)` when they cannot be used.
    pub crs: Option<std::result::Result<Crs, String>>,
    /// The GDAL_NODATA value.
    pub nodata: Option<f64>,
}

/// Reads a GeoTIFF file with the default [`Limits`].
///
/// Every sample type maps to a keyed-tile cell type of the same width, except unsigned 32-bit
/// samples, which keyed-tile lacks: they become `float64`, which holds every `u32` exactly.
/// NoData from GDAL_NODATA becomes a user-defined NoData (`uint8ud0`, `float32ud-9999`, or
/// constant NoData for NaN); without it the cell type is `raw`. Only the first image (IFD) is
/// read; overviews are ignored.
pub fn read_geotiff(path: impl AsRef<Path>) -> Result<Raster> {
    read_geotiff_with(path, &Limits::default())
}

/// Reads a GeoTIFF file with explicit [`Limits`].
pub fn read_geotiff_with(path: impl AsRef<Path>, limits: &Limits) -> Result<Raster> {
    let path = path.as_ref();
    // The default 8 KiB buffer: a strip or tile larger than that is read straight into the
    // decoder's buffer. A larger `BufReader` would refill all of itself after every seek to a
    // chunk, copying far more than the chunk (a 1 MiB buffer read 50 times the bytes of a
    // 20 KiB strip).
    let open_file = || -> Result<BufReader<File>> { Ok(BufReader::new(File::open(path)?)) };
    let first = open_file()?;
    guarded(|| read_from(first, &open_file, limits)).map_err(|e| e.with_path(path))
}

/// Reads a GeoTIFF from memory.
pub fn read_geotiff_bytes(bytes: &[u8], limits: &Limits) -> Result<Raster> {
    let open_bytes = || -> Result<Cursor<&[u8]>> { Ok(Cursor::new(bytes)) };
    guarded(|| read_from(Cursor::new(bytes), &open_bytes, limits))
}

/// Reads only the header of a GeoTIFF file.
pub fn read_geotiff_info(path: impl AsRef<Path>) -> Result<GeoTiffInfo> {
    let path = path.as_ref();
    let file = File::open(path)?;
    guarded(|| info_from(BufReader::new(file), &Limits::default())).map_err(|e| e.with_path(path))
}

/// Reads only the header of an in-memory GeoTIFF.
pub fn read_geotiff_info_bytes(bytes: &[u8]) -> Result<GeoTiffInfo> {
    guarded(|| info_from(Cursor::new(bytes), &Limits::default()))
}

/// Runs a decode, turning a panic inside the tiff crate into an error: a hostile file must
/// never abort the caller (DESIGN.md). tiff 0.11 has internal assertions that inconsistent
/// chunk layouts reach through its whole-image path; this crate reads chunk by chunk, and the
/// byte-damage property test (5000 cases run once, 64 in CI) and the `geotiff_read` fuzz
/// target found no panic left, but the guard stays as the last line of defence. It covers the
/// second decoding thread too: [`read_chunks`] re-raises that thread's panic here.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(Error::malformed(
            "TIFF",
            "the TIFF decoder failed on inconsistent chunk or tag data",
        ))
    })
}

fn tiff_err(e: TiffError) -> Error {
    match e {
        TiffError::FormatError(f) => Error::malformed("TIFF", f.to_string()),
        TiffError::UnsupportedError(u) => Error::unsupported(format!("TIFF feature: {u}")),
        TiffError::IoError(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::InvalidInput
            ) =>
        {
            Error::malformed("TIFF", format!("truncated or corrupt data: {io}"))
        }
        TiffError::IoError(io) => Error::Io(io),
        TiffError::LimitsExceeded => Error::LimitsExceeded {
            what: "a TIFF tag or chunk".to_owned(),
            needed: 0,
            limit: 0,
            path: None,
        },
        other => Error::malformed("TIFF", other.to_string()),
    }
}

fn tiff_limits(limits: &Limits) -> tiff::decoder::Limits {
    let mut l = tiff::decoder::Limits::default();
    l.decoding_buffer_size = usize::try_from(limits.max_raster_bytes).unwrap_or(usize::MAX);
    l.ifd_value_size = usize::try_from(limits.max_tag_bytes).unwrap_or(usize::MAX);
    l
}

#[derive(Clone, Copy)]
struct Header {
    cols: u32,
    rows: u32,
    bands: u16,
    sample_type: SampleType,
    compression: Compression,
    interleave: Interleave,
    tiled: bool,
    block: (u32, u32),
}

fn read_u16_tag<R: Read + Seek>(d: &mut Decoder<R>, tag: Tag) -> Result<Option<u16>> {
    match d.find_tag(tag).map_err(tiff_err)? {
        None => Ok(None),
        Some(v) => v
            .into_u16()
            .map(Some)
            .map_err(|_| Error::malformed("TIFF", format!("tag {tag:?} is not a single short"))),
    }
}

fn header<R: Read + Seek>(d: &mut Decoder<R>) -> Result<Header> {
    let (cols, rows) = d.dimensions().map_err(tiff_err)?;
    let bands = read_u16_tag(d, Tag::SamplesPerPixel)?.unwrap_or(1);
    let bits: Vec<u16> = match d.find_tag(Tag::BitsPerSample).map_err(tiff_err)? {
        Some(v) => v
            .into_u16_vec()
            .map_err(|_| Error::malformed("TIFF", "BitsPerSample is not a list of shorts"))?,
        None => vec![1],
    };
    let formats: Vec<u16> = match d.find_tag(Tag::SampleFormat).map_err(tiff_err)? {
        Some(v) => v
            .into_u16_vec()
            .map_err(|_| Error::malformed("TIFF", "SampleFormat is not a list of shorts"))?,
        None => vec![1],
    };
    let first_bits = *bits.first().unwrap_or(&1);
    let first_format = *formats.first().unwrap_or(&1);
    if bits.iter().any(|&b| b != first_bits) || formats.iter().any(|&f| f != first_format) {
        return Err(Error::unsupported(format!(
            "bands with different sample types (BitsPerSample {bits:?}, SampleFormat {formats:?})"
        )));
    }
    let sample_type = match (first_bits, first_format) {
        (8, 1 | 4) => SampleType::U8,
        (8, 2) => SampleType::I8,
        (16, 1 | 4) => SampleType::U16,
        (16, 2) => SampleType::I16,
        (32, 1 | 4) => SampleType::U32,
        (32, 2) => SampleType::I32,
        (32, 3) => SampleType::F32,
        (64, 3) => SampleType::F64,
        (b, f) => {
            return Err(Error::unsupported(format!(
                "sample type of {b} bits with SampleFormat {f} (supported: 8/16/32-bit integers, 32/64-bit floats)"
            )));
        }
    };
    let compression = Compression::from_code(read_u16_tag(d, Tag::Compression)?.unwrap_or(1))?;
    let interleave = match read_u16_tag(d, Tag::PlanarConfiguration)?.unwrap_or(1) {
        1 => Interleave::Pixel,
        2 => Interleave::Band,
        p => {
            return Err(Error::malformed(
                "TIFF",
                format!("PlanarConfiguration {p} is neither 1 nor 2"),
            ));
        }
    };
    if let Some(p) = read_u16_tag(d, Tag::PhotometricInterpretation)?
        && !matches!(p, 1 | 2)
    {
        let name = match p {
            0 => "WhiteIsZero",
            3 => "palette colour",
            5 => "CMYK",
            6 => "YCbCr",
            _ => "other",
        };
        return Err(Error::unsupported(format!(
            "PhotometricInterpretation {p} ({name}); supported: BlackIsZero (1), RGB (2)"
        )));
    }
    let tiled = d.get_chunk_type() == tiff::decoder::ChunkType::Tile;
    let block = d.chunk_dimensions();
    Ok(Header {
        cols,
        rows,
        bands,
        sample_type,
        compression,
        interleave,
        tiled,
        block,
    })
}

fn check_limits(h: &Header, limits: &Limits) -> Result<()> {
    // A band becomes one keyed-tile Tile, which caps its cell count.
    let cells = u64::from(h.cols) * u64::from(h.rows);
    if cells > keyed_tile::MAX_CELLS {
        return Err(Error::LimitsExceeded {
            what: format!(
                "a {}x{} band ({cells} cells; keyed-tile allows {})",
                h.cols,
                h.rows,
                keyed_tile::MAX_CELLS
            ),
            needed: cells.saturating_mul(h.sample_type.bytes()),
            limit: keyed_tile::MAX_CELLS.saturating_mul(h.sample_type.bytes()),
            path: None,
        });
    }
    let needed = u128::from(h.cols)
        * u128::from(h.rows)
        * u128::from(h.bands)
        * u128::from(h.sample_type.bytes());
    if needed > u128::from(limits.max_raster_bytes) {
        return Err(Error::LimitsExceeded {
            what: format!(
                "raster {}x{}x{} of {}",
                h.cols,
                h.rows,
                h.bands,
                h.sample_type.gdal_name()
            ),
            needed: u64::try_from(needed).unwrap_or(u64::MAX),
            limit: limits.max_raster_bytes,
            path: None,
        });
    }
    Ok(())
}

fn f64_tag<R: Read + Seek>(d: &mut Decoder<R>, tag: Tag) -> Result<Option<Vec<f64>>> {
    match d.find_tag(tag).map_err(tiff_err)? {
        None => Ok(None),
        Some(v) => v.into_f64_vec().map(Some).map_err(|_| {
            Error::malformed("GeoTIFF", format!("tag {tag:?} is not a list of doubles"))
        }),
    }
}

fn ascii_tag<R: Read + Seek>(d: &mut Decoder<R>, tag: Tag) -> Result<Option<String>> {
    match d.find_tag(tag).map_err(tiff_err)? {
        None => Ok(None),
        Some(Value::Ascii(s)) => Ok(Some(s)),
        Some(v) => v
            .into_u8_vec()
            .map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
            .map_err(|_| Error::malformed("GeoTIFF", format!("tag {tag:?} is not ASCII"))),
    }
}

struct Georef {
    transform: Option<GeoTransform>,
    pixel_is_point: bool,
    crs: Option<Result<Crs>>,
    nodata: Option<f64>,
}

fn georef<R: Read + Seek>(d: &mut Decoder<R>) -> Result<Georef> {
    let nodata = match ascii_tag(d, Tag::GdalNodata)? {
        None => None,
        Some(s) => {
            let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            Some(t.parse::<f64>().map_err(|_| {
                Error::malformed(
                    "GeoTIFF",
                    format!("GDAL_NODATA (tag 42113) {t:?} is not a number"),
                )
            })?)
        }
    };
    let keys = match d.find_tag(Tag::GeoKeyDirectoryTag).map_err(tiff_err)? {
        None => None,
        Some(v) => {
            let dir = v.into_u16_vec().map_err(|_| {
                Error::malformed("GeoKey directory (tag 34735)", "not a list of shorts")
            })?;
            let doubles = f64_tag(d, Tag::GeoDoubleParamsTag)?.unwrap_or_default();
            let ascii = ascii_tag(d, Tag::GeoAsciiParamsTag)?.unwrap_or_default();
            Some(GeoKeys::parse(&dir, &doubles, &ascii)?)
        }
    };
    let pixel_is_point = keys
        .as_ref()
        .is_some_and(|k| k.raster_type() == RasterType::Point);
    let scale = f64_tag(d, Tag::ModelPixelScaleTag)?;
    let tiepoints = f64_tag(d, Tag::ModelTiepointTag)?;
    let matrix = f64_tag(d, Tag::ModelTransformationTag)?;
    let mut transform = match (tiepoints, scale, matrix) {
        (Some(tp), Some(sc), _) => {
            let ([i, j, _, x, y, _], [sx, sy, ..]) = (
                tp.get(..6)
                    .and_then(|s| <[f64; 6]>::try_from(s).ok())
                    .ok_or_else(|| {
                        Error::malformed(
                            "GeoTIFF",
                            format!("ModelTiepoint (33922) has {} values, need 6", tp.len()),
                        )
                    })?,
                sc.as_slice(),
            ) else {
                return Err(Error::malformed(
                    "GeoTIFF",
                    format!("ModelPixelScale (33550) has {} values, need 3", sc.len()),
                ));
            };
            // With several tiepoints and a scale, GDAL uses the first, and so do we.
            Some(GeoTransform::from_gdal([
                x - i * sx,
                *sx,
                0.0,
                y + j * sy,
                0.0,
                -sy,
            ]))
        }
        (_, _, Some(m)) => {
            if m.len() != 16 {
                return Err(Error::malformed(
                    "GeoTIFF",
                    format!(
                        "ModelTransformation (34264) has {} values, need 16",
                        m.len()
                    ),
                ));
            }
            Some(GeoTransform::from_gdal([
                m[3], m[0], m[1], m[7], m[4], m[5],
            ]))
        }
        (Some(tp), None, None) if tp.len() > 6 => {
            return Err(Error::unsupported(format!(
                "georeferencing by {} ground control points (ModelTiepoint without ModelPixelScale)",
                tp.len() / 6
            )));
        }
        _ => None,
    };
    if pixel_is_point && let Some(gt) = transform.as_mut() {
        // PixelIsPoint: the tiepoint is the first pixel's centre. GDAL moves the origin to the
        // corner by half a pixel along both axes (unless GTIFF_POINT_GEO_IGNORE is set).
        let (x, y) = gt.pixel_to_map(-0.5, -0.5);
        gt.origin_x = x;
        gt.origin_y = y;
    }
    let crs = keys.as_ref().and_then(|k| k.crs().transpose());
    Ok(Georef {
        transform,
        pixel_is_point,
        crs,
        nodata,
    })
}

fn open<R: Read + Seek>(r: R, limits: &Limits) -> Result<Decoder<R>> {
    Ok(Decoder::new(r)
        .map_err(tiff_err)?
        .with_limits(tiff_limits(limits)))
}

/// A decoder for reading tags only. tiff 0.11 checks an ASCII tag's length against the
/// decoding-buffer limit, not the tag limit, and allocates it before reading: with the pixel
/// limit there, a 30-byte file claiming a 4 GiB string made it allocate 4 GiB (found by the
/// `geotiff_read` fuzz target). Pixels are read only after [`Decoder::with_limits`] restores
/// the pixel limit.
fn open_for_tags<R: Read + Seek>(r: R, limits: &Limits) -> Result<Decoder<R>> {
    let mut l = tiff_limits(limits);
    l.decoding_buffer_size = usize::try_from(limits.max_tag_bytes).unwrap_or(usize::MAX);
    Ok(Decoder::new(r).map_err(tiff_err)?.with_limits(l))
}

fn info_from<R: Read + Seek>(r: R, limits: &Limits) -> Result<GeoTiffInfo> {
    let mut d = open_for_tags(r, limits)?;
    let h = header(&mut d)?;
    let g = georef(&mut d)?;
    Ok(GeoTiffInfo {
        cols: h.cols,
        rows: h.rows,
        bands: h.bands,
        sample_type: h.sample_type,
        compression: h.compression,
        interleave: h.interleave,
        block: h.block,
        tiled: h.tiled,
        transform: g.transform,
        pixel_is_point: g.pixel_is_point,
        crs: g.crs.map(|c| c.map_err(|e| e.to_string())),
        nodata: g.nodata,
    })
}

/// Reads the first image; `reopen` gives further readers of the same bytes, so that chunks can
/// be decoded on two threads with a decoder each.
fn read_from<R, F>(r: R, reopen: &F, limits: &Limits) -> Result<Raster>
where
    R: Read + Seek + Send,
    F: Fn() -> Result<R> + Sync,
{
    let mut d = open_for_tags(r, limits)?;
    let h = header(&mut d)?;
    check_limits(&h, limits)?;
    let g = georef(&mut d)?;
    let crs = match g.crs {
        Some(c) => c?,
        None => {
            return Err(Error::unknown_crs(
                "(none)",
                "the TIFF has no GeoKey directory (tag 34735), so its CRS is unknown",
            ));
        }
    };
    let transform = g.transform.ok_or_else(|| {
        Error::malformed(
            "GeoTIFF",
            "no georeferencing: neither ModelTiepoint+ModelPixelScale nor ModelTransformation",
        )
    })?;
    let mut d = d.with_limits(tiff_limits(limits));
    let bands = read_chunks(&mut d, &h, reopen, limits)?;
    let tile = crate::bands::to_tile(bands, h.cols as usize, h.rows as usize, g.nodata)?;
    Ok(Raster {
        tile,
        transform,
        crs,
    })
}

/// An empty band buffer of the header's sample type.
fn empty_band(t: SampleType, n: usize) -> Samples {
    match t {
        SampleType::U8 => Samples::U8(vec![0; n]),
        SampleType::I8 => Samples::I8(vec![0; n]),
        SampleType::U16 => Samples::U16(vec![0; n]),
        SampleType::I16 => Samples::I16(vec![0; n]),
        SampleType::U32 => Samples::U32(vec![0; n]),
        SampleType::I32 => Samples::I32(vec![0; n]),
        SampleType::F32 => Samples::F32(vec![0.0; n]),
        SampleType::F64 => Samples::F64(vec![0.0; n]),
    }
}

/// Rasters with at least this many sample bytes are decoded on two threads: below it, starting
/// a thread and a second decoder costs more than it saves.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Decodes every chunk (strip or tile, of every plane) and scatters it into per-band buffers.
///
/// Chunks are placed by our own arithmetic rather than the decoder's whole-image path, which
/// miscomputes the edge padding of tiles in planes after the first and then overruns its
/// buffer (tiff 0.11). Reading each tile at full tile width sidesteps both that and an LZW
/// end-of-stream bug of its row-by-row path.
///
/// Large rasters are split at a chunk-row boundary into a top and a bottom half, each decoded
/// by its own decoder on its own thread into disjoint parts of the band buffers.
fn read_chunks<R, F>(
    d: &mut Decoder<R>,
    h: &Header,
    reopen: &F,
    limits: &Limits,
) -> Result<Vec<Samples>>
where
    R: Read + Seek + Send,
    F: Fn() -> Result<R> + Sync,
{
    let (cols, rows) = (h.cols as usize, h.rows as usize);
    let nb = usize::from(h.bands);
    let (cw, ch) = (h.block.0 as usize, h.block.1 as usize);
    if cw == 0 || ch == 0 {
        return Err(Error::malformed("TIFF", format!("chunk size {cw}x{ch}")));
    }
    let down = rows.div_ceil(ch);
    let mut bands: Vec<Samples> = (0..nb)
        .map(|_| empty_band(h.sample_type, cols * rows))
        .collect();
    let total_bytes = (cols * rows * nb).saturating_mul(h.sample_type.bytes() as usize);
    if down < 2 || total_bytes < PARALLEL_MIN_BYTES {
        let mut parts: Vec<SamplesMut<'_>> = bands.iter_mut().map(SamplesMut::whole).collect();
        decode_rows(d, h, 0..down, &mut parts)?;
        return Ok(bands);
    }
    let mid = down / 2;
    let split = mid * ch * cols;
    let (mut top, mut bottom): (Vec<_>, Vec<_>) =
        bands.iter_mut().map(|b| b.split_at(split)).unzip();
    std::thread::scope(|s| -> Result<()> {
        let worker = s.spawn(move || -> Result<()> {
            let mut d2 = open(reopen()?, limits)?;
            decode_rows(&mut d2, h, mid..down, &mut bottom)
        });
        let first = decode_rows(d, h, 0..mid, &mut top);
        // A panic in the worker is passed on, so that `guarded` turns it into an error.
        let second = worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        first.and(second)
    })?;
    Ok(bands)
}

/// Decodes the chunk rows `cys` (of every plane) into `bands`, whose first row is the first
/// row of chunk row `cys.start`.
fn decode_rows<R: Read + Seek>(
    d: &mut Decoder<R>,
    h: &Header,
    cys: std::ops::Range<usize>,
    bands: &mut [SamplesMut<'_>],
) -> Result<()> {
    let (cols, rows) = (h.cols as usize, h.rows as usize);
    let nb = usize::from(h.bands);
    let (cw, ch) = (h.block.0 as usize, h.block.1 as usize);
    let across = cols.div_ceil(cw);
    let down = rows.div_ceil(ch);
    let planar = h.interleave == Interleave::Band;
    let (planes, spp) = if planar { (nb, 1) } else { (1, nb) };
    // Tiles are read with rows at the full tile width: the decoder then takes its whole-chunk
    // path. Its row-by-row path for right-edge tiles can stop just short of the end of an LZW
    // stream and report it truncated (tiff 0.11). Strips span the image width.
    let src_stride = if h.tiled {
        cw * spp
    } else {
        cw.min(cols) * spp
    };
    let stride_bytes = src_stride * h.sample_type.bytes() as usize;
    let base_row = cys.start * ch;
    // One buffer for every chunk: the decoder resizes it only when a chunk needs more.
    let mut chunk = DecodingResult::U8(Vec::new());
    for plane in 0..planes {
        for cy in cys.clone() {
            for cx in 0..across {
                let index = (plane * down + cy) * across + cx;
                let index32 = u32::try_from(index)
                    .map_err(|_| Error::malformed("TIFF", "more chunks than a TIFF can index"))?;
                d.read_chunk_to_buffer(&mut chunk, index32, stride_bytes)
                    .map_err(tiff_err)?;
                let x0 = cx * cw;
                let y0 = cy * ch;
                let w = cw.min(cols - x0);
                let h_rows = ch.min(rows - y0);
                scatter(
                    &chunk,
                    bands,
                    Placement {
                        plane,
                        spp,
                        x0,
                        y0: y0 - base_row,
                        w,
                        h: h_rows,
                        cols,
                        src_stride,
                    },
                )
                .map_err(|detail| Error::malformed("TIFF", format!("chunk {index}: {detail}")))?;
            }
        }
    }
    Ok(())
}

/// A mutable run of rows of one band.
enum SamplesMut<'a> {
    U8(&'a mut [u8]),
    I8(&'a mut [i8]),
    U16(&'a mut [u16]),
    I16(&'a mut [i16]),
    U32(&'a mut [u32]),
    I32(&'a mut [i32]),
    F32(&'a mut [f32]),
    F64(&'a mut [f64]),
}

/// Applies `$f` to the vector inside a [`Samples`] and wraps the result(s) as [`SamplesMut`].
macro_rules! samples_mut {
    ($s:expr, $f:expr, $wrap:ident) => {
        match $s {
            Samples::U8(v) => $wrap!(U8, $f(v)),
            Samples::I8(v) => $wrap!(I8, $f(v)),
            Samples::U16(v) => $wrap!(U16, $f(v)),
            Samples::I16(v) => $wrap!(I16, $f(v)),
            Samples::U32(v) => $wrap!(U32, $f(v)),
            Samples::I32(v) => $wrap!(I32, $f(v)),
            Samples::F32(v) => $wrap!(F32, $f(v)),
            Samples::F64(v) => $wrap!(F64, $f(v)),
        }
    };
}

macro_rules! one {
    ($variant:ident, $v:expr) => {
        SamplesMut::$variant($v)
    };
}

macro_rules! two {
    ($variant:ident, $v:expr) => {{
        let (a, b) = $v;
        (SamplesMut::$variant(a), SamplesMut::$variant(b))
    }};
}

impl<'a> SamplesMut<'a> {
    /// All of a band.
    fn whole(s: &'a mut Samples) -> SamplesMut<'a> {
        samples_mut!(s, |v: &'a mut Vec<_>| v.as_mut_slice(), one)
    }
}

impl Samples {
    /// The samples before and after sample `at` (clamped to the length).
    fn split_at<'a>(&'a mut self, at: usize) -> (SamplesMut<'a>, SamplesMut<'a>) {
        samples_mut!(
            self,
            |v: &'a mut Vec<_>| {
                let at = at.min(v.len());
                v.split_at_mut(at)
            },
            two
        )
    }
}

/// Where a decoded chunk goes.
struct Placement {
    plane: usize,
    spp: usize,
    x0: usize,
    /// The first row, counted from the first row of the destination buffers.
    y0: usize,
    w: usize,
    h: usize,
    cols: usize,
    /// Samples per row in the decoded chunk (at least `w * spp`).
    src_stride: usize,
}

/// Copies one decoded chunk (rows of `w` pixels of `spp` samples each) into the bands: a
/// plain row copy for one sample per pixel, else one pass per band over whole pixels.
fn scatter(
    chunk: &DecodingResult,
    bands: &mut [SamplesMut<'_>],
    p: Placement,
) -> std::result::Result<(), String> {
    macro_rules! go {
        ($src:expr, $variant:ident) => {{
            let src = $src;
            let row_len = p.w * p.spp;
            let row_step = p.src_stride.max(row_len);
            if p.h > 0 && src.len() < row_step * (p.h - 1) + row_len {
                return Err(format!(
                    "decoded {} samples, need {} rows of {row_len}",
                    src.len(),
                    p.h
                ));
            }
            for (b, band) in bands.iter_mut().enumerate() {
                // Planar chunks hold one band (the plane); chunky chunks hold all, interleaved.
                if p.spp == 1 && b != p.plane {
                    continue;
                }
                let SamplesMut::$variant(dst) = band else {
                    return Err("sample type changed between chunks".to_owned());
                };
                for r in 0..p.h {
                    let src_row = &src[r * row_step..r * row_step + row_len];
                    let start = (p.y0 + r) * p.cols + p.x0;
                    let Some(dst_row) = dst.get_mut(start..start + p.w) else {
                        return Err(format!("row {} lies outside the image", p.y0 + r));
                    };
                    if p.spp == 1 {
                        dst_row.copy_from_slice(src_row);
                    } else {
                        for (d, px) in dst_row.iter_mut().zip(src_row.chunks_exact(p.spp)) {
                            *d = px[b];
                        }
                    }
                }
            }
            Ok(())
        }};
    }
    match chunk {
        DecodingResult::U8(v) => go!(v, U8),
        DecodingResult::I8(v) => go!(v, I8),
        DecodingResult::U16(v) => go!(v, U16),
        DecodingResult::I16(v) => go!(v, I16),
        DecodingResult::U32(v) => go!(v, U32),
        DecodingResult::I32(v) => go!(v, I32),
        DecodingResult::F32(v) => go!(v, F32),
        DecodingResult::F64(v) => go!(v, F64),
        other => Err(format!(
            "the decoder returned {} samples",
            result_name(other)
        )),
    }
}

fn result_name(r: &DecodingResult) -> &'static str {
    match r {
        DecodingResult::U8(_) => "u8",
        DecodingResult::U16(_) => "u16",
        DecodingResult::U32(_) => "u32",
        DecodingResult::U64(_) => "u64",
        DecodingResult::F16(_) => "f16",
        DecodingResult::F32(_) => "f32",
        DecodingResult::F64(_) => "f64",
        DecodingResult::I8(_) => "i8",
        DecodingResult::I16(_) => "i16",
        DecodingResult::I32(_) => "i32",
        DecodingResult::I64(_) => "i64",
    }
}

/// Writes a GeoTIFF with the default [`WriteOptions`] (Deflate, strips, pixel-interleaved).
///
/// The file is streamed to a temporary name beside `path`, synced, then renamed into place, so
/// `path` holds either its old content or the whole new file.
pub fn write_geotiff(raster: &Raster, path: impl AsRef<Path>) -> Result<()> {
    write_geotiff_with(raster, path, &WriteOptions::default())
}

/// Writes a GeoTIFF with explicit options.
pub fn write_geotiff_with(
    raster: &Raster,
    path: impl AsRef<Path>,
    options: &WriteOptions,
) -> Result<()> {
    let path = path.as_ref();
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = (|| -> Result<()> {
        let mut f = std::io::BufWriter::new(File::create(&tmp)?);
        encode_raster(raster, &mut f, options)?;
        let f = f
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        if options.sync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Encodes a GeoTIFF in memory.
pub fn write_geotiff_bytes(raster: &Raster, options: &WriteOptions) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    encode_raster(raster, &mut out, options)?;
    Ok(out.into_inner())
}

fn encode_raster<W: Write + Seek>(raster: &Raster, out: W, options: &WriteOptions) -> Result<()> {
    let (bands, nodata) = crate::bands::from_tile(&raster.tile)?;
    let plan = Plan::new(&bands, raster.cols(), raster.rows(), options)?;
    let geo = GeoTags {
        nodata,
        transform: &raster.transform,
        crs: &raster.crs,
    };
    if plan.big {
        let enc = TiffEncoder::new_big(out).map_err(enc_err)?;
        write_image(enc, &bands, &plan, &geo, options)
    } else {
        let enc = TiffEncoder::new(out).map_err(enc_err)?;
        write_image(enc, &bands, &plan, &geo, options)
    }
}

/// Converts a `tiff` encoder error: these only come from our own misuse or IO.
fn enc_err(e: TiffError) -> Error {
    match e {
        TiffError::IoError(io) => Error::Io(io),
        other => Error::unsupported(format!("encoding this TIFF: {other}")),
    }
}

/// The chunk layout of a file about to be written.
struct Plan {
    cols: usize,
    rows: usize,
    nb: usize,
    sb: usize,
    planar: bool,
    px_bytes: usize,
    cw: usize,
    ch: usize,
    tiled: bool,
    across: usize,
    down: usize,
    planes: usize,
    big: bool,
}

impl Plan {
    fn new(
        bands: &[BandRef<'_>],
        cols: usize,
        rows: usize,
        options: &WriteOptions,
    ) -> Result<Plan> {
        // Sample bytes are produced little-endian; the tiff encoder writes the host's byte
        // order in the header, so the two agree only on little-endian hosts.
        if tiff::tags::ByteOrder::native() != tiff::tags::ByteOrder::LittleEndian {
            return Err(Error::unsupported("writing GeoTIFF on a big-endian host"));
        }
        let Some(first) = bands.first() else {
            return Err(Error::InvalidArgument(
                "a raster needs at least one band".into(),
            ));
        };
        if cols == 0 || rows == 0 || u32::try_from(cols).is_err() || u32::try_from(rows).is_err() {
            return Err(Error::InvalidArgument(format!(
                "cannot write a {cols}x{rows} raster"
            )));
        }
        let nb = bands.len();
        let sb = first.sample_bytes();
        let planar = options.interleave == Interleave::Band && nb > 1;
        let px_bytes = if planar { sb } else { sb * nb };
        let (cw, ch, tiled) = match options.layout {
            ChunkLayout::Strips { rows_per_strip } => {
                // About 64 KiB per strip: small enough to stream, large enough to compress.
                let auto = (65536 / (cols * px_bytes)).clamp(1, rows);
                let r = if rows_per_strip == 0 {
                    auto
                } else {
                    (rows_per_strip as usize).min(rows)
                };
                (cols, r, false)
            }
            ChunkLayout::Tiles { width, height } => {
                if width == 0 || height == 0 || width % 16 != 0 || height % 16 != 0 {
                    return Err(Error::InvalidArgument(format!(
                        "tile size {width}x{height}: both sides must be positive multiples of 16"
                    )));
                }
                (width as usize, height as usize, true)
            }
        };
        let across = cols.div_ceil(cw);
        let down = rows.div_ceil(ch);
        let planes = if planar { nb } else { 1 };
        // Uncompressed size of every chunk, padding included, plus the offset tables: if that
        // could pass 4 GiB, classic TIFF's 32-bit offsets may not reach the end of the file.
        let chunks = (across * down * planes) as u128;
        let padded = chunks * (cw * ch * px_bytes) as u128;
        let estimate = padded + chunks * 8 + (1 << 20);
        let big = match options.big_tiff {
            BigTiff::Always => true,
            BigTiff::Never => false,
            BigTiff::Auto => estimate > u128::from(u32::MAX),
        };
        Ok(Plan {
            cols,
            rows,
            nb,
            sb,
            planar,
            px_bytes,
            cw,
            ch,
            tiled,
            across,
            down,
            planes,
            big,
        })
    }
}

/// The georeferencing tags of a file about to be written.
struct GeoTags<'a> {
    nodata: Option<f64>,
    transform: &'a GeoTransform,
    crs: &'a Crs,
}

/// Chunks filled and compressed per round: 32 strips of about 64 KiB keep both threads busy
/// with 1 MiB each while the batch stays small.
const WRITE_BATCH: usize = 32;

/// Fills `raw` with chunk `(plane, cy, cx)` as little-endian samples.
fn fill_chunk(
    bands: &[BandRef<'_>],
    p: &Plan,
    plane: usize,
    cy: usize,
    cx: usize,
    raw: &mut Vec<u8>,
) {
    raw.clear();
    let y0 = cy * p.ch;
    let x0 = cx * p.cw;
    // Strips are cut short at the bottom; tiles are padded to full size with zeros.
    let y_end = if p.tiled {
        y0 + p.ch
    } else {
        (y0 + p.ch).min(p.rows)
    };
    for y in y0..y_end {
        if y >= p.rows {
            raw.resize(raw.len() + p.cw * p.px_bytes, 0);
            continue;
        }
        let valid = (x0 + p.cw).min(p.cols) - x0;
        let row0 = y * p.cols + x0;
        if p.planar {
            bands[plane].extend_le_bytes(row0, valid, raw);
        } else if p.nb == 1 {
            bands[0].extend_le_bytes(row0, valid, raw);
        } else {
            let at = raw.len();
            raw.resize(at + valid * p.px_bytes, 0);
            for (b, band) in bands.iter().enumerate() {
                band.put_le_strided(row0, &mut raw[at..], b * p.sb, p.px_bytes);
            }
        }
        raw.resize(raw.len() + (p.cw - valid) * p.px_bytes, 0);
    }
}

/// Compresses each of `raws` into the matching `packs` entry.
fn compress_all(c: &mut Compressor, raws: &[Vec<u8>], packs: &mut [Vec<u8>]) -> Result<()> {
    for (raw, pack) in raws.iter().zip(packs) {
        pack.clear();
        c.write_to(pack, raw)?;
    }
    Ok(())
}

fn write_image<W: Write + Seek, K: TiffKind>(
    mut enc: TiffEncoder<W, K>,
    bands: &[BandRef<'_>],
    p: &Plan,
    geo: &GeoTags<'_>,
    options: &WriteOptions,
) -> Result<()> {
    let mut dir = enc.image_directory().map_err(enc_err)?;
    let n_chunks = p.across * p.down * p.planes;
    let mut offsets: Vec<K::OffsetType> = Vec::with_capacity(n_chunks);
    let mut counts: Vec<K::OffsetType> = Vec::with_capacity(n_chunks);
    let too_big =
        |_| Error::unsupported("a classic TIFF over 4 GiB: write it with BigTiff::Always");
    let ids: Vec<(usize, usize, usize)> = (0..p.planes)
        .flat_map(|plane| {
            (0..p.down).flat_map(move |cy| (0..p.across).map(move |cx| (plane, cy, cx)))
        })
        .collect();
    let compress = options.compression != Compression::None;
    // Chunks are filled in batches; a compressed batch is split between two threads, each
    // with its own compressor, and written in order.
    let parallel = compress && ids.len() >= 4 && p.cols * p.rows * p.px_bytes >= 1 << 20;
    let mut raws: Vec<Vec<u8>> = vec![Vec::new(); WRITE_BATCH.min(ids.len())];
    let mut packs: Vec<Vec<u8>> = vec![Vec::new(); raws.len()];
    let mut compressors = [
        options.compression.compressor(),
        options.compression.compressor(),
    ];
    for batch in ids.chunks(WRITE_BATCH) {
        let n = batch.len();
        for (raw, &(plane, cy, cx)) in raws.iter_mut().zip(batch) {
            fill_chunk(bands, p, plane, cy, cx, raw);
        }
        let [first, second] = &mut compressors;
        if parallel && n > 1 {
            let half = n.div_ceil(2);
            let (ra, rb) = raws[..n].split_at(half);
            let (pa, pb) = packs[..n].split_at_mut(half);
            std::thread::scope(|s| -> Result<()> {
                let worker = s.spawn(|| compress_all(second, rb, pb));
                let a = compress_all(first, ra, pa);
                let b = worker
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                a.and(b)
            })?;
        } else if compress {
            compress_all(first, &raws[..n], &mut packs[..n])?;
        }
        // Uncompressed chunks go out as they are, without a copy through the compressor.
        let out = if compress { &packs[..n] } else { &raws[..n] };
        for data in out {
            let off = dir.write_data(&data[..]).map_err(enc_err)?;
            offsets.push(K::convert_offset(off).map_err(too_big)?);
            counts.push(K::convert_offset(data.len() as u64).map_err(too_big)?);
        }
    }
    let w = |r: std::result::Result<(), TiffError>| r.map_err(enc_err);
    w(dir.write_tag(Tag::ImageWidth, p.cols as u32))?;
    w(dir.write_tag(Tag::ImageLength, p.rows as u32))?;
    let bits = vec![(p.sb * 8) as u16; p.nb];
    w(dir.write_tag(Tag::BitsPerSample, &bits[..]))?;
    w(dir.write_tag(Tag::Compression, options.compression.code()))?;
    w(dir.write_tag(Tag::PhotometricInterpretation, 1u16))?;
    w(dir.write_tag(Tag::SamplesPerPixel, p.nb as u16))?;
    w(dir.write_tag(Tag::PlanarConfiguration, if p.planar { 2u16 } else { 1u16 }))?;
    if p.nb > 1 {
        // Bands beyond the first are "unspecified" extra samples, as GDAL writes them.
        let extra = vec![0u16; p.nb - 1];
        w(dir.write_tag(Tag::ExtraSamples, &extra[..]))?;
    }
    let formats = vec![bands[0].sample_format(); p.nb];
    w(dir.write_tag(Tag::SampleFormat, &formats[..]))?;
    let (offsets_tag, counts_tag) = if p.tiled {
        w(dir.write_tag(Tag::TileWidth, p.cw as u32))?;
        w(dir.write_tag(Tag::TileLength, p.ch as u32))?;
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        w(dir.write_tag(Tag::RowsPerStrip, p.ch as u32))?;
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    w(dir.write_tag(offsets_tag, K::convert_slice(&offsets)))?;
    w(dir.write_tag(counts_tag, K::convert_slice(&counts)))?;
    let t = geo.transform;
    if t.is_rotated() {
        let g = t.to_gdal();
        let m = [
            g[1], g[2], 0.0, g[0], g[4], g[5], 0.0, g[3], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ];
        w(dir.write_tag(Tag::ModelTransformationTag, &m[..]))?;
    } else {
        let scale = [t.pixel_width, -t.pixel_height, 0.0];
        let tie = [0.0, 0.0, 0.0, t.origin_x, t.origin_y, 0.0];
        w(dir.write_tag(Tag::ModelPixelScaleTag, &scale[..]))?;
        w(dir.write_tag(Tag::ModelTiepointTag, &tie[..]))?;
    }
    let (keys, doubles, ascii) = GeoKeys::from_crs(geo.crs)?.encode();
    w(dir.write_tag(Tag::GeoKeyDirectoryTag, &keys[..]))?;
    if !doubles.is_empty() {
        w(dir.write_tag(Tag::GeoDoubleParamsTag, &doubles[..]))?;
    }
    if !ascii.is_empty() {
        w(dir.write_tag(Tag::GeoAsciiParamsTag, ascii.as_str()))?;
    }
    if let Some(nd) = geo.nodata {
        // GDAL writes NaN as "nan"; every other value in Rust's shortest round-trip form.
        let text = if nd.is_nan() {
            "nan".to_owned()
        } else {
            format!("{nd}")
        };
        w(dir.write_tag(Tag::GdalNodata, text.as_str()))?;
    }
    w(dir.finish())?;
    Ok(())
}
