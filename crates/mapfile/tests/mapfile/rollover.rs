//! The multi-file writer: roll-over at the size limit, names, reported ranges, atomic files.

use mapfile::{
    FileWriter, MapFileReader, MultiFileWriter, MultiWriterOptions, WriterOptions, list_part_files,
    parse_part_name,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn rolls_over_and_keeps_every_record(
        steps in prop::collection::vec((0u64..3, 0usize..300), 1..200),
        max in 200u64..3000,
        interval in 1u32..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = MultiWriterOptions::default()
            .with_max_file_bytes(max)
            .with_writer(WriterOptions::default().with_index_interval(interval));
        let mut writer = MultiFileWriter::new(dir.path(), 7, options).unwrap();
        let mut records = Vec::new();
        let mut index = 1000u64;
        for (step, len) in steps {
            index += step;
            let payload = vec![(index % 251) as u8; len];
            writer.append(index, &payload).unwrap();
            records.push((index, payload));
        }
        let files = writer.finish().unwrap();

        let mut read_back = Vec::new();
        for (n, file) in files.iter().enumerate() {
            let name = file.path.file_name().unwrap().to_str().unwrap();
            prop_assert_eq!(name, format!("part-r-00007-{}", file.first_index));
            let reader = MapFileReader::open(&file.path).unwrap();
            reader.verify().unwrap();
            let info = reader.info();
            prop_assert_eq!(info.index_range, Some((file.first_index, file.last_index)));
            prop_assert_eq!(info.record_count, file.record_count);
            prop_assert_eq!(info.file_bytes, file.bytes);
            // Over the limit only for a single record, or a run of duplicates at the end of
            // the file (those are never split).
            let in_file = crate::all_records(&reader);
            let last_run = in_file.iter().filter(|r| r.0 == file.last_index).count();
            prop_assert!(file.bytes <= max || in_file.len() == 1 || last_run > 1);
            if let Some(next) = files.get(n + 1) {
                prop_assert!(next.first_index > file.last_index, "duplicates split across files");
            }
            read_back.extend(in_file);
        }
        prop_assert_eq!(read_back, records);
        let listed = list_part_files(dir.path()).unwrap();
        prop_assert_eq!(listed.len(), files.len());
    }
}

#[test]
fn default_limit_is_an_hdfs_block_less_slack() {
    assert_eq!(mapfile::DEFAULT_MAX_FILE_BYTES, 134_201_344);
    assert_eq!(
        MultiWriterOptions::default().max_file_bytes,
        mapfile::DEFAULT_MAX_FILE_BYTES
    );
}

#[test]
fn no_records_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let writer = MultiFileWriter::new(dir.path(), 0, MultiWriterOptions::default()).unwrap();
    assert!(writer.finish().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn unfinished_file_never_appears_under_its_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-r-00000-5");
    let mut writer = FileWriter::create(&path, WriterOptions::default()).unwrap();
    writer.append(5, b"five").unwrap();
    assert!(!path.exists());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| parse_part_name(n).is_none()),
        "{names:?}"
    );
    assert!(list_part_files(dir.path()).unwrap().is_empty());
    // Abandoned: the temporary file goes away and nothing appears.
    drop(writer);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let mut writer = FileWriter::create(&path, WriterOptions::default()).unwrap();
    writer.append(5, b"five").unwrap();
    let summary = writer.finish().unwrap();
    assert_eq!(summary.index_range, Some((5, 5)));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(
        MapFileReader::open(&path).unwrap().get(5).unwrap(),
        vec![&b"five"[..]]
    );
}

#[test]
fn multi_writer_rejects_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = MultiFileWriter::new(dir.path(), 0, MultiWriterOptions::default()).unwrap();
    writer.append(4, b"").unwrap();
    let err = writer.append(3, b"").unwrap_err();
    assert!(
        matches!(
            err,
            mapfile::Error::OutOfOrder {
                previous: 4,
                next: 3
            }
        ),
        "{err:?}"
    );
}
