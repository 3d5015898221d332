//! Reprojection (warping) of rasters between CRSs, choosing the target grid the way gdalwarp does.
//!
//! The target grid is either given, or suggested like GDAL's `GDALSuggestedWarpOutput2`:
//! points along the source's edges are transformed to the target CRS, their bounding box is
//! the target extent, and the cell size is chosen so that the target has about as many cells
//! along its diagonal as the source. With a cell size (`--tr`), that extent is kept and the
//! size is rounded, as gdalwarp does without `-tap`.
//!
//! Each target cell centre is mapped back to the source (inverse mapping) and sampled with a
//! [`ResampleMethod`]. The mapping is exact at the ends and middle of each row and linear in
//! between while the error stays under 0.125 source cells (gdalwarp's default
//! approximation). Rows are shared among threads with `std::thread::scope`.

use std::collections::HashMap;

use keyed_tile::{
    BaseType, CellBuffer, CellType, Extent, LayoutDefinition, MultibandTile, SpatialKey, Tile,
};

use crate::Raster;
use crate::crs::{Crs, Transformer};
use crate::error::{Error, Result};
use crate::geo::GeoTransform;
use crate::resample::{BandView, Pixel, ResampleMethod, Sampler, ffloor};

/// gdalwarp's default maximum error of its approximate transformer, in source cells.
pub const DEFAULT_ERROR_THRESHOLD: f64 = 0.125;

/// The default number of warp threads (DESIGN.md: 0 means "choose automatically").
pub const DEFAULT_THREADS: usize = 2;

/// A target grid: a geotransform and a size in cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Maps target cells to target map coordinates.
    pub transform: GeoTransform,
    /// Width in cells.
    pub cols: usize,
    /// Height in cells.
    pub rows: usize,
}

impl Grid {
    /// A north-up grid covering `extent` with `cols` × `rows` cells (like gdalwarp `-te -ts`).
    pub fn from_extent(extent: &Extent, cols: usize, rows: usize) -> Result<Self> {
        if cols == 0 || rows == 0 || !(extent.width() > 0.0 && extent.height() > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "grid of {cols}x{rows} cells over {extent:?}"
            )));
        }
        Ok(Self {
            transform: GeoTransform::north_up(
                extent.xmin,
                extent.ymax,
                extent.width() / cols as f64,
                extent.height() / rows as f64,
            ),
            cols,
            rows,
        })
    }

    /// A north-up grid over `extent` with cells of `xres` × `yres`, the size rounded to whole
    /// cells and the upper-left corner kept (gdalwarp `-te -tr`).
    pub fn from_extent_and_resolution(extent: &Extent, xres: f64, yres: f64) -> Result<Self> {
        if !(xres > 0.0 && yres > 0.0 && xres.is_finite() && yres.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "target resolution {xres} x {yres} must be positive"
            )));
        }
        // gdalwarp: nPixels = (int)((maxx - minx + xres / 2) / xres).
        let cols = ((extent.width() + xres / 2.0) / xres).floor();
        let rows = ((extent.height() + yres / 2.0) / yres).floor();
        if !(cols >= 1.0 && rows >= 1.0 && cols < 1e9 && rows < 1e9) {
            return Err(Error::InvalidArgument(format!(
                "target resolution {xres} x {yres} over {extent:?} gives {cols} x {rows} cells"
            )));
        }
        Ok(Self {
            transform: GeoTransform::north_up(extent.xmin, extent.ymax, xres, yres),
            cols: cols as usize,
            rows: rows as usize,
        })
    }

    /// The bounding box of the grid.
    pub fn extent(&self) -> Extent {
        let [xmin, ymin, xmax, ymax] = self.transform.bounds(self.cols, self.rows);
        Extent {
            xmin,
            ymin,
            xmax,
            ymax,
        }
    }
}

/// How a layer of source tiles is warped (ADR 0004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum WarpMode {
    /// Each source tile is warped alone: kernels near a tile's edge only see that tile, so
    /// cubic and lanczos can leave seams.
    PerTile,
    /// Each source tile borrows its neighbours' edge cells first, so the result equals
    /// warping the whole raster at once.
    #[default]
    Buffered,
}

/// Options for [`warp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarpOptions {
    /// The resampling method (gdalwarp's default is nearest neighbour).
    pub method: ResampleMethod,
    /// Target cell size `(x, y)` in target units (gdalwarp `-tr`); `None` suggests one.
    pub resolution: Option<(f64, f64)>,
    /// An explicit target grid; overrides `resolution`.
    pub grid: Option<Grid>,
    /// Worker threads; 0 chooses automatically.
    pub threads: usize,
    /// Maximum error of the row-wise linear approximation, in source cells; 0 maps every
    /// cell exactly.
    pub error_threshold: f64,
}

impl Default for WarpOptions {
    fn default() -> Self {
        Self {
            method: ResampleMethod::NearestNeighbor,
            resolution: None,
            grid: None,
            threads: DEFAULT_THREADS,
            error_threshold: DEFAULT_ERROR_THRESHOLD,
        }
    }
}

/// Resolves a thread count, 0 meaning the machine's parallelism.
pub(crate) fn thread_count(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
    } else {
        threads
    }
}

