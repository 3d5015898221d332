//! GeoTIFF in and out, CRS, reprojection, resampling, tiling to layouts, pyramids and PNG.
//!
//! A [`Raster`] is a keyed-tile [`MultibandTile`](keyed_tile::MultibandTile) with a
//! [`GeoTransform`] (GDAL's six coefficients) and a [`Crs`]. Read one with [`read_geotiff`],
//! write it with [`write_geotiff`], render it with [`render_png`], and move points between CRSs
//! with a [`Transformer`] (proj4rs, with the crs-definitions EPSG table).
//!
//! ```
//! use keyed_tile::{CellType, MultibandTile, Tile};
//! use raster::{Crs, GeoTransform, Limits, Raster, Transformer, WriteOptions};
//!
//! // A 4x3 float raster in UTM 25S, with NoData -9999.
//! let cell_type: CellType = "float32ud-9999".parse()?;
//! let values: Vec<f64> = (0..12).map(f64::from).collect();
//! let tile = Tile::from_f64s(cell_type, 4, 3, &values)?;
//! let raster = Raster {
//!     tile: MultibandTile::from(tile),
//!     transform: GeoTransform::north_up(288_776.25, 9_120_760.75, 30.0, 30.0),
//!     crs: Crs::parse("EPSG:31985")?,
//! };
//!
//! // GeoTIFF round trip in memory.
//! let bytes = raster::write_geotiff_bytes(&raster, &WriteOptions::default())?;
//! let back = raster::read_geotiff_bytes(&bytes, &Limits::default())?;
//! assert_eq!(back, raster);
//! assert_eq!(back.nodata(), Some(-9999.0));
//!
//! // The upper-left corner in longitude/latitude.
//! let to_wgs84 = Transformer::new(&raster.crs, &Crs::parse("EPSG:4326")?)?;
//! let (lon, lat) = to_wgs84.transform(288_776.25, 9_120_760.75)?;
//! assert!((lon + 34.916).abs() < 0.001 && (lat + 7.950).abs() < 0.001);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//! None: GeoTIFF (tiff), PNG (png) and CRS support (proj4rs, crs-definitions) are always built.
#![deny(missing_docs)]

mod bands;
mod crs;
mod error;
mod geo;
mod geokeys;
mod geotiff;
mod layout;
mod png;
mod pyramid;
mod resample;
mod tiling;
mod warp;

pub use crs::{Crs, Transformer};
pub use error::{Error, Result};
pub use geo::{GeoTransform, Raster};
pub use geotiff::{
    BigTiff, ChunkLayout, Compression, GeoTiffInfo, Interleave, Limits, SampleType, WriteOptions,
    read_geotiff, read_geotiff_bytes, read_geotiff_info, read_geotiff_info_bytes,
    read_geotiff_with, write_geotiff, write_geotiff_bytes, write_geotiff_with,
};
pub use layout::{
    DEFAULT_TILE_SIZE, FloatingLayoutScheme, MAX_ZOOM, WEB_MERCATOR_HALF_WORLD, ZoomRounding,
    ZoomedLayoutScheme, ZoomedWorld, tile_transform,
};
pub use png::{ColorRamp, RenderOptions, Stretch, render_png, render_png_bytes};
pub use pyramid::{PyramidLevel, PyramidMethod, build_pyramid, downsample_level};
pub use resample::{BandView, Pixel, ResampleMethod, Sampler};
pub use tiling::{KeyedTile, TileOptions, tile_to_layout};
pub use warp::{
    DEFAULT_ERROR_THRESHOLD, DEFAULT_THREADS, Grid, WarpMode, WarpOptions, suggested_grid,
    target_grid, warp, warp_tiles,
};
