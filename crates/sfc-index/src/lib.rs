//! Z-order, Hilbert and row-major space-filling curves over integer boxes, with box-to-index-range decomposition.
//!
//! A space-filling curve maps grid cells to `u64` indexes so that cells close on
//! the grid tend to be close in the index. A store sorted by index can then answer
//! a box query with a few index ranges instead of one look-up per cell.
//!
//! ```
//! use sfc_index::{Box2, Budget, Curve2, Hilbert2, ZOrder2};
//!
//! // Encode and decode one cell.
//! let z = ZOrder2;
//! assert_eq!(z.encode(3, 5), 0b10_01_11);
//! assert_eq!(z.decode(0b10_01_11), (3, 5));
//!
//! // Decompose a box into the exact index ranges that cover it.
//! let query = Box2::new([1, 1], [2, 2])?;
//! let exact = z.ranges(&query, Budget::default())?;
//! assert_eq!(exact.ranges, vec![3..=3, 6..=6, 9..=9, 12..=12]);
//! assert_eq!(exact.cells_covered, exact.cells_in_box);
//!
//! // A budget trades a few false positives for fewer ranges.
//! let coarse = z.ranges(&query, Budget { max_ranges: Some(1), max_recurse: None })?;
//! assert_eq!(coarse.ranges, vec![0..=15]);
//! assert_eq!((coarse.cells_covered, coarse.cells_in_box), (16, 4));
//!
//! // A Hilbert curve of order 4 (a 16 × 16 grid): consecutive indexes are grid neighbours.
//! let h = Hilbert2::new(4)?;
//! let (x0, y0) = h.decode(41);
//! let (x1, y1) = h.decode(42);
//! assert_eq!(x0.abs_diff(x1) + y0.abs_diff(y1), 1);
//! # Ok::<(), sfc_index::Error>(())
//! ```
//!
//! # Curves
//! - [`ZOrder2`] and [`ZOrder3`]: Z-order (Morton) curves with 32 and 21 bits per
//!   dimension; the x bit is the lowest bit of each interleaved group.
//! - [`Hilbert2`] and [`Hilbert3`]: Hilbert curves whose order is the number of bits
//!   per dimension (at most 32 in 2-D and 21 in 3-D, so 64 and 63 bits in all).
//! - [`RowMajor2`]: `y * width + x` over a bounded grid.
//!
//! # Range decomposition
//! [`Curve2::ranges`] and [`Curve3::ranges`] turn an inclusive query box into sorted,
//! non-overlapping, merged, inclusive index ranges. With [`Budget::default`] the
//! ranges cover exactly the cells of the box. With a [`Budget`], coarser ranges still
//! cover every cell of the box, and [`Decomposition::cells_covered`] says how many
//! cells they cover in all, so a caller knows the false-positive rate.
//!
//! The Z-order and Hilbert decompositions walk the curve's quadtree (octree in 3-D)
//! breadth-first, starting from the smallest cell that holds both corners of the box
//! (the common prefix of their indexes), and sort and merge the ranges once at the end.
//!
//! # Crate features
//! - `serde` (off by default): derives `Serialize` and `Deserialize` for [`Box2`],
//!   [`Box3`], [`Budget`], [`Decomposition`] and the curve types. Deserializing a curve
//!   checks its parameters as its constructor does.
#![deny(missing_docs)]

mod decompose;
mod error;
mod hilbert;
mod rowmajor;
mod zorder;

use std::ops::RangeInclusive;

pub use error::Error;
pub use hilbert::{Hilbert2, Hilbert3};
pub use rowmajor::RowMajor2;
pub use zorder::{ZOrder2, ZOrder3};

/// An inclusive 2-D box of grid cells, in curve coordinates (non-negative, relative to the grid's origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Box2 {
    /// The lowest `[x, y]` corner, inclusive.
    pub min: [u32; 2],
    /// The highest `[x, y]` corner, inclusive.
    pub max: [u32; 2],
}

/// An inclusive 3-D box of grid cells, in curve coordinates (non-negative, relative to the grid's origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Box3 {
    /// The lowest `[x, y, z]` corner, inclusive.
    pub min: [u32; 3],
    /// The highest `[x, y, z]` corner, inclusive.
    pub max: [u32; 3],
}

macro_rules! impl_box {
    ($name:ident, $dims:literal) => {
        impl $name {
            /// Creates a box, checking that `min <= max` on every axis.
            pub fn new(min: [u32; $dims], max: [u32; $dims]) -> Result<Self, Error> {
                let b = Self { min, max };
                b.validate()?;
                Ok(b)
            }

            /// Checks that `min <= max` on every axis.
            pub fn validate(&self) -> Result<(), Error> {
                for axis in 0..$dims {
                    if self.min[axis] > self.max[axis] {
                        return Err(Error::EmptyBox {
                            axis,
                            min: self.min[axis],
                            max: self.max[axis],
                        });
                    }
                }
                Ok(())
            }

            /// The number of cells in the box (0 if `min > max` on some axis).
            pub fn cell_count(&self) -> u128 {
                let mut n = 1u128;
                for axis in 0..$dims {
                    if self.min[axis] > self.max[axis] {
                        return 0;
                    }
                    n *= u128::from(self.max[axis] - self.min[axis]) + 1;
                }
                n
            }

            /// Whether the cell at `p` lies in the box.
            pub fn contains(&self, p: [u32; $dims]) -> bool {
                (0..$dims).all(|axis| self.min[axis] <= p[axis] && p[axis] <= self.max[axis])
            }
        }
    };
}

