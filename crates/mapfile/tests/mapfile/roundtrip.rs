//! Write/read round trips compared with a `BTreeMap` model, including duplicate indexes and
//! multi-range queries, plus the writer's errors.

use std::ops::RangeInclusive;

use mapfile::{Error, MapFileReader, MapFileWriter, WriterOptions};
use proptest::prelude::*;

use crate::{Model, all_records, write};

/// Sorted records with many duplicates and gaps of every size.
fn records() -> impl Strategy<Value = Vec<(u64, Vec<u8>)>> {
    (
        any::<u64>(),
        prop::collection::vec(
            (
                prop_oneof![Just(0u64), 1u64..4, 1u64..1000, any::<u64>()],
                prop::collection::vec(any::<u8>(), 0..40),
            ),
            0..120,
        ),
    )
        .prop_map(|(start, steps)| {
            let mut index = start % 1_000_000;
            let mut out = Vec::new();
            for (step, payload) in steps {
                let Some(next) = index.checked_add(step) else {
                    break;
                };
                index = next;
                out.push((index, payload));
            }
            out
        })
}

fn model_of(records: &[(u64, Vec<u8>)]) -> Model {
    let mut model = Model::new();
    for (k, v) in records {
        model.entry(*k).or_default().push(v.clone());
    }
    model
}

fn query(records: &[(u64, Vec<u8>)]) -> impl Strategy<Value = RangeInclusive<u64>> + use<> {
    let keys: Vec<u64> = records.iter().map(|r| r.0).collect();
    let pick = move |i: usize, d: i64| -> u64 {
        if keys.is_empty() {
            return i as u64;
        }
        keys[i % keys.len()].saturating_add_signed(d)
    };
    (
        any::<usize>(),
        -2i64..3,
        any::<usize>(),
        -2i64..3,
        any::<bool>(),
    )
        .prop_map(move |(a, da, b, db, wide)| {
            if wide {
                pick(a, da)..=u64::MAX
            } else {
                pick(a, da)..=pick(b, db)
            }
        })
}

/// Records, a sparse index interval and query ranges.
type Case = (Vec<(u64, Vec<u8>)>, u32, Vec<RangeInclusive<u64>>);

