//! CRS parsing and point transforms, checked against cs2cs golden outputs (≤ 1 cm).

use std::fmt::Write as _;

use raster::{Crs, Error, Transformer};

use crate::golden;

/// Metres of error between two points of `crs` (degrees are turned into metres on the sphere
/// of radius 6378137 m, which overstates errors slightly at most).
fn error_m(crs: &Crs, a: (f64, f64), b: (f64, f64)) -> f64 {
    if crs.is_geographic() {
        let r = 6_378_137.0_f64;
        let dlon = (a.0 - b.0).to_radians() * r * b.1.to_radians().cos();
        let dlat = (a.1 - b.1).to_radians() * r;
        dlon.hypot(dlat)
    } else {
        (a.0 - b.0).hypot(a.1 - b.1)
    }
}

/// Runs one golden file; returns the largest error in metres.
fn check_cs2cs(name: &str) -> f64 {
    let text = std::fs::read_to_string(golden(&format!("cs2cs_{name}.txt"))).unwrap();
    let mut src = None;
    let mut dst = None;
    let mut worst = 0.0_f64;
    let mut points = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(s) = line.strip_prefix("src=") {
            src = Some(Crs::parse(s).unwrap());
            continue;
        }
        if let Some(s) = line.strip_prefix("dst=") {
            dst = Some(Crs::parse(s).unwrap());
            continue;
        }
        let v: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(v.len(), 4, "{name}: {line}");
        let (s, d) = (src.as_ref().unwrap(), dst.as_ref().unwrap());
        let t = Transformer::new(s, d).unwrap();
        let got = t.transform(v[0], v[1]).unwrap();
        let err = error_m(d, got, (v[2], v[3]));
        assert!(
            err <= 0.01,
            "{name}: ({}, {}) -> {got:?}, cs2cs says ({}, {}): {err} m",
            v[0],
            v[1],
            v[2],
            v[3]
        );
        // transform_many agrees with transform.
        let mut many = [(v[0], v[1])];
        t.transform_many(&mut many).unwrap();
        assert_eq!(many[0], got);
        worst = worst.max(err);
        points += 1;
    }
    assert!(points >= 3, "{name}: only {points} points");
    worst
}

#[test]
fn transforms_agree_with_cs2cs_within_a_centimetre() {
    let mut report = String::new();
    for name in [
        "31985_to_wgs84",
        "wgs84_to_31985",
        "olinda_to_wgs84",
        "wgs84_to_olinda",
        "32611_to_wgs84",
        "wgs84_to_32611",
        "wgs84_to_3857",
        "3857_to_wgs84",
    ] {
        let worst = check_cs2cs(name);
        writeln!(report, "{name}: max error {worst:.2e} m").unwrap();
    }
    // Shown with --nocapture; the numbers go into the crate's report.
    println!("{report}");
}

#[test]
fn geographic_round_trip_through_each_sample_crs() {
    let wgs84 = Crs::parse("EPSG:4326").unwrap();
    let olinda = [(-34.9, -7.95), (-33.0, -9.5), (-35.5, -6.0)];
    for (code, points) in [
        ("EPSG:31985", olinda),
        (
            "EPSG:32611",
            [(-117.0, 34.0), (-119.9, 48.0), (-114.2, 0.5)],
        ),
        (
            "EPSG:3857",
            [(-34.9, -7.95), (-117.0, 34.0), (179.0, -80.0)],
        ),
        (
            "+proj=utm +zone=25 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
            olinda,
        ),
    ] {
        let crs = Crs::parse(code).unwrap();
        let fwd = Transformer::new(&wgs84, &crs).unwrap();
        let inv = Transformer::new(&crs, &wgs84).unwrap();
        for p in points {
            let (x, y) = fwd.transform(p.0, p.1).unwrap();
            let back = inv.transform(x, y).unwrap();
            assert!(
                error_m(&wgs84, back, p) < 1e-3,
                "{code}: {p:?} -> ({x}, {y}) -> {back:?}"
            );
        }
    }
}

#[test]
fn names_and_codes_resolve() {
    assert_eq!(Crs::parse("WGS 84").unwrap().epsg(), Some(4326));
    assert_eq!(Crs::parse("WebMercator").unwrap().epsg(), Some(3857));
    assert_eq!(
        Crs::parse("wgs 84 / pseudo-mercator").unwrap().epsg(),
        Some(3857)
    );
    assert_eq!(
        Crs::from_epsg(31985).unwrap().name(),
        "SIRGAS 2000 / UTM zone 25S"
    );
    let olinda = read_olinda_crs();
    assert_eq!(olinda.epsg(), None);
    assert_eq!(olinda.name(), "UTM Zone 25, Southern Hemisphere");
    assert!(!olinda.is_geographic());
}

fn read_olinda_crs() -> Crs {
    raster::read_geotiff(crate::sample("olinda_dem_utm25s.tif"))
        .unwrap()
        .crs
}

#[test]
fn unknown_crs_errors_are_clear() {
    for bad in [
        "EPSG:999999",
        "EPSG:12",
        "Atlantis",
        "+proj=no_such_projection",
    ] {
        let err = Crs::parse(bad).unwrap_err();
        assert!(matches!(err, Error::UnknownCrs { .. }), "{bad}: {err:?}");
        assert!(err.to_string().starts_with("unknown CRS"), "{err}");
    }
    // A point outside the projection's domain is an error, not a panic or a silent NaN.
    let t = Transformer::new(
        &Crs::parse("EPSG:4326").unwrap(),
        &Crs::parse("EPSG:3857").unwrap(),
    )
    .unwrap();
    assert!(t.transform(0.0, 90.0).is_err() || t.transform(0.0, 90.0).unwrap().1.is_infinite());
    let mut pts = [(0.0, 0.0), (f64::NAN, 1.0)];
    t.transform_many_lossy(&mut pts);
    assert!(pts[1].0.is_nan());
}