/// Transforms the source pixel position `(col, row)` to target map coordinates, or `None`.
fn forward(
    src_gt: &GeoTransform,
    to_dst: Option<&Transformer>,
    col: f64,
    row: f64,
) -> Option<(f64, f64)> {
    let (x, y) = src_gt.pixel_to_map(col, row);
    let (x, y) = match to_dst {
        Some(t) => t.transform(x, y).ok()?,
        None => (x, y),
    };
    (x.is_finite() && y.is_finite()).then_some((x, y))
}

/// The grid gdalwarp would choose for warping a `cols` × `rows` source with transform
/// `src_gt` through `to_dst` (GDAL's `GDALSuggestedWarpOutput2`).
///
/// Pass `None` as `to_dst` when source and target CRS are the same.
pub fn suggested_grid(
    src_gt: &GeoTransform,
    cols: usize,
    rows: usize,
    to_dst: Option<&Transformer>,
) -> Result<Grid> {
    // GDAL samples 21 points along each edge (20 steps) and, when some fail, a 21 x 21 grid.
    const STEPS: usize = 20;
    if cols == 0 || rows == 0 {
        return Err(Error::InvalidArgument("cannot warp an empty raster".into()));
    }
    let (w, h) = (cols as f64, rows as f64);
    let ratio = |i: usize| {
        if i == STEPS {
            1.0
        } else {
            i as f64 / STEPS as f64
        }
    };
    let mut pts: Vec<Option<(f64, f64)>> = Vec::with_capacity(4 * (STEPS + 1));
    for i in 0..=STEPS {
        let r = ratio(i);
        for (c, rr) in [(r * w, 0.0), (r * w, h), (0.0, r * h), (w, r * h)] {
            pts.push(forward(src_gt, to_dst, c, rr));
        }
    }
    if pts.iter().any(Option::is_none) {
        pts.clear();
        for j in 0..=STEPS {
            for i in 0..=STEPS {
                pts.push(forward(src_gt, to_dst, ratio(i) * w, ratio(j) * h));
            }
        }
    }
    let ok: Vec<(f64, f64)> = pts.iter().flatten().copied().collect();
    if ok.len() < 10.min(pts.len()) || ok.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "too many points ({} out of {}) failed to transform: cannot compute the target extent",
            pts.len() - ok.len(),
            pts.len()
        )));
    }
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for &(x, y) in &ok {
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    // The diagonal runs from the first sample (the top-left corner) to the last (bottom-right).
    let (dx, dy) = match (
        pts.first().copied().flatten(),
        pts.last().copied().flatten(),
    ) {
        (Some(a), Some(z)) => (z.0 - a.0, z.1 - a.1),
        _ => (b[2] - b[0], b[3] - b[1]),
    };
    let pixel = dx.hypot(dy) / w.hypot(h);
    if !(pixel > 0.0 && pixel.is_finite()) {
        return Err(Error::InvalidArgument(
            "the source footprint collapses to a point in the target CRS".into(),
        ));
    }
    let out_cols = ((b[2] - b[0]) / pixel + 0.5).floor();
    let out_rows = ((b[3] - b[1]) / pixel + 0.5).floor();
    if !(out_cols < f64::from(i32::MAX) && out_rows < f64::from(i32::MAX)) {
        return Err(Error::InvalidArgument(format!(
            "computed target size {out_cols} x {out_rows} is too big"
        )));
    }
    Ok(Grid {
        transform: GeoTransform::north_up(b[0], b[3], pixel, pixel),
        cols: (out_cols as usize).max(1),
        rows: (out_rows as usize).max(1),
    })
}

/// Maps target cell centres to continuous source pixel positions.
pub(crate) struct SourceMapper<'a> {
    dst_gt: GeoTransform,
    src_inv: GeoTransform,
    to_src: Option<&'a Transformer>,
    threshold: f64,
}

