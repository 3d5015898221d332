//! Tiles: `Tile` (one band of natively typed cells) and `MultibandTile` (equal bands).

use crate::Error;
use crate::cell_type::{BaseType, CellType, NoData};

/// The largest number of cells one band may have: 2^31, i.e. 2 GiB of `uint8` cells.
/// Far above real tiles (GeoTrellis defaults to 256×256), it keeps a mistaken size from
/// asking the allocator for terabytes.
pub const MAX_CELLS: u64 = 1 << 31;

/// The cells of one band, in their native number type, row by row from the top-left.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CellBuffer {
    /// `bool` cells.
    Bool(Vec<bool>),
    /// `int8` cells.
    Int8(Vec<i8>),
    /// `uint8` cells.
    UInt8(Vec<u8>),
    /// `int16` cells.
    Int16(Vec<i16>),
    /// `uint16` cells.
    UInt16(Vec<u16>),
    /// `int32` cells.
    Int32(Vec<i32>),
    /// `float32` cells.
    Float32(Vec<f32>),
    /// `float64` cells.
    Float64(Vec<f64>),
}

/// Runs `$e` with `$v` bound to the vector inside any `CellBuffer` variant.
macro_rules! on_buffer {
    ($buf:expr, $v:ident => $e:expr) => {
        match $buf {
            CellBuffer::Bool($v) => $e,
            CellBuffer::Int8($v) => $e,
            CellBuffer::UInt8($v) => $e,
            CellBuffer::Int16($v) => $e,
            CellBuffer::UInt16($v) => $e,
            CellBuffer::Int32($v) => $e,
            CellBuffer::Float32($v) => $e,
            CellBuffer::Float64($v) => $e,
        }
    };
}

impl CellBuffer {
    /// Number of cells.
    pub fn len(&self) -> usize {
        on_buffer!(self, v => v.len())
    }

    /// Whether there are no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored number type.
    pub fn base_type(&self) -> BaseType {
        match self {
            Self::Bool(_) => BaseType::Bool,
            Self::Int8(_) => BaseType::Int8,
            Self::UInt8(_) => BaseType::UInt8,
            Self::Int16(_) => BaseType::Int16,
            Self::UInt16(_) => BaseType::UInt16,
            Self::Int32(_) => BaseType::Int32,
            Self::Float32(_) => BaseType::Float32,
            Self::Float64(_) => BaseType::Float64,
        }
    }

    /// `len` cells of `cell_type`'s NoData (for `raw` types: the constant NoData bit
    /// pattern; for `bool`: `false`).
    fn filled(cell_type: &CellType, len: usize) -> Self {
        fn fill<T: Cell>(ct: &CellType, len: usize) -> Vec<T> {
            vec![store_no_data(T::no_data(ct)); len]
        }
        match cell_type.base() {
            BaseType::Bool => Self::Bool(fill(cell_type, len)),
            BaseType::Int8 => Self::Int8(fill(cell_type, len)),
            BaseType::UInt8 => Self::UInt8(fill(cell_type, len)),
            BaseType::Int16 => Self::Int16(fill(cell_type, len)),
            BaseType::UInt16 => Self::UInt16(fill(cell_type, len)),
            BaseType::Int32 => Self::Int32(fill(cell_type, len)),
            BaseType::Float32 => Self::Float32(fill(cell_type, len)),
            BaseType::Float64 => Self::Float64(fill(cell_type, len)),
        }
    }
}

/// A number type cells are stored as, with its NoData conversions.
pub(crate) trait Cell: Copy + PartialEq + 'static {
    /// The constant NoData value (`false` for bool).
    const CONSTANT: Self;
    /// This type's NoData policy in `ct` (`Raw` if `ct` is of another base type).
    fn no_data(ct: &CellType) -> NoData<Self>;
    /// The value as an i32 (floats truncate toward zero and saturate; NaN gives `i32::MIN`).
    fn to_i32(self) -> i32;
    /// The value as an f64.
    fn to_f64(self) -> f64;
    /// Converts with saturation.
    fn from_i32(v: i32) -> Self;
    /// Converts with saturation, truncating toward zero for integers. `v` is never NaN.
    fn from_f64(v: f64) -> Self;
    /// Whether this is a float NaN.
    fn is_nan(self) -> bool {
        false
    }
}

macro_rules! int_cell {
    ($t:ty, $variant:ident, $constant:expr) => {
        impl Cell for $t {
            const CONSTANT: Self = $constant;
            fn no_data(ct: &CellType) -> NoData<Self> {
                match ct {
                    CellType::$variant(n) => *n,
                    _ => NoData::Raw,
                }
            }
            fn to_i32(self) -> i32 {
                i32::from(self)
            }
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn from_i32(v: i32) -> Self {
                v.clamp(i32::from(<$t>::MIN), i32::from(<$t>::MAX)) as $t
            }
            fn from_f64(v: f64) -> Self {
                // `as` from a float saturates and truncates toward zero, as GeoTrellis's d2i.
                v as $t
            }
        }
    };
}

