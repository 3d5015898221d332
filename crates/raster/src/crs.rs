//! Coordinate reference systems ([`Crs`]) and point transformations between them ([`Transformer`]),
//! backed by proj4rs with the crs-definitions EPSG table.

use std::fmt;

use proj4rs::proj::Proj;

use crate::error::{Error, Result};

/// A coordinate reference system, kept as a proj4 string (what proj4rs understands) plus the
/// EPSG code and name when known.
///
/// Geographic CRSs use longitude, latitude order in degrees (GIS order, like GDAL's
/// "traditional GIS order" and PROJ's `OGC:CRS84`), whatever the EPSG axis order says.
#[derive(Clone, PartialEq)]
pub struct Crs {
    epsg: Option<u32>,
    name: String,
    proj4: String,
}

/// Names accepted by [`Crs::parse`] besides the names in the EPSG table.
const ALIASES: &[(&str, u32)] = &[
    ("wgs84", 4326),
    ("wgs 84", 4326),
    ("latlng", 4326),
    ("latlon", 4326),
    ("crs84", 4326),
    ("ogc:crs84", 4326),
    ("webmercator", 3857),
    ("web mercator", 3857),
    ("pseudo-mercator", 3857),
    ("epsg:900913", 3857),
    ("googlemercator", 3857),
];

impl Crs {
    /// Parses `EPSG:nnnn`, a name from the EPSG table (e.g. `WGS 84`, `SIRGAS 2000 / UTM zone
    /// 25S`), a common alias (`WebMercator`, `WGS84`, `LatLng`), or a proj4 string (`+proj=...`).
    pub fn parse(s: &str) -> Result<Crs> {
        let t = s.trim();
        if t.starts_with('+') {
            return Crs::from_proj4(t, None);
        }
        let lower = t.to_ascii_lowercase();
        if let Some(code) = lower.strip_prefix("epsg:") {
            let code: u32 = code
                .trim()
                .parse()
                .map_err(|_| Error::unknown_crs(t, "the EPSG code is not a number"))?;
            return Crs::from_epsg(code);
        }
        if let Some(&(_, code)) = ALIASES.iter().find(|(alias, _)| *alias == lower) {
            return Crs::from_epsg(code);
        }
        if let Some(code) = epsg_code_for_name(t) {
            return Crs::from_epsg(code);
        }
        Err(Error::unknown_crs(
            t,
            "expected EPSG:nnnn, a known EPSG name or a proj4 string starting with '+'",
        ))
    }

    /// The CRS of an EPSG code from the crs-definitions table.
    pub fn from_epsg(code: u32) -> Result<Crs> {
        let def = u16::try_from(code)
            .ok()
            .and_then(crs_definitions::from_code)
            .ok_or_else(|| {
                Error::unknown_crs(
                    format!("EPSG:{code}"),
                    "not in the crs-definitions EPSG table",
                )
            })?;
        let mut crs = Crs::from_proj4(def.proj4, Some(wkt_name(def.wkt).to_owned()))?;
        crs.epsg = Some(code);
        Ok(crs)
    }

    /// A CRS from a proj4 string, with an optional display name.
    pub fn from_proj4(proj4: &str, name: Option<String>) -> Result<Crs> {
        let proj4 = proj4.split_whitespace().collect::<Vec<_>>().join(" ");
        Proj::from_proj_string(&proj4)
            .map_err(|e| Error::unknown_crs(&proj4, format!("proj4rs rejects it: {e}")))?;
        Ok(Crs {
            epsg: None,
            name: name.unwrap_or_else(|| proj4.clone()),
            proj4,
        })
    }

    /// The EPSG code, when the CRS came from one.
    pub fn epsg(&self) -> Option<u32> {
        self.epsg
    }

    /// The proj4 definition handed to proj4rs.
    pub fn proj4(&self) -> &str {
        &self.proj4
    }

    /// A human-readable name: the EPSG name, a GeoTIFF citation, or the proj4 string.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for longitude/latitude CRSs (`+proj=longlat` and its spellings).
    pub fn is_geographic(&self) -> bool {
        matches!(
            self.param("proj"),
            Some("longlat" | "latlong" | "lonlat" | "latlon")
        )
    }

