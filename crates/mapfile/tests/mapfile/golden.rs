//! Golden part files: committed files made by the writer must read back exactly, and the
//! writer must still produce them byte for byte, so any change to the format is caught.
//!
//! Regenerate them (and the `mapfile_open` fuzz seeds) after a deliberate format change with
//! the command in `tests/golden/REGENERATE.md`.

use std::path::{Path, PathBuf};

use mapfile::{MapFileReader, MultiFileWriter, MultiWriterOptions, WriterOptions};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The records of partition `p` of the golden set: duplicates, gaps, empty and long payloads.
fn golden_records(partition: u32) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut index = u64::from(partition) * 1000;
    for i in 0u64..40 {
        // Steps of 0 make duplicates; the odd large step makes gaps.
        index += [0, 1, 3, 0, 17][(i % 5) as usize];
        let len = (i * 7 % 23) as usize;
        let payload: Vec<u8> = (0..len)
            .map(|j| (i as u8).wrapping_mul(31).wrapping_add(j as u8))
            .collect();
        out.push((index, payload));
    }
    out
}

/// Writes the golden set into `dir`: partition 0 with interval 4 rolled over at 600 bytes,
/// partition 1 with interval 1 in one file.
fn write_golden(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (partition, interval, max) in [(0u32, 4u32, 600u64), (1, 1, 1 << 20)] {
        let options = MultiWriterOptions::default()
            .with_max_file_bytes(max)
            .with_writer(WriterOptions::default().with_index_interval(interval));
        let mut writer = MultiFileWriter::new(dir, partition, options).unwrap();
        for (index, payload) in golden_records(partition) {
            writer.append(index, &payload).unwrap();
        }
        paths.extend(writer.finish().unwrap().into_iter().map(|f| f.path));
    }
    paths
}

#[test]
fn golden_files_read_back_and_are_reproduced() {
    let dir = golden_dir();
    if std::env::var_os("MAPFILE_REGENERATE_GOLDEN").is_some() {
        for (_, path) in mapfile::list_part_files(&dir).unwrap() {
            std::fs::remove_file(path).unwrap();
        }
        let written = write_golden(&dir);
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/mapfile_open");
        std::fs::create_dir_all(&seeds).unwrap();
        for path in &written {
            std::fs::copy(path, seeds.join(path.file_name().unwrap())).unwrap();
        }
        std::fs::write(seeds.join("small"), crate::small_file()).unwrap();
        std::fs::write(seeds.join("empty"), crate::write(&[], 7)).unwrap();
    }

    let committed = mapfile::list_part_files(&dir).unwrap();
    assert!(
        committed.len() >= 3,
        "golden files missing from {}",
        dir.display()
    );

    // Read back: the records of each partition, across its files, are the golden records.
    for partition in [0u32, 1] {
        let mut read = Vec::new();
        for (name, path) in committed.iter().filter(|(n, _)| n.partition == partition) {
            let reader = MapFileReader::open(path).unwrap();
            reader.verify().unwrap();
            assert_eq!(
                reader.info().index_range.map(|r| r.0),
                Some(name.first_index)
            );
            read.extend(crate::all_records(&reader));
        }
        assert_eq!(read, golden_records(partition), "partition {partition}");
    }

    // Reproduced: today's writer makes the same files, byte for byte.
    let fresh = tempfile::tempdir().unwrap();
    let written = write_golden(fresh.path());
    assert_eq!(written.len(), committed.len());
    for path in written {
        let name = path.file_name().unwrap();
        let old = std::fs::read(dir.join(name)).unwrap();
        assert!(
            std::fs::read(&path).unwrap() == old,
            "{name:?} differs from the golden file"
        );
    }
}
