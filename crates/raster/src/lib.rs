//! GeoTIFF in and out, CRS, reprojection, resampling, tiling to layouts, pyramids and PNG.
#![deny(missing_docs)]
