//! Spatial and space-time keys, layouts, cell types, tiles, the tile codec, and key indexes.
#![deny(missing_docs)]
