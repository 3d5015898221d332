//! Tile keys: `SpatialKey`, `SpaceTimeKey`, the `Key` trait, and `KeyBounds`.

use std::fmt;
use std::hash::Hash;

use byteorder::{ByteOrder, LittleEndian};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The grid position of a tile in a layout: column and row (row 0 is the top row).
///
/// Negative columns and rows are allowed, because layers can cross the antimeridian.
/// JSON: `{"col":3,"row":-1}`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct SpatialKey {
    /// Tile column, growing east.
    pub col: i32,
    /// Tile row, growing south (row 0 is the top row).
    pub row: i32,
}

impl SpatialKey {
    /// Makes a key.
    pub const fn new(col: i32, row: i32) -> Self {
        Self { col, row }
    }
}

impl fmt::Display for SpatialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(col {}, row {})", self.col, self.row)
    }
}

/// A spatial key at an instant: column, row and epoch milliseconds.
///
/// Any instant works, including instants before 1970 (negative).
/// JSON: `{"col":3,"row":-1,"instant":-86400000}`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct SpaceTimeKey {
    /// Tile column, growing east.
    pub col: i32,
    /// Tile row, growing south (row 0 is the top row).
    pub row: i32,
    /// Milliseconds since 1970-01-01T00:00:00Z; negative before.
    pub instant: i64,
}

impl SpaceTimeKey {
    /// Makes a key.
    pub const fn new(col: i32, row: i32, instant: i64) -> Self {
        Self { col, row, instant }
    }
}

impl fmt::Display for SpaceTimeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(col {}, row {}, instant {} ms)",
            self.col, self.row, self.instant
        )
    }
}

/// What every key type can do: give its spatial part, compare per dimension, and encode
/// itself as a compact little-endian prefix of a record payload.
pub trait Key:
    Copy
    + Eq
    + Ord
    + Hash
    + fmt::Debug
    + fmt::Display
    + Send
    + Sync
    + Serialize
    + DeserializeOwned
    + 'static
{
    /// Bytes that [`Key::write_to`] appends.
    const ENCODED_LEN: usize;

    /// The key's spatial part.
    fn spatial(&self) -> SpatialKey;

    /// The key's instant in epoch milliseconds, or `None` for keys without time.
    fn time(&self) -> Option<i64>;

    /// Appends the key to `out`, little-endian (`col` i32, `row` i32, then `instant` i64 if any).
    fn write_to(&self, out: &mut Vec<u8>);

    /// Reads a key written by [`Key::write_to`] from the start of `bytes`, returning it and
    /// the number of bytes it took.
    fn read_from(bytes: &[u8]) -> Result<(Self, usize), Error>;

    /// The component-wise minimum of two keys.
    #[must_use]
    fn component_min(&self, other: &Self) -> Self;

    /// The component-wise maximum of two keys.
    #[must_use]
    fn component_max(&self, other: &Self) -> Self;

    /// The first dimension (`col`, `row`, `instant`) in which `self` is greater than `other`,
    /// or `None` when `self <= other` in every dimension.
    fn first_dimension_greater(&self, other: &Self) -> Option<&'static str>;
}

impl Key for SpatialKey {
    const ENCODED_LEN: usize = 8;

    fn spatial(&self) -> SpatialKey {
        *self
    }

    fn time(&self) -> Option<i64> {
        None
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 8];
        LittleEndian::write_i32(&mut buf[0..4], self.col);
        LittleEndian::write_i32(&mut buf[4..8], self.row);
        out.extend_from_slice(&buf);
    }

    fn read_from(bytes: &[u8]) -> Result<(Self, usize), Error> {
        let Some(b) = bytes.get(..Self::ENCODED_LEN) else {
            return Err(Error::KeyTruncated {
                needed: Self::ENCODED_LEN,
                got: bytes.len(),
            });
        };
        let key = Self {
            col: LittleEndian::read_i32(&b[0..4]),
            row: LittleEndian::read_i32(&b[4..8]),
        };
        Ok((key, Self::ENCODED_LEN))
    }

    fn component_min(&self, other: &Self) -> Self {
        Self::new(self.col.min(other.col), self.row.min(other.row))
    }

    fn component_max(&self, other: &Self) -> Self {
        Self::new(self.col.max(other.col), self.row.max(other.row))
    }

    fn first_dimension_greater(&self, other: &Self) -> Option<&'static str> {
        if self.col > other.col {
            Some("col")
        } else if self.row > other.row {
            Some("row")
        } else {
            None
        }
    }
}

impl Key for SpaceTimeKey {
    const ENCODED_LEN: usize = 16;

    fn spatial(&self) -> SpatialKey {
        SpatialKey::new(self.col, self.row)
    }

