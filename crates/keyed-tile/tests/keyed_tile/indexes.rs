//! Key indexes: injectivity, exact range cover (brute force on small bounds), errors for
//! out-of-bounds keys and overflowing bounds, negative columns, pre-1970 instants, JSON.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use keyed_tile::index::{AnyKeyIndex, Budget, KeyIndex};
use keyed_tile::{Error, Key, KeyBounds, SpaceTimeKey, SpatialKey};
use proptest::prelude::*;

const DAY: i64 = 86_400_000;

fn sb(c0: i32, r0: i32, c1: i32, r1: i32) -> KeyBounds<SpatialKey> {
    KeyBounds::new(SpatialKey::new(c0, r0), SpatialKey::new(c1, r1)).unwrap()
}

fn stb(c0: i32, r0: i32, t0: i64, c1: i32, r1: i32, t1: i64) -> KeyBounds<SpaceTimeKey> {
    KeyBounds::new(SpaceTimeKey::new(c0, r0, t0), SpaceTimeKey::new(c1, r1, t1)).unwrap()
}

/// A small spatial box with negative columns.
fn spatial_bounds() -> KeyBounds<SpatialKey> {
    sb(-5, -2, 4, 5)
}

fn spatial_indexes() -> Vec<AnyKeyIndex<SpatialKey>> {
    let b = spatial_bounds();
    vec![
        AnyKeyIndex::zorder(b, None).unwrap(),
        AnyKeyIndex::hilbert(b, None).unwrap(),
        AnyKeyIndex::rowmajor(b).unwrap(),
    ]
}

/// Eight days ending in 1970, so every Hilbert bin (3 bits) is exactly one day.
fn space_time_bounds() -> KeyBounds<SpaceTimeKey> {
    stb(-3, 0, -5 * DAY, 2, 3, 3 * DAY - 1)
}

fn space_time_indexes() -> Vec<AnyKeyIndex<SpaceTimeKey>> {
    let b = space_time_bounds();
    vec![
        AnyKeyIndex::zorder(b, Some(DAY)).unwrap(),
        AnyKeyIndex::hilbert(b, Some(3)).unwrap(),
    ]
}

fn spatial_keys(b: &KeyBounds<SpatialKey>) -> Vec<SpatialKey> {
    let mut out = Vec::new();
    for col in b.min.col..=b.max.col {
        for row in b.min.row..=b.max.row {
            out.push(SpatialKey::new(col, row));
        }
    }
    out
}

/// The first and last millisecond of every day in the bounds, for every spatial key.
fn space_time_keys(b: &KeyBounds<SpaceTimeKey>) -> Vec<SpaceTimeKey> {
    let mut out = Vec::new();
    for s in spatial_keys(&b.spatial()) {
        let mut day = b.min.instant;
        while day <= b.max.instant {
            for t in [day, day + DAY - 1] {
                out.push(SpaceTimeKey::new(s.col, s.row, t));
            }
            day += DAY;
        }
    }
    out
}

fn day_of(b: &KeyBounds<SpaceTimeKey>, t: i64) -> i64 {
    (t - b.min.instant).div_euclid(DAY)
}

fn in_ranges(ranges: &[std::ops::RangeInclusive<u64>], i: u64) -> bool {
    ranges.iter().any(|r| r.contains(&i))
}

fn check_ranges_shape(ranges: &[std::ops::RangeInclusive<u64>]) {
    for w in ranges.windows(2) {
        assert!(
            w[0].end() + 1 < *w[1].start(),
            "not sorted, disjoint and merged: {ranges:?}"
        );
    }
}

#[test]
fn spatial_indexes_are_injective() {
    for index in spatial_indexes() {
        let keys = spatial_keys(&spatial_bounds());
        let set: BTreeSet<u64> = keys.iter().map(|k| index.to_index(k).unwrap()).collect();
        assert_eq!(set.len(), keys.len(), "{}", index.method());
        assert_eq!(
            index.to_index(&SpatialKey::new(-5, -2)).unwrap(),
            0,
            "{}",
            index.method()
        );
    }
}

