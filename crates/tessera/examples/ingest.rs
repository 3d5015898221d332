//! End-to-end ingest: a GeoTIFF becomes a web-mercator tile pyramid in a layer catalog.
//!
//! ```sh
//! cargo run --release -p tessera --example ingest -- ../shared/data/L7_ETMs.tif /tmp/catalog
//! ```
//!
//! It reads the raster, picks the zoom whose cells are at least as fine as the source's,
//! cuts the raster into 256 × 256 tiles of that zoom (reprojecting on the way), builds the
//! pyramid down to zoom 0, writes every level as a layer, and queries each level back.

use std::error::Error;
use std::path::PathBuf;

use tessera::keyed_tile::{Extent, KeyBounds, SpatialKey, codec::Compression};
use tessera::layer_store::{Catalog, KeyIndexMethod, LayerId, LayerMetadata, WriteOptions};
use tessera::raster::{
    self, PyramidMethod, ResampleMethod, TileOptions, WarpOptions, ZoomRounding, ZoomedLayoutScheme,
};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(catalog_dir)) = (args.next(), args.next()) else {
        eprintln!("usage: ingest INPUT.tif CATALOG_DIR");
        std::process::exit(2);
    };
    let (input, catalog_dir) = (PathBuf::from(input), PathBuf::from(catalog_dir));
    let name = input
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-"))
        .ok_or("the input file has no usable name")?;

    let source = raster::read_geotiff(&input)?;
    let scheme = ZoomedLayoutScheme::web_mercator(256);
    let crs = scheme.crs()?;
    // The zoom follows the cell size the source has once reprojected, as gdalwarp would pick it.
    let grid = raster::target_grid(&source, &crs, &WarpOptions::default())?;
    let zoom = scheme.zoom_for_cell_size(grid.transform.pixel_width.abs(), ZoomRounding::Finer);
    let layout = scheme.layout_for_zoom(zoom)?;
    let options = TileOptions {
        method: ResampleMethod::Bilinear,
        ..TileOptions::default()
    };
    let base = raster::tile_to_layout(&source, &layout, &crs, &options)?;
    println!("{}: {} tiles at zoom {zoom}", input.display(), base.len());
    let levels = raster::build_pyramid(&scheme, zoom, base, 0, PyramidMethod::Average, 0)?;

    let catalog = Catalog::open(&catalog_dir)?;
    for level in levels {
        let Some(bounds) = key_bounds(level.tiles.iter().map(|(k, _)| *k)) else {
            continue;
        };
        let id = LayerId::new(name.clone(), level.zoom)?;
        let metadata = LayerMetadata {
            layout_definition: level.layout,
            extent: extent_of(&level.layout, &bounds),
            crs: "EPSG:3857".to_owned(),
            cell_type: source.cell_type(),
            bounds,
        };
        let count = level.tiles.len();
        let report = catalog.write_tiles(
            &id,
            metadata,
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            },
            level.tiles,
            Compression::Zstd(1),
            &WriteOptions::default().overwrite(true),
        )?;
        // Read the whole level back through a box query, decoding every tile.
        let reader = catalog.reader::<SpatialKey>(&id)?;
        let mut read = 0;
        for record in reader.query(&bounds)? {
            let (key, _) = record?;
            reader.read_tile(&key)?;
            read += 1;
        }
        println!(
            "zoom {:>2}: wrote {count} tiles in {} part(s), {} bytes; read back {read}",
            id.zoom(),
            report.parts_written,
            report.bytes_written
        );
    }
    Ok(())
}

/// The smallest key bounds holding every key, or `None` for no keys.
fn key_bounds(keys: impl Iterator<Item = SpatialKey>) -> Option<KeyBounds<SpatialKey>> {
    keys.fold(None::<(SpatialKey, SpatialKey)>, |acc, k| {
        Some(match acc {
            None => (k, k),
            Some((lo, hi)) => (
                SpatialKey::new(lo.col.min(k.col), lo.row.min(k.row)),
                SpatialKey::new(hi.col.max(k.col), hi.row.max(k.row)),
            ),
        })
    })
    .and_then(|(lo, hi)| KeyBounds::new(lo, hi).ok())
}

/// The map extent of the tiles in `bounds`.
fn extent_of(
    layout: &tessera::keyed_tile::LayoutDefinition,
    bounds: &KeyBounds<SpatialKey>,
) -> Extent {
    let a = layout.key_extent(bounds.min);
    let b = layout.key_extent(bounds.max);
    Extent {
        xmin: a.xmin.min(b.xmin),
        ymin: a.ymin.min(b.ymin),
        xmax: a.xmax.max(b.xmax),
        ymax: a.ymax.max(b.ymax),
    }
}
