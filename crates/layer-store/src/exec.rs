//! Runs independent tasks on pool-tuning's bounded executor, stopping at the first error.

use std::ops::ControlFlow;

use pool_tuning::{Order, Pool};

use crate::error::Error;

/// Runs `task(0..count)` on up to `threads` threads (tasks are taken in order) and returns
/// the results in task order. After the first error no new task starts, and that error is
/// returned. A panicking task becomes an [`Error::Worker`].
pub(crate) fn run_tasks<T, F>(threads: usize, count: usize, task: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> Result<T, Error> + Sync,
{
    if count == 0 {
        return Ok(Vec::new());
    }
    let threads = threads.clamp(1, count);
    if threads == 1 {
        // No thread to start for a single task or a single worker.
        return (0..count).map(&task).collect();
    }
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut first_error = None;
    Pool::new(threads).for_each(
        0..count,
        Order::Unordered,
        &task,
        |n, outcome| match outcome {
            Ok(Ok(value)) => {
                if let Some(slot) = results.get_mut(n) {
                    *slot = Some(value);
                }
                ControlFlow::Continue(())
            }
            Ok(Err(e)) => {
                first_error = Some(e);
                ControlFlow::Break(())
            }
            Err(panic) => {
                first_error = Some(Error::Worker {
                    what: panic.to_string(),
                });
                ControlFlow::Break(())
            }
        },
    );
    if let Some(e) = first_error {
        return Err(e);
    }
    results
        .into_iter()
        .map(|r| {
            r.ok_or(Error::Internal {
                what: "a task produced no result",
            })
        })
        .collect()
}
