//! Writes one partition's sorted records as part files `part-r-<partition:05>-<first index>`
//! that roll over at a size limit: each file is written to a staging directory, then handed
//! to the catalog's part store (writer-with-retry's `Store`, with retries) under its key in
//! the generation directory.
//!
//! mapfile's `MultiFileWriter` does the same but always fsyncs every file and its directory.
//! Here the part store owns durability: the default `FileStore` fsyncs the part (a hard link
//! of the staged file, so no byte is copied) when the catalog's `sync` option is on, and
//! skips it when off, which makes small parts (tests, the crash test) many times faster.
//! Memory stays bounded: a part is streamed to disk, never held whole.
//!
//! Putting a finished file into the store (which fsyncs it) happens on threads of their
//! own, [`put_staged`], when the sink has them: the partition's task goes on merging the
//! next part meanwhile, so the disk drains one part while the CPU fills the next instead
//! of the two taking turns. The write waits for every put before it commits.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam::channel::{Receiver, Sender};

use mapfile::{ChunkWriter, MapFileWriter, MultiWriterOptions, PartFile, part_file_name};

use crate::error::Error;
use crate::fsutil::{WritebackFile, at, remove_file};
use crate::store::PartStore;

/// Where a generation's part files go: staged under `staging`, then put into the part
/// store under `<key_prefix>/<file name>`, which is `<generation dir>/<file name>` on disk.
pub(crate) struct PartSink<'a> {
    pub(crate) store: &'a PartStore,
    pub(crate) staging: &'a Path,
    pub(crate) generation_dir: &'a Path,
    pub(crate) key_prefix: &'a str,
    /// Where finished files go to be put by [`put_staged`] on its thread; `None` puts
    /// them on the writing thread.
    pub(crate) puts: Option<Sender<StagedPart>>,
    /// Set by a putting thread whose put failed, so that the writers stop early (the
    /// write fails with the put's error).
    pub(crate) put_failed: &'a AtomicBool,
}

/// A finished part file in the staging directory, and its key in the part store.
pub(crate) struct StagedPart {
    key: String,
    staged: PathBuf,
}

impl StagedPart {
    /// Puts the file into the store, then removes its staged name (the store has its own
    /// link or copy now).
    fn put(&self, store: &PartStore) -> Result<(), Error> {
        store.put_part(&self.key, &self.staged)?;
        remove_file(&self.staged)
    }
}

/// Puts the files sent on `jobs` into `store` until the senders are gone (several threads
/// may share one receiver); returns the first error met, and sets `failed` then, so that
/// the writers stop. After an error this thread puts no more files (the write fails, and
/// its staging directory goes with what is left).
pub(crate) fn put_staged(
    store: &PartStore,
    jobs: &Receiver<StagedPart>,
    failed: &AtomicBool,
) -> Result<(), Error> {
    let mut result = Ok(());
    for job in jobs {
        if result.is_ok() {
            result = job.put(store);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
        }
    }
    result
}

/// The staging directory of a generation directory `<layer>/g<n>`: `<layer>/.stage-g<n>`.
pub(crate) fn staging_dir(generation_dir: &Path) -> PathBuf {
    let name = generation_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = generation_dir.parent().unwrap_or(generation_dir);
    parent.join(format!(".stage-{name}"))
}

struct Current {
    writer: MapFileWriter<ChunkWriter<WritebackFile>>,
    name: String,
    staged: PathBuf,
    first: u64,
}

/// A rolling writer of one partition's part files.
pub(crate) struct PartWriter<'a> {
    sink: &'a PartSink<'a>,
    partition: u32,
    options: MultiWriterOptions,
    current: Option<Current>,
    last: Option<u64>,
    written: Vec<PartFile>,
}

impl<'a> PartWriter<'a> {
    pub(crate) fn new(sink: &'a PartSink<'a>, partition: u32, options: MultiWriterOptions) -> Self {
        PartWriter {
            sink,
            partition,
            options,
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
            let name = part_file_name(self.partition, index);
            let staged = self.sink.staging.join(&name);
            let file = File::create(&staged).map_err(at(&staged))?;
            let writer = MapFileWriter::new(
                ChunkWriter::new(WritebackFile::new(file)),
                self.options.writer,
            )
            .map_err(|e| Error::part(&staged, e))?;
            self.current = Some(Current {
                writer,
                name,
                staged,
                first: index,
            });
        }
        if let Some(c) = &mut self.current {
            c.writer
                .append(index, payload)
                .map_err(|e| Error::part(&c.staged, e))?;
        }
        self.last = Some(index);
        Ok(())
    }

    /// Finishes the current file and puts it into the part store.
    fn close(&mut self) -> Result<(), Error> {
        let Some(c) = self.current.take() else {
            return Ok(());
        };
        if self.sink.put_failed.load(Ordering::Relaxed) {
            // The write fails with the put's error; writing more parts is wasted.
            return Err(Error::Cancelled {
                what: "an earlier part could not be stored".to_owned(),
            });
        }
        let (buffered, summary) = c.writer.finish().map_err(|e| Error::part(&c.staged, e))?;
        let mut file = buffered.into_inner().map_err(at(&c.staged))?.into_inner();
        file.flush().map_err(at(&c.staged))?;
        drop(file);
        let job = StagedPart {
            key: format!("{}/{}", self.sink.key_prefix, c.name),
            staged: c.staged,
        };
        match &self.sink.puts {
            Some(puts) => {
                // A send fails only when the receiving end is gone, which the caller
                // keeps until the writers are done; should it happen, put here.
                if let Err(unsent) = puts.send(job) {
                    unsent.into_inner().put(self.sink.store)?;
                }
            }
            None => job.put(self.sink.store)?,
        }
        let (first_index, last_index) = summary.index_range.unwrap_or((c.first, c.first));
        self.written.push(PartFile {
            path: self.sink.generation_dir.join(&c.name),
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
