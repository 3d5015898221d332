//! Writes one partition's sorted records as part files `part-r-<partition:05>-<first index>`
//! that roll over at a size limit, straight into a generation directory.
//!
//! mapfile's `MultiFileWriter` does the same but always writes under a temporary name and
//! fsyncs every file and its directory. Inside a generation directory that no reader sees
//! until the metadata switch, a part needs no name of its own to hide behind, and the
//! directory is fsynced once for all parts; so this writer fsyncs only when the catalog asks
//! for it, which makes small parts (tests, the crash test) many times faster.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mapfile::{MapFileWriter, MultiWriterOptions, PartFile, part_file_name};

use crate::error::Error;
use crate::fsutil::at;

/// The write buffer of a part file. 512 KiB keeps writes large while several partitions
/// are written at once within the memory budget.
const BUFFER_BYTES: usize = 512 << 10;

struct Current {
    writer: MapFileWriter<BufWriter<File>>,
    path: PathBuf,
    first: u64,
}

/// A rolling writer of one partition's part files.
pub(crate) struct PartWriter {
    dir: PathBuf,
    partition: u32,
    options: MultiWriterOptions,
    sync: bool,
    current: Option<Current>,
    last: Option<u64>,
    written: Vec<PartFile>,
}

impl PartWriter {
    pub(crate) fn new(dir: &Path, partition: u32, options: MultiWriterOptions, sync: bool) -> Self {
        PartWriter {
            dir: dir.to_path_buf(),
            partition,
            options,
            sync,
            current: None,
            last: None,
            written: Vec::new(),
        }
    }

    /// Appends one record (indexes never decrease), rolling over to a new file first when
    /// the record would make the current one exceed the size limit. Records sharing an
    /// index always stay in one file, as the file-set rule requires.
    pub(crate) fn append(&mut self, index: u64, payload: &[u8]) -> Result<(), Error> {
        let roll = match &self.current {
            Some(c) => {
                c.writer.finished_len_with(payload.len() as u64) > self.options.max_file_bytes
                    && self.last != Some(index)
            }
            None => false,
        };
        if roll {
            self.close()?;
        }
        if self.current.is_none() {
            let path = self.dir.join(part_file_name(self.partition, index));
            let file = File::create(&path).map_err(at(&path))?;
            let writer = MapFileWriter::new(
                BufWriter::with_capacity(BUFFER_BYTES, file),
                self.options.writer,
            )
            .map_err(|e| Error::part(&path, e))?;
            self.current = Some(Current {
                writer,
                path,
                first: index,
            });
        }
        if let Some(c) = &mut self.current {
            c.writer
                .append(index, payload)
                .map_err(|e| Error::part(&c.path, e))?;
        }
        self.last = Some(index);
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        let Some(c) = self.current.take() else {
            return Ok(());
        };
        let (buffered, summary) = c.writer.finish().map_err(|e| Error::part(&c.path, e))?;
        let mut file = buffered
            .into_inner()
            .map_err(|e| at(&c.path)(e.into_error()))?;
        file.flush().map_err(at(&c.path))?;
        if self.sync {
            file.sync_all().map_err(at(&c.path))?;
        }
        let (first_index, last_index) = summary.index_range.unwrap_or((c.first, c.first));
        self.written.push(PartFile {
            path: c.path,
            partition: self.partition,
            first_index,
            last_index,
            record_count: summary.record_count,
            bytes: summary.bytes,
        });
        Ok(())
    }

    /// Finishes the last file and returns every file written, in index order.
    pub(crate) fn finish(mut self) -> Result<Vec<PartFile>, Error> {
        self.close()?;
        Ok(std::mem::take(&mut self.written))
    }
}
