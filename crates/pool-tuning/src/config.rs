//! `ThreadConfig`: thread counts per backend and operation, with ADR 0003's defaults, JSON files
//! and `TESSERA_THREADS_<BACKEND>_<OP>` environment overrides.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Calibration, Error};

/// The prefix of the environment overrides.
pub const ENV_PREFIX: &str = "TESSERA_THREADS_";

/// The largest thread count a configuration may hold: far above any sensible pool, low enough
/// to catch a typo such as `80000` before it spawns threads.
pub const MAX_THREADS: usize = 4096;

/// Hadoop's reader cache holds 16 open readers, so more than 16 reading threads only queue for
/// them (ADR 0003).
pub const HADOOP_READER_CACHE: usize = 16;

/// S3 reads stop scaling past 8 threads in ADR 0003's measurements.
pub const S3_CAP: usize = 8;

/// The core count of this machine (1 when it cannot be told).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A storage backend: `file`, `s3`, `hadoop`, or any other name made of lowercase ASCII
/// letters, digits and `_` (so that it maps onto an environment variable name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Backend(String);

impl Backend {
    /// Local files.
    pub fn file() -> Self {
        Self("file".to_owned())
    }

    /// Amazon S3 or another object store reached over the network.
    pub fn s3() -> Self {
        Self("s3".to_owned())
    }

    /// HDFS through Hadoop readers.
    pub fn hadoop() -> Self {
        Self("hadoop".to_owned())
    }

    /// Any backend by name, checked.
    pub fn named(name: &str) -> Result<Self, Error> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(Error::BackendName {
                name: name.to_owned(),
            })
        }
    }

    /// The name, e.g. `s3`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The automatic thread count for `op` on this backend (ADR 0003): the core count for files
    /// and unknown backends; the core count capped at 8 for S3; the reader cache size (16) for
    /// Hadoop reads.
    pub fn auto_threads(&self, op: Operation) -> usize {
        match (self.0.as_str(), op) {
            ("s3", _) => cores().min(S3_CAP),
            ("hadoop", Operation::CollectionRead | Operation::BulkRead) => HADOOP_READER_CACHE,
            _ => cores(),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::named(s)
    }
}

impl TryFrom<String> for Backend {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::named(&s)
    }
}

impl From<Backend> for String {
    fn from(b: Backend) -> String {
        b.0
    }
}

/// An operation whose parallelism is configured separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// Reading the tiles of one query into memory (ADR 0003's "collection read").
    CollectionRead,
    /// Reading a large part of a layer.
    BulkRead,
    /// Writing many tiles.
    BulkWrite,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 3] = [Self::CollectionRead, Self::BulkRead, Self::BulkWrite];

    /// The JSON name, e.g. `bulk_read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CollectionRead => "collection_read",
            Self::BulkRead => "bulk_read",
            Self::BulkWrite => "bulk_write",
        }
    }

    /// The environment variable suffix, e.g. `BULK_READ`.
    pub fn env_name(self) -> &'static str {
        match self {
            Self::CollectionRead => "COLLECTION_READ",
            Self::BulkRead => "BULK_READ",
            Self::BulkWrite => "BULK_WRITE",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| Error::OperationName { name: s.to_owned() })
    }
}

/// Thread counts of one backend, per operation; 0 means automatic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperationThreads {
    /// Threads reading one query's tiles.
    pub collection_read: usize,
    /// Threads reading in bulk.
    pub bulk_read: usize,
    /// Threads writing in bulk.
    pub bulk_write: usize,
}

impl OperationThreads {
    /// The count for `op` (0 = automatic).
    pub fn get(&self, op: Operation) -> usize {
        match op {
            Operation::CollectionRead => self.collection_read,
            Operation::BulkRead => self.bulk_read,
            Operation::BulkWrite => self.bulk_write,
        }
    }

    /// Sets the count for `op` (0 = automatic).
    pub fn set(&mut self, op: Operation, threads: usize) {
        match op {
            Operation::CollectionRead => self.collection_read = threads,
            Operation::BulkRead => self.bulk_read = threads,
            Operation::BulkWrite => self.bulk_write = threads,
        }
    }
}

