//! The raster crate's error type: malformed input, unsupported input, limits and CRS problems kept apart.

/// Everything that can go wrong reading, writing, rendering or reprojecting a raster.
///
/// Malformed input, unsupported input, exceeded limits and API misuse are separate kinds,
/// as in image-tiff, so callers can tell a broken file from one we merely cannot read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is broken: a truncated file, an inconsistent header, a bad tag value.
    #[error("malformed {what}{}: {detail}", at_suffix(.path.as_ref()))]
    Malformed {
        /// What was being read, e.g. "GeoTIFF" or "GeoKey directory".
        what: String,
        /// The file, when known.
        path: Option<std::path::PathBuf>,
        /// What is wrong, naming the tag, key or offset.
        detail: String,
    },
    /// The input is valid but uses a feature this crate does not implement.
    #[error("unsupported {what}{}", at_suffix(.path.as_ref()))]
    Unsupported {
        /// The feature, e.g. "TIFF compression JPEG (7)".
        what: String,
        /// The file, when known.
        path: Option<std::path::PathBuf>,
    },
    /// A header asks for more memory than the configured [`Limits`](crate::Limits) allow.
    #[error(
        "limits exceeded{}: {what} needs {needed} bytes, the limit is {limit} bytes",
        at_suffix(.path.as_ref())
    )]
    LimitsExceeded {
        /// What would have been allocated, e.g. "raster 100000x100000x3 of uint16".
        what: String,
        /// The number of bytes the header asks for (saturating).
        needed: u64,
        /// The configured limit in bytes.
        limit: u64,
        /// The file, when known.
        path: Option<std::path::PathBuf>,
    },
    /// A CRS could not be identified or expressed for proj4rs.
    #[error("unknown CRS {crs}: {reason}")]
    UnknownCrs {
        /// The CRS as given (a code, name, proj string or GeoKey summary).
        crs: String,
        /// Why it was not accepted.
        reason: String,
    },
    /// A coordinate transformation failed, e.g. a point outside the projection's domain.
    #[error("cannot transform ({x}, {y}) from {from} to {to}: {reason}")]
    Transform {
        /// The source CRS.
        from: String,
        /// The target CRS.
        to: String,
        /// The point's first coordinate.
        x: f64,
        /// The point's second coordinate.
        y: f64,
        /// What proj4rs reported.
        reason: String,
    },
    /// The caller passed arguments that cannot work together (e.g. a band index out of range).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// keyed-tile rejected a tile (size or cell type mismatch).
    #[error("tile: {0}")]
    Tile(#[from] keyed_tile::Error),
    /// An underlying read or write failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn at_suffix(path: Option<&std::path::PathBuf>) -> String {
    match path {
        Some(p) => format!(" in {}", p.display()),
        None => String::new(),
    }
}

impl Error {
    /// Attaches a file path to errors that carry one and do not have it yet.
    #[must_use]
    pub fn with_path(mut self, file: &std::path::Path) -> Self {
        match &mut self {
            Error::Malformed { path, .. }
            | Error::Unsupported { path, .. }
            | Error::LimitsExceeded { path, .. }
                if path.is_none() =>
            {
                *path = Some(file.to_path_buf());
            }
            _ => {}
        }
        self
    }

    pub(crate) fn malformed(what: &str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what: what.to_owned(),
            path: None,
            detail: detail.into(),
        }
    }

    pub(crate) fn unsupported(what: impl Into<String>) -> Self {
        Error::Unsupported {
            what: what.into(),
            path: None,
        }
    }

    pub(crate) fn unknown_crs(crs: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::UnknownCrs {
            crs: crs.into(),
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