#[test]
fn space_time_indexes_separate_bins_and_cells() {
    for index in space_time_indexes() {
        let b = space_time_bounds();
        let mut seen = std::collections::BTreeMap::new();
        for k in space_time_keys(&b) {
            let cell = (k.col, k.row, day_of(&b, k.instant));
            let i = index.to_index(&k).unwrap();
            // Keys in the same cell and day share an index; different ones never do.
            let prev = seen.insert(i, cell);
            assert!(
                prev.is_none() || prev == Some(cell),
                "{}: {k} collides",
                index.method()
            );
        }
        assert_eq!(seen.len(), 6 * 4 * 8, "{}", index.method());
    }
}

#[test]
fn rowmajor_is_row_major() {
    let index = AnyKeyIndex::rowmajor(sb(-2, 10, 1, 12)).unwrap();
    assert_eq!(index.to_index(&SpatialKey::new(-1, 10)).unwrap(), 1);
    assert_eq!(index.to_index(&SpatialKey::new(-2, 11)).unwrap(), 4);
    assert_eq!(index.to_index(&SpatialKey::new(1, 12)).unwrap(), 11);
    let ranges = index
        .index_ranges(&sb(-2, 11, 1, 12), Budget::default())
        .unwrap();
    assert_eq!(ranges, vec![4..=11]);
}

#[test]
fn out_of_bounds_keys_are_errors_naming_the_key() {
    for index in spatial_indexes() {
        let err = index.to_index(&SpatialKey::new(5, 0)).unwrap_err();
        assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
        assert!(err.to_string().contains("(col 5, row 0)"), "{err}");
    }
    for index in space_time_indexes() {
        let k = SpaceTimeKey::new(0, 0, -5 * DAY - 1);
        let err = index.to_index(&k).unwrap_err();
        assert!(err.to_string().contains(&k.to_string()), "{err}");
    }
}

#[test]
fn full_i32_range_fits_2d_curves() {
    let b = sb(i32::MIN, i32::MIN, i32::MAX, i32::MAX);
    let z = AnyKeyIndex::zorder(b, None).unwrap();
    assert_eq!(z.to_index(&b.min).unwrap(), 0);
    assert_eq!(z.to_index(&b.max).unwrap(), u64::MAX);
    let h = AnyKeyIndex::hilbert(b, None).unwrap();
    assert_eq!(h.to_index(&b.min).unwrap(), 0);
    let r = AnyKeyIndex::rowmajor(b).unwrap();
    assert_eq!(r.to_index(&b.max).unwrap(), u64::MAX);
}

