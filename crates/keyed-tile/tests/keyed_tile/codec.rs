//! The tile codec: round trips for every cell type and compression, and robustness against
//! truncated, corrupt and hostile input (errors, never panics, never huge allocations).

use byteorder::{ByteOrder, LittleEndian};
use keyed_tile::codec::{self, Compression, HEADER_LEN, Limits};
use keyed_tile::{BaseType, CellBuffer, CellType, Error, MultibandTile, NoData, Tile};
use proptest::prelude::*;

use crate::alloc_probe::largest_allocation;
use crate::cell_types::any_cell_type;

const COMPRESSIONS: [Compression; 6] = [
    Compression::None,
    Compression::Lz4,
    Compression::Zstd(3),
    Compression::Zstd(-5),
    Compression::Deflate(6),
    Compression::Deflate(0),
];

/// Cells of `base`, `n` of them, from raw random bits (so NaNs and extremes appear).
fn buffer(base: BaseType, bits: &[u64]) -> CellBuffer {
    match base {
        BaseType::Bool => CellBuffer::Bool(bits.iter().map(|b| b & 1 == 1).collect()),
        BaseType::Int8 => CellBuffer::Int8(bits.iter().map(|b| *b as i8).collect()),
        BaseType::UInt8 => CellBuffer::UInt8(bits.iter().map(|b| *b as u8).collect()),
        BaseType::Int16 => CellBuffer::Int16(bits.iter().map(|b| *b as i16).collect()),
        BaseType::UInt16 => CellBuffer::UInt16(bits.iter().map(|b| *b as u16).collect()),
        BaseType::Int32 => CellBuffer::Int32(bits.iter().map(|b| *b as i32).collect()),
        BaseType::Float32 => {
            CellBuffer::Float32(bits.iter().map(|b| f32::from_bits(*b as u32)).collect())
        }
        BaseType::Float64 => CellBuffer::Float64(bits.iter().map(|b| f64::from_bits(*b)).collect()),
        _ => unreachable!("a base type added without a test"),
    }
}

fn any_tile() -> impl Strategy<Value = MultibandTile> {
    (any_cell_type(), 0u32..9, 0u32..9, 1usize..4).prop_flat_map(|(ct, cols, rows, bands)| {
        let n = (cols * rows) as usize;
        // Small value ranges sometimes, so that compressors find runs.
        let cell = prop_oneof![any::<u64>(), 0u64..3];
        proptest::collection::vec(proptest::collection::vec(cell, n), bands).prop_map(
            move |bands| {
                let tiles = bands
                    .iter()
                    .map(|bits| Tile::from_buffer(ct, cols, rows, buffer(ct.base(), bits)).unwrap())
                    .collect();
                MultibandTile::new(tiles).unwrap()
            },
        )
    })
}

fn sample() -> MultibandTile {
    let values: Vec<i32> = (0..64 * 64).map(|i| (i % 300) - 20).collect();
    let band = Tile::from_i32s("int16ud-9999".parse().unwrap(), 64, 64, &values).unwrap();
    MultibandTile::new(vec![band.clone(), band]).unwrap()
}

/// Bitwise equality (cells may be NaN): the uncompressed encodings agree.
fn same(a: &MultibandTile, b: &MultibandTile) -> bool {
    codec::encode(a, Compression::None) == codec::encode(b, Compression::None)
}

/// Builds an encoded tile from header fields, with a correct checksum.
#[allow(clippy::too_many_arguments, reason = "one argument per header field")]
fn craft(
    base: u8,
    cols: u32,
    rows: u32,
    bands: u16,
    compression: u8,
    raw_len: u64,
    payload: &[u8],
) -> Vec<u8> {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&codec::MAGIC);
    LittleEndian::write_u16(&mut h[4..6], codec::VERSION);
    h[6] = base;
    h[7] = 1;
    LittleEndian::write_u32(&mut h[16..20], cols);
    LittleEndian::write_u32(&mut h[20..24], rows);
    LittleEndian::write_u16(&mut h[24..26], bands);
    h[26] = compression;
    LittleEndian::write_u64(&mut h[28..36], raw_len);
    LittleEndian::write_u64(&mut h[36..44], payload.len() as u64);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h[..44]);
    crc.update(payload);
    LittleEndian::write_u32(&mut h[44..48], crc.finalize());
    let mut out = h.to_vec();
    out.extend_from_slice(payload);
    out
}

