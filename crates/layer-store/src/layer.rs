//! The typed layer metadata document (header, metadata, key index, codec) and the key
//! types a layer can hold.

use serde::{Deserialize, Serialize};

use keyed_tile::{CellType, Extent, Key, KeyBounds, LayoutDefinition, SpaceTimeKey, SpatialKey};

use crate::keyindex::LayerKeyIndex;

/// The version of the layer layout this crate writes (`header.layoutVersion`).
pub const LAYOUT_VERSION: u32 = 1;

/// A key type that layers can hold: [`SpatialKey`] or [`SpaceTimeKey`].
pub trait LayerKey: Key {
    /// The name stored in the header's `keyClass`.
    const KEY_CLASS: &'static str;

    /// The keys of a query given as a spatial box and an optional inclusive time range
    /// (epoch milliseconds); a missing time range takes the layer's.
    fn query_bounds(
        spatial: &KeyBounds<SpatialKey>,
        time: Option<(i64, i64)>,
        layer: &KeyBounds<Self>,
    ) -> KeyBounds<Self>;
}

impl LayerKey for SpatialKey {
    const KEY_CLASS: &'static str = "SpatialKey";

    fn query_bounds(
        spatial: &KeyBounds<SpatialKey>,
        _time: Option<(i64, i64)>,
        _layer: &KeyBounds<Self>,
    ) -> KeyBounds<Self> {
        *spatial
    }
}

impl LayerKey for SpaceTimeKey {
    const KEY_CLASS: &'static str = "SpaceTimeKey";

    fn query_bounds(
        spatial: &KeyBounds<SpatialKey>,
        time: Option<(i64, i64)>,
        layer: &KeyBounds<Self>,
    ) -> KeyBounds<Self> {
        let (t0, t1) = time.unwrap_or((layer.min.instant, layer.max.instant));
        KeyBounds {
            min: SpaceTimeKey::new(spatial.min.col, spatial.min.row, t0),
            max: SpaceTimeKey::new(spatial.max.col, spatial.max.row, t1),
        }
    }
}

/// The header of a layer's metadata document: how and where the layer is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerHeader {
    /// The storage format: always `"file"` (mapfile parts in a directory).
    pub format: String,
    /// The key type, see [`LayerKey::KEY_CLASS`].
    pub key_class: String,
    /// What the values are, e.g. `"MultibandTile"` (free text for the user).
    pub value_class: String,
    /// Where the part files are, relative to the catalog: `<name>/<zoom>/g<generation>`.
    /// Informative only: readers derive the path from the layer id and the generation, so
    /// an edited header can never point outside the catalog.
    pub path: String,
    /// The generation directory holding the current part files (see the crate docs on
    /// crash safety).
    pub generation: u64,
    /// The version of this layout, [`LAYOUT_VERSION`].
    pub layout_version: u32,
}

/// What a layer covers: layout, extent, CRS, cell type and key bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    bound(serialize = "K: Key", deserialize = "K: Key")
)]
pub struct LayerMetadata<K> {
    /// The tiling of the map: which key covers which area.
    pub layout_definition: LayoutDefinition,
    /// The area actually covered by data (grows with updates).
    pub extent: Extent,
    /// The coordinate reference system, e.g. `"EPSG:3857"` or a proj string.
    pub crs: String,
    /// The cell type of the tiles.
    pub cell_type: CellType,
    /// The keys actually covered by data (grows with updates); always inside the key
    /// index's bounds.
    pub bounds: KeyBounds<K>,
}

impl<K: Key> LayerMetadata<K> {
    /// Grows the metadata to also cover `keys`: the bounds by the keys, the extent by the
    /// keys' tiles.
    pub fn grow(&mut self, keys: &KeyBounds<K>) {
        self.bounds = self.bounds.combine(keys);
        let s = keys.spatial();
        let a = self.layout_definition.key_extent(s.min);
        let b = self.layout_definition.key_extent(s.max);
        self.extent = self.extent.combine(&a).combine(&b);
    }
}

/// The whole metadata document of a layer, stored as the `metadata` attribute.
///
/// JSON: `{"header":{..},"metadata":{..},"keyIndex":{..},"codec":".."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    bound(serialize = "K: Key", deserialize = "K: Key")
)]
pub struct LayerAttributes<K> {
    /// How and where the layer is stored.
    pub header: LayerHeader,
    /// What the layer covers.
    pub metadata: LayerMetadata<K>,
    /// How keys map to the u64 indexes that order the part files.
    pub key_index: LayerKeyIndex<K>,
    /// The value codec, e.g. `"tessera-tile"` for [`keyed_tile::codec`] bytes or `"raw"`.
    pub codec: String,
}

/// The part of the metadata document every layer has whatever its key type: enough to
/// list, copy, move, delete and describe a layer without knowing its key type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UntypedAttributes {
    pub(crate) header: LayerHeader,
}
