//! Layer identifiers and the validation of layer and attribute names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The longest layer name accepted, in bytes. File names are limited to 255 bytes on common
/// file systems, and an attribute file adds `__<zoom>__<attribute>.json` to the name.
pub const MAX_NAME_BYTES: usize = 160;

/// Names reserved for the catalog's own directories; a layer may not take them.
const RESERVED: &[&str] = &["_attributes", "_locks"];

/// Identifies a layer in a catalog: a validated name and a zoom level.
///
/// A name is 1 to [`MAX_NAME_BYTES`] bytes with no path separator, no `..`, no control
/// character, no `__` (the attribute file separator), no leading `.` or `_`, and no
/// whitespace at either end, so that it can never point outside the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawLayerId", into = "RawLayerId")]
pub struct LayerId {
    pub(crate) name: String,
    pub(crate) zoom: u32,
}

#[derive(Serialize, Deserialize)]
struct RawLayerId {
    name: String,
    zoom: u32,
}

impl TryFrom<RawLayerId> for LayerId {
    type Error = Error;
    fn try_from(raw: RawLayerId) -> Result<Self, Error> {
        LayerId::new(raw.name, raw.zoom)
    }
}

impl From<LayerId> for RawLayerId {
    fn from(id: LayerId) -> Self {
        RawLayerId {
            name: id.name,
            zoom: id.zoom,
        }
    }
}

impl LayerId {
    /// Makes an id after checking the name (see the type's docs).
    pub fn new(name: impl Into<String>, zoom: u32) -> Result<Self, Error> {
        let name = name.into();
        validate_name(&name)?;
        Ok(LayerId { name, zoom })
    }

    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The layer's zoom level.
    pub fn zoom(&self) -> u32 {
        self.zoom
    }

    /// The prefix of this layer's attribute files: `<name>__<zoom>__`.
    pub(crate) fn attribute_prefix(&self) -> String {
        format!("{}__{}__", self.name, self.zoom)
    }
}

impl fmt::Display for LayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.zoom)
    }
}

impl FromStr for LayerId {
    type Err = Error;

    /// Parses `name:zoom`, the form [`Display`](fmt::Display) prints.
    fn from_str(s: &str) -> Result<Self, Error> {
        let Some((name, zoom)) = s.rsplit_once(':') else {
            return Err(Error::BadLayerName {
                name: s.to_owned(),
                reason: "expected NAME:ZOOM",
            });
        };
        let zoom = zoom.parse::<u32>().map_err(|_| Error::BadLayerName {
            name: s.to_owned(),
            reason: "the zoom after ':' is not a non-negative integer",
        })?;
        LayerId::new(name, zoom)
    }
}

fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |reason: &'static str| {
        Err(Error::BadLayerName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("the name is longer than 160 bytes");
    }
    if name.contains(['/', '\\']) {
        return bad("the name contains a path separator");
    }
    if name.contains("..") {
        return bad("the name contains '..'");
    }
    if name.chars().any(char::is_control) {
        return bad("the name contains a control character");
    }
    if name.contains("__") {
        return bad("the name contains '__', the separator of attribute file names");
    }
    if name.starts_with('.') || name.starts_with('_') {
        return bad("the name starts with '.' or '_', which are reserved for the catalog");
    }
    if name.trim() != name {
        return bad("the name starts or ends with whitespace");
    }
    if name.contains(':') {
        return bad("the name contains ':', which separates name and zoom");
    }
    if RESERVED.contains(&name) {
        return bad("the name is reserved for the catalog");
    }
    Ok(())
}

/// Checks an attribute name: 1 to 64 ASCII letters, digits, `-` or `_` (but no `__`).
pub(crate) fn validate_attribute_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.contains("__");
    if ok {
        Ok(())
    } else {
        Err(Error::BadAttributeName {
            name: name.to_owned(),
            reason: "expected 1 to 64 ASCII letters, digits, '-' or single '_'",
        })
    }
}
