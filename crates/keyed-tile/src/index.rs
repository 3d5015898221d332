//! Key indexes: order keys along a space-filling curve (Z-order, Hilbert, row-major) within
//! fixed key bounds, and turn key-bounds queries into index ranges.
//!
//! Curve coordinates are taken relative to the bounds' minimum, so negative columns and
//! instants before 1970 index like any others. Bounds that need more bits than a curve
//! holds are an error when the index is built; nothing is ever truncated.
//!
//! JSON (the GeoTrellis shape, through [`AnyKeyIndex`]):
//! `{"type":"zorder"|"hilbert"|"rowmajor","properties":{"keyBounds":{"minKey":..,"maxKey":..}, ...}}`,
//! where space-time Z-order adds `"temporalResolution"` in milliseconds and Hilbert adds
//! `"xResolution"`, `"yResolution"` (and for space-time `"temporalResolution"`) in bits.
//!
//! ```
//! use keyed_tile::index::{AnyKeyIndex, KeyIndex};
//! use keyed_tile::{KeyBounds, SpaceTimeKey};
//! use keyed_tile::index::Budget;
//!
//! const DAY: i64 = 86_400_000;
//! let bounds = KeyBounds::new(SpaceTimeKey::new(-10, 0, -365 * DAY), SpaceTimeKey::new(9, 19, 0))?;
//! let index = AnyKeyIndex::zorder(bounds, Some(DAY))?;
//! let i = index.to_index(&SpaceTimeKey::new(-10, 0, -365 * DAY))?;
//! assert_eq!(i, 0);
//! let query = KeyBounds::new(SpaceTimeKey::new(-2, 3, -7 * DAY), SpaceTimeKey::new(1, 4, -DAY))?;
//! let ranges = index.index_ranges(&query, Budget::default())?;
//! assert!(!ranges.is_empty());
//! let json = serde_json::to_string(&index).unwrap();
//! assert!(json.starts_with(r#"{"type":"zorder","properties":{"keyBounds":"#));
//! # Ok::<(), keyed_tile::Error>(())
//! ```

use std::marker::PhantomData;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use sfc_index::{Box2, Box3, Curve2, Curve3, Hilbert2, Hilbert3, RowMajor2, ZOrder2, ZOrder3};

use crate::{Error, Key, KeyBounds, SpatialKey};

pub use sfc_index::{Budget, Decomposition};

/// Bits per dimension of the 3-D curves (Z3, Hilbert 3-D): 21, so that 3 × 21 = 63 fit a `u64`.
const BITS_3D: u32 = 21;
/// Bits per dimension of the 2-D curves: 32, so that 2 × 32 = 64 fit a `u64`.
const BITS_2D: u32 = 32;

/// Orders the keys of fixed bounds along a curve.
pub trait KeyIndex<K: Key>: Send + Sync {
    /// The key's index. A key outside [`KeyIndex::key_bounds`] is an [`Error::OutOfBounds`]
    /// naming the key.
    fn to_index(&self, key: &K) -> Result<u64, Error>;

    /// The index ranges covering every key in `query` (clamped to the index's bounds), and
    /// how many curve cells they cover. Time is binned (by the temporal resolution), so
    /// ranges of space-time indexes may also cover keys of the same bins outside the query.
    /// A query outside the bounds gives no ranges; an inverted query is an error.
    ///
    /// An exact decomposition ([`Budget::default`]) of a large query needs about one range
    /// per key along its edge, which can run to billions; give queries from untrusted input
    /// a `max_ranges` budget (see [`Budget`]).
    fn decompose(&self, query: &KeyBounds<K>, budget: Budget) -> Result<Decomposition, Error>;

    /// The ranges of [`KeyIndex::decompose`]: sorted, non-overlapping, merged, inclusive.
    fn index_ranges(
        &self,
        query: &KeyBounds<K>,
        budget: Budget,
    ) -> Result<Vec<RangeInclusive<u64>>, Error> {
        Ok(self.decompose(query, budget)?.ranges)
    }

