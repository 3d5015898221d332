//! Tiles: NoData semantics of the i32 and f64 accessors, constructors, multiband checks.

use keyed_tile::{CellBuffer, CellType, Error, MultibandTile, NoData, Tile};

fn ct(s: &str) -> CellType {
    s.parse().unwrap()
}

#[test]
fn new_tiles_are_no_data() {
    for name in [
        "int8",
        "uint8",
        "int16",
        "uint16",
        "int32",
        "float32",
        "float64",
        "int16ud-9999",
        "float32ud-3.5",
    ] {
        let t = Tile::new(ct(name), 3, 2).unwrap();
        assert_eq!(t.size(), 6);
        for (c, r) in [(0, 0), (2, 1)] {
            assert!(t.is_nodata(c, r), "{name}");
            assert_eq!(t.get(c, r), i32::MIN, "{name}");
            assert!(t.get_double(c, r).is_nan(), "{name}");
        }
    }
}

#[test]
fn storage_is_native() {
    let t = Tile::new(ct("int16ud-9999"), 2, 1).unwrap();
    assert_eq!(t.buffer(), &CellBuffer::Int16(vec![-9999, -9999]));
    let t = Tile::new(ct("uint8"), 2, 1).unwrap();
    assert_eq!(t.buffer(), &CellBuffer::UInt8(vec![0, 0]));
    let t = Tile::new(ct("int8raw"), 1, 1).unwrap();
    assert_eq!(t.buffer(), &CellBuffer::Int8(vec![-128]));
    let t = Tile::new(ct("float32"), 1, 1).unwrap();
    assert!(matches!(t.buffer(), CellBuffer::Float32(v) if v[0].is_nan()));
}

#[test]
fn constant_no_data_get_set() {
    // int8: -128 is NoData; writing i32::MIN stores it; other values saturate.
    let mut t = Tile::new(ct("int8"), 4, 1).unwrap();
    t.set(0, 0, 5).unwrap();
    t.set(1, 0, 1000).unwrap();
    t.set(2, 0, -127).unwrap();
    t.set(3, 0, i32::MIN).unwrap();
    assert_eq!(t.to_i32s(), [5, 127, -127, i32::MIN]);
    assert_eq!(t.buffer(), &CellBuffer::Int8(vec![5, 127, -127, -128]));
    // uint8: 0 is NoData.
    let mut t = Tile::new(ct("uint8"), 2, 1).unwrap();
    t.set(0, 0, 0).unwrap();
    t.set(1, 0, 255).unwrap();
    assert_eq!(t.to_i32s(), [i32::MIN, 255]);
    // float32: NaN is NoData both ways.
    let mut t = Tile::new(ct("float32"), 2, 1).unwrap();
    t.set_double(0, 0, 1.5).unwrap();
    assert_eq!(t.get_double(0, 0), 1.5);
    assert_eq!(t.get(0, 0), 1);
    t.set(1, 0, i32::MIN).unwrap();
    assert!(t.get_double(1, 0).is_nan());
    t.set_double(0, 0, f64::NAN).unwrap();
    assert_eq!(t.get(0, 0), i32::MIN);
}

#[test]
fn user_defined_no_data_get_set() {
    let mut t = Tile::new(ct("int16ud-9999"), 3, 1).unwrap();
    t.set(0, 0, -32768).unwrap();
    t.set_double(1, 0, -9999.0).unwrap();
    t.set_double(2, 0, f64::NAN).unwrap();
    assert_eq!(
        t.get(0, 0),
        -32768,
        "the constant int16 NoData is data here"
    );
    assert_eq!(t.get(1, 0), i32::MIN, "the user value is NoData");
    assert_eq!(t.buffer(), &CellBuffer::Int16(vec![-32768, -9999, -9999]));

    let mut t = Tile::new(ct("float32ud-3.5"), 2, 1).unwrap();
    t.set_double(0, 0, -3.5).unwrap();
    t.set_double(1, 0, 2.25).unwrap();
    assert!(t.get_double(0, 0).is_nan());
    assert_eq!(t.get_double(1, 0), 2.25);
    t.set(1, 0, i32::MIN).unwrap();
    assert_eq!(t.buffer(), &CellBuffer::Float32(vec![-3.5, -3.5]));
}

#[test]
fn raw_types_have_no_no_data() {
    let mut t = Tile::new(ct("uint8raw"), 2, 1).unwrap();
    t.set(0, 0, 0).unwrap();
    t.set(1, 0, 300).unwrap();
    assert_eq!(t.to_i32s(), [0, 255]);
    assert!(!t.is_nodata(0, 0));
    let mut t = Tile::new(ct("int32raw"), 1, 1).unwrap();
    t.set(0, 0, 7).unwrap();
    assert_eq!(t.get_double(0, 0), 7.0);
}

#[test]
fn float_to_int_truncates_and_saturates() {
    let mut t = Tile::new(ct("int16"), 4, 1).unwrap();
    t.set_double(0, 0, 2.9).unwrap();
    t.set_double(1, 0, -2.9).unwrap();
    t.set_double(2, 0, 1e9).unwrap();
    t.set_double(3, 0, f64::NEG_INFINITY).unwrap();
    // -32768 is int16 NoData, so negative saturation lands on NoData.
    assert_eq!(t.to_i32s(), [2, -2, 32767, i32::MIN]);
}

