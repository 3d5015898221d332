//! The crate's error type: what went wrong, naming the layer, file, offset or key.

use std::path::PathBuf;

/// Everything that can go wrong in a catalog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A layer name that could point outside the catalog or confuse its file names.
    #[error("bad layer name {name:?}: {reason}")]
    BadLayerName {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// An attribute name that is not a plain identifier.
    #[error("bad attribute name {name:?}: {reason}")]
    BadAttributeName {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The layer does not exist.
    #[error("layer {id} not found in catalog {catalog}")]
    LayerNotFound {
        /// The layer asked for.
        id: String,
        /// The catalog's directory.
        catalog: PathBuf,
    },
    /// The layer exists and the operation would replace it without being asked to.
    #[error("layer {id} already exists in catalog {catalog}; ask for overwrite to replace it")]
    LayerExists {
        /// The layer.
        id: String,
        /// The catalog's directory.
        catalog: PathBuf,
    },
    /// An attribute of a layer does not exist.
    #[error("attribute {attribute:?} of layer {id} not found at {path}")]
    AttributeNotFound {
        /// The layer.
        id: String,
        /// The attribute's name.
        attribute: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// An attribute file holds JSON that does not parse into what was asked for.
    #[error("attribute file {path}: bad JSON at line {line}, column {column}")]
    Json {
        /// The attribute file.
        path: PathBuf,
        /// Line of the problem (1-based; 0 when unknown).
        line: usize,
        /// Column of the problem (1-based; 0 when unknown).
        column: usize,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// The layer stores another key type than the one asked for.
    #[error("layer {id} stores keys of type {stored:?}, not {asked:?}")]
    KeyTypeMismatch {
        /// The layer.
        id: String,
        /// The key type in the metadata.
        stored: String,
        /// The key type asked for.
        asked: String,
    },
    /// No record of the layer holds the key.
    #[error("no value for key {key} in layer {id}")]
    ValueNotFound {
        /// The layer.
        id: String,
        /// The key, printed.
        key: String,
    },
    /// A key lies outside the bounds of the layer's key index; nothing was written.
    #[error(
        "key {key} is outside the key index bounds {bounds} of layer {id}; nothing was written"
    )]
    OutOfKeyBounds {
        /// The layer.
        id: String,
        /// The key, printed.
        key: String,
        /// The key index's bounds, printed.
        bounds: String,
    },
    /// The key index failed (bad bounds, an index needing more than 64 bits, ...).
    #[error("key index of layer {id} failed")]
    KeyIndex {
        /// The layer.
        id: String,
        /// What the key index said.
        #[source]
        source: keyed_tile::Error,
    },
    /// A stored value is not valid codec bytes.
    #[error("layer {id}, key {key}: the stored value does not decode")]
    Codec {
        /// The layer.
        id: String,
        /// The key, printed.
        key: String,
        /// What the codec said.
        #[source]
        source: keyed_tile::Error,
    },
    /// A part file is damaged or cannot be read.
    #[error("part file {path} is damaged or unreadable")]
    Part {
        /// The part file.
        path: PathBuf,
        /// What mapfile said (it names the offset).
        #[source]
        source: mapfile::Error,
    },
    /// A record's payload does not start with a well-formed key.
    #[error("part file {path}: record of index {index} holds no valid key")]
    BadRecord {
        /// The part file.
        path: PathBuf,
        /// The record's index.
        index: u64,
        /// What decoding the key said.
        #[source]
        source: keyed_tile::Error,
    },
    /// A record sits in a file whose index range does not cover it, or under an index that
    /// its key does not map to.
    #[error(
        "part file {path}: record of key {key} is stored under index {stored}, but the key index gives {expected}"
    )]
    MisplacedRecord {
        /// The part file.
        path: PathBuf,
        /// The key, printed.
        key: String,
        /// The index the record is stored under.
        stored: u64,
        /// The index its key maps to.
        expected: u64,
    },
    /// Two part files hold overlapping index ranges, against the rule that parts hold
    /// exclusive, sorted ranges (a file was copied or renamed into the layer by hand).
    #[error("part file {path}: index {index} is also covered by part file {other}")]
    OverlappingParts {
        /// The later part file.
        path: PathBuf,
        /// The earlier part file whose range reaches `index`.
        other: PathBuf,
        /// The first index found in both ranges.
        index: u64,
    },
    /// The layer was rewritten and its old part files removed since this reader opened it.
    #[error(
        "layer {id} was rewritten since this reader opened it ({path} is gone); open a new reader"
    )]
    StaleReader {
        /// The layer.
        id: String,
        /// The vanished part file.
        path: PathBuf,
    },
    /// The part store did not take a part file: a permanent error, or transient errors
    /// until the retry policy gave up. The layer is unchanged.
    #[error("storing part {key} failed after {attempts} attempt(s) ({reason})")]
    PartStore {
        /// The part's store key, `<name>/<zoom>/g<generation>/<part file name>`.
        key: String,
        /// Attempts made.
        attempts: u32,
        /// Why the retries stopped.
        reason: &'static str,
        /// The store's last error ([`writer_with_retry::StoreError::is_transient`] classifies it).
        #[source]
        source: writer_with_retry::StoreError,
    },
    /// A record is too large for a part file (payloads are limited to 4 GiB).
    #[error("a record of {len} bytes is larger than a part file record can be (4 GiB)")]
    RecordTooLarge {
        /// The payload's length.
        len: u64,
    },
    /// A spilled run of the external sort is damaged (a disk problem or outside interference).
    #[error("spill file {path} at byte {offset}: {what}")]
    Spill {
        /// The run file.
        path: PathBuf,
        /// Where the problem was found.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// An option is out of range.
    #[error("invalid option `{option}`: {what}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong with its value.
        what: String,
    },
    /// A worker thread failed or panicked.
    #[error("a worker thread failed: {what}")]
    Worker {
        /// What happened.
        what: String,
    },
    /// The merge function or a callback asked to stop.
    #[error("operation cancelled: {what}")]
    Cancelled {
        /// Why.
        what: String,
    },
    /// A broken invariant inside this crate: always a bug.
    #[error("internal error (a bug): {what}")]
    Internal {
        /// What went wrong.
        what: &'static str,
    },
    /// An IO error on a known path.
    #[error("IO error on {path}")]
    IoAt {
        /// The file or directory.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// An IO error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps a JSON error with the file it came from.
    pub(crate) fn json(path: &std::path::Path, source: serde_json::Error) -> Self {
        Error::Json {
            path: path.to_path_buf(),
            line: source.line(),
            column: source.column(),
            source,
        }
    }

    /// Wraps a mapfile error with the part file it came from.
    pub(crate) fn part(path: &std::path::Path, source: mapfile::Error) -> Self {
        Error::Part {
            path: path.to_path_buf(),
            source,
        }
    }
}