#[test]
fn every_compression_round_trips_and_compresses() {
    let tile = sample();
    let plain = codec::encode(&tile, Compression::None).len();
    for c in COMPRESSIONS {
        let bytes = codec::encode(&tile, c);
        assert!(same(&codec::decode(&bytes).unwrap(), &tile), "{c:?}");
        if !matches!(c, Compression::None | Compression::Deflate(0)) {
            assert!(bytes.len() < plain / 2, "{c:?}: {} of {plain}", bytes.len());
        }
    }
    assert_eq!(Compression::default(), Compression::Zstd(1));
}

#[test]
fn header_is_little_endian_and_documented() {
    let bytes = codec::encode(&sample(), Compression::None);
    assert_eq!(&bytes[0..4], b"TSTL");
    assert_eq!(&bytes[4..6], &[1, 0]);
    assert_eq!(bytes[6], 3, "int16");
    assert_eq!(bytes[7], 2, "user-defined NoData");
    assert_eq!(LittleEndian::read_i64(&bytes[8..16]), -9999);
    assert_eq!(LittleEndian::read_u32(&bytes[16..20]), 64);
    assert_eq!(LittleEndian::read_u16(&bytes[24..26]), 2);
    assert_eq!(LittleEndian::read_u64(&bytes[28..36]), 64 * 64 * 2 * 2);
    assert_eq!(bytes.len(), HEADER_LEN + 64 * 64 * 2 * 2);
    // The first cell, 0 - 20 = -20, little-endian.
    assert_eq!(&bytes[HEADER_LEN..HEADER_LEN + 2], &(-20i16).to_le_bytes());
}

