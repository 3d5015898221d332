//! Layout schemes: zoomed (web mercator and EPSG:4326 zoom levels) and floating (native resolution) `LayoutDefinition`s.
//!
//! The zoomed scheme follows the TMS / GeoTrellis conventions gdal2tiles also uses: in web
//! mercator (EPSG:3857) zoom `z` has `2^z × 2^z` tiles over the square world, and in
//! EPSG:4326 it has `2^(z+1) × 2^z` tiles over `[-180, -90, 180, 90]` (gdal2tiles'
//! "geodetic" profile), so cells are square in both.

use keyed_tile::{Extent, LayoutDefinition, TileLayout};

use crate::crs::Crs;
use crate::error::{Error, Result};
use crate::geo::GeoTransform;

/// Half the circumference of the web mercator sphere (radius 6378137 m): the world spans
/// `[-π·R, π·R]` in both axes.
pub const WEB_MERCATOR_HALF_WORLD: f64 = 20_037_508.342_789_244;

/// The highest zoom level the zoomed scheme hands out: `2^31` tiles per axis would overflow
/// a key's `i32` column at 4326's `2^(z+1)`.
pub const MAX_ZOOM: u32 = 30;

/// The default tile size, in cells per side (gdal2tiles and GeoTrellis both use 256).
pub const DEFAULT_TILE_SIZE: u32 = 256;

/// Which world grid a [`ZoomedLayoutScheme`] tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZoomedWorld {
    /// EPSG:3857: `2^z × 2^z` square tiles.
    WebMercator,
    /// EPSG:4326: `2^(z+1) × 2^z` tiles of square degree cells.
    Geographic,
}

/// How to pick a zoom level for a given cell size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZoomRounding {
    /// The coarsest zoom whose cells are at least as fine as the given size (GeoTrellis:
    /// no detail is lost).
    Finer,
    /// The finest zoom whose cells are not finer than the given size (gdal2tiles' default
    /// maximum zoom).
    Coarser,
    /// The zoom whose cell size is closest on a log scale.
    Nearest,
}

/// Zoom-level layouts over the whole world, as in web maps.
///
/// ```
/// use raster::ZoomedLayoutScheme;
/// let scheme = ZoomedLayoutScheme::web_mercator(256);
/// let z2 = scheme.layout_for_zoom(2).unwrap();
/// assert_eq!((z2.tile_layout.layout_cols, z2.tile_layout.layout_rows), (4, 4));
/// let geo = ZoomedLayoutScheme::geographic(256).layout_for_zoom(2).unwrap();
/// assert_eq!((geo.tile_layout.layout_cols, geo.tile_layout.layout_rows), (8, 4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ZoomedLayoutScheme {
    world: ZoomedWorld,
    tile_size: u32,
}

impl ZoomedLayoutScheme {
    /// The web mercator scheme with `tile_size` × `tile_size` tiles.
    pub fn web_mercator(tile_size: u32) -> Self {
        Self {
            world: ZoomedWorld::WebMercator,
            tile_size,
        }
    }

    /// The EPSG:4326 scheme with `tile_size` × `tile_size` tiles.
    pub fn geographic(tile_size: u32) -> Self {
        Self {
            world: ZoomedWorld::Geographic,
            tile_size,
        }
    }

    /// The scheme for `crs` (EPSG:3857 or EPSG:4326), or an error for any other CRS.
    pub fn for_crs(crs: &Crs, tile_size: u32) -> Result<Self> {
        match crs.epsg() {
            Some(3857 | 900_913 | 3785) => Ok(Self::web_mercator(tile_size)),
            Some(4326) => Ok(Self::geographic(tile_size)),
            _ => Err(Error::InvalidArgument(format!(
                "the zoomed layout scheme needs EPSG:3857 or EPSG:4326, not {}",
                crs.label()
            ))),
        }
    }

    /// Which world this scheme tiles.
    pub fn world(&self) -> ZoomedWorld {
        self.world
    }

    /// Cells per tile side.
    pub fn tile_size(&self) -> u32 {
        self.tile_size
    }

    /// The CRS of the layouts.
    pub fn crs(&self) -> Result<Crs> {
        match self.world {
            ZoomedWorld::WebMercator => Crs::from_epsg(3857),
            ZoomedWorld::Geographic => Crs::from_epsg(4326),
        }
    }

