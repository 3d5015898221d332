//! Hilbert adjacency: consecutive indexes are neighbouring cells.

use proptest::prelude::*;
use sfc_index::{Curve2, Curve3, Hilbert2, Hilbert3};

fn distance2(a: (u32, u32), b: (u32, u32)) -> u32 {
    a.0.abs_diff(b.0) + a.1.abs_diff(b.1)
}

fn distance3(a: (u32, u32, u32), b: (u32, u32, u32)) -> u32 {
    a.0.abs_diff(b.0) + a.1.abs_diff(b.1) + a.2.abs_diff(b.2)
}

#[test]
fn hilbert2_whole_small_curves() {
    for bits in 1..=6 {
        let h = Hilbert2::new(bits).unwrap();
        assert_eq!(h.decode(0), (0, 0));
        for i in 0..h.max_index() {
            assert_eq!(
                distance2(h.decode(i), h.decode(i + 1)),
                1,
                "order {bits}, index {i}"
            );
        }
    }
}

#[test]
fn hilbert3_whole_small_curves() {
    for bits in 1..=4 {
        let h = Hilbert3::new(bits).unwrap();
        assert_eq!(h.decode(0), (0, 0, 0));
        for i in 0..h.max_index() {
            assert_eq!(
                distance3(h.decode(i), h.decode(i + 1)),
                1,
                "order {bits}, index {i}"
            );
        }
    }
}

proptest! {
    #[test]
    fn hilbert2_adjacent_anywhere(i in 0u64..u64::MAX) {
        let h = Hilbert2::new(32).unwrap();
        prop_assert_eq!(distance2(h.decode(i), h.decode(i + 1)), 1);
    }

    #[test]
    fn hilbert3_adjacent_anywhere(i in 0u64..(1 << 63) - 1) {
        let h = Hilbert3::new(21).unwrap();
        prop_assert_eq!(distance3(h.decode(i), h.decode(i + 1)), 1);
    }
}