fn records_and_queries() -> impl Strategy<Value = Case> {
    (records(), 1u32..10).prop_flat_map(|(recs, interval)| {
        let q = prop::collection::vec(query(&recs), 0..6);
        (Just(recs), Just(interval), q)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn reads_back_what_was_written((recs, interval, queries) in records_and_queries()) {
        let model = model_of(&recs);
        let bytes = write(&recs, interval);
        let reader = MapFileReader::new(bytes).unwrap();
        reader.verify().unwrap();
        prop_assert_eq!(&all_records(&reader), &recs);

        let info = reader.info();
        prop_assert_eq!(info.record_count, recs.len() as u64);
        prop_assert_eq!(info.index_range, recs.first().map(|f| (f.0, recs.last().unwrap().0)));
        prop_assert_eq!(info.index_interval, interval);

        for (k, payloads) in &model {
            let got: Vec<Vec<u8>> = reader.get(*k).unwrap().into_iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(&got, payloads);
            for probe in [k.wrapping_sub(1), k.wrapping_add(1)] {
                let want = model.get(&probe).map_or(0, Vec::len);
                prop_assert_eq!(reader.get(probe).unwrap().len(), want);
            }
        }
        for q in &queries {
            let got: Vec<(u64, Vec<u8>)> = reader
                .range(q.clone())
                .map(|r| r.map(|r| (r.index, r.payload.to_vec())))
                .collect::<Result<_, _>>()
                .unwrap();
            let want: Vec<(u64, Vec<u8>)> = recs.iter().filter(|r| q.contains(&r.0)).cloned().collect();
            prop_assert_eq!(got, want);
        }
        let got: Vec<(u64, Vec<u8>)> = reader
            .ranges(&queries)
            .map(|r| r.map(|r| (r.index, r.payload.to_vec())))
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<(u64, Vec<u8>)> = recs
            .iter()
            .filter(|r| queries.iter().any(|q| q.contains(&r.0)))
            .cloned()
            .collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn out_of_order_append_names_both_indexes() {
    let mut writer = MapFileWriter::new(Vec::new(), WriterOptions::default()).unwrap();
    writer.append(10, b"a").unwrap();
    writer.append(10, b"b").unwrap();
    let err = writer.append(9, b"c").unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfOrder {
                previous: 10,
                next: 9
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("10") && message.contains('9'), "{message}");
}

#[test]
fn zero_interval_is_rejected() {
    let options = WriterOptions::default().with_index_interval(0);
    let err = MapFileWriter::new(Vec::new(), options).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "index_interval",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn empty_file_reads_as_empty() {
    let bytes = write(&[], 4);
    let reader = MapFileReader::new(&bytes[..]).unwrap();
    reader.verify().unwrap();
    assert!(reader.is_empty());
    assert_eq!(reader.info().index_range, None);
    assert!(reader.get(0).unwrap().is_empty());
    assert_eq!(reader.ranges(&[0..=u64::MAX]).count(), 0);
}

#[test]
fn extreme_indexes_round_trip() {
    let recs = vec![
        (0, b"zero".to_vec()),
        (u64::MAX, b"max".to_vec()),
        (u64::MAX, vec![]),
    ];
    let reader = MapFileReader::new(write(&recs, 1)).unwrap();
    reader.verify().unwrap();
    assert_eq!(reader.get(u64::MAX).unwrap(), vec![&b"max"[..], &b""[..]]);
    assert_eq!(reader.get(0).unwrap(), vec![&b"zero"[..]]);
    assert_eq!(reader.range(1..=u64::MAX - 1).count(), 0);
    // An inverted range matches nothing.
    #[allow(
        clippy::reversed_empty_ranges,
        reason = "the empty range is the point of the test"
    )]
    let inverted = 5..=1;
    assert_eq!(reader.range(inverted).count(), 0);
}

#[test]
fn recommended_intervals_shrink_with_record_size() {
    let interval = |bytes| WriterOptions::for_record_size(bytes).index_interval;
    assert_eq!(interval(0), 32);
    assert_eq!(interval(64), 32);
    assert_eq!(interval(128), 16);
    assert_eq!(interval(256), 8);
    assert_eq!(interval(1024), 4);
    assert_eq!(interval(usize::MAX), 4);
}

#[test]
fn lookups_across_many_index_segments() {
    // Thousands of sparse index entries, with runs of duplicates crossing block edges.
    let recs: Vec<(u64, Vec<u8>)> = (0u64..5000)
        .map(|n| (n / 3 * 2, n.to_le_bytes().to_vec()))
        .collect();
    let reader = MapFileReader::new(write(&recs, 2)).unwrap();
    for probe in 0..3400u64 {
        let want: Vec<&[u8]> = recs
            .iter()
            .filter(|r| r.0 == probe)
            .map(|r| r.1.as_slice())
            .collect();
        assert_eq!(reader.get(probe).unwrap(), want, "index {probe}");
    }
}

#[test]
fn lookups_with_clustered_keys_and_uneven_records() {
    // Keys in tight clusters far apart, as on a space-filling curve, so most radix buckets are
    // empty and a few hold many keys; payload sizes vary, so the guessed record positions
    // that lookups read ahead are mostly wrong and must not change the answers.
    let recs: Vec<(u64, Vec<u8>)> = (0u64..4000)
        .map(|n| {
            let index = ((n / 200) << 58) | ((n % 200) / 2 * 7);
            (index, vec![n as u8; (n % 7 * 37) as usize])
        })
        .collect();
    let model = model_of(&recs);
    for interval in [1, 4, 33] {
        let reader = MapFileReader::new(write(&recs, interval)).unwrap();
        for (&index, payloads) in &model {
            for probe in [index, index.wrapping_sub(1), index.wrapping_add(1)] {
                let want: Vec<&[u8]> = model
                    .get(&probe)
                    .map(|v| v.iter().map(Vec::as_slice).collect())
                    .unwrap_or_default();
                assert_eq!(reader.get(probe).unwrap(), want, "index {probe}");
            }
            assert_eq!(reader.get(index).unwrap().len(), payloads.len());
        }
    }
}

#[test]
fn advised_map_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-r-00000-0");
    let recs: Vec<(u64, Vec<u8>)> = (0u64..500).map(|n| (n * 2, vec![n as u8; 100])).collect();
    std::fs::write(&path, write(&recs, 4)).unwrap();
    let reader = MapFileReader::open(&path).unwrap();
    for advice in [memmap2::Advice::Random, memmap2::Advice::WillNeed] {
        reader.advise(advice).unwrap();
        assert_eq!(reader.get(300).unwrap(), [&[150u8; 100][..]]);
        assert!(reader.get(301).unwrap().is_empty());
    }
    reader.verify().unwrap();
}