/// A saved calibration: which backend and operation it measured, and its table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedCalibration {
    /// The backend measured.
    pub backend: Backend,
    /// The operation measured.
    pub operation: Operation,
    /// What was measured.
    pub calibration: Calibration,
}

/// Thread counts per backend and operation.
///
/// Counts are stored as given, with 0 meaning automatic; [`ThreadConfig::threads`] resolves them
/// with [`Backend::auto_threads`], so a saved file stays right on another machine. The JSON form:
///
/// ```json
/// { "backends": { "file": { "collection_read": 0, "bulk_read": 0, "bulk_write": 0 },
///                 "s3": { "collection_read": 8, "bulk_read": 0, "bulk_write": 16 } },
///   "reader_cache": 16,
///   "calibrations": [] }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThreadConfig {
    /// Counts per backend. Backends not listed are automatic for every operation.
    pub backends: BTreeMap<Backend, OperationThreads>,
    /// Readers kept open per backend that caches them (Hadoop: 16, ADR 0003).
    pub reader_cache: usize,
    /// Calibrations saved with [`ThreadConfig::record_calibration`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calibrations: Vec<SavedCalibration>,
}

impl Default for ThreadConfig {
    /// ADR 0003's defaults: every count automatic for `file`, `s3` and `hadoop`, and a reader
    /// cache of 16.
    fn default() -> Self {
        let backends = [Backend::file(), Backend::s3(), Backend::hadoop()]
            .into_iter()
            .map(|b| (b, OperationThreads::default()))
            .collect();
        Self {
            backends,
            reader_cache: HADOOP_READER_CACHE,
            calibrations: Vec::new(),
        }
    }
}

impl ThreadConfig {
    /// The thread count to use for `op` on `backend`, with automatic (0) resolved. Never 0.
    pub fn threads(&self, backend: &Backend, op: Operation) -> usize {
        match self.backends.get(backend).map_or(0, |t| t.get(op)) {
            0 => backend.auto_threads(op).max(1),
            n => n,
        }
    }

    /// The configured count for `op` on `backend`, 0 meaning automatic.
    pub fn configured(&self, backend: &Backend, op: Operation) -> usize {
        self.backends.get(backend).map_or(0, |t| t.get(op))
    }

    /// Sets the count for `op` on `backend` (0 = automatic).
    pub fn set(&mut self, backend: Backend, op: Operation, threads: usize) {
        self.backends.entry(backend).or_default().set(op, threads);
    }

