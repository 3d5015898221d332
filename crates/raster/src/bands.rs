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

impl Samples {
    /// Bytes per sample.
    pub(crate) fn sample_bytes(&self) -> usize {
        match self {
            Samples::U8(_) | Samples::I8(_) => 1,
            Samples::U16(_) | Samples::I16(_) => 2,
            Samples::U32(_) | Samples::I32(_) | Samples::F32(_) => 4,
            Samples::F64(_) => 8,
        }
    }

    /// TIFF SampleFormat: 1 unsigned, 2 signed, 3 IEEE float.
    pub(crate) fn sample_format(&self) -> u16 {
        match self {
            Samples::U8(_) | Samples::U16(_) | Samples::U32(_) => 1,
            Samples::I8(_) | Samples::I16(_) | Samples::I32(_) => 2,
            Samples::F32(_) | Samples::F64(_) => 3,
        }
    }

    /// Appends samples `start..start + n` as little-endian bytes.
    pub(crate) fn extend_le_bytes(&self, start: usize, n: usize, out: &mut Vec<u8>) {
        macro_rules! put {
            ($v:expr) => {
                for s in &$v[start..start + n] {
                    out.extend_from_slice(&s.to_le_bytes());
                }
            };
        }
        match self {
            Samples::U8(v) => out.extend_from_slice(&v[start..start + n]),
            Samples::I8(v) => put!(v),
            Samples::U16(v) => put!(v),
            Samples::I16(v) => put!(v),
            Samples::U32(v) => put!(v),
            Samples::I32(v) => put!(v),
            Samples::F32(v) => put!(v),
            Samples::F64(v) => put!(v),
        }
    }

    /// Appends sample `i` as little-endian bytes.
    pub(crate) fn push_le_sample(&self, i: usize, out: &mut Vec<u8>) {
        match self {
            Samples::U8(v) => out.push(v[i]),
            Samples::I8(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Samples::U16(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Samples::I16(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Samples::U32(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Samples::I32(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Samples::F32(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Samples::F64(v) => out.extend_from_slice(&v[i].to_le_bytes()),
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

/// The samples of every band and the NoData value to write as GDAL_NODATA.
/// `bool` bands are written as bytes (0 or 1).
pub(crate) fn from_tile(tile: &MultibandTile) -> Result<(Vec<Samples>, Option<f64>)> {
    let bands = tile
        .bands()
        .iter()
        .map(|t| match t.buffer() {
            CellBuffer::Bool(v) => Ok(Samples::U8(v.iter().map(|&b| u8::from(b)).collect())),
            CellBuffer::Int8(v) => Ok(Samples::I8(v.clone())),
            CellBuffer::UInt8(v) => Ok(Samples::U8(v.clone())),
            CellBuffer::Int16(v) => Ok(Samples::I16(v.clone())),
            CellBuffer::UInt16(v) => Ok(Samples::U16(v.clone())),
            CellBuffer::Int32(v) => Ok(Samples::I32(v.clone())),
            CellBuffer::Float32(v) => Ok(Samples::F32(v.clone())),
            CellBuffer::Float64(v) => Ok(Samples::F64(v.clone())),
            other => Err(Error::unsupported(format!(
                "writing {} cells to GeoTIFF",
                other.base_type().name()
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((bands, tile.cell_type().no_data_f64()))
}