    /// The world extent every zoom level covers.
    pub fn world_extent(&self) -> Extent {
        match self.world {
            ZoomedWorld::WebMercator => Extent {
                xmin: -WEB_MERCATOR_HALF_WORLD,
                ymin: -WEB_MERCATOR_HALF_WORLD,
                xmax: WEB_MERCATOR_HALF_WORLD,
                ymax: WEB_MERCATOR_HALF_WORLD,
            },
            ZoomedWorld::Geographic => Extent {
                xmin: -180.0,
                ymin: -90.0,
                xmax: 180.0,
                ymax: 90.0,
            },
        }
    }

    /// Tiles per row and per column at `zoom`.
    fn tiles_at(self, zoom: u32) -> (u32, u32) {
        match self.world {
            ZoomedWorld::WebMercator => (1 << zoom, 1 << zoom),
            ZoomedWorld::Geographic => (1 << (zoom + 1), 1 << zoom),
        }
    }

    /// The cell size (map units per cell, square) at `zoom`.
    pub fn cell_size(&self, zoom: u32) -> f64 {
        let (cols, _) = self.tiles_at(zoom.min(MAX_ZOOM));
        self.world_extent().width() / (f64::from(cols) * f64::from(self.tile_size))
    }

    /// The layout of zoom level `zoom`.
    pub fn layout_for_zoom(&self, zoom: u32) -> Result<LayoutDefinition> {
        if zoom > MAX_ZOOM {
            return Err(Error::InvalidArgument(format!(
                "zoom {zoom} is above the maximum {MAX_ZOOM}"
            )));
        }
        if self.tile_size == 0 {
            return Err(Error::InvalidArgument("tile size 0".into()));
        }
        let (cols, rows) = self.tiles_at(zoom);
        LayoutDefinition::new(
            self.world_extent(),
            TileLayout::new(cols, rows, self.tile_size, self.tile_size),
        )
        .map_err(|e| Error::InvalidArgument(format!("zoom {zoom} layout: {e}")))
    }

    /// The zoom level for cells of `cell_size` map units, rounded as `rounding` says.
    pub fn zoom_for_cell_size(&self, cell_size: f64, rounding: ZoomRounding) -> u32 {
        if !(cell_size.is_finite() && cell_size > 0.0) {
            return 0;
        }
        // Continuous zoom: cell_size(z) = cell_size(0) / 2^z.
        let z = (self.cell_size(0) / cell_size).log2();
        // A small tolerance keeps an exact zoom's own cell size on that zoom.
        let eps = 1e-9;
        let z = match rounding {
            ZoomRounding::Finer => (z - eps).ceil(),
            ZoomRounding::Coarser => (z + eps).floor(),
            ZoomRounding::Nearest => z.round(),
        };
        z.clamp(0.0, f64::from(MAX_ZOOM)) as u32
    }
}

/// A layout at a raster's own resolution: tiles of a fixed size laid from its upper-left
/// corner, the extent grown to whole tiles (GeoTrellis' `FloatingLayoutScheme`).
///
/// ```
/// use raster::{FloatingLayoutScheme, GeoTransform};
/// let gt = GeoTransform::north_up(100.0, 200.0, 10.0, 10.0);
/// let layout = FloatingLayoutScheme::new(4, 4).layout_for(&gt, 10, 5).unwrap();
/// assert_eq!((layout.tile_layout.layout_cols, layout.tile_layout.layout_rows), (3, 2));
/// assert_eq!(layout.extent.xmax, 100.0 + 12.0 * 10.0);
/// assert_eq!(layout.extent.ymin, 200.0 - 8.0 * 10.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FloatingLayoutScheme {
    tile_cols: u32,
    tile_rows: u32,
}

impl Default for FloatingLayoutScheme {
    fn default() -> Self {
        Self::new(DEFAULT_TILE_SIZE, DEFAULT_TILE_SIZE)
    }
}

impl FloatingLayoutScheme {
    /// Tiles of `tile_cols` × `tile_rows` cells.
    pub fn new(tile_cols: u32, tile_rows: u32) -> Self {
        Self {
            tile_cols,
            tile_rows,
        }
    }

