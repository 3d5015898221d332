//! `tessera layer list|info|get|query|delete|copy|move|reindex` run as a user would, on
//! catalogs written through the layer-store API.

use std::path::Path;
use std::process::Output;

use crate::util::{stderr, stdout, tessera};
use tessera::keyed_tile::codec::{self, Compression};
use tessera::keyed_tile::{
    CellBuffer, CellType, Extent, KeyBounds, LayoutDefinition, MultibandTile, NoData, SpaceTimeKey,
    SpatialKey, Tile, TileLayout,
};
use tessera::layer_store::{Catalog, KeyIndexMethod, LayerId, LayerMetadata, WriteOptions};

const DAY: i64 = 86_400_000;

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

/// The encoded 4×4 uint8 tile of a key: distinct per key.
fn tile_bytes(col: i32, row: i32) -> Vec<u8> {
    let cells: Vec<u8> = (0..16).map(|i| (col * 16 + row + i) as u8).collect();
    let tile =
        Tile::from_buffer(CellType::UInt8(NoData::Raw), 4, 4, CellBuffer::UInt8(cells)).unwrap();
    codec::encode(&MultibandTile::new(vec![tile]).unwrap(), Compression::None)
}

/// A layout of 8×8 tiles of 4×4 cells over (0, 0)..(80, 80): each tile is 10 units wide.
fn layout() -> LayoutDefinition {
    LayoutDefinition::new(
        Extent::new(0.0, 0.0, 80.0, 80.0).unwrap(),
        TileLayout::new(8, 8, 4, 4),
    )
    .unwrap()
}

/// A catalog in `dir` with spatial layer `tiles:3` (every key of the 8×8 grid) and
/// space-time layer `series:3` (keys (c, r) for c, r < 2 on days 0, 1 and 2).
fn sample(dir: &Path) -> Catalog {
    let catalog = Catalog::open(dir).unwrap();
    let layout = layout();
    let meta = LayerMetadata {
        layout_definition: layout,
        extent: layout.extent,
        crs: "EPSG:3857".to_owned(),
        cell_type: CellType::UInt8(NoData::Raw),
        bounds: KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(7, 7)).unwrap(),
    };
    let records =
        (0..8).flat_map(|c| (0..8).map(move |r| (SpatialKey::new(c, r), tile_bytes(c, r))));
    let id = LayerId::new("tiles", 3).unwrap();
    catalog
        .write(
            &id,
            meta,
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: None,
            },
            records,
            &WriteOptions::default().max_part_bytes(400),
        )
        .unwrap();

    let meta = LayerMetadata {
        layout_definition: layout,
        extent: layout.extent,
        crs: "EPSG:3857".to_owned(),
        cell_type: CellType::UInt8(NoData::Raw),
        bounds: KeyBounds::new(SpaceTimeKey::new(0, 0, 0), SpaceTimeKey::new(7, 7, 2 * DAY))
            .unwrap(),
    };
    let mut records = Vec::new();
    for day in 0..3 {
        for c in 0..2 {
            for r in 0..2 {
                records.push((SpaceTimeKey::new(c, r, day * DAY), vec![day as u8; 5]));
            }
        }
    }
    let id = LayerId::new("series", 3).unwrap();
    catalog
        .write(
            &id,
            meta,
            KeyIndexMethod::ZOrder {
                temporal_resolution_ms: Some(DAY),
            },
            records,
            &WriteOptions::default().value("Bytes", "raw"),
        )
        .unwrap();
    catalog
}

fn keys_of(v: &serde_json::Value) -> Vec<(i64, i64)> {
    let mut keys: Vec<(i64, i64)> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"]["col"].as_i64().unwrap(),
                r["key"]["row"].as_i64().unwrap(),
            )
        })
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn list_and_info_describe_the_layers() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();

    let out = tessera(&["layer", "list", "--catalog", cat]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("tiles:3") && text.contains("SpatialKey"),
        "{text}"
    );
    assert!(
        text.contains("series:3") && text.contains("SpaceTimeKey"),
        "{text}"
    );

    let v = json(&tessera(&["--json", "layer", "list", "--catalog", cat]));
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let tiles = layers.iter().find(|l| l["layer"] == "tiles:3").unwrap();
    assert!(tiles["parts"].as_u64().unwrap() > 1, "{tiles}");
    assert!(tiles["bytes"].as_u64().unwrap() > 0);

    let out = tessera(&["layer", "info", "--catalog", cat, "tiles:3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "layer:        tiles:3",
        "EPSG:3857",
        "key index:    zorder",
        "tessera-tile",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }

    let v = json(&tessera(&[
        "layer",
        "info",
        "--catalog",
        cat,
        "series:3",
        "--json",
    ]));
    assert_eq!(v["key_class"], "SpaceTimeKey");
    assert_eq!(v["codec"], "raw");
    assert_eq!(v["key_index"]["type"], "zorder");
    assert_eq!(v["metadata"]["bounds"]["maxKey"]["instant"], 2 * DAY);
}