impl_box!(Box2, 2);
impl_box!(Box3, 3);

/// How far a range decomposition may go. The default is exact: no false positives.
///
/// An exact decomposition needs about one range per cell along the edge of the box that
/// is not aligned to the curve, so a large, unaligned box (say 2^30 cells on a side) can
/// need billions of ranges, and the time and memory to match. Decompose boxes that come
/// from untrusted input with a `max_ranges` budget: that bounds both.
///
/// With either limit set, the decomposition stops refining early and covers the rest
/// of the box with coarser ranges. These still cover every cell of the box, and
/// [`Decomposition::cells_covered`] reports how many cells they cover in all.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Budget {
    /// At most this many ranges in the result (a value of 0 counts as 1). GeoMesa's
    /// default target is 2000. The walk refines the cells that straddle the box's edge
    /// level by level while the count allows, then covers what is left with whole cells,
    /// so the result uses most of the budget but may stay below it.
    ///
    /// For [`RowMajor2`] it groups consecutive rows into one range when there are more
    /// rows than ranges allowed.
    pub max_ranges: Option<usize>,
    /// At most this many levels of the curve's quadtree (octree in 3-D) are refined
    /// below the smallest cell that holds the whole box, as sfcurve's `maxRecurse`.
    /// Row-major decomposition ignores it.
    pub max_recurse: Option<u32>,
}

impl Budget {
    /// The exact budget: refine until no range covers a cell outside the box.
    pub const EXACT: Self = Self {
        max_ranges: None,
        max_recurse: None,
    };

    /// A budget of at most `max_ranges` ranges.
    pub const fn max_ranges(max_ranges: usize) -> Self {
        Self {
            max_ranges: Some(max_ranges),
            max_recurse: None,
        }
    }
}

/// The result of a range decomposition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Decomposition {
    /// Sorted, non-overlapping, merged (never adjacent), inclusive index ranges.
    pub ranges: Vec<RangeInclusive<u64>>,
    /// How many cells the ranges cover in all; equal to `cells_in_box` when exact.
    pub cells_covered: u128,
    /// How many cells the query box holds.
    pub cells_in_box: u128,
}

impl Decomposition {
    /// The number of covered cells that lie outside the box.
    pub fn false_positives(&self) -> u128 {
        self.cells_covered.saturating_sub(self.cells_in_box)
    }

    /// Whether the ranges cover exactly the cells of the box.
    pub fn is_exact(&self) -> bool {
        self.cells_covered == self.cells_in_box
    }
}

/// A space-filling curve over a 2-D grid of `u32` coordinates.
pub trait Curve2 {
    /// The index of cell `(x, y)`.
    ///
    /// This is the fast path: the coordinates must fit the curve's resolution (see
    /// [`Curve2::try_encode`]). Coordinates that do not fit give an unspecified index,
    /// never a panic.
    fn encode(&self, x: u32, y: u32) -> u64;

    /// The cell of `index`, the inverse of [`Curve2::encode`].
    ///
    /// The index must be one the curve produces (see [`Curve2::try_decode`]); other
    /// indexes give an unspecified cell, never a panic.
    fn decode(&self, index: u64) -> (u32, u32);

    /// The index of cell `(x, y)`, or an error naming the coordinate that does not fit.
    fn try_encode(&self, x: u32, y: u32) -> Result<u64, Error>;

    /// The cell of `index`, or an error if the curve never produces `index`.
    fn try_decode(&self, index: u64) -> Result<(u32, u32), Error>;

    /// Decomposes an inclusive query box into sorted, merged, inclusive index ranges
    /// within `budget`. Fails if the box is empty or does not fit the curve.
    fn ranges(&self, query: &Box2, budget: Budget) -> Result<Decomposition, Error>;
}

/// A space-filling curve over a 3-D grid of `u32` coordinates.
pub trait Curve3 {
    /// The index of cell `(x, y, z)`.
    ///
    /// This is the fast path: the coordinates must fit the curve's resolution (see
    /// [`Curve3::try_encode`]). Coordinates that do not fit give an unspecified index,
    /// never a panic.
    fn encode(&self, x: u32, y: u32, z: u32) -> u64;

    /// The cell of `index`, the inverse of [`Curve3::encode`].
    ///
    /// The index must be one the curve produces (see [`Curve3::try_decode`]); other
    /// indexes give an unspecified cell, never a panic.
    fn decode(&self, index: u64) -> (u32, u32, u32);

    /// The index of cell `(x, y, z)`, or an error naming the coordinate that does not fit.
    fn try_encode(&self, x: u32, y: u32, z: u32) -> Result<u64, Error>;

    /// The cell of `index`, or an error if the curve never produces `index`.
    fn try_decode(&self, index: u64) -> Result<(u32, u32, u32), Error>;

    /// Decomposes an inclusive query box into sorted, merged, inclusive index ranges
    /// within `budget`. Fails if the box is empty or does not fit the curve.
    fn ranges(&self, query: &Box3, budget: Budget) -> Result<Decomposition, Error>;
}

/// Checks that every coordinate of `p` is at most `max`.
fn check_coords<const D: usize>(p: [u32; D], max: u32) -> Result<(), Error> {
    for (axis, &value) in p.iter().enumerate() {
        if value > max {
            return Err(Error::CoordinateOutOfRange {
                axis,
                value: u64::from(value),
                max: u64::from(max),
            });
        }
    }
    Ok(())
}
