//! Keys and key bounds: JSON shapes, the binary key prefix, and bounds algebra.

use keyed_tile::{Error, Key, KeyBounds, SpaceTimeKey, SpatialKey};
use proptest::prelude::*;

#[test]
fn json_shapes() {
    let k = SpatialKey::new(-3, 7);
    assert_eq!(serde_json::to_string(&k).unwrap(), r#"{"col":-3,"row":7}"#);
    let k = SpaceTimeKey::new(1, 2, -86_400_000);
    assert_eq!(
        serde_json::to_string(&k).unwrap(),
        r#"{"col":1,"row":2,"instant":-86400000}"#
    );
    let b = KeyBounds::new(SpatialKey::new(-1, 0), SpatialKey::new(4, 5)).unwrap();
    assert_eq!(
        serde_json::to_string(&b).unwrap(),
        r#"{"minKey":{"col":-1,"row":0},"maxKey":{"col":4,"row":5}}"#
    );
}

#[test]
fn inverted_bounds_are_rejected_naming_the_dimension() {
    let err = KeyBounds::new(SpatialKey::new(0, 5), SpatialKey::new(3, 4)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidBounds {
                dimension: "row",
                ..
            }
        ),
        "{err}"
    );
    let err = KeyBounds::new(SpaceTimeKey::new(0, 0, 10), SpaceTimeKey::new(0, 0, 9)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidBounds {
                dimension: "instant",
                ..
            }
        ),
        "{err}"
    );
    let json = r#"{"minKey":{"col":5,"row":0},"maxKey":{"col":4,"row":5}}"#;
    let err = serde_json::from_str::<KeyBounds<SpatialKey>>(json).unwrap_err();
    assert!(err.to_string().contains("col"), "{err}");
}

#[test]
fn truncated_key_prefix_is_an_error() {
    let mut buf = Vec::new();
    SpaceTimeKey::new(1, 2, 3).write_to(&mut buf);
    assert_eq!(buf.len(), SpaceTimeKey::ENCODED_LEN);
    for n in 0..buf.len() {
        let err = SpaceTimeKey::read_from(&buf[..n]).unwrap_err();
        assert!(matches!(err, Error::KeyTruncated { needed: 16, got } if got == n));
    }
    assert!(SpatialKey::read_from(&buf[..7]).is_err());
}

#[test]
fn key_prefix_is_little_endian() {
    let mut buf = Vec::new();
    SpatialKey::new(1, -1).write_to(&mut buf);
    assert_eq!(buf, [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
}

#[test]
fn bounds_algebra() {
    let a = KeyBounds::new(SpatialKey::new(0, 0), SpatialKey::new(4, 4)).unwrap();
    let b = KeyBounds::new(SpatialKey::new(3, -2), SpatialKey::new(8, 2)).unwrap();
    assert_eq!(
        a.intersection(&b),
        Some(KeyBounds::new(SpatialKey::new(3, 0), SpatialKey::new(4, 2)).unwrap())
    );
    assert_eq!(
        a.combine(&b),
        KeyBounds::new(SpatialKey::new(0, -2), SpatialKey::new(8, 4)).unwrap()
    );
    let c = KeyBounds::single(SpatialKey::new(9, 9));
    assert_eq!(a.intersection(&c), None);
    assert!(a.contains(&SpatialKey::new(4, 0)));
    assert!(!a.contains(&SpatialKey::new(5, 0)));
    assert!(a.contains_bounds(&KeyBounds::single(SpatialKey::new(2, 2))));
}

fn any_spatial() -> impl Strategy<Value = SpatialKey> {
    (any::<i32>(), any::<i32>()).prop_map(|(c, r)| SpatialKey::new(c, r))
}

fn any_space_time() -> impl Strategy<Value = SpaceTimeKey> {
    (any::<i32>(), any::<i32>(), any::<i64>()).prop_map(|(c, r, t)| SpaceTimeKey::new(c, r, t))
}

proptest! {
    #[test]
    fn spatial_key_round_trips(k in any_spatial(), tail in proptest::collection::vec(any::<u8>(), 0..4)) {
        let json = serde_json::to_string(&k).unwrap();
        prop_assert_eq!(serde_json::from_str::<SpatialKey>(&json).unwrap(), k);
        let mut buf = Vec::new();
        k.write_to(&mut buf);
        buf.extend_from_slice(&tail);
        prop_assert_eq!(SpatialKey::read_from(&buf).unwrap(), (k, 8));
    }

    #[test]
    fn space_time_key_round_trips(k in any_space_time()) {
        let json = serde_json::to_string(&k).unwrap();
        prop_assert_eq!(serde_json::from_str::<SpaceTimeKey>(&json).unwrap(), k);
        let mut buf = Vec::new();
        k.write_to(&mut buf);
        prop_assert_eq!(SpaceTimeKey::read_from(&buf).unwrap(), (k, 16));
        prop_assert_eq!(k.spatial(), SpatialKey::new(k.col, k.row));
    }

    #[test]
    fn bounds_json_round_trips(a in any_space_time(), b in any_space_time()) {
        let bounds = KeyBounds::single(a).combine(&KeyBounds::single(b));
        let json = serde_json::to_string(&bounds).unwrap();
        prop_assert_eq!(serde_json::from_str::<KeyBounds<SpaceTimeKey>>(&json).unwrap(), bounds);
        prop_assert!(bounds.contains(&a) && bounds.contains(&b));
    }

    #[test]
    fn intersection_agrees_with_contains(
        a in any_spatial(), b in any_spatial(), c in any_spatial(), d in any_spatial(), k in any_spatial()
    ) {
        let x = KeyBounds::single(a).combine(&KeyBounds::single(b));
        let y = KeyBounds::single(c).combine(&KeyBounds::single(d));
        let both = x.contains(&k) && y.contains(&k);
        prop_assert_eq!(x.intersection(&y).is_some_and(|i| i.contains(&k)), both);
    }
}
