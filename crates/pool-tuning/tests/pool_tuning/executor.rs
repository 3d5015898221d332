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
            assert!(max_seen >= 3, "{order:?}: the workers ran in parallel");
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
