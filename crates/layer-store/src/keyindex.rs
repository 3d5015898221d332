//! Choosing a layer's key index: a ready index, or a method applied to the layer's bounds.

use keyed_tile::index::AnyKeyIndex;
use keyed_tile::{Key, KeyBounds};

/// The key index type stored in layer metadata.
pub type LayerKeyIndex<K> = AnyKeyIndex<K>;

/// How to build a key index from a layer's key bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyIndexMethod {
    /// Z-order; space-time keys bin time by the resolution in milliseconds.
    ZOrder {
        /// Width of a time bin in milliseconds (space-time keys only).
        temporal_resolution_ms: Option<i64>,
    },
    /// Hilbert; space-time keys use this many bits for time.
    Hilbert {
        /// Bits of time resolution (space-time keys only).
        temporal_resolution_bits: Option<u32>,
    },
    /// Row-major (spatial keys only).
    RowMajor,
}

impl KeyIndexMethod {
    /// Builds the index over `bounds`.
    pub fn create<K: Key>(
        &self,
        bounds: KeyBounds<K>,
    ) -> Result<AnyKeyIndex<K>, keyed_tile::Error> {
        match *self {
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms,
            } => AnyKeyIndex::zorder(bounds, temporal_resolution_ms),
            KeyIndexMethod::Hilbert {
                temporal_resolution_bits,
            } => AnyKeyIndex::hilbert(bounds, temporal_resolution_bits),
            KeyIndexMethod::RowMajor => AnyKeyIndex::rowmajor(bounds),
        }
    }
}

/// The key index of a new layer: given outright, or built by a method over the layer's
/// metadata bounds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyIndexChoice<K> {
    /// This index.
    Index(AnyKeyIndex<K>),
    /// An index built by this method over the layer's key bounds.
    Method(KeyIndexMethod),
}

impl<K> From<AnyKeyIndex<K>> for KeyIndexChoice<K> {
    fn from(index: AnyKeyIndex<K>) -> Self {
        KeyIndexChoice::Index(index)
    }
}

impl<K> From<KeyIndexMethod> for KeyIndexChoice<K> {
    fn from(method: KeyIndexMethod) -> Self {
        KeyIndexChoice::Method(method)
    }
}

impl<K: Key> KeyIndexChoice<K> {
    /// The index, building it over `bounds` if a method was given.
    pub fn resolve(self, bounds: KeyBounds<K>) -> Result<AnyKeyIndex<K>, keyed_tile::Error> {
        match self {
            KeyIndexChoice::Index(index) => Ok(index),
            KeyIndexChoice::Method(method) => method.create(bounds),
        }
    }
}
