//! `cargo xtask data`: regenerates the GDAL golden files of the raster tests and makes the large benchmark raster.
//!
//! Needs GDAL's command-line tools (Debian package gdal-bin). The goldens land in
//! `crates/raster/tests/data/gdal/` (committed; `README.md` there lists the same commands);
//! the benchmark raster lands in `target/bench-data/` (not committed).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{run_in, workspace_root};

/// One golden: the output name, the sample it warps, and gdalwarp's options.
pub(crate) struct Golden {
    /// File name under `crates/raster/tests/data/gdal/`.
    pub(crate) name: &'static str,
    /// Sample raster under the shared data directory.
    pub(crate) source: &'static str,
    /// gdalwarp options between `gdalwarp -q -overwrite` and the file names.
    pub(crate) args: &'static [&'static str],
    /// Keep only band 1 (the 6-band Landsat goldens would otherwise be large).
    pub(crate) first_band_only: bool,
}

// The na.tif goldens use an explicit window in web mercator, longitude -180..-170 and
// latitude 80..85.0511 (the mercator limit): na.tif reaches the pole, where gdalwarp's
// default grid fails.

macro_rules! golden {
    ($name:literal, $src:literal, $band1:literal, [$($a:expr),*]) => {
        Golden { name: $name, source: $src, args: &[$($a),*], first_band_only: $band1 }
    };
}

/// Every golden, in the order the README lists them.
pub(crate) const GOLDENS: &[Golden] = &[
    golden!(
        "l7_4326_near.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:4326", "-r", "near"]
    ),
    golden!(
        "l7_4326_bilinear.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:4326", "-r", "bilinear"]
    ),
    golden!(
        "l7_4326_cubic.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:4326", "-r", "cubic"]
    ),
    golden!(
        "l7_4326_cubicspline.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:4326", "-r", "cubicspline"]
    ),
    golden!(
        "l7_4326_lanczos.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:4326", "-r", "lanczos"]
    ),
    golden!(
        "l7_4326_tr_near.tif",
        "L7_ETMs.tif",
        true,
        [
            "-t_srs",
            "EPSG:4326",
            "-tr",
            "0.0003",
            "0.0003",
            "-r",
            "near"
        ]
    ),
    golden!(
        "l7_3857_near.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:3857", "-r", "near"]
    ),
    golden!(
        "l7_3857_bilinear.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:3857", "-r", "bilinear"]
    ),
    golden!(
        "l7_3857_cubic.tif",
        "L7_ETMs.tif",
        true,
        ["-t_srs", "EPSG:3857", "-r", "cubic"]
    ),
    golden!(
        "dem_4326_near.tif",
        "olinda_dem_utm25s.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "near"]
    ),
    golden!(
        "dem_4326_bilinear.tif",
        "olinda_dem_utm25s.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "bilinear"]
    ),
    golden!(
        "dem_4326_cubic.tif",
        "olinda_dem_utm25s.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "cubic"]
    ),
    golden!(
        "dem_4326_cubicspline.tif",
        "olinda_dem_utm25s.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "cubicspline"]
    ),
    golden!(
        "dem_4326_lanczos.tif",
        "olinda_dem_utm25s.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "lanczos"]
    ),
    golden!(
        "na_3857_near.tif",
        "na.tif",
        false,
        [
            "-t_srs",
            "EPSG:3857",
            "-r",
            "near",
            "-te",
            "-20037508.342789244",
            "15538711.096309224",
            "-18924313.434856508",
            "20037508.342789244",
            "-ts",
            "40",
            "160"
        ]
    ),
    golden!(
        "na_3857_bilinear.tif",
        "na.tif",
        false,
        [
            "-t_srs",
            "EPSG:3857",
            "-r",
            "bilinear",
            "-te",
            "-20037508.342789244",
            "15538711.096309224",
            "-18924313.434856508",
            "20037508.342789244",
            "-ts",
            "40",
            "160"
        ]
    ),
    golden!(
        "geomatrix_4326_near.tif",
        "geomatrix.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "near"]
    ),
    golden!(
        "geomatrix_4326_bilinear.tif",
        "geomatrix.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "bilinear"]
    ),
    golden!(
        "geomatrix_4326_cubic.tif",
        "geomatrix.tif",
        false,
        ["-t_srs", "EPSG:4326", "-r", "cubic"]
    ),
];