#[test]
fn get_writes_codec_bytes_and_png() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    let out_file = dir.path().join("tile.bin");
    let out_path = out_file.to_str().unwrap();

    let out = tessera(&[
        "layer",
        "get",
        "--catalog",
        cat,
        "tiles:3",
        "--key",
        "5,2",
        "--out",
        out_path,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&out_file).unwrap(), tile_bytes(5, 2));

    let png_file = dir.path().join("tile.png");
    let png_path = png_file.to_str().unwrap();
    let v = json(&tessera(&[
        "--json",
        "layer",
        "get",
        "--catalog",
        cat,
        "tiles:3",
        "--key",
        "1,7",
        "--out",
        png_path,
        "--png",
    ]));
    assert_eq!(v["format"], "png");
    assert_eq!(v["key"]["col"], 1);
    let png = std::fs::read(&png_file).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(v["bytes"].as_u64().unwrap(), png.len() as u64);

    let v = json(&tessera(&[
        "--json",
        "layer",
        "get",
        "--catalog",
        cat,
        "series:3",
        "--key",
        &format!("1,0,{DAY}"),
        "--out",
        out_path,
    ]));
    assert_eq!(v["key"]["instant"], DAY);
    assert_eq!(std::fs::read(&out_file).unwrap(), vec![1u8; 5]);
}

