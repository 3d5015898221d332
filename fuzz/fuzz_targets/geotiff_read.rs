//! Fuzz target: reading a GeoTIFF (header, then pixels) from arbitrary bytes must return a
//! raster or a typed error, never panic, and a raster must match its header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raster::{Limits, read_geotiff_bytes, read_geotiff_info_bytes};

fuzz_target!(|data: &[u8]| {
    // 1 MiB of samples and 64 KiB of tag data: enough for the seeds, small enough that a hostile
    // header cannot make the fuzzer spend its time allocating.
    let limits = Limits {
        max_raster_bytes: 1 << 20,
        max_tag_bytes: 1 << 16,
    };
    let info = read_geotiff_info_bytes(data);
    if let Ok(raster) = read_geotiff_bytes(data, &limits) {
        let info = info.expect("a file whose pixels read has a readable header");
        assert_eq!(raster.cols(), info.cols as usize);
        assert_eq!(raster.rows(), info.rows as usize);
        assert_eq!(raster.tile.band_count(), usize::from(info.bands));
    }
});
