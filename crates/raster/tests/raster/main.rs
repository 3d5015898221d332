//! Integration tests of the raster crate: one binary, one module per topic.

mod crs;
mod geotiff;
mod png;
mod pyramid;
mod tiling;
mod warp;

use std::path::PathBuf;

/// The shared sample rasters (`/work/shared/data`, see its README.md for their origin and
/// Apache-2.0 licence), referenced in place rather than copied.
pub(crate) fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name)
}

/// A committed golden file next to these tests.
pub(crate) fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/raster/golden")
        .join(name)
}
