//! Integration tests of writer-with-retry: stores, backoff policy, `write_all` and its properties.

mod backoff;
mod file_store;
mod mem_store;
mod props;
mod put_file;
mod write;

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it does not return within `limit`, so a
/// hang shows up as a failure instead of a stuck CI job.
pub(crate) fn with_guard<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            handle.join().unwrap();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: re-raise its panic here.
            match handle.join() {
                Err(payload) => std::panic::resume_unwind(payload),
                Ok(()) => panic!("the guarded closure returned nothing"),
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("wall-clock guard: no return within {limit:?}")
        }
    }
}
