//! The tile codec: a versioned little-endian binary form of a [`MultibandTile`], with
//! optional compression chosen per layer.
//!
//! # Format (version 1)
//! Every integer is little-endian.
//!
//! ```text
//! offset size field
//!  0      4   magic "TSTL"
//!  4      2   version (u16) = 1
//!  6      1   base cell type: 0 bool, 1 int8, 2 uint8, 3 int16, 4 uint16, 5 int32, 6 float32, 7 float64
//!  7      1   NoData kind: 0 constant, 1 raw, 2 user-defined
//!  8      8   user-defined NoData: i64 for integer types, f64 bits for float types; else 0
//! 16      4   cols (u32)
//! 20      4   rows (u32)
//! 24      2   band count (u16, at least 1)
//! 26      1   compression: 0 none, 1 lz4 (lz4_flex block), 2 zstd (frame), 3 deflate (raw)
//! 27      1   reserved, 0
//! 28      8   payload length before compression (u64) = cols * rows * bands * bytes per cell
//! 36      8   stored payload length (u64)
//! 44      4   CRC-32 (crc32fast, IEEE) of bytes 0..44 followed by the stored payload
//! 48      ..  stored payload: the bands one after another, each row by row from the top-left,
//!             cells little-endian (bool: one byte, 0 or 1), compressed as field 26 says
//! ```
//!
//! # Choosing a compression
//! Measured by `benches/benches/codec.rs` on tiles cut from the sample rasters: four
//! 256×256 6-band `uint8` Landsat 7 tiles and a 111×111 `float32` DEM. Size is the
//! compression ratio (raw / stored); speeds are relative to zstd level 1 (lower is faster).
//!
//! ```text
//!              Landsat uint8 (1.57 MB)       DEM float32 (49 KB)
//!              ratio  encode  decode         ratio  encode  decode
//! none         1.00   0.06    0.09           1.00   0.04    0.05
//! lz4          1.01   0.33    0.14           1.75   1.05    0.89
//! zstd 1       1.28   1.00    1.00           4.31   1.00    1.00
//! zstd 3       1.30   3.8     0.95           4.43   1.6     0.98
//! deflate 1    1.29   4.7     4.3            3.87   1.8     2.2
//! deflate 6    1.33   21.6    4.7            4.53   30      1.6
//! ```
//!
//! lz4 barely compresses multispectral imagery, and deflate decodes 2–5× slower than zstd
//! for a few percent of size. zstd level 1 keeps 95–99 % of the best size reduction while
//! encoding as fast as lz4 on floats, so [`Compression::default`] is `Zstd(1)`. Choose
//! [`Compression::Lz4`] where decode speed matters more than size, `Zstd(3)` or higher
//! for archives written once.
//!
//! # Untrusted input
//! [`decode`] never panics. Before allocating it checks, with checked arithmetic, that the
//! header's size fits the [`Limits`], that the input holds the whole stored payload, that
//! the checksum over header and payload matches, and that the compressed payload could expand to the size the
//! header claims at the compression's maximum ratio. The allocation is therefore bounded by
//! the input's length, not by the header alone.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use byteorder::{ByteOrder, LittleEndian};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cell_type::{BaseType, CellType, NoData};
use crate::tile::CellBuffer;
use crate::{Error, MultibandTile, Tile};

/// The first four bytes of every encoded tile.
pub const MAGIC: [u8; 4] = *b"TSTL";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 48;

/// lz4 block format: each match can grow by 255 bytes per extra length byte, so output is
/// at most ~255 × input; a small constant covers the shortest sequences.
const LZ4_MAX_RATIO: u64 = 255;
/// zstd format: every block has a 3-byte header plus at least one content byte and
/// decodes to at most 128 KiB (Block_Maximum_Size), so output ≤ 32768 × input.
const ZSTD_MAX_RATIO: u64 = 32_768;
/// Deflate's maximum compression ratio is 1032:1 (zlib technical details).
const DEFLATE_MAX_RATIO: u64 = 1032;
/// Added to every ratio bound for headers and the shortest streams.
const RATIO_SLACK: u64 = 64;

