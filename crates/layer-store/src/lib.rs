//! A catalog of tile layers on mapfile parts: bounded-memory write, read, query, update, reindex.
#![deny(missing_docs)]
