//! Cell types and their NoData policy, named as in GeoTrellis (`int16`, `uint8raw`, `int16ud-9999`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// How a cell type marks missing cells.
#[derive(Clone, Copy, Debug)]
pub enum NoData<T> {
    /// The type's fixed NoData value (GeoTrellis's constants): int8 −128, uint8 0,
    /// int16 −32768, uint16 0, int32 `i32::MIN`, floats NaN.
    Constant,
    /// No NoData: every stored value is data (`…raw`).
    Raw,
    /// A value chosen by the user (`…ud<value>`).
    User(T),
}

/// The type of a tile's cells: the stored number type plus its NoData policy.
///
/// Names follow GeoTrellis: `bool`, `int8`, `uint8`, `int16`, `uint16`, `int32`, `float32`,
/// `float64` (constant NoData), the same with `raw` appended (no NoData), and the same with
/// `ud<value>` appended (user-defined NoData), e.g. `int16ud-9999` or `float32ud-3.5`.
/// `bool` has no NoData; `boolraw` is accepted as another name for it.
///
/// Equality compares float NoData values by bit pattern, so every value equals itself.
///
/// ```
/// use keyed_tile::{CellType, NoData};
/// let t: CellType = "int16ud-9999".parse()?;
/// assert_eq!(t, CellType::Int16(NoData::User(-9999)));
/// assert_eq!(t.to_string(), "int16ud-9999");
/// assert_eq!("uint8".parse::<CellType>()?, CellType::UInt8(NoData::Constant));
/// # Ok::<(), keyed_tile::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum CellType {
    /// One bit of data per cell (stored as one byte), no NoData.
    Bool,
    /// Signed 8-bit integers.
    Int8(NoData<i8>),
    /// Unsigned 8-bit integers.
    UInt8(NoData<u8>),
    /// Signed 16-bit integers.
    Int16(NoData<i16>),
    /// Unsigned 16-bit integers.
    UInt16(NoData<u16>),
    /// Signed 32-bit integers.
    Int32(NoData<i32>),
    /// 32-bit floats.
    Float32(NoData<f32>),
    /// 64-bit floats.
    Float64(NoData<f64>),
}

/// The stored number type of a cell type, without its NoData policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BaseType {
    /// `bool`.
    Bool,
    /// `int8`.
    Int8,
    /// `uint8`.
    UInt8,
    /// `int16`.
    Int16,
    /// `uint16`.
    UInt16,
    /// `int32`.
    Int32,
    /// `float32`.
    Float32,
    /// `float64`.
    Float64,
}

impl BaseType {
    /// Every base type, in tag order.
    pub const ALL: [Self; 8] = [
        Self::Bool,
        Self::Int8,
        Self::UInt8,
        Self::Int16,
        Self::UInt16,
        Self::Int32,
        Self::Float32,
        Self::Float64,
    ];

    /// The name prefix (`int16`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int8 => "int8",
            Self::UInt8 => "uint8",
            Self::Int16 => "int16",
            Self::UInt16 => "uint16",
            Self::Int32 => "int32",
            Self::Float32 => "float32",
            Self::Float64 => "float64",
        }
    }

    /// Bytes one cell takes in memory and in the codec.
    pub fn bytes_per_cell(self) -> usize {
        match self {
            Self::Bool | Self::Int8 | Self::UInt8 => 1,
            Self::Int16 | Self::UInt16 => 2,
            Self::Int32 | Self::Float32 => 4,
            Self::Float64 => 8,
        }
    }

    /// Whether cells are floating point.
    pub fn is_floating_point(self) -> bool {
        matches!(self, Self::Float32 | Self::Float64)
    }
}

impl CellType {
    /// The stored number type.
    pub fn base(&self) -> BaseType {
        match self {
            Self::Bool => BaseType::Bool,
            Self::Int8(_) => BaseType::Int8,
            Self::UInt8(_) => BaseType::UInt8,
            Self::Int16(_) => BaseType::Int16,
            Self::UInt16(_) => BaseType::UInt16,
            Self::Int32(_) => BaseType::Int32,
            Self::Float32(_) => BaseType::Float32,
            Self::Float64(_) => BaseType::Float64,
        }
    }