#[test]
fn bounds_needing_too_many_bits_are_errors() {
    let limit = (1 << 21) - 1;
    // Z3: 21 bits per dimension.
    assert!(AnyKeyIndex::zorder(stb(0, 0, 0, limit, limit, 0), Some(1)).is_ok());
    for b in [
        stb(0, 0, 0, limit + 1, 0, 0),
        stb(-1, 0, 0, limit, 0, 0),
        stb(0, 0, 0, 0, limit + 1, 0),
        stb(0, 0, 0, 0, 0, i64::from(limit + 1)),
        stb(0, 0, i64::MIN, 0, 0, i64::MAX),
    ] {
        let err = AnyKeyIndex::zorder(b, Some(1)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Resolution {
                    curve: "zorder",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("21 bits"), "{err}");
    }
    // A coarse enough resolution makes the whole i64 range fit: 2^64 ms / 2^44 ms = 2^20 bins.
    assert!(AnyKeyIndex::zorder(stb(0, 0, i64::MIN, 0, 0, i64::MAX), Some(1 << 44)).is_ok());
    // Hilbert 3-D: 21 bits per dimension.
    let err = AnyKeyIndex::hilbert(stb(0, 0, 0, 1 << 22, 0, 0), Some(4)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Resolution {
                curve: "hilbert",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("23 bits per dimension (69 in all)"),
        "{err}"
    );
    for bits in [0, 22] {
        assert!(AnyKeyIndex::hilbert(stb(0, 0, 0, 1, 1, 1), Some(bits)).is_err());
    }
    assert!(AnyKeyIndex::hilbert(stb(0, 0, i64::MIN, 1, 1, i64::MAX), Some(21)).is_ok());
}

#[test]
fn wrong_time_settings_are_errors() {
    assert!(AnyKeyIndex::zorder(spatial_bounds(), Some(DAY)).is_err());
    assert!(AnyKeyIndex::zorder(space_time_bounds(), None).is_err());
    assert!(AnyKeyIndex::zorder(space_time_bounds(), Some(0)).is_err());
    assert!(AnyKeyIndex::zorder(space_time_bounds(), Some(-DAY)).is_err());
    assert!(AnyKeyIndex::hilbert(spatial_bounds(), Some(3)).is_err());
    assert!(AnyKeyIndex::hilbert(space_time_bounds(), None).is_err());
    let err = AnyKeyIndex::rowmajor(space_time_bounds()).unwrap_err();
    assert!(err.to_string().contains("spatial keys only"), "{err}");
    let inverted = KeyBounds {
        min: SpatialKey::new(1, 0),
        max: SpatialKey::new(0, 0),
    };
    assert!(matches!(
        AnyKeyIndex::zorder(inverted, None),
        Err(Error::InvalidBounds { .. })
    ));
}

#[test]
fn queries_are_clamped_and_checked() {
    for index in spatial_indexes() {
        let far = index
            .decompose(&sb(100, 100, 200, 200), Budget::default())
            .unwrap();
        assert!(far.ranges.is_empty() && far.cells_in_box == 0);
        let all = index
            .decompose(&sb(-100, -100, 100, 100), Budget::default())
            .unwrap();
        assert_eq!(all.cells_in_box, 10 * 8, "{}", index.method());
        let inverted = KeyBounds {
            min: SpatialKey::new(1, 0),
            max: SpatialKey::new(0, 0),
        };
        assert!(index.index_ranges(&inverted, Budget::default()).is_err());
    }
}

#[test]
fn json_shapes_are_geotrellis() {
    let z = AnyKeyIndex::zorder(sb(0, 0, 3, 3), None).unwrap();
    assert_eq!(
        serde_json::to_string(&z).unwrap(),
        r#"{"type":"zorder","properties":{"keyBounds":{"minKey":{"col":0,"row":0},"maxKey":{"col":3,"row":3}}}}"#
    );
    let z3 = AnyKeyIndex::zorder(stb(0, 0, -DAY, 1, 1, DAY), Some(DAY)).unwrap();
    let v = serde_json::to_value(&z3).unwrap();
    assert_eq!(v["properties"]["temporalResolution"], DAY);
    assert_eq!(v["properties"]["keyBounds"]["minKey"]["instant"], -DAY);
    let h = AnyKeyIndex::hilbert(stb(-4, 0, 0, 3, 2, 99), Some(5)).unwrap();
    let v = serde_json::to_value(&h).unwrap();
    assert_eq!(v["type"], "hilbert");
    assert_eq!(v["properties"]["xResolution"], 3);
    assert_eq!(v["properties"]["yResolution"], 2);
    assert_eq!(v["properties"]["temporalResolution"], 5);
    let r = AnyKeyIndex::rowmajor(sb(0, 0, 3, 3)).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap()["type"], "rowmajor");
}

#[test]
fn bad_json_is_rejected_with_a_reason() {
    let bounds = r#"{"minKey":{"col":0,"row":0},"maxKey":{"col":300,"row":3}}"#;
    let cases = [
        (format!(r#"{{"type":"zcurve","properties":{{"keyBounds":{bounds}}}}}"#), "zcurve"),
        (format!(r#"{{"type":"hilbert","properties":{{"keyBounds":{bounds},"xResolution":8}}}}"#), "xResolution"),
        (format!(r#"{{"type":"zorder","properties":{{"keyBounds":{bounds},"temporalResolution":5}}}}"#), "temporalResolution"),
        (format!(r#"{{"type":"rowmajor","properties":{{"keyBounds":{bounds},"extra":1}}}}"#), "extra"),
        (r#"{"type":"zorder","properties":{"keyBounds":{"minKey":{"col":1,"row":0},"maxKey":{"col":0,"row":0}}}}"#.to_string(), "min"),
    ];
    for (json, needle) in cases {
        let err = serde_json::from_str::<AnyKeyIndex<SpatialKey>>(&json).unwrap_err();
        assert!(err.to_string().contains(needle), "{json}: {err}");
    }
    // Absurd resolutions are errors, not overflows.
    for (x, t) in [
        (u32::MAX, ""),
        (3, r#","temporalResolution":4294967295"#),
        (u32::MAX, r#","temporalResolution":3"#),
    ] {
        let json = format!(
            r#"{{"type":"hilbert","properties":{{"keyBounds":{{"minKey":{{"col":0,"row":0,"instant":0}},"maxKey":{{"col":1,"row":1,"instant":9}}}},"xResolution":{x},"yResolution":1{t}}}}}"#
        );
        assert!(
            serde_json::from_str::<AnyKeyIndex<SpaceTimeKey>>(&json).is_err(),
            "{json}"
        );
    }
    let json = format!(
        r#"{{"type":"hilbert","properties":{{"keyBounds":{bounds},"xResolution":{},"yResolution":2}}}}"#,
        u32::MAX
    );
    assert!(serde_json::from_str::<AnyKeyIndex<SpatialKey>>(&json).is_err());
    // A Hilbert resolution larger than needed is kept (GeoTrellis may store wider ones).
    let json = format!(
        r#"{{"type":"hilbert","properties":{{"keyBounds":{bounds},"xResolution":12,"yResolution":2}}}}"#
    );
    let h: AnyKeyIndex<SpatialKey> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        serde_json::to_value(&h).unwrap()["properties"]["xResolution"],
        12
    );
}

/// Checks one decomposition by brute force over every key of the index's bounds.
fn check_spatial_query(index: &AnyKeyIndex<SpatialKey>, q: &KeyBounds<SpatialKey>, budget: Budget) {
    let d = index.decompose(q, budget).unwrap();
    check_ranges_shape(&d.ranges);
    let covered: u128 = d
        .ranges
        .iter()
        .map(|r| u128::from(r.end() - r.start()) + 1)
        .sum();
    assert_eq!(covered, d.cells_covered);
    let exact = budget == Budget::default();
    let mut in_query = 0u128;
    for k in spatial_keys(index.key_bounds()) {
        let hit = in_ranges(&d.ranges, index.to_index(&k).unwrap());
        if q.contains(&k) {
            in_query += 1;
            assert!(hit, "{}: {k} in {q} not covered", index.method());
        } else if exact {
            assert!(!hit, "{}: {k} outside {q} covered", index.method());
        }
    }
    assert_eq!(d.cells_in_box, in_query);
    if exact {
        assert_eq!(d.cells_covered, in_query, "{}", index.method());
    }
}

fn check_space_time_query(
    index: &AnyKeyIndex<SpaceTimeKey>,
    q: &KeyBounds<SpaceTimeKey>,
    budget: Budget,
) {
    let d = index.decompose(q, budget).unwrap();
    check_ranges_shape(&d.ranges);
    let b = *index.key_bounds();
    let exact = budget == Budget::default();
    let clamped = b.intersection(q);
    let mut keys = space_time_keys(&b);
    keys.extend([q.min, q.max].into_iter().filter(|k| b.contains(k)));
    for k in keys {
        let hit = in_ranges(&d.ranges, index.to_index(&k).unwrap());
        if q.contains(&k) {
            assert!(hit, "{}: {k} in {q} not covered", index.method());
        }
        if exact && hit {
            // Only keys of the query's cells and days (bins) may be covered.
            let c = clamped.expect("a hit needs an overlapping query");
            let days = day_of(&b, c.min.instant)..=day_of(&b, c.max.instant);
            assert!(
                c.spatial().contains(&k.spatial()) && days.contains(&day_of(&b, k.instant)),
                "{}: {k} outside {q} covered",
                index.method()
            );
        }
    }
}

fn any_spatial_query() -> impl Strategy<Value = KeyBounds<SpatialKey>> {
    (-7i32..7, -4i32..7, 0i32..12, 0i32..10).prop_map(|(c, r, w, h)| sb(c, r, c + w, r + h))
}

fn any_space_time_query() -> impl Strategy<Value = KeyBounds<SpaceTimeKey>> {
    (
        -4i32..3,
        -1i32..4,
        0i32..7,
        0i32..5,
        -7 * DAY..4 * DAY,
        0..9 * DAY,
    )
        .prop_map(|(c, r, w, h, t, d)| stb(c, r, t, c + w, r + h, t + d))
}

fn any_budget() -> impl Strategy<Value = Budget> {
    prop_oneof![
        Just(Budget::default()),
        (1usize..6).prop_map(Budget::max_ranges),
        (0u32..3).prop_map(|r| Budget {
            max_ranges: None,
            max_recurse: Some(r)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn spatial_ranges_cover_exactly_the_query(q in any_spatial_query(), budget in any_budget()) {
        for index in spatial_indexes() {
            check_spatial_query(&index, &q, budget);
        }
    }

    #[test]
    fn space_time_ranges_cover_the_query(q in any_space_time_query(), budget in any_budget()) {
        for index in space_time_indexes() {
            check_space_time_query(&index, &q, budget);
        }
    }

    #[test]
    fn key_index_json_round_trips(
        c in any::<i32>(), r in any::<i32>(), w in 0u32..100_000, h in 0u32..100_000,
        t in any::<i64>(), d in 0i64..1 << 40, res in 1i64..1 << 30, bits in 1u32..8,
    ) {
        let c1 = c.saturating_add_unsigned(w);
        let r1 = r.saturating_add_unsigned(h);
        let s = sb(c, r, c1, r1);
        for index in [AnyKeyIndex::zorder(s, None), AnyKeyIndex::hilbert(s, None), AnyKeyIndex::rowmajor(s)] {
            let index = index.unwrap();
            let json = serde_json::to_string(&index).unwrap();
            let back: AnyKeyIndex<SpatialKey> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &index);
            prop_assert_eq!(back.to_index(&s.max).unwrap(), index.to_index(&s.max).unwrap());
        }
        let st = stb(c, r, t, c1, r1, t.saturating_add(d));
        for index in [AnyKeyIndex::zorder(st, Some(res)), AnyKeyIndex::hilbert(st, Some(bits))] {
            // Some random bounds need too many bits; those are rejected, not truncated.
            let Ok(index) = index else { continue };
            let json = serde_json::to_string(&index).unwrap();
            let back: AnyKeyIndex<SpaceTimeKey> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &index);
            prop_assert_eq!(back.to_index(&st.max).unwrap(), index.to_index(&st.max).unwrap());
        }
    }

    #[test]
    fn hostile_key_index_json_never_panics(
        kind in proptest::sample::select(vec!["zorder", "hilbert", "rowmajor"]),
        // Mostly ordered pairs, so that most bounds are valid and the index gets built.
        c in any::<[i32; 2]>().prop_map(|mut a| { a.sort_unstable(); a }),
        r in any::<[i32; 2]>().prop_map(|mut a| { a.sort_unstable(); a }),
        t in prop_oneof![any::<[i64; 2]>(), any::<[i64; 2]>().prop_map(|mut a| { a.sort_unstable(); a })],
        x in proptest::option::of(any::<u32>()), y in proptest::option::of(any::<u32>()),
        res in proptest::option::of(prop_oneof![any::<i64>(), 0i64..30]),
        probe in any::<(i32, i32, i64)>(),
    ) {
        let mut props = format!(
            r#""keyBounds":{{"minKey":{{"col":{},"row":{},"instant":{}}},"maxKey":{{"col":{},"row":{},"instant":{}}}}}"#,
            c[0], r[0], t[0], c[1], r[1], t[1]
        );
        for (name, v) in [("xResolution", x.map(i64::from)), ("yResolution", y.map(i64::from)), ("temporalResolution", res)] {
            if let Some(v) = v {
                write!(props, r#","{name}":{v}"#).unwrap();
            }
        }
        let json = format!(r#"{{"type":"{kind}","properties":{{{props}}}}}"#);
        if let Ok(index) = serde_json::from_str::<AnyKeyIndex<SpaceTimeKey>>(&json) {
            let key = SpaceTimeKey::new(probe.0, probe.1, probe.2);
            prop_assert_eq!(index.to_index(&key).is_ok(), index.key_bounds().contains(&key));
            let _ = index.decompose(&KeyBounds::single(key), Budget::max_ranges(4));
        }
    }

    #[test]
    fn to_index_is_ok_exactly_inside_the_bounds(k in (-8i32..8, -8i32..8).prop_map(|(c, r)| SpatialKey::new(c, r))) {
        for index in spatial_indexes() {
            prop_assert_eq!(index.to_index(&k).is_ok(), spatial_bounds().contains(&k));
        }
    }
}

#[test]
fn key_prefix_matches_key_trait() {
    // The `Key` trait gives the same spatial part whatever the key type.
    assert_eq!(
        SpaceTimeKey::new(-1, 2, -3).spatial(),
        SpatialKey::new(-1, 2)
    );
    assert_eq!(SpaceTimeKey::new(-1, 2, -3).time(), Some(-3));
    assert_eq!(SpatialKey::new(-1, 2).time(), None);
}

/// Bounds anywhere in the key space, from a single key to the whole `i32`/`i64` range.
fn extreme_space_time_bounds() -> impl Strategy<Value = KeyBounds<SpaceTimeKey>> {
    let edge32 = prop_oneof![Just(i32::MIN), Just(i32::MAX), Just(0), any::<i32>()];
    let edge64 = prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), any::<i64>()];
    (
        [edge32.clone(), edge32.clone(), edge32.clone(), edge32],
        [edge64.clone(), edge64],
    )
        .prop_map(|([c0, c1, r0, r1], [t0, t1])| {
            stb(
                c0.min(c1),
                r0.min(r1),
                t0.min(t1),
                c0.max(c1),
                r0.max(r1),
                t0.max(t1),
            )
        })
}

/// A key inside `b`, picked by fractions of its extent.
fn key_in(b: &KeyBounds<SpaceTimeKey>, f: [u64; 3]) -> SpaceTimeKey {
    let pick32 = |lo: i32, hi: i32, f: u64| {
        let span = (i64::from(hi) - i64::from(lo)) as u64;
        i32::try_from(i64::from(lo) + (f % (span + 1)) as i64).unwrap()
    };
    let span_t = (i128::from(b.max.instant) - i128::from(b.min.instant)) as u128;
    let t = i128::from(b.min.instant) + (u128::from(f[2]) % (span_t + 1)) as i128;
    SpaceTimeKey::new(
        pick32(b.min.col, b.max.col, f[0]),
        pick32(b.min.row, b.max.row, f[1]),
        i64::try_from(t).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Extreme bounds and resolutions: building either works or is a `Resolution` error, and
    /// a built index encodes every key inside its bounds and covers it with its ranges.
    #[test]
    fn extreme_bounds_index_or_fail_cleanly(
        b in extreme_space_time_bounds(),
        res in prop_oneof![Just(i64::MIN), Just(-1i64), Just(0i64), Just(1i64), Just(i64::MAX), any::<i64>(), 1i64..1 << 50],
        bits in prop_oneof![Just(0u32), Just(u32::MAX), 0u32..=22],
        f in any::<[u64; 3]>(),
        g in any::<[u64; 3]>(),
        cap in 1usize..50,
    ) {
        let key = key_in(&b, f);
        let other = key_in(&b, g);
        let query = KeyBounds::single(key).combine(&KeyBounds::single(other));
        let spatial = b.spatial();
        let built_spatial = [
            AnyKeyIndex::zorder(spatial, None),
            AnyKeyIndex::hilbert(spatial, None),
            AnyKeyIndex::rowmajor(spatial),
        ];
        for index in built_spatial {
            // Every spatial box of i32 keys fits the 64-bit 2-D curves.
            let index = index.unwrap();
            let i = index.to_index(&key.spatial()).unwrap();
            let d = index.decompose(&query.spatial(), Budget::max_ranges(cap)).unwrap();
            prop_assert!(d.ranges.len() <= cap && in_ranges(&d.ranges, i));
            check_ranges_shape(&d.ranges);
        }
        for index in [AnyKeyIndex::zorder(b, Some(res)), AnyKeyIndex::hilbert(b, Some(bits))] {
            match index {
                Ok(index) => {
                    let i = index.to_index(&key).unwrap();
                    let d = index.decompose(&query, Budget::max_ranges(cap)).unwrap();
                    prop_assert!(d.ranges.len() <= cap && in_ranges(&d.ranges, i));
                    prop_assert!(in_ranges(&d.ranges, index.to_index(&other).unwrap()));
                    check_ranges_shape(&d.ranges);
                    let json = serde_json::to_string(&index).unwrap();
                    let back: AnyKeyIndex<SpaceTimeKey> = serde_json::from_str(&json).unwrap();
                    prop_assert_eq!(back.to_index(&key).unwrap(), i);
                }
                Err(err) => prop_assert!(
                    matches!(err, Error::Resolution { .. } | Error::Sfc(_)),
                    "unexpected error {}", err
                ),
            }
        }
    }
}
