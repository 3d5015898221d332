//! Range decomposition against brute force: exact covers, budgeted supersets, shape of the result.

use std::collections::BTreeSet;

use proptest::prelude::*;
use sfc_index::{
    Box2, Box3, Budget, Curve2, Curve3, Decomposition, Hilbert2, Hilbert3, RowMajor2, ZOrder2,
    ZOrder3,
};

use crate::support::{assert_cover, assert_exact};

fn cells2(curve: &impl Curve2, q: &Box2) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for x in q.min[0]..=q.max[0] {
        for y in q.min[1]..=q.max[1] {
            out.insert(curve.encode(x, y));
        }
    }
    out
}

fn cells3(curve: &impl Curve3, q: &Box3) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for x in q.min[0]..=q.max[0] {
        for y in q.min[1]..=q.max[1] {
            for z in q.min[2]..=q.max[2] {
                out.insert(curve.encode(x, y, z));
            }
        }
    }
    out
}

/// Checks the exact and several budgeted decompositions of `q` against brute force.
fn check2(curve: &impl Curve2, q: &Box2) {
    let expected = cells2(curve, q);
    let exact = curve.ranges(q, Budget::default()).unwrap();
    assert_exact(&exact, &expected);
    // A cap that is never reached changes nothing.
    assert_eq!(
        curve.ranges(q, Budget::max_ranges(usize::MAX)).unwrap(),
        exact
    );
    for max_ranges in [0, 1, 2, 3, 5, 8, 13] {
        let d = curve.ranges(q, Budget::max_ranges(max_ranges)).unwrap();
        assert_cover(&d, &expected);
        assert!(
            d.ranges.len() <= max_ranges.max(1),
            "{} ranges over a cap of {max_ranges}",
            d.ranges.len()
        );
    }
    for max_recurse in 0..4 {
        let d = curve
            .ranges(
                q,
                Budget {
                    max_ranges: None,
                    max_recurse: Some(max_recurse),
                },
            )
            .unwrap();
        assert_cover(&d, &expected);
    }
}

fn check3(curve: &impl Curve3, q: &Box3) {
    let expected = cells3(curve, q);
    assert_exact(&curve.ranges(q, Budget::default()).unwrap(), &expected);
    for max_ranges in [0, 1, 4, 9, 20] {
        let d = curve.ranges(q, Budget::max_ranges(max_ranges)).unwrap();
        assert_cover(&d, &expected);
        assert!(
            d.ranges.len() <= max_ranges.max(1),
            "{} ranges over a cap of {max_ranges}",
            d.ranges.len()
        );
    }
    for max_recurse in 0..3 {
        let d = curve
            .ranges(
                q,
                Budget {
                    max_ranges: None,
                    max_recurse: Some(max_recurse),
                },
            )
            .unwrap();
        assert_cover(&d, &expected);
    }
}

#[test]
fn every_box_of_an_8x8_grid() {
    let h = Hilbert2::new(3).unwrap();
    let r = RowMajor2::new(8, 8).unwrap();
    for x0 in 0..8 {
        for x1 in x0..8 {
            for y0 in 0..8 {
                for y1 in y0..8 {
                    let q = Box2::new([x0, y0], [x1, y1]).unwrap();
                    check2(&ZOrder2, &q);
                    check2(&h, &q);
                    check2(&r, &q);
                }
            }
        }
    }
}

#[test]
fn whole_grids() {
    let q = Box2::new([0, 0], [u32::MAX, u32::MAX]).unwrap();
    for d in [
        ZOrder2.ranges(&q, Budget::default()).unwrap(),
        Hilbert2::new(32)
            .unwrap()
            .ranges(&q, Budget::default())
            .unwrap(),
    ] {
        assert_eq!(d.ranges, vec![0..=u64::MAX]);
        assert_eq!(d.cells_covered, 1 << 64);
        assert_eq!(d.cells_in_box, 1 << 64);
    }
    let q = Box3::new([0; 3], [(1 << 21) - 1; 3]).unwrap();
    for d in [
        ZOrder3.ranges(&q, Budget::default()).unwrap(),
        Hilbert3::new(21)
            .unwrap()
            .ranges(&q, Budget::default())
            .unwrap(),
    ] {
        assert_eq!(d.ranges, vec![0..=(1 << 63) - 1]);
    }
    let r = RowMajor2::new(1 << 32, 1 << 32).unwrap();
    let q = Box2::new([0, 0], [u32::MAX, u32::MAX]).unwrap();
    assert_eq!(
        r.ranges(&q, Budget::default()).unwrap().ranges,
        vec![0..=u64::MAX]
    );
}