#[test]
fn get_reports_missing_and_malformed_keys() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    let out_path = dir.path().join("x.bin");
    let out_path = out_path.to_str().unwrap();

    // Inside the layout but never written: a failure naming the key.
    let out = tessera(&[
        "layer",
        "get",
        "--catalog",
        cat,
        "series:3",
        "--key",
        "5,5,0",
        "--out",
        out_path,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no value for key"),
        "{}",
        stderr(&out)
    );
    // Outside the key index's bounds.
    let out = tessera(&[
        "layer",
        "get",
        "--catalog",
        cat,
        "tiles:3",
        "--key",
        "-4,100",
        "--out",
        out_path,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Malformed keys are usage errors.
    for key in ["1,2,3", "1", "a,b", "1,99999999999"] {
        let out = tessera(&[
            "layer",
            "get",
            "--catalog",
            cat,
            "tiles:3",
            "--key",
            key,
            "--out",
            out_path,
        ]);
        assert_eq!(out.status.code(), Some(2), "key {key}: {}", stderr(&out));
        assert!(stderr(&out).contains("--key"), "{}", stderr(&out));
    }
    let out = tessera(&[
        "layer",
        "get",
        "--catalog",
        cat,
        "series:3",
        "--key",
        "1,2",
        "--out",
        out_path,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("COL,ROW,INSTANT"), "{}", stderr(&out));
    assert!(!Path::new(out_path).exists());
}

#[test]
fn query_lists_keys_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();

    let out = tessera(&[
        "layer",
        "query",
        "--catalog",
        cat,
        "tiles:3",
        "--bbox",
        "2,3,4,4",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("(col 3, row 4)"), "{text}");
    assert!(text.contains("6 records"), "{text}");

    let v = json(&tessera(&[
        "--json",
        "layer",
        "query",
        "--catalog",
        cat,
        "tiles:3",
        "--bbox",
        "2,3,4,4",
    ]));
    assert_eq!(v["count"], 6);
    assert_eq!(
        keys_of(&v),
        vec![(2, 3), (2, 4), (3, 3), (3, 4), (4, 3), (4, 4)]
    );
    let size = tile_bytes(2, 3).len() as u64;
    assert_eq!(v["records"][0]["bytes"].as_u64().unwrap(), size);
    assert_eq!(v["bytes"].as_u64().unwrap(), 6 * size);

    // A box reaching outside the layer is clipped to it.
    let v = json(&tessera(&[
        "--json",
        "layer",
        "query",
        "--catalog",
        cat,
        "tiles:3",
        "--bbox",
        "-5,-5,0,1",
    ]));
    assert_eq!(keys_of(&v), vec![(0, 0), (0, 1)]);

    // Map units: x in 0..80 left to right, y in 0..80 bottom to top; rows count from the top,
    // so y in 65..75 is row 1.
    let v = json(&tessera(&[
        "--json",
        "layer",
        "query",
        "--catalog",
        cat,
        "tiles:3",
        "--extent",
        "31,65,39,75",
    ]));
    assert_eq!(keys_of(&v), vec![(3, 0), (3, 1)]);

    // Space-time: the time range selects the day.
    let v = json(&tessera(&[
        "--json",
        "layer",
        "query",
        "--catalog",
        cat,
        "series:3",
        "--bbox",
        "0,0,7,7",
        "--time",
        &format!("{DAY},{DAY}"),
    ]));
    assert_eq!(v["count"], 4);
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["key"]["instant"] == DAY)
    );
    let v = json(&tessera(&[
        "--json",
        "layer",
        "query",
        "--catalog",
        cat,
        "series:3",
        "--bbox",
        "0,0,0,0",
    ]));
    assert_eq!(v["count"], 3);
}

#[test]
fn query_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    for args in [
        &["--bbox", "1,2,3"][..],
        &["--bbox", "4,0,1,1"],
        &["--bbox", "0,0,1,1", "--extent", "0,0,1,1"],
        &["--extent", "5,5,1,1"],
        &["--extent", "a,b,c,d"],
        &["--bbox", "0,0,1,1", "--time", "0,1"],
        &[],
    ] {
        let mut all = vec!["layer", "query", "--catalog", cat, "tiles:3"];
        all.extend_from_slice(args);
        let out = tessera(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = tessera(&[
        "layer",
        "query",
        "--catalog",
        cat,
        "series:3",
        "--bbox",
        "0,0,1,1",
        "--time",
        "5,1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn copy_move_delete_and_reindex() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    let box_keys = |layer: &str| {
        keys_of(&json(&tessera(&[
            "--json",
            "layer",
            "query",
            "--catalog",
            cat,
            layer,
            "--bbox",
            "1,1,5,6",
        ])))
    };
    let before = box_keys("tiles:3");
    assert_eq!(before.len(), 30);

    let out = tessera(&["layer", "copy", "--catalog", cat, "tiles:3", "copy:3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(box_keys("copy:3"), before);
    // Copying onto an existing layer needs --overwrite.
    let out = tessera(&["layer", "copy", "--catalog", cat, "tiles:3", "copy:3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let v = json(&tessera(&[
        "--json",
        "layer",
        "copy",
        "--catalog",
        cat,
        "tiles:3",
        "copy:3",
        "--overwrite",
    ]));
    assert_eq!(v["ok"], true);

    let out = tessera(&["layer", "move", "--catalog", cat, "copy:3", "moved:4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(box_keys("moved:4"), before);
    let out = tessera(&["layer", "info", "--catalog", cat, "copy:3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    for method in ["hilbert", "rowmajor", "zorder"] {
        let v = json(&tessera(&[
            "--json",
            "layer",
            "reindex",
            "--catalog",
            cat,
            "moved:4",
            "--method",
            method,
        ]));
        assert_eq!(v["records"], 64, "{v}");
        let info = json(&tessera(&[
            "--json",
            "layer",
            "info",
            "--catalog",
            cat,
            "moved:4",
        ]));
        assert_eq!(info["key_index"]["type"], method);
        assert_eq!(box_keys("moved:4"), before);
    }
    let out = tessera(&[
        "layer",
        "reindex",
        "--catalog",
        cat,
        "series:3",
        "--method",
        "rowmajor",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = tessera(&[
        "layer",
        "reindex",
        "--catalog",
        cat,
        "series:3",
        "--method",
        "hilbert",
        "--temporal-resolution-bits",
        "4",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("reindexed series:3: 12 records"),
        "{}",
        stdout(&out)
    );

    let out = tessera(&["layer", "delete", "--catalog", cat, "moved:4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.path().join("moved").exists());
    let out = tessera(&["layer", "delete", "--catalog", cat, "moved:4"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&tessera(&["--json", "layer", "list", "--catalog", cat]));
    assert_eq!(v["layers"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_catalogs_and_layer_names_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let missing = missing.to_str().unwrap();
    let out = tessera(&["layer", "list", "--catalog", missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(
        !Path::new(missing).exists(),
        "listing must not create the catalog"
    );

    let out = tessera(&["layer", "list", "--catalog", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a Tessera catalog"),
        "{}",
        stderr(&out)
    );

    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    for bad in [
        "../escape:3",
        "a/b:3",
        "tiles",
        "tiles:x",
        "_attributes:0",
        "tiles:-1",
    ] {
        let out = tessera(&["layer", "info", "--catalog", cat, bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let out = tessera(&["layer", "delete", "--catalog", cat, bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
    let out = tessera(&[
        "layer",
        "get",
        "--catalog",
        cat,
        "absent:3",
        "--key",
        "0,0",
        "--out",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    let out = tessera(&[
        "layer",
        "query",
        "--catalog",
        cat,
        "absent:3",
        "--bbox",
        "0,0,1,1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = tessera(&["layer", "copy", "--catalog", cat, "tiles:3", "tiles:3"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = tessera(&["layer", "list"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Every file under `dir` whose name starts with `prefix`, recursively.
fn files_under(dir: &Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path, prefix));
        } else if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(prefix)
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Every command on hostile catalogs, layer names, keys and boxes: exit 1 or 2, never a panic
/// or a hang.
#[test]
fn hostile_invocations_never_panic() {
    use crate::mapfile::{argv, sweep};
    let root = tempfile::tempdir().unwrap();
    let make = |name: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        sample(&dir);
        dir.to_str().unwrap().to_owned()
    };
    let good = make("good");
    // Garbage metadata: not JSON, JSON of the wrong shape, empty, a directory.
    let badmeta = make("badmeta");
    let attrs = Path::new(&badmeta).join("_attributes");
    let metas = files_under(&attrs, "");
    let tiles_meta = metas
        .iter()
        .find(|p| p.to_str().unwrap().contains("tiles__3__metadata"))
        .unwrap();
    let series_meta = metas
        .iter()
        .find(|p| p.to_str().unwrap().contains("series__3__metadata"))
        .unwrap();
    std::fs::write(tiles_meta, b"{not json").unwrap();
    std::fs::write(series_meta, br#"{"header":{"keyClass":42},"metadata":[]}"#).unwrap();
    let emptymeta = make("emptymeta");
    for p in files_under(&Path::new(&emptymeta).join("_attributes"), "") {
        std::fs::write(p, b"").unwrap();
    }
    let dirmeta = make("dirmeta");
    for p in files_under(&Path::new(&dirmeta).join("_attributes"), "") {
        std::fs::remove_file(&p).unwrap();
        std::fs::create_dir(&p).unwrap();
    }
    // Corrupt part files: truncated, emptied, bytes flipped, replaced by a directory.
    let badparts = make("badparts");
    let parts = files_under(Path::new(&badparts), "part-r-");
    assert!(parts.len() >= 4, "{parts:?}");
    let bytes = std::fs::read(&parts[0]).unwrap();
    std::fs::write(&parts[0], &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(&parts[1], b"").unwrap();
    let mut flipped = std::fs::read(&parts[2]).unwrap();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xFF;
    std::fs::write(&parts[2], flipped).unwrap();
    std::fs::remove_file(&parts[3]).unwrap();
    std::fs::create_dir(&parts[3]).unwrap();
    let nocat = root.path().join("missing").to_str().unwrap().to_owned();
    let afile = root.path().join("afile").to_str().unwrap().to_owned();
    std::fs::write(&afile, b"x").unwrap();
    let out_missing_dir = root.path().join("no/such/dir/t.bin");
    let out_missing_dir = out_missing_dir.to_str().unwrap();

    let mut cases = Vec::new();
    for cat in [
        &good, &badmeta, &emptymeta, &dirmeta, &badparts, &nocat, &afile,
    ] {
        cases.push(argv(&["layer", "list", "--catalog", cat]));
        for layer in ["tiles:3", "series:3", "absent:3"] {
            let c = |rest: &[&str]| {
                let mut a = argv(&["layer"]);
                a.push(rest[0].to_owned());
                a.extend(argv(&["--catalog", cat]));
                a.extend(argv(&rest[1..]));
                a
            };
            cases.push(c(&["info", layer]));
            cases.push(c(&["get", layer, "--key", "0,0", "--out", out_missing_dir]));
            cases.push(c(&[
                "get",
                layer,
                "--key",
                "0,0,0",
                "--out",
                out_missing_dir,
            ]));
            cases.push(c(&["get", layer, "--key", "1,1", "--png", "--out", &afile]));
            cases.push(c(&["query", layer, "--bbox", "0,0,7,7"]));
            cases.push(c(&["query", layer, "--extent", "0,0,80,80"]));
            cases.push(c(&["reindex", layer, "--method", "hilbert"]));
            cases.push(c(&["copy", layer, "copied:3"]));
            if cat != &good {
                cases.push(c(&["move", layer, "moved:9"]));
            }
        }
    }
    for layer in [
        "../x:0",
        "a/b:1",
        ":1",
        "x:-1",
        "x:99999999999",
        "x:",
        "x",
        "",
        "x:1:2",
    ] {
        cases.push(argv(&["layer", "info", "--catalog", &good, layer]));
        cases.push(argv(&[
            "layer",
            "copy",
            "--catalog",
            &good,
            "tiles:3",
            layer,
        ]));
    }
    for key in [
        "99999999999,0",
        "0,-99999999999",
        "1,2,3,4",
        "",
        ",",
        "1,,2",
        "a,b",
        "NaN,0",
        "9223372036854775808,0",
        "-2147483648,2147483647",
    ] {
        cases.push(argv(&[
            "layer",
            "get",
            "--catalog",
            &good,
            "tiles:3",
            "--key",
            key,
            "--out",
            &afile,
        ]));
    }
    for bbox in [
        "7,7,0,0",
        "0,0,99999999999,1",
        "-2147483648,-2147483648,2147483647,2147483647",
        "0,0,1",
        "NaN,0,1,1",
        "",
    ] {
        cases.push(argv(&[
            "layer",
            "query",
            "--catalog",
            &good,
            "tiles:3",
            "--bbox",
            bbox,
        ]));
    }
    for extent in [
        "80,80,0,0",
        "NaN,0,1,1",
        "inf,0,1,1",
        "-1e308,-1e308,1e308,1e308",
        "0,0,0,0",
        "1,2,3",
    ] {
        cases.push(argv(&[
            "layer",
            "query",
            "--catalog",
            &good,
            "tiles:3",
            "--extent",
            extent,
        ]));
    }
    for time in [
        "5,1",
        "x,1",
        "-9223372036854775808,9223372036854775807",
        "1",
    ] {
        cases.push(argv(&[
            "layer",
            "query",
            "--catalog",
            &good,
            "series:3",
            "--bbox",
            "0,0,1,1",
            "--time",
            time,
        ]));
    }
    for extra in [
        &["--method", "zorder", "--temporal-resolution-ms", "0"][..],
        &["--method", "zorder", "--temporal-resolution-ms", "-5"],
        &["--method", "hilbert", "--temporal-resolution-bits", "99"],
        &["--method", "hilbert", "--temporal-resolution-bits", "0"],
        &[
            "--method",
            "zorder",
            "--temporal-resolution-ms",
            "1",
            "--memory-mib",
            "0",
        ],
    ] {
        let mut a = argv(&["layer", "reindex", "--catalog", &good, "series:3"]);
        a.extend(argv(extra));
        cases.push(a);
    }
    sweep(&cases);
    // Nothing above may have lost data of the good catalog.
    let v = json(&tessera(&[
        "--json",
        "layer",
        "query",
        "--catalog",
        &good,
        "tiles:3",
        "--bbox",
        "0,0,7,7",
    ]));
    assert_eq!(v["count"], 64);
}

/// The record count of a layer's whole key box, or `None` if it cannot be queried.
fn count(cat: &str, layer: &str, bbox: &str) -> Option<u64> {
    let out = tessera(&[
        "--json",
        "layer",
        "query",
        "--catalog",
        cat,
        layer,
        "--bbox",
        bbox,
    ]);
    if !out.status.success() {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(&stdout(&out)).ok()?["count"].as_u64()
}

#[test]
fn failed_copy_move_and_delete_leave_every_layer_intact() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    let intact = || {
        assert_eq!(count(cat, "tiles:3", "0,0,7,7"), Some(64));
        assert_eq!(count(cat, "series:3", "0,0,7,7"), Some(12));
    };
    for (args, code, needle) in [
        (&["move", "tiles:3", "series:3"][..], 1, "already exists"),
        (&["copy", "tiles:3", "series:3"], 1, "already exists"),
        (&["move", "absent:3", "x:1"], 1, "not found"),
        (
            &["copy", "absent:3", "tiles:3", "--overwrite"],
            1,
            "not found",
        ),
        (&["move", "tiles:3", "tiles:3"], 1, "tiles:3"),
        (&["copy", "tiles:3", "../x:0"], 2, "path separator"),
        (&["move", "tiles:3", "a/b:1"], 2, "path separator"),
        (&["delete", "absent:3"], 1, "not found"),
        (&["delete", ":1"], 2, "empty"),
    ] {
        let mut argv = vec!["layer", args[0], "--catalog", cat];
        argv.extend(&args[1..]);
        let out = tessera(&argv);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        intact();
    }
    let v = json(&tessera(&["--json", "layer", "list", "--catalog", cat]));
    assert_eq!(v["layers"].as_array().unwrap().len(), 2, "{v}");
}

#[test]
fn a_corrupt_part_fails_the_copy_and_keeps_the_source() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    let parts = files_under(&dir.path().join("tiles"), "part-r-");
    std::fs::remove_file(&parts[0]).unwrap();
    std::fs::create_dir(&parts[0]).unwrap();
    for op in ["copy", "move"] {
        let out = tessera(&["layer", op, "--catalog", cat, "tiles:3", "copy:3"]);
        assert_eq!(out.status.code(), Some(1), "{op}: {}", stderr(&out));
        assert!(stderr(&out).contains("part-r-"), "{op}: {}", stderr(&out));
        assert!(parts[1].is_file(), "{op} removed a source part");
        let v = json(&tessera(&["--json", "layer", "list", "--catalog", cat]));
        let names: Vec<&str> = v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["layer"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["series:3", "tiles:3"], "{op}");
    }
    // The error message names the broken part, once.
    let out = tessera(&[
        "layer",
        "query",
        "--catalog",
        cat,
        "tiles:3",
        "--bbox",
        "0,0,7,7",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("part-r-"), "{err}");
    let first_line = err.lines().next().unwrap();
    let tail = first_line.rsplit(": ").next().unwrap();
    assert_eq!(first_line.matches(tail).count(), 1, "repeated cause: {err}");
}

#[test]
fn one_layer_with_garbage_metadata_is_named() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    let meta = files_under(&dir.path().join("_attributes"), "series__3__metadata");
    std::fs::write(&meta[0], b"{\"header\": [1, 2").unwrap();
    let out = tessera(&["layer", "list", "--catalog", cat]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("series__3__metadata"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_extents_and_missing_resolutions_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    for (extent, needle) in [
        ("80,80,0,0", "XMIN must not exceed XMAX"),
        ("NaN,0,1,1", "finite"),
        ("0,-inf,1,1", "finite"),
    ] {
        let out = tessera(&[
            "layer",
            "query",
            "--catalog",
            cat,
            "tiles:3",
            "--extent",
            extent,
        ]);
        assert_eq!(out.status.code(), Some(2), "{extent}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{extent}: {}", stderr(&out));
    }
    let out = tessera(&[
        "layer",
        "reindex",
        "--catalog",
        cat,
        "series:3",
        "--method",
        "hilbert",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--temporal-resolution-bits"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(cat, "series:3", "0,0,7,7"), Some(12));
}

#[test]
fn get_into_a_missing_directory_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let cat = dir.path().to_str().unwrap();
    let out_path = dir.path().join("no/such/dir/tile.bin");
    let out = tessera(&[
        "layer",
        "get",
        "--catalog",
        cat,
        "tiles:3",
        "--key",
        "1,1",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no/such/dir/tile.bin"),
        "{}",
        stderr(&out)
    );
}
