//! Corruption: every flipped byte and every truncation of a small file is caught by open or
//! verify, as a typed error and without a panic.

use mapfile::{Block, Error, MapFileReader};

use crate::small_file;

/// Runs every read operation; returns whether open or verify reported an error.
fn caught(bytes: &[u8]) -> bool {
    let Ok(reader) = MapFileReader::new(bytes) else {
        return true;
    };
    // The lookups must not panic whatever they return.
    for probe in [0, 1, 2, 5, 8, 13, 14, u64::MAX] {
        let _ = reader.get(probe);
    }
    let _ = reader.ranges(&[0..=3, 6..=9, 12..=u64::MAX]).count();
    let _ = reader.iter().count();
    reader.verify().is_err()
}

#[test]
fn every_flipped_bit_is_caught() {
    let good = small_file();
    assert!(!caught(&good));
    for at in 0..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[at] ^= bit;
            assert!(
                caught(&bad),
                "flipping bit {bit:#x} of byte {at} went unnoticed"
            );
        }
    }
}

#[test]
fn every_truncation_is_caught() {
    let good = small_file();
    for len in 0..good.len() {
        assert!(
            MapFileReader::new(&good[..len]).is_err(),
            "truncated to {len} bytes"
        );
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(
        MapFileReader::new(&longer[..]).is_err(),
        "one byte appended"
    );
}

#[test]
fn errors_say_what_and_where() {
    let good = small_file();
    let mut bad = good.clone();
    bad[0] = b'X';
    let err = MapFileReader::new(&bad[..]).unwrap_err();
    assert!(matches!(err, Error::Format { offset: 0, .. }), "{err:?}");

    let mut bad = good.clone();
    bad[8] = 9;
    let err = MapFileReader::new(&bad[..]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Version {
                expected: 1,
                got: 9
            }
        ),
        "{err:?}"
    );

    // A payload byte: open succeeds, verify names the record block and where it starts.
    let mut bad = good.clone();
    let payload_at = mapfile::HEADER_LEN + 2 * mapfile::RECORD_HEADER_LEN + 1;
    bad[payload_at] ^= 0xff;
    let err = MapFileReader::new(&bad[..]).unwrap().verify().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Checksum {
                block: Block::Records(0),
                offset: 16
            }
        ),
        "{err:?}"
    );

    // A sparse index checksum byte: the metadata checksum catches it.
    let mut bad = good.clone();
    let crc_at = good.len() - mapfile::FOOTER_LEN - 1;
    bad[crc_at] ^= 1;
    let err = MapFileReader::new(&bad[..]).unwrap().verify().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Checksum {
                block: Block::Metadata,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn arbitrary_garbage_is_an_error() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in [0usize, 1, 15, 79, 80, 81, 200, 4096] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert!(MapFileReader::new(&bytes[..]).is_err());
    }
}
