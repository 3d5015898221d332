//! Fuzz target: open, get, range, ranges and verify on arbitrary bytes must return Ok or a
//! typed error, never panic, and agree with each other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapfile::MapFileReader;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = MapFileReader::new(data) else {
        return;
    };
    let info = reader.info();
    let verified = reader.verify().is_ok();

    // A full scan; when it succeeds it is the reference for the lookups below.
    let all: Result<Vec<_>, _> = reader.iter().collect();
    if verified {
        let all = all.as_ref().expect("a verified file scans cleanly");
        assert_eq!(all.len() as u64, info.record_count);
    }
    let (lo, hi) = info.index_range.unwrap_or((0, 0));
    let probes = [
        lo,
        hi,
        lo / 2 + hi / 2,
        lo.wrapping_sub(1),
        hi.wrapping_add(1),
        0,
        u64::MAX,
    ];
    for &p in &probes {
        let got = reader.get(p);
        if let (Ok(all), Ok(got)) = (&all, &got) {
            let want: Vec<&[u8]> = all
                .iter()
                .filter(|r| r.index == p)
                .map(|r| r.payload)
                .collect();
            assert_eq!(got, &want);
        }
    }
    let queries = [
        lo..=lo / 2 + hi / 2,
        hi..=hi,
        0..=lo,
        hi.saturating_add(1)..=u64::MAX,
    ];
    let got: Result<Vec<_>, _> = reader.ranges(&queries).collect();
    if let (Ok(all), Ok(got)) = (&all, &got) {
        let want: Vec<_> = all
            .iter()
            .filter(|r| queries.iter().any(|q| q.contains(&r.index)))
            .copied()
            .collect();
        assert_eq!(got, &want);
    }
    for q in &queries {
        let _ = reader.range(q.clone()).count();
    }
});