    /// The bounds this index covers.
    fn key_bounds(&self) -> &KeyBounds<K>;
}

/// The curve behind an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    Z2,
    Z3,
    H2(Hilbert2),
    H3(Hilbert3),
    Row(RowMajor2),
}

/// How instants become the curve's third coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeBins {
    /// Spatial keys.
    None,
    /// Bins of this many milliseconds from the bounds' minimum instant (Z-order).
    Width(u64),
    /// The bounds' time range split into `2^bits` equal bins (Hilbert); `span` is
    /// `max - min` in milliseconds.
    Scaled { bits: u32, span: u64 },
}

impl TimeBins {
    fn bin(self, offset_ms: u64) -> u32 {
        match self {
            Self::None => 0,
            Self::Width(w) => (offset_ms / w.max(1)) as u32,
            Self::Scaled { bits, span } => {
                // offset <= span < 2^64 and bits <= 21, so the product fits a u128, and the
                // quotient is below 2^bits.
                ((u128::from(offset_ms) << bits) / (u128::from(span) + 1)) as u32
            }
        }
    }
}

/// What every key index does, given its curve and time binning.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Core<K> {
    bounds: KeyBounds<K>,
    curve: Curve,
    time: TimeBins,
}

fn offset32(v: i32, min: i32) -> u32 {
    // v >= min, so the difference is in 0..2^32.
    (i64::from(v) - i64::from(min)) as u32
}

fn offset64(v: i64, min: i64) -> u64 {
    // v >= min, so the difference is in 0..2^64.
    (i128::from(v) - i128::from(min)) as u64
}

/// Bits needed to number `span + 1` values: ceil(log2(span + 1)).
fn bits_for(span: u64) -> u32 {
    64 - span.leading_zeros()
}

/// Column, row and instant spans (`max - min`) of bounds.
fn spans<K: Key>(bounds: &KeyBounds<K>) -> (u64, u64, Option<u64>) {
    let (a, b) = (bounds.min.spatial(), bounds.max.spatial());
    let t = match (bounds.min.time(), bounds.max.time()) {
        (Some(t0), Some(t1)) => Some(offset64(t1, t0)),
        _ => None,
    };
    (
        u64::from(offset32(b.col, a.col)),
        u64::from(offset32(b.row, a.row)),
        t,
    )
}

impl<K: Key> Core<K> {
    #[inline]
    fn coords(&self, key: &K) -> [u32; 3] {
        let (s, m) = (key.spatial(), self.bounds.min.spatial());
        let t = match (key.time(), self.bounds.min.time()) {
            (Some(t), Some(t0)) => self.time.bin(offset64(t, t0)),
            _ => 0,
        };
        [offset32(s.col, m.col), offset32(s.row, m.row), t]
    }

    #[inline]
    fn to_index(&self, key: &K) -> Result<u64, Error> {
        if !self.bounds.contains(key) {
            return Err(Error::OutOfBounds {
                key: key.to_string(),
                bounds: self.bounds.to_string(),
            });
        }
        let [x, y, t] = self.coords(key);
        // The constructors checked that every coordinate within the bounds fits the curve.
        Ok(match self.curve {
            Curve::Z2 => ZOrder2.encode(x, y),
            Curve::Z3 => ZOrder3.encode(x, y, t),
            Curve::H2(h) => h.encode(x, y),
            Curve::H3(h) => h.encode(x, y, t),
            Curve::Row(r) => r.encode(x, y),
        })
    }

