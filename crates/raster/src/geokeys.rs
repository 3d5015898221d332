//! GeoTIFF GeoKeys (tags 34735, 34736, 34737): reading them into a [`Crs`] and writing a
//! [`Crs`] back as keys that GDAL understands.

use std::collections::BTreeMap;

use crate::crs::{Crs, datum_part};
use crate::error::{Error, Result};

/// "User-defined" in every GeoKey code space (GeoTIFF 1.0 spec, section 6.3).
pub(crate) const USER_DEFINED: u16 = 32767;

/// GeoKey ids used here (GeoTIFF 1.0 spec, section 6.2 and OGC 19-008r4 Annex C).
pub(crate) mod key {
    pub(crate) const MODEL_TYPE: u16 = 1024;
    pub(crate) const RASTER_TYPE: u16 = 1025;
    pub(crate) const CITATION: u16 = 1026;
    pub(crate) const GEOGRAPHIC_TYPE: u16 = 2048;
    pub(crate) const GEOG_CITATION: u16 = 2049;
    pub(crate) const GEOG_DATUM: u16 = 2050;
    pub(crate) const GEOG_PRIME_MERIDIAN: u16 = 2051;
    pub(crate) const GEOG_ANGULAR_UNITS: u16 = 2054;
    pub(crate) const GEOG_ELLIPSOID: u16 = 2056;
    pub(crate) const SEMI_MAJOR: u16 = 2057;
    pub(crate) const SEMI_MINOR: u16 = 2058;
    pub(crate) const INV_FLATTENING: u16 = 2059;
    pub(crate) const PRIME_MERIDIAN_LONG: u16 = 2061;
    pub(crate) const TOWGS84: u16 = 2062;
    pub(crate) const PROJECTED_TYPE: u16 = 3072;
    pub(crate) const PCS_CITATION: u16 = 3073;
    pub(crate) const PROJECTION: u16 = 3074;
    pub(crate) const COORD_TRANS: u16 = 3075;
    pub(crate) const LINEAR_UNITS: u16 = 3076;
    pub(crate) const STD_PARALLEL_1: u16 = 3078;
    pub(crate) const STD_PARALLEL_2: u16 = 3079;
    pub(crate) const NAT_ORIGIN_LONG: u16 = 3080;
    pub(crate) const NAT_ORIGIN_LAT: u16 = 3081;
    pub(crate) const FALSE_EASTING: u16 = 3082;
    pub(crate) const FALSE_NORTHING: u16 = 3083;
    pub(crate) const FALSE_ORIGIN_LONG: u16 = 3084;
    pub(crate) const FALSE_ORIGIN_LAT: u16 = 3085;
    pub(crate) const FALSE_ORIGIN_EASTING: u16 = 3086;
    pub(crate) const FALSE_ORIGIN_NORTHING: u16 = 3087;
    pub(crate) const CENTER_LONG: u16 = 3088;
    pub(crate) const CENTER_LAT: u16 = 3089;
    pub(crate) const SCALE_AT_NAT_ORIGIN: u16 = 3092;
    pub(crate) const STRAIGHT_VERT_POLE_LONG: u16 = 3095;
}

/// EPSG ellipsoid codes and their proj4 names (EPSG dataset, "Ellipsoid" table).
const ELLIPSOIDS: [(u16, &str); 9] = [
    (7030, "WGS84"),
    (7019, "GRS80"),
    (7008, "clrk66"),
    (7012, "clrk80"),
    (7022, "intl"),
    (7004, "bessel"),
    (7043, "WGS72"),
    (7024, "krass"),
    (7001, "airy"),
];

/// How a written CRS names its ellipsoid.
enum Ellipsoid {
    /// An EPSG ellipsoid code.
    Epsg(u16),
    /// Semi-major axis and inverse flattening (0 for a sphere).
    Axes(f64, f64),
}

/// One GeoKey value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyValue {
    Short(u16),
    Doubles(Vec<f64>),
    Ascii(String),
}

/// The decoded GeoKey directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct GeoKeys {
    pub(crate) keys: BTreeMap<u16, KeyValue>,
}

/// Where a pixel's coordinates refer to (GTRasterTypeGeoKey).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RasterType {
    /// PixelIsArea (1): the tiepoint is the pixel's corner.
    Area,
    /// PixelIsPoint (2): the tiepoint is the pixel's centre.
    Point,
}

