//! Rendering rasters to PNG: one band through a linear stretch (grey or a colour ramp), or three
//! bands as RGB; NoData becomes transparent.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use keyed_tile::MultibandTile;

use crate::error::{Error, Result};
use crate::geo::Raster;

/// How cell values map to 0..=255.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Stretch {
    /// Linear from each band's minimum to its maximum over valid cells (the default).
    #[default]
    MinMax,
    /// Linear from `min` (→ 0) to `max` (→ 255), clamped: the same for every band and tile, so
    /// neighbouring tiles of a pyramid match.
    Range {
        /// The value drawn as 0.
        min: f64,
        /// The value drawn as 255.
        max: f64,
    },
    /// Values are used as they are, clamped to 0..=255 (for bands that already hold bytes).
    None,
}

/// A colour ramp for single-band rendering: colours spaced evenly from low to high values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColorRamp {
    stops: Vec<[u8; 3]>,
}

impl ColorRamp {
    /// A ramp through the given colours (at least two), evenly spaced.
    pub fn new(stops: Vec<[u8; 3]>) -> Result<ColorRamp> {
        if stops.len() < 2 {
            return Err(Error::InvalidArgument(
                "a colour ramp needs at least two colours".into(),
            ));
        }
        Ok(ColorRamp { stops })
    }

    /// The names [`ColorRamp::from_str`] accepts besides `#rrggbb,#rrggbb,...` lists.
    pub const NAMES: [&'static str; 4] = ["gray", "viridis", "terrain", "heat"];

    /// The colour at `t` in `0.0..=1.0`.
    pub fn color(&self, t: f64) -> [u8; 3] {
        let n = self.stops.len() - 1;
        let pos = t.clamp(0.0, 1.0) * n as f64;
        let i = (pos.floor() as usize).min(n - 1);
        let f = pos - i as f64;
        let (a, b) = (self.stops[i], self.stops[i + 1]);
        let mix =
            |k: usize| (f64::from(a[k]) + (f64::from(b[k]) - f64::from(a[k])) * f).round() as u8;
        [mix(0), mix(1), mix(2)]
    }
}

impl FromStr for ColorRamp {
    type Err = Error;

    /// `gray`, `viridis`, `terrain`, `heat`, or a comma-separated list of `#rrggbb` colours.
    fn from_str(s: &str) -> Result<ColorRamp> {
        let stops: Vec<[u8; 3]> = match s.to_ascii_lowercase().as_str() {
            "gray" | "grey" => vec![[0, 0, 0], [255, 255, 255]],
            // Five samples of matplotlib's viridis, at 0, 0.25, 0.5, 0.75 and 1.
            "viridis" => vec![
                [68, 1, 84],
                [59, 82, 139],
                [33, 145, 140],
                [94, 201, 98],
                [253, 231, 37],
            ],
            // Sea, lowland, hills, mountains, snow.
            "terrain" => vec![
                [51, 102, 204],
                [0, 153, 51],
                [230, 217, 128],
                [140, 90, 60],
                [255, 255, 255],
            ],
            "heat" => vec![[0, 0, 0], [200, 0, 0], [255, 200, 0], [255, 255, 255]],
            list => list
                .split(',')
                .map(|c| parse_hex(c.trim()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "colour ramp {s:?}: expected one of {} or #rrggbb,#rrggbb,...",
                        Self::NAMES.join(", ")
                    ))
                })?,
        };
        ColorRamp::new(stops)
    }
}

fn parse_hex(c: &str) -> Option<[u8; 3]> {
    let h = c.strip_prefix('#')?;
    if h.len() != 6 || !h.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// What to draw and how.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenderOptions {
    /// 1-based band numbers, like GDAL's `-b`: one band (grey or ramp) or three (RGB).
    /// `None`: bands 1, 2, 3 when there are at least three, else band 1.
    pub bands: Option<Vec<usize>>,
    /// The value stretch.
    pub stretch: Stretch,
    /// A colour ramp for single-band output (`None`: grey).
    pub ramp: Option<ColorRamp>,
}

