//! The errors of this crate: store failures, classified as transient or permanent, and policy errors.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// A failed store operation.
///
/// [`StoreError::is_transient`] tells a retrying writer whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The key holds no object.
    #[error("key {key:?} not found")]
    NotFound {
        /// The key that was asked for.
        key: String,
    },
    /// The key is not acceptable to the store (empty, escapes the root, contains NUL, ...).
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why the key was rejected.
        reason: &'static str,
    },
    /// A byte range reaches past the end of the object.
    #[error("range {start}..{end} is outside key {key:?} of {len} bytes")]
    RangeOutOfBounds {
        /// The key read.
        key: String,
        /// First byte asked for.
        start: u64,
        /// One past the last byte asked for.
        end: u64,
        /// The object's length.
        len: u64,
    },
    /// A failure that may go away if the operation is retried (a throttling reply such as HTTP 503
    /// Slow Down, a timeout, a lost response).
    #[error("transient failure on key {key:?}: {message}")]
    Transient {
        /// The key being accessed.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// A failure that retrying will not fix (access denied, a key the store refuses, ...).
    #[error("permanent failure on key {key:?}: {message}")]
    Permanent {
        /// The key being accessed.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// The store implementation panicked; the writer caught the panic and reports it here.
    #[error("the store panicked on key {key:?}: {message}")]
    Panicked {
        /// The key being accessed.
        key: String,
        /// The panic payload, when it was a string.
        message: String,
    },
    /// An I/O error on a key's file.
    #[error("I/O error on key {key:?} at {}: {source}", path.display())]
    KeyIo {
        /// The key being accessed.
        key: String,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An I/O error that concerns no single key (opening the store's root, for example).
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl StoreError {
    /// True when retrying the same operation may succeed.
    ///
    /// Transient: [`StoreError::Transient`] and I/O errors of the kinds `Interrupted`, `TimedOut`,
    /// `WouldBlock`, `ConnectionReset`, `ConnectionAborted` and `ResourceBusy`. Everything else is
    /// permanent: a missing key or an invalid key stays so however often one asks.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transient { .. } => true,
            Self::KeyIo { source, .. } | Self::Io(source) => io_is_transient(source),
            _ => false,
        }
    }

    /// The key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::NotFound { key }
            | Self::InvalidKey { key, .. }
            | Self::RangeOutOfBounds { key, .. }
            | Self::Transient { key, .. }
            | Self::Permanent { key, .. }
            | Self::Panicked { key, .. }
            | Self::KeyIo { key, .. } => Some(key),
            Self::Io(_) => None,
        }
    }
}

fn io_is_transient(err: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        err.kind(),
        K::Interrupted
            | K::TimedOut
            | K::WouldBlock
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::ResourceBusy
    )
}

/// A retry policy or write option that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The backoff cap is below its base, so every delay would be clipped to the cap and the
    /// exponential growth would never happen. GeoTrellis shipped exactly this: a 50 ms base with a
    /// 15 ms cap.
    #[error("backoff cap {cap:?} is below its base {base:?}")]
    CapBelowBase {
        /// The base delay.
        base: Duration,
        /// The cap.
        cap: Duration,
    },
    /// A zero base delay would make every retry immediate, hammering a throttled store.
    #[error("backoff base delay must be greater than zero")]
    ZeroBase,
    /// At least one attempt is needed.
    #[error("max_attempts must be at least 1")]
    ZeroAttempts,
}
