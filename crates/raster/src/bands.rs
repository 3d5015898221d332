//! Typed sample buffers: the bridge between TIFF sample layouts and keyed-tile's cell types.

/// One band's samples, row-major, in the TIFF's sample type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Samples {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// One band's cells borrowed from a tile, for writing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BandRef<'a> {
    /// Written as bytes 0 and 1.
    Bool(&'a [bool]),
    U8(&'a [u8]),
    I8(&'a [i8]),
    U16(&'a [u16]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl BandRef<'_> {
    /// Bytes per sample.
    pub(crate) fn sample_bytes(&self) -> usize {
        match self {
            BandRef::Bool(_) | BandRef::U8(_) | BandRef::I8(_) => 1,
            BandRef::U16(_) | BandRef::I16(_) => 2,
            BandRef::I32(_) | BandRef::F32(_) => 4,
            BandRef::F64(_) => 8,
        }
    }

    /// TIFF SampleFormat: 1 unsigned, 2 signed, 3 IEEE float.
    pub(crate) fn sample_format(&self) -> u16 {
        match self {
            BandRef::Bool(_) | BandRef::U8(_) | BandRef::U16(_) => 1,
            BandRef::I8(_) | BandRef::I16(_) | BandRef::I32(_) => 2,
            BandRef::F32(_) | BandRef::F64(_) => 3,
        }
    }

    /// Appends samples `start..start + n` as little-endian bytes.
    pub(crate) fn extend_le_bytes(&self, start: usize, n: usize, out: &mut Vec<u8>) {
        macro_rules! put {
            ($v:expr) => {{
                let src = &$v[start..start + n];
                let width = src.first().map_or(1, |s| s.to_le_bytes().len());
                let at = out.len();
                out.resize(at + n * width, 0);
                for (d, s) in out[at..].chunks_exact_mut(width).zip(src) {
                    d.copy_from_slice(&s.to_le_bytes());
                }
            }};
        }
        match self {
            BandRef::Bool(v) => out.extend(v[start..start + n].iter().map(|&b| u8::from(b))),
            BandRef::U8(v) => out.extend_from_slice(&v[start..start + n]),
            BandRef::I8(v) => put!(v),
            BandRef::U16(v) => put!(v),
            BandRef::I16(v) => put!(v),
            BandRef::I32(v) => put!(v),
            BandRef::F32(v) => put!(v),
            BandRef::F64(v) => put!(v),
        }
    }

    /// Writes samples `start..start + out.len() / stride` as little-endian bytes at byte `at`
    /// of every `stride`-byte pixel of `out`: one band's share of pixel-interleaved rows.
    pub(crate) fn put_le_strided(&self, start: usize, out: &mut [u8], at: usize, stride: usize) {
        let n = out.len() / stride;
        macro_rules! put {
            ($v:expr, $t:ty) => {{
                const N: usize = size_of::<$t>();
                for (px, s) in out.chunks_exact_mut(stride).zip(&$v[start..start + n]) {
                    px[at..at + N].copy_from_slice(&s.to_le_bytes());
                }
            }};
        }
        match self {
            BandRef::Bool(v) => {
                for (px, &s) in out.chunks_exact_mut(stride).zip(&v[start..start + n]) {
                    px[at] = u8::from(s);
                }
            }
            BandRef::U8(v) => {
                for (px, &s) in out.chunks_exact_mut(stride).zip(&v[start..start + n]) {
                    px[at] = s;
                }
            }
            BandRef::I8(v) => put!(v, i8),
            BandRef::U16(v) => put!(v, u16),
            BandRef::I16(v) => put!(v, i16),
            BandRef::I32(v) => put!(v, i32),
            BandRef::F32(v) => put!(v, f32),
            BandRef::F64(v) => put!(v, f64),
        }
    }
}

use keyed_tile::{CellBuffer, CellType, MultibandTile, NoData, Tile};

use crate::error::{Error, Result};

/// An integer NoData value that the type can hold, else `None` (such a value never matches a
/// cell, so the band is `raw`).
fn int_nodata<T: TryFrom<i64>>(nodata: Option<f64>) -> Option<T> {
    let v = nodata?;
    if v.fract() != 0.0 || !v.is_finite() {
        return None;
    }
    T::try_from(v as i64).ok()
}

/// The NoData policy for an integer type whose constant NoData is `constant`: a GDAL_NODATA
/// equal to the constant gives the plain type (`uint8`, not `uint8ud0`), as GeoTrellis names it.
fn int_policy<T: TryFrom<i64> + PartialEq>(nodata: Option<f64>, constant: T) -> NoData<T> {
    match int_nodata(nodata) {
        None => NoData::Raw,
        Some(v) if v == constant => NoData::Constant,
        Some(v) => NoData::User(v),
    }
}

fn float_policy<T>(nodata: Option<f64>, narrow: impl Fn(f64) -> T) -> NoData<T> {
    match nodata {
        None => NoData::Raw,
        Some(v) if v.is_nan() => NoData::Constant,
        Some(v) => NoData::User(narrow(v)),
    }
}

/// Builds keyed-tile bands from decoded samples (see [`crate::read_geotiff`] for the mapping).
pub(crate) fn to_tile(
    bands: Vec<Samples>,
    cols: usize,
    rows: usize,
    nodata: Option<f64>,
) -> Result<MultibandTile> {
    let (c, r) = (cols as u32, rows as u32);
    let tiles = bands
        .into_iter()
        .map(|s| {
            let (ct, buf) = match s {
                Samples::U8(v) => (
                    CellType::UInt8(int_policy(nodata, 0u8)),
                    CellBuffer::UInt8(v),
                ),
                Samples::I8(v) => (
                    CellType::Int8(int_policy(nodata, i8::MIN)),
                    CellBuffer::Int8(v),
                ),
                Samples::U16(v) => (
                    CellType::UInt16(int_policy(nodata, 0u16)),
                    CellBuffer::UInt16(v),
                ),
                Samples::I16(v) => (
                    CellType::Int16(int_policy(nodata, i16::MIN)),
                    CellBuffer::Int16(v),
                ),
                Samples::I32(v) => (
                    CellType::Int32(int_policy(nodata, i32::MIN)),
                    CellBuffer::Int32(v),
                ),
                // keyed-tile has no uint32: float64 holds every u32 exactly.
                Samples::U32(v) => (
                    CellType::Float64(float_policy(nodata, |x| x)),
                    CellBuffer::Float64(v.into_iter().map(f64::from).collect()),
                ),
                Samples::F32(v) => (
                    CellType::Float32(float_policy(nodata, |x| x as f32)),
                    CellBuffer::Float32(v),
                ),
                Samples::F64(v) => (
                    CellType::Float64(float_policy(nodata, |x| x)),
                    CellBuffer::Float64(v),
                ),
            };
            Tile::from_buffer(ct, c, r, buf).map_err(Error::from)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MultibandTile::new(tiles)?)
}

/// The cells of every band, borrowed, and the NoData value to write as GDAL_NODATA.
/// `bool` bands are written as bytes (0 or 1).
pub(crate) fn from_tile(tile: &MultibandTile) -> Result<(Vec<BandRef<'_>>, Option<f64>)> {
    let bands = tile
        .bands()
        .iter()
        .map(|t| match t.buffer() {
            CellBuffer::Bool(v) => Ok(BandRef::Bool(v)),
            CellBuffer::Int8(v) => Ok(BandRef::I8(v)),
            CellBuffer::UInt8(v) => Ok(BandRef::U8(v)),
            CellBuffer::Int16(v) => Ok(BandRef::I16(v)),
            CellBuffer::UInt16(v) => Ok(BandRef::U16(v)),
            CellBuffer::Int32(v) => Ok(BandRef::I32(v)),
            CellBuffer::Float32(v) => Ok(BandRef::F32(v)),
            CellBuffer::Float64(v) => Ok(BandRef::F64(v)),
            other => Err(Error::unsupported(format!(
                "writing {} cells to GeoTIFF",
                other.base_type().name()
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((bands, tile.cell_type().no_data_f64()))
}