impl<'a> SourceMapper<'a> {
    /// A mapper from a target grid to a source raster.
    pub(crate) fn new(
        dst_gt: GeoTransform,
        src_gt: &GeoTransform,
        to_src: Option<&'a Transformer>,
        threshold: f64,
    ) -> Result<Self> {
        let src_inv = src_gt.inverse().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "source geotransform {:?} is not invertible",
                src_gt.to_gdal()
            ))
        })?;
        Ok(Self {
            dst_gt,
            src_inv,
            to_src,
            threshold,
        })
    }

    /// The exact source position of the target position `(col, row)` (NaN on failure).
    #[inline]
    fn exact(&self, col: f64, row: f64) -> (f64, f64) {
        let (x, y) = self.dst_gt.pixel_to_map(col, row);
        let (x, y) = match self.to_src {
            Some(t) => match t.transform(x, y) {
                Ok(p) => p,
                Err(_) => return (f64::NAN, f64::NAN),
            },
            None => (x, y),
        };
        self.src_inv.pixel_to_map(x, y)
    }

    /// Fills `out[k]` with the source position of target cell centre `(col0 + k, row)`.
    pub(crate) fn row(&self, row: usize, col0: usize, out: &mut [(f64, f64)]) {
        let y = row as f64 + 0.5;
        if self.threshold <= 0.0 || self.to_src.is_none() {
            // An affine-only mapping is exactly linear: no approximation needed, but the
            // exact path is cheap too.
            for (k, p) in out.iter_mut().enumerate() {
                *p = self.exact((col0 + k) as f64 + 0.5, y);
            }
            return;
        }
        self.approx(y, col0, out);
    }

    /// GDAL's approximate transformer: exact at both ends and the middle, linear in between
    /// when the middle's error is below the threshold, else split in two.
    fn approx(&self, y: f64, col0: usize, out: &mut [(f64, f64)]) {
        let n = out.len();
        if n <= 5 {
            for (k, p) in out.iter_mut().enumerate() {
                *p = self.exact((col0 + k) as f64 + 0.5, y);
            }
            return;
        }
        let mid = n / 2;
        let a = self.exact(col0 as f64 + 0.5, y);
        let m = self.exact((col0 + mid) as f64 + 0.5, y);
        let z = self.exact((col0 + n - 1) as f64 + 0.5, y);
        if ![a.0, a.1, m.0, m.1, z.0, z.1].iter().all(|v| v.is_finite()) {
            for (k, p) in out.iter_mut().enumerate() {
                *p = self.exact((col0 + k) as f64 + 0.5, y);
            }
            return;
        }
        let t = mid as f64 / (n - 1) as f64;
        let err = (a.0 + (z.0 - a.0) * t - m.0).abs() + (a.1 + (z.1 - a.1) * t - m.1).abs();
        if err > self.threshold {
            self.approx(y, col0, &mut out[..=mid]);
            self.approx(y, col0 + mid, &mut out[mid..]);
            return;
        }
        for (k, p) in out.iter_mut().enumerate() {
            *p = if k <= mid {
                let f = k as f64 / mid as f64;
                (a.0 + (m.0 - a.0) * f, a.1 + (m.1 - a.1) * f)
            } else {
                let f = (k - mid) as f64 / (n - 1 - mid) as f64;
                (m.0 + (z.0 - m.0) * f, m.1 + (z.1 - m.1) * f)
            };
        }
    }

    /// The kernel scale (target cells per source cell) in x and y, estimated like gdalwarp's
    /// `XSCALE=FROM_GRID_SAMPLING` from up to 10 × 10 points of the target grid, then set to
    /// 1 when the source is not noticeably larger than the target (gdalwarp's tolerance of
    /// the kernel's extra source cells).
    pub(crate) fn scale(&self, cols: usize, rows: usize, radius: usize) -> (f64, f64) {
        let nx = cols.clamp(1, 10);
        let ny = rows.clamp(1, 10);
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for j in 0..ny {
            for i in 0..nx {
                let c = if nx == 1 {
                    0.5
                } else {
                    i as f64 * (cols as f64 - 1.0) / (nx - 1) as f64 + 0.5
                };
                let r = if ny == 1 {
                    0.5
                } else {
                    j as f64 * (rows as f64 - 1.0) / (ny - 1) as f64 + 0.5
                };
                let p = self.exact(c, r);
                let px = self.exact(c + 1.0, r);
                let py = self.exact(c, r + 1.0);
                let sx = (px.0 - p.0).abs().max((py.0 - p.0).abs());
                let sy = (px.1 - p.1).abs().max((py.1 - p.1).abs());
                if sx.is_finite() && sx > 0.0 {
                    xs.push(1.0 / sx);
                }
                if sy.is_finite() && sy > 0.0 {
                    ys.push(1.0 / sy);
                }
            }
        }
        let mean = |v: &[f64]| {
            if v.is_empty() {
                1.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let tolerance = |n: usize| n as f64 / (n as f64 + 2.0 * radius as f64 + 1.0);
        let fix = |s: f64, n: usize| if s >= tolerance(n) { 1.0 } else { s };
        (fix(mean(&xs), cols), fix(mean(&ys), rows))
    }
}

/// Where a warp reads from: a window of the full source, possibly only owning part of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// The window's first column and row in full-source pixel coordinates.
    pub(crate) col0: i64,
    pub(crate) row0: i64,
    /// The half-open rectangle of full-source cells this window is responsible for:
    /// target cells whose source position falls elsewhere are left alone.
    pub(crate) own: [f64; 4],
}

/// A block of target rows: its first row and one mutable slice per band.
type RowBlock<'a, T> = (usize, Vec<&'a mut [T]>);