int_cell!(i8, Int8, i8::MIN);
int_cell!(u8, UInt8, 0);
int_cell!(i16, Int16, i16::MIN);
int_cell!(u16, UInt16, 0);

impl Cell for i32 {
    const CONSTANT: Self = i32::MIN;
    fn no_data(ct: &CellType) -> NoData<Self> {
        match ct {
            CellType::Int32(n) => *n,
            _ => NoData::Raw,
        }
    }
    fn to_i32(self) -> i32 {
        self
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_i32(v: i32) -> Self {
        v
    }
    fn from_f64(v: f64) -> Self {
        v as i32
    }
}

impl Cell for bool {
    const CONSTANT: Self = false;
    fn no_data(_: &CellType) -> NoData<Self> {
        NoData::Raw
    }
    fn to_i32(self) -> i32 {
        i32::from(self)
    }
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    fn from_i32(v: i32) -> Self {
        v != 0
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
}

impl Cell for f32 {
    const CONSTANT: Self = f32::NAN;
    fn no_data(ct: &CellType) -> NoData<Self> {
        match ct {
            CellType::Float32(n) => *n,
            _ => NoData::Raw,
        }
    }
    fn to_i32(self) -> i32 {
        if self.is_nan() { i32::MIN } else { self as i32 }
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_i32(v: i32) -> Self {
        v as f32
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

impl Cell for f64 {
    const CONSTANT: Self = f64::NAN;
    fn no_data(ct: &CellType) -> NoData<Self> {
        match ct {
            CellType::Float64(n) => *n,
            _ => NoData::Raw,
        }
    }
    fn to_i32(self) -> i32 {
        if self.is_nan() { i32::MIN } else { self as i32 }
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn from_i32(v: i32) -> Self {
        f64::from(v)
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

/// Whether a stored value is NoData under `nd`. A float NaN always is.
fn is_no_data<T: Cell>(v: T, nd: NoData<T>) -> bool {
    v.is_nan()
        || match nd {
            NoData::Constant => v == T::CONSTANT,
            NoData::Raw => false,
            NoData::User(u) => v == u,
        }
}

/// The value stored for NoData: the user's value, else the constant.
fn store_no_data<T: Cell>(nd: NoData<T>) -> T {
    match nd {
        NoData::User(u) => u,
        NoData::Constant | NoData::Raw => T::CONSTANT,
    }
}

fn read_i32<T: Cell>(v: T, ct: &CellType) -> i32 {
    if is_no_data(v, T::no_data(ct)) {
        i32::MIN
    } else {
        v.to_i32()
    }
}

fn read_f64<T: Cell>(v: T, ct: &CellType) -> f64 {
    if is_no_data(v, T::no_data(ct)) {
        f64::NAN
    } else {
        v.to_f64()
    }
}

fn write_i32<T: Cell>(v: i32, ct: &CellType) -> T {
    if v == i32::MIN {
        store_no_data(T::no_data(ct))
    } else {
        T::from_i32(v)
    }
}

fn write_f64<T: Cell>(v: f64, ct: &CellType) -> T {
    if v.is_nan() {
        store_no_data(T::no_data(ct))
    } else {
        T::from_f64(v)
    }
}

/// One band of cells of one [`CellType`], `cols × rows`, row by row from the top-left.
///
/// Cells are stored in their native type (`Vec<u8>`, `Vec<i16>`, …). The `i32` and `f64`
/// accessors translate NoData: reading a NoData cell gives `i32::MIN` or NaN, and writing
/// `i32::MIN` or NaN stores the type's NoData. Other values convert with saturation
/// (floats to integers truncate toward zero, as GeoTrellis does). Types without NoData
/// (`raw`) store the constant NoData bit pattern when asked to write NoData, and a float
/// NaN always reads as NoData.
///
/// ```
/// use keyed_tile::{CellType, Tile};
/// let mut tile = Tile::new("int16ud-9999".parse()?, 2, 2)?;
/// assert!(tile.is_nodata(0, 0));
/// tile.set(1, 0, 42)?;
/// assert_eq!(tile.get(1, 0), 42);
/// assert!(tile.get_double(0, 1).is_nan());
/// # Ok::<(), keyed_tile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    cell_type: CellType,
    cols: u32,
    rows: u32,
    cells: CellBuffer,
}

fn cell_count(cols: u32, rows: u32) -> Result<usize, Error> {
    let n = u64::from(cols) * u64::from(rows);
    if n > MAX_CELLS {
        return Err(Error::InvalidTile {
            reason: format!("{cols}x{rows} is {n} cells, more than the limit of {MAX_CELLS}"),
        });
    }
    usize::try_from(n).map_err(|_| Error::InvalidTile {
        reason: format!("{cols}x{rows} cells do not fit this platform's address space"),
    })
}

impl Tile {
    /// A tile filled with NoData (`raw` types: the constant NoData bit pattern; `bool`: false).
    pub fn new(cell_type: CellType, cols: u32, rows: u32) -> Result<Self, Error> {
        let n = cell_count(cols, rows)?;
        Ok(Self {
            cell_type,
            cols,
            rows,
            cells: CellBuffer::filled(&cell_type, n),
        })
    }

    /// A tile from natively typed cells; the buffer's type must match `cell_type` and its
    /// length must be `cols * rows`.
    pub fn from_buffer(
        cell_type: CellType,
        cols: u32,
        rows: u32,
        cells: CellBuffer,
    ) -> Result<Self, Error> {
        let n = cell_count(cols, rows)?;
        if cells.base_type() != cell_type.base() {
            return Err(Error::InvalidTile {
                reason: format!(
                    "cell buffer holds {} cells but the cell type is {cell_type}",
                    cells.base_type().name()
                ),
            });
        }
        if cells.len() != n {
            return Err(Error::InvalidTile {
                reason: format!(
                    "cell buffer has {} cells, a {cols}x{rows} tile needs {n}",
                    cells.len()
                ),
            });
        }
        Ok(Self {
            cell_type,
            cols,
            rows,
            cells,
        })
    }

    /// A tile from `f64` values, converted as by [`Tile::set_double`] (NaN becomes NoData).
    pub fn from_f64s(
        cell_type: CellType,
        cols: u32,
        rows: u32,
        values: &[f64],
    ) -> Result<Self, Error> {
        let mut tile = Self::new(cell_type, cols, rows)?;
        check_len(values.len(), cols, rows)?;
        let ct = tile.cell_type;
        on_buffer!(&mut tile.cells, v => {
            for (dst, src) in v.iter_mut().zip(values) {
                *dst = write_f64(*src, &ct);
            }
        });
        Ok(tile)
    }

    /// A tile from `i32` values, converted as by [`Tile::set`] (`i32::MIN` becomes NoData).
    pub fn from_i32s(
        cell_type: CellType,
        cols: u32,
        rows: u32,
        values: &[i32],
    ) -> Result<Self, Error> {
        let mut tile = Self::new(cell_type, cols, rows)?;
        check_len(values.len(), cols, rows)?;
        let ct = tile.cell_type;
        on_buffer!(&mut tile.cells, v => {
            for (dst, src) in v.iter_mut().zip(values) {
                *dst = write_i32(*src, &ct);
            }
        });
        Ok(tile)
    }

    /// Width in cells.
    pub fn cols(&self) -> u32 {
        self.cols
    }

    /// Height in cells.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Number of cells.
    pub fn size(&self) -> usize {
        self.cells.len()
    }

    /// The cell type.
    pub fn cell_type(&self) -> CellType {
        self.cell_type
    }

    /// The natively typed cells.
    pub fn buffer(&self) -> &CellBuffer {
        &self.cells
    }

    /// The natively typed cells, by value.
    pub fn into_buffer(self) -> CellBuffer {
        self.cells
    }

    fn offset(&self, col: u32, row: u32) -> Option<usize> {
        (col < self.cols && row < self.rows)
            .then(|| row as usize * self.cols as usize + col as usize)
    }

    fn offset_checked(&self, col: u32, row: u32) -> Result<usize, Error> {
        self.offset(col, row).ok_or(Error::CellOutOfRange {
            col,
            row,
            cols: self.cols,
            rows: self.rows,
        })
    }

    /// The cell as an `i32`; NoData (and cells outside the tile) read as `i32::MIN`.
    pub fn get(&self, col: u32, row: u32) -> i32 {
        let Some(i) = self.offset(col, row) else {
            return i32::MIN;
        };
        on_buffer!(&self.cells, v => v.get(i).map_or(i32::MIN, |x| read_i32(*x, &self.cell_type)))
    }

    /// The cell as an `f64`; NoData (and cells outside the tile) read as NaN.
    pub fn get_double(&self, col: u32, row: u32) -> f64 {
        let Some(i) = self.offset(col, row) else {
            return f64::NAN;
        };
        on_buffer!(&self.cells, v => v.get(i).map_or(f64::NAN, |x| read_f64(*x, &self.cell_type)))
    }

    /// Whether the cell is NoData (cells outside the tile are).
    pub fn is_nodata(&self, col: u32, row: u32) -> bool {
        self.get_double(col, row).is_nan()
    }

    /// Writes an `i32`: `i32::MIN` stores NoData, other values saturate to the cell type.
    pub fn set(&mut self, col: u32, row: u32, value: i32) -> Result<(), Error> {
        let i = self.offset_checked(col, row)?;
        let ct = self.cell_type;
        on_buffer!(&mut self.cells, v => {
            if let Some(dst) = v.get_mut(i) {
                *dst = write_i32(value, &ct);
            }
        });
        Ok(())
    }

    /// Writes an `f64`: NaN stores NoData, other values saturate (and truncate toward zero
    /// for integer types).
    pub fn set_double(&mut self, col: u32, row: u32, value: f64) -> Result<(), Error> {
        let i = self.offset_checked(col, row)?;
        let ct = self.cell_type;
        on_buffer!(&mut self.cells, v => {
            if let Some(dst) = v.get_mut(i) {
                *dst = write_f64(value, &ct);
            }
        });
        Ok(())
    }

    /// Every cell as `i32`, NoData as `i32::MIN`, row by row.
    pub fn to_i32s(&self) -> Vec<i32> {
        let ct = self.cell_type;
        on_buffer!(&self.cells, v => v.iter().map(|x| read_i32(*x, &ct)).collect())
    }

    /// Every cell as `f64`, NoData as NaN, row by row.
    pub fn to_f64s(&self) -> Vec<f64> {
        let ct = self.cell_type;
        on_buffer!(&self.cells, v => v.iter().map(|x| read_f64(*x, &ct)).collect())
    }

    /// The same cells in another cell type, NoData kept as NoData. Goes through `f64` when
    /// either type is floating point, else through `i32`.
    pub fn convert(&self, cell_type: CellType) -> Result<Self, Error> {
        if cell_type.is_floating_point() || self.cell_type.is_floating_point() {
            Self::from_f64s(cell_type, self.cols, self.rows, &self.to_f64s())
        } else {
            Self::from_i32s(cell_type, self.cols, self.rows, &self.to_i32s())
        }
    }
}

fn check_len(len: usize, cols: u32, rows: u32) -> Result<(), Error> {
    let n = cell_count(cols, rows)?;
    if len == n {
        Ok(())
    } else {
        Err(Error::InvalidTile {
            reason: format!("{len} values given, a {cols}x{rows} tile needs {n}"),
        })
    }
}

/// Several bands of the same size and cell type (1 to 65535 of them).
///
/// ```
/// use keyed_tile::{CellType, MultibandTile, Tile};
/// let red = Tile::new(CellType::UInt8(keyed_tile::NoData::Raw), 4, 4)?;
/// let tile = MultibandTile::new(vec![red.clone(), red])?;
/// assert_eq!(tile.band_count(), 2);
/// # Ok::<(), keyed_tile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MultibandTile {
    bands: Vec<Tile>,
}

impl MultibandTile {
    /// Makes a multiband tile, checking that there are 1 to 65535 bands (the codec's
    /// limit) and that all bands share band 0's size and cell type.
    pub fn new(bands: Vec<Tile>) -> Result<Self, Error> {
        let Some(first) = bands.first() else {
            return Err(Error::InvalidTile {
                reason: "a multiband tile needs at least one band".to_string(),
            });
        };
        if bands.len() > usize::from(u16::MAX) {
            return Err(Error::InvalidTile {
                reason: format!(
                    "{} bands; the tile codec stores at most {}",
                    bands.len(),
                    u16::MAX
                ),
            });
        }
        let describe = |t: &Tile| format!("{}x{} {}", t.cols, t.rows, t.cell_type);
        for (band, tile) in bands.iter().enumerate().skip(1) {
            if tile.cols != first.cols
                || tile.rows != first.rows
                || tile.cell_type != first.cell_type
            {
                return Err(Error::BandMismatch {
                    band,
                    expected: describe(first),
                    got: describe(tile),
                });
            }
        }
        Ok(Self { bands })
    }

    /// Band `i`, if there is one.
    pub fn band(&self, i: usize) -> Option<&Tile> {
        self.bands.get(i)
    }

    /// Number of bands (at least 1).
    pub fn band_count(&self) -> usize {
        self.bands.len()
    }

    /// All bands.
    pub fn bands(&self) -> &[Tile] {
        &self.bands
    }

    /// The bands, by value.
    pub fn into_bands(self) -> Vec<Tile> {
        self.bands
    }

    /// Width in cells.
    pub fn cols(&self) -> u32 {
        self.bands.first().map_or(0, Tile::cols)
    }

    /// Height in cells.
    pub fn rows(&self) -> u32 {
        self.bands.first().map_or(0, Tile::rows)
    }

    /// The cell type shared by all bands.
    pub fn cell_type(&self) -> CellType {
        self.bands.first().map_or(CellType::Bool, Tile::cell_type)
    }
}

impl From<Tile> for MultibandTile {
    fn from(tile: Tile) -> Self {
        Self { bands: vec![tile] }
    }
}