    /// Parses a configuration from JSON text; `path` is only used in error messages.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, Error> {
        // serde also reads a struct from an array (`[]` would silently mean the defaults), so
        // anything but an object is turned away first.
        let start = text.trim_start();
        if !start.is_empty() && !start.starts_with('{') {
            let before = &text[..text.len() - start.len()];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            return Err(Error::Json {
                path: path.to_owned(),
                line,
                column,
                message: "expected a JSON object at the top level".to_owned(),
            });
        }
        let config: Self = serde_json::from_str(text).map_err(|e| Error::Json {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Loads a configuration file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::File {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Loads a configuration file, or the defaults when it does not exist.
    pub fn load_or_default(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        if path.exists() {
            Self::load(path)
        } else {
            Ok(Self::default())
        }
    }

    /// The defaults, then the file at `path` if given, then the environment overrides: what a
    /// program normally wants.
    pub fn resolve(path: Option<&Path>) -> Result<Self, Error> {
        let mut config = match path {
            Some(p) => Self::load(p)?,
            None => Self::default(),
        };
        config.apply_env()?;
        Ok(config)
    }

    /// The configuration as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain maps, numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Saves the configuration: written to a temporary file beside `path`, then renamed, so a
    /// reader never sees half a file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let file_err = |source| Error::File {
            path: path.to_owned(),
            source,
        };
        let mut temp = path.as_os_str().to_owned();
        temp.push(format!(".tmp-{}", std::process::id()));
        let temp = PathBuf::from(temp);
        let mut text = self.to_json();
        text.push('\n');
        // Synced before the rename, so that a crash leaves the old file or the new one.
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temp)?;
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()
        };
        write()
            .and_then(|()| std::fs::rename(&temp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                file_err(e)
            })
    }

    fn validate(&self, path: &Path) -> Result<(), Error> {
        for (backend, ops) in &self.backends {
            for op in Operation::ALL {
                if ops.get(op) > MAX_THREADS {
                    return Err(Error::Invalid {
                        path: path.to_owned(),
                        json_path: format!("backends.{backend}.{op}"),
                        message: format!(
                            "{} threads is more than the limit of {MAX_THREADS}",
                            ops.get(op)
                        ),
                    });
                }
            }
        }
        for (i, saved) in self.calibrations.iter().enumerate() {
            let counts = std::iter::once(("best".to_owned(), saved.calibration.best)).chain(
                saved
                    .calibration
                    .table
                    .iter()
                    .enumerate()
                    .map(|(row, m)| (format!("table[{row}].threads"), m.threads)),
            );
            for (field, threads) in counts {
                if threads > MAX_THREADS {
                    return Err(Error::Invalid {
                        path: path.to_owned(),
                        json_path: format!("calibrations[{i}].calibration.{field}"),
                        message: format!(
                            "{threads} threads is more than the limit of {MAX_THREADS}"
                        ),
                    });
                }
            }
        }
        if self.reader_cache > MAX_THREADS {
            return Err(Error::Invalid {
                path: path.to_owned(),
                json_path: "reader_cache".to_owned(),
                message: format!(
                    "{} is more than the limit of {MAX_THREADS}",
                    self.reader_cache
                ),
            });
        }
        Ok(())
    }

    /// Applies the process environment's `TESSERA_THREADS_<BACKEND>_<OP>` overrides.
    pub fn apply_env(&mut self) -> Result<(), Error> {
        self.apply_env_vars(std::env::vars_os())
    }

    /// Applies overrides from `(name, value)` pairs; names without the `TESSERA_THREADS_`
    /// prefix are ignored.
    ///
    /// `<BACKEND>` is the backend name in upper case (`FILE`, `S3`, `HADOOP`, or another) and
    /// `<OP>` one of `COLLECTION_READ`, `BULK_READ`, `BULK_WRITE`; the value is a thread count,
    /// 0 meaning automatic. Anything else under the prefix is an error naming the variable.
    pub fn apply_env_vars<I, K, V>(&mut self, vars: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        for (name, value) in vars {
            let (name, value) = (name.into(), value.into());
            let name_lossy = name.to_string_lossy();
            let Some(rest) = name_lossy.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let err = |reason: String| Error::EnvVar {
                name: name_lossy.to_string(),
                value: value.to_string_lossy().into_owned(),
                reason,
            };
            let Some((backend, op)) = Operation::ALL.into_iter().find_map(|op| {
                rest.strip_suffix(op.env_name())
                    .and_then(|b| b.strip_suffix('_'))
                    .map(|b| (b, op))
            }) else {
                return Err(err(format!(
                    "expected {ENV_PREFIX}<BACKEND>_<OP> with <OP> one of COLLECTION_READ, BULK_READ, BULK_WRITE"
                )));
            };
            if name.to_str().is_none()
                || backend.is_empty()
                || backend.bytes().any(|b| b.is_ascii_lowercase())
            {
                return Err(err(
                    "the backend part must be an upper-case name such as S3".to_owned(),
                ));
            }
            let backend =
                Backend::named(&backend.to_ascii_lowercase()).map_err(|e| err(e.to_string()))?;
            let text = value.to_str().map(str::trim).unwrap_or_default();
            let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            if !digits {
                return Err(err(
                    "the value must be a whole number of threads (0 = automatic)".to_owned(),
                ));
            }
            // All digits: a parse failure can only be an overflow.
            let threads = text.parse::<usize>().unwrap_or(usize::MAX);
            if threads > MAX_THREADS {
                return Err(err(format!("more than the limit of {MAX_THREADS} threads")));
            }
            self.set(backend, op, threads);
        }
        Ok(())
    }

    /// Stores a calibration's best count for `op` on `backend`, and keeps its table (replacing
    /// an earlier calibration of the same pair).
    pub fn record_calibration(
        &mut self,
        backend: Backend,
        op: Operation,
        calibration: &Calibration,
    ) {
        self.set(backend.clone(), op, calibration.best);
        self.calibrations
            .retain(|c| !(c.backend == backend && c.operation == op));
        self.calibrations.push(SavedCalibration {
            backend,
            operation: op,
            calibration: calibration.clone(),
        });
    }
}