    fn decompose(&self, query: &KeyBounds<K>, budget: Budget) -> Result<Decomposition, Error> {
        query.validate()?;
        let Some(q) = self.bounds.intersection(query) else {
            return Ok(Decomposition {
                ranges: Vec::new(),
                cells_covered: 0,
                cells_in_box: 0,
            });
        };
        // Every coordinate is monotone in its key component, so the clamped corners map to
        // the corners of the curve box.
        let ([x0, y0, t0], [x1, y1, t1]) = (self.coords(&q.min), self.coords(&q.max));
        let b2 = Box2 {
            min: [x0, y0],
            max: [x1, y1],
        };
        let b3 = Box3 {
            min: [x0, y0, t0],
            max: [x1, y1, t1],
        };
        Ok(match self.curve {
            Curve::Z2 => ZOrder2.ranges(&b2, budget)?,
            Curve::Z3 => ZOrder3.ranges(&b3, budget)?,
            Curve::H2(h) => h.ranges(&b2, budget)?,
            Curve::H3(h) => h.ranges(&b3, budget)?,
            Curve::Row(r) => r.ranges(&b2, budget)?,
        })
    }
}

fn resolution_error<K: Key>(curve: &'static str, bounds: &KeyBounds<K>, reason: String) -> Error {
    Error::Resolution {
        curve,
        bounds: bounds.to_string(),
        reason,
    }
}

/// Z-order over spatial keys (Z2, 32 bits per dimension), or over space-time keys with
/// time in bins of `temporalResolution` milliseconds (Z3, 21 bits per dimension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZCurveKeyIndex<K> {
    core: Core<K>,
    temporal_resolution: Option<i64>,
}

impl<K: Key> ZCurveKeyIndex<K> {
    /// A Z-order index over `bounds`. Space-time keys need `temporal_resolution_ms` (> 0),
    /// spatial keys take `None`. Space-time bounds spanning 2^21 or more columns, rows or
    /// time bins are an error.
    pub fn new(bounds: KeyBounds<K>, temporal_resolution_ms: Option<i64>) -> Result<Self, Error> {
        bounds.validate()?;
        let err = |reason: String| resolution_error("zorder", &bounds, reason);
        let (cols, rows, time) = spans(&bounds);
        let (curve, time) = match (time, temporal_resolution_ms) {
            (None, None) => (Curve::Z2, TimeBins::None),
            (None, Some(_)) => {
                return Err(err("spatial keys take no temporalResolution".to_string()));
            }
            (Some(_), None) => {
                return Err(err(
                    "space-time keys need a temporalResolution in ms".to_string()
                ));
            }
            (Some(span), Some(res)) => {
                if res <= 0 {
                    return Err(err(format!(
                        "temporalResolution must be positive, got {res} ms"
                    )));
                }
                let bins = span / res as u64;
                let limit = (1u64 << BITS_3D) - 1;
                for (what, v) in [("column", cols), ("row", rows), ("time bin", bins)] {
                    if v > limit {
                        return Err(err(format!(
                            "{} {what}s need {} bits, but Z3 holds {BITS_3D} bits per dimension",
                            v as u128 + 1,
                            bits_for(v)
                        )));
                    }
                }
                (Curve::Z3, TimeBins::Width(res as u64))
            }
        };
        Ok(Self {
            core: Core {
                bounds,
                curve,
                time,
            },
            temporal_resolution: temporal_resolution_ms,
        })
    }

    /// The width of a time bin in milliseconds (space-time only).
    pub fn temporal_resolution(&self) -> Option<i64> {
        self.temporal_resolution
    }
}

/// A Hilbert curve over the bounds, with `xResolution` and `yResolution` bits for columns and
/// rows (by default `ceil(log2(max − min + 1))`) and, for space-time keys, the bounds' time
/// range split into `2^temporalResolution` bins.
///
/// The curve's order is the largest of the resolutions: up to 32 bits per dimension in 2-D
/// (64 in all) and 21 in 3-D (63 in all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HilbertKeyIndex<K> {
    core: Core<K>,
    x_resolution: u32,
    y_resolution: u32,
    temporal_resolution: Option<u32>,
}

