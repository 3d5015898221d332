//! Writers: one map file to any `Write`, one part file on disk (atomically), and a
//! multi-file writer that rolls over to a new part file at a size limit.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use byteorder::{ByteOrder, LittleEndian, WriteBytesExt};

use crate::chunk::ChunkWriter;
use crate::error::{Error, Result};
use crate::fileset::part_file_name;
use crate::format::{
    FOOTER_LEN, HEADER_LEN, INDEX_ENTRY_LEN, MAGIC, MAX_PAYLOAD_LEN, RECORD_HEADER_LEN, VERSION,
};

/// The default sparse index interval: one entry (and one checksummed block) every this many
/// records. It suits records of 128 bytes and up (index under 1% of the data); see
/// [`WriterOptions::for_record_size`] for the measurement and a choice per record size.
pub const DEFAULT_INDEX_INTERVAL: u32 = 16;

/// The default size limit of one part file: 128 MiB − 16 KiB, one HDFS block less the
/// header slack (ADR 0002), so a part file never spans two HDFS blocks.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 128 * 1024 * 1024 - 16 * 1024;

/// How a map file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterOptions {
    /// One sparse index entry, and one checksummed block, every this many records (at least 1).
    pub index_interval: u32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            index_interval: DEFAULT_INDEX_INTERVAL,
        }
    }
}

impl WriterOptions {
    /// Options with the given sparse index interval (see [`WriterOptions::index_interval`]).
    #[must_use]
    pub fn with_index_interval(mut self, index_interval: u32) -> Self {
        self.index_interval = index_interval;
        self
    }

    /// The recommended options for records whose payloads are about `payload_bytes` long:
    /// the smallest interval of 4, 8, 16 and 32 whose sparse index costs at most 1% of the
    /// data (an entry is 20 bytes per block of `interval × (12 + payload_bytes)`).
    ///
    /// Lookups only get faster as the interval shrinks (a lookup scans up to one interval
    /// of records, each step touching a new cache line once records pass 64 bytes), so the
    /// index size is what bounds it. Measured with `benches/benches/mapfile.rs`
    /// (`mapfile_get_interval`, warm 32 MiB files; table in `FORMAT.md`): interval 128 is
    /// 2–4 times slower than 16 or less for 64-byte, 1 KiB and 16 KiB payloads alike. The
    /// rule gives 32 for 64-byte records, 16 for 128 bytes, 8 for 256 bytes and 4 from about
    /// 500 bytes up (GeoTrellis used 4 for its tiles; Hadoop's MapFile uses 128).
    pub fn for_record_size(payload_bytes: usize) -> Self {
        let record_bytes = (RECORD_HEADER_LEN as u64).saturating_add(payload_bytes as u64);
        let block_bytes = |interval: u64| interval.saturating_mul(record_bytes);
        let index_interval = [4u32, 8, 16]
            .into_iter()
            .find(|&n| INDEX_ENTRY_LEN as u64 * 100 <= block_bytes(u64::from(n)))
            .unwrap_or(32);
        WriterOptions { index_interval }
    }

    fn check(self) -> Result<()> {
        if self.index_interval == 0 {
            return Err(Error::InvalidOption {
                option: "index_interval",
                what: "must be at least 1",
            });
        }
        Ok(())
    }
}

/// What a finished map file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSummary {
    /// The number of records.
    pub record_count: u64,
    /// The smallest and largest index, or `None` when the file has no records.
    pub index_range: Option<(u64, u64)>,
    /// The file's length in bytes.
    pub bytes: u64,
}

/// Sparse index entry being built: first index, block offset, block checksum.
#[derive(Debug, Clone, Copy)]
struct Entry {
    index: u64,
    offset: u64,
}

