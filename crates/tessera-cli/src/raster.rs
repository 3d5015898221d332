//! `tessera raster info|render|warp`: inspect GeoTIFFs like gdalinfo, render them to PNG and
//! reproject them like gdalwarp.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};
use tessera::raster::{self, ColorRamp, GeoTiffInfo, Interleave, RenderOptions, Stretch};

use crate::UsageError;

/// Inspect, render and reproject GeoTIFFs.
#[derive(Debug, Subcommand)]
pub(crate) enum RasterCommand {
    /// Show size, bands, sample type, CRS, geotransform and NoData, like gdalinfo.
    Info {
        /// The GeoTIFF.
        file: PathBuf,
    },
    /// Render one band (grey or a colour ramp) or three bands (RGB) to PNG; NoData is transparent.
    Render {
        /// The GeoTIFF.
        input: PathBuf,
        /// The PNG to write.
        output: PathBuf,
        /// 1-based bands, like gdal_translate -b: one band, or three for red,green,blue (e.g. 3,2,1).
        #[arg(long, value_delimiter = ',')]
        bands: Option<Vec<usize>>,
        /// Colour ramp for one band: gray, viridis, terrain, heat, or #rrggbb,#rrggbb,...
        #[arg(long)]
        ramp: Option<String>,
        /// Stretch MIN,MAX to 0..255 instead of each band's own minimum and maximum.
        #[arg(long, value_delimiter = ',', num_args = 1, allow_hyphen_values = true)]
        range: Option<Vec<f64>>,
    },
    /// Reproject a GeoTIFF to another CRS, like gdalwarp (same default grid and resampling).
    Warp {
        /// The GeoTIFF to reproject.
        input: PathBuf,
        /// The GeoTIFF to write.
        output: PathBuf,
        /// Target CRS: EPSG:nnnn, an EPSG name or a proj4 string (gdalwarp -t_srs).
        #[arg(long = "t-srs", allow_hyphen_values = true)]
        t_srs: String,
        /// Target cell size X Y in target units (gdalwarp -tr); default: as gdalwarp suggests.
        #[arg(long, num_args = 2, value_names = ["X", "Y"])]
        tr: Option<Vec<f64>>,
        /// Resampling: nearest-neighbor, bilinear, cubic-convolution, cubic-spline or lanczos
        /// (GDAL's near, cubic and cubicspline are accepted too).
        #[arg(short = 'r', long = "resampling", default_value = "nearest-neighbor")]
        method: String,
        /// Worker threads; 0 uses every core.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
}

pub(crate) fn run(cmd: RasterCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        RasterCommand::Info { file } => info(&file, json),
        RasterCommand::Render {
            input,
            output,
            bands,
            ramp,
            range,
        } => render(
            &input,
            &output,
            bands,
            ramp.as_deref(),
            range.as_deref(),
            json,
        ),
        RasterCommand::Warp {
            input,
            output,
            t_srs,
            tr,
            method,
            threads,
        } => warp(
            &input,
            &output,
            &t_srs,
            tr.as_deref(),
            &method,
            threads,
            json,
        ),
    }
}

/// `tessera raster warp`: read, reproject with gdalwarp's conventions, write a GeoTIFF.
fn warp(
    input: &Path,
    output: &Path,
    t_srs: &str,
    tr: Option<&[f64]>,
    method: &str,
    threads: usize,
    json: bool,
) -> anyhow::Result<()> {
    let method: raster::ResampleMethod = method
        .parse()
        .map_err(|e: raster::Error| UsageError(format!("-r: {e}")))?;
    let resolution = match tr {
        None => None,
        Some(&[x, y]) if x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite() => Some((x, y)),
        Some(_) => return Err(UsageError("--tr takes two positive numbers X Y".into()).into()),
    };
    if t_srs.trim().is_empty() {
        // The CRS parser reads an empty proj4 string as some default CRS; nobody means that.
        return Err(UsageError("--t-srs needs a CRS, e.g. EPSG:4326".into()).into());
    }
    let dst = raster::Crs::parse(t_srs).with_context(|| format!("--t-srs {t_srs}"))?;
    let src = in_file(raster::read_geotiff(input), input)?;
    let options = raster::WarpOptions {
        method,
        resolution,
        threads,
        ..raster::WarpOptions::default()
    };
    let out = raster::warp(&src, &dst, &options)
        .with_context(|| format!("warping {} to {}", input.display(), dst.label()))?;
    in_file(raster::write_geotiff(&out, output), output)?;
    let gt = out.transform.to_gdal();
    if json {
        let summary = json!({
            "output": output.display().to_string(),
            "size": [out.cols(), out.rows()],
            "bands": out.band_count(),
            "crs": dst.label(),
            "geoTransform": gt,
            "resampling": method.to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "wrote {}: {} x {} x {} in {}, origin ({}, {}), pixel size ({}, {}), {}",
            output.display(),
            out.cols(),
            out.rows(),
            out.band_count(),
            dst.label(),
            gt[0],
            gt[3],
            gt[1],
            gt[5],
            method
        );
    }
    Ok(())
}

/// Names the file in an error unless the library's message already does (its malformed-input
/// errors carry the path; IO errors do not).
fn in_file<T>(r: raster::Result<T>, file: &Path) -> anyhow::Result<T> {
    r.map_err(|e| {
        let name = file.display().to_string();
        if e.to_string().contains(&name) {
            anyhow::Error::new(e)
        } else {
            anyhow::Error::new(e).context(name)
        }
    })
}

fn nodata_json(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        // JSON has no NaN or infinities; gdalinfo -json writes them as strings too.
        json!(format!("{v}").to_ascii_lowercase())
    }
}

