//! A catalog of tile layers on mapfile parts: bounded-memory write, read, query, update, reindex.
#![deny(missing_docs)]

mod attributes;
mod error;
mod fsutil;
mod id;
mod lock;
mod sort;

pub use attributes::{ATTRIBUTES_DIR, AttributeStore, METADATA};
pub use error::{Error, Result};
pub use id::{LayerId, MAX_NAME_BYTES};
