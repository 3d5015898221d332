//! File-set helpers: name parsing and file selection compared with brute force.

use std::ops::RangeInclusive;

use mapfile::{PartName, parse_part_name, part_file_name, select_files};
use proptest::prelude::*;

#[test]
fn names_round_trip() {
    for (partition, first) in [(0, 0), (3, 4096), (99_999, u64::MAX), (123_456, 7)] {
        let name = part_file_name(partition, first);
        assert_eq!(
            parse_part_name(&name),
            Some(PartName {
                first_index: first,
                partition
            })
        );
    }
    assert_eq!(part_file_name(2, 17), "part-r-00002-17");
}

#[test]
fn other_names_are_not_parts() {
    for name in [
        "",
        "part-r-",
        "part-r-00001",
        "part-r-0001-5",
        "part-r-00001-",
        "part-r-00001-x",
        "part-r-00001-5.tmp",
        ".part-r-00001-5.tmp",
        "part-r-00001--5",
        "part-r-00001-+5",
        "part-m-00001-5",
        "part-r-00001-18446744073709551616",
        "_attributes",
    ] {
        assert_eq!(parse_part_name(name), None, "{name:?}");
    }
    assert!(matches!(
        select_files(&["part-r-00000-0", "junk"], &[0..=1]),
        Err(mapfile::Error::FileName { name }) if name == "junk"
    ));
}

/// Brute force: a file is chosen when some query range meets its cover.
fn brute(firsts: &[u64], queries: &[RangeInclusive<u64>]) -> Vec<usize> {
    let mut distinct: Vec<u64> = firsts.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut chosen: Vec<usize> = (0..firsts.len())
        .filter(|&i| {
            let first = firsts[i];
            let end = distinct
                .iter()
                .find(|&&f| f > first)
                .map_or(u64::MAX, |f| f - 1);
            queries
                .iter()
                .any(|q| q.start() <= q.end() && *q.start() <= end && *q.end() >= first)
        })
        .collect();
    chosen.sort_by_key(|&i| (firsts[i], i));
    chosen
}

proptest! {
    #[test]
    fn selection_matches_brute_force(
        firsts in prop::collection::vec(prop_oneof![0u64..50, any::<u64>()], 0..12),
        queries in prop::collection::vec((prop_oneof![0u64..60, any::<u64>()], prop_oneof![0u64..60, any::<u64>()]), 0..6),
    ) {
        let names: Vec<String> = firsts.iter().enumerate().map(|(i, f)| part_file_name(i as u32, *f)).collect();
        let queries: Vec<RangeInclusive<u64>> = queries.into_iter().map(|(a, b)| a..=b).collect();
        let mut got = select_files(&names, &queries).unwrap();
        let mut want = brute(&firsts, &queries);
        // Files sharing a first index may come in any order among themselves.
        got.sort_by_key(|&i| (firsts[i], i));
        want.sort_by_key(|&i| (firsts[i], i));
        prop_assert_eq!(got, want);
    }
}

#[test]
fn last_file_is_open_ended_and_first_file_starts_at_its_name() {
    let names = ["part-r-00000-10", "part-r-00000-20"];
    assert_eq!(select_files(&names, &[0..=9]).unwrap(), Vec::<usize>::new());
    assert_eq!(
        select_files(&names, &[u64::MAX..=u64::MAX]).unwrap(),
        vec![1]
    );
    assert_eq!(select_files(&names, &[19..=19]).unwrap(), vec![0]);
    assert_eq!(select_files(&names, &[0..=u64::MAX]).unwrap(), vec![0, 1]);
}