    /// Bytes one cell takes.
    pub fn bytes_per_cell(&self) -> usize {
        self.base().bytes_per_cell()
    }

    /// Whether cells are floating point.
    pub fn is_floating_point(&self) -> bool {
        self.base().is_floating_point()
    }

    /// Whether the type has no NoData (`bool` and the `raw` types).
    pub fn is_raw(&self) -> bool {
        match self {
            Self::Bool => true,
            Self::Int8(n) => matches!(n, NoData::Raw),
            Self::UInt8(n) => matches!(n, NoData::Raw),
            Self::Int16(n) => matches!(n, NoData::Raw),
            Self::UInt16(n) => matches!(n, NoData::Raw),
            Self::Int32(n) => matches!(n, NoData::Raw),
            Self::Float32(n) => matches!(n, NoData::Raw),
            Self::Float64(n) => matches!(n, NoData::Raw),
        }
    }

    /// The same base type with constant NoData (`bool` stays `bool`).
    #[must_use]
    pub fn with_constant_no_data(&self) -> Self {
        Self::from_base(self.base(), NoDataKind::Constant)
    }

    /// The same base type with no NoData.
    #[must_use]
    pub fn without_no_data(&self) -> Self {
        Self::from_base(self.base(), NoDataKind::Raw)
    }

    fn from_base(base: BaseType, kind: NoDataKind) -> Self {
        fn nd<T>(kind: NoDataKind) -> NoData<T> {
            match kind {
                NoDataKind::Constant => NoData::Constant,
                NoDataKind::Raw => NoData::Raw,
            }
        }
        match base {
            BaseType::Bool => Self::Bool,
            BaseType::Int8 => Self::Int8(nd(kind)),
            BaseType::UInt8 => Self::UInt8(nd(kind)),
            BaseType::Int16 => Self::Int16(nd(kind)),
            BaseType::UInt16 => Self::UInt16(nd(kind)),
            BaseType::Int32 => Self::Int32(nd(kind)),
            BaseType::Float32 => Self::Float32(nd(kind)),
            BaseType::Float64 => Self::Float64(nd(kind)),
        }
    }

    /// The NoData value as a double, or `None` for types without NoData.
    /// Float types with constant NoData give NaN.
    pub fn no_data_f64(&self) -> Option<f64> {
        match *self {
            Self::Bool => None,
            Self::Int8(n) => nd_value(n, i8::MIN).map(f64::from),
            Self::UInt8(n) => nd_value(n, 0u8).map(f64::from),
            Self::Int16(n) => nd_value(n, i16::MIN).map(f64::from),
            Self::UInt16(n) => nd_value(n, 0u16).map(f64::from),
            Self::Int32(n) => nd_value(n, i32::MIN).map(f64::from),
            Self::Float32(n) => nd_value(n, f32::NAN).map(f64::from),
            Self::Float64(n) => nd_value(n, f64::NAN),
        }
    }

    /// A name-and-policy key for equality and hashing: floats compare by bits.
    fn identity(&self) -> (BaseType, u8, u64) {
        fn id<T, F: Fn(T) -> u64>(n: NoData<T>, bits: F) -> (u8, u64) {
            match n {
                NoData::Constant => (0, 0),
                NoData::Raw => (1, 0),
                NoData::User(v) => (2, bits(v)),
            }
        }
        let (kind, bits) = match *self {
            Self::Bool => (1, 0),
            Self::Int8(n) => id(n, |v| v as u64),
            Self::UInt8(n) => id(n, u64::from),
            Self::Int16(n) => id(n, |v| v as u64),
            Self::UInt16(n) => id(n, u64::from),
            Self::Int32(n) => id(n, |v| v as u64),
            Self::Float32(n) => id(n, |v| u64::from(v.to_bits())),
            Self::Float64(n) => id(n, f64::to_bits),
        };
        (self.base(), kind, bits)
    }
}

#[derive(Clone, Copy)]
enum NoDataKind {
    Constant,
    Raw,
}

fn nd_value<T>(n: NoData<T>, constant: T) -> Option<T> {
    match n {
        NoData::Constant => Some(constant),
        NoData::Raw => None,
        NoData::User(v) => Some(v),
    }
}

