//! The crate's error type.

/// What went wrong in a curve operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A coordinate does not fit the curve's grid.
    #[error("coordinate {value} on axis {axis} is outside the curve's grid 0..={max}")]
    CoordinateOutOfRange {
        /// The axis: 0 for x, 1 for y, 2 for z.
        axis: usize,
        /// The coordinate given.
        value: u64,
        /// The largest coordinate the curve accepts on this axis.
        max: u64,
    },
    /// An index is beyond the last index the curve produces.
    #[error("index {index} is outside the curve's index range 0..={max}")]
    IndexOutOfRange {
        /// The index given.
        index: u64,
        /// The last index of the curve.
        max: u64,
    },
    /// A query box has `min > max` on some axis.
    #[error("query box is empty on axis {axis}: min {min} > max {max}")]
    EmptyBox {
        /// The axis: 0 for x, 1 for y, 2 for z.
        axis: usize,
        /// The box's minimum on that axis.
        min: u32,
        /// The box's maximum on that axis.
        max: u32,
    },
    /// A curve order (bits per dimension) is zero or too large for a `u64` index.
    #[error("{curve} order of {bits} bits per dimension is outside 1..={max}")]
    InvalidOrder {
        /// The curve, e.g. `"Hilbert2"`.
        curve: &'static str,
        /// The order given.
        bits: u32,
        /// The largest order the curve supports.
        max: u32,
    },
    /// A row-major grid is empty or has more than 2^64 cells.
    #[error("row-major grid of {width} x {height} cells is empty or has more than 2^64 cells")]
    InvalidGrid {
        /// The grid's width in cells.
        width: u64,
        /// The grid's height in cells.
        height: u64,
    },
}
