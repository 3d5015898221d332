//! Breadth-first range decomposition over a curve's quadtree (2-D) or octree (3-D).
//!
//! Z-order and Hilbert curves both visit the cells of an aligned square (cube) of
//! side `2^s` as one contiguous run of `2^(D*s)` indexes, and visit its `2^D`
//! children one after another. They differ only in which child comes at which
//! position and, for Hilbert, in the orientation of each child. A [`Tree`] gives that
//! mapping; this module walks any such tree.

use std::ops::RangeInclusive;

use crate::{Budget, Decomposition};

/// A curve seen as a tree of aligned cells with `2^D` children each.
pub(crate) trait Tree<const D: usize> {
    /// The depth of the tree: bits per dimension of the full curve.
    const BITS: u32;
    /// The orientation state of the root cell.
    const ROOT_STATE: u8;

    /// The child in position `digit` (0..2^D, in curve order) of a cell in `state`:
    /// its octant (bit `a` set means the upper half on axis `a`) and its state.
    fn child(state: u8, digit: u32) -> (u32, u8);

    /// The inverse of [`Tree::child`]: the position and state of the child in `octant`.
    fn locate(state: u8, octant: u32) -> (u32, u8);
}

/// One cell of the tree on the frontier of the walk.
#[derive(Clone, Copy)]
struct Node<const D: usize> {
    /// The cell's lowest corner.
    origin: [u32; D],
    /// The first curve index inside the cell.
    start: u64,
    /// The cell's orientation state.
    state: u8,
}

/// `2^bits - 1` as a `u64`, saturating at `u64::MAX` for 64 bits and more.
fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Appends `range`, extending the last range instead when the two are adjacent.
fn push_range(out: &mut Vec<RangeInclusive<u64>>, start: u64, end: u64) {
    if let Some(last) = out.last_mut()
        && last.end().checked_add(1) == Some(start)
    {
        *last = *last.start()..=end;
        return;
    }
    out.push(start..=end);
}

/// How a cell relates to the query box.
enum Overlap {
    Disjoint,
    Inside,
    Partial,
}

/// Compares the cell `[origin, origin + side - 1]` with the box `[min, max]`.
#[inline]
fn overlap<const D: usize>(
    origin: [u32; D],
    side_minus_1: u32,
    min: [u32; D],
    max: [u32; D],
) -> Overlap {
    let mut inside = true;
    for axis in 0..D {
        let lo = origin[axis];
        // Cannot overflow: cells lie inside the curve's grid, whose last coordinate fits a u32.
        let hi = lo + side_minus_1;
        if lo > max[axis] || hi < min[axis] {
            return Overlap::Disjoint;
        }
        inside &= lo >= min[axis] && hi <= max[axis];
    }
    if inside {
        Overlap::Inside
    } else {
        Overlap::Partial
    }
}

/// Decomposes the box `[min, max]` (already checked: non-empty and inside the
/// curve's grid) into sorted, merged, inclusive index ranges.
pub(crate) fn decompose<const D: usize, T: Tree<D>>(
    min: [u32; D],
    max: [u32; D],
    budget: Budget,
) -> Decomposition {
    let max_recurse = budget.max_recurse.unwrap_or(u32::MAX);
    let Some(cap) = budget.max_ranges.map(|m| m.max(1)) else {
        return walk::<D, T>(min, max, None, max_recurse);
    };
    // The walk counts ranges before the final merge, and many of them touch (neighbouring
    // cells of the box often follow each other on the curve), so a walk stopped at `cap`
    // often ends with far fewer ranges than allowed. Walk again with a larger internal
    // cap (scaled by the room left, then bisected) while the result stays within the cap.
    // A walk takes tens of microseconds to a millisecond for a 2000-range budget, so a few
    // more are cheap.
    let mut best = walk::<D, T>(min, max, Some(cap), max_recurse);
    // `low` is an internal cap known to fit; `high`, once found, one known not to.
    let mut low = cap;
    let mut high: Option<usize> = None;
    for _ in 0..4 {
        let len = best.ranges.len().max(1);
        // Stop when the cap is nearly used, or nothing was left coarse.
        if len.saturating_mul(10) >= cap.saturating_mul(9)
            || best.cells_covered == best.cells_in_box
        {
            break;
        }
        let guess = match high {
            // Scale by the room left, assuming the merged count grows with the cap.
            // At most 16 times the cap, which bounds the time spent.
            None => (low.saturating_mul(cap) / len).min(cap.saturating_mul(16)),
            // Between a fitting and a failing cap: their geometric mean.
            Some(high) => ((low as f64) * (high as f64)).sqrt() as usize,
        };
        if guess <= low || high.is_some_and(|h| guess >= h) {
            break;
        }
        let candidate = walk::<D, T>(min, max, Some(guess), max_recurse);
        if candidate.ranges.len() > cap {
            high = Some(guess);
        } else if candidate.cells_covered < best.cells_covered {
            // Less than 5% fewer cells covered: further walks are not worth their time.
            let small_gain =
                (best.cells_covered - candidate.cells_covered) * 20 < best.cells_covered;
            low = guess;
            best = candidate;
            if small_gain {
                break;
            }
        } else {
            // A larger internal cap that covers no fewer cells: refining further only
            // adds ranges that merge away, so stop rather than walk ever larger.
            break;
        }
    }
    best
}

