//! `Pool`: a bounded parallel executor on crossbeam scoped threads and a bounded channel.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{bounded, unbounded};

use crate::Error;

/// The largest in-flight bound [`Pool::in_flight`] accepts.
pub const MAX_IN_FLIGHT: usize = 1 << 20;

/// Whether results come back in input order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Order {
    /// In input order; a slow task holds back the results after it (up to the in-flight bound).
    #[default]
    Preserve,
    /// As tasks finish.
    Unordered,
}

/// A bounded parallel executor: `threads` workers, at most `in_flight` tasks taken from the
/// input and not yet handed back.
///
/// Each call spawns scoped threads and joins them before returning, so tasks may borrow from
/// the caller. The input iterator and the result sink run on the calling thread, so neither
/// needs to be `Send`. A task that panics comes back as [`Error::TaskPanicked`]; the other tasks
/// go on, and the call always returns. (A panic in the input iterator or the sink is the
/// caller's own and propagates, after the workers have stopped.)
///
/// With one thread, or when the input holds a single item, the tasks run on the calling thread
/// and no thread is started: spawning costs more than a short query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    threads: usize,
    in_flight: usize,
}

impl Pool {
    /// A pool of `threads` workers (0 = the core count; at most [`crate::MAX_THREADS`]) and an
    /// in-flight bound of twice that.
    pub fn new(threads: usize) -> Self {
        let threads = if threads == 0 {
            crate::cores()
        } else {
            threads.min(crate::MAX_THREADS)
        };
        Self {
            threads,
            in_flight: 2 * threads,
        }
    }

    /// Sets the in-flight bound (0 = twice the thread count). It is raised to the thread count
    /// if lower, so that no worker idles for want of a task, and capped at [`MAX_IN_FLIGHT`]
    /// because the task queue is allocated up front.
    #[must_use]
    pub fn in_flight(mut self, limit: usize) -> Self {
        self.in_flight = if limit == 0 {
            2 * self.threads
        } else {
            limit.clamp(self.threads, MAX_IN_FLIGHT.max(self.threads))
        };
        self
    }

    /// The number of worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The in-flight bound.
    pub fn in_flight_limit(&self) -> usize {
        self.in_flight
    }

    /// Applies `f` to every item and collects the results, in input order or as they finish.
    pub fn map<I, T, R, F>(&self, items: I, order: Order, f: F) -> Vec<Result<R, Error>>
    where
        I: IntoIterator<Item = T>,
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync,
    {
        let mut out = Vec::new();
        self.for_each(items, order, f, |_, r| {
            out.push(r);
            ControlFlow::Continue(())
        });
        out
    }