impl<K: Key> HilbertKeyIndex<K> {
    /// A Hilbert index with the smallest resolutions that hold `bounds`. Space-time keys
    /// need `temporal_resolution_bits` (1..=21), spatial keys take `None`.
    pub fn new(bounds: KeyBounds<K>, temporal_resolution_bits: Option<u32>) -> Result<Self, Error> {
        bounds.validate()?;
        let (cols, rows, _) = spans(&bounds);
        Self::with_resolutions(
            bounds,
            bits_for(cols),
            bits_for(rows),
            temporal_resolution_bits,
        )
    }

    /// A Hilbert index with given resolutions in bits (as stored in JSON). They must hold
    /// the bounds' columns and rows.
    pub fn with_resolutions(
        bounds: KeyBounds<K>,
        x_resolution: u32,
        y_resolution: u32,
        temporal_resolution: Option<u32>,
    ) -> Result<Self, Error> {
        bounds.validate()?;
        let err = |reason: String| resolution_error("hilbert", &bounds, reason);
        let (cols, rows, time) = spans(&bounds);
        for (what, res, span) in [
            ("xResolution", x_resolution, cols),
            ("yResolution", y_resolution, rows),
        ] {
            if res < bits_for(span) {
                return Err(err(format!(
                    "{what} of {res} bits cannot number {} values; it needs {} bits",
                    span as u128 + 1,
                    bits_for(span)
                )));
            }
        }
        let order = x_resolution.max(y_resolution).max(1);
        let (curve, time) = match (time, temporal_resolution) {
            (None, None) => {
                if order > BITS_2D {
                    return Err(err(format!(
                        "{order} bits per dimension ({} in all) exceed the 64 bits of an index",
                        2 * u64::from(order)
                    )));
                }
                (Curve::H2(Hilbert2::new(order)?), TimeBins::None)
            }
            (None, Some(_)) => {
                return Err(err("spatial keys take no temporalResolution".to_string()));
            }
            (Some(_), None) => {
                return Err(err(
                    "space-time keys need a temporalResolution in bits".to_string()
                ));
            }
            (Some(span), Some(t)) => {
                if t == 0 || t > BITS_3D {
                    return Err(err(format!(
                        "temporalResolution must be 1..={BITS_3D} bits, got {t}"
                    )));
                }
                let order = order.max(t);
                if order > BITS_3D {
                    return Err(err(format!(
                        "{order} bits per dimension ({} in all) exceed the 3-D Hilbert curve's \
                         {BITS_3D} bits per dimension",
                        3 * u64::from(order)
                    )));
                }
                (
                    Curve::H3(Hilbert3::new(order)?),
                    TimeBins::Scaled { bits: t, span },
                )
            }
        };
        Ok(Self {
            core: Core {
                bounds,
                curve,
                time,
            },
            x_resolution,
            y_resolution,
            temporal_resolution,
        })
    }

    /// Bits for columns.
    pub fn x_resolution(&self) -> u32 {
        self.x_resolution
    }

    /// Bits for rows.
    pub fn y_resolution(&self) -> u32 {
        self.y_resolution
    }

    /// Bits for time (space-time only).
    pub fn temporal_resolution(&self) -> Option<u32> {
        self.temporal_resolution
    }
}

/// Row-major order over spatial bounds: `index = (row − min row) × width + (col − min col)`.
///
/// It is defined for spatial keys only; building one over space-time bounds is an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowMajorKeyIndex<K = SpatialKey> {
    core: Core<K>,
    _key: PhantomData<fn() -> K>,
}

impl<K: Key> RowMajorKeyIndex<K> {
    /// A row-major index over spatial `bounds`.
    pub fn new(bounds: KeyBounds<K>) -> Result<Self, Error> {
        bounds.validate()?;
        let (cols, rows, time) = spans(&bounds);
        if time.is_some() {
            return Err(resolution_error(
                "rowmajor",
                &bounds,
                "row-major order is defined for spatial keys only".to_string(),
            ));
        }
        // Spans of i32 ranges are below 2^32, so width × height <= 2^64 always fits.
        let curve = RowMajor2::new(cols + 1, rows + 1)?;
        Ok(Self {
            core: Core {
                bounds,
                curve: Curve::Row(curve),
                time: TimeBins::None,
            },
            _key: PhantomData,
        })
    }
}

