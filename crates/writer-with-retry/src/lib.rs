//! A Store trait and concurrent writes with retry, exponential backoff and jitter.
#![deny(missing_docs)]