/// Compression of the payload, chosen per layer.
///
/// Written and parsed as text (also in JSON): `none`, `lz4`, `zstd:<level>`,
/// `deflate:<level>`; a bare `zstd` means level 1 and a bare `deflate` level 6.
///
/// ```
/// use keyed_tile::codec::Compression;
/// assert_eq!("zstd:3".parse::<Compression>()?, Compression::Zstd(3));
/// assert_eq!(Compression::Deflate(6).to_string(), "deflate:6");
/// # Ok::<(), keyed_tile::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Stored as is.
    None,
    /// lz4_flex block format: the fastest, the largest.
    Lz4,
    /// zstd at a level (clamped to zstd's range when encoding).
    Zstd(i32),
    /// Raw deflate (flate2) at a level 0–9 (clamped when encoding).
    Deflate(u32),
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Lz4 => f.write_str("lz4"),
            Self::Zstd(level) => write!(f, "zstd:{level}"),
            Self::Deflate(level) => write!(f, "deflate:{level}"),
        }
    }
}

impl FromStr for Compression {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::CompressionParse {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (name, level) = match text.split_once(':') {
            Some((name, level)) => (name, Some(level)),
            None => (text, None),
        };
        match (name, level) {
            ("none", None) => Ok(Self::None),
            ("lz4", None) => Ok(Self::Lz4),
            ("zstd", None) => Ok(Self::Zstd(1)),
            ("deflate", None) => Ok(Self::Deflate(6)),
            ("zstd", Some(l)) => l
                .parse()
                .map(Self::Zstd)
                .map_err(|_| bad("the zstd level must be an integer")),
            ("deflate", Some(l)) => match l.parse() {
                Ok(level) if level <= 9 => Ok(Self::Deflate(level)),
                _ => Err(bad("the deflate level must be 0 to 9")),
            },
            ("none" | "lz4", Some(_)) => Err(bad("this compression takes no level")),
            _ => Err(bad("expected none, lz4, zstd[:level] or deflate[:level]")),
        }
    }
}

impl Serialize for Compression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Default for Compression {
    /// `Zstd(1)`: see the module docs for the measurements behind the choice.
    fn default() -> Self {
        Self::Zstd(1)
    }
}

impl Compression {
    fn tag(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Lz4 => 1,
            Self::Zstd(_) => 2,
            Self::Deflate(_) => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Lz4 => "lz4",
            Self::Zstd(_) => "zstd",
            Self::Deflate(_) => "deflate",
        }
    }
}

/// Caps on what [`decode_with_limits`] will allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest decoded payload (all bands) accepted, in bytes.
    pub max_decoded_bytes: u64,
}

impl Default for Limits {
    /// 1 GiB: a 4096×4096 tile of 8 float64 bands is 1 GiB; real tiles are far smaller.
    fn default() -> Self {
        Self {
            max_decoded_bytes: 1 << 30,
        }
    }
}

/// Encodes a tile. Compression never fails in practice; if a compressor reports an error
/// the payload is stored uncompressed instead, which any decoder reads.
pub fn encode(tile: &MultibandTile, compression: Compression) -> Vec<u8> {
    let raw = raw_payload(tile);
    let (compression, stored) = match compress(&raw, compression) {
        Some(stored) => (compression, stored),
        None => (Compression::None, raw.clone()),
    };
    let stored: &[u8] = if compression == Compression::None {
        &raw
    } else {
        &stored
    };

    let ct = tile.cell_type();
    let (kind, nodata) = nodata_fields(&ct);
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&MAGIC);
    LittleEndian::write_u16(&mut header[4..6], VERSION);
    header[6] = base_tag(ct.base());
    header[7] = kind;
    LittleEndian::write_u64(&mut header[8..16], nodata);
    LittleEndian::write_u32(&mut header[16..20], tile.cols());
    LittleEndian::write_u32(&mut header[20..24], tile.rows());
    // MultibandTile::new allows at most u16::MAX bands, so this never saturates.
    LittleEndian::write_u16(
        &mut header[24..26],
        u16::try_from(tile.band_count()).unwrap_or(u16::MAX),
    );
    header[26] = compression.tag();
    LittleEndian::write_u64(&mut header[28..36], raw.len() as u64);
    LittleEndian::write_u64(&mut header[36..44], stored.len() as u64);
    let crc = checksum(&header[..44], stored);
    LittleEndian::write_u32(&mut header[44..48], crc);

    let mut out = Vec::with_capacity(HEADER_LEN + stored.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(stored);
    out
}

