//! `Pool`: ordered and unordered maps, bounded in-flight work, panics, early stop.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pool_tuning::{Error, Order, Pool};
use proptest::prelude::*;

use crate::with_guard;

const GUARD: Duration = Duration::from_secs(20);

#[test]
fn preserve_keeps_input_order() {
    with_guard(GUARD, || {
        // Early items sleep longest, so they finish last.
        let out = Pool::new(4).map(0..40u64, Order::Preserve, |i| {
            std::thread::sleep(Duration::from_micros((40 - i) * 50));
            i * 2
        });
        let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(out, (0..40).map(|i| i * 2).collect::<Vec<_>>());
    });
}

#[test]
fn unordered_returns_everything() {
    with_guard(GUARD, || {
        let out = Pool::new(3).map(0..100u32, Order::Unordered, |i| i + 1);
        let set: BTreeSet<u32> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(set, (1..=100).collect());
    });
}

#[test]
fn zero_threads_means_core_count() {
    let pool = Pool::new(0);
    assert_eq!(pool.threads(), pool_tuning::cores());
    assert_eq!(pool.in_flight_limit(), 2 * pool.threads());
    assert_eq!(Pool::new(4).in_flight(1).in_flight_limit(), 4);
    assert_eq!(Pool::new(4).in_flight(0).in_flight_limit(), 8);
    // Absurd requests are capped rather than allocated.
    assert_eq!(Pool::new(usize::MAX).threads(), pool_tuning::MAX_THREADS);
    assert_eq!(
        Pool::new(4).in_flight(usize::MAX).in_flight_limit(),
        pool_tuning::MAX_IN_FLIGHT
    );
}

#[test]
fn in_flight_work_is_bounded() {
    with_guard(GUARD, || {
        for order in [Order::Preserve, Order::Unordered] {
            let taken = AtomicUsize::new(0);
            let delivered = AtomicUsize::new(0);
            let max_seen = AtomicUsize::new(0);
            let pool = Pool::new(3).in_flight(5);
            let items = (0..200).inspect(|_| {
                let t = taken.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(t - delivered.load(Ordering::SeqCst), Ordering::SeqCst);
            });
            let n = pool.for_each(
                items,
                order,
                |i| std::thread::sleep(Duration::from_micros(if i % 7 == 0 { 400 } else { 50 })),
                |_, r| {
                    r.unwrap();
                    delivered.fetch_add(1, Ordering::SeqCst);
                    ControlFlow::Continue(())
                },
            );
            assert_eq!(n, 200);
            let max_seen = max_seen.load(Ordering::SeqCst);
            assert!(max_seen <= 5, "{order:?}: {max_seen} in flight");
            assert!(max_seen >= 3, "{order:?}: the input was not read ahead");
        }
    });
}

