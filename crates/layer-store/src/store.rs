//! The store part files are written through: writer-with-retry's `Store`, with retries.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use writer_with_retry::{FailReason, FileStore, RetryOptions, Store, StoreError};

use crate::error::Error;

/// Where and how a catalog stores its part files: a writer-with-retry [`Store`] and the
/// retry policy for each part.
///
/// Each part is written to a staging file first and handed to the store with
/// [`Store::put_file`] under the key `<name>/<zoom>/g<generation>/<part file name>`, retried
/// with exponential backoff on transient errors ([`writer_with_retry::put_file_with_retry`]).
///
/// Readers memory-map the part files straight from the catalog directory, so the store must
/// put the object of key `k` at the file `<catalog>/k`: a [`FileStore`] rooted at the
/// catalog, possibly wrapped (in a [`writer_with_retry::FaultyStore`] for tests, say). That
/// is what [`PartStore::file`] makes, and what [`crate::Catalog::open`] uses.
#[derive(Clone)]
pub struct PartStore {
    store: Arc<dyn Store>,
    retry: RetryOptions,
}

impl fmt::Debug for PartStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartStore")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl PartStore {
    /// Part files go through `store` (see the type's docs on which stores fit), with the
    /// default retry policy ([`writer_with_retry::Fail::default`]).
    pub fn new(store: Arc<dyn Store>) -> Self {
        PartStore {
            store,
            retry: RetryOptions::default(),
        }
    }

    /// A [`FileStore`] rooted at the catalog directory `dir`, fsyncing when `sync` is on.
    pub fn file(dir: &Path, sync: bool) -> Result<Self, Error> {
        let store = FileStore::new(dir).map_err(|e| match e {
            StoreError::Io(source) => Error::IoAt {
                path: dir.to_path_buf(),
                source,
            },
            source => Error::PartStore {
                key: dir.display().to_string(),
                attempts: 0,
                reason: "opening the part store failed",
                source,
            },
        })?;
        Ok(Self::new(Arc::new(store.sync(sync))))
    }

    /// This part store with another retry policy (and clock, sleeper and seed).
    #[must_use]
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.retry = retry;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The retry options.
    pub fn retry_options(&self) -> &RetryOptions {
        &self.retry
    }

    /// Stores the staged file `staged` under `key`, retrying transient errors; the staged
    /// file is left in place. A failure becomes [`Error::PartStore`], naming the key, the
    /// attempts and whether the store gave up on transient errors or refused for good.
    pub(crate) fn put_part(&self, key: &str, staged: &Path) -> Result<u32, Error> {
        writer_with_retry::put_file_with_retry(&*self.store, key, staged, &self.retry).map_err(
            |failure| {
                let attempts = failure.attempts;
                let (reason, source) = match failure.reason {
                    FailReason::Permanent(e) => ("permanent error, not retried", e),
                    FailReason::AttemptsExhausted(e) => ("transient errors, attempts exhausted", e),
                    FailReason::DeadlineExceeded(e) => ("transient errors, deadline exceeded", e),
                    _ => {
                        return Error::Internal {
                            what: "a single put was skipped",
                        };
                    }
                };
                Error::PartStore {
                    key: failure.key,
                    attempts,
                    reason,
                    source,
                }
            },
        )
    }
}