/// Decodes a tile with the default [`Limits`].
pub fn decode(bytes: &[u8]) -> Result<MultibandTile, Error> {
    decode_with_limits(bytes, &Limits::default())
}

/// Decodes a tile, refusing headers that would need more than `limits` allow.
pub fn decode_with_limits(bytes: &[u8], limits: &Limits) -> Result<MultibandTile, Error> {
    if let Some(magic) = bytes.get(0..4)
        && magic != MAGIC
    {
        let mut got = [0u8; 4];
        got.copy_from_slice(magic);
        return Err(Error::BadMagic {
            expected: MAGIC,
            got,
        });
    }
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(Error::Truncated {
            offset: 0,
            needed: HEADER_LEN as u64,
            available: bytes.len(),
        });
    };
    let version = LittleEndian::read_u16(&header[4..6]);
    if version != VERSION {
        return Err(Error::UnsupportedVersion {
            expected: VERSION,
            got: version,
        });
    }
    let base = base_from_tag(header[6]).ok_or_else(|| Error::Corrupt {
        offset: 6,
        reason: format!("unknown cell type tag {}", header[6]),
    })?;
    let cell_type = cell_type_from_fields(base, header[7], LittleEndian::read_u64(&header[8..16]))?;
    let cols = LittleEndian::read_u32(&header[16..20]);
    let rows = LittleEndian::read_u32(&header[20..24]);
    let bands = LittleEndian::read_u16(&header[24..26]);
    if bands == 0 {
        return Err(Error::Corrupt {
            offset: 24,
            reason: "band count is 0".to_string(),
        });
    }
    let compression = match header[26] {
        0 => Compression::None,
        1 => Compression::Lz4,
        2 => Compression::Zstd(0),
        3 => Compression::Deflate(0),
        tag => {
            return Err(Error::Corrupt {
                offset: 26,
                reason: format!("unknown compression tag {tag}"),
            });
        }
    };
    if header[27] != 0 {
        return Err(Error::Corrupt {
            offset: 27,
            reason: format!("reserved byte is {}, expected 0", header[27]),
        });
    }
    let raw_len = LittleEndian::read_u64(&header[28..36]);
    let stored_len = LittleEndian::read_u64(&header[36..44]);
    let crc = LittleEndian::read_u32(&header[44..48]);

    // The size the header's shape implies, computed without overflow.
    let cells = u64::from(cols) * u64::from(rows);
    if cells > crate::MAX_CELLS {
        return Err(Error::LimitExceeded {
            what: "one band's cell count",
            requested: cells,
            limit: crate::MAX_CELLS,
        });
    }
    let expected_raw = cells
        .checked_mul(u64::from(bands))
        .and_then(|v| v.checked_mul(base.bytes_per_cell() as u64))
        .ok_or(Error::LimitExceeded {
            what: "the decoded payload",
            requested: u64::MAX,
            limit: limits.max_decoded_bytes,
        })?;
    if expected_raw != raw_len {
        return Err(Error::Corrupt {
            offset: 28,
            reason: format!(
                "payload length {raw_len} does not match {cols}x{rows} cells x {bands} bands of {base:?}, \
                 which is {expected_raw} bytes"
            ),
        });
    }
    if raw_len > limits.max_decoded_bytes {
        return Err(Error::LimitExceeded {
            what: "the decoded payload",
            requested: raw_len,
            limit: limits.max_decoded_bytes,
        });
    }
    let available = bytes.len() - HEADER_LEN;
    if stored_len > available as u64 {
        return Err(Error::Truncated {
            offset: HEADER_LEN,
            needed: stored_len,
            available,
        });
    }
    if stored_len < available as u64 {
        return Err(Error::Corrupt {
            offset: HEADER_LEN + stored_len as usize,
            reason: format!(
                "{} bytes after the end of the payload",
                available as u64 - stored_len
            ),
        });
    }
    let stored = &bytes[HEADER_LEN..];
    let actual_crc = checksum(&header[..44], stored);
    if actual_crc != crc {
        return Err(Error::Corrupt {
            offset: 44,
            reason: format!(
                "checksum of header and payload is {actual_crc:#010x}, header says {crc:#010x}"
            ),
        });
    }
    let max_ratio = match compression {
        Compression::None => 1,
        Compression::Lz4 => LZ4_MAX_RATIO,
        Compression::Zstd(_) => ZSTD_MAX_RATIO,
        Compression::Deflate(_) => DEFLATE_MAX_RATIO,
    };
    let most = if compression == Compression::None {
        stored_len
    } else {
        stored_len
            .saturating_mul(max_ratio)
            .saturating_add(RATIO_SLACK)
    };
    if raw_len > most || (compression == Compression::None && raw_len != stored_len) {
        return Err(Error::Corrupt {
            offset: 28,
            reason: format!(
                "header claims {raw_len} decoded bytes from {stored_len} stored bytes, \
                 which {} cannot produce",
                compression.name()
            ),
        });
    }
    // Both lengths are now at most the input length times a constant, so they fit usize.
    let raw_len = usize::try_from(raw_len).map_err(|_| Error::LimitExceeded {
        what: "the decoded payload",
        requested: raw_len,
        limit: usize::MAX as u64,
    })?;

    let decompressed;
    let raw: &[u8] = if compression == Compression::None {
        stored
    } else {
        decompressed = decompress(stored, compression, raw_len)?;
        &decompressed
    };
    build_tile(raw, cell_type, cols, rows, usize::from(bands))
}

