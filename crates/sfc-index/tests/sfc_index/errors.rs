//! Error cases: bad orders, grids, coordinates, indexes and boxes.

use sfc_index::{
    Box2, Box3, Budget, Curve2, Curve3, Error, Hilbert2, Hilbert3, RowMajor2, ZOrder3,
};

#[test]
fn orders() {
    assert!(matches!(
        Hilbert2::new(0),
        Err(Error::InvalidOrder {
            bits: 0,
            max: 32,
            ..
        })
    ));
    assert!(matches!(
        Hilbert2::new(33),
        Err(Error::InvalidOrder { bits: 33, .. })
    ));
    assert!(matches!(
        Hilbert3::new(22),
        Err(Error::InvalidOrder {
            bits: 22,
            max: 21,
            ..
        })
    ));
    assert!(Hilbert2::new(32).is_ok() && Hilbert3::new(21).is_ok());
    let msg = Hilbert3::new(22).unwrap_err().to_string();
    assert_eq!(
        msg,
        "Hilbert3 order of 22 bits per dimension is outside 1..=21"
    );
}

#[test]
fn grids() {
    assert!(matches!(
        RowMajor2::new(0, 5),
        Err(Error::InvalidGrid {
            width: 0,
            height: 5
        })
    ));
    assert!(matches!(
        RowMajor2::new(1 << 33, 1 << 32),
        Err(Error::InvalidGrid { .. })
    ));
    assert!(RowMajor2::new(1 << 32, 1 << 32).is_ok());
}

#[test]
fn coordinates_and_indexes() {
    let h = Hilbert2::new(4).unwrap();
    assert_eq!(
        h.try_encode(3, 16),
        Err(Error::CoordinateOutOfRange {
            axis: 1,
            value: 16,
            max: 15
        })
    );
    assert_eq!(
        h.try_decode(256),
        Err(Error::IndexOutOfRange {
            index: 256,
            max: 255
        })
    );
    assert_eq!(
        ZOrder3.try_encode(1 << 21, 0, 0),
        Err(Error::CoordinateOutOfRange {
            axis: 0,
            value: 1 << 21,
            max: (1 << 21) - 1
        })
    );
    assert!(matches!(
        ZOrder3.try_decode(1 << 63),
        Err(Error::IndexOutOfRange { .. })
    ));
    let r = RowMajor2::new(10, 5).unwrap();
    assert_eq!(
        r.try_encode(10, 0),
        Err(Error::CoordinateOutOfRange {
            axis: 0,
            value: 10,
            max: 9
        })
    );
    assert_eq!(
        r.try_decode(50),
        Err(Error::IndexOutOfRange { index: 50, max: 49 })
    );
}

#[test]
fn boxes() {
    assert_eq!(
        Box2::new([5, 0], [4, 9]),
        Err(Error::EmptyBox {
            axis: 0,
            min: 5,
            max: 4
        })
    );
    assert!(matches!(
        Box3::new([0, 0, 9], [1, 1, 8]),
        Err(Error::EmptyBox { axis: 2, .. })
    ));
    // A box built by hand is checked by `ranges` too.
    let bad = Box2 {
        min: [0, 3],
        max: [1, 2],
    };
    assert!(matches!(
        Hilbert2::new(4).unwrap().ranges(&bad, Budget::default()),
        Err(Error::EmptyBox { axis: 1, .. })
    ));
    let outside = Box2::new([0, 0], [16, 3]).unwrap();
    assert!(matches!(
        Hilbert2::new(4)
            .unwrap()
            .ranges(&outside, Budget::default()),
        Err(Error::CoordinateOutOfRange { axis: 0, .. })
    ));
    let outside = Box3::new([0, 0, 0], [1, 1 << 21, 3]).unwrap();
    assert!(matches!(
        ZOrder3.ranges(&outside, Budget::default()),
        Err(Error::CoordinateOutOfRange { axis: 1, .. })
    ));
    let outside = Box2::new([0, 0], [3, 5]).unwrap();
    assert!(matches!(
        RowMajor2::new(10, 5)
            .unwrap()
            .ranges(&outside, Budget::default()),
        Err(Error::CoordinateOutOfRange { axis: 1, .. })
    ));
}
