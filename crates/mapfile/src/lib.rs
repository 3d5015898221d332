//! Sorted, checksummed, memory-mapped part files of (u64 index, bytes) records.
//!
//! A map file holds records sorted by a `u64` index (several records may share one), a
//! sparse index of every Nth record, a CRC32 per block of records and one over everything
//! else. It is the part-file format of ADR 0002: a layer is a directory of files named
//! `part-r-<partition:05>-<first index>`, each covering the indexes from its first index up
//! to the next file's. The byte layout is specified in `FORMAT.md`.
//!
//! ```
//! use mapfile::{MapFileReader, MapFileWriter, WriterOptions};
//!
//! let mut writer = MapFileWriter::new(Vec::new(), WriterOptions::default())?;
//! for index in [1u64, 5, 5, 9] {
//!     writer.append(index, format!("tile {index}").as_bytes())?;
//! }
//! let (bytes, _summary) = writer.finish()?;
//!
//! let reader = MapFileReader::new(bytes)?; // cheap structural checks
//! reader.verify()?; // every checksum
//! assert_eq!(reader.get(5)?.len(), 2);
//! let found: Vec<u64> = reader
//!     .ranges(&[0..=1, 8..=100])
//!     .map(|r| r.map(|r| r.index))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(found, [1, 9]);
//! # Ok::<(), mapfile::Error>(())
//! ```
//!
//! On disk, [`MultiFileWriter`] writes a partition's records as part files (each atomically:
//! temporary name, fsync, rename), [`MapFileReader::open`] memory-maps one, and
//! [`select_files`] picks the files a query can touch from their names alone.
//!
//! Writers hand the OS 2 MiB-aligned chunks ([`ChunkWriter`]): on Linux the page cache
//! then keeps a file in 2 MiB folios, and memory maps of it use huge pages, so a point
//! lookup ([`MapFileReader::get`], [`MapFileReader::get_iter`]) in a large file pays a
//! cache miss, not a cache miss and a page-table walk.
//!
//! # Crate features
//! None: the crate has no optional parts.
#![deny(missing_docs)]

mod chunk;
mod error;
mod fileset;
mod format;
mod reader;
mod writer;

pub use chunk::{ChunkWriter, DEFAULT_CHUNK_BYTES};
pub use error::{Block, Error, Result};
pub use fileset::{
    PartName, list_part_files, parse_part_name, parse_part_name_or_err, part_file_name,
    select_files,
};
pub use format::{
    FOOTER_LEN, HEADER_LEN, INDEX_ENTRY_LEN, MAGIC, MAX_PAYLOAD_LEN, RECORD_HEADER_LEN, VERSION,
};
pub use reader::{Info, MapFileReader, MappedReader, Matches, Ranges, Record};
pub use writer::{
    DEFAULT_INDEX_INTERVAL, DEFAULT_MAX_FILE_BYTES, FileSummary, FileWriter, MapFileWriter,
    MultiFileWriter, MultiWriterOptions, PartFile, WriterOptions,
};