    fn time(&self) -> Option<i64> {
        Some(self.instant)
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 16];
        LittleEndian::write_i32(&mut buf[0..4], self.col);
        LittleEndian::write_i32(&mut buf[4..8], self.row);
        LittleEndian::write_i64(&mut buf[8..16], self.instant);
        out.extend_from_slice(&buf);
    }

    fn read_from(bytes: &[u8]) -> Result<(Self, usize), Error> {
        let Some(b) = bytes.get(..Self::ENCODED_LEN) else {
            return Err(Error::KeyTruncated {
                needed: Self::ENCODED_LEN,
                got: bytes.len(),
            });
        };
        let key = Self {
            col: LittleEndian::read_i32(&b[0..4]),
            row: LittleEndian::read_i32(&b[4..8]),
            instant: LittleEndian::read_i64(&b[8..16]),
        };
        Ok((key, Self::ENCODED_LEN))
    }

    fn component_min(&self, other: &Self) -> Self {
        Self::new(
            self.col.min(other.col),
            self.row.min(other.row),
            self.instant.min(other.instant),
        )
    }

    fn component_max(&self, other: &Self) -> Self {
        Self::new(
            self.col.max(other.col),
            self.row.max(other.row),
            self.instant.max(other.instant),
        )
    }

    fn first_dimension_greater(&self, other: &Self) -> Option<&'static str> {
        if self.col > other.col {
            Some("col")
        } else if self.row > other.row {
            Some("row")
        } else if self.instant > other.instant {
            Some("instant")
        } else {
            None
        }
    }
}

/// An inclusive box of keys: every key `k` with `min <= k <= max` in each dimension.
///
/// JSON: `{"minKey":{...},"maxKey":{...}}`; deserializing checks `min <= max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    try_from = "RawKeyBounds<K>",
    bound(serialize = "K: Key", deserialize = "K: Key")
)]
pub struct KeyBounds<K> {
    /// The least key in every dimension.
    #[serde(rename = "minKey")]
    pub min: K,
    /// The greatest key in every dimension.
    #[serde(rename = "maxKey")]
    pub max: K,
}

/// The unchecked JSON shape of [`KeyBounds`], validated by `TryFrom`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Key"))]
struct RawKeyBounds<K> {
    #[serde(rename = "minKey")]
    min: K,
    #[serde(rename = "maxKey")]
    max: K,
}

impl<K: Key> TryFrom<RawKeyBounds<K>> for KeyBounds<K> {
    type Error = Error;

    fn try_from(raw: RawKeyBounds<K>) -> Result<Self, Error> {
        Self::new(raw.min, raw.max)
    }
}

impl<K: Key> KeyBounds<K> {
    /// Makes bounds, checking that `min <= max` in every dimension.
    pub fn new(min: K, max: K) -> Result<Self, Error> {
        let bounds = Self { min, max };
        bounds.validate()?;
        Ok(bounds)
    }

    /// Checks that `min <= max` in every dimension (the fields are public, so bounds built
    /// by hand may be inverted).
    pub fn validate(&self) -> Result<(), Error> {
        match self.min.first_dimension_greater(&self.max) {
            None => Ok(()),
            Some(dimension) => Err(Error::InvalidBounds {
                min: self.min.to_string(),
                max: self.max.to_string(),
                dimension,
            }),
        }
    }

    /// Bounds holding exactly one key.
    pub fn single(key: K) -> Self {
        Self { min: key, max: key }
    }

    /// Whether `key` lies inside the bounds, in every dimension.
    pub fn contains(&self, key: &K) -> bool {
        self.min.first_dimension_greater(key).is_none()
            && key.first_dimension_greater(&self.max).is_none()
    }

    /// Whether `other` lies entirely inside these bounds.
    pub fn contains_bounds(&self, other: &Self) -> bool {
        self.contains(&other.min) && self.contains(&other.max)
    }

    /// The smallest bounds holding both `self` and `other`.
    #[must_use]
    pub fn combine(&self, other: &Self) -> Self {
        Self {
            min: self.min.component_min(&other.min),
            max: self.max.component_max(&other.max),
        }
    }

    /// The bounds both `self` and `other` hold, or `None` when they do not overlap.
    pub fn intersection(&self, other: &Self) -> Option<Self> {
        let min = self.min.component_max(&other.min);
        let max = self.max.component_min(&other.max);
        min.first_dimension_greater(&max)
            .is_none()
            .then_some(Self { min, max })
    }

    /// The spatial part of the bounds.
    pub fn spatial(&self) -> KeyBounds<SpatialKey> {
        KeyBounds {
            min: self.min.spatial(),
            max: self.max.spatial(),
        }
    }
}

impl<K: fmt::Display> fmt::Display for KeyBounds<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} ..= {}]", self.min, self.max)
    }
}