    /// The layout for a north-up `cols` × `rows` raster with transform `gt`.
    pub fn layout_for(
        &self,
        gt: &GeoTransform,
        cols: usize,
        rows: usize,
    ) -> Result<LayoutDefinition> {
        if gt.is_rotated() {
            return Err(Error::unsupported(
                "a floating layout for a rotated raster (warp it north-up first)",
            ));
        }
        if self.tile_cols == 0 || self.tile_rows == 0 || cols == 0 || rows == 0 {
            return Err(Error::InvalidArgument(format!(
                "floating layout of {}x{} tiles over a {cols}x{rows} raster",
                self.tile_cols, self.tile_rows
            )));
        }
        let cw = gt.pixel_width.abs();
        let ch = gt.pixel_height.abs();
        let xmin = gt.origin_x.min(gt.origin_x + cols as f64 * gt.pixel_width);
        let ymax = gt.origin_y.max(gt.origin_y + rows as f64 * gt.pixel_height);
        let layout_cols = cols.div_ceil(self.tile_cols as usize);
        let layout_rows = rows.div_ceil(self.tile_rows as usize);
        let too_big = |n: usize| {
            u32::try_from(n).map_err(|_| Error::InvalidArgument(format!("{n} tiles per axis")))
        };
        let layout_cols = too_big(layout_cols)?;
        let layout_rows = too_big(layout_rows)?;
        let extent = Extent {
            xmin,
            ymin: ymax - f64::from(layout_rows) * f64::from(self.tile_rows) * ch,
            xmax: xmin + f64::from(layout_cols) * f64::from(self.tile_cols) * cw,
            ymax,
        };
        LayoutDefinition::new(
            extent,
            TileLayout::new(layout_cols, layout_rows, self.tile_cols, self.tile_rows),
        )
        .map_err(|e| Error::InvalidArgument(format!("floating layout: {e}")))
    }
}

/// The north-up geotransform of one tile of `layout`.
pub fn tile_transform(layout: &LayoutDefinition, key: keyed_tile::SpatialKey) -> GeoTransform {
    let e = layout.key_extent(key);
    let (cw, ch) = layout.cell_size();
    GeoTransform::north_up(e.xmin, e.ymax, cw, ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_levels_follow_tms_counts_and_resolutions() {
        let wm = ZoomedLayoutScheme::web_mercator(256);
        let l0 = wm.layout_for_zoom(0).unwrap();
        assert_eq!(l0.tile_layout.layout_cols, 1);
        // gdal2tiles: 156543.03392804097 m per pixel at zoom 0.
        assert!((wm.cell_size(0) - 156_543.033_928_040_97).abs() < 1e-6);
        let l5 = wm.layout_for_zoom(5).unwrap();
        assert_eq!(
            (l5.tile_layout.layout_cols, l5.tile_layout.layout_rows),
            (32, 32)
        );
        let geo = ZoomedLayoutScheme::geographic(256);
        // gdal2tiles geodetic: 180 / 256 degrees per pixel at zoom 0.
        assert!((geo.cell_size(0) - 180.0 / 256.0).abs() < 1e-15);
        let (cw, ch) = geo.layout_for_zoom(3).unwrap().cell_size();
        assert!((cw - ch).abs() < 1e-15);
        assert!(wm.layout_for_zoom(MAX_ZOOM + 1).is_err());
    }

    #[test]
    fn zoom_for_cell_size_rounds_as_asked() {
        let wm = ZoomedLayoutScheme::web_mercator(256);
        let c10 = wm.cell_size(10);
        assert_eq!(wm.zoom_for_cell_size(c10, ZoomRounding::Finer), 10);
        assert_eq!(wm.zoom_for_cell_size(c10, ZoomRounding::Coarser), 10);
        let between = c10 * 0.8;
        assert_eq!(wm.zoom_for_cell_size(between, ZoomRounding::Finer), 11);
        assert_eq!(wm.zoom_for_cell_size(between, ZoomRounding::Coarser), 10);
        assert_eq!(wm.zoom_for_cell_size(between, ZoomRounding::Nearest), 10);
    }

    #[test]
    fn floating_layout_covers_the_raster_from_its_corner() {
        let gt = GeoTransform::north_up(0.0, 0.0, 2.0, 3.0);
        let l = FloatingLayoutScheme::new(256, 256)
            .layout_for(&gt, 257, 256)
            .unwrap();
        assert_eq!(
            (l.tile_layout.layout_cols, l.tile_layout.layout_rows),
            (2, 1)
        );
        assert_eq!(l.cell_size(), (2.0, 3.0));
        let t = tile_transform(&l, keyed_tile::SpatialKey::new(1, 0));
        assert_eq!(t.origin_x, 512.0);
        assert_eq!(t.origin_y, 0.0);
        let rotated = GeoTransform::from_gdal([0.0, 1.0, 0.5, 0.0, 0.5, -1.0]);
        assert!(
            FloatingLayoutScheme::default()
                .layout_for(&rotated, 4, 4)
                .is_err()
        );
    }
}
