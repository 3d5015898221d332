//! Pyramids: zoom level z becomes z − 1 by 2 × 2 resampling of tiles (average or nearest), down to a given zoom.
//!
//! Zoom level `z − 1` of a [`ZoomedLayoutScheme`] has half as many tiles per axis as `z`, each
//! covering four tiles of `z`: parent `(col, row)` is made of children `(2col + i, 2row + j)`,
//! each child shrunk to one quadrant. Missing children leave NoData.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use keyed_tile::{CellBuffer, CellType, LayoutDefinition, MultibandTile, SpatialKey};

use crate::error::{Error, Result};
use crate::layout::ZoomedLayoutScheme;
use crate::resample::Pixel;
use crate::tiling::KeyedTile;
use crate::warp::{CellSlice, fill_value, nodata_buffer, thread_count, tile_from_buffers};

/// How four cells become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PyramidMethod {
    /// The mean of the valid cells (for continuous data), rounded for integer cells.
    #[default]
    Average,
    /// The lower-right cell of each 2 × 2 block: the one GDAL's nearest overview picks, for
    /// categorical data.
    Nearest,
}

impl std::str::FromStr for PyramidMethod {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "average" | "mean" => Ok(Self::Average),
            "nearest" | "near" | "nearest-neighbor" => Ok(Self::Nearest),
            _ => Err(Error::InvalidArgument(format!(
                "unknown pyramid method `{s}`: expected average or nearest"
            ))),
        }
    }
}

/// One level of a pyramid.
#[derive(Debug, Clone, PartialEq)]
pub struct PyramidLevel {
    /// The zoom level.
    pub zoom: u32,
    /// Its layout.
    pub layout: LayoutDefinition,
    /// Its tiles, sorted by row, then column.
    pub tiles: Vec<KeyedTile>,
}

/// Builds level `zoom − 1` from the tiles of level `zoom`.
pub fn downsample_level(
    scheme: &ZoomedLayoutScheme,
    zoom: u32,
    tiles: &[KeyedTile],
    method: PyramidMethod,
    threads: usize,
) -> Result<PyramidLevel> {
    if zoom == 0 {
        return Err(Error::InvalidArgument("zoom 0 has no coarser level".into()));
    }
    let size = scheme.tile_size() as usize;
    if !size.is_multiple_of(2) {
        return Err(Error::InvalidArgument(format!(
            "a pyramid needs an even tile size, not {size}"
        )));
    }
    let layout = scheme.layout_for_zoom(zoom - 1)?;
    let mut parents: BTreeSet<(i32, i32)> = BTreeSet::new();
    let mut by_key: HashMap<SpatialKey, &MultibandTile> = HashMap::new();
    let mut template: Option<(CellType, usize)> = None;
    for (key, tile) in tiles {
        if tile.cols() as usize != size || tile.rows() as usize != size {
            return Err(Error::InvalidArgument(format!(
                "tile {key:?} is {}x{}, the scheme's tiles are {size}x{size}",
                tile.cols(),
                tile.rows()
            )));
        }
        match template {
            None => template = Some((tile.cell_type(), tile.band_count())),
            Some(t) if t != (tile.cell_type(), tile.band_count()) => {
                return Err(Error::InvalidArgument(format!(
                    "tile {key:?} differs in cell type or band count from the others"
                )));
            }
            Some(_) => {}
        }
        by_key.insert(*key, tile);
        parents.insert((key.row.div_euclid(2), key.col.div_euclid(2)));
    }
    let Some((cell_type, bands)) = template else {
        return Ok(PyramidLevel {
            zoom: zoom - 1,
            layout,
            tiles: Vec::new(),
        });
    };
    let keys: Vec<SpatialKey> = parents
        .iter()
        .map(|&(r, c)| SpatialKey::new(c, r))
        .collect();
    let make = |parent: SpatialKey| -> Result<KeyedTile> {
        let mut out: Vec<CellBuffer> = (0..bands)
            .map(|_| nodata_buffer(cell_type, size * size))
            .collect::<Result<_>>()?;
        for (qy, qx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let child = SpatialKey::new(parent.col * 2 + qx, parent.row * 2 + qy);
            let Some(tile) = by_key.get(&child) else {
                continue;
            };
            for (dst, band) in out.iter_mut().zip(tile.bands()) {
                shrink_into(
                    dst,
                    band.buffer(),
                    cell_type,
                    size,
                    (qx as usize, qy as usize),
                    method,
                )?;
            }
        }
        Ok((parent, tile_from_buffers(cell_type, size, size, out)?))
    };
    let threads = thread_count(threads).min(keys.len()).max(1);
    let next = AtomicUsize::new(0);
    let worker = || -> Result<Vec<(usize, KeyedTile)>> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&key) = keys.get(i) else {
                return Ok(done);
            };
            done.push((i, make(key)?));
        }
    };
    let mut all =
        if threads == 1 {
            worker()?
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
                let mut all = Vec::new();
                for h in handles {
                    all.extend(h.join().map_err(|_| {
                        Error::InvalidArgument("a pyramid worker panicked".into())
                    })??);
                }
                Ok::<_, Error>(all)
            })?
        };
    all.sort_by_key(|(i, _)| *i);
    Ok(PyramidLevel {
        zoom: zoom - 1,
        layout,
        tiles: all.into_iter().map(|(_, t)| t).collect(),
    })
}

