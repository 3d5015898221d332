//! Thread counts per backend and operation, a bounded parallel executor, and calibration
//! (ADR 0003).
//!
//! ADR 0003 measured read times against thread counts: about the core count for files, up to
//! 16 for Hadoop (its 16 cached readers), the core count capped at 8 for S3, and more threads
//! than cores cost performance. [`ThreadConfig`] holds those defaults, overridable from JSON and
//! the environment; [`Pool`] runs work with a bounded number of threads and tasks in flight; and
//! [`calibrate`] re-measures the best count on the machine at hand.
//!
//! ```
//! use std::time::Duration;
//! use pool_tuning::{calibrate, Backend, CalibrationOptions, Operation, Order, Pool, SimulatedLatency, ThreadConfig};
//!
//! // Thread counts: defaults, then environment overrides.
//! let mut config = ThreadConfig::default();
//! config.apply_env_vars([("TESSERA_THREADS_S3_BULK_READ", "6")])?;
//! assert_eq!(config.threads(&Backend::s3(), Operation::BulkRead), 6);
//! assert!(config.threads(&Backend::file(), Operation::BulkRead) >= 1); // 0 = the core count
//!
//! // A bounded parallel map that keeps the input order.
//! let squares = Pool::new(4).map(1..=5u64, Order::Preserve, |x| x * x);
//! let squares: Vec<u64> = squares.into_iter().collect::<Result<_, _>>()?;
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//!
//! // Calibrate a small simulated-latency workload and save the result in the config.
//! let workload = SimulatedLatency { tiles: 16, min: Duration::from_micros(200), max: Duration::from_micros(400), seed: 1 };
//! let options = CalibrationOptions { warmup_runs: 0, runs: 1, ..CalibrationOptions::default() };
//! let calibration = calibrate(|t| workload.run(t), &[1, 4], &options)?;
//! assert!(calibration.to_markdown().starts_with("| threads | median ms | speedup |"));
//! config.record_calibration(Backend::s3(), Operation::CollectionRead, &calibration);
//! # Ok::<(), pool_tuning::Error>(())
//! ```
//!
//! # Crate features
//! None: the crate has no optional parts.
#![deny(missing_docs)]

mod calibrate;
mod config;
mod error;
mod executor;
mod workload;

pub use calibrate::{
    ADR_CANDIDATES, Calibration, CalibrationOptions, Measurement, calibrate, calibrate_timed,
};
pub use config::{
    Backend, ENV_PREFIX, HADOOP_READER_CACHE, MAX_THREADS, Operation, OperationThreads, S3_CAP,
    SavedCalibration, ThreadConfig, cores,
};
pub use error::Error;
pub use executor::{MAX_IN_FLIGHT, Order, Pool};
pub use workload::{ADR_TILES_PER_REQUEST, SimulatedLatency};