#[test]
fn single_cells() {
    let h2 = Hilbert2::new(32).unwrap();
    let h3 = Hilbert3::new(21).unwrap();
    for (x, y, z) in [
        (0, 0, 0),
        (7, 1_000_000, 3),
        (u32::MAX, u32::MAX, (1 << 21) - 1),
    ] {
        let q = Box2::new([x, y], [x, y]).unwrap();
        let i = ZOrder2.encode(x, y);
        assert_eq!(
            ZOrder2.ranges(&q, Budget::default()).unwrap().ranges,
            vec![i..=i]
        );
        let i = h2.encode(x, y);
        assert_eq!(
            h2.ranges(&q, Budget::default()).unwrap().ranges,
            vec![i..=i]
        );
        let (x, y) = (x & ((1 << 21) - 1), y & ((1 << 21) - 1));
        let q = Box3::new([x, y, z], [x, y, z]).unwrap();
        let i = ZOrder3.encode(x, y, z);
        assert_eq!(
            ZOrder3.ranges(&q, Budget::default()).unwrap().ranges,
            vec![i..=i]
        );
        let i = h3.encode(x, y, z);
        assert_eq!(
            h3.ranges(&q, Budget::default()).unwrap().ranges,
            vec![i..=i]
        );
    }
}

#[test]
fn rowmajor_rows() {
    let r = RowMajor2::new(10, 5).unwrap();
    let d = r
        .ranges(&Box2::new([2, 1], [4, 3]).unwrap(), Budget::default())
        .unwrap();
    assert_eq!(d.ranges, vec![12..=14, 22..=24, 32..=34]);
    // Full-width rows merge into one range.
    let d = r
        .ranges(&Box2::new([0, 1], [9, 3]).unwrap(), Budget::default())
        .unwrap();
    assert_eq!(d.ranges, vec![10..=39]);
    // A budget joins rows across the gaps.
    let d = r
        .ranges(&Box2::new([2, 0], [4, 4]).unwrap(), Budget::max_ranges(2))
        .unwrap();
    assert_eq!(d.ranges, vec![2..=24, 32..=44]);
    assert_eq!((d.cells_covered, d.cells_in_box), (36, 15));
}

#[test]
fn budget_bounds_a_large_query() {
    // The benchmark's query: 1024 x 1024 cells by 365 days, off the grid's alignment.
    let q = Box3::new([1000, 3000, 17_000], [2023, 4023, 17_364]).unwrap();
    for d in [
        ZOrder3.ranges(&q, Budget::max_ranges(2000)).unwrap(),
        Hilbert3::new(21)
            .unwrap()
            .ranges(&q, Budget::max_ranges(2000))
            .unwrap(),
    ] {
        assert!(!d.ranges.is_empty() && d.ranges.len() <= 2000);
        assert_eq!(d.cells_in_box, 1024 * 1024 * 365);
        assert!(d.cells_covered >= d.cells_in_box);
        // The budget is spent well: the ranges cover at most 20% more cells than the box.
        assert!(
            d.cells_covered * 10 < d.cells_in_box * 12,
            "covered {}",
            d.cells_covered
        );
    }
}

fn box2(max: u32) -> impl Strategy<Value = Box2> {
    (0..=max, 0..=max, 0..=max, 0..=max).prop_map(|(a, b, c, d)| Box2 {
        min: [a.min(b), c.min(d)],
        max: [a.max(b), c.max(d)],
    })
}

fn box3(max: u32) -> impl Strategy<Value = Box3> {
    (box2(max), 0..=max, 0..=max).prop_map(|(b, c, d)| Box3 {
        min: [b.min[0], b.min[1], c.min(d)],
        max: [b.max[0], b.max[1], c.max(d)],
    })
}