    /// Applies `f` to every item and hands each result with its input index to `sink` on the
    /// calling thread, as a stream: memory holds at most the in-flight bound of items and
    /// results. `sink` can stop the run by returning [`ControlFlow::Break`]; tasks already
    /// started finish, queued ones are dropped. Returns the number of results handed over.
    pub fn for_each<I, T, R, F, S>(&self, items: I, order: Order, f: F, mut sink: S) -> usize
    where
        I: IntoIterator<Item = T>,
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync,
        S: FnMut(usize, Result<R, Error>) -> ControlFlow<()>,
    {
        let mut items = items.into_iter();
        if self.threads <= 1 {
            return run_inline(items, &f, &mut sink);
        }
        // Peek at two items: one task alone is not worth starting threads for. Pulling two is
        // within the in-flight bound, which is at least the thread count.
        let Some(first) = items.next() else {
            return 0;
        };
        let Some(second) = items.next() else {
            return run_inline(std::iter::once(first), &f, &mut sink);
        };
        let items = [first, second].into_iter().chain(items);
        // No more workers than tasks, when the input knows its length: each costs a thread.
        let workers = items
            .size_hint()
            .1
            .map_or(self.threads, |n| n.min(self.threads));
        let (task_tx, task_rx) = bounded::<(usize, T)>(self.in_flight);
        let (result_tx, result_rx) = unbounded::<(usize, Result<R, Error>)>();
        let cancelled = AtomicBool::new(false);
        let mut delivered = 0;
        let mut started = 0usize;
        let scope = crossbeam::scope(|scope| {
            for _ in 0..workers {
                let (task_rx, result_tx, f, cancelled) =
                    (task_rx.clone(), result_tx.clone(), &f, &cancelled);
                // A worker that cannot be started (the system is out of threads) is simply
                // missing; with none at all, the calling thread runs the tasks (below).
                let spawned = scope.builder().spawn(move |_| {
                    for (index, item) in task_rx {
                        if cancelled.load(Ordering::Relaxed) {
                            continue;
                        }
                        let result = run_task(f, index, item);
                        if result_tx.send((index, result)).is_err() {
                            break;
                        }
                    }
                });
                started += usize::from(spawned.is_ok());
            }
            drop((task_rx, result_tx));
            if started == 0 {
                delivered = run_inline(items, &f, &mut sink);
                return;
            }
            let mut items = items.into_iter().enumerate();
            let mut exhausted = false;
            // Tasks sent and not yet handed to the sink, including results parked for ordering.
            let mut outstanding = 0usize;
            let mut parked = BTreeMap::new();
            let mut next = 0usize;
            loop {
                while !exhausted && outstanding < self.in_flight {
                    match items.next() {
                        // The queue holds `in_flight` and fewer are outstanding, so this never
                        // blocks; it fails only if every worker is gone, which cannot happen
                        // while they catch task panics.
                        Some(task) => {
                            if task_tx.send(task).is_err() {
                                exhausted = true;
                            } else {
                                outstanding += 1;
                            }
                        }
                        None => exhausted = true,
                    }
                }
                if outstanding == 0 {
                    break;
                }
                let Ok((index, result)) = result_rx.recv() else {
                    break;
                };
                let flow = match order {
                    Order::Unordered => {
                        outstanding -= 1;
                        delivered += 1;
                        sink(index, result)
                    }
                    Order::Preserve => {
                        parked.insert(index, result);
                        let mut flow = ControlFlow::Continue(());
                        while let Some(result) = parked.remove(&next) {
                            outstanding -= 1;
                            delivered += 1;
                            flow = sink(next, result);
                            next += 1;
                            if flow.is_break() {
                                break;
                            }
                        }
                        flow
                    }
                };
                if flow.is_break() {
                    cancelled.store(true, Ordering::Relaxed);
                    break;
                }
            }
            // Closing both channels lets the workers drain and exit.
            drop(task_tx);
            drop(result_rx);
        });
        // Workers catch task panics, so no worker can fail; a panic of the iterator or the
        // sink on this thread has already been resumed by the scope.
        if let Err(payload) = scope {
            std::panic::resume_unwind(payload);
        }
        delivered
    }
}

/// Runs every task on the calling thread, in order: the fallback when no worker thread starts.
fn run_inline<I, T, R, F, S>(items: I, f: &F, sink: &mut S) -> usize
where
    I: IntoIterator<Item = T>,
    F: Fn(T) -> R,
    S: FnMut(usize, Result<R, Error>) -> ControlFlow<()>,
{
    let mut delivered = 0;
    for (index, item) in items.into_iter().enumerate() {
        let result = run_task(f, index, item);
        delivered += 1;
        if sink(index, result).is_break() {
            break;
        }
    }
    delivered
}

/// Runs one task, turning a panic into [`Error::TaskPanicked`].
fn run_task<T, R, F>(f: &F, index: usize, item: T) -> Result<R, Error>
where
    F: Fn(T) -> R,
{
    catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|payload| {
        let message = panic_message(payload.as_ref());
        // A payload whose destructor panics too must not take the worker down: its task would
        // then never report back, and the caller would wait for it forever. Such a payload is
        // leaked.
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(again);
        }
        Error::TaskPanicked { index, message }
    })
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}
