//! Sorted, checksummed, memory-mapped part files of (u64 index, bytes) records.
#![deny(missing_docs)]