/// Writes one map file to any [`Write`], record by record.
///
/// Records must arrive in never-decreasing index order. Nothing is valid until
/// [`MapFileWriter::finish`] writes the sparse index and the footer.
///
/// ```
/// use mapfile::{MapFileReader, MapFileWriter, WriterOptions};
/// let mut writer = MapFileWriter::new(Vec::new(), WriterOptions::default())?;
/// writer.append(7, b"seven")?;
/// writer.append(7, b"also seven")?;
/// let (bytes, summary) = writer.finish()?;
/// assert_eq!(summary.record_count, 2);
/// let reader = MapFileReader::new(bytes)?;
/// assert_eq!(reader.get(7)?, vec![&b"seven"[..], &b"also seven"[..]]);
/// # Ok::<(), mapfile::Error>(())
/// ```
#[derive(Debug)]
pub struct MapFileWriter<W: Write> {
    inner: W,
    interval: u64,
    /// Bytes written so far.
    pos: u64,
    records: u64,
    first: Option<u64>,
    last: u64,
    entries: Vec<(Entry, u32)>,
    /// The checksum of the block being written.
    block_crc: crc32fast::Hasher,
    /// The header bytes, kept for the metadata checksum.
    header: [u8; HEADER_LEN],
}

impl<W: Write> MapFileWriter<W> {
    /// Starts a map file, writing its header to `inner`.
    pub fn new(mut inner: W, options: WriterOptions) -> Result<Self> {
        options.check()?;
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(&MAGIC);
        {
            let mut rest = &mut header[8..];
            rest.write_u32::<LittleEndian>(VERSION)?;
            // Flags: none are defined yet, so they are all zero.
            rest.write_u32::<LittleEndian>(0)?;
        }
        inner.write_all(&header)?;
        Ok(MapFileWriter {
            inner,
            interval: u64::from(options.index_interval),
            pos: HEADER_LEN as u64,
            records: 0,
            first: None,
            last: 0,
            entries: Vec::new(),
            block_crc: crc32fast::Hasher::new(),
            header,
        })
    }

    /// Appends one record. `index` must not be smaller than the previous record's.
    pub fn append(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        let len = payload.len() as u64;
        if len > MAX_PAYLOAD_LEN {
            return Err(Error::RecordTooLarge {
                len,
                max: MAX_PAYLOAD_LEN,
            });
        }
        if self.first.is_some() && index < self.last {
            return Err(Error::OutOfOrder {
                previous: self.last,
                next: index,
            });
        }
        if self.records.is_multiple_of(self.interval) {
            self.close_block();
            self.entries.push((
                Entry {
                    index,
                    offset: self.pos,
                },
                0,
            ));
        }
        let mut head = [0u8; RECORD_HEADER_LEN];
        {
            let mut w = &mut head[..];
            w.write_u64::<LittleEndian>(index)?;
            w.write_u32::<LittleEndian>(len as u32)?;
        }
        self.inner.write_all(&head)?;
        self.inner.write_all(payload)?;
        self.block_crc.update(&head);
        self.block_crc.update(payload);
        self.pos += RECORD_HEADER_LEN as u64 + len;
        self.records += 1;
        self.first.get_or_insert(index);
        self.last = index;
        Ok(())
    }

    /// Stores the checksum of the block being written in its sparse index entry.
    fn close_block(&mut self) {
        let hasher = std::mem::take(&mut self.block_crc);
        if let Some(last) = self.entries.last_mut() {
            last.1 = hasher.finalize();
        }
    }

    /// The number of records appended so far.
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// The index of the last record appended, if any.
    pub fn last_index(&self) -> Option<u64> {
        self.first.map(|_| self.last)
    }

    /// The length the file would have if it were finished now.
    pub fn finished_len(&self) -> u64 {
        self.pos + self.entries.len() as u64 * INDEX_ENTRY_LEN as u64 + FOOTER_LEN as u64
    }

    /// The length the file would have if it were finished after appending one more record
    /// with a payload of `payload_len` bytes.
    pub fn finished_len_with(&self, payload_len: u64) -> u64 {
        let new_entry = if self.records.is_multiple_of(self.interval) {
            INDEX_ENTRY_LEN as u64
        } else {
            0
        };
        self.finished_len()
            .saturating_add(RECORD_HEADER_LEN as u64 + new_entry)
            .saturating_add(payload_len)
    }