/// The benchmark raster: L7_ETMs.tif bands 3, 2, 1 (RGB, so gdal2tiles can render it)
/// upscaled 20 times, uncompressed.
pub(crate) const BENCH_RASTER: &str = "l7_x20_rgb.tif";

/// Where the sample rasters live: `$TESSERA_SAMPLE_DATA`, else `../shared/data` beside the
/// workspace.
pub(crate) fn sample_dir() -> PathBuf {
    std::env::var_os("TESSERA_SAMPLE_DATA")
        .map_or_else(|| workspace_root().join("../shared/data"), PathBuf::from)
}

/// Fails clearly when a GDAL tool is missing.
pub(crate) fn require_tool(tool: &str) -> anyhow::Result<()> {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        bail!(
            "`{tool}` was not found: install GDAL's tools (Debian: apt-get install gdal-bin) and retry"
        );
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let (goldens, bench) = match args.first().map(String::as_str) {
        None => (true, true),
        Some("goldens") => (true, false),
        Some("bench") => (false, true),
        Some(other) => bail!("`data` takes `goldens`, `bench` or nothing, got `{other}`"),
    };
    require_tool("gdalwarp")?;
    require_tool("gdal_translate")?;
    let samples = sample_dir();
    if !samples.join("L7_ETMs.tif").is_file() {
        bail!(
            "sample rasters not found in {} (set TESSERA_SAMPLE_DATA to their directory)",
            samples.display()
        );
    }
    if goldens {
        make_goldens(&samples)?;
    }
    if bench {
        make_bench_raster(&samples)?;
    }
    Ok(())
}

fn make_goldens(samples: &Path) -> anyhow::Result<()> {
    let out_dir = workspace_root().join("crates/raster/tests/data/gdal");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let tmp = workspace_root().join("target/xtask-data");
    std::fs::create_dir_all(&tmp)?;
    for g in GOLDENS {
        let src = samples.join(g.source);
        let src = src.to_string_lossy();
        let out = out_dir.join(g.name);
        let out = out.to_string_lossy();
        let warped = if g.first_band_only {
            tmp.join(g.name).to_string_lossy().into_owned()
        } else {
            out.clone().into_owned()
        };
        let mut args = vec!["-q", "-overwrite"];
        args.extend_from_slice(g.args);
        args.extend_from_slice(&["-co", "COMPRESS=DEFLATE", &src, &warped]);
        run_in(&out_dir, "gdalwarp", &args, &[])?;
        if g.first_band_only {
            run_in(
                &out_dir,
                "gdal_translate",
                &["-q", "-b", "1", "-co", "COMPRESS=DEFLATE", &warped, &out],
                &[],
            )?;
        }
    }
    eprintln!(
        "data: {} goldens written to {}",
        GOLDENS.len(),
        out_dir.display()
    );
    Ok(())
}

fn make_bench_raster(samples: &Path) -> anyhow::Result<()> {
    let dir = workspace_root().join("target/bench-data");
    std::fs::create_dir_all(&dir)?;
    let src = samples.join("L7_ETMs.tif");
    let out = dir.join(BENCH_RASTER);
    run_in(
        &dir,
        "gdal_translate",
        &[
            "-q",
            "-b",
            "3",
            "-b",
            "2",
            "-b",
            "1",
            "-outsize",
            "2000%",
            "2000%",
            "-r",
            "bilinear",
            &src.to_string_lossy(),
            &out.to_string_lossy(),
        ],
        &[],
    )?;
    eprintln!("data: benchmark raster written to {}", out.display());
    Ok(())
}
