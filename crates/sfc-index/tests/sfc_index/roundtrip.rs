//! Encode/decode round trips for every curve, and agreement with bit-by-bit models.

use proptest::prelude::*;
use sfc_index::{Curve2, Curve3, Hilbert2, Hilbert3, RowMajor2, ZOrder2, ZOrder3};

/// Z-order by interleaving one bit at a time: the model for the magic-bit version.
fn naive_z(coords: &[u32], bits: u32) -> u64 {
    let mut out = 0u64;
    for bit in 0..bits {
        for (axis, &c) in coords.iter().enumerate() {
            out |= u64::from((c >> bit) & 1) << (bit as usize * coords.len() + axis);
        }
    }
    out
}

proptest! {
    #[test]
    fn zorder2_round_trip(x: u32, y: u32) {
        let i = ZOrder2.encode(x, y);
        prop_assert_eq!(i, naive_z(&[x, y], 32));
        prop_assert_eq!(ZOrder2.decode(i), (x, y));
        prop_assert_eq!(ZOrder2.try_encode(x, y), Ok(i));
    }

    #[test]
    fn zorder2_decode_round_trip(i: u64) {
        let (x, y) = ZOrder2.decode(i);
        prop_assert_eq!(ZOrder2.encode(x, y), i);
    }

    #[test]
    fn zorder3_round_trip(x in 0u32..1 << 21, y in 0u32..1 << 21, z in 0u32..1 << 21) {
        let i = ZOrder3.encode(x, y, z);
        prop_assert_eq!(i, naive_z(&[x, y, z], 21));
        prop_assert_eq!(ZOrder3.decode(i), (x, y, z));
        prop_assert_eq!(ZOrder3.try_encode(x, y, z), Ok(i));
        prop_assert_eq!(ZOrder3.try_decode(i), Ok((x, y, z)));
    }

    #[test]
    fn hilbert2_round_trip(bits in 1u32..=32, x: u32, y: u32) {
        let h = Hilbert2::new(bits).unwrap();
        let (x, y) = (x & h.max_coord(), y & h.max_coord());
        let i = h.encode(x, y);
        prop_assert!(i <= h.max_index());
        prop_assert_eq!(h.decode(i), (x, y));
        prop_assert_eq!(h.try_encode(x, y), Ok(i));
        prop_assert_eq!(h.try_decode(i), Ok((x, y)));
    }

    #[test]
    fn hilbert2_decode_round_trip(i: u64) {
        let h = Hilbert2::new(32).unwrap();
        let (x, y) = h.decode(i);
        prop_assert_eq!(h.encode(x, y), i);
    }

    #[test]
    fn hilbert3_round_trip(bits in 1u32..=21, x: u32, y: u32, z: u32) {
        let h = Hilbert3::new(bits).unwrap();
        let (x, y, z) = (x & h.max_coord(), y & h.max_coord(), z & h.max_coord());
        let i = h.encode(x, y, z);
        prop_assert!(i <= h.max_index());
        prop_assert_eq!(h.decode(i), (x, y, z));
        prop_assert_eq!(h.try_encode(x, y, z), Ok(i));
        prop_assert_eq!(h.try_decode(i), Ok((x, y, z)));
    }

    #[test]
    fn hilbert3_decode_round_trip(i in 0u64..1 << 63) {
        let h = Hilbert3::new(21).unwrap();
        let (x, y, z) = h.decode(i);
        prop_assert_eq!(h.encode(x, y, z), i);
    }

    #[test]
    fn rowmajor_round_trip(w in 1u64..1 << 20, h in 1u64..1 << 20, x: u32, y: u32) {
        let r = RowMajor2::new(w, h).unwrap();
        let (x, y) = ((u64::from(x) % w) as u32, (u64::from(y) % h) as u32);
        let i = r.try_encode(x, y).unwrap();
        prop_assert_eq!(i, u64::from(y) * w + u64::from(x));
        prop_assert_eq!(r.decode(i), (x, y));
        prop_assert_eq!(r.try_decode(i), Ok((x, y)));
    }
}

#[test]
fn hilbert_index_does_not_depend_on_order() {
    // A cell keeps its index in every curve large enough to hold it.
    for bits in 3..=32 {
        let h = Hilbert2::new(bits).unwrap();
        assert_eq!(h.encode(5, 3), Hilbert2::new(3).unwrap().encode(5, 3));
    }
    for bits in 3..=21 {
        let h = Hilbert3::new(bits).unwrap();
        assert_eq!(h.encode(5, 3, 6), Hilbert3::new(3).unwrap().encode(5, 3, 6));
    }
}

#[test]
fn hilbert_visits_every_cell_once() {
    for bits in 1..=5 {
        let h = Hilbert2::new(bits).unwrap();
        let n = 1u64 << (2 * bits);
        let mut seen = vec![false; n as usize];
        for x in 0..=h.max_coord() {
            for y in 0..=h.max_coord() {
                let i = h.encode(x, y);
                assert!(i < n);
                assert!(!seen[i as usize], "index {i} twice");
                seen[i as usize] = true;
            }
        }
    }
}