/// The CRC-32 of the header's first 44 bytes followed by the stored payload: it covers
/// every header field, so a flipped bit anywhere is caught before the payload is used.
fn checksum(header: &[u8], stored: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(stored);
    hasher.finalize()
}

fn compress(raw: &[u8], compression: Compression) -> Option<Vec<u8>> {
    match compression {
        Compression::None => Some(Vec::new()),
        Compression::Lz4 => Some(lz4_flex::block::compress(raw)),
        Compression::Zstd(level) => {
            let range = zstd::compression_level_range();
            let level = level.clamp(*range.start(), *range.end());
            zstd::bulk::compress(raw, level).ok()
        }
        Compression::Deflate(level) => {
            let mut enc = flate2::write::DeflateEncoder::new(
                Vec::with_capacity(raw.len() / 2),
                flate2::Compression::new(level.min(9)),
            );
            enc.write_all(raw).ok()?;
            enc.finish().ok()
        }
    }
}

fn decompress(stored: &[u8], compression: Compression, raw_len: usize) -> Result<Vec<u8>, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        offset: HEADER_LEN,
        reason: format!("{} payload: {reason}", compression.name()),
    };
    if let Compression::Zstd(_) = compression {
        // Our encoder always records the frame's content size; checking it first turns a
        // garbage or mismatched frame into an error before the output buffer is allocated.
        match zstd::zstd_safe::get_frame_content_size(stored) {
            Ok(Some(n)) if n == raw_len as u64 => {}
            Ok(Some(n)) => {
                return Err(corrupt(format!(
                    "frame declares {n} bytes, the header says {raw_len}"
                )));
            }
            Ok(None) => return Err(corrupt("frame does not declare its size".to_string())),
            Err(_) => return Err(corrupt("not a zstd frame".to_string())),
        }
    }
    let mut out = vec![0u8; raw_len];
    let written = match compression {
        Compression::None => {
            return Err(corrupt("not compressed".to_string()));
        }
        Compression::Lz4 => lz4_flex::block::decompress_into(stored, &mut out)
            .map_err(|e| corrupt(e.to_string()))?,
        Compression::Zstd(_) => zstd::bulk::decompress_to_buffer(stored, &mut out[..])
            .map_err(|e| corrupt(e.to_string()))?,
        Compression::Deflate(_) => {
            let mut dec = flate2::read::DeflateDecoder::new(stored);
            dec.read_exact(&mut out)
                .map_err(|e| corrupt(e.to_string()))?;
            let mut extra = [0u8; 1];
            match dec.read(&mut extra) {
                Ok(0) => raw_len,
                Ok(_) => {
                    return Err(corrupt(
                        "decodes to more bytes than the header says".to_string(),
                    ));
                }
                Err(e) => return Err(corrupt(e.to_string())),
            }
        }
    };
    if written != raw_len {
        return Err(corrupt(format!(
            "decodes to {written} bytes, the header says {raw_len}"
        )));
    }
    Ok(out)
}