/// One breadth-first walk; `max_ranges` caps the ranges counted before the final merge.
fn walk<const D: usize, T: Tree<D>>(
    min: [u32; D],
    max: [u32; D],
    max_ranges: Option<usize>,
    max_recurse: u32,
) -> Decomposition {
    let dims = D as u32;

    // The smallest aligned cell holding both corners: its side is 2^level, where level
    // is one more than the highest bit in which any axis of min and max differ.
    let diff = (0..D).fold(0u32, |acc, axis| acc | (min[axis] ^ max[axis]));
    let mut level = u32::BITS - diff.leading_zeros();
    // Walk down from the root to that cell, following the min corner, to learn its
    // first index (the common prefix) and its orientation.
    let mut state = T::ROOT_STATE;
    let mut prefix = 0u64;
    for bit in (level..T::BITS).rev() {
        let octant = (0..D).fold(0u32, |acc, axis| acc | (((min[axis] >> bit) & 1) << axis));
        let (digit, next) = T::locate(state, octant);
        prefix = (prefix << dims) | u64::from(digit);
        state = next;
    }
    let start = if dims * level >= 64 {
        0
    } else {
        prefix << (dims * level)
    };
    let origin = min.map(|c| {
        if level >= 32 {
            0
        } else {
            c & !((1u32 << level) - 1)
        }
    });

    let mut ranges: Vec<RangeInclusive<u64>> = Vec::new();
    let root = Node {
        origin,
        start,
        state,
    };
    let root_inside = (0..D).all(|axis| {
        let side_minus_1 = low_mask(level);
        u64::from(min[axis]) == u64::from(origin[axis])
            && u64::from(max[axis]) == u64::from(origin[axis]) + side_minus_1
    });
    let mut frontier: Vec<Node<D>> = Vec::new();
    if root_inside {
        ranges.push(start..=start + low_mask(dims * level));
    } else {
        frontier.push(root);
    }

    let mut next: Vec<Node<D>> = Vec::new();
    let mut depth = 0u32;
    let blank = Node {
        origin: [0; D],
        start: 0,
        state: 0,
    };
    let children = 1u32 << D;
    while !frontier.is_empty() {
        // Cells on the frontier straddle the box edge, so they are never single cells
        // (level >= 1). When the recursion budget is spent, cover them whole.
        if depth >= max_recurse {
            for node in &frontier {
                push_range(&mut ranges, node.start, node.start + low_mask(dims * level));
            }
            break;
        }
        let child_level = level - 1;
        let child_side_minus_1 = (1u32 << child_level) - 1;
        let child_span = dims * child_level;
        let cell_mask = low_mask(dims * level);
        let child_mask = low_mask(child_span);
        next.clear();
        let mut exhausted = false;
        for (i, node) in frontier.iter().enumerate() {
            // The children of this node that meet the box, in curve order.
            let mut kids = [(blank, false); 8];
            let mut count = 0;
            for digit in 0..children {
                let (octant, child_state) = T::child(node.state, digit);
                let mut child_origin = node.origin;
                for (axis, c) in child_origin.iter_mut().enumerate() {
                    *c |= ((octant >> axis) & 1) << child_level;
                }
                let child = Node {
                    origin: child_origin,
                    start: node.start + (u64::from(digit) << child_span),
                    state: child_state,
                };
                match overlap(child_origin, child_side_minus_1, min, max) {
                    Overlap::Disjoint => {}
                    Overlap::Inside => {
                        kids[count] = (child, true);
                        count += 1;
                    }
                    Overlap::Partial => {
                        kids[count] = (child, false);
                        count += 1;
                    }
                }
            }
            if let Some(cap) = max_ranges {
                // Replacing this node by its children must leave the total (ranges so far,
                // the next level, and the rest of this level) within the cap.
                let total = ranges.len() + next.len() + (frontier.len() - i - 1) + count;
                if total > cap {
                    // Cover the rest of this level whole, and the next level's cells found so far.
                    for rest in &frontier[i..] {
                        push_range(&mut ranges, rest.start, rest.start + cell_mask);
                    }
                    exhausted = true;
                    break;
                }
            }
            for &(child, inside) in &kids[..count] {
                if inside {
                    push_range(&mut ranges, child.start, child.start + child_mask);
                } else {
                    next.push(child);
                }
            }
        }
        if exhausted {
            for node in &next {
                push_range(&mut ranges, node.start, node.start + child_mask);
            }
            break;
        }
        std::mem::swap(&mut frontier, &mut next);
        level = child_level;
        depth += 1;
    }

    // Cells of the tree never overlap, so sorting by start and joining adjacent ranges
    // gives the merged result.
    ranges.sort_unstable_by_key(|r| *r.start());
    let mut merged: Vec<RangeInclusive<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        push_range(&mut merged, *r.start(), *r.end());
    }
    let cells_covered = merged
        .iter()
        .map(|r| u128::from(r.end() - r.start()) + 1)
        .sum();
    let cells_in_box = (0..D)
        .map(|axis| u128::from(max[axis] - min[axis]) + 1)
        .product();
    Decomposition {
        ranges: merged,
        cells_covered,
        cells_in_box,
    }
}
