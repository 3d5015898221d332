//! Replays every input that ever crashed a fuzz target (kept in `tests/crashes/<target>/`).

use std::path::Path;

use mapfile::MapFileReader;

/// The same operations as the `mapfile_open` fuzz target: none may panic.
fn exercise(bytes: &[u8]) {
    let Ok(reader) = MapFileReader::new(bytes) else {
        return;
    };
    let _ = reader.verify();
    let all: Result<Vec<_>, _> = reader.iter().collect();
    let (lo, hi) = reader.info().index_range.unwrap_or((0, 0));
    for probe in [
        lo,
        hi,
        lo / 2 + hi / 2,
        lo.wrapping_sub(1),
        hi.wrapping_add(1),
        0,
        u64::MAX,
    ] {
        if let (Ok(all), Ok(got)) = (&all, reader.get(probe)) {
            let want: Vec<&[u8]> = all
                .iter()
                .filter(|r| r.index == probe)
                .map(|r| r.payload)
                .collect();
            assert_eq!(got, want);
        }
    }
    let _ = reader
        .ranges(&[lo..=lo / 2 + hi / 2, hi..=hi, 0..=lo])
        .count();
}

#[test]
fn replay_open_crashes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crashes/mapfile_open");
    // The directory may be missing: it exists once the fuzzer has found something.
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| exercise(&bytes));
        assert!(outcome.is_ok(), "{} panics again", path.display());
    }
}
