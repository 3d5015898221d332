//! Fuzz target: arbitrary records are written, read back and compared with a `BTreeMap`
//! model, through get, range, ranges and verify.
#![no_main]

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mapfile::{MapFileReader, MapFileWriter, WriterOptions};

#[derive(Debug, Arbitrary)]
struct Input {
    interval: u8,
    start: u64,
    /// Each record's index is the previous one plus the step, so steps of 0 make duplicates.
    records: Vec<(u8, Vec<u8>)>,
    queries: Vec<(u64, u64)>,
}

fuzz_target!(|input: Input| {
    let options = WriterOptions::default().with_index_interval(u32::from(input.interval).max(1));
    let mut writer = MapFileWriter::new(Vec::new(), options).unwrap();
    let mut model: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
    let mut index = input.start;
    for (step, payload) in &input.records {
        let Some(next) = index.checked_add(u64::from(*step)) else {
            break;
        };
        index = next;
        writer.append(index, payload).unwrap();
        model.entry(index).or_default().push(payload.clone());
    }
    // Appending below the last index must fail and name both indexes.
    if let Some(&last) = model.keys().next_back() {
        if last > 0 {
            match writer.append(last - 1, b"") {
                Err(mapfile::Error::OutOfOrder { previous, next }) => {
                    assert_eq!((previous, next), (last, last - 1));
                }
                other => panic!("out-of-order append gave {other:?}"),
            }
        }
    }
    let (bytes, summary) = writer.finish().unwrap();
    assert_eq!(summary.bytes, bytes.len() as u64);
    let reader = MapFileReader::new(bytes).unwrap();
    reader.verify().unwrap();

    let flat: Vec<(u64, &[u8])> = model
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (*k, v.as_slice())))
        .collect();
    let all: Vec<(u64, &[u8])> = reader
        .iter()
        .map(|r| r.map(|r| (r.index, r.payload)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all, flat);
    for (k, vs) in &model {
        let got = reader.get(*k).unwrap();
        assert_eq!(got.len(), vs.len());
        assert!(got.iter().zip(vs).all(|(a, b)| *a == b.as_slice()));
        if let Some(k1) = k.checked_add(1) {
            if !model.contains_key(&k1) {
                assert!(reader.get(k1).unwrap().is_empty());
            }
        }
    }
    let queries: Vec<RangeInclusive<u64>> = input.queries.iter().map(|&(a, b)| a..=b).collect();
    for q in &queries {
        let got: Vec<(u64, &[u8])> = reader
            .range(q.clone())
            .map(|r| r.map(|r| (r.index, r.payload)))
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<(u64, &[u8])> = flat
            .iter()
            .filter(|(k, _)| q.contains(k))
            .copied()
            .collect();
        assert_eq!(got, want);
    }
    let got: Vec<(u64, &[u8])> = reader
        .ranges(&queries)
        .map(|r| r.map(|r| (r.index, r.payload)))
        .collect::<Result<_, _>>()
        .unwrap();
    let want: Vec<(u64, &[u8])> = flat
        .iter()
        .filter(|(k, _)| queries.iter().any(|q| q.contains(k)))
        .copied()
        .collect();
    assert_eq!(got, want);
});
