//! Map geometry: `Extent`, `TileLayout` and `LayoutDefinition` (map coordinates ↔ keys).
//!
//! As in GeoTrellis, row 0 is the top (north) row: rows grow southwards while map `y`
//! grows northwards.

use serde::{Deserialize, Serialize};

use crate::{Error, KeyBounds, SpatialKey};

/// Grid coordinates closer than this to a whole number are snapped to it, so that a tile
/// edge computed in floating point (e.g. `xmin + 3 * tile_width`) maps to the tile it starts
/// rather than the one before. 1e-9 grid units is far below any cell size in use.
const GRID_EPSILON: f64 = 1e-9;

/// A rectangle in map coordinates. JSON: `{"xmin":..,"ymin":..,"xmax":..,"ymax":..}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extent {
    /// West edge.
    pub xmin: f64,
    /// South edge.
    pub ymin: f64,
    /// East edge.
    pub xmax: f64,
    /// North edge.
    pub ymax: f64,
}

impl Extent {
    /// Makes an extent, checking that the edges are finite and `min <= max`.
    pub fn new(xmin: f64, ymin: f64, xmax: f64, ymax: f64) -> Result<Self, Error> {
        let extent = Self {
            xmin,
            ymin,
            xmax,
            ymax,
        };
        extent.validate()?;
        Ok(extent)
    }

    /// Checks that the edges are finite and `min <= max` in both axes.
    pub fn validate(&self) -> Result<(), Error> {
        let finite = [self.xmin, self.ymin, self.xmax, self.ymax]
            .iter()
            .all(|v| v.is_finite());
        if !finite || self.xmin > self.xmax || self.ymin > self.ymax {
            return Err(Error::InvalidLayout {
                reason: format!("extent {self:?} is not finite with min <= max"),
            });
        }
        Ok(())
    }

    /// East-west size.
    pub fn width(&self) -> f64 {
        self.xmax - self.xmin
    }

    /// North-south size.
    pub fn height(&self) -> f64 {
        self.ymax - self.ymin
    }

    /// Whether the point lies inside or on the edge.
    pub fn contains_point(&self, x: f64, y: f64) -> bool {
        x >= self.xmin && x <= self.xmax && y >= self.ymin && y <= self.ymax
    }

    /// Whether the two extents share more than an edge.
    pub fn intersects(&self, other: &Self) -> bool {
        self.xmin < other.xmax
            && other.xmin < self.xmax
            && self.ymin < other.ymax
            && other.ymin < self.ymax
    }

    /// The overlap of two extents, or `None` when they share no area.
    pub fn intersection(&self, other: &Self) -> Option<Self> {
        self.intersects(other).then(|| Self {
            xmin: self.xmin.max(other.xmin),
            ymin: self.ymin.max(other.ymin),
            xmax: self.xmax.min(other.xmax),
            ymax: self.ymax.min(other.ymax),
        })
    }

    /// The smallest extent holding both.
    #[must_use]
    pub fn combine(&self, other: &Self) -> Self {
        Self {
            xmin: self.xmin.min(other.xmin),
            ymin: self.ymin.min(other.ymin),
            xmax: self.xmax.max(other.xmax),
            ymax: self.ymax.max(other.ymax),
        }
    }
}

/// How many tiles a layout has and how many cells each tile has.
///
/// JSON (as GeoTrellis): `{"layoutCols":..,"layoutRows":..,"tileCols":..,"tileRows":..}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TileLayout {
    /// Tiles per row of the layout.
    pub layout_cols: u32,
    /// Tiles per column of the layout.
    pub layout_rows: u32,
    /// Cells per tile row.
    pub tile_cols: u32,
    /// Cells per tile column.
    pub tile_rows: u32,
}

impl TileLayout {
    /// Makes a tile layout.
    pub const fn new(layout_cols: u32, layout_rows: u32, tile_cols: u32, tile_rows: u32) -> Self {
        Self {
            layout_cols,
            layout_rows,
            tile_cols,
            tile_rows,
        }
    }

    /// Cells across the whole layout.
    pub fn total_cols(&self) -> u64 {
        u64::from(self.layout_cols) * u64::from(self.tile_cols)
    }

    /// Cells down the whole layout.
    pub fn total_rows(&self) -> u64 {
        u64::from(self.layout_rows) * u64::from(self.tile_rows)
    }
}

/// A tile layout laid over a map extent: the mapping between map coordinates and keys.
///
/// JSON (as GeoTrellis): `{"extent":{...},"tileLayout":{...}}`. Deserializing checks what
/// [`LayoutDefinition::new`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawLayoutDefinition")]
pub struct LayoutDefinition {
    /// The map area the layout covers.
    pub extent: Extent,
    /// The tile grid over that area.
    pub tile_layout: TileLayout,
}

/// The unchecked JSON shape of [`LayoutDefinition`], validated by `TryFrom`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLayoutDefinition {
    extent: Extent,
    tile_layout: TileLayout,
}

impl TryFrom<RawLayoutDefinition> for LayoutDefinition {
    type Error = Error;

    fn try_from(raw: RawLayoutDefinition) -> Result<Self, Error> {
        Self::new(raw.extent, raw.tile_layout)
    }
}

impl LayoutDefinition {
    /// Makes a layout, checking that the extent has area and the grid is not empty, that
    /// the layout's columns and rows fit a key's `i32`, and that tile and cell sizes are
    /// finite and positive (so every coordinate conversion is well defined).
    pub fn new(extent: Extent, tile_layout: TileLayout) -> Result<Self, Error> {
        let layout = Self {
            extent,
            tile_layout,
        };
        layout.validate()?;
        Ok(layout)
    }

