//! The errors of pool-tuning: configuration, environment overrides, tasks and calibration.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An environment override has a bad name or value.
    #[error("environment variable {name}={value:?}: {reason}")]
    EnvVar {
        /// The variable's name, e.g. `TESSERA_THREADS_S3_BULK_READ`.
        name: String,
        /// Its value (lossily decoded when not UTF-8).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration file is not valid JSON for a [`crate::ThreadConfig`].
    #[error("{}:{line}:{column}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde_json reported.
        message: String,
    },
    /// A configuration value is out of range.
    #[error("{}: {json_path}: {message}", path.display())]
    Invalid {
        /// The file (empty when the configuration did not come from a file).
        path: PathBuf,
        /// Where in the JSON, e.g. `backends.s3.bulk_read`.
        json_path: String,
        /// What is wrong.
        message: String,
    },
    /// A backend name that cannot be used (it must be lowercase ASCII letters, digits and `_`).
    #[error("invalid backend name {name:?}: use lowercase ASCII letters, digits and `_`")]
    BackendName {
        /// The rejected name.
        name: String,
    },
    /// An operation name that is not one of `collection_read`, `bulk_read`, `bulk_write`.
    #[error("unknown operation {name:?}: expected collection_read, bulk_read or bulk_write")]
    OperationName {
        /// The rejected name.
        name: String,
    },
    /// A task given to the executor panicked.
    #[error("task {index} panicked: {message}")]
    TaskPanicked {
        /// The task's position in the input.
        index: usize,
        /// The panic message, when it was a string.
        message: String,
    },
    /// Calibration was asked for with no candidate thread counts.
    #[error("calibration needs at least one candidate thread count and one run")]
    NoCandidates,
    /// The calibration workload failed.
    #[error("the workload failed at {threads} threads: {source}")]
    Workload {
        /// The thread count being measured.
        threads: usize,
        /// The workload's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Any other I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
}
