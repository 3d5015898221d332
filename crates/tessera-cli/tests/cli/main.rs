//! Tests of the `tessera` binary, one module per command group.

mod index;
mod layer;
mod mapfile;
mod raster;
mod raster_warp;
mod tune;
mod util;
