//! A Store trait and concurrent writes with retry, exponential backoff and jitter (ADR 0001).
//!
//! Writing many (key, value) objects to a store such as S3 needs many concurrent puts, retries
//! of transient failures with exponential backoff, and a guarantee that when the write returns
//! every record was written or attempted. [`write_all`] gives all three with plain threads.
//!
//! ```
//! use std::time::Duration;
//! use writer_with_retry::{write_all, Fail, FaultConfig, FaultyStore, MemStore, Store, WriteOptions};
//!
//! // A store that fails a third of the puts with a throttling error.
//! let store = FaultyStore::new(
//!     MemStore::new(),
//!     FaultConfig { transient_rate: 0.3, seed: 7, ..FaultConfig::default() },
//! );
//! let policy = Fail::with_backoff(Duration::from_micros(10), Duration::from_millis(1), 20)?;
//! let options = WriteOptions::default().workers(4).policy(policy)?;
//! let records = (0..100).map(|i| (format!("tiles/{i}"), vec![i as u8; 16]));
//! let report = write_all(&store, records, &options);
//! assert!(report.is_success());
//! assert_eq!(report.written, 100);
//! assert_eq!(store.inner().get("tiles/42")?, vec![42u8; 16]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pieces:
//! - [`Store`], with [`FileStore`] (a directory, atomic puts), [`MemStore`] and
//!   [`FaultyStore`] (injected errors, latency and lost responses, from a seed).
//! - [`StoreError::is_transient`] decides what is retried.
//! - [`Fail`] is the retry policy: exponential backoff with full jitter, a cap, an attempt limit
//!   and a deadline. [`Clock`] and [`Sleeper`] are injectable; [`FakeTime`] makes tests instant.
//! - [`write_all`] and its [`WriteReport`].
//! - [`put_file_with_retry`] (with [`RetryOptions`]) stores one large object from a file with
//!   the same retries, without reading it into memory ([`Store::put_file`]).
//!
//! # Crate features
//! None: the crate has no optional parts.
#![deny(missing_docs)]

mod backoff;
mod error;
mod faulty;
mod file;
mod mem;
mod rng;
mod single;
mod store;
mod write;

pub use backoff::{Clock, Fail, FakeTime, Sleeper, SystemClock, ThreadSleeper};
pub use error::{PolicyError, StoreError};
pub use faulty::{FaultConfig, FaultStats, FaultyStore};
pub use file::FileStore;
pub use mem::MemStore;
pub use single::{RetryOptions, put_file_with_retry};
pub use store::{MAX_KEY_LEN, Store, validate_key};
pub use write::{
    FailReason, Failure, MAX_QUEUE_DEPTH, MAX_WORKERS, Mode, Progress, WriteOptions, WriteReport,
    auto_workers, write_all,
};
