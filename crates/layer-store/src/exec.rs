//! Runs independent tasks on pool-tuning's bounded executor, stopping at the first error.

use std::ops::ControlFlow;

use pool_tuning::{Order, Pool};

use crate::error::Error;

/// Runs `task(0..count)` on up to `threads` threads (tasks are taken in order; 0 threads
/// means one per available core) and returns the results in task order. After the first
/// error no new task starts, and that error is returned. A panicking task becomes an
/// [`Error::Worker`], on the calling thread too.
pub(crate) fn run_tasks<T, F>(threads: usize, count: usize, task: F) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> Result<T, Error> + Sync,
{
    if count == 0 {
        return Ok(Vec::new());
    }
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    } else {
        threads
    };
    // No more workers than tasks; with one, pool-tuning runs the tasks on this thread (and
    // still turns a panic into an error) without starting any.
    let threads = threads.min(count);
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

#[cfg(test)]
mod tests {
    use super::run_tasks;
    use crate::error::Error;

    #[test]
    fn results_come_in_task_order_for_any_thread_count() {
        for threads in [0, 1, 2, 8] {
            let out = run_tasks(threads, 5, |n| Ok(n * 10)).unwrap();
            assert_eq!(out, vec![0, 10, 20, 30, 40], "{threads} threads");
        }
    }

    #[test]
    fn a_panicking_task_is_a_worker_error_inline_and_in_parallel() {
        for (threads, count) in [(1, 1), (1, 3), (2, 1), (2, 4), (0, 4)] {
            let out = run_tasks(threads, count, |n| -> Result<(), Error> {
                assert!(n + 1 != count, "task {n} fails");
                Ok(())
            });
            assert!(
                matches!(out, Err(Error::Worker { .. })),
                "{threads} threads, {count} tasks: {out:?}"
            );
        }
    }

    #[test]
    fn the_first_error_is_returned() {
        let out = run_tasks(1, 4, |n| {
            if n == 2 {
                Err(Error::Internal { what: "two" })
            } else {
                Ok(n)
            }
        });
        assert!(
            matches!(out, Err(Error::Internal { what: "two" })),
            "{out:?}"
        );
    }
}
