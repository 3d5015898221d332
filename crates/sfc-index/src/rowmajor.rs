//! Row-major order over a bounded 2-D grid: `index = y * width + x`.

use std::ops::RangeInclusive;

use crate::{Box2, Budget, Curve2, Decomposition, Error};

/// Row-major order over a `width × height` grid: `index = y * width + x`.
///
/// A box query gives one range per row, merged into one range where the rows span
/// the full width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "GridSize", into = "GridSize"))]
pub struct RowMajor2 {
    width: u64,
    height: u64,
}

/// The serialized form of a row-major grid.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct GridSize {
    width: u64,
    height: u64,
}

#[cfg(feature = "serde")]
impl TryFrom<GridSize> for RowMajor2 {
    type Error = Error;
    fn try_from(g: GridSize) -> Result<Self, Error> {
        Self::new(g.width, g.height)
    }
}

#[cfg(feature = "serde")]
impl From<RowMajor2> for GridSize {
    fn from(r: RowMajor2) -> Self {
        Self {
            width: r.width,
            height: r.height,
        }
    }
}

impl RowMajor2 {
    /// A grid of `width × height` cells. Both must be at least 1, and the grid may
    /// hold at most 2^64 cells so that every index fits a `u64`.
    pub fn new(width: u64, height: u64) -> Result<Self, Error> {
        let cells = u128::from(width) * u128::from(height);
        if cells == 0 || cells > 1u128 << 64 {
            return Err(Error::InvalidGrid { width, height });
        }
        Ok(Self { width, height })
    }

    /// The grid's width in cells.
    pub fn width(&self) -> u64 {
        self.width
    }

    /// The grid's height in cells.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The last index: `width * height - 1`.
    pub fn max_index(&self) -> u64 {
        // Cannot overflow: the constructor keeps width * height <= 2^64.
        ((u128::from(self.width) * u128::from(self.height)) - 1) as u64
    }

    fn check(&self, x: u32, y: u32) -> Result<(), Error> {
        if u64::from(x) >= self.width {
            return Err(Error::CoordinateOutOfRange {
                axis: 0,
                value: u64::from(x),
                max: self.width - 1,
            });
        }
        if u64::from(y) >= self.height {
            return Err(Error::CoordinateOutOfRange {
                axis: 1,
                value: u64::from(y),
                max: self.height - 1,
            });
        }
        Ok(())
    }
}

impl Curve2 for RowMajor2 {
    #[inline]
    fn encode(&self, x: u32, y: u32) -> u64 {
        u64::from(y)
            .wrapping_mul(self.width)
            .wrapping_add(u64::from(x))
    }

    #[inline]
    fn decode(&self, index: u64) -> (u32, u32) {
        ((index % self.width) as u32, (index / self.width) as u32)
    }

    fn try_encode(&self, x: u32, y: u32) -> Result<u64, Error> {
        self.check(x, y)?;
        Ok(self.encode(x, y))
    }

    fn try_decode(&self, index: u64) -> Result<(u32, u32), Error> {
        if index > self.max_index() {
            return Err(Error::IndexOutOfRange {
                index,
                max: self.max_index(),
            });
        }
        let (x, y) = (index % self.width, index / self.width);
        // A grid wider or taller than u32 coordinates can name has cells `decode` cannot return.
        match (u32::try_from(x), u32::try_from(y)) {
            (Ok(x), Ok(y)) => Ok((x, y)),
            _ => Err(Error::IndexOutOfRange {
                index,
                max: self.max_index(),
            }),
        }
    }

    fn ranges(&self, query: &Box2, budget: Budget) -> Result<Decomposition, Error> {
        query.validate()?;
        self.check(query.max[0], query.max[1])?;
        let [x0, y0] = query.min.map(u64::from);
        let [x1, y1] = query.max.map(u64::from);
        let w = self.width;
        let cells_in_box = query.cell_count();
        // Full-width rows are contiguous: one range for the whole box.
        if x0 == 0 && x1 == w - 1 {
            let range = y0 * w..=y1 * w + x1;
            return Ok(Decomposition {
                ranges: vec![range],
                cells_covered: cells_in_box,
                cells_in_box,
            });
        }
        // Otherwise one range per row, or groups of rows (joined across the gaps
        // between them) when there are more rows than the budget allows.
        let rows = y1 - y0 + 1;
        let cap = budget.max_ranges.map_or(u64::MAX, |m| m.max(1) as u64);
        let per_group = rows.div_ceil(cap).max(1);
        // Reserve for at most 4096 groups up front: an exact decomposition of a tall box
        // can hold 2^32 ranges, and the vector should grow into that rather than ask for
        // it all before the first row.
        let groups = rows.div_ceil(per_group).min(4096);
        let mut ranges: Vec<RangeInclusive<u64>> =
            Vec::with_capacity(usize::try_from(groups).unwrap_or(4096));
        let mut cells_covered = 0u128;
        let mut first = y0;
        while first <= y1 {
            let last = (first + per_group - 1).min(y1);
            let (start, end) = (first * w + x0, last * w + x1);
            cells_covered += u128::from(end - start) + 1;
            ranges.push(start..=end);
            first = last + 1;
        }
        Ok(Decomposition {
            ranges,
            cells_covered,
            cells_in_box,
        })
    }
}
