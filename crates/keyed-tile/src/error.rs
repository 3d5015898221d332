//! The crate's one error type: what went wrong, and where (key, text, byte offset).

/// Everything that can go wrong in `keyed-tile`.
///
/// Malformed input (a corrupt tile, bad text), unsupported input, exceeded limits and API
/// misuse are separate variants, so callers can tell them apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An IO error passed through.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// An error from the space-filling curve crate.
    #[error(transparent)]
    Sfc(#[from] sfc_index::Error),

    /// A cell type name could not be parsed.
    #[error("invalid cell type `{text}`: {reason}")]
    CellTypeParse {
        /// The text that was given.
        text: String,
        /// Why it is not a cell type.
        reason: String,
    },

    /// A compression name could not be parsed.
    #[error("invalid compression `{text}`: {reason}")]
    CompressionParse {
        /// The text that was given.
        text: String,
        /// Why it is not a compression.
        reason: String,
    },

    /// Key bounds whose minimum exceeds their maximum in some dimension.
    #[error("invalid key bounds: min {min} > max {max} in {dimension}")]
    InvalidBounds {
        /// The minimum key, printed.
        min: String,
        /// The maximum key, printed.
        max: String,
        /// The first dimension where min > max (`col`, `row` or `instant`).
        dimension: &'static str,
    },

    /// A key outside the bounds of a key index.
    #[error("key {key} is outside the key index bounds {bounds}")]
    OutOfBounds {
        /// The key, printed.
        key: String,
        /// The index's bounds, printed.
        bounds: String,
    },

    /// Key bounds that need more bits than a curve can hold, or a bad resolution setting.
    #[error("{curve} key index cannot cover {bounds}: {reason}")]
    Resolution {
        /// The curve (`zorder`, `hilbert`, `rowmajor`).
        curve: &'static str,
        /// The bounds, printed.
        bounds: String,
        /// What exceeds the curve's capacity.
        reason: String,
    },

    /// A key prefix shorter than the key's encoded length.
    #[error("truncated key: need {needed} bytes, got {got}")]
    KeyTruncated {
        /// Bytes an encoded key needs.
        needed: usize,
        /// Bytes available.
        got: usize,
    },

    /// An extent or layout that cannot be used (zero size, not finite, min > max).
    #[error("invalid layout: {reason}")]
    InvalidLayout {
        /// What is wrong.
        reason: String,
    },

    /// Tile dimensions or cell buffers that do not fit together, or exceed the size limit.
    #[error("invalid tile: {reason}")]
    InvalidTile {
        /// What is wrong.
        reason: String,
    },

    /// A cell coordinate outside the tile.
    #[error("cell ({col}, {row}) is outside the {cols}x{rows} tile")]
    CellOutOfRange {
        /// Column asked for.
        col: u32,
        /// Row asked for.
        row: u32,
        /// Tile width.
        cols: u32,
        /// Tile height.
        rows: u32,
    },

    /// Bands of a multiband tile that differ in size or cell type.
    #[error("band {band} does not match band 0: expected {expected}, got {got}")]
    BandMismatch {
        /// Index of the offending band.
        band: usize,
        /// What band 0 has (size and cell type).
        expected: String,
        /// What this band has.
        got: String,
    },

    /// Encoded tile bytes that do not start with the codec's magic number.
    #[error("not an encoded tile: magic at offset 0 is {got:02x?}, expected {expected:02x?}")]
    BadMagic {
        /// The magic number the codec writes.
        expected: [u8; 4],
        /// The bytes found.
        got: [u8; 4],
    },

    /// An encoded tile of a version this code does not read.
    #[error(
        "unsupported tile codec version {got} at offset 4 (this build reads version {expected})"
    )]
    UnsupportedVersion {
        /// The version this build reads.
        expected: u16,
        /// The version found.
        got: u16,
    },

    /// Encoded tile bytes that end before the header says they should.
    #[error("truncated tile: need {needed} bytes at offset {offset}, only {available} available")]
    Truncated {
        /// Where the missing bytes start.
        offset: usize,
        /// Bytes needed from there.
        needed: u64,
        /// Bytes available from there.
        available: usize,
    },

    /// Encoded tile bytes that are inconsistent (bad tag, checksum, sizes).
    #[error("corrupt tile at offset {offset}: {reason}")]
    Corrupt {
        /// Byte offset of the bad field.
        offset: usize,
        /// What is wrong.
        reason: String,
    },

    /// A header that asks for more memory than the decoder's limits allow.
    #[error("tile too large: {what} is {requested} bytes, the limit is {limit}")]
    LimitExceeded {
        /// What would be allocated.
        what: &'static str,
        /// Bytes requested.
        requested: u64,
        /// The limit in force.
        limit: u64,
    },
}