/// Moves a box so its corner sits at `offset` (which exercises the descent to the common prefix).
fn shift2(q: Box2, offset: [u32; 2]) -> Box2 {
    Box2 {
        min: [q.min[0] + offset[0], q.min[1] + offset[1]],
        max: [q.max[0] + offset[0], q.max[1] + offset[1]],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_boxes_16x16(q in box2(15), bits in 4u32..=32) {
        check2(&ZOrder2, &q);
        check2(&Hilbert2::new(bits).unwrap(), &q);
        check2(&RowMajor2::new(16, 16).unwrap(), &q);
        check2(&RowMajor2::new(23, 17).unwrap(), &q);
    }

    #[test]
    fn random_boxes_far_from_the_origin(q in box2(20), ox in 0u32..u32::MAX - 20, oy in 0u32..u32::MAX - 20) {
        let q = shift2(q, [ox, oy]);
        check2(&ZOrder2, &q);
        check2(&Hilbert2::new(32).unwrap(), &q);
    }

    #[test]
    fn random_boxes_8x8x8(q in box3(7), bits in 3u32..=21) {
        check3(&ZOrder3, &q);
        check3(&Hilbert3::new(bits).unwrap(), &q);
    }

    #[test]
    fn random_3d_boxes_far_from_the_origin(q in box3(9), o in prop::array::uniform3(0u32..(1 << 21) - 10)) {
        let q = Box3 { min: [q.min[0] + o[0], q.min[1] + o[1], q.min[2] + o[2]], max: [q.max[0] + o[0], q.max[1] + o[1], q.max[2] + o[2]] };
        check3(&ZOrder3, &q);
        check3(&Hilbert3::new(21).unwrap(), &q);
    }
}

/// Any box of the full 32-bit grid: corners anywhere, sizes from one cell to the whole axis.
fn wide_box2() -> impl Strategy<Value = Box2> {
    (
        any::<[u32; 2]>(),
        any::<[u32; 2]>(),
        any::<[u32; 2]>(),
        any::<[u32; 2]>(),
    )
        .prop_map(|(a, b, c, d)| {
            // Mostly small boxes anywhere, sometimes huge ones.
            let lo = [a[0].min(b[0]), c[0].min(d[0])];
            let hi = [a[0].max(b[0]), c[0].max(d[0])];
            let hi = if a[1] % 2 == 0 {
                [
                    lo[0].saturating_add(b[1] % 1000),
                    lo[1].saturating_add(c[1] % 1000),
                ]
            } else {
                hi
            };
            Box2 { min: lo, max: hi }
        })
}

/// Any box of the 21-bit 3-D grid.
fn wide_box3() -> impl Strategy<Value = Box3> {
    (
        prop::array::uniform3(0u32..1 << 21),
        prop::array::uniform3(0u32..1 << 21),
    )
        .prop_map(|(a, b)| Box3 {
            min: [a[0].min(b[0]), a[1].min(b[1]), a[2].min(b[2])],
            max: [a[0].max(b[0]), a[1].max(b[1]), a[2].max(b[2])],
        })
}

/// Checks a budgeted decomposition of a box too big for brute force: well formed, within
/// the budget, counts consistent, and covering every corner and the centre of the box.
fn check_budgeted(d: &Decomposition, cap: usize, cells_in_box: u128, probes: &[u64]) {
    crate::support::assert_well_formed(&d.ranges);
    assert!(
        !d.ranges.is_empty() && d.ranges.len() <= cap.max(1),
        "{} ranges",
        d.ranges.len()
    );
    let covered: u128 = d
        .ranges
        .iter()
        .map(|r| u128::from(r.end() - r.start()) + 1)
        .sum();
    assert_eq!(d.cells_covered, covered);
    assert_eq!(d.cells_in_box, cells_in_box);
    assert!(d.cells_covered >= d.cells_in_box);
    for i in probes {
        assert!(
            d.ranges.iter().any(|r| r.contains(i)),
            "index {i} of the box is not covered"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn budgeted_boxes_anywhere_in_2d(q in wide_box2(), cap in 1usize..300, recurse in proptest::option::of(0u32..40)) {
        let budget = Budget { max_ranges: Some(cap), max_recurse: recurse };
        let mid = [q.min[0] + (q.max[0] - q.min[0]) / 2, q.min[1] + (q.max[1] - q.min[1]) / 2];
        let corners = [q.min, q.max, [q.min[0], q.max[1]], [q.max[0], q.min[1]], mid];
        let h = Hilbert2::new(32).unwrap();
        let probes: Vec<u64> = corners.iter().map(|p| ZOrder2.encode(p[0], p[1])).collect();
        check_budgeted(&ZOrder2.ranges(&q, budget).unwrap(), cap, q.cell_count(), &probes);
        let probes: Vec<u64> = corners.iter().map(|p| h.encode(p[0], p[1])).collect();
        check_budgeted(&h.ranges(&q, budget).unwrap(), cap, q.cell_count(), &probes);
        let r = RowMajor2::new(1 << 32, 1 << 32).unwrap();
        let probes: Vec<u64> = corners.iter().map(|p| r.encode(p[0], p[1])).collect();
        check_budgeted(&r.ranges(&q, budget).unwrap(), cap, q.cell_count(), &probes);
    }

    #[test]
    fn budgeted_boxes_anywhere_in_3d(q in wide_box3(), cap in 1usize..300) {
        let budget = Budget::max_ranges(cap);
        let mid = [0, 1, 2].map(|a| q.min[a] + (q.max[a] - q.min[a]) / 2);
        let corners = [q.min, q.max, [q.min[0], q.max[1], q.min[2]], [q.max[0], q.min[1], q.max[2]], mid];
        let h = Hilbert3::new(21).unwrap();
        let probes: Vec<u64> = corners.iter().map(|p| ZOrder3.encode(p[0], p[1], p[2])).collect();
        check_budgeted(&ZOrder3.ranges(&q, budget).unwrap(), cap, q.cell_count(), &probes);
        let probes: Vec<u64> = corners.iter().map(|p| h.encode(p[0], p[1], p[2])).collect();
        check_budgeted(&h.ranges(&q, budget).unwrap(), cap, q.cell_count(), &probes);
    }
}