/// Warps typed bands: fills `out` (one buffer per band, `grid.cols * grid.rows` cells,
/// already filled with NoData) from `bands`.
fn warp_typed<T: Pixel>(
    bands: &[BandView<'_, T>],
    window: Window,
    mapper: &SourceMapper<'_>,
    sampler: &Sampler,
    grid_cols: usize,
    out: &mut [Vec<T>],
    threads: usize,
) -> usize {
    const BLOCK_ROWS: usize = 8;
    if grid_cols == 0 {
        return 0;
    }
    // Blocks of rows, each a list of per-band mutable slices.
    let mut blocks: Vec<RowBlock<'_, T>> = Vec::new();
    {
        let mut per_band: Vec<std::slice::ChunksMut<'_, T>> = out
            .iter_mut()
            .map(|b| b.chunks_mut(BLOCK_ROWS * grid_cols))
            .collect();
        let mut block = 0;
        loop {
            let parts: Vec<&mut [T]> = per_band.iter_mut().filter_map(Iterator::next).collect();
            if parts.len() != bands.len() || parts.is_empty() {
                break;
            }
            blocks.push((block * BLOCK_ROWS, parts));
            block += 1;
        }
    }
    let threads = thread_count(threads).min(blocks.len()).max(1);
    let mut lanes: Vec<Vec<RowBlock<'_, T>>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, b) in blocks.into_iter().enumerate() {
        lanes[i % threads].push(b);
    }
    // Returns how many cells of the first band received data.
    let work = |lane: Vec<RowBlock<'_, T>>| -> usize {
        let mut filled = 0;
        let mut coords = vec![(0.0, 0.0); grid_cols];
        let mut plan = vec![RowCell::default(); grid_cols];
        let (cols, rows) = bands.first().map_or((0, 0), |b| (b.cols(), b.rows()));
        for (row0, mut parts) in lane {
            let nrows = parts.first().map_or(0, |p| p.len() / grid_cols);
            for r in 0..nrows {
                mapper.row(row0 + r, 0, &mut coords);
                // What does not depend on the band is worked out once per row.
                let fast = sampler.is_nearest() || sampler.is_fast_bilinear();
                if fast {
                    plan_row(sampler, window, cols, rows, &coords, &mut plan);
                }
                for (b, (band, part)) in bands.iter().zip(parts.iter_mut()).enumerate() {
                    let dst = &mut part[r * grid_cols..(r + 1) * grid_cols];
                    let n = if sampler.is_nearest() {
                        nearest_row(band, &plan, dst)
                    } else if fast {
                        bilinear_row(band, sampler, window, &plan, &coords, dst)
                    } else {
                        general_row(band, sampler, window, &coords, dst)
                    };
                    if b == 0 {
                        filled += n;
                    }
                }
            }
        }
        filled
    };
    if threads == 1 {
        lanes.into_iter().map(work).sum()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = lanes
                .into_iter()
                .map(|lane| s.spawn(|| work(lane)))
                .collect();
            // A worker only panics on a bug; count its rows as empty rather than panic here.
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        })
    }
}

/// Per-cell sampling plan of a row, shared by all bands.
#[derive(Debug, Clone, Copy, Default)]
struct RowCell {
    /// Index of the (upper-left) source cell; [`SKIP`] for cells with nothing to sample,
    /// [`SLOW`] for cells that need the general sampler.
    index: usize,
    /// Bilinear weights of the left column and the upper row.
    rx: f64,
    ry: f64,
}

const SKIP: usize = usize::MAX;
const SLOW: usize = usize::MAX - 1;

/// Whether a full-source position is in the part of the source `window` owns.
#[inline]
fn owned(window: Window, sx: f64, sy: f64) -> bool {
    sx >= window.own[0] && sx < window.own[2] && sy >= window.own[1] && sy < window.own[3]
}

/// Fills the row plan for nearest neighbour or four-cell bilinear.
fn plan_row(
    sampler: &Sampler,
    window: Window,
    cols: usize,
    rows: usize,
    coords: &[(f64, f64)],
    plan: &mut [RowCell],
) {
    let (ox, oy) = (window.col0 as f64, window.row0 as f64);
    let nearest = sampler.is_nearest();
    let everywhere = window.own.iter().all(|v| v.is_infinite());
    for (p, &(sx, sy)) in plan.iter_mut().zip(coords) {
        p.index = SKIP;
        if !everywhere && !owned(window, sx, sy) {
            continue;
        }
        let (lx, ly) = (sx - ox, sy - oy);
        let Some(i) = Sampler::nearest_index(cols, rows, lx, ly) else {
            continue;
        };
        if nearest {
            p.index = i;
            continue;
        }
        let fx = ffloor(lx - 0.5);
        let fy = ffloor(ly - 0.5);
        p.rx = 1.5 - (lx - fx);
        p.ry = 1.5 - (ly - fy);
        p.index = if fx >= 0.0 && fy >= 0.0 && fx + 1.0 < cols as f64 && fy + 1.0 < rows as f64 {
            fy as usize * cols + fx as usize
        } else {
            SLOW
        };
    }
}

/// Nearest neighbour for one row: copies cells without converting them.
#[inline]
fn nearest_row<T: Pixel>(band: &BandView<'_, T>, plan: &[RowCell], dst: &mut [T]) -> usize {
    let data = band.data();
    let mut filled = 0;
    for (d, p) in dst.iter_mut().zip(plan) {
        if let Some(&v) = data.get(p.index)
            && !band.is_nodata(v)
        {
            *d = v;
            filled += 1;
        }
    }
    filled
}

