//! Tessera stores keyed raster tiles and serves them back fast.
//!
//! This crate is a facade: it re-exports the workspace's crates so that one
//! dependency brings them all. Each module is the crate of the same name.
//!
//! ```
//! use tessera::sfc_index;
//! let _ = core::any::type_name::<sfc_index::ZOrder2>();
//! ```
//!
//! # Crate features
//! None yet: every crate is always included.
#![deny(missing_docs)]

pub use keyed_tile;
pub use layer_store;
pub use mapfile;
pub use pool_tuning;
pub use raster;
pub use sfc_index;
pub use writer_with_retry;