impl GeoKeys {
    /// Parses the three GeoTIFF tags. `dir` is the GeoKeyDirectory's shorts.
    pub(crate) fn parse(dir: &[u16], doubles: &[f64], ascii: &str) -> Result<GeoKeys> {
        let bad = |detail: String| Error::malformed("GeoKey directory (tag 34735)", detail);
        let [version, _, _, count, rest @ ..] = dir else {
            return Err(bad(format!("{} shorts, need at least 4", dir.len())));
        };
        if *version != 1 {
            return Err(bad(format!("KeyDirectoryVersion {version}, expected 1")));
        }
        let count = usize::from(*count);
        if rest.len() < count * 4 {
            return Err(bad(format!(
                "{count} keys declared but only {} entries present",
                rest.len() / 4
            )));
        }
        let mut keys = BTreeMap::new();
        for (i, entry) in rest.chunks_exact(4).take(count).enumerate() {
            let (id, location, n, value) = (entry[0], entry[1], usize::from(entry[2]), entry[3]);
            let off = usize::from(value);
            let v = match location {
                0 => KeyValue::Short(value),
                34736 => KeyValue::Doubles(
                    doubles
                        .get(off..off + n)
                        .ok_or_else(|| {
                            bad(format!(
                                "key {id} (entry {i}) points at doubles {off}..{} of {}",
                                off + n,
                                doubles.len()
                            ))
                        })?
                        .to_vec(),
                ),
                34737 => {
                    let s = ascii.get(off..off + n).ok_or_else(|| {
                        bad(format!(
                            "key {id} (entry {i}) points at ASCII {off}..{} of {}",
                            off + n,
                            ascii.len()
                        ))
                    })?;
                    KeyValue::Ascii(s.trim_end_matches(['|', '\0']).to_owned())
                }
                // Keys stored in other tags (e.g. 34735 itself for short arrays) are not used
                // by any key we read, so they are skipped rather than rejected.
                _ => continue,
            };
            keys.insert(id, v);
        }
        Ok(GeoKeys { keys })
    }

    pub(crate) fn short(&self, id: u16) -> Option<u16> {
        match self.keys.get(&id) {
            Some(KeyValue::Short(v)) => Some(*v),
            _ => None,
        }
    }

    pub(crate) fn double(&self, id: u16) -> Option<f64> {
        match self.keys.get(&id) {
            Some(KeyValue::Doubles(v)) => v.first().copied(),
            // Some writers store small integral parameters as shorts.
            Some(KeyValue::Short(v)) => Some(f64::from(*v)),
            _ => None,
        }
    }

