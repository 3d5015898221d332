//! `tessera raster warp` run as a user would: gdalwarp's default grid, `--tr`, `-r`, errors.

use crate::util::{shared_data as sample, stderr, tessera};
use tessera::raster::{self, Crs};

#[test]
fn warp_writes_a_geotiff_on_gdalwarps_default_grid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("l7_4326.tif");
    let o = tessera(&[
        "raster",
        "warp",
        &sample("L7_ETMs.tif"),
        out.to_str().unwrap(),
        "--t-srs",
        "EPSG:4326",
        "-r",
        "bilinear",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = raster::read_geotiff(&out).unwrap();
    // gdalwarp -t_srs EPSG:4326 makes 351 x 353 cells of 0.000258066 degrees.
    assert_eq!((r.cols(), r.rows(), r.band_count()), (351, 353, 6));
    let gt = r.transform.to_gdal();
    assert!((gt[0] + 34.916_588_961).abs() < 1e-6, "{gt:?}");
    assert!((gt[1] - 0.000_258_066_16).abs() < 1e-9, "{gt:?}");
    assert_eq!(r.crs, Crs::parse("EPSG:4326").unwrap());
}

#[test]
fn warp_honours_tr_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dem.tif");
    let o = tessera(&[
        "--json",
        "raster",
        "warp",
        &sample("olinda_dem_utm25s.tif"),
        out.to_str().unwrap(),
        "--t-srs",
        "EPSG:4326",
        "--tr",
        "0.001",
        "0.001",
        "-r",
        "cubic-spline",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["resampling"], "cubic-spline");
    // The suggested extent is 0.0913 x 0.0905 degrees: 91 x 90 cells of 0.001.
    assert_eq!(v["size"], serde_json::json!([91, 90]));
    let r = raster::read_geotiff(&out).unwrap();
    assert_eq!(r.transform.to_gdal()[1], 0.001);
}

#[test]
fn bad_method_is_a_usage_error_and_unknown_crs_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.tif");
    let l7 = sample("L7_ETMs.tif");
    let args = |crs: &'static str, method: &'static str| {
        vec![
            "raster",
            "warp",
            &l7,
            out.to_str().unwrap(),
            "--t-srs",
            crs,
            "-r",
            method,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        tessera(&refs)
    };
    let o = run(args("EPSG:4326", "bicubic"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bicubic"));
    let o = run(args("EPSG:999999", "near"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown CRS"), "{}", stderr(&o));
    let o = tessera(&[
        "raster",
        "warp",
        "/nonexistent.tif",
        out.to_str().unwrap(),
        "--t-srs",
        "EPSG:4326",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn hostile_warp_options_exit_1_or_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.tif");
    let o = out.to_str().unwrap();
    let na = sample("na.tif");
    let junk = dir.path().join("junk.tif");
    std::fs::write(&junk, b"II*\0garbage").unwrap();
    let j = junk.to_str().unwrap();
    for (args, code, needle) in [
        (vec!["--t-srs", ""], 2, "--t-srs needs a CRS"),
        (vec!["--t-srs", "  "], 2, "--t-srs needs a CRS"),
        (vec!["--t-srs", "+proj=nonsense"], 1, "unknown CRS"),
        (
            vec!["--t-srs", "EPSG:4326", "--tr", "0", "1"],
            2,
            "positive",
        ),
        (
            vec!["--t-srs", "EPSG:4326", "--tr", "NaN", "1"],
            2,
            "positive",
        ),
        (
            vec!["--t-srs", "EPSG:4326", "--tr", "1", "inf"],
            2,
            "positive",
        ),
        (
            vec!["--t-srs", "EPSG:4326", "--tr", "1e-300", "1e-300"],
            1,
            "resolution",
        ),
        (
            vec!["--t-srs", "EPSG:4326", "-r", "cubic-splines"],
            2,
            "cubic-splines",
        ),
    ] {
        let mut argv = vec!["raster", "warp", &na, o];
        argv.extend(&args);
        let out = tessera(&argv);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(!out.exists(), "a failed warp wrote its output");
    // A corrupt input is named, once.
    let out = tessera(&["raster", "warp", j, o, "--t-srs", "EPSG:4326"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("junk.tif").count(),
        1,
        "{}",
        stderr(&out)
    );
}