#[test]
fn every_truncation_is_an_error() {
    for c in COMPRESSIONS {
        let bytes = codec::encode(&sample(), c);
        for n in 0..bytes.len() {
            assert!(codec::decode(&bytes[..n]).is_err(), "{c:?} cut at {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(codec::decode(&longer), Err(Error::Corrupt { .. })));
    }
}

#[test]
fn every_flipped_byte_is_an_error() {
    for c in [
        Compression::None,
        Compression::Lz4,
        Compression::Zstd(3),
        Compression::Deflate(6),
    ] {
        let tile =
            MultibandTile::from(Tile::from_i32s("int32".parse().unwrap(), 5, 3, &[7; 15]).unwrap());
        let bytes = codec::encode(&tile, c);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            assert!(codec::decode(&bad).is_err(), "{c:?}: flip at {i}");
        }
    }
}

#[test]
fn specific_errors() {
    let bytes = codec::encode(&sample(), Compression::Lz4);
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(matches!(codec::decode(&bad), Err(Error::BadMagic { .. })));
    let mut bad = bytes.clone();
    bad[4] = 9;
    assert!(matches!(
        codec::decode(&bad),
        Err(Error::UnsupportedVersion {
            expected: 1,
            got: 9
        })
    ));
    assert!(matches!(
        codec::decode(b"TST"),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(
        codec::decode_with_limits(
            &bytes,
            &Limits {
                max_decoded_bytes: 100
            }
        ),
        Err(Error::LimitExceeded {
            requested: 16384,
            limit: 100,
            ..
        })
    ));
    // Unknown tags, with valid checksums.
    assert!(matches!(
        codec::decode(&craft(8, 1, 1, 1, 0, 1, &[0])),
        Err(Error::Corrupt { offset: 6, .. })
    ));
    assert!(matches!(
        codec::decode(&craft(2, 1, 1, 1, 4, 1, &[0])),
        Err(Error::Corrupt { offset: 26, .. })
    ));
    assert!(matches!(
        codec::decode(&craft(2, 1, 1, 0, 0, 0, &[])),
        Err(Error::Corrupt { offset: 24, .. })
    ));
    // A bool cell that is neither 0 nor 1.
    assert!(matches!(
        codec::decode(&craft(0, 1, 1, 1, 0, 1, &[2])),
        Err(Error::Corrupt { .. })
    ));
    // A NaN user-defined NoData (kind 2) is refused, naming the NoData field.
    let mut nan = craft(7, 1, 1, 1, 0, 8, &[0; 8]);
    nan[7] = 2;
    LittleEndian::write_u64(&mut nan[8..16], f64::NAN.to_bits());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&nan[..44]);
    crc.update(&nan[HEADER_LEN..]);
    let crc = crc.finalize();
    LittleEndian::write_u32(&mut nan[44..48], crc);
    let err = codec::decode(&nan).unwrap_err();
    assert!(
        matches!(err, Error::Corrupt { offset: 8, .. }) && err.to_string().contains("NaN"),
        "{err}"
    );
    // A well-formed uint8raw tile decodes.
    let t = codec::decode(&craft(2, 2, 1, 1, 0, 2, &[3, 4])).unwrap();
    assert_eq!(t.band(0).unwrap().buffer(), &CellBuffer::UInt8(vec![3, 4]));
    assert_eq!(t.cell_type(), CellType::UInt8(NoData::Raw));
}

#[test]
fn hostile_headers_never_allocate_much() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "huge shape",
            craft(7, u32::MAX, u32::MAX, u16::MAX, 0, 0, &[]),
        ),
        (
            "huge shape, matching length",
            craft(
                7,
                65_535,
                65_535,
                u16::MAX,
                2,
                65_535 * 65_535 * 65_535 * 8,
                &[0; 16],
            ),
        ),
        (
            "1 GiB from 16 zstd bytes",
            craft(2, 32_768, 32_768, 1, 2, 1 << 30, &[0; 16]),
        ),
        (
            "1 GiB uncompressed, 16 bytes given",
            craft(2, 32_768, 32_768, 1, 0, 1 << 30, &[0; 16]),
        ),
        (
            "256 MiB from 16 deflate bytes",
            craft(2, 16_384, 16_384, 1, 3, 1 << 28, &[0; 16]),
        ),
        (
            "64 MiB from 1 KiB of lz4",
            craft(2, 8192, 8192, 1, 1, 1 << 26, &[0; 1024]),
        ),
        (
            "16 MiB garbage zstd",
            craft(2, 4096, 4096, 1, 2, 1 << 24, &[0xff; 1024]),
        ),
    ];
    for (what, bytes) in cases {
        let (result, largest) = largest_allocation(|| codec::decode(&bytes));
        assert!(result.is_err(), "{what}");
        assert!(largest < 1 << 20, "{what}: allocated {largest} bytes");
    }
    // The probe does see allocations: a real 16 MiB tile needs its 16 MiB.
    let big = MultibandTile::from(Tile::new("uint8raw".parse().unwrap(), 4096, 4096).unwrap());
    let bytes = codec::encode(&big, Compression::Lz4);
    let (result, largest) = largest_allocation(|| codec::decode(&bytes));
    assert!(result.is_ok());
    assert!(largest >= 1 << 24, "the probe saw only {largest} bytes");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn codec_round_trips(tile in any_tile(), c in proptest::sample::select(COMPRESSIONS.to_vec())) {
        let bytes = codec::encode(&tile, c);
        let back = codec::decode(&bytes).unwrap();
        prop_assert_eq!(back.cell_type(), tile.cell_type());
        prop_assert_eq!((back.cols(), back.rows(), back.band_count()), (tile.cols(), tile.rows(), tile.band_count()));
        prop_assert!(same(&back, &tile));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = codec::decode(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic(
        tile in any_tile(),
        c in proptest::sample::select(COMPRESSIONS.to_vec()),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let original = codec::encode(&tile, c);
        let mut bytes = original.clone();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        // The checksum covers the header and the payload, so any change is caught.
        let result = codec::decode(&bytes);
        if bytes == original {
            prop_assert!(same(&result.unwrap(), &tile));
        } else {
            prop_assert!(result.is_err(), "a changed encoding decoded");
        }
    }

    #[test]
    fn crafted_headers_with_valid_checksums_never_panic(
        base in 0u8..10,
        cols in prop_oneof![0u32..6, any::<u32>()],
        rows in prop_oneof![0u32..6, any::<u32>()],
        bands in prop_oneof![0u16..4, any::<u16>()],
        compression in 0u8..5,
        raw_len in prop_oneof![0u64..200, any::<u64>()],
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = craft(base, cols, rows, bands, compression, raw_len, &payload);
        let (result, largest) = largest_allocation(|| codec::decode(&bytes));
        prop_assert!(largest < 1 << 20, "allocated {} bytes", largest);
        if let Ok(tile) = result {
            // Only a header that matches its payload decodes.
            let cells = u64::from(cols) * u64::from(rows) * u64::from(bands);
            prop_assert_eq!(cells * tile.cell_type().bytes_per_cell() as u64, raw_len);
            prop_assert_eq!((tile.cols(), tile.rows(), tile.band_count()), (cols, rows, usize::from(bands)));
        }
    }
}

/// The fuzzer's seed corpus was written by a Python script independent of this crate (zlib
/// deflate, a hand-made zstd raw-block frame, a literals-only lz4 block), so decoding it
/// checks the format against a second implementation.
#[test]
fn fuzz_seeds_decode() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/tile_decode");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let tile = codec::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(tile.band_count() >= 1);
        n += 1;
    }
    assert!(n >= 8, "seeds missing in {}", dir.display());
    let zstd_seed = std::fs::read(dir.join("int16ud_zstd")).unwrap();
    let tile = codec::decode(&zstd_seed).unwrap();
    assert_eq!(tile.cell_type().to_string(), "int16ud-9999");
    assert_eq!(tile.band(0).unwrap().get(0, 0), i32::MIN);
    assert_eq!(tile.band(0).unwrap().get(3, 1), -32768);
}