    /// Writes the sparse index and the footer, flushes, and returns the inner writer
    /// with a summary of the file.
    pub fn finish(mut self) -> Result<(W, FileSummary)> {
        self.close_block();
        let index_offset = self.pos;
        let mut tail = Vec::with_capacity(self.entries.len() * INDEX_ENTRY_LEN + FOOTER_LEN);
        for (entry, crc) in &self.entries {
            tail.write_u64::<LittleEndian>(entry.index)?;
            tail.write_u64::<LittleEndian>(entry.offset)?;
            tail.write_u32::<LittleEndian>(*crc)?;
        }
        let first = self.first.unwrap_or(0);
        tail.write_u64::<LittleEndian>(self.records)?;
        tail.write_u64::<LittleEndian>(first)?;
        tail.write_u64::<LittleEndian>(self.last)?;
        tail.write_u64::<LittleEndian>(HEADER_LEN as u64)?;
        tail.write_u64::<LittleEndian>(index_offset)?;
        tail.write_u64::<LittleEndian>(self.entries.len() as u64)?;
        tail.write_u32::<LittleEndian>(self.interval as u32)?;
        // The metadata checksum goes here; it is computed over everything else below.
        tail.write_u32::<LittleEndian>(0)?;
        tail.extend_from_slice(&MAGIC);
        let crc = crate::format::metadata_crc(&self.header, &tail).unwrap_or(0);
        let crc_at = tail.len() - FOOTER_LEN + crate::format::F_META_CRC;
        LittleEndian::write_u32(&mut tail[crc_at..crc_at + 4], crc);
        self.inner.write_all(&tail)?;
        self.inner.flush()?;
        let summary = FileSummary {
            record_count: self.records,
            index_range: self.first.map(|f| (f, self.last)),
            bytes: index_offset + tail.len() as u64,
        };
        Ok((self.inner, summary))
    }
}

/// Writes one map file on disk so that it appears under its final name only once complete.
///
/// Records go to a temporary file beside the destination (`.<name>.tmp`); [`FileWriter::finish`]
/// fsyncs it, renames it to its final name and fsyncs the directory. Dropping an unfinished
/// writer removes the temporary file.
#[derive(Debug)]
pub struct FileWriter {
    writer: Option<MapFileWriter<ChunkWriter<File>>>,
    temp: PathBuf,
    dest: PathBuf,
}

impl FileWriter {
    /// Starts writing a map file that will appear at `path` once finished.
    pub fn create(path: impl AsRef<Path>, options: WriterOptions) -> Result<Self> {
        let dest = path.as_ref().to_path_buf();
        let name = dest.file_name().ok_or_else(|| Error::FileName {
            name: dest.display().to_string(),
        })?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(".tmp");
        let temp = dest.with_file_name(temp_name);
        let file = File::create(&temp)?;
        let mut this = FileWriter {
            writer: None,
            temp,
            dest,
        };
        this.writer = Some(MapFileWriter::new(ChunkWriter::new(file), options)?);
        Ok(this)
    }

    /// Appends one record; see [`MapFileWriter::append`].
    pub fn append(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        match &mut self.writer {
            Some(writer) => writer.append(index, payload),
            // Only `finish` takes the writer, and it consumes `self`.
            None => Err(Error::Io(std::io::Error::other(
                "FileWriter used after finish",
            ))),
        }
    }

    /// The map file writer inside, for its size accounting.
    pub fn inner(&self) -> Option<&MapFileWriter<ChunkWriter<File>>> {
        self.writer.as_ref()
    }

    /// The path the file will have once finished.
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// Finishes the file, makes it durable and moves it to its final name.
    pub fn finish(mut self) -> Result<FileSummary> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::Io(std::io::Error::other("FileWriter finished twice")))?;
        let (buffered, summary) = writer.finish()?;
        let file = buffered.into_inner()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.temp, &self.dest)?;
        sync_dir(&self.dest)?;
        Ok(summary)
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if self.writer.is_some() {
            // Best effort: an unfinished file is garbage, and the error has been reported
            // (or the thread is unwinding) already.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Fsyncs the directory holding `path`, so that a rename into it survives a crash.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A part file written by a [`MultiFileWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartFile {
    /// Where it is.
    pub path: PathBuf,
    /// The partition number in its name.
    pub partition: u32,
    /// Its first and last index (part files are never empty).
    pub first_index: u64,
    /// Its last index.
    pub last_index: u64,
    /// The number of records in it.
    pub record_count: u64,
    /// Its length in bytes.
    pub bytes: u64,
}