#[test]
fn bool_cells() {
    let mut t = Tile::new(CellType::Bool, 3, 1).unwrap();
    t.set(0, 0, 1).unwrap();
    t.set(1, 0, i32::MIN).unwrap();
    t.set_double(2, 0, 0.5).unwrap();
    assert_eq!(t.to_i32s(), [1, 0, 1]);
    assert!(!t.is_nodata(1, 0));
}

#[test]
fn out_of_range_cells() {
    let mut t = Tile::new(ct("int32"), 2, 2).unwrap();
    assert!(matches!(
        t.set(2, 0, 1),
        Err(Error::CellOutOfRange {
            col: 2,
            row: 0,
            cols: 2,
            rows: 2
        })
    ));
    assert!(t.set_double(0, 2, 1.0).is_err());
    assert_eq!(t.get(5, 5), i32::MIN);
    assert!(t.get_double(0, 9).is_nan());
}

#[test]
fn constructors_check_sizes() {
    assert!(Tile::from_i32s(ct("int32"), 2, 2, &[1, 2, 3]).is_err());
    assert!(Tile::from_buffer(ct("int32"), 1, 1, CellBuffer::Int16(vec![1])).is_err());
    assert!(Tile::new(ct("uint8"), u32::MAX, u32::MAX).is_err());
    let t = Tile::from_f64s(ct("float64"), 2, 1, &[1.0, f64::NAN]).unwrap();
    assert_eq!(t.get_double(0, 0), 1.0);
    assert!(t.is_nodata(1, 0));
    let u = t.convert(ct("int16ud-1")).unwrap();
    assert_eq!(u.buffer(), &CellBuffer::Int16(vec![1, -1]));
    assert_eq!(u.to_i32s(), [1, i32::MIN]);
}

#[test]
fn multiband_checks_bands() {
    let a = Tile::new(ct("uint16"), 2, 2).unwrap();
    let b = Tile::new(ct("uint16raw"), 2, 2).unwrap();
    let c = Tile::new(ct("uint16"), 2, 3).unwrap();
    assert!(matches!(
        MultibandTile::new(vec![a.clone(), b]),
        Err(Error::BandMismatch { band: 1, .. })
    ));
    assert!(MultibandTile::new(vec![a.clone(), c]).is_err());
    assert!(MultibandTile::new(Vec::new()).is_err());
    let m = MultibandTile::new(vec![a.clone(), a.clone(), a]).unwrap();
    assert_eq!((m.band_count(), m.cols(), m.rows()), (3, 2, 2));
    assert_eq!(m.cell_type(), CellType::UInt16(NoData::Constant));
    assert!(m.band(3).is_none());
}

/// Native cells of `ct` from raw random bits, so that NoData values, NaNs and extremes appear.
fn native_tile(ct: CellType, bits: &[u64]) -> Tile {
    let buffer = match ct.base() {
        keyed_tile::BaseType::Bool => CellBuffer::Bool(bits.iter().map(|b| b & 1 == 1).collect()),
        keyed_tile::BaseType::Int8 => CellBuffer::Int8(bits.iter().map(|b| *b as i8).collect()),
        keyed_tile::BaseType::UInt8 => CellBuffer::UInt8(bits.iter().map(|b| *b as u8).collect()),
        keyed_tile::BaseType::Int16 => CellBuffer::Int16(bits.iter().map(|b| *b as i16).collect()),
        keyed_tile::BaseType::UInt16 => {
            CellBuffer::UInt16(bits.iter().map(|b| *b as u16).collect())
        }
        keyed_tile::BaseType::Int32 => CellBuffer::Int32(bits.iter().map(|b| *b as i32).collect()),
        keyed_tile::BaseType::Float32 => {
            CellBuffer::Float32(bits.iter().map(|b| f32::from_bits(*b as u32)).collect())
        }
        keyed_tile::BaseType::Float64 => {
            CellBuffer::Float64(bits.iter().map(|b| f64::from_bits(*b)).collect())
        }
        _ => unreachable!("a base type added without a test"),
    };
    Tile::from_buffer(ct, u32::try_from(bits.len()).unwrap(), 1, buffer).unwrap()
}

/// Equal as doubles, with every NaN (NoData) equal to every other.
fn same_f64s(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || x == y)
}

proptest::proptest! {
    /// Reading every cell as f64 (or i32, for integer types) and writing it back keeps what
    /// every cell reads as: data stays data, NoData stays NoData.
    #[test]
    fn accessors_round_trip_native_values(
        ct in crate::cell_types::any_cell_type(),
        bits in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..16),
    ) {
        let tile = native_tile(ct, &bits);
        let doubles = tile.to_f64s();
        let back = Tile::from_f64s(ct, tile.cols(), 1, &doubles).unwrap();
        proptest::prop_assert!(same_f64s(&back.to_f64s(), &doubles), "{:?} vs {:?}", back.to_f64s(), doubles);
        if !ct.is_floating_point() {
            let ints = tile.to_i32s();
            let back = Tile::from_i32s(ct, tile.cols(), 1, &ints).unwrap();
            proptest::prop_assert_eq!(back.to_i32s(), ints);
        }
        for (col, d) in (0u32..).zip(&doubles) {
            proptest::prop_assert_eq!(tile.is_nodata(col, 0), d.is_nan());
            // NoData reads as i32::MIN (a raw int32 cell may hold i32::MIN as data, too).
            if d.is_nan() {
                proptest::prop_assert_eq!(tile.get(col, 0), i32::MIN);
            }
        }
    }
}
