//! Tile-to-layout: cutting a raster into keyed tiles of a `LayoutDefinition`, warping and resampling as needed.
//!
//! Each layout tile is a small target grid; its cells are sampled from the source exactly as
//! [`warp`](crate::warp) samples a whole grid, so tiles join without seams. Tiles that no
//! source cell reaches are not emitted; cells without data are NoData (zero for cell types
//! without NoData, as gdalwarp fills them).

use std::sync::atomic::{AtomicUsize, Ordering};

use keyed_tile::{LayoutDefinition, MultibandTile, SpatialKey};

use crate::crs::{Crs, Transformer};
use crate::error::{Error, Result};
use crate::geo::Raster;
use crate::layout::tile_transform;
use crate::resample::{ResampleMethod, Sampler};
use crate::warp::{
    DEFAULT_ERROR_THRESHOLD, DEFAULT_THREADS, Grid, SourceMapper, Window, suggested_grid,
    thread_count, warp_tile_counted,
};

/// Options for [`tile_to_layout`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileOptions {
    /// How cells are resampled.
    pub method: ResampleMethod,
    /// Worker threads (tiles are shared among them); 0 chooses automatically.
    pub threads: usize,
    /// Maximum error of the row-wise approximation of the CRS transform, in source cells.
    pub error_threshold: f64,
}

impl Default for TileOptions {
    fn default() -> Self {
        Self {
            method: ResampleMethod::NearestNeighbor,
            threads: DEFAULT_THREADS,
            error_threshold: DEFAULT_ERROR_THRESHOLD,
        }
    }
}

/// A tile with its key, as stored in a layer.
pub type KeyedTile = (SpatialKey, MultibandTile);

/// Cuts `raster` into the tiles of `layout`, whose map coordinates are in `layout_crs`.
///
/// When the raster is in another CRS it is warped on the way. Tiles come out sorted by
/// row, then column.
///
/// ```
/// use keyed_tile::{CellType, MultibandTile, Tile};
/// use raster::{Crs, FloatingLayoutScheme, GeoTransform, Raster, TileOptions, tile_to_layout};
/// let tile = Tile::from_f64s("float32".parse()?, 5, 3, &[1.0; 15])?;
/// let raster = Raster {
///     tile: MultibandTile::from(tile),
///     transform: GeoTransform::north_up(0.0, 30.0, 10.0, 10.0),
///     crs: Crs::parse("EPSG:3857")?,
/// };
/// let layout = FloatingLayoutScheme::new(4, 4).layout_for(&raster.transform, 5, 3)?;
/// let tiles = tile_to_layout(&raster, &layout, &raster.crs, &TileOptions::default())?;
/// assert_eq!(tiles.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn tile_to_layout(
    raster: &Raster,
    layout: &LayoutDefinition,
    layout_crs: &Crs,
    options: &TileOptions,
) -> Result<Vec<KeyedTile>> {
    let (cols, rows) = (raster.cols(), raster.rows());
    let same_crs = raster.crs == *layout_crs;
    let to_dst = if same_crs {
        None
    } else {
        Some(Transformer::new(&raster.crs, layout_crs)?)
    };
    let to_src = if same_crs {
        None
    } else {
        Some(Transformer::new(layout_crs, &raster.crs)?)
    };
    // The raster's footprint in the layout's CRS, and the keys it touches.
    let footprint = suggested_grid(&raster.transform, cols, rows, to_dst.as_ref())?.extent();
    let Some(area) = footprint.intersection(&layout.extent) else {
        return Ok(Vec::new());
    };
    let kb = layout.extent_to_bounds(&area);
    let lb = layout.bounds();
    let (c0, c1) = (kb.min.col.max(lb.min.col), kb.max.col.min(lb.max.col));
    let (r0, r1) = (kb.min.row.max(lb.min.row), kb.max.row.min(lb.max.row));
    let mut keys = Vec::new();
    for row in r0..=r1 {
        for col in c0..=c1 {
            keys.push(SpatialKey::new(col, row));
        }
    }
    // One kernel scale for the whole layer, so neighbouring tiles sample alike.
    let (cw, ch) = layout.cell_size();
    let span_cols = (area.width() / cw).ceil().max(1.0) as usize;
    let span_rows = (area.height() / ch).ceil().max(1.0) as usize;
    let overall = Grid::from_extent(&area, span_cols, span_rows)?;
    let mapper = SourceMapper::new(overall.transform, &raster.transform, to_src.as_ref(), 0.0)?;
    let (xs, ys) = mapper.scale(span_cols, span_rows, options.method.radius());
    let sampler = Sampler::with_scale(options.method, xs, ys);

    let tl = layout.tile_layout;
    let window = Window {
        col0: 0,
        row0: 0,
        own: [
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY,
        ],
    };
    let make = |key: SpatialKey| -> Result<Option<KeyedTile>> {
        let grid = Grid {
            transform: tile_transform(layout, key),
            cols: tl.tile_cols as usize,
            rows: tl.tile_rows as usize,
        };
        let mapper = SourceMapper::new(
            grid.transform,
            &raster.transform,
            to_src.as_ref(),
            options.error_threshold,
        )?;
        let (tile, filled) = warp_tile_counted(&raster.tile, window, &mapper, &sampler, &grid, 1)?;
        Ok((filled > 0).then_some((key, tile)))
    };
    let threads = thread_count(options.threads).min(keys.len()).max(1);
    let next = AtomicUsize::new(0);
    let worker = || -> Result<Vec<(usize, KeyedTile)>> {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&key) = keys.get(i) else {
                return Ok(out);
            };
            if let Some(t) = make(key)? {
                out.push((i, t));
            }
        }
    };
    let mut found: Vec<(usize, KeyedTile)> = if threads == 1 {
        worker()?
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
            let mut all = Vec::new();
            for h in handles {
                let part = h
                    .join()
                    .map_err(|_| Error::InvalidArgument("a tiling worker panicked".into()))??;
                all.extend(part);
            }
            Ok::<_, Error>(all)
        })?
    };
    found.sort_by_key(|(i, _)| *i);
    Ok(found.into_iter().map(|(_, t)| t).collect())
}