    /// The value of a `+key=value` parameter of the proj4 string; `Some("")` for a bare `+key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        proj4_params(&self.proj4).find_map(|(k, v)| (k == key).then_some(v))
    }

    /// True when both describe the same CRS: equal EPSG codes, or the same proj4 parameters in
    /// any order (numbers compared as numbers), whatever the names. `==` also compares names.
    pub fn is_equivalent(&self, other: &Crs) -> bool {
        if let (Some(a), Some(b)) = (self.epsg, other.epsg) {
            return a == b;
        }
        normalized_params(&self.proj4) == normalized_params(&other.proj4)
    }

    /// The longitude/latitude CRS on this CRS's datum (what gdalinfo's corner coordinates use):
    /// the CRS itself when it is geographic.
    pub fn geographic(&self) -> Result<Crs> {
        if self.is_geographic() {
            return Ok(self.clone());
        }
        let datum = datum_part(&self.proj4);
        Crs::from_proj4(
            &format!("+proj=longlat {datum} +no_defs"),
            Some(format!("geographic CRS of {}", self.name)),
        )
    }

    /// A short label: `EPSG:nnnn` when known, else the proj4 string.
    pub fn label(&self) -> String {
        match self.epsg {
            Some(code) => format!("EPSG:{code}"),
            None => self.proj4.clone(),
        }
    }

    pub(crate) fn proj(&self) -> Result<Proj> {
        Proj::from_proj_string(&self.proj4)
            .map_err(|e| Error::unknown_crs(self.label(), format!("proj4rs rejects it: {e}")))
    }
}

impl fmt::Debug for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Crs({} \"{}\" {})", self.label(), self.name, self.proj4)
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.epsg {
            Some(code) => write!(f, "EPSG:{code} ({})", self.name),
            None => write!(f, "{} ({})", self.name, self.proj4),
        }
    }
}

impl std::str::FromStr for Crs {
    type Err = Error;
    fn from_str(s: &str) -> Result<Crs> {
        Crs::parse(s)
    }
}

/// Splits a proj4 string into `(key, value)` pairs without the leading `+`.
pub(crate) fn proj4_params(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split_whitespace().filter_map(|tok| {
        let tok = tok.strip_prefix('+')?;
        Some(tok.split_once('=').unwrap_or((tok, "")))
    })
}

/// Sorted proj4 parameters without the ones that do not change the CRS, numbers normalised.
fn normalized_params(s: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = proj4_params(s)
        .filter(|(k, _)| !matches!(*k, "no_defs" | "wktext" | "type"))
        .map(|(k, v)| {
            let v = v
                .parse::<f64>()
                .map_or_else(|_| v.to_owned(), |n| n.to_string());
            (k.to_owned(), v)
        })
        .collect();
    v.sort();
    v
}