/// Builds the pyramid from `base` (the tiles of `zoom`) down to `min_zoom`: the result holds
/// `zoom` first, then each coarser level.
pub fn build_pyramid(
    scheme: &ZoomedLayoutScheme,
    zoom: u32,
    base: Vec<KeyedTile>,
    min_zoom: u32,
    method: PyramidMethod,
    threads: usize,
) -> Result<Vec<PyramidLevel>> {
    if min_zoom > zoom {
        return Err(Error::InvalidArgument(format!(
            "the pyramid's lowest zoom {min_zoom} is above its base zoom {zoom}"
        )));
    }
    let mut levels = vec![PyramidLevel {
        zoom,
        layout: scheme.layout_for_zoom(zoom)?,
        tiles: base,
    }];
    for z in (min_zoom + 1..=zoom).rev() {
        let next = match levels.last() {
            Some(level) => downsample_level(scheme, z, &level.tiles, method, threads)?,
            None => break,
        };
        levels.push(next);
    }
    Ok(levels)
}

/// Shrinks one child band 2 × 2 into quadrant `quad` of a parent band.
fn shrink_into(
    dst: &mut CellBuffer,
    src: &CellBuffer,
    cell_type: CellType,
    size: usize,
    quad: (usize, usize),
    method: PyramidMethod,
) -> Result<()> {
    macro_rules! typed {
        ($($variant:ident => $t:ty),*) => {
            match (dst, src) {
                $((CellBuffer::$variant(d), CellBuffer::$variant(s)) => {
                    shrink_typed::<$t>(d, s, cell_type, size, quad, method);
                    Ok(())
                })*
                _ => Err(Error::InvalidArgument("pyramid tiles of mixed cell types".into())),
            }
        };
    }
    typed!(Bool => bool, Int8 => i8, UInt8 => u8, Int16 => i16, UInt16 => u16, Int32 => i32, Float32 => f32, Float64 => f64)
}

fn shrink_typed<T: Pixel + CellSlice>(
    dst: &mut [T],
    src: &[T],
    cell_type: CellType,
    size: usize,
    quad: (usize, usize),
    method: PyramidMethod,
) {
    let half = size / 2;
    let nodata = cell_type.no_data_f64();
    let fill: T = fill_value(cell_type);
    let valid = |v: T| {
        let f = v.to_f64();
        !f.is_nan() && Some(f) != nodata
    };
    for j in 0..half {
        let src_rows = (2 * j * size, (2 * j + 1) * size);
        let drow = (quad.1 * half + j) * size + quad.0 * half;
        let (Some(row0), Some(row1), Some(out)) = (
            src.get(src_rows.0..src_rows.0 + size),
            src.get(src_rows.1..src_rows.1 + size),
            dst.get_mut(drow..drow + half),
        ) else {
            return;
        };
        for (i, d) in out.iter_mut().enumerate() {
            let quad_cells = [row0[2 * i], row0[2 * i + 1], row1[2 * i], row1[2 * i + 1]];
            *d = match method {
                PyramidMethod::Nearest => {
                    let v = quad_cells[3];
                    if valid(v) { v } else { fill }
                }
                PyramidMethod::Average => {
                    let mut sum = 0.0;
                    let mut n = 0u32;
                    for v in quad_cells {
                        if valid(v) {
                            sum += v.to_f64();
                            n += 1;
                        }
                    }
                    if n == 0 {
                        fill
                    } else {
                        T::from_f64(sum / f64::from(n))
                    }
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use keyed_tile::{MultibandTile, Tile};

    use super::*;

    fn tile(values: &[f64], ct: &str) -> MultibandTile {
        MultibandTile::from(Tile::from_f64s(ct.parse().unwrap(), 4, 4, values).unwrap())
    }

    #[test]
    fn four_children_make_one_parent() {
        let scheme = ZoomedLayoutScheme::web_mercator(4);
        let ramp: Vec<f64> = (0..16).map(f64::from).collect();
        let tiles = vec![
            (SpatialKey::new(2, 2), tile(&ramp, "float64")),
            (SpatialKey::new(3, 3), tile(&[7.0; 16], "float64")),
        ];
        let level = downsample_level(&scheme, 3, &tiles, PyramidMethod::Average, 1).unwrap();
        assert_eq!(level.zoom, 2);
        assert_eq!(level.tiles.len(), 1);
        let (key, parent) = &level.tiles[0];
        assert_eq!(*key, SpatialKey::new(1, 1));
        let b = parent.band(0).unwrap();
        // Upper-left quadrant: means of the 2x2 blocks of the ramp.
        assert_eq!(b.get_double(0, 0), (0.0 + 1.0 + 4.0 + 5.0) / 4.0);
        assert_eq!(b.get_double(1, 1), (10.0 + 11.0 + 14.0 + 15.0) / 4.0);
        // Lower-right quadrant from the constant child; the others are NoData.
        assert_eq!(b.get_double(3, 3), 7.0);
        assert!(b.get_double(3, 0).is_nan());
        let near = downsample_level(&scheme, 3, &tiles, PyramidMethod::Nearest, 2).unwrap();
        assert_eq!(near.tiles[0].1.band(0).unwrap().get_double(0, 0), 5.0);
    }

    #[test]
    fn average_skips_nodata_and_rounds_integers() {
        let scheme = ZoomedLayoutScheme::geographic(4);
        let mut v = vec![1.0; 16];
        v[0] = f64::NAN;
        v[1] = 2.0;
        let tiles = vec![(SpatialKey::new(0, 0), tile(&v, "uint8"))];
        let pyramid = build_pyramid(&scheme, 2, tiles, 0, PyramidMethod::Average, 0).unwrap();
        assert_eq!(pyramid.len(), 3);
        let z1 = &pyramid[1].tiles[0].1;
        // (2 + 1 + 1) / 3 = 1.33 rounds to 1.
        assert_eq!(z1.band(0).unwrap().get(0, 0), 1);
        assert_eq!(pyramid[2].tiles.len(), 1);
        assert!(build_pyramid(&scheme, 1, Vec::new(), 2, PyramidMethod::Average, 1).is_err());
    }
}