/// The uncompressed payload: bands one after another, cells little-endian.
fn raw_payload(tile: &MultibandTile) -> Vec<u8> {
    let bpc = tile.cell_type().bytes_per_cell();
    let total: usize = tile.bands().iter().map(|b| b.size() * bpc).sum();
    let mut out = vec![0u8; total];
    let mut at = 0;
    for band in tile.bands() {
        let n = band.size() * bpc;
        let Some(dst) = out.get_mut(at..at + n) else {
            break;
        };
        at += n;
        match band.buffer() {
            CellBuffer::Bool(v) => {
                for (d, s) in dst.iter_mut().zip(v) {
                    *d = u8::from(*s);
                }
            }
            CellBuffer::Int8(v) => {
                for (d, s) in dst.iter_mut().zip(v) {
                    *d = *s as u8;
                }
            }
            CellBuffer::UInt8(v) => dst.copy_from_slice(v),
            CellBuffer::Int16(v) => LittleEndian::write_i16_into(v, dst),
            CellBuffer::UInt16(v) => LittleEndian::write_u16_into(v, dst),
            CellBuffer::Int32(v) => LittleEndian::write_i32_into(v, dst),
            CellBuffer::Float32(v) => LittleEndian::write_f32_into(v, dst),
            CellBuffer::Float64(v) => LittleEndian::write_f64_into(v, dst),
        }
    }
    out
}

/// Splits a checked raw payload (exactly `cols * rows * bands * bytes per cell` long) into
/// bands.
fn build_tile(
    raw: &[u8],
    cell_type: CellType,
    cols: u32,
    rows: u32,
    bands: usize,
) -> Result<MultibandTile, Error> {
    let cells = cols as usize * rows as usize;
    let band_bytes = cells * cell_type.bytes_per_cell();
    let mut tiles = Vec::with_capacity(bands);
    for b in 0..bands {
        let start = b * band_bytes;
        let src = raw.get(start..start + band_bytes).ok_or(Error::Truncated {
            offset: HEADER_LEN + start,
            needed: band_bytes as u64,
            available: raw.len().saturating_sub(start),
        })?;
        let buffer = match cell_type.base() {
            BaseType::Bool => {
                if let Some(i) = src.iter().position(|v| *v > 1) {
                    return Err(Error::Corrupt {
                        offset: HEADER_LEN + start + i,
                        reason: format!("bool cell value {} (decoded payload offset)", src[i]),
                    });
                }
                CellBuffer::Bool(src.iter().map(|v| *v == 1).collect())
            }
            BaseType::Int8 => CellBuffer::Int8(src.iter().map(|v| *v as i8).collect()),
            BaseType::UInt8 => CellBuffer::UInt8(src.to_vec()),
            BaseType::Int16 => {
                CellBuffer::Int16(read_into(src, cells, LittleEndian::read_i16_into))
            }
            BaseType::UInt16 => {
                CellBuffer::UInt16(read_into(src, cells, LittleEndian::read_u16_into))
            }
            BaseType::Int32 => {
                CellBuffer::Int32(read_into(src, cells, LittleEndian::read_i32_into))
            }
            BaseType::Float32 => {
                CellBuffer::Float32(read_into(src, cells, LittleEndian::read_f32_into))
            }
            BaseType::Float64 => {
                CellBuffer::Float64(read_into(src, cells, LittleEndian::read_f64_into))
            }
        };
        tiles.push(Tile::from_buffer(cell_type, cols, rows, buffer)?);
    }
    MultibandTile::new(tiles)
}

/// Reads `cells` values from `src`, which is exactly `cells * size_of::<T>()` bytes long
/// (checked by the caller), so byteorder's length assertion cannot fire.
fn read_into<T: Default + Clone>(src: &[u8], cells: usize, read: fn(&[u8], &mut [T])) -> Vec<T> {
    let mut out = vec![T::default(); cells];
    if src.len() == cells * std::mem::size_of::<T>() {
        read(src, &mut out);
    }
    out
}