/// The datum-related parameters of a proj4 string (ellipsoid, datum, towgs84, prime meridian).
pub(crate) fn datum_part(proj4: &str) -> String {
    proj4_params(proj4)
        .filter(|(k, _)| {
            matches!(
                *k,
                "datum" | "ellps" | "a" | "b" | "rf" | "f" | "towgs84" | "nadgrids" | "pm"
            )
        })
        .map(|(k, v)| {
            if v.is_empty() {
                format!("+{k}")
            } else {
                format!("+{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first quoted string of a WKT definition: the CRS name.
fn wkt_name(wkt: &str) -> &str {
    wkt.split('"').nth(1).unwrap_or("")
}

/// Looks a CRS name up in the EPSG table (case-insensitive; the lowest code wins when several
/// codes share a name, which is the non-deprecated one in practice).
fn epsg_code_for_name(name: &str) -> Option<u32> {
    (0..=u16::MAX).find_map(|code| {
        let def = crs_definitions::from_code(code)?;
        wkt_name(def.wkt)
            .eq_ignore_ascii_case(name)
            .then_some(u32::from(code))
    })
}

/// Transforms points from one CRS to another.
///
/// Geographic coordinates are longitude, latitude in degrees on both sides; the conversion to
/// the radians proj4rs works in happens here.
pub struct Transformer {
    src: Proj,
    dst: Proj,
    src_geographic: bool,
    dst_geographic: bool,
    src_label: String,
    dst_label: String,
}

impl fmt::Debug for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transformer({} -> {})", self.src_label, self.dst_label)
    }
}

impl Transformer {
    /// A transformer from `src` to `dst`.
    pub fn new(src: &Crs, dst: &Crs) -> Result<Transformer> {
        Ok(Transformer {
            src: src.proj()?,
            dst: dst.proj()?,
            src_geographic: src.is_geographic(),
            dst_geographic: dst.is_geographic(),
            src_label: src.label(),
            dst_label: dst.label(),
        })
    }

    /// Transforms one point.
    pub fn transform(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        let mut p = [(x, y)];
        self.transform_many(&mut p)?;
        Ok(p[0])
    }

    /// Transforms points in place. On error, the points before the failing one are
    /// transformed and the rest are untouched.
    pub fn transform_many(&self, points: &mut [(f64, f64)]) -> Result<()> {
        for p in points.iter_mut() {
            let (x, y) = *p;
            let mut v = if self.src_geographic {
                (x.to_radians(), y.to_radians(), 0.0)
            } else {
                (x, y, 0.0)
            };
            proj4rs::transform::transform(&self.src, &self.dst, &mut v).map_err(|e| {
                Error::Transform {
                    from: self.src_label.clone(),
                    to: self.dst_label.clone(),
                    x,
                    y,
                    reason: e.to_string(),
                }
            })?;
            *p = if self.dst_geographic {
                (v.0.to_degrees(), v.1.to_degrees())
            } else {
                (v.0, v.1)
            };
        }
        Ok(())
    }

    /// Like [`Transformer::transform_many`], but a point that cannot be transformed becomes
    /// `(NaN, NaN)` instead of stopping the batch (useful for warping grids that reach past a
    /// projection's domain).
    pub fn transform_many_lossy(&self, points: &mut [(f64, f64)]) {
        for p in points.iter_mut() {
            *p = self.transform(p.0, p.1).unwrap_or((f64::NAN, f64::NAN));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Crs;

    #[test]
    fn parses_codes_names_aliases_and_proj_strings() {
        assert_eq!(Crs::parse("EPSG:32611").unwrap().epsg(), Some(32611));
        assert_eq!(Crs::parse("epsg:4326").unwrap().epsg(), Some(4326));
        assert_eq!(Crs::parse("WGS 84").unwrap().epsg(), Some(4326));
        assert_eq!(Crs::parse("WebMercator").unwrap().epsg(), Some(3857));
        assert_eq!(
            Crs::parse("SIRGAS 2000 / UTM zone 25S").unwrap().epsg(),
            Some(31985)
        );
        let c = Crs::parse("+proj=utm +zone=25 +south +ellps=GRS80").unwrap();
        assert_eq!(c.epsg(), None);
        assert_eq!(c.param("zone"), Some("25"));
        assert_eq!(c.param("south"), Some(""));
        assert!(Crs::parse("EPSG:4326").unwrap().is_geographic());
        assert!(!Crs::parse("EPSG:3857").unwrap().is_geographic());
    }

    #[test]
    fn equivalence_ignores_names_order_and_number_spelling() {
        let a =
            Crs::parse("+proj=utm +zone=25 +south +ellps=GRS80 +k=1 +units=m +no_defs").unwrap();
        let b = Crs::from_proj4(
            "+south +ellps=GRS80 +proj=utm +zone=25 +k=1.0 +units=m",
            Some("x".into()),
        )
        .unwrap();
        assert!(a.is_equivalent(&b));
        assert_ne!(a, b);
        let c = Crs::parse("+proj=utm +zone=24 +south +ellps=GRS80").unwrap();
        assert!(!a.is_equivalent(&c));
    }

    #[test]
    fn crs_and_transformer_can_be_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Crs>();
        send_sync::<super::Transformer>();
        send_sync::<crate::Raster>();
    }

    #[test]
    fn rejects_unknown_crs_clearly() {
        for bad in [
            "EPSG:999999",
            "EPSG:1",
            "EPSG:abc",
            "Middle Earth",
            "+proj=nope",
        ] {
            let err = Crs::parse(bad).unwrap_err().to_string();
            assert!(err.contains("unknown CRS"), "{bad}: {err}");
        }
    }
}
