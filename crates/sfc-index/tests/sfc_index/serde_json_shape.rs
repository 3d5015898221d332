//! The `serde` feature: JSON round trips, and curves checked when deserialized.

use sfc_index::{Box2, Budget, Hilbert2, RowMajor2};

#[test]
fn round_trips() {
    let h = Hilbert2::new(7).unwrap();
    let json = serde_json::to_string(&h).unwrap();
    assert_eq!(json, r#"{"bits_per_dim":7}"#);
    assert_eq!(serde_json::from_str::<Hilbert2>(&json).unwrap(), h);
    let r = RowMajor2::new(3, 4).unwrap();
    assert_eq!(
        serde_json::from_str::<RowMajor2>(&serde_json::to_string(&r).unwrap()).unwrap(),
        r
    );
    let b = Box2::new([1, 2], [3, 4]).unwrap();
    assert_eq!(
        serde_json::from_str::<Box2>(&serde_json::to_string(&b).unwrap()).unwrap(),
        b
    );
    let budget = Budget::max_ranges(2000);
    assert_eq!(
        serde_json::from_str::<Budget>(&serde_json::to_string(&budget).unwrap()).unwrap(),
        budget
    );
}

#[test]
fn invalid_curves_are_rejected() {
    let err = serde_json::from_str::<Hilbert2>(r#"{"bits_per_dim":40}"#).unwrap_err();
    assert!(err.to_string().contains("outside 1..=32"), "{err}");
    assert!(serde_json::from_str::<RowMajor2>(r#"{"width":0,"height":4}"#).is_err());
}