/// How a [`MultiFileWriter`] writes its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultiWriterOptions {
    /// Roll over to a new file when the next record would make the current one longer than
    /// this. A single record longer than the limit gets a file of its own, and records sharing
    /// one index are never split between files (the file-set rule needs that), so a file can
    /// exceed the limit in those two cases.
    pub max_file_bytes: u64,
    /// How each file is written.
    pub writer: WriterOptions,
}

impl Default for MultiWriterOptions {
    fn default() -> Self {
        MultiWriterOptions {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            writer: WriterOptions::default(),
        }
    }
}

impl MultiWriterOptions {
    /// These options with another size limit.
    #[must_use]
    pub fn with_max_file_bytes(mut self, max_file_bytes: u64) -> Self {
        self.max_file_bytes = max_file_bytes;
        self
    }

    /// These options with other per-file options.
    #[must_use]
    pub fn with_writer(mut self, writer: WriterOptions) -> Self {
        self.writer = writer;
        self
    }
}

/// Writes one partition's sorted records as a series of part files named
/// `part-r-<partition:05>-<first index>`, rolling over at a size limit.
///
/// ```
/// use mapfile::{MultiFileWriter, MultiWriterOptions};
/// let dir = tempfile::tempdir()?;
/// let options = MultiWriterOptions::default().with_max_file_bytes(200);
/// let mut writer = MultiFileWriter::new(dir.path(), 3, options)?;
/// for i in 0..10u64 {
///     writer.append(i * 10, &[0u8; 40])?;
/// }
/// let files = writer.finish()?;
/// assert!(files.len() > 1);
/// assert_eq!(files[0].path.file_name().unwrap(), "part-r-00003-0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MultiFileWriter {
    dir: PathBuf,
    partition: u32,
    options: MultiWriterOptions,
    current: Option<(FileWriter, u64)>,
    last: Option<u64>,
    written: Vec<PartFile>,
}

impl MultiFileWriter {
    /// Starts writing partition `partition` into the directory `dir` (which must exist).
    pub fn new(dir: impl AsRef<Path>, partition: u32, options: MultiWriterOptions) -> Result<Self> {
        options.writer.check()?;
        Ok(MultiFileWriter {
            dir: dir.as_ref().to_path_buf(),
            partition,
            options,
            current: None,
            last: None,
            written: Vec::new(),
        })
    }

    /// Appends one record, rolling over to a new file first when it would not fit.
    pub fn append(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        if let Some(previous) = self.last
            && index < previous
        {
            return Err(Error::OutOfOrder {
                previous,
                next: index,
            });
        }
        let roll = match &self.current {
            Some((file, _)) => {
                let projected = file
                    .inner()
                    .map_or(0, |w| w.finished_len_with(payload.len() as u64));
                projected > self.options.max_file_bytes && self.last != Some(index)
            }
            None => false,
        };
        if roll {
            self.close_current()?;
        }
        if self.current.is_none() {
            let path = self.dir.join(part_file_name(self.partition, index));
            self.current = Some((FileWriter::create(path, self.options.writer)?, index));
        }
        if let Some((file, _)) = &mut self.current {
            file.append(index, payload)?;
        }
        self.last = Some(index);
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some((file, first)) = self.current.take() {
            let path = file.path().to_path_buf();
            let summary = file.finish()?;
            let (first_index, last_index) = summary.index_range.unwrap_or((first, first));
            self.written.push(PartFile {
                path,
                partition: self.partition,
                first_index,
                last_index,
                record_count: summary.record_count,
                bytes: summary.bytes,
            });
        }
        Ok(())
    }

    /// The files finished so far (the one being written is not among them).
    pub fn files_written(&self) -> &[PartFile] {
        &self.written
    }

    /// Finishes the last file and returns every file written, in index order.
    /// Writing no records writes no files.
    pub fn finish(mut self) -> Result<Vec<PartFile>> {
        self.close_current()?;
        Ok(std::mem::take(&mut self.written))
    }
}