fn info(file: &Path, json: bool) -> anyhow::Result<()> {
    let info = in_file(raster::read_geotiff_info(file), file)?;
    let crs = match &info.crs {
        Some(Ok(c)) => Some(c.clone()),
        Some(Err(e)) => anyhow::bail!("{}: {e}", file.display()),
        None => None,
    };
    // GDAL reports single-band files as band-interleaved whatever PlanarConfiguration says.
    let interleave = match info.interleave {
        Interleave::Pixel if info.bands > 1 => "PIXEL",
        _ => "BAND",
    };
    let area_or_point = if info.pixel_is_point { "Point" } else { "Area" };
    if json {
        let bands: Vec<Value> = (1..=info.bands)
            .map(|b| {
                let mut band = json!({
                    "band": b,
                    "block": [info.block.0, info.block.1],
                    "type": info.sample_type.gdal_name(),
                });
                if let Some(nd) = info.nodata {
                    band["noDataValue"] = nodata_json(nd);
                }
                band
            })
            .collect();
        let mut out = json!({
            "description": file.display().to_string(),
            "driverShortName": "GTiff",
            "size": [info.cols, info.rows],
            "bands": bands,
            "metadata": { "": { "AREA_OR_POINT": area_or_point } },
            "imageStructure": {
                "COMPRESSION": info.compression.gdal_name(),
                "INTERLEAVE": interleave,
                "TILED": info.tiled,
            },
        });
        if let Some(c) = &crs {
            out["coordinateSystem"] = json!({
                "epsg": c.epsg(),
                "name": c.name(),
                "proj4": c.proj4(),
            });
        }
        if let Some(gt) = info.transform {
            out["geoTransform"] = json!(gt.to_gdal());
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    print!(
        "{}",
        info_text(file, &info, crs.as_ref(), interleave, area_or_point)
    );
    Ok(())
}

fn info_text(
    file: &Path,
    info: &GeoTiffInfo,
    crs: Option<&raster::Crs>,
    interleave: &str,
    area_or_point: &str,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "Driver: GTiff/GeoTIFF");
    let _ = writeln!(s, "Files: {}", file.display());
    let _ = writeln!(s, "Size is {}, {}", info.cols, info.rows);
    match crs {
        Some(c) => {
            let _ = writeln!(s, "Coordinate System is {c}");
            let _ = writeln!(s, "PROJ.4 string is '{}'", c.proj4());
        }
        None => {
            let _ = writeln!(s, "Coordinate System is unknown (no GeoKeys)");
        }
    }
    if let Some(gt) = info.transform {
        if gt.is_rotated() {
            let g = gt.to_gdal();
            let _ = writeln!(s, "GeoTransform =");
            let _ = writeln!(s, "  {}, {}, {}", g[0], g[1], g[2]);
            let _ = writeln!(s, "  {}, {}, {}", g[3], g[4], g[5]);
        } else {
            let _ = writeln!(s, "Origin = ({:.15}, {:.15})", gt.origin_x, gt.origin_y);
            let _ = writeln!(
                s,
                "Pixel Size = ({:.15}, {:.15})",
                gt.pixel_width, gt.pixel_height
            );
        }
    }
    let _ = writeln!(s, "Metadata:\n  AREA_OR_POINT={area_or_point}");
    let _ = writeln!(
        s,
        "Image Structure Metadata:\n  COMPRESSION={}\n  INTERLEAVE={interleave}",
        info.compression.gdal_name()
    );
    if let Some(gt) = info.transform {
        let _ = writeln!(s, "Corner Coordinates:");
        let (c, r) = (f64::from(info.cols), f64::from(info.rows));
        let geographic = crs.is_some_and(raster::Crs::is_geographic);
        // Corners also in longitude/latitude on the CRS's own datum, as gdalinfo shows them.
        let to_lonlat = crs.filter(|c| !c.is_geographic()).and_then(|c| {
            let geo = c.geographic().ok()?;
            raster::Transformer::new(c, &geo).ok()
        });
        for (name, col, row) in [
            ("Upper Left ", 0.0, 0.0),
            ("Lower Left ", 0.0, r),
            ("Upper Right", c, 0.0),
            ("Lower Right", c, r),
            ("Center     ", c / 2.0, r / 2.0),
        ] {
            let (x, y) = gt.pixel_to_map(col, row);
            let _ = if geographic {
                write!(s, "{name} ({x:12.7},{y:12.7})")
            } else {
                write!(s, "{name} ({x:12.3},{y:12.3})")
            };
            let lonlat = if geographic {
                Some((x, y))
            } else {
                to_lonlat.as_ref().and_then(|t| t.transform(x, y).ok())
            };
            if let Some((lon, lat)) = lonlat {
                let _ = write!(s, " ({},{})", dms(lon, 'E', 'W'), dms(lat, 'N', 'S'));
            }
            let _ = writeln!(s);
        }
    }
    for b in 1..=info.bands {
        let _ = writeln!(
            s,
            "Band {b} Block={}x{} Type={}",
            info.block.0,
            info.block.1,
            info.sample_type.gdal_name()
        );
        if let Some(nd) = info.nodata {
            // gdalinfo spells a NaN NoData "nan".
            let nd = if nd.is_nan() {
                "nan".to_owned()
            } else {
                nd.to_string()
            };
            let _ = writeln!(s, "  NoData Value={nd}");
        }
    }
    s
}

/// Degrees as gdalinfo prints them: `%3dd%2d'%5.2f"H`, seconds rounded to hundredths with
/// the carry into minutes and degrees applied first.
fn dms(v: f64, positive: char, negative: char) -> String {
    let hemisphere = if v < 0.0 { negative } else { positive };
    // Half a hundredth of a second, added before truncating so that rounding carries.
    let eps = 0.005 / 3600.0;
    let a = v.abs() + eps;
    let d = a.trunc();
    let m = ((a - d) * 60.0).trunc();
    let sec = ((a - d) * 3600.0 - m * 60.0 - eps * 3600.0).max(0.0);
    format!("{:3}d{:2}'{sec:5.2}\"{hemisphere}", d as i64, m as i64)
}

fn render(
    input: &Path,
    output: &Path,
    bands: Option<Vec<usize>>,
    ramp: Option<&str>,
    range: Option<&[f64]>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(b) = &bands {
        if b.len() != 1 && b.len() != 3 {
            return Err(UsageError(format!(
                "--bands takes one band or three (red,green,blue), got {}",
                b.len()
            ))
            .into());
        }
        if b.contains(&0) {
            return Err(UsageError("--bands are 1-based, like GDAL's -b".into()).into());
        }
    }
    let ramp = ramp
        .map(str::parse::<ColorRamp>)
        .transpose()
        .map_err(|e| UsageError(format!("--ramp: {e}")))?;
    if ramp.is_some() && bands.as_ref().is_some_and(|b| b.len() == 3) {
        return Err(UsageError("--ramp applies to one band, not three".into()).into());
    }
    let stretch = match range {
        None => Stretch::MinMax,
        Some(&[min, max]) if max > min && min.is_finite() && max.is_finite() => {
            Stretch::Range { min, max }
        }
        Some(_) => {
            return Err(
                UsageError("--range takes finite numbers MIN,MAX with MIN < MAX".into()).into(),
            );
        }
    };
    let r = in_file(raster::read_geotiff(input), input)?;
    let n = r.band_count();
    if let Some(b) = bands.as_ref().and_then(|b| b.iter().find(|&&b| b > n)) {
        return Err(UsageError(format!(
            "--bands: band {b} does not exist, {} has {n} band(s)",
            input.display()
        ))
        .into());
    }
    let options = RenderOptions {
        bands,
        stretch,
        ramp,
    };
    in_file(raster::render_png(&r, output, &options), output)?;
    if json {
        println!(
            "{}",
            json!({"input": input.display().to_string(), "output": output.display().to_string(),
                   "size": [r.cols(), r.rows()]})
        );
    } else {
        println!("wrote {} ({}x{})", output.display(), r.cols(), r.rows());
    }
    Ok(())
}