/// Four-cell bilinear for one row, falling back to the general sampler at the edges and
/// next to NoData.
#[inline]
fn bilinear_row<T: Pixel>(
    band: &BandView<'_, T>,
    sampler: &Sampler,
    window: Window,
    plan: &[RowCell],
    coords: &[(f64, f64)],
    dst: &mut [T],
) -> usize {
    let data = band.data();
    let c = band.cols();
    let (ox, oy) = (window.col0 as f64, window.row0 as f64);
    let mut filled = 0;
    for ((d, p), &(sx, sy)) in dst.iter_mut().zip(plan).zip(coords) {
        if p.index == SKIP {
            continue;
        }
        if p.index != SLOW
            && let (Some(&a), Some(&b), Some(&e), Some(&f)) = (
                data.get(p.index),
                data.get(p.index + 1),
                data.get(p.index + c),
                data.get(p.index + c + 1),
            )
            && !(band.is_nodata(a) || band.is_nodata(b) || band.is_nodata(e) || band.is_nodata(f))
        {
            let (rx, ry) = (p.rx, p.ry);
            let top = a.to_f64() * rx + b.to_f64() * (1.0 - rx);
            let bottom = e.to_f64() * rx + f.to_f64() * (1.0 - rx);
            *d = T::from_f64(top * ry + bottom * (1.0 - ry));
            filled += 1;
            continue;
        }
        if let Some(v) = sampler.sample(band, sx - ox, sy - oy) {
            *d = T::from_f64(v);
            filled += 1;
        }
    }
    filled
}

/// Any kernel, one cell at a time.
#[inline]
fn general_row<T: Pixel>(
    band: &BandView<'_, T>,
    sampler: &Sampler,
    window: Window,
    coords: &[(f64, f64)],
    dst: &mut [T],
) -> usize {
    let (ox, oy) = (window.col0 as f64, window.row0 as f64);
    let mut filled = 0;
    for (d, &(sx, sy)) in dst.iter_mut().zip(coords) {
        if !owned(window, sx, sy) {
            continue;
        }
        if let Some(v) = sampler.sample(band, sx - ox, sy - oy) {
            *d = T::from_f64(v);
            filled += 1;
        }
    }
    filled
}

/// Typed views of every band of `tile` (all bands share one type, so the first decides).
pub(crate) fn views<T: Pixel + CellSlice>(tile: &MultibandTile) -> Result<Vec<BandView<'_, T>>> {
    let nodata = tile.cell_type().no_data_f64();
    tile.bands()
        .iter()
        .map(|b| {
            let data = T::slice(b.buffer()).ok_or_else(|| {
                Error::InvalidArgument("bands of a multiband tile differ in cell type".into())
            })?;
            BandView::new(data, b.cols() as usize, b.rows() as usize, nodata)
        })
        .collect()
}

/// Borrowing a typed slice out of a `CellBuffer`, and building one back.
pub(crate) trait CellSlice: Sized {
    /// The cells when `buf` holds this type.
    fn slice(buf: &CellBuffer) -> Option<&[Self]>;
    /// Wraps a vector of this type.
    fn wrap(v: Vec<Self>) -> CellBuffer;
}

