//! Integration tests of pool-tuning: configuration, the executor and calibration.

mod calibrate;
mod config;
mod executor;

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it does not return within `limit`.
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
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => panic!("the guarded closure returned nothing"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("wall-clock guard: no return within {limit:?}")
        }
    }
}
