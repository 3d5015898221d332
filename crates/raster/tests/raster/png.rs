//! PNG rendering: decoded back with the png crate and checked pixel by pixel.

use keyed_tile::{MultibandTile, Tile};
use raster::{ColorRamp, Error, RenderOptions, Stretch, read_geotiff, render_png_bytes};

use crate::sample;

struct Decoded {
    width: u32,
    height: u32,
    color: png::ColorType,
    data: Vec<u8>,
}

fn decode(bytes: &[u8]) -> Decoded {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut data = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut data).unwrap();
    data.truncate(info.buffer_size());
    Decoded {
        width: info.width,
        height: info.height,
        color: info.color_type,
        data,
    }
}

/// The documented linear stretch: lo → 0, hi → 255, rounded.
fn stretch(v: f64, lo: f64, hi: f64) -> u8 {
    ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        })
}

#[test]
fn three_bands_render_as_rgb_with_band_selection() {
    let r = read_geotiff(sample("L7_ETMs.tif")).unwrap();
    let o = RenderOptions {
        bands: Some(vec![3, 2, 1]),
        ..RenderOptions::default()
    };
    let png = decode(&render_png_bytes(&r.tile, &o).unwrap());
    assert_eq!((png.width, png.height), (349, 352));
    // uint8raw has no NoData: no alpha channel.
    assert_eq!(png.color, png::ColorType::Rgb);
    for (channel, band) in [(0, 3), (1, 2), (2, 1)] {
        let v = r.tile.band(band - 1).unwrap().to_f64s();
        let (lo, hi) = min_max(&v);
        for i in (0..v.len()).step_by(97) {
            assert_eq!(
                png.data[i * 3 + channel],
                stretch(v[i], lo, hi),
                "band {band} cell {i}"
            );
        }
    }
}

#[test]
fn one_band_with_a_ramp_and_nodata_is_transparent() {
    let r = read_geotiff(sample("olinda_dem_utm25s.tif")).unwrap();
    let mut band = r
        .tile
        .band(0)
        .unwrap()
        .convert("float32ud-9999".parse().unwrap())
        .unwrap();
    // Punch NoData holes.
    for (c, row) in [(0, 0), (5, 7), (110, 110)] {
        band.set_double(c, row, f64::NAN).unwrap();
    }
    let tile = MultibandTile::from(band.clone());
    let ramp: ColorRamp = "viridis".parse().unwrap();
    let o = RenderOptions {
        ramp: Some(ramp.clone()),
        ..RenderOptions::default()
    };
    let png = decode(&render_png_bytes(&tile, &o).unwrap());
    assert_eq!(png.color, png::ColorType::Rgba);
    let v = band.to_f64s();
    let (lo, hi) = min_max(&v);
    for (i, value) in v.iter().enumerate() {
        let px = &png.data[i * 4..i * 4 + 4];
        if value.is_nan() {
            assert_eq!(px, [0, 0, 0, 0], "cell {i}");
        } else {
            let s = stretch(*value, lo, hi);
            let c = ramp.color(f64::from(s) / 255.0);
            assert_eq!(px, [c[0], c[1], c[2], 255], "cell {i}");
        }
    }
    // The ends of the ramp are its first and last colours.
    let min_i = v.iter().position(|x| *x == lo).unwrap();
    let max_i = v.iter().position(|x| *x == hi).unwrap();
    assert_eq!(&png.data[min_i * 4..min_i * 4 + 3], [68, 1, 84]);
    assert_eq!(&png.data[max_i * 4..max_i * 4 + 3], [253, 231, 37]);
}

#[test]
fn grey_with_a_fixed_range_and_nan_as_alpha() {
    // na.tif is float32 without NoData but holds one NaN: it still becomes transparent.
    let r = read_geotiff(sample("na.tif")).unwrap();
    let o = RenderOptions {
        stretch: Stretch::Range { min: 0.0, max: 0.5 },
        ..RenderOptions::default()
    };
    let png = decode(&render_png_bytes(&r.tile, &o).unwrap());
    assert_eq!(png.color, png::ColorType::GrayscaleAlpha);
    let v = r.tile.band(0).unwrap().to_f64s();
    assert!(v.iter().any(|x| x.is_nan()));
    for (i, value) in v.iter().enumerate() {
        let (g, a) = (png.data[i * 2], png.data[i * 2 + 1]);
        if value.is_nan() {
            assert_eq!((g, a), (0, 0));
        } else {
            assert_eq!((g, a), (stretch(*value, 0.0, 0.5), 255), "cell {i}");
        }
    }
}

#[test]
fn rgb_nodata_in_any_band_is_transparent() {
    let ct = "uint8".parse().unwrap();
    let red = Tile::from_i32s(ct, 2, 1, &[10, 20]).unwrap();
    let green = Tile::from_i32s(ct, 2, 1, &[30, i32::MIN]).unwrap();
    let blue = Tile::from_i32s(ct, 2, 1, &[50, 60]).unwrap();
    let tile = MultibandTile::new(vec![red, green, blue]).unwrap();
    let o = RenderOptions {
        stretch: Stretch::None,
        ..RenderOptions::default()
    };
    let png = decode(&render_png_bytes(&tile, &o).unwrap());
    assert_eq!(png.color, png::ColorType::Rgba);
    assert_eq!(png.data, vec![10, 30, 50, 255, 0, 0, 0, 0]);
}

#[test]
fn bad_band_selections_and_ramps_are_errors() {
    let r = read_geotiff(sample("L7_ETMs.tif")).unwrap();
    for bands in [vec![7], vec![0], vec![1, 2], vec![1, 2, 3, 4]] {
        let o = RenderOptions {
            bands: Some(bands.clone()),
            ..RenderOptions::default()
        };
        let err = render_png_bytes(&r.tile, &o).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{bands:?}: {err:?}"
        );
    }
    assert!("rainbow-ish".parse::<ColorRamp>().is_err());
    assert!("#00000g,#ffffff".parse::<ColorRamp>().is_err());
    let custom: ColorRamp = "#000000,#ff0000".parse().unwrap();
    assert_eq!(custom.color(0.5), [128, 0, 0]);
}