macro_rules! cell_slice {
    ($($t:ty => $variant:ident),*) => {$(
        impl CellSlice for $t {
            fn slice(buf: &CellBuffer) -> Option<&[Self]> {
                match buf {
                    CellBuffer::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> CellBuffer {
                CellBuffer::$variant(v)
            }
        }
    )*};
}
cell_slice!(bool => Bool, i8 => Int8, u8 => UInt8, i16 => Int16, u16 => UInt16, i32 => Int32, f32 => Float32, f64 => Float64);

/// A buffer of `n` cells of `cell_type` holding [`fill_value`].
pub(crate) fn nodata_buffer(cell_type: CellType, n: usize) -> Result<CellBuffer> {
    Ok(match cell_type.base() {
        BaseType::Bool => CellBuffer::Bool(vec![fill_value(cell_type); n]),
        BaseType::Int8 => CellBuffer::Int8(vec![fill_value(cell_type); n]),
        BaseType::UInt8 => CellBuffer::UInt8(vec![fill_value(cell_type); n]),
        BaseType::Int16 => CellBuffer::Int16(vec![fill_value(cell_type); n]),
        BaseType::UInt16 => CellBuffer::UInt16(vec![fill_value(cell_type); n]),
        BaseType::Int32 => CellBuffer::Int32(vec![fill_value(cell_type); n]),
        BaseType::Float32 => CellBuffer::Float32(vec![fill_value(cell_type); n]),
        BaseType::Float64 => CellBuffer::Float64(vec![fill_value(cell_type); n]),
        other => return Err(unsupported_type(other)),
    })
}

/// The error for a cell type this module does not know (keyed-tile may add some).
fn unsupported_type(t: BaseType) -> Error {
    Error::unsupported(format!("warping cells of type {}", t.name()))
}

/// Builds a multiband tile from typed band buffers.
pub(crate) fn tile_from_buffers(
    cell_type: CellType,
    cols: usize,
    rows: usize,
    bufs: Vec<CellBuffer>,
) -> Result<MultibandTile> {
    let (c, r) = (
        u32::try_from(cols).map_err(|_| Error::InvalidArgument(format!("{cols} columns")))?,
        u32::try_from(rows).map_err(|_| Error::InvalidArgument(format!("{rows} rows")))?,
    );
    let bands = bufs
        .into_iter()
        .map(|b| Tile::from_buffer(cell_type, c, r, b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    MultibandTile::new(bands).map_err(|e| Error::InvalidArgument(e.to_string()))
}

/// Samples `src` (a window of the full source) onto `grid`, for every band.
pub(crate) fn warp_tile_onto(
    src: &MultibandTile,
    window: Window,
    mapper: &SourceMapper<'_>,
    sampler: &Sampler,
    grid: &Grid,
    threads: usize,
) -> Result<MultibandTile> {
    warp_tile_counted(src, window, mapper, sampler, grid, threads).map(|(t, _)| t)
}

/// Like [`warp_tile_onto`], also counting the cells of band 0 that received data.
pub(crate) fn warp_tile_counted(
    src: &MultibandTile,
    window: Window,
    mapper: &SourceMapper<'_>,
    sampler: &Sampler,
    grid: &Grid,
    threads: usize,
) -> Result<(MultibandTile, usize)> {
    let cell_type = src.cell_type();
    let first = src
        .band(0)
        .ok_or_else(|| Error::InvalidArgument("a raster without bands".into()))?;
    let args = (src, window, mapper, sampler, grid, threads);
    let bufs = match first.buffer() {
        CellBuffer::Bool(_) => warp_generic::<bool>(args),
        CellBuffer::Int8(_) => warp_generic::<i8>(args),
        CellBuffer::UInt8(_) => warp_generic::<u8>(args),
        CellBuffer::Int16(_) => warp_generic::<i16>(args),
        CellBuffer::UInt16(_) => warp_generic::<u16>(args),
        CellBuffer::Int32(_) => warp_generic::<i32>(args),
        CellBuffer::Float32(_) => warp_generic::<f32>(args),
        CellBuffer::Float64(_) => warp_generic::<f64>(args),
        other => Err(unsupported_type(other.base_type())),
    }?;
    Ok((
        tile_from_buffers(cell_type, grid.cols, grid.rows, bufs.0)?,
        bufs.1,
    ))
}

type WarpArgs<'a, 'b> = (
    &'a MultibandTile,
    Window,
    &'a SourceMapper<'b>,
    &'a Sampler,
    &'a Grid,
    usize,
);

/// The typed body of [`warp_tile_onto`].
fn warp_generic<T: Pixel + CellSlice>(args: WarpArgs<'_, '_>) -> Result<(Vec<CellBuffer>, usize)> {
    let (src, window, mapper, sampler, grid, threads) = args;
    let bands = views::<T>(src)?;
    let n = grid.cols.checked_mul(grid.rows).ok_or_else(|| {
        Error::InvalidArgument(format!("target grid {} x {}", grid.cols, grid.rows))
    })?;
    let fill = fill_value::<T>(src.cell_type());
    let mut typed: Vec<Vec<T>> = (0..bands.len()).map(|_| vec![fill; n]).collect();
    let filled = warp_typed(
        &bands, window, mapper, sampler, grid.cols, &mut typed, threads,
    );
    Ok((typed.into_iter().map(T::wrap).collect(), filled))
}

/// What target cells without a source hold: the NoData value, or zero for cell types
/// without one (gdalwarp initialises its output to zero).
pub(crate) fn fill_value<T: Pixel>(cell_type: CellType) -> T {
    T::from_f64(cell_type.no_data_f64().unwrap_or(0.0))
}

impl Pixel for bool {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v >= 0.5
    }
}

/// Sets up the mapper and sampler for warping `raster` onto `grid` in `dst_crs`.
fn transformer_for(src: &Crs, dst: &Crs) -> Result<Option<Transformer>> {
    if src == dst {
        Ok(None)
    } else {
        Transformer::new(dst, src).map(Some)
    }
}

/// The target grid [`warp`] would use for `raster` and `options`.
pub fn target_grid(raster: &Raster, dst_crs: &Crs, options: &WarpOptions) -> Result<Grid> {
    if let Some(grid) = options.grid {
        return Ok(grid);
    }
    let to_dst = if raster.crs == *dst_crs {
        None
    } else {
        Some(Transformer::new(&raster.crs, dst_crs)?)
    };
    let suggested = suggested_grid(
        &raster.transform,
        raster.tile.cols() as usize,
        raster.tile.rows() as usize,
        to_dst.as_ref(),
    )?;
    match options.resolution {
        Some((xres, yres)) => Grid::from_extent_and_resolution(&suggested.extent(), xres, yres),
        None => Ok(suggested),
    }
}

/// Reprojects `raster` to `dst_crs`, like `gdalwarp -t_srs`.
///
/// The cell type and NoData are kept; target cells with no source become NoData (zero for
/// cell types without NoData, as gdalwarp initialises them).
///
/// ```
/// use keyed_tile::{MultibandTile, Tile};
/// use raster::{Crs, GeoTransform, Raster, ResampleMethod, WarpOptions, warp};
/// // 20 x 20 cells of 30 m in UTM zone 25S, warped to longitude/latitude.
/// let values: Vec<f64> = (0..400).map(f64::from).collect();
/// let tile = Tile::from_f64s("float32".parse()?, 20, 20, &values)?;
/// let utm = Raster {
///     tile: MultibandTile::from(tile),
///     transform: GeoTransform::north_up(288_776.25, 9_120_760.75, 30.0, 30.0),
///     crs: Crs::parse("EPSG:31985")?,
/// };
/// let options = WarpOptions { method: ResampleMethod::Bilinear, ..WarpOptions::default() };
/// let lonlat = warp(&utm, &Crs::parse("EPSG:4326")?, &options)?;
/// assert!((lonlat.cols() as i64 - 20).abs() <= 1 && (lonlat.rows() as i64 - 20).abs() <= 1);
/// assert!((lonlat.transform.origin_x + 34.916).abs() < 0.001);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn warp(raster: &Raster, dst_crs: &Crs, options: &WarpOptions) -> Result<Raster> {
    let grid = target_grid(raster, dst_crs, options)?;
    let to_src = transformer_for(&raster.crs, dst_crs)?;
    let mapper = SourceMapper::new(
        grid.transform,
        &raster.transform,
        to_src.as_ref(),
        options.error_threshold,
    )?;
    let (xs, ys) = mapper.scale(grid.cols, grid.rows, options.method.radius());
    let sampler = Sampler::with_scale(options.method, xs, ys);
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
    let tile = warp_tile_onto(
        &raster.tile,
        window,
        &mapper,
        &sampler,
        &grid,
        options.threads,
    )?;
    Ok(Raster {
        tile,
        transform: grid.transform,
        crs: dst_crs.clone(),
    })
}

/// Warps a layer of source tiles (keyed on `src_layout`, in `src_crs`) onto one target
/// `grid` in `dst_crs`, in the given [`WarpMode`].
///
/// Every target cell is filled from the source tile its centre maps into. In
/// [`WarpMode::Buffered`] that tile is first extended with its neighbours' cells for the
/// kernel's reach, so the result equals [`warp`] of the mosaicked source; in
/// [`WarpMode::PerTile`] each tile is sampled alone.
pub fn warp_tiles(
    tiles: &[(SpatialKey, MultibandTile)],
    src_layout: &LayoutDefinition,
    src_crs: &Crs,
    dst_crs: &Crs,
    grid: &Grid,
    mode: WarpMode,
    options: &WarpOptions,
) -> Result<Raster> {
    let Some((_, first)) = tiles.first() else {
        return Err(Error::InvalidArgument("no source tiles to warp".into()));
    };
    let cell_type = first.cell_type();
    let band_count = first.band_count();
    let tl = src_layout.tile_layout;
    let (tc, tr) = (i64::from(tl.tile_cols), i64::from(tl.tile_rows));
    let (cw, ch) = src_layout.cell_size();
    let src_gt = GeoTransform::north_up(src_layout.extent.xmin, src_layout.extent.ymax, cw, ch);
    let to_src = transformer_for(src_crs, dst_crs)?;
    let mapper = SourceMapper::new(
        grid.transform,
        &src_gt,
        to_src.as_ref(),
        options.error_threshold,
    )?;
    let (xs, ys) = mapper.scale(grid.cols, grid.rows, options.method.radius());
    let sampler = Sampler::with_scale(options.method, xs, ys);
    let by_key: HashMap<SpatialKey, &MultibandTile> = tiles.iter().map(|(k, t)| (*k, t)).collect();
    let n = grid.cols * grid.rows;
    let mut acc: Vec<CellBuffer> = (0..band_count)
        .map(|_| nodata_buffer(cell_type, n))
        .collect::<Result<_>>()?;
    let (bx, by) = match mode {
        WarpMode::PerTile => (0, 0),
        WarpMode::Buffered => {
            let (rx, ry) = sampler.reach();
            (rx as i64 + 1, ry as i64 + 1)
        }
    };
    // The mosaic of the layer ends at its outermost tiles: windows stop there too, so cell
    // types without NoData do not borrow made-up cells from beyond the layer.
    let kc0 = tiles
        .iter()
        .map(|(k, _)| i64::from(k.col))
        .min()
        .unwrap_or(0);
    let kc1 = tiles
        .iter()
        .map(|(k, _)| i64::from(k.col))
        .max()
        .unwrap_or(0);
    let kr0 = tiles
        .iter()
        .map(|(k, _)| i64::from(k.row))
        .min()
        .unwrap_or(0);
    let kr1 = tiles
        .iter()
        .map(|(k, _)| i64::from(k.row))
        .max()
        .unwrap_or(0);
    let (lim_c0, lim_c1) = (kc0 * tc, (kc1 + 1) * tc);
    let (lim_r0, lim_r1) = (kr0 * tr, (kr1 + 1) * tr);
    for (key, tile) in tiles {
        if tile.cell_type() != cell_type || tile.band_count() != band_count {
            return Err(Error::InvalidArgument(format!(
                "source tile {key:?} differs in cell type or band count from the first tile"
            )));
        }
        let c0 = i64::from(key.col) * tc;
        let r0 = i64::from(key.row) * tr;
        let (wc0, wr0) = ((c0 - bx).max(lim_c0), (r0 - by).max(lim_r0));
        let (wc1, wr1) = ((c0 + tc + bx).min(lim_c1), (r0 + tr + by).min(lim_r1));
        let window_tile = if bx == 0 && by == 0 {
            tile.clone()
        } else {
            mosaic_window(
                &by_key,
                src_layout,
                cell_type,
                band_count,
                wc0,
                wr0,
                wc1 - wc0,
                wr1 - wr0,
            )?
        };
        let window = Window {
            col0: wc0,
            row0: wr0,
            own: [c0 as f64, r0 as f64, (c0 + tc) as f64, (r0 + tr) as f64],
        };
        let part = warp_tile_onto(
            &window_tile,
            window,
            &mapper,
            &sampler,
            grid,
            options.threads,
        )?;
        merge_into(&mut acc, part)?;
    }
    Ok(Raster {
        tile: tile_from_buffers(cell_type, grid.cols, grid.rows, acc)?,
        transform: grid.transform,
        crs: dst_crs.clone(),
    })
}

/// Copies valid cells of `part` over `acc`.
fn merge_into(acc: &mut [CellBuffer], part: MultibandTile) -> Result<()> {
    let nodata = part.cell_type().no_data_f64();
    for (a, b) in acc.iter_mut().zip(part.into_bands()) {
        let src = b.into_buffer();
        macro_rules! merge {
            ($($variant:ident),*) => {
                match (a, &src) {
                    $((CellBuffer::$variant(a), CellBuffer::$variant(s)) => {
                        for (d, v) in a.iter_mut().zip(s) {
                            let f = Pixel::to_f64(*v);
                            if !f.is_nan() && Some(f) != nodata {
                                *d = *v;
                            }
                        }
                    })*
                    _ => return Err(Error::InvalidArgument("merging tiles of different cell types".into())),
                }
            };
        }
        merge!(Bool, Int8, UInt8, Int16, UInt16, Int32, Float32, Float64);
    }
    Ok(())
}

/// Assembles the `cols` × `rows` window at full-layout cell `(col0, row0)` from the tiles
/// that cover it; cells without a tile are NoData.
#[allow(
    clippy::too_many_arguments,
    reason = "internal helper with plain inputs"
)]
pub(crate) fn mosaic_window(
    by_key: &HashMap<SpatialKey, &MultibandTile>,
    layout: &LayoutDefinition,
    cell_type: CellType,
    band_count: usize,
    col0: i64,
    row0: i64,
    cols: i64,
    rows: i64,
) -> Result<MultibandTile> {
    let tl = layout.tile_layout;
    let (tc, tr) = (i64::from(tl.tile_cols), i64::from(tl.tile_rows));
    let (w, h) = (cols as usize, rows as usize);
    let mut bufs: Vec<CellBuffer> = (0..band_count)
        .map(|_| nodata_buffer(cell_type, w * h))
        .collect::<Result<_>>()?;
    let k0 = (col0.div_euclid(tc), row0.div_euclid(tr));
    let k1 = (
        (col0 + cols - 1).div_euclid(tc),
        (row0 + rows - 1).div_euclid(tr),
    );
    for kr in k0.1..=k1.1 {
        for kc in k0.0..=k1.0 {
            let (Ok(kc32), Ok(kr32)) = (i32::try_from(kc), i32::try_from(kr)) else {
                continue;
            };
            let Some(t) = by_key.get(&SpatialKey::new(kc32, kr32)) else {
                continue;
            };
            // Overlap of the tile's cells with the window, in full-layout cells.
            let x0 = (kc * tc).max(col0);
            let x1 = ((kc + 1) * tc).min(col0 + cols);
            let y0 = (kr * tr).max(row0);
            let y1 = ((kr + 1) * tr).min(row0 + rows);
            if x0 >= x1 || y0 >= y1 {
                continue;
            }
            for (dst, band) in bufs.iter_mut().zip(t.bands()) {
                copy_rect(
                    dst,
                    w,
                    band.buffer(),
                    tc as usize,
                    (x0 - kc * tc, y0 - kr * tr),
                    (x0 - col0, y0 - row0),
                    (x1 - x0, y1 - y0),
                )?;
            }
        }
    }
    tile_from_buffers(cell_type, w, h, bufs)
}

