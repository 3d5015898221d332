//! The crate's one error type: what went wrong in a map file, and where.

use std::fmt;

/// Which checksummed block of a map file failed to match its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Block {
    /// The block of records starting at sparse index entry `n` (counted from 0).
    Records(u64),
    /// The header, the sparse index and the footer, which share one checksum.
    Metadata,
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block::Records(n) => write!(f, "record block {n}"),
            Block::Metadata => f.write_str("the header, sparse index and footer"),
        }
    }
}

/// Everything that can go wrong reading or writing a map file.
///
/// Offsets are byte offsets from the start of the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed map file.
    #[error("malformed map file at byte {offset}: {what}")]
    Format {
        /// Where the problem was found.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// The file is a map file, but of a format version this build cannot read.
    #[error("unsupported map file version {got} (this build reads version {expected})")]
    Version {
        /// The version this build reads and writes.
        expected: u32,
        /// The version found in the file.
        got: u32,
    },
    /// A block's bytes do not match the checksum stored for them.
    #[error("checksum mismatch in {block} (block starts at byte {offset})")]
    Checksum {
        /// Which block failed.
        block: Block,
        /// Where that block starts (for [`Block::Metadata`], the start of the sparse index).
        offset: u64,
    },
    /// A record was appended with an index smaller than the one before it.
    #[error(
        "records must be appended in never-decreasing index order, but index {next} came after {previous}"
    )]
    OutOfOrder {
        /// The index of the record appended before.
        previous: u64,
        /// The index of the rejected record.
        next: u64,
    },
    /// A payload is too long for the format's 32-bit length field.
    #[error("a payload of {len} bytes exceeds the format's limit of {max} bytes")]
    RecordTooLarge {
        /// The payload's length.
        len: u64,
        /// The largest payload the format can hold.
        max: u64,
    },
    /// A writer option is out of range.
    #[error("invalid map file option `{option}`: {what}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong with its value.
        what: &'static str,
    },
    /// A file name does not follow `part-r-<partition:05>-<first index>`.
    #[error("{name:?} is not a part file name (expected part-r-<partition:05>-<first index>)")]
    FileName {
        /// The offending name.
        name: String,
    },
    /// An IO error from the file system.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for a [`Error::Format`] error.
pub(crate) fn format_err(offset: usize, what: &'static str) -> Error {
    Error::Format {
        offset: offset as u64,
        what,
    }
}