/// Renders a raster to a PNG file.
pub fn render_png(raster: &Raster, path: impl AsRef<Path>, options: &RenderOptions) -> Result<()> {
    let bytes = render_png_bytes(&raster.tile, options)?;
    let mut f = std::fs::File::create(path.as_ref())?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Renders a tile to PNG bytes.
///
/// Output is 8-bit: grey (+alpha) for one band without a ramp, RGB(A) otherwise. An alpha
/// channel is present when the cell type has NoData or a float band holds NaN; NoData and NaN
/// cells (in any selected band) get alpha 0 and colour 0. [`Stretch::MinMax`] stretches each
/// band over its own finite values.
pub fn render_png_bytes(tile: &MultibandTile, options: &RenderOptions) -> Result<Vec<u8>> {
    let n = tile.band_count();
    let selected: Vec<usize> = match &options.bands {
        Some(b) => b.clone(),
        None if n >= 3 => vec![1, 2, 3],
        None => vec![1],
    };
    if selected.len() != 1 && selected.len() != 3 {
        return Err(Error::InvalidArgument(format!(
            "render takes 1 band or 3 bands, got {}",
            selected.len()
        )));
    }
    let cells = tile.cols() as usize * tile.rows() as usize;
    // One band at a time: byte bands through a 256-entry table, others as f64, so a large
    // raster costs at most one f64 band plus bytes per band.
    let mut valid = vec![true; cells];
    let mut scaled: Vec<Vec<u8>> = Vec::with_capacity(selected.len());
    for &b in &selected {
        let band = b.checked_sub(1).and_then(|i| tile.band(i)).ok_or_else(|| {
            Error::InvalidArgument(format!("band {b} does not exist: bands are 1..={n}"))
        })?;
        scaled.push(scale_tile(band, options.stretch, &mut valid));
    }
    let alpha = !tile.cell_type().is_raw() || valid.iter().any(|v| !v);

    let rgb = scaled.len() == 3 || options.ramp.is_some();
    let channels = usize::from(rgb) * 2 + 1 + usize::from(alpha);
    let data = interleave(&scaled, &valid, options.ramp.as_ref(), channels, alpha);
    let color = match (rgb, alpha) {
        (true, true) => ::png::ColorType::Rgba,
        (true, false) => ::png::ColorType::Rgb,
        (false, true) => ::png::ColorType::GrayscaleAlpha,
        (false, false) => ::png::ColorType::Grayscale,
    };
    let mut out = Vec::new();
    let png_err = |e: ::png::EncodingError| Error::InvalidArgument(format!("PNG encoding: {e}"));
    {
        let mut enc = ::png::Encoder::new(&mut out, tile.cols(), tile.rows());
        enc.set_color(color);
        enc.set_depth(::png::BitDepth::Eight);
        // fdeflate's fast mode with adaptive filtering (libpng's choice, so GDAL's too): several
        // times faster than the default zlib-level-6 equivalent, for files a little larger.
        enc.set_compression(::png::Compression::Fast);
        enc.set_filter(::png::Filter::Adaptive);
        let mut w = enc.write_header().map_err(png_err)?;
        w.write_image_data(&data).map_err(png_err)?;
        w.finish().map_err(png_err)?;
    }
    Ok(out)
}

/// One band's bytes after the stretch; clears `valid` where the band has NoData or NaN.
fn scale_tile(band: &keyed_tile::Tile, stretch: Stretch, valid: &mut [bool]) -> Vec<u8> {
    if let keyed_tile::CellBuffer::UInt8(v) = band.buffer() {
        // A byte band maps through a table: the same numbers as the f64 path, per byte value.
        let nodata = band.cell_type().no_data_f64().map(|x| x as u8);
        let is_valid = |x: u8| nodata != Some(x);
        let (lo, hi) = match stretch {
            Stretch::Range { min, max } => (min, max),
            Stretch::None => (0.0, 255.0),
            Stretch::MinMax => {
                let mut seen = [false; 256];
                for &x in v {
                    seen[usize::from(x)] = true;
                }
                let mut present = (0..=255u8).filter(|&x| seen[usize::from(x)] && is_valid(x));
                match (present.next(), present.next_back()) {
                    (Some(lo), hi) => (f64::from(lo), f64::from(hi.unwrap_or(lo))),
                    (None, _) => (f64::INFINITY, f64::NEG_INFINITY),
                }
            }
        };
        let mut table = [0u8; 256];
        for (x, t) in (0..=255u8).zip(table.iter_mut()) {
            *t = if is_valid(x) {
                stretch_value(f64::from(x), lo, hi)
            } else {
                0
            };
        }
        if let Some(nd) = nodata {
            for (ok, &x) in valid.iter_mut().zip(v) {
                *ok &= x != nd;
            }
        }
        return v.iter().map(|&x| table[usize::from(x)]).collect();
    }
    let values = band.to_f64s();
    for (ok, v) in valid.iter_mut().zip(&values) {
        *ok &= v.is_finite();
    }
    scale_band(&values, stretch)
}

/// Interleaves the scaled bands (1 grey, 1 through a ramp, or 3) into PNG pixels of
/// `channels` bytes, the last one alpha when `alpha`; invalid pixels become all zeros.
fn interleave(
    scaled: &[Vec<u8>],
    valid: &[bool],
    ramp: Option<&ColorRamp>,
    channels: usize,
    alpha: bool,
) -> Vec<u8> {
    let cells = valid.len();
    let mut data = vec![0u8; cells * channels];
    let pixels = data.chunks_exact_mut(channels).zip(valid);
    match (scaled, ramp) {
        ([r, g, b], _) => {
            for (((px, &ok), r), (g, b)) in pixels.zip(r).zip(g.iter().zip(b)) {
                if ok {
                    px[0] = *r;
                    px[1] = *g;
                    px[2] = *b;
                }
            }
        }
        ([grey], Some(ramp)) => {
            // At most 256 distinct colours: look each up once.
            let colours: Vec<[u8; 3]> = (0..=255u8)
                .map(|x| ramp.color(f64::from(x) / 255.0))
                .collect();
            for ((px, &ok), &x) in pixels.zip(grey) {
                if ok {
                    px[..3].copy_from_slice(&colours[usize::from(x)]);
                }
            }
        }
        (bands, _) => {
            for ((px, &ok), &x) in pixels.zip(bands.first().into_iter().flatten()) {
                if ok {
                    px[0] = x;
                }
            }
        }
    }
    if alpha {
        for (px, &ok) in data.chunks_exact_mut(channels).zip(valid) {
            px[channels - 1] = if ok { 255 } else { 0 };
        }
    }
    data
}

/// Maps one band's values to bytes; NoData and NaN map to 0. The min/max stretch uses the
/// band's own finite values, as GDAL's statistics do.
fn scale_band(values: &[f64], stretch: Stretch) -> Vec<u8> {
    let (lo, hi) = match stretch {
        Stretch::Range { min, max } => (min, max),
        Stretch::None => (0.0, 255.0),
        Stretch::MinMax => values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            }),
    };
    values
        .iter()
        .map(|&v| {
            if v.is_finite() {
                stretch_value(v, lo, hi)
            } else {
                0
            }
        })
        .collect()
}

/// The linear stretch of one value: `lo` → 0, `hi` → 255, clamped; a flat band draws as 0.
pub(crate) fn stretch_value(v: f64, lo: f64, hi: f64) -> u8 {
    if hi > lo {
        ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
    } else {
        0
    }
}
