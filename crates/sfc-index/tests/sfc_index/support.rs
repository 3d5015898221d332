//! Shared checks: the set of indexes a decomposition covers against a brute-force model.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use sfc_index::Decomposition;

/// Asserts the ranges are sorted, non-overlapping, not adjacent, and well-formed.
pub(crate) fn assert_well_formed(ranges: &[RangeInclusive<u64>]) {
    for r in ranges {
        assert!(r.start() <= r.end(), "empty range {r:?}");
    }
    for pair in ranges.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.end().checked_add(1).is_some_and(|next| next < *b.start()),
            "ranges {a:?} and {b:?} overlap, touch, or are out of order"
        );
    }
}

/// Asserts `d` covers exactly `expected` (the indexes of the box's cells).
pub(crate) fn assert_exact(d: &Decomposition, expected: &BTreeSet<u64>) {
    assert_well_formed(&d.ranges);
    let covered: BTreeSet<u64> = d.ranges.iter().flat_map(Clone::clone).collect();
    assert_eq!(&covered, expected);
    assert_eq!(d.cells_covered, expected.len() as u128);
    assert_eq!(d.cells_in_box, expected.len() as u128);
}

/// Asserts `d` covers a superset of `expected` and reports its size correctly.
pub(crate) fn assert_cover(d: &Decomposition, expected: &BTreeSet<u64>) {
    assert_well_formed(&d.ranges);
    let covered: u128 = d
        .ranges
        .iter()
        .map(|r| u128::from(r.end() - r.start()) + 1)
        .sum();
    assert_eq!(d.cells_covered, covered);
    assert_eq!(d.cells_in_box, expected.len() as u128);
    for &i in expected {
        assert!(
            d.ranges.iter().any(|r| r.contains(&i)),
            "index {i} of the box is not covered"
        );
    }
}
