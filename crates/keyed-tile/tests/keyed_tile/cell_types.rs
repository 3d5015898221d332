//! Cell type names: parsing, printing, serde and their errors.

use keyed_tile::{BaseType, CellType, NoData};
use proptest::prelude::*;

#[test]
fn geotrellis_names_parse() {
    let cases = [
        ("bool", CellType::Bool),
        ("boolraw", CellType::Bool),
        ("int8", CellType::Int8(NoData::Constant)),
        ("uint8", CellType::UInt8(NoData::Constant)),
        ("int16", CellType::Int16(NoData::Constant)),
        ("uint16", CellType::UInt16(NoData::Constant)),
        ("int32", CellType::Int32(NoData::Constant)),
        ("float32", CellType::Float32(NoData::Constant)),
        ("float64", CellType::Float64(NoData::Constant)),
        ("uint8raw", CellType::UInt8(NoData::Raw)),
        ("float64raw", CellType::Float64(NoData::Raw)),
        ("int16ud-9999", CellType::Int16(NoData::User(-9999))),
        ("uint16ud65535", CellType::UInt16(NoData::User(65535))),
        ("float32ud-3.5", CellType::Float32(NoData::User(-3.5))),
        ("float64ud1e300", CellType::Float64(NoData::User(1e300))),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<CellType>().unwrap(), expected, "{text}");
    }
    assert_eq!(
        CellType::Int16(NoData::User(-9999)).to_string(),
        "int16ud-9999"
    );
    assert_eq!(
        CellType::Float32(NoData::User(-3.5)).to_string(),
        "float32ud-3.5"
    );
    assert_eq!(CellType::UInt8(NoData::Raw).to_string(), "uint8raw");
    assert_eq!(CellType::Bool.to_string(), "bool");
}

#[test]
fn constant_no_data_values_are_geotrellis() {
    let nd = |s: &str| s.parse::<CellType>().unwrap().no_data_f64();
    assert_eq!(nd("int8"), Some(-128.0));
    assert_eq!(nd("uint8"), Some(0.0));
    assert_eq!(nd("int16"), Some(-32768.0));
    assert_eq!(nd("uint16"), Some(0.0));
    assert_eq!(nd("int32"), Some(f64::from(i32::MIN)));
    assert!(nd("float32").is_some_and(f64::is_nan));
    assert!(nd("float64").is_some_and(f64::is_nan));
    assert_eq!(nd("int8raw"), None);
    assert_eq!(nd("bool"), None);
}

#[test]
fn bad_names_are_errors_naming_the_text() {
    for text in [
        "",
        "int",
        "int64",
        "uint8ud256",
        "int8ud-129",
        "int16udx",
        "int16ud",
        "float32udNaN",
        "float32udnan",
        "float64ud-NaN",
        "float32ud1e40",
        "float64ud1e999",
        "int16ud99999999999",
        "int32ud2147483648",
        "uint8ud-1",
        "int8ud1.5",
        "boolud1",
        "uint8rawx",
        "Int8",
        " int8",
    ] {
        let err = text.parse::<CellType>().unwrap_err();
        assert!(
            err.to_string().contains(&format!("`{text}`")),
            "{text}: {err}"
        );
    }
}

#[test]
fn serde_is_the_name() {
    let t = CellType::Int16(NoData::User(-9999));
    assert_eq!(serde_json::to_string(&t).unwrap(), r#""int16ud-9999""#);
    assert_eq!(
        serde_json::from_str::<CellType>(r#""int16ud-9999""#).unwrap(),
        t
    );
    let err = serde_json::from_str::<CellType>(r#""int17""#).unwrap_err();
    assert!(err.to_string().contains("int17"), "{err}");
}

#[test]
fn bytes_per_cell() {
    let sizes: Vec<usize> = BaseType::ALL.iter().map(|b| b.bytes_per_cell()).collect();
    assert_eq!(sizes, [1, 1, 1, 2, 2, 4, 4, 8]);
}

/// Every cell type, with user-defined NoData drawn from the whole value range.
pub(crate) fn any_cell_type() -> impl Strategy<Value = CellType> {
    fn nd<T: std::fmt::Debug + Clone + 'static>(
        user: impl Strategy<Value = T> + 'static,
    ) -> BoxedStrategy<NoData<T>> {
        prop_oneof![
            Just(NoData::Constant),
            Just(NoData::Raw),
            user.prop_map(NoData::User)
        ]
        .boxed()
    }
    prop_oneof![
        Just(CellType::Bool),
        nd(any::<i8>()).prop_map(CellType::Int8),
        nd(any::<u8>()).prop_map(CellType::UInt8),
        nd(any::<i16>()).prop_map(CellType::Int16),
        nd(any::<u16>()).prop_map(CellType::UInt16),
        nd(any::<i32>()).prop_map(CellType::Int32),
        nd(any::<f32>().prop_filter("not NaN", |v| !v.is_nan())).prop_map(CellType::Float32),
        nd(any::<f64>().prop_filter("not NaN", |v| !v.is_nan())).prop_map(CellType::Float64),
    ]
}

proptest! {
    #[test]
    fn names_round_trip(t in any_cell_type()) {
        let text = t.to_string();
        let back: CellType = text.parse().unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.to_string(), text);
        let json = serde_json::to_string(&t).unwrap();
        prop_assert_eq!(serde_json::from_str::<CellType>(&json).unwrap(), t);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,24}") {
        let _ = text.parse::<CellType>();
    }
}

#[test]
fn float_no_data_out_of_range_names_the_value() {
    let err = "float32ud1e40".parse::<CellType>().unwrap_err();
    assert!(
        err.to_string()
            .contains("`1e40` is outside the range of float32"),
        "{err}"
    );
    let err = "int16ud99999999999".parse::<CellType>().unwrap_err();
    assert!(
        err.to_string()
            .contains("`99999999999` is not a valid int16"),
        "{err}"
    );
    // Infinity spelled out is a real value, and prints back the same way.
    let t: CellType = "float32ud-inf".parse().unwrap();
    assert_eq!(t, CellType::Float32(NoData::User(f32::NEG_INFINITY)));
    assert_eq!(t.to_string().parse::<CellType>().unwrap(), t);
}