macro_rules! delegate_key_index {
    ($t:ident) => {
        impl<K: Key> KeyIndex<K> for $t<K> {
            #[inline]
            fn to_index(&self, key: &K) -> Result<u64, Error> {
                self.core.to_index(key)
            }
            fn decompose(
                &self,
                query: &KeyBounds<K>,
                budget: Budget,
            ) -> Result<Decomposition, Error> {
                self.core.decompose(query, budget)
            }
            fn key_bounds(&self) -> &KeyBounds<K> {
                &self.core.bounds
            }
        }
    };
}

delegate_key_index!(ZCurveKeyIndex);
delegate_key_index!(HilbertKeyIndex);
delegate_key_index!(RowMajorKeyIndex);

/// Any key index, with serde in the GeoTrellis JSON shape (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "KeyIndexJson<K>",
    into = "KeyIndexJson<K>",
    bound = "K: Key"
)]
#[non_exhaustive]
pub enum AnyKeyIndex<K> {
    /// Z-order.
    ZOrder(ZCurveKeyIndex<K>),
    /// Hilbert.
    Hilbert(HilbertKeyIndex<K>),
    /// Row-major (spatial keys only).
    RowMajor(RowMajorKeyIndex<K>),
}

impl<K: Key> AnyKeyIndex<K> {
    /// A Z-order index; see [`ZCurveKeyIndex::new`].
    pub fn zorder(
        bounds: KeyBounds<K>,
        temporal_resolution_ms: Option<i64>,
    ) -> Result<Self, Error> {
        ZCurveKeyIndex::new(bounds, temporal_resolution_ms).map(Self::ZOrder)
    }

    /// A Hilbert index; see [`HilbertKeyIndex::new`].
    pub fn hilbert(
        bounds: KeyBounds<K>,
        temporal_resolution_bits: Option<u32>,
    ) -> Result<Self, Error> {
        HilbertKeyIndex::new(bounds, temporal_resolution_bits).map(Self::Hilbert)
    }

    /// A row-major index; see [`RowMajorKeyIndex::new`].
    pub fn rowmajor(bounds: KeyBounds<K>) -> Result<Self, Error> {
        RowMajorKeyIndex::new(bounds).map(Self::RowMajor)
    }

    /// The JSON `type`: `zorder`, `hilbert` or `rowmajor`.
    pub fn method(&self) -> &'static str {
        match self {
            Self::ZOrder(_) => "zorder",
            Self::Hilbert(_) => "hilbert",
            Self::RowMajor(_) => "rowmajor",
        }
    }

    fn inner(&self) -> &dyn KeyIndex<K> {
        match self {
            Self::ZOrder(i) => i,
            Self::Hilbert(i) => i,
            Self::RowMajor(i) => i,
        }
    }
}

impl<K: Key> KeyIndex<K> for AnyKeyIndex<K> {
    // Matched here rather than through `inner`, so that the call is static and inlines
    // into a point read (a dynamic call there costs more than the curve itself).
    #[inline]
    fn to_index(&self, key: &K) -> Result<u64, Error> {
        match self {
            Self::ZOrder(i) => i.to_index(key),
            Self::Hilbert(i) => i.to_index(key),
            Self::RowMajor(i) => i.to_index(key),
        }
    }
    fn decompose(&self, query: &KeyBounds<K>, budget: Budget) -> Result<Decomposition, Error> {
        self.inner().decompose(query, budget)
    }
    fn key_bounds(&self) -> &KeyBounds<K> {
        self.inner().key_bounds()
    }
}

impl<K: Key> From<ZCurveKeyIndex<K>> for AnyKeyIndex<K> {
    fn from(i: ZCurveKeyIndex<K>) -> Self {
        Self::ZOrder(i)
    }
}

