//! Runs independent tasks on a few scoped threads, stopping early at the first error.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::error::Error;

/// Runs `task(0..count)` on up to `threads` scoped threads (tasks are taken in order) and
/// returns the results in task order. After the first error no new task starts, and that
/// error is returned. A panicking task becomes an [`Error::Worker`].
pub(crate) fn run_tasks<T, F>(threads: usize, count: usize, task: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> Result<T, Error> + Sync,
{
    let threads = threads.clamp(1, count.max(1));
    if threads == 1 {
        return (0..count).map(&task).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let outcome = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    while !failed.load(Ordering::Relaxed) {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= count {
                            break;
                        }
                        match task(n) {
                            Ok(v) => {
                                if let Some(slot) = results.lock().get_mut(n) {
                                    *slot = Some(v);
                                }
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                first_error.lock().get_or_insert(e);
                            }
                        }
                    }
                })
            })
            .collect();
        let mut panicked = false;
        for h in handles {
            panicked |= h.join().is_err();
        }
        panicked
    });
    if let Some(e) = first_error.into_inner() {
        return Err(e);
    }
    if outcome {
        return Err(Error::Worker {
            what: "a worker thread panicked".to_owned(),
        });
    }
    results
        .into_inner()
        .into_iter()
        .map(|r| {
            r.ok_or(Error::Internal {
                what: "a task produced no result",
            })
        })
        .collect()
}
