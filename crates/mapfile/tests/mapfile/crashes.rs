//! Replays every input that ever crashed a fuzz target (kept in `tests/crashes/<target>/`),
//! and the fuzz seed corpus, through the checks of the `mapfile_open` fuzz target.

use std::path::{Path, PathBuf};

use mapfile::MapFileReader;

/// The same operations and agreement checks as the `mapfile_open` fuzz target.
fn exercise(bytes: &[u8]) {
    let Ok(reader) = MapFileReader::new(bytes) else {
        return;
    };
    let verified = reader.verify().is_ok();
    let all: Result<Vec<_>, _> = reader.iter().collect();
    if verified {
        let all = all.as_ref().expect("a verified file scans cleanly");
        assert_eq!(all.len() as u64, reader.len());
    }
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
    let queries = [lo..=lo / 2 + hi / 2, hi..=hi, 0..=lo];
    let got: Result<Vec<_>, _> = reader.ranges(&queries).collect();
    if let (Ok(all), Ok(got)) = (&all, &got) {
        let want: Vec<_> = all
            .iter()
            .filter(|r| queries.iter().any(|q| q.contains(&r.index)))
            .copied()
            .collect();
        assert_eq!(got, &want);
    }
}

/// The input files in `dir` (`README.md` excepted); `dir` must exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"));
    entries.collect()
}

#[test]
fn replay_open_crashes() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crashes = inputs(&manifest.join("tests/crashes/mapfile_open"));
    let seeds = inputs(&manifest.join("../../fuzz/seeds/mapfile_open"));
    assert!(
        seeds.len() >= 4,
        "the mapfile_open seed corpus lost its files"
    );
    for path in crashes.iter().chain(&seeds) {
        let bytes = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| exercise(&bytes));
        assert!(outcome.is_ok(), "{} panics again", path.display());
    }
}

/// The seed corpus holds valid files, so the replay above really reaches the lookups.
#[test]
fn seeds_include_readable_files() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readable = inputs(&manifest.join("../../fuzz/seeds/mapfile_open"))
        .iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            MapFileReader::new(&bytes[..]).is_ok_and(|r| r.verify().is_ok() && !r.is_empty())
        })
        .count();
    assert!(
        readable >= 2,
        "only {readable} seeds are readable map files"
    );
}
