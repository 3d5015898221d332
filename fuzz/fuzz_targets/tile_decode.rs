//! Fuzz target: `keyed_tile::codec::decode` on arbitrary bytes must never panic, and whatever
//! it accepts must encode back to the same bytes.
#![no_main]

use keyed_tile::codec::{self, Compression};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tile) = codec::decode(data) {
        // An accepted uncompressed tile is canonical: re-encoding reproduces the input.
        if data.get(26) == Some(&0) {
            assert_eq!(codec::encode(&tile, Compression::None), data);
        }
    }
});
