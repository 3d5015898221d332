//! `tessera raster info|render` run as a user would, including bad input (exit 1, never a panic).

use crate::util::{shared_data as sample, stderr, stdout, tessera};
use std::path::{Path, PathBuf};
use std::process::Output;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A failure with exit code `code`, a `tessera: error:` message containing `needle`, no panic.
fn assert_fails(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn info_prints_what_gdalinfo_prints() {
    let out = tessera(&["raster", "info", &sample("L7_ETMs.tif")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "Size is 349, 352",
        "Coordinate System is EPSG:31985 (SIRGAS 2000 / UTM zone 25S)",
        // Same digits as gdalinfo prints.
        "Origin = (288776.250000803149305, 9120760.750028736889362)",
        "Pixel Size = (28.499999999274539, -28.499999999274539)",
        "COMPRESSION=DEFLATE",
        "INTERLEAVE=PIXEL",
        "Band 6 Block=349x3 Type=Byte",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }

    let out = tessera(&["raster", "info", &sample("geomatrix.tif")]);
    let text = stdout(&out);
    assert!(
        text.contains("GeoTransform =\n  1841001.75, 1.5, -5\n  1144003.25, -5, -1.5"),
        "{text}"
    );
    assert!(text.contains("AREA_OR_POINT=Point"), "{text}");

    let out = tessera(&["raster", "info", &sample("olinda_dem_utm25s.tif")]);
    let text = stdout(&out);
    assert!(
        text.contains("+proj=utm +zone=25 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m"),
        "{text}"
    );
    assert!(text.contains("Type=Float32"), "{text}");
}

#[test]
fn info_json_has_size_bands_crs_geotransform_and_nodata() {
    let out = tessera(&["raster", "info", "--json", &sample("na.tif")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["size"], serde_json::json!([10, 10]));
    assert_eq!(v["coordinateSystem"]["epsg"], 4326);
    assert_eq!(
        v["geoTransform"],
        serde_json::json!([-180.0, 1.0, 0.0, 90.0, 0.0, -1.0])
    );
    assert_eq!(v["bands"][0]["type"], "Float32");
    assert!(v["bands"][0].get("noDataValue").is_none());

    // A file with NoData: write one through render's input path (the library) and look.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("nd.tif");
    let mut r = tessera::raster::read_geotiff(sample("olinda_dem_utm25s.tif")).unwrap();
    let band = r
        .tile
        .band(0)
        .unwrap()
        .convert("float32ud-9999".parse().unwrap())
        .unwrap();
    r.tile = tessera::keyed_tile::MultibandTile::from(band);
    tessera::raster::write_geotiff(&r, &f).unwrap();
    let out = tessera(&["raster", "info", "--json", path(&f)]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["bands"][0]["noDataValue"], -9999.0);
    assert_eq!(v["coordinateSystem"]["epsg"], serde_json::Value::Null);
    let text = stdout(&tessera(&["raster", "info", path(&f)]));
    assert!(text.contains("NoData Value=-9999"), "{text}");
}

/// Width, height and PNG colour type from the IHDR chunk.
fn png_header(p: &Path) -> (u32, u32, u8) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    (be(16), be(20), b[25])
}

#[test]
fn render_writes_rgb_and_ramp_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = dir.path().join("l7.png");
    let out = tessera(&[
        "raster",
        "render",
        &sample("L7_ETMs.tif"),
        path(&rgb),
        "--bands",
        "3,2,1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Colour type 2: RGB (uint8 without NoData needs no alpha).
    assert_eq!(png_header(&rgb), (349, 352, 2));

    let ramp = dir.path().join("dem.png");
    let out = tessera(&[
        "raster",
        "render",
        &sample("olinda_dem_utm25s.tif"),
        path(&ramp),
        "--ramp",
        "terrain",
        "--range",
        "-1,88",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(png_header(&ramp), (111, 111, 2));

    // na.tif holds a NaN cell: grey plus alpha (colour type 4).
    let grey = dir.path().join("na.png");
    let out = tessera(&["raster", "render", &sample("na.tif"), path(&grey)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(png_header(&grey), (10, 10, 4));
}

#[test]
fn render_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x.png");
    let l7 = sample("L7_ETMs.tif");
    for (extra, needle) in [
        (vec!["--bands", "1,2"], "one band or three"),
        (vec!["--bands", "9"], "band 9 does not exist"),
        (vec!["--bands", "0"], "1-based"),
        (vec!["--ramp", "sparkly"], "--ramp"),
        (vec!["--bands", "3,2,1", "--ramp", "heat"], "one band"),
        (vec!["--range", "5,1"], "MIN < MAX"),
    ] {
        let mut args = vec!["raster", "render", &l7, path(&o)];
        args.extend(extra);
        assert_fails(&tessera(&args), 2, needle);
    }
    assert!(!o.exists());
}

/// Offset of tag `tag`'s entry in IFD 0 of a little-endian classic TIFF.
fn tag_entry(bytes: &[u8], tag: u16) -> usize {
    let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes(bytes[ifd..ifd + 2].try_into().unwrap()) as usize;
    (0..n)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&e| u16::from_le_bytes(bytes[e..e + 2].try_into().unwrap()) == tag)
        .unwrap()
}

#[test]
fn bad_input_exits_1_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let l7 = std::fs::read(sample("L7_ETMs.tif")).unwrap();
    let png = dir.path().join("out.png");

    let truncated = dir.path().join("truncated.tif");
    std::fs::write(&truncated, &l7[..40_000]).unwrap();
    for cmd in ["info", "render"] {
        let mut args = vec!["raster", cmd, path(&truncated)];
        if cmd == "render" {
            args.push(path(&png));
        }
        let out = tessera(&args);
        if cmd == "info" {
            // The header is intact: info works on a file cut inside its pixel data.
            assert!(out.status.success(), "{}", stderr(&out));
        } else {
            assert_fails(&out, 1, "malformed TIFF");
            assert_fails(&out, 1, "truncated.tif");
        }
    }
    let header_cut = dir.path().join("header_cut.tif");
    std::fs::write(&header_cut, &l7[..300]).unwrap();
    assert_fails(
        &tessera(&["raster", "info", path(&header_cut)]),
        1,
        "header_cut.tif",
    );

    let mut jpeg = l7.clone();
    let e = tag_entry(&jpeg, 259);
    jpeg[e + 8..e + 10].copy_from_slice(&7u16.to_le_bytes());
    let jpeg_path = dir.path().join("jpeg.tif");
    std::fs::write(&jpeg_path, &jpeg).unwrap();
    assert_fails(
        &tessera(&["raster", "render", path(&jpeg_path), path(&png)]),
        1,
        "unsupported TIFF compression JPEG (code 7)",
    );
    let mut made_up = l7.clone();
    made_up[e + 8..e + 10].copy_from_slice(&4242u16.to_le_bytes());
    let made_up_path = dir.path().join("made_up.tif");
    std::fs::write(&made_up_path, &made_up).unwrap();
    assert_fails(
        &tessera(&["raster", "info", path(&made_up_path)]),
        1,
        "unknown (code 4242)",
    );

    // ProjectedCSTypeGeoKey 31985 → 3, which is no EPSG CRS.
    let mut crs = l7.clone();
    let needle: Vec<u8> = [3072u16, 0, 1, 31985]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = crs.windows(8).position(|w| w == needle).unwrap();
    crs[at + 6..at + 8].copy_from_slice(&3u16.to_le_bytes());
    let crs_path = dir.path().join("crs.tif");
    std::fs::write(&crs_path, &crs).unwrap();
    for args in [
        vec!["raster", "info", path(&crs_path)],
        vec!["raster", "render", path(&crs_path), path(&png)],
    ] {
        assert_fails(&tessera(&args), 1, "unknown CRS EPSG:3");
    }

    let text = dir.path().join("not.tif");
    std::fs::write(&text, "hello, I am not a TIFF").unwrap();
    assert_fails(&tessera(&["raster", "info", path(&text)]), 1, "not.tif");
    assert_fails(
        &tessera(&["raster", "info", path(&dir.path().join("missing.tif"))]),
        1,
        "missing.tif",
    );
    assert!(!png.exists());
}

/// The corner block of `tessera raster info` matches gdalinfo's character for character,
/// longitude/latitude in degrees, minutes and seconds included (golden/gdalinfo_corners.txt).
#[test]
fn info_corner_coordinates_match_gdalinfo() {
    let golden = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/golden/gdalinfo_corners.txt"),
    )
    .unwrap();
    let body: String = golden
        .lines()
        .filter(|l| !l.starts_with('#'))
        .fold(String::new(), |acc, l| acc + l + "\n");
    let mut files = 0;
    for block in body.split("== ").skip(1) {
        let (file, expected) = block.split_once('\n').unwrap();
        let out = tessera(&["raster", "info", &sample(file)]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let start = text.find("Corner Coordinates:").unwrap();
        let got: String = text[start..]
            .lines()
            .take(6)
            .fold(String::new(), |acc, l| acc + l + "\n");
        assert_eq!(got, expected, "{file}");
        files += 1;
    }
    assert_eq!(files, 4);
}

/// A copy of `bytes` with the first value of TIFF tag `tag` (SHORT or LONG) set to `value`.
fn with_tag(bytes: &[u8], tag: u16, value: u32) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let e = tag_entry(&b, tag);
    let kind = u16::from_le_bytes(b[e + 2..e + 4].try_into().unwrap());
    if kind == 3 {
        b[e + 8..e + 10].copy_from_slice(&(value as u16).to_le_bytes());
    } else {
        b[e + 8..e + 12].copy_from_slice(&value.to_le_bytes());
    }
    b
}

/// Every raster command on corrupt TIFFs and with hostile options: exit 1 or 2, never a panic
/// or a hang.
#[test]
fn hostile_invocations_never_panic() {
    use crate::mapfile::{argv, sweep};
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let small = std::fs::read(sample("na.tif")).unwrap();
    let mut inputs = vec![sample("na.tif"), d("missing.tif"), d("adir")];
    std::fs::create_dir(d("adir")).unwrap();
    std::fs::write(d("empty.tif"), b"").unwrap();
    inputs.push(d("empty.tif"));
    for cut in [4, 8, 64, small.len() / 2, small.len() - 1] {
        let name = d(&format!("cut{cut}.tif"));
        std::fs::write(&name, &small[..cut]).unwrap();
        inputs.push(name);
    }
    for pos in (0..small.len()).step_by(11) {
        let mut b = small.clone();
        b[pos] ^= 0xFF;
        let name = d(&format!("flip{pos}.tif"));
        std::fs::write(&name, b).unwrap();
        inputs.push(name);
    }
    // Headers that promise absurd sizes and layouts.
    for (tag, value) in [
        (256, u32::MAX),
        (257, u32::MAX),
        (256, 0),
        (257, 0),
        (258, 0),
        (258, 63),
        (277, 0),
        (277, 65535),
        (339, 99),
    ] {
        let Ok(bytes) = std::panic::catch_unwind(|| with_tag(&small, tag, value)) else {
            continue;
        };
        let name = d(&format!("tag{tag}-{value}.tif"));
        std::fs::write(&name, bytes).unwrap();
        inputs.push(name);
    }
    let png = d("out.png");
    let tif = d("out.tif");
    let mut cases = Vec::new();
    for input in &inputs {
        cases.push(argv(&["raster", "info", input]));
        cases.push(argv(&["--json", "raster", "info", input]));
        cases.push(argv(&["raster", "render", input, &png]));
        cases.push(argv(&[
            "raster",
            "warp",
            input,
            &tif,
            "--t-srs",
            "EPSG:4326",
        ]));
    }
    let na = sample("na.tif");
    for t_srs in [
        "EPSG:999999",
        "EPSG:",
        "",
        "+proj=nonsense",
        "EPSG:-1",
        "EPSG:99999999999999",
    ] {
        cases.push(argv(&["raster", "warp", &na, &tif, "--t-srs", t_srs]));
    }
    for tr in [
        ["0", "1"],
        ["1", "0"],
        ["-1", "1"],
        ["NaN", "1"],
        ["inf", "1"],
        ["1e-300", "1e-300"],
        ["1e-9", "1e-9"],
        ["1e300", "1e300"],
    ] {
        cases.push(argv(&[
            "raster",
            "warp",
            &na,
            &tif,
            "--t-srs",
            "EPSG:4326",
            "--tr",
            tr[0],
            tr[1],
        ]));
    }
    for method in ["", "nearest", "cubic-splines", "LANCZOS"] {
        cases.push(argv(&[
            "raster",
            "warp",
            &na,
            &tif,
            "--t-srs",
            "EPSG:4326",
            "-r",
            method,
        ]));
    }
    for threads in ["0", "99999999"] {
        cases.push(argv(&[
            "raster",
            "warp",
            &na,
            &tif,
            "--t-srs",
            "EPSG:4326",
            "--threads",
            threads,
        ]));
    }
    cases.push(argv(&[
        "raster",
        "warp",
        &na,
        &d("no/such/dir/o.tif"),
        "--t-srs",
        "EPSG:4326",
    ]));
    cases.push(argv(&[
        "raster",
        "warp",
        &na,
        &d("adir"),
        "--t-srs",
        "EPSG:4326",
    ]));
    cases.push(argv(&["raster", "render", &na, &d("no/such/dir/o.png")]));
    cases.push(argv(&["raster", "render", &na, &d("adir")]));
    for extra in [
        &["--bands", "0"][..],
        &["--bands", "99"],
        &["--bands", "1,2"],
        &["--bands", "1,1,99"],
        &["--bands", "-1"],
        &["--bands", "99999999999999999999999"],
        &["--ramp", "nope"],
        &["--ramp", "#zzzzzz"],
        &["--ramp", "#ff0000"],
        &["--ramp", ""],
        &["--range", "5,5"],
        &["--range", "NaN,1"],
        &["--range", "1,inf"],
        &["--range", "-inf,inf"],
        &["--range", "1"],
    ] {
        let mut a = argv(&["raster", "render", &na, &png]);
        a.extend(argv(extra));
        cases.push(a);
    }
    sweep(&cases);
}

#[test]
fn an_infinite_range_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("o.png");
    for range in ["1,inf", "-inf,inf", "NaN,1"] {
        let out = tessera(&[
            "raster",
            "render",
            &sample("na.tif"),
            path(&png),
            "--range",
            range,
        ]);
        assert_fails(&out, 2, "finite");
    }
    assert!(!png.exists());
}