fn base_tag(base: BaseType) -> u8 {
    BaseType::ALL.iter().position(|b| *b == base).unwrap_or(0) as u8
}

fn base_from_tag(tag: u8) -> Option<BaseType> {
    BaseType::ALL.get(usize::from(tag)).copied()
}

fn nodata_fields(ct: &CellType) -> (u8, u64) {
    fn fields<T>(n: &NoData<T>, bits: impl Fn(&T) -> u64) -> (u8, u64) {
        match n {
            NoData::Constant => (0, 0),
            NoData::Raw => (1, 0),
            NoData::User(v) => (2, bits(v)),
        }
    }
    match ct {
        CellType::Bool => (1, 0),
        CellType::Int8(n) => fields(n, |v| i64::from(*v) as u64),
        CellType::UInt8(n) => fields(n, |v| u64::from(*v)),
        CellType::Int16(n) => fields(n, |v| i64::from(*v) as u64),
        CellType::UInt16(n) => fields(n, |v| u64::from(*v)),
        CellType::Int32(n) => fields(n, |v| i64::from(*v) as u64),
        // A NaN user-defined NoData means what constant NoData means (NaN cells are always
        // NoData), and is written as such, because the decoder refuses NaN user values.
        CellType::Float32(NoData::User(v)) if v.is_nan() => (0, 0),
        CellType::Float64(NoData::User(v)) if v.is_nan() => (0, 0),
        CellType::Float32(n) => fields(n, |v| f64::from(*v).to_bits()),
        CellType::Float64(n) => fields(n, |v| v.to_bits()),
    }
}

fn cell_type_from_fields(base: BaseType, kind: u8, value: u64) -> Result<CellType, Error> {
    let bad_value = || Error::Corrupt {
        offset: 8,
        reason: format!(
            "user-defined NoData {value:#x} is NaN or does not fit {}",
            base.name()
        ),
    };
    let int = |v: u64| v as i64;
    if kind > 2 {
        return Err(Error::Corrupt {
            offset: 7,
            reason: format!("unknown NoData kind {kind}"),
        });
    }
    if kind != 2 && value != 0 {
        return Err(Error::Corrupt {
            offset: 8,
            reason: format!("NoData value {value:#x} given for a type without user-defined NoData"),
        });
    }
    let ct = match base {
        BaseType::Bool => {
            if kind != 1 {
                return Err(Error::Corrupt {
                    offset: 7,
                    reason: format!("bool has no NoData, but NoData kind is {kind}"),
                });
            }
            Some(CellType::Bool)
        }
        BaseType::Int8 => pick(kind, || i8::try_from(int(value)).ok()).map(CellType::Int8),
        BaseType::UInt8 => pick(kind, || u8::try_from(value).ok()).map(CellType::UInt8),
        BaseType::Int16 => pick(kind, || i16::try_from(int(value)).ok()).map(CellType::Int16),
        BaseType::UInt16 => pick(kind, || u16::try_from(value).ok()).map(CellType::UInt16),
        BaseType::Int32 => pick(kind, || i32::try_from(int(value)).ok()).map(CellType::Int32),
        // A NaN user-defined NoData is refused, as the cell type parser refuses it: NaN is
        // the constant float NoData, and `float32udNaN` would not parse back.
        BaseType::Float32 => pick(kind, || {
            let v = f64::from_bits(value);
            let narrow = v as f32;
            (!v.is_nan() && f64::from(narrow).to_bits() == value).then_some(narrow)
        })
        .map(CellType::Float32),
        BaseType::Float64 => pick(kind, || {
            let v = f64::from_bits(value);
            (!v.is_nan()).then_some(v)
        })
        .map(CellType::Float64),
    };
    ct.ok_or_else(bad_value)
}

/// The NoData policy for a kind byte, with `user` giving the user-defined value.
fn pick<T>(kind: u8, user: impl FnOnce() -> Option<T>) -> Option<NoData<T>> {
    match kind {
        0 => Some(NoData::Constant),
        1 => Some(NoData::Raw),
        _ => user().map(NoData::User),
    }
}