#[test]
fn compression_names_round_trip() {
    for c in COMPRESSIONS {
        let text = c.to_string();
        assert_eq!(text.parse::<Compression>().unwrap(), c, "{text}");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Compression>(&json).unwrap(), c);
    }
    assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::Zstd(1));
    assert_eq!(
        "deflate".parse::<Compression>().unwrap(),
        Compression::Deflate(6)
    );
    for bad in [
        "",
        "gzip",
        "zstd:x",
        "deflate:10",
        "lz4:1",
        "none:0",
        "ZSTD",
    ] {
        let err = bad.parse::<Compression>().unwrap_err();
        assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
    }
}

#[test]
fn nan_user_no_data_is_written_as_constant_no_data() {
    // NaN cells are NoData under any float policy, so User(NaN) means what Constant means.
    for ct in [
        CellType::Float32(NoData::User(f32::NAN)),
        CellType::Float64(NoData::User(f64::NAN)),
    ] {
        let mut tile = Tile::new(ct, 2, 1).unwrap();
        tile.set_double(1, 0, 2.5).unwrap();
        let back = codec::decode(&codec::encode(&tile.into(), Compression::Lz4)).unwrap();
        assert_eq!(back.cell_type(), ct.with_constant_no_data());
        let band = back.band(0).unwrap();
        assert!(band.is_nodata(0, 0));
        assert_eq!(band.get_double(1, 0), 2.5);
    }
}
