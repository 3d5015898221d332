//! A catalog of tile layers on mapfile parts: bounded-memory write, read, query, update, reindex.
//!
//! A [`Catalog`] is a directory of layers, each named by a [`LayerId`] (a validated name
//! and a zoom level). A layer is a set of [mapfile] parts with exclusive, sorted index
//! ranges, plus a metadata document in the [`AttributeStore`] (ADR 0002).
//!
//! ```
//! use keyed_tile::{CellType, Extent, KeyBounds, LayoutDefinition, SpatialKey, TileLayout};
//! use layer_store::{Catalog, KeyIndexMethod, LayerId, LayerMetadata, UpdateOptions, WriteOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let catalog = Catalog::open(dir.path())?;
//! let id = LayerId::new("elevation", 3)?;
//! let layout = LayoutDefinition::new(Extent::new(0.0, 0.0, 8.0, 8.0)?, TileLayout::new(8, 8, 256, 256))?;
//! let bounds = KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(7, 7))?;
//! let metadata = LayerMetadata {
//!     layout_definition: layout,
//!     extent: layout.extent,
//!     crs: "EPSG:3857".into(),
//!     cell_type: "int16".parse::<CellType>()?,
//!     bounds,
//! };
//! // Records come in any order; values are stored as given (e.g. keyed_tile::codec bytes).
//! let records = (0..8).map(|c| (SpatialKey::new(c, c), vec![c as u8; 4]));
//! let method = KeyIndexMethod::ZOrder { temporal_resolution_ms: None };
//! catalog.write(&id, metadata, method, records, &WriteOptions::default())?;
//!
//! let reader = catalog.reader::<SpatialKey>(&id)?;
//! assert_eq!(reader.read(&SpatialKey::new(3, 3))?, vec![3u8; 4]);
//! let in_box = KeyBounds::new(SpatialKey::new(2, 2), SpatialKey::new(5, 5))?;
//! assert_eq!(reader.query(&in_box)?.count(), 4);
//!
//! // Merge new values in; the merge function sees (existing, updating).
//! let update = vec![(SpatialKey::new(3, 3), vec![9u8])];
//! catalog.update(&id, update, |_key, old: &[u8], new: &[u8]| [old, new].concat(), &UpdateOptions::default())?;
//! let reader = catalog.reader::<SpatialKey>(&id)?;
//! assert_eq!(reader.read(&SpatialKey::new(3, 3))?, vec![3, 3, 3, 3, 9]);
//! catalog.verify(&id)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # On disk
//! ```text
//! <catalog>/
//!   _attributes/<name>__<zoom>__metadata.json   header, metadata, keyIndex, codec
//!   _attributes/<name>__<zoom>__<attr>.json     further attributes
//!   _locks/<name>__<zoom>.lock                  writer locks (advisory)
//!   <name>/<zoom>/g<generation>/part-r-<partition:05>-<first index>
//!   <name>/<zoom>/.stage-g<generation>/                 parts being written (transient)
//! ```
//! Records are mapfile records: the index is the key index of the key, the payload is the
//! key ([`keyed_tile::Key::write_to`]) followed by the value. Several keys can share an
//! index; reads compare the stored key.
//!
//! **Why a generation directory.** DESIGN.md places parts at `<name>/<zoom>/part-r-…`; this
//! crate adds one directory level, `g<generation>`, named by the metadata's
//! `header.generation` (the generation pointer DESIGN.md allows). It is what makes every
//! change atomic:
//! 1. a write, update or reindex builds a complete new generation beside the current one
//!    (an update hard-links the parts it does not touch), then fsyncs it;
//! 2. the metadata document, now naming the new generation, replaces the old one by
//!    rename: this is the commit point;
//! 3. the old generation is removed.
//!
//! A process killed before step 2 leaves the old layer, after it the new one; never a mix.
//! A delete removes the metadata first, so the layer is gone at once, then its files.
//! Leftovers (unreferenced generations, spill directories, temporary attribute files) are
//! never read, and [`Catalog::open`] removes them for every layer whose lock is free.
//! [`crash`] holds the kill-the-writer test that shows this.
//!
//! **Parts go through writer-with-retry's `Store`.** Each partition is written by its own
//! task of pool-tuning's executor, in parallel. A part file is streamed with mapfile's
//! writer to a staging directory `.stage-g<generation>`, then handed to the catalog's
//! [`PartStore`] with [`Store::put_file`](writer_with_retry::Store::put_file), retried with
//! exponential backoff on transient errors; a permanent error or exhausted retries is an
//! [`Error::PartStore`] naming the part, and the layer is left as it was. `put_file` takes
//! a file, not bytes, so a part (up to 128 MiB) is never held in memory; the default
//! [`writer_with_retry::FileStore`] hard-links the staged file into the generation
//! directory, fsynced when [`CatalogOptions::sync`] is on. The generation switch happens
//! only after every part is in place. [`Catalog::open_with_store`] takes another store
//! (a [`writer_with_retry::FaultyStore`] in tests).
//!
//! **Memory.** A write keeps at most about `memory_budget` bytes of records in memory;
//! beyond it, sorted runs spill to disk and are merged k ways per partition (at most 32
//! runs are kept; more are merged into one first). Partitions are index ranges computed
//! from the data's key bounds through the key index, without sampling. Records of 4 KiB
//! and more (tiles) spill differently: the buffered values go, in index order and gathered
//! straight from memory, to a value log written by threads of their own, and the runs hold
//! only each record's index and place in the log. Spilling then costs one write of each
//! byte and no copying within the process, and the merge reads each value once, by its
//! place. As each partition is merged, what it has read is punched out of the log, so a
//! write holds little more page cache than the parts it writes (1.04-1.06 times the data in
//! store-compare, against 1.8 times when the log stayed whole until the end).
//! Once the layer is committed, the records held in memory are freed, the spill files'
//! names removed and the write returns; closing them, when the kernel frees what page
//! cache they still hold, happens on a thread of its own, which
//! [`Catalog::wait_for_cleanup`] and dropping the last clone of the catalog wait for.
//!
//! **Speed on Linux.** Part files are written in 2 MiB-aligned chunks (mapfile's
//! [`mapfile::ChunkWriter`]), so the page cache holds them in 2 MiB folios that readers map
//! with huge pages: a point read then costs about one cache miss rather than a miss and a
//! page-table walk. While a part is written, the kernel is asked every 8 MiB to start
//! writing it to disk, so the fsync that stores it waits only for its last stretch.
//!
//! # Crate features
//! None: the crate has no optional parts.
#![deny(missing_docs)]

mod arena;
mod attributes;
mod catalog;
mod cleanup;
pub mod crash;
mod error;
mod exec;
mod fsutil;
mod id;
mod keyindex;
mod layer;
mod lock;
mod parts;
mod reader;
mod sort;
mod store;
mod write;

pub use attributes::{ATTRIBUTES_DIR, AttributeStore, METADATA};
pub use catalog::{Catalog, CatalogOptions, LOCKS_DIR, LayerInfo};
pub use error::{Error, Result};
pub use id::{LayerId, MAX_NAME_BYTES};
pub use keyindex::{KeyIndexChoice, KeyIndexMethod, LayerKeyIndex};
pub use layer::{LAYOUT_VERSION, LayerAttributes, LayerHeader, LayerKey, LayerMetadata};
pub use reader::{LayerReader, PARALLEL_MIN_CELLS, QueryIter, QueryOptions, VerifyReport};
pub use store::PartStore;
pub use write::{
    DEFAULT_MEMORY_BUDGET, MAX_PARTITIONS, Phase, Progress, ProgressFn, UpdateOptions,
    WriteOptions, WriteReport, updating_wins,
};
pub use writer_with_retry;
