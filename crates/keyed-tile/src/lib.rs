//! Spatial and space-time keys, layouts, cell types, tiles, the tile codec, and key indexes.
//!
//! A layer is a grid of tiles. This crate names the tiles ([`SpatialKey`],
//! [`SpaceTimeKey`], [`KeyBounds`]), places them on the map ([`LayoutDefinition`]), holds
//! their cells ([`CellType`], [`Tile`], [`MultibandTile`]), turns them into bytes and back
//! ([`codec`]), and orders keys along a space-filling curve for storage ([`index`]).
//!
//! ```
//! use keyed_tile::codec::{self, Compression};
//! use keyed_tile::{CellType, Extent, LayoutDefinition, MultibandTile, SpatialKey, Tile, TileLayout};
//!
//! // A 4x4-tile layout of 256x256-cell tiles over a 1024 m square.
//! let layout = LayoutDefinition::new(
//!     Extent::new(0.0, 0.0, 1024.0, 1024.0)?,
//!     TileLayout::new(4, 4, 256, 256),
//! )?;
//! assert_eq!(layout.cell_size(), (1.0, 1.0));
//! // Row 0 is the top row.
//! assert_eq!(layout.map_to_key(300.0, 1000.0), SpatialKey::new(1, 0));
//!
//! // A tile, encoded with the default compression and decoded again.
//! let mut tile = Tile::new("int16ud-9999".parse::<CellType>()?, 256, 256)?;
//! tile.set(10, 20, 1234)?;
//! let bytes = codec::encode(&MultibandTile::from(tile.clone()), Compression::default());
//! let back = codec::decode(&bytes)?;
//! assert_eq!(back.band(0), Some(&tile));
//! # Ok::<(), keyed_tile::Error>(())
//! ```
//!
//! # Crate features
//! None: serde support and every compression of the codec (lz4_flex, zstd, deflate via
//! flate2) are always built, because layers written with any of them must stay readable.
#![deny(missing_docs)]

mod cell_type;
pub mod codec;
mod error;
pub mod index;
mod key;
mod layout;
mod tile;

pub use cell_type::{BaseType, CellType, NoData};
pub use error::Error;
pub use index::{AnyKeyIndex, HilbertKeyIndex, KeyIndex, RowMajorKeyIndex, ZCurveKeyIndex};
pub use key::{Key, KeyBounds, SpaceTimeKey, SpatialKey};
pub use layout::{Extent, LayoutDefinition, TileLayout};
pub use tile::{CellBuffer, MAX_CELLS, MultibandTile, Tile};
