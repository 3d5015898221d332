//! Integration tests of the map file format: round trips against a model, roll-over,
//! file selection, corruption, golden files and replayed fuzz crashes.

mod corruption;
mod crashes;
mod fileset;
mod golden;
mod rollover;
mod roundtrip;

use std::collections::BTreeMap;

use mapfile::{MapFileReader, MapFileWriter, WriterOptions};

/// The reference model: every payload under its index, in append order.
pub(crate) type Model = BTreeMap<u64, Vec<Vec<u8>>>;

/// Writes `records` (sorted by index) to bytes with the given sparse index interval.
pub(crate) fn write(records: &[(u64, Vec<u8>)], interval: u32) -> Vec<u8> {
    let options = WriterOptions::default().with_index_interval(interval);
    let mut writer = MapFileWriter::new(Vec::new(), options).unwrap();
    for (index, payload) in records {
        writer.append(*index, payload).unwrap();
    }
    writer.finish().unwrap().0
}

/// Every record of a reader as (index, payload) pairs.
pub(crate) fn all_records<D: AsRef<[u8]>>(reader: &MapFileReader<D>) -> Vec<(u64, Vec<u8>)> {
    reader
        .iter()
        .map(|r| r.map(|r| (r.index, r.payload.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A small file with duplicates, several blocks and an uneven last block.
pub(crate) fn small_file() -> Vec<u8> {
    let records: Vec<(u64, Vec<u8>)> = [1u64, 2, 2, 2, 5, 8, 8, 13]
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, vec![i as u8; i % 3]))
        .collect();
    write(&records, 3)
}