#[test]
fn a_panicking_task_is_an_error_not_a_hang() {
    with_guard(GUARD, || {
        for order in [Order::Preserve, Order::Unordered] {
            let out = Pool::new(2).map(0..50, order, |i| {
                assert!(i % 10 != 3, "boom at {i}");
                i
            });
            assert_eq!(out.len(), 50);
            let panics: Vec<usize> = out
                .iter()
                .filter_map(|r| match r {
                    Err(Error::TaskPanicked { index, message }) => {
                        assert!(message.contains("boom"), "{message}");
                        Some(*index)
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(panics.len(), 5, "{order:?}");
            if order == Order::Preserve {
                assert_eq!(panics, [3, 13, 23, 33, 43]);
            }
        }
        // Every task panicking, with one thread: still returns.
        let out = Pool::new(1).map(0..10, Order::Preserve, |_: i32| -> i32 {
            panic!("all fail")
        });
        assert!(out.iter().all(Result::is_err));
    });
}

#[test]
fn sink_can_stop_early() {
    with_guard(GUARD, || {
        let ran = AtomicUsize::new(0);
        let mut seen = Vec::new();
        let n = Pool::new(2).in_flight(4).for_each(
            0..1_000_000u64,
            Order::Preserve,
            |i| {
                ran.fetch_add(1, Ordering::SeqCst);
                i
            },
            |index, r| {
                seen.push(r.unwrap());
                assert_eq!(seen.len() - 1, index);
                if index == 9 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(n, 10);
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert!(
            ran.load(Ordering::SeqCst) <= 14,
            "only the in-flight tasks ran past the stop"
        );
    });
}

#[test]
fn tasks_may_borrow_from_the_caller() {
    let data: Vec<String> = (0..20).map(|i| format!("tile-{i}")).collect();
    let lens = Pool::new(4).map(&data, Order::Preserve, String::len);
    assert_eq!(
        lens.into_iter().map(Result::unwrap).sum::<usize>(),
        data.iter().map(String::len).sum::<usize>()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The parallel map agrees with a sequential map, for any thread count and bound.
    #[test]
    fn agrees_with_sequential_map(items in proptest::collection::vec(any::<u32>(), 0..200), threads in 1usize..9, in_flight in 0usize..20) {
        let pool = Pool::new(threads).in_flight(in_flight);
        let expected: Vec<u64> = items.iter().map(|&x| u64::from(x) * 3 + 1).collect();
        let got: Vec<u64> = pool.map(items.clone(), Order::Preserve, |x| u64::from(x) * 3 + 1).into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(&got, &expected);
        let mut unordered: Vec<u64> = pool.map(items, Order::Unordered, |x| u64::from(x) * 3 + 1).into_iter().map(Result::unwrap).collect();
        unordered.sort_unstable();
        let mut sorted = expected;
        sorted.sort_unstable();
        prop_assert_eq!(unordered, sorted);
    }
}

#[test]
fn panics_with_an_in_flight_bound_of_one_never_hang() {
    with_guard(GUARD, || {
        for threads in [1, 2, 3] {
            for order in [Order::Preserve, Order::Unordered] {
                let pool = Pool::new(threads).in_flight(1);
                // The first task panics, so an ordered run must not wait on it forever.
                let out = pool.map(0..20, order, |i: usize| {
                    assert!(i != 0 && i != 19 && i % 4 != 2, "boom at {i}");
                    i
                });
                assert_eq!(out.len(), 20, "{threads} threads, {order:?}");
                let mut failed: Vec<usize> = out
                    .iter()
                    .filter_map(|r| match r {
                        Err(Error::TaskPanicked { index, .. }) => Some(*index),
                        _ => None,
                    })
                    .collect();
                failed.sort_unstable();
                assert_eq!(failed, [0, 2, 6, 10, 14, 18, 19], "{threads} {order:?}");
                // A single task that panics takes the inline path: still an error.
                let one = pool.map([7], order, |_: i32| -> i32 { panic!("lone") });
                assert!(
                    matches!(&one[..], [Err(Error::TaskPanicked { index: 0, message })] if message == "lone"),
                    "{one:?}"
                );
            }
        }
    });
}

#[test]
fn one_thread_or_one_task_runs_inline() {
    let caller = std::thread::current().id();
    let ids = Pool::new(1).map(0..5, Order::Unordered, |_| std::thread::current().id());
    assert!(ids.iter().all(|id| *id.as_ref().unwrap() == caller));
    let ids = Pool::new(4).map([1], Order::Preserve, |_| std::thread::current().id());
    assert_eq!(*ids[0].as_ref().unwrap(), caller);
    assert!(
        Pool::new(4)
            .map(Vec::<u8>::new(), Order::Preserve, |x| x)
            .is_empty()
    );
    // Two tasks or more go to the workers.
    let ids = Pool::new(2).map(0..2, Order::Preserve, |_| std::thread::current().id());
    assert!(ids.iter().all(|id| *id.as_ref().unwrap() != caller));
}

#[test]
fn workers_really_run_in_parallel() {
    with_guard(GUARD, || {
        // Each task waits until both have started: this returns only if two ran at once.
        let started = AtomicUsize::new(0);
        let out = Pool::new(2).map(0..2, Order::Unordered, |_| {
            started.fetch_add(1, Ordering::SeqCst);
            while started.load(Ordering::SeqCst) < 2 {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        assert!(out.iter().all(Result::is_ok));
    });
}

#[test]
fn a_panicking_sink_propagates_after_the_workers_stop() {
    with_guard(GUARD, || {
        for order in [Order::Preserve, Order::Unordered] {
            let caught = std::panic::catch_unwind(|| {
                Pool::new(3).for_each(
                    0..100,
                    order,
                    |i| i,
                    |index, _| {
                        assert!(index < 5, "sink failed");
                        ControlFlow::Continue(())
                    },
                )
            });
            let payload = caught.unwrap_err();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            assert!(message.contains("sink failed"), "{message}");
        }
    });
}