    /// Checks the conditions [`LayoutDefinition::new`] checks.
    pub fn validate(&self) -> Result<(), Error> {
        self.extent.validate()?;
        if self.extent.width() <= 0.0 || self.extent.height() <= 0.0 {
            return Err(Error::InvalidLayout {
                reason: format!("extent {:?} has no area", self.extent),
            });
        }
        let t = &self.tile_layout;
        if t.layout_cols == 0 || t.layout_rows == 0 || t.tile_cols == 0 || t.tile_rows == 0 {
            return Err(Error::InvalidLayout {
                reason: format!("tile layout {t:?} has a zero dimension"),
            });
        }
        if t.layout_cols > i32::MAX.unsigned_abs() || t.layout_rows > i32::MAX.unsigned_abs() {
            return Err(Error::InvalidLayout {
                reason: format!("tile layout {t:?} has more tiles per axis than a key can number"),
            });
        }
        let (tw, th) = self.tile_size();
        let (cw, ch) = self.cell_size();
        for (what, v) in [
            ("tile width", tw),
            ("tile height", th),
            ("cell width", cw),
            ("cell height", ch),
        ] {
            // An extent wider than f64 can hold gives infinite sizes; a tiny one divided
            // into billions of cells underflows to 0.
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidLayout {
                    reason: format!(
                        "{what} of extent {:?} over tile layout {t:?} is {v}, not a finite positive size",
                        self.extent
                    ),
                });
            }
        }
        Ok(())
    }

    /// The width and height of one tile in map units.
    pub fn tile_size(&self) -> (f64, f64) {
        (
            self.extent.width() / f64::from(self.tile_layout.layout_cols),
            self.extent.height() / f64::from(self.tile_layout.layout_rows),
        )
    }

    /// The width and height of one cell in map units.
    pub fn cell_size(&self) -> (f64, f64) {
        (
            self.extent.width() / self.tile_layout.total_cols() as f64,
            self.extent.height() / self.tile_layout.total_rows() as f64,
        )
    }

    /// The layout's own key bounds: `(0, 0) ..= (layout_cols - 1, layout_rows - 1)`.
    pub fn bounds(&self) -> KeyBounds<SpatialKey> {
        let max_col = saturate_i32(i64::from(self.tile_layout.layout_cols) - 1).max(0);
        let max_row = saturate_i32(i64::from(self.tile_layout.layout_rows) - 1).max(0);
        KeyBounds {
            min: SpatialKey::new(0, 0),
            max: SpatialKey::new(max_col, max_row),
        }
    }

    /// Fractional grid column and row of a map point (tile units, row 0 at the top).
    fn grid(&self, x: f64, y: f64) -> (f64, f64) {
        let (tw, th) = self.tile_size();
        (
            snap(
                (x - self.extent.xmin) / tw,
                tolerance(x, self.extent.xmin, tw),
            ),
            snap(
                (self.extent.ymax - y) / th,
                tolerance(y, self.extent.ymax, th),
            ),
        )
    }

    /// The key of the tile holding the map point `(x, y)`.
    ///
    /// A point on a tile edge belongs to the tile east of it and the tile south of it (the
    /// tile whose top-left corner it is). Points outside the extent give keys outside
    /// [`LayoutDefinition::bounds`], e.g. negative columns; coordinates beyond the `i32`
    /// range saturate, and NaN coordinates give 0.
    pub fn map_to_key(&self, x: f64, y: f64) -> SpatialKey {
        let (gx, gy) = self.grid(x, y);
        // `as` from f64 to i32 saturates (and maps NaN to 0), which is what we want here.
        SpatialKey::new(gx.floor() as i32, gy.floor() as i32)
    }

    /// The map extent of a tile.
    pub fn key_extent(&self, key: SpatialKey) -> Extent {
        let (tw, th) = self.tile_size();
        let xmin = self.extent.xmin + f64::from(key.col) * tw;
        let ymax = self.extent.ymax - f64::from(key.row) * th;
        Extent {
            xmin,
            ymin: ymax - th,
            xmax: xmin + tw,
            ymax,
        }
    }

    /// The keys of every tile sharing area with `extent`.
    ///
    /// Edges are exclusive at the east and south: an extent ending exactly on a tile edge
    /// does not reach into the next tile. A zero-width extent still gives the one tile its
    /// edge falls in. The result may reach outside [`LayoutDefinition::bounds`].
    pub fn extent_to_bounds(&self, extent: &Extent) -> KeyBounds<SpatialKey> {
        let (gx0, gy0) = self.grid(extent.xmin, extent.ymax);
        let (gx1, gy1) = self.grid(extent.xmax, extent.ymin);
        let col0 = gx0.floor() as i32;
        let row0 = gy0.floor() as i32;
        let col1 = ((gx1.ceil() as i32).saturating_sub(1)).max(col0);
        let row1 = ((gy1.ceil() as i32).saturating_sub(1)).max(row0);
        KeyBounds {
            min: SpatialKey::new(col0, row0),
            max: SpatialKey::new(col1, row1),
        }
    }
}

/// How far from a whole number a grid coordinate `(a - origin) / tile` may land when `a`
/// is a tile edge computed in floating point: a few units in the last place of the larger
/// of `a` and `origin`, in tile units (a tiny tile far from the origin loses the most), and
/// never less than [`GRID_EPSILON`].
fn tolerance(a: f64, origin: f64, tile: f64) -> f64 {
    let ulps = 8.0 * f64::EPSILON * a.abs().max(origin.abs()) / tile;
    if ulps.is_finite() {
        ulps.max(GRID_EPSILON)
    } else {
        GRID_EPSILON
    }
}

fn snap(v: f64, tolerance: f64) -> f64 {
    let r = v.round();
    if (v - r).abs() < tolerance { r } else { v }
}

fn saturate_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}