impl PartialEq for CellType {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for CellType {}

impl std::hash::Hash for CellType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl fmt::Display for CellType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn suffix<T: fmt::Display>(f: &mut fmt::Formatter<'_>, n: &NoData<T>) -> fmt::Result {
            match n {
                NoData::Constant => Ok(()),
                NoData::Raw => f.write_str("raw"),
                NoData::User(v) => write!(f, "ud{v}"),
            }
        }
        f.write_str(self.base().name())?;
        match self {
            Self::Bool => Ok(()),
            Self::Int8(n) => suffix(f, n),
            Self::UInt8(n) => suffix(f, n),
            Self::Int16(n) => suffix(f, n),
            Self::UInt16(n) => suffix(f, n),
            Self::Int32(n) => suffix(f, n),
            Self::Float32(n) => suffix(f, n),
            Self::Float64(n) => suffix(f, n),
        }
    }
}

impl FromStr for CellType {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = |reason: String| Error::CellTypeParse {
            text: text.to_string(),
            reason,
        };
        // Longest names first, so that `uint8` is not read as `int8` with a `u` prefix left over.
        let mut by_len = BaseType::ALL;
        by_len.sort_by_key(|b| std::cmp::Reverse(b.name().len()));
        let Some((base, rest)) = by_len
            .iter()
            .find_map(|b| text.strip_prefix(b.name()).map(|rest| (*b, rest)))
        else {
            return Err(bad(
                "expected one of bool, int8, uint8, int16, uint16, int32, float32, float64, \
                 optionally followed by `raw` or `ud<nodata>`"
                    .to_string(),
            ));
        };
        if rest.is_empty() {
            return Ok(Self::from_base(base, NoDataKind::Constant));
        }
        if rest == "raw" {
            return Ok(Self::from_base(base, NoDataKind::Raw));
        }
        let Some(value) = rest.strip_prefix("ud") else {
            return Err(bad(format!(
                "unexpected `{rest}` after `{}`; expected nothing, `raw` or `ud<nodata>`",
                base.name()
            )));
        };
        let cell_type = match base {
            BaseType::Bool => return Err(bad("bool has no user-defined NoData".to_string())),
            BaseType::Int8 => Self::Int8(NoData::User(parse(value, base).map_err(bad)?)),
            BaseType::UInt8 => Self::UInt8(NoData::User(parse(value, base).map_err(bad)?)),
            BaseType::Int16 => Self::Int16(NoData::User(parse(value, base).map_err(bad)?)),
            BaseType::UInt16 => Self::UInt16(NoData::User(parse(value, base).map_err(bad)?)),
            BaseType::Int32 => Self::Int32(NoData::User(parse(value, base).map_err(bad)?)),
            BaseType::Float32 => {
                let v: f32 = parse(value, base).map_err(bad)?;
                check_float(value, v.is_nan(), v.is_infinite(), base).map_err(bad)?;
                Self::Float32(NoData::User(v))
            }
            BaseType::Float64 => {
                let v: f64 = parse(value, base).map_err(bad)?;
                check_float(value, v.is_nan(), v.is_infinite(), base).map_err(bad)?;
                Self::Float64(NoData::User(v))
            }
        };
        Ok(cell_type)
    }
}

impl Serialize for CellType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CellType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Rejects a parsed float NoData that is NaN (the constant NoData has that role) or that
/// overflowed to infinity although the text did not say `inf` (e.g. `float32ud1e40`).
fn check_float(value: &str, nan: bool, infinite: bool, base: BaseType) -> Result<(), String> {
    if nan {
        return Err(format!(
            "NaN is the constant float NoData; write `{}`",
            base.name()
        ));
    }
    if infinite && !value.to_ascii_lowercase().contains("inf") {
        return Err(format!(
            "user-defined NoData `{value}` is outside the range of {}",
            base.name()
        ));
    }
    Ok(())
}

/// Parses a user-defined NoData value, naming it and the type on failure.
fn parse<T: FromStr>(value: &str, base: BaseType) -> Result<T, String> {
    value.parse::<T>().map_err(|_| {
        format!(
            "user-defined NoData `{value}` is not a valid {} value",
            base.name()
        )
    })
}