    pub(crate) fn doubles(&self, id: u16) -> Option<&[f64]> {
        match self.keys.get(&id) {
            Some(KeyValue::Doubles(v)) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn ascii(&self, id: u16) -> Option<&str> {
        match self.keys.get(&id) {
            Some(KeyValue::Ascii(v)) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn raster_type(&self) -> RasterType {
        // GDAL treats anything but an explicit PixelIsPoint (2) as PixelIsArea.
        if self.short(key::RASTER_TYPE) == Some(2) {
            RasterType::Point
        } else {
            RasterType::Area
        }
    }

    /// The CRS these keys describe, or `None` when they name none (no model type and no CRS keys).
    pub(crate) fn crs(&self) -> Result<Option<Crs>> {
        let model = self.short(key::MODEL_TYPE);
        let projected = self.short(key::PROJECTED_TYPE);
        let geographic = self.short(key::GEOGRAPHIC_TYPE);
        let citation = self
            .ascii(key::PCS_CITATION)
            .or_else(|| self.ascii(key::CITATION))
            .map(|c| c.split('|').next().unwrap_or(c).to_owned());
        match (model, projected) {
            (Some(1) | None, Some(code)) if code != USER_DEFINED && code != 0 => {
                Crs::from_epsg(u32::from(code)).map(Some)
            }
            (Some(1), _) | (None, Some(_)) => {
                let proj = self.user_projection()?;
                let geog = self.geographic_params()?;
                let units = self.linear_units()?;
                let s = format!("{proj} {geog} +units={units} +no_defs");
                Crs::from_proj4(&s, citation).map(Some)
            }
            (Some(2) | None, _) => match geographic {
                Some(code) if code != USER_DEFINED && code != 0 => {
                    Crs::from_epsg(u32::from(code)).map(Some)
                }
                Some(_) => {
                    let geog = self.geographic_params()?;
                    let name = self
                        .ascii(key::GEOG_CITATION)
                        .map(str::to_owned)
                        .or(citation);
                    Crs::from_proj4(&format!("+proj=longlat {geog} +no_defs"), name).map(Some)
                }
                None if model.is_some() => Err(Error::unknown_crs(
                    "from GeoKeys",
                    "GTModelType is geographic but no GeographicTypeGeoKey (2048) is given",
                )),
                None => Ok(None),
            },
            (Some(3), _) => Err(Error::unknown_crs(
                "from GeoKeys",
                "geocentric model type (GTModelType 3) is not supported",
            )),
            (Some(m), _) => Err(Error::unknown_crs(
                "from GeoKeys",
                format!("GTModelType {m} is not 1 (projected) or 2 (geographic)"),
            )),
        }
    }

    /// The datum part of a proj4 string (`+ellps=.. +towgs84=..` or `+datum=..`).
    fn geographic_params(&self) -> Result<String> {
        if let Some(code) = self.short(key::GEOGRAPHIC_TYPE)
            && code != USER_DEFINED
            && code != 0
        {
            // An EPSG geographic CRS: reuse its datum parameters from the EPSG table.
            let crs = Crs::from_epsg(u32::from(code))?;
            return Ok(datum_part(crs.proj4()));
        }
        if let Some(units) = self.short(key::GEOG_ANGULAR_UNITS)
            && units != 9102
            && units != 9122
        {
            return Err(Error::unknown_crs(
                "from GeoKeys",
                format!("GeogAngularUnitsGeoKey {units}: only degrees (9102) are supported"),
            ));
        }
        let mut out = match self.short(key::GEOG_DATUM) {
            Some(6326) => "+datum=WGS84".to_owned(),
            // ETRS89 and SIRGAS 2000 are WGS 84 to within a metre: PROJ.4 and GDAL use a null shift.
            Some(6258 | 6674) => "+ellps=GRS80 +towgs84=0,0,0,0,0,0,0".to_owned(),
            Some(6269) => "+datum=NAD83".to_owned(),
            Some(code) if code != USER_DEFINED && code != 0 => {
                return Err(Error::unknown_crs(
                    "from GeoKeys",
                    format!("GeogGeodeticDatumGeoKey {code} is not in the supported datum table"),
                ));
            }
            _ => self.ellipsoid()?,
        };
        if let Some(t) = self.doubles(key::TOWGS84)
            && !out.contains("towgs84")
            && !out.contains("datum=")
        {
            let mut t = t.to_vec();
            if t.len() == 3 {
                t.extend([0.0; 4]);
            }
            if t.len() != 7 {
                return Err(Error::malformed(
                    "GeoKeys",
                    format!(
                        "GeogTOWGS84GeoKey (2062) has {} values, expected 3 or 7",
                        t.len()
                    ),
                ));
            }
            let parts: Vec<String> = t.iter().map(|v| fmt_num(*v)).collect();
            out.push_str(" +towgs84=");
            out.push_str(&parts.join(","));
        }
        match self.double(key::PRIME_MERIDIAN_LONG) {
            Some(pm) if pm != 0.0 => {
                out.push_str(" +pm=");
                out.push_str(&fmt_num(pm));
            }
            _ => {}
        }
        if let Some(pm) = self.short(key::GEOG_PRIME_MERIDIAN)
            && pm != 8901
            && pm != USER_DEFINED
        {
            return Err(Error::unknown_crs(
                "from GeoKeys",
                format!("GeogPrimeMeridianGeoKey {pm}: only Greenwich (8901) is supported"),
            ));
        }
        Ok(out)
    }

    fn ellipsoid(&self) -> Result<String> {
        let named = match self.short(key::GEOG_ELLIPSOID) {
            Some(code) if ELLIPSOIDS.iter().any(|(c, _)| *c == code) => ELLIPSOIDS
                .iter()
                .find_map(|(c, name)| (*c == code).then_some(*name)),
            Some(code) if code != USER_DEFINED && code != 0 => {
                return Err(Error::unknown_crs(
                    "from GeoKeys",
                    format!("GeogEllipsoidGeoKey {code} is not in the supported ellipsoid table"),
                ));
            }
            _ => None,
        };
        if let Some(name) = named {
            return Ok(format!("+ellps={name}"));
        }
        let a = self.double(key::SEMI_MAJOR).ok_or_else(|| {
            Error::unknown_crs(
                "from GeoKeys",
                "user-defined ellipsoid without GeogSemiMajorAxisGeoKey (2057)",
            )
        })?;
        if let Some(rf) = self.double(key::INV_FLATTENING) {
            // Name the two common ellipsoids the way GDAL's proj4 export does.
            if a == 6_378_137.0 && (rf - 298.257_222_101).abs() < 1e-9 {
                return Ok("+ellps=GRS80".to_owned());
            }
            if a == 6_378_137.0 && (rf - 298.257_223_563).abs() < 1e-9 {
                return Ok("+ellps=WGS84".to_owned());
            }
            if rf == 0.0 {
                return Ok(format!("+a={} +b={}", fmt_num(a), fmt_num(a)));
            }
            return Ok(format!("+a={} +rf={}", fmt_num(a), fmt_num(rf)));
        }
        let b = self.double(key::SEMI_MINOR).unwrap_or(a);
        Ok(format!("+a={} +b={}", fmt_num(a), fmt_num(b)))
    }

    fn linear_units(&self) -> Result<&'static str> {
        match self.short(key::LINEAR_UNITS) {
            None | Some(9001) => Ok("m"),
            Some(9002) => Ok("ft"),
            Some(9003) => Ok("us-ft"),
            Some(u) => Err(Error::unknown_crs(
                "from GeoKeys",
                format!(
                    "ProjLinearUnitsGeoKey {u}: only metre (9001), foot (9002) and US survey foot (9003) are supported"
                ),
            )),
        }
    }

    fn unit_to_metre(&self) -> Result<f64> {
        Ok(match self.linear_units()? {
            "ft" => 0.3048,
            "us-ft" => 1200.0 / 3937.0,
            _ => 1.0,
        })
    }

    /// The projection part of a user-defined projected CRS.
    fn user_projection(&self) -> Result<String> {
        match self.short(key::PROJECTION) {
            // EPSG "UTM zone nN" (16001..16060) and "UTM zone nS" (16101..16160) conversions.
            Some(code @ 16001..=16060) => return Ok(format!("+proj=utm +zone={}", code - 16000)),
            Some(code @ 16101..=16160) => {
                return Ok(format!("+proj=utm +zone={} +south", code - 16100));
            }
            Some(code) if code != USER_DEFINED && code != 0 => {
                return Err(Error::unknown_crs(
                    "from GeoKeys",
                    format!(
                        "ProjectionGeoKey {code}: only the UTM conversions (16001..16060, 16101..16160) are known"
                    ),
                ));
            }
            _ => {}
        }
        let to_m = self.unit_to_metre()?;
        let p = |id: u16| self.double(id).unwrap_or(0.0);
        let len = |id: u16| fmt_num(self.double(id).unwrap_or(0.0) * to_m);
        let ct = self.short(key::COORD_TRANS).ok_or_else(|| {
            Error::unknown_crs(
                "from GeoKeys",
                "user-defined projection without ProjCoordTransGeoKey (3075)",
            )
        })?;
        let s = match ct {
            1 => format!(
                "+proj=tmerc +lat_0={} +lon_0={} +k={} +x_0={} +y_0={}",
                fmt_num(p(key::NAT_ORIGIN_LAT)),
                fmt_num(p(key::NAT_ORIGIN_LONG)),
                fmt_num(self.double(key::SCALE_AT_NAT_ORIGIN).unwrap_or(1.0)),
                len(key::FALSE_EASTING),
                len(key::FALSE_NORTHING)
            ),
            7 => match self.double(key::STD_PARALLEL_1) {
                Some(lat_ts) => format!(
                    "+proj=merc +lat_ts={} +lon_0={} +x_0={} +y_0={}",
                    fmt_num(lat_ts),
                    fmt_num(p(key::NAT_ORIGIN_LONG)),
                    len(key::FALSE_EASTING),
                    len(key::FALSE_NORTHING)
                ),
                None => format!(
                    "+proj=merc +lon_0={} +k={} +x_0={} +y_0={}",
                    fmt_num(p(key::NAT_ORIGIN_LONG)),
                    fmt_num(self.double(key::SCALE_AT_NAT_ORIGIN).unwrap_or(1.0)),
                    len(key::FALSE_EASTING),
                    len(key::FALSE_NORTHING)
                ),
            },
            8 => format!(
                "+proj=lcc +lat_1={} +lat_2={} +lat_0={} +lon_0={} +x_0={} +y_0={}",
                fmt_num(p(key::STD_PARALLEL_1)),
                fmt_num(p(key::STD_PARALLEL_2)),
                fmt_num(p(key::FALSE_ORIGIN_LAT)),
                fmt_num(p(key::FALSE_ORIGIN_LONG)),
                len(key::FALSE_ORIGIN_EASTING),
                len(key::FALSE_ORIGIN_NORTHING)
            ),
            9 => format!(
                "+proj=lcc +lat_1={lat} +lat_0={lat} +lon_0={} +k_0={} +x_0={} +y_0={}",
                fmt_num(p(key::NAT_ORIGIN_LONG)),
                fmt_num(self.double(key::SCALE_AT_NAT_ORIGIN).unwrap_or(1.0)),
                len(key::FALSE_EASTING),
                len(key::FALSE_NORTHING),
                lat = fmt_num(p(key::NAT_ORIGIN_LAT)),
            ),
            10 => format!(
                "+proj=laea +lat_0={} +lon_0={} +x_0={} +y_0={}",
                fmt_num(p(key::CENTER_LAT)),
                fmt_num(p(key::CENTER_LONG)),
                len(key::FALSE_EASTING),
                len(key::FALSE_NORTHING)
            ),
            11 => format!(
                "+proj=aea +lat_1={} +lat_2={} +lat_0={} +lon_0={} +x_0={} +y_0={}",
                fmt_num(p(key::STD_PARALLEL_1)),
                fmt_num(p(key::STD_PARALLEL_2)),
                fmt_num(p(key::FALSE_ORIGIN_LAT)),
                fmt_num(p(key::FALSE_ORIGIN_LONG)),
                len(key::FALSE_ORIGIN_EASTING),
                len(key::FALSE_ORIGIN_NORTHING)
            ),
            15 => {
                let lat_ts = self
                    .double(key::STD_PARALLEL_1)
                    .unwrap_or_else(|| p(key::NAT_ORIGIN_LAT));
                format!(
                    "+proj=stere +lat_0={} +lat_ts={} +lon_0={} +k={} +x_0={} +y_0={}",
                    if lat_ts < 0.0 { "-90" } else { "90" },
                    fmt_num(lat_ts),
                    fmt_num(p(key::STRAIGHT_VERT_POLE_LONG)),
                    fmt_num(self.double(key::SCALE_AT_NAT_ORIGIN).unwrap_or(1.0)),
                    len(key::FALSE_EASTING),
                    len(key::FALSE_NORTHING)
                )
            }
            17 => format!(
                "+proj=eqc +lat_ts={} +lon_0={} +x_0={} +y_0={}",
                fmt_num(p(key::STD_PARALLEL_1)),
                fmt_num(
                    self.double(key::CENTER_LONG)
                        .unwrap_or_else(|| p(key::NAT_ORIGIN_LONG))
                ),
                len(key::FALSE_EASTING),
                len(key::FALSE_NORTHING)
            ),
            other => {
                return Err(Error::unknown_crs(
                    "from GeoKeys",
                    format!(
                        "ProjCoordTransGeoKey {other} ({}) cannot be expressed for proj4rs",
                        coord_trans_name(other)
                    ),
                ));
            }
        };
        Ok(s)
    }

    /// Encodes the keys as the three tag payloads: directory shorts, doubles, ASCII.
    pub(crate) fn encode(&self) -> (Vec<u16>, Vec<f64>, String) {
        let mut dir = vec![1, 1, 0, self.keys.len() as u16];
        let mut doubles = Vec::new();
        let mut ascii = String::new();
        for (&id, v) in &self.keys {
            match v {
                KeyValue::Short(s) => dir.extend([id, 0, 1, *s]),
                KeyValue::Doubles(d) => {
                    dir.extend([id, 34736, d.len() as u16, doubles.len() as u16]);
                    doubles.extend_from_slice(d);
                }
                KeyValue::Ascii(s) => {
                    let text = format!("{s}|");
                    dir.extend([id, 34737, text.len() as u16, ascii.len() as u16]);
                    ascii.push_str(&text);
                }
            }
        }
        (dir, doubles, ascii)
    }

    /// The keys describing `crs` (PixelIsArea). EPSG CRSs become one code; user-defined UTM,
    /// transverse mercator and longitude/latitude CRSs are spelled out key by key.
    pub(crate) fn from_crs(crs: &Crs) -> Result<GeoKeys> {
        let mut k = GeoKeys::default();
        let mut put = |id: u16, v: KeyValue| {
            k.keys.insert(id, v);
        };
        put(key::RASTER_TYPE, KeyValue::Short(1));
        if let Some(code) = crs.epsg() {
            let code = u16::try_from(code).map_err(|_| {
                Error::unsupported(format!("EPSG code {code} does not fit a GeoKey"))
            })?;
            if crs.is_geographic() {
                put(key::MODEL_TYPE, KeyValue::Short(2));
                put(key::GEOGRAPHIC_TYPE, KeyValue::Short(code));
                put(key::GEOG_ANGULAR_UNITS, KeyValue::Short(9102));
                put(key::CITATION, KeyValue::Ascii(crs.name().to_owned()));
            } else {
                put(key::MODEL_TYPE, KeyValue::Short(1));
                put(key::PROJECTED_TYPE, KeyValue::Short(code));
                put(key::CITATION, KeyValue::Ascii(crs.name().to_owned()));
                // The EPSG code implies the unit; the key only helps readers without a table.
                if let Ok(units) = units_code(crs) {
                    put(key::LINEAR_UNITS, KeyValue::Short(units));
                }
            }
            return Ok(k);
        }
        let cannot = |why: &str| {
            Error::unsupported(format!("writing CRS {} as GeoKeys: {why}", crs.proj4()))
        };
        // The datum: a named ellipsoid or explicit axes, plus towgs84.
        put(key::GEOGRAPHIC_TYPE, KeyValue::Short(USER_DEFINED));
        put(key::GEOG_DATUM, KeyValue::Short(USER_DEFINED));
        put(key::GEOG_ANGULAR_UNITS, KeyValue::Short(9102));
        let (datum, ellps) = (crs.param("datum"), crs.param("ellps"));
        let ellipsoid = match (datum, ellps) {
            (Some("WGS84"), _) | (None, Some("WGS84")) => {
                Ellipsoid::Axes(6_378_137.0, 298.257_223_563)
            }
            (Some("NAD83"), _) | (None, Some("GRS80")) => {
                Ellipsoid::Axes(6_378_137.0, 298.257_222_101)
            }
            (Some(_), _) => return Err(cannot("only the WGS84 and NAD83 +datum names")),
            (None, Some(name)) => Ellipsoid::Epsg(
                ELLIPSOIDS
                    .iter()
                    .find_map(|(code, n)| (*n == name).then_some(*code))
                    .ok_or_else(|| cannot("an ellipsoid without an EPSG code here"))?,
            ),
            (None, None) => {
                let a: f64 = crs
                    .param("a")
                    .ok_or_else(|| cannot("no +datum, +ellps or +a"))?
                    .parse()
                    .map_err(|_| cannot("bad +a"))?;
                let rf = match (crs.param("rf"), crs.param("b")) {
                    (Some(rf), _) => rf.parse().map_err(|_| cannot("bad +rf"))?,
                    (None, Some(b)) => {
                        let b: f64 = b.parse().map_err(|_| cannot("bad +b"))?;
                        if a == b { 0.0 } else { a / (a - b) }
                    }
                    (None, None) => 0.0,
                };
                Ellipsoid::Axes(a, rf)
            }
        };
        match ellipsoid {
            Ellipsoid::Epsg(code) => put(key::GEOG_ELLIPSOID, KeyValue::Short(code)),
            Ellipsoid::Axes(a, rf) => {
                put(key::GEOG_ELLIPSOID, KeyValue::Short(USER_DEFINED));
                put(key::SEMI_MAJOR, KeyValue::Doubles(vec![a]));
                put(key::INV_FLATTENING, KeyValue::Doubles(vec![rf]));
            }
        }
        put(key::PRIME_MERIDIAN_LONG, KeyValue::Doubles(vec![0.0]));
        if crs.param("datum") == Some("WGS84") {
            put(key::TOWGS84, KeyValue::Doubles(vec![0.0; 7]));
        }
        if let Some(t) = crs.param("towgs84") {
            let v: std::result::Result<Vec<f64>, _> = t.split(',').map(str::parse).collect();
            put(
                key::TOWGS84,
                KeyValue::Doubles(v.map_err(|_| cannot("bad +towgs84"))?),
            );
        }
        if crs
            .param("pm")
            .is_some_and(|pm| pm != "0" && pm != "greenwich")
        {
            return Err(cannot("only the Greenwich prime meridian"));
        }
        let name = crs.name().to_owned();
        if crs.is_geographic() {
            put(key::MODEL_TYPE, KeyValue::Short(2));
            put(key::GEOG_CITATION, KeyValue::Ascii(name));
            return Ok(k);
        }
        put(key::MODEL_TYPE, KeyValue::Short(1));
        put(key::PROJECTED_TYPE, KeyValue::Short(USER_DEFINED));
        put(key::CITATION, KeyValue::Ascii(name));
        put(key::LINEAR_UNITS, KeyValue::Short(units_code(crs)?));
        let num = |key: &str, default: f64| -> Result<f64> {
            crs.param(key)
                .map_or(Ok(default), |v| v.parse().map_err(|_| cannot("bad number")))
        };
        match crs.param("proj") {
            Some("utm") => {
                let zone: u16 = crs
                    .param("zone")
                    .and_then(|z| z.parse().ok())
                    .filter(|z| (1..=60).contains(z))
                    .ok_or_else(|| cannot("+proj=utm needs +zone=1..60"))?;
                let base = if crs.param("south").is_some() {
                    16100
                } else {
                    16000
                };
                put(key::PROJECTION, KeyValue::Short(base + zone));
            }
            Some("tmerc") => {
                put(key::PROJECTION, KeyValue::Short(USER_DEFINED));
                put(key::COORD_TRANS, KeyValue::Short(1));
                put(
                    key::NAT_ORIGIN_LAT,
                    KeyValue::Doubles(vec![num("lat_0", 0.0)?]),
                );
                put(
                    key::NAT_ORIGIN_LONG,
                    KeyValue::Doubles(vec![num("lon_0", 0.0)?]),
                );
                let k0 = num("k_0", num("k", 1.0)?)?;
                put(key::SCALE_AT_NAT_ORIGIN, KeyValue::Doubles(vec![k0]));
                let to_m = units_to_metre(crs);
                put(
                    key::FALSE_EASTING,
                    KeyValue::Doubles(vec![num("x_0", 0.0)? / to_m]),
                );
                put(
                    key::FALSE_NORTHING,
                    KeyValue::Doubles(vec![num("y_0", 0.0)? / to_m]),
                );
            }
            _ => {
                return Err(cannot(
                    "only EPSG codes, +proj=utm, +proj=tmerc and +proj=longlat",
                ));
            }
        }
        Ok(k)
    }
}

fn units_to_metre(crs: &Crs) -> f64 {
    match crs.param("units") {
        Some("ft") => 0.3048,
        Some("us-ft") => 1200.0 / 3937.0,
        _ => 1.0,
    }
}

fn units_code(crs: &Crs) -> Result<u16> {
    match crs.param("units") {
        None | Some("m") => Ok(9001),
        Some("ft") => Ok(9002),
        Some("us-ft") => Ok(9003),
        Some(u) => Err(Error::unsupported(format!(
            "writing linear unit {u} as a GeoKey (only m, ft, us-ft)"
        ))),
    }
}

/// Shortest text that parses back to the same f64.
pub(crate) fn fmt_num(v: f64) -> String {
    format!("{v}")
}

fn coord_trans_name(code: u16) -> &'static str {
    match code {
        2 => "TransvMercator_Modified_Alaska",
        3 => "ObliqueMercator",
        4 => "ObliqueMercator_Laborde",
        5 => "ObliqueMercator_Rosenmund",
        6 => "ObliqueMercator_Spherical",
        12 => "AzimuthalEquidistant",
        13 => "EquidistantConic",
        14 => "Stereographic",
        16 => "ObliqueStereographic",
        18 => "CassiniSoldner",
        19 => "Gnomonic",
        20 => "MillerCylindrical",
        21 => "Orthographic",
        22 => "Polyconic",
        23 => "Robinson",
        24 => "Sinusoidal",
        25 => "VanDerGrinten",
        26 => "NewZealandMapGrid",
        27 => "TransvMercator_SouthOriented",
        _ => "unknown code",
    }
}