impl<K: Key> From<HilbertKeyIndex<K>> for AnyKeyIndex<K> {
    fn from(i: HilbertKeyIndex<K>) -> Self {
        Self::Hilbert(i)
    }
}

impl<K: Key> From<RowMajorKeyIndex<K>> for AnyKeyIndex<K> {
    fn from(i: RowMajorKeyIndex<K>) -> Self {
        Self::RowMajor(i)
    }
}

/// The JSON `type` of a key index.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum IndexType {
    Zorder,
    Hilbert,
    Rowmajor,
}

/// The JSON form of a key index.
#[derive(Serialize, Deserialize)]
#[serde(bound = "K: Key", deny_unknown_fields)]
struct KeyIndexJson<K> {
    #[serde(rename = "type")]
    kind: IndexType,
    properties: Properties<K>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound = "K: Key", deny_unknown_fields)]
struct Properties<K> {
    key_bounds: KeyBounds<K>,
    /// Milliseconds for Z-order, bits for Hilbert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    temporal_resolution: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x_resolution: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    y_resolution: Option<u32>,
}

impl<K: Key> From<AnyKeyIndex<K>> for KeyIndexJson<K> {
    fn from(index: AnyKeyIndex<K>) -> Self {
        let key_bounds = *index.key_bounds();
        let (kind, properties) = match index {
            AnyKeyIndex::ZOrder(i) => (
                IndexType::Zorder,
                Properties {
                    key_bounds,
                    temporal_resolution: i.temporal_resolution,
                    x_resolution: None,
                    y_resolution: None,
                },
            ),
            AnyKeyIndex::Hilbert(i) => (
                IndexType::Hilbert,
                Properties {
                    key_bounds,
                    temporal_resolution: i.temporal_resolution.map(i64::from),
                    x_resolution: Some(i.x_resolution),
                    y_resolution: Some(i.y_resolution),
                },
            ),
            AnyKeyIndex::RowMajor(_) => (
                IndexType::Rowmajor,
                Properties {
                    key_bounds,
                    temporal_resolution: None,
                    x_resolution: None,
                    y_resolution: None,
                },
            ),
        };
        Self { kind, properties }
    }
}

impl<K: Key> TryFrom<KeyIndexJson<K>> for AnyKeyIndex<K> {
    type Error = Error;

    fn try_from(json: KeyIndexJson<K>) -> Result<Self, Error> {
        let p = json.properties;
        let bounds = p.key_bounds;
        let unexpected = |curve: &'static str, field: &str| {
            resolution_error(curve, &bounds, format!("unexpected property `{field}`"))
        };
        match json.kind {
            IndexType::Zorder => {
                if p.x_resolution.is_some() {
                    return Err(unexpected("zorder", "xResolution"));
                }
                if p.y_resolution.is_some() {
                    return Err(unexpected("zorder", "yResolution"));
                }
                Self::zorder(bounds, p.temporal_resolution)
            }
            IndexType::Hilbert => {
                let (cols, rows, _) = spans(&bounds);
                let t = p
                    .temporal_resolution
                    .map(|t| {
                        u32::try_from(t).map_err(|_| {
                            resolution_error(
                                "hilbert",
                                &bounds,
                                format!("temporalResolution {t} is not a number of bits"),
                            )
                        })
                    })
                    .transpose()?;
                HilbertKeyIndex::with_resolutions(
                    bounds,
                    p.x_resolution.unwrap_or_else(|| bits_for(cols)),
                    p.y_resolution.unwrap_or_else(|| bits_for(rows)),
                    t,
                )
                .map(Self::Hilbert)
            }
            IndexType::Rowmajor => {
                for (field, present) in [
                    ("temporalResolution", p.temporal_resolution.is_some()),
                    ("xResolution", p.x_resolution.is_some()),
                    ("yResolution", p.y_resolution.is_some()),
                ] {
                    if present {
                        return Err(unexpected("rowmajor", field));
                    }
                }
                Self::rowmajor(bounds)
            }
        }
    }
}