/// Copies a `size` rectangle from `src` (row length `src_w`) at `from` to `dst` (row length
/// `dst_w`) at `to`.
pub(crate) fn copy_rect(
    dst: &mut CellBuffer,
    dst_w: usize,
    src: &CellBuffer,
    src_w: usize,
    from: (i64, i64),
    to: (i64, i64),
    size: (i64, i64),
) -> Result<()> {
    macro_rules! copy {
        ($($variant:ident),*) => {
            match (dst, src) {
                $((CellBuffer::$variant(d), CellBuffer::$variant(s)) => {
                    for r in 0..size.1 as usize {
                        let so = (from.1 as usize + r) * src_w + from.0 as usize;
                        let doff = (to.1 as usize + r) * dst_w + to.0 as usize;
                        let n = size.0 as usize;
                        let (Some(sv), Some(dv)) = (s.get(so..so + n), d.get_mut(doff..doff + n)) else {
                            return Err(Error::InvalidArgument("tile smaller than its layout says".into()));
                        };
                        dv.copy_from_slice(sv);
                    }
                })*
                _ => return Err(Error::InvalidArgument("copying between different cell types".into())),
            }
        };
    }
    copy!(Bool, Int8, UInt8, Int16, UInt16, Int32, Float32, Float64);
    Ok(())
}
