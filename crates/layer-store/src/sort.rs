//! Bounded-memory external sort of `(index, payload)` records: records collect in an arena
//! until the memory budget is reached, then spill as a sorted run to a temporary directory;
//! reading back merges the runs k ways, restricted to any index range, so that partitions
//! can be merged and written in parallel.
//!
//! Runs spill in one of two ways, chosen at the first spill from the mean record size:
//! - **Inline** (small records): a run holds its records, payloads included, in index order.
//! - **Value log** (records of [`LOG_RECORD_BYTES`] and up, such as tiles): the arena's
//!   payloads are appended to the value log in index order, gathered straight from the
//!   arena (vectored writes, no copy in between); a run holds only `(index, place in the
//!   log, length)`, and a merge reads each payload from the log by its place. Spilling then
//!   costs one write of the bytes, compacting runs copies no payload, and reading back reads
//!   each payload once.
//!
//! Because a run's payloads lie in the log in index order, the records of one partition
//! (an index range) fill one stretch of the log per run. A consuming merge
//! ([`Sorted::merge_consuming`]), which reads each range once, punches the stretches it has
//! read out of the log as it goes, so their page-cache memory is free again while the
//! parts are still being written, and the parts' writes take it up. A write then holds
//! little more page cache than its parts: in store-compare (20 000 tiles, 1126 MiB), the
//! page cache grew by at most 1142-1159 MiB during a write, against 2050 MiB when the log
//! stayed whole until the end. Under memory pressure that is time too: in a memory cgroup
//! of 1.6 GiB the same write took 1.0-1.7 s against 2.2-3.0 s (1.2 GiB: 1.9-2.4 s against
//! 2.8-3.0 s), since the log no longer pushes the parts out to make room. On a virtual
//! machine whose free memory goes back to the host, memory freed this way is also cheaper
//! to write into than fresh memory (1 GiB written with `dd`: 0.22-0.28 s of kernel time
//! into pages just freed, 1.9-3.0 s into fresh ones).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, IoSlice, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use byteorder::{ByteOrder, LittleEndian};
use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use mapfile::ChunkWriter;
use parking_lot::Mutex;

use crate::arena::Chunk;
use crate::error::Error;
use crate::fsutil::{at, remove_tree};

/// The arena grows in chunks of this size, so it never copies itself while growing (a
/// doubling `Vec` would briefly need 1.5 times its size) and chunks are reused after a spill.
const CHUNK_BYTES: usize = 4 << 20;

/// The smallest arena chunk, for tiny budgets (tests force spills with them).
const MIN_CHUNK_BYTES: usize = 4096;

/// At most this many runs are kept: the next spill first merges them into one, so a merge
/// never holds more files open (or more read buffers) than this.
const MAX_RUNS: usize = 32;

/// One sparse index entry in a spilled run every this many records: runs are read back
/// starting at a partition's first index, and 64 keeps the index at 1/64 of a record header
/// per record while a seek scans at most 64 records.
const RUN_INDEX_INTERVAL: u64 = 64;

/// The write size of spilled runs. Unlike part files, runs are read back with `read`, never
/// mapped, so they gain nothing from huge pages; and writes of 2 MiB were measured 4-5
/// times slower in kernel time than writes of 512 KiB on the benchmark machine (a virtual
/// machine, where each fresh 2 MiB page-cache folio costs the host a fault).
const SPILL_CHUNK_BYTES: usize = 512 << 10;

/// The value log reserves disk space ahead of its writes in steps as large as the file
/// (see [`ValueLog::reserve`]), of at least this size...
const LOG_RESERVE_MIN_BYTES: u64 = 1 << 20;

/// ...and at most this size.
const LOG_RESERVE_BYTES: u64 = 64 << 20;

/// At most this many pieces go into one vectored write of the value log.
const MAX_IOV: usize = 128;

/// A consuming merge punches what it has read out of the value log in stretches of about
/// this size (and what is left at the end of its range).
const PUNCH_STEP_BYTES: u64 = 8 << 20;

/// Bytes of a record header in a spilled run: index (u64) and payload length (u32).
const RUN_RECORD_HEADER: usize = 12;

/// Bytes of a value log reference in a run, after the header: the offset (u64).
const LOG_REF_BYTES: usize = 8;

/// From this mean payload size up, spills go to a value log rather than into inline runs.
const LOG_RECORD_BYTES: u64 = 4096;

/// How runs hold their payloads; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpillMode {
    Inline,
    Log,
}

/// One file of the value log: spilled payloads, each run's share in index order, run after
/// run.
#[derive(Debug)]
struct ValueLog {
    path: PathBuf,
    file: File,
    /// Bytes appended.
    len: u64,
    /// Bytes of disk space reserved for the file so far (see [`ValueLog::reserve`]).
    reserved: u64,
}

/// Where spilled payloads go: the value log, written on this thread or by writer threads
/// of their own.
///
/// The log is one file per writer (buffered writes to one file take the file's lock, so
/// writers of one file would take turns). A spilled run is cut into one slice per file, in
/// index order, so a run's places grow from its first record to its last. A place in the
/// log is `file << LOG_FILE_SHIFT | offset`.
#[derive(Debug)]
enum LogSink {
    /// No value log (yet).
    None,
    /// One file, written by the thread that spills.
    Sync(ValueLog),
    /// A file per writer thread: each writer gets its slice of a spilled run, and the last
    /// to finish hands the run (its arena chunks) back.
    Async {
        to_writers: Vec<Sender<Slice>>,
        back: Receiver<MemRun>,
        writers: Vec<JoinHandle<Result<(), Error>>>,
        /// Set by a writer that failed, so that the sorter stops instead of spilling on.
        failed: Arc<AtomicBool>,
    },
}

/// The bits of a value log place that hold the offset within its file.
const LOG_FILE_SHIFT: u32 = 56;

impl LogSink {
    /// Creates the value log files in `dir`, written by `writers` threads (none: by the
    /// caller), and returns their paths.
    fn start(dir: &Path, writers: usize) -> Result<(LogSink, Vec<PathBuf>), Error> {
        let path_of = |n: usize| dir.join(format!("values-{n}"));
        if writers > 0 {
            let (give_back, back) = unbounded();
            let failed = Arc::new(AtomicBool::new(false));
            let mut to_writers = Vec::with_capacity(writers);
            let mut handles = Vec::with_capacity(writers);
            let mut paths = Vec::with_capacity(writers);
            for n in 0..writers {
                let path = path_of(n);
                let mut log = ValueLog::create(path.clone())?;
                let (to_writer, slices) = unbounded::<Slice>();
                let give_back = give_back.clone();
                let flag = Arc::clone(&failed);
                let spawned = std::thread::Builder::new()
                    .name("layer-store-spill".into())
                    .spawn(move || {
                        let mut failed = None;
                        for slice in slices {
                            if failed.is_none() {
                                failed = log.append_payloads(&slice.run, slice.entries).err();
                                if failed.is_some() {
                                    flag.store(true, Ordering::Relaxed);
                                }
                            }
                            // Always handed back, so a failed writer never leaves the sorter
                            // waiting for memory; the error is reported when it finishes.
                            if let Some(run) = Arc::into_inner(slice.run) {
                                let _ = give_back.send(run);
                            }
                        }
                        failed.map_or(Ok(()), Err)
                    });
                match spawned {
                    Ok(handle) => {
                        handles.push(handle);
                        to_writers.push(to_writer);
                        paths.push(path);
                    }
                    // Fewer threads than asked for: the ones running will do.
                    Err(_) => break,
                }
            }
            if !handles.is_empty() {
                let sink = LogSink::Async {
                    to_writers,
                    back,
                    writers: handles,
                    failed,
                };
                return Ok((sink, paths));
            }
        }
        // No thread asked for, or none to be had: one file, written on this thread.
        let path = path_of(0);
        let sink = LogSink::Sync(ValueLog::create(path.clone())?);
        Ok((sink, vec![path]))
    }

    /// Waits for every spilled run to be written; reports the first writer's error. Finishing
    /// again does nothing.
    fn finish(&mut self) -> Result<(), Error> {
        match self {
            LogSink::None | LogSink::Sync(_) => Ok(()),
            LogSink::Async {
                to_writers,
                writers,
                ..
            } => {
                to_writers.clear();
                let mut result = Ok(());
                for handle in writers.drain(..) {
                    let joined = handle.join().unwrap_or(Err(Error::Internal {
                        what: "a spill writer thread panicked",
                    }));
                    if result.is_ok() {
                        result = joined;
                    }
                }
                result
            }
        }
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

impl ValueLog {
    fn create(path: PathBuf) -> Result<Self, Error> {
        let file = File::create(&path).map_err(at(&path))?;
        Ok(ValueLog {
            path,
            file,
            len: 0,
            reserved: 0,
        })
    }

    /// Appends the payloads of `run.entries[entries]`, back to back in that order, into
    /// space reserved ahead of them. The payloads are gathered straight from the arena into
    /// vectored writes that end at multiples of [`SPILL_CHUNK_BYTES`] (see there) in the
    /// file, so the page cache holds the log in folios of that size, which a punched
    /// stretch frees whole.
    fn append_payloads(&mut self, run: &MemRun, entries: Range<usize>) -> Result<(), Error> {
        // The sorter has counted these bytes into the file's length already: a payload
        // missing here would shift every later place, so it is an error, never skipped.
        let missing = Error::Internal {
            what: "a spilled entry outside its run",
        };
        let entries = run.entries.get(entries).ok_or(missing)?;
        let total: u64 = entries.iter().map(|e| u64::from(e.len)).sum();
        if self.len + total > self.reserved {
            self.reserve(total);
        }
        let step = SPILL_CHUNK_BYTES as u64;
        let mut batch: Vec<IoSlice<'_>> = Vec::with_capacity(MAX_IOV);
        let mut batch_len = 0u64;
        for e in entries {
            let mut piece = run.payload_at(e).ok_or(Error::Internal {
                what: "a spilled entry outside its arena chunk",
            })?;
            while !piece.is_empty() {
                let room = step - (self.len + batch_len) % step;
                let take = piece.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                let (now, rest) = piece.split_at(take);
                batch.push(IoSlice::new(now));
                batch_len += take as u64;
                piece = rest;
                if take as u64 == room || batch.len() == MAX_IOV {
                    self.write_batch(&mut batch)?;
                    batch_len = 0;
                }
            }
        }
        self.write_batch(&mut batch)
    }

    /// Writes `batch` whole at the end of the log, and empties it.
    fn write_batch(&mut self, batch: &mut Vec<IoSlice<'_>>) -> Result<(), Error> {
        let mut slices = &mut batch[..];
        while !slices.is_empty() {
            match self.file.write_vectored(slices) {
                Ok(0) => return Err(at(&self.path)(std::io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.len += n as u64;
                    IoSlice::advance_slices(&mut slices, n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(at(&self.path)(e)),
            }
        }
        batch.clear();
        Ok(())
    }

    /// Reserves disk space for at least `more` bytes past the end (Linux `fallocate`
    /// keeping the file's size), in steps from [`LOG_RESERVE_MIN_BYTES`] to
    /// [`LOG_RESERVE_BYTES`].
    ///
    /// Writing into reserved space costs the kernel less than growing the file write by
    /// write: on the benchmark machine (ext4), a C program put 850 MiB into the page cache
    /// in 0.21 s (six runs) against 0.29–0.53 s. The space stays unwritten unless memory
    /// runs short, since the log is removed before its pages would be written back, so no
    /// disk time is spent on it. Part files are not reserved: they do reach the disk, and
    /// converting reserved space to written space made them slower (2.58–2.76 s against
    /// 2.25–2.51 s for 1.1 GB). A failure (another file system, no space left) only ends
    /// the reserving: the writes themselves then report a real shortage.
    fn reserve(&mut self, more: u64) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // Steps grow with the file, so that a small spill reserves little.
            let step = more.max(self.len.clamp(LOG_RESERVE_MIN_BYTES, LOG_RESERVE_BYTES));
            let (Ok(offset), Ok(len)) = (
                libc::off64_t::try_from(self.len),
                libc::off64_t::try_from(step),
            ) else {
                self.reserved = u64::MAX;
                return;
            };
            // SAFETY: the descriptor is open for the life of `self.file`, and the call only
            // reads its arguments.
            let done = unsafe {
                libc::fallocate64(
                    self.file.as_raw_fd(),
                    libc::FALLOC_FL_KEEP_SIZE,
                    offset,
                    len,
                )
            };
            self.reserved = if done == 0 { self.len + step } else { u64::MAX };
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = more;
            self.reserved = u64::MAX;
        }
    }
}

/// Where a record sits in the arena.
#[derive(Debug, Clone, Copy)]
struct Entry {
    index: u64,
    chunk: u32,
    offset: u32,
    len: u32,
}

/// A sorted run spilled to disk.
#[derive(Debug)]
struct Run {
    path: PathBuf,
    mode: SpillMode,
    /// (index, byte offset) of every [`RUN_INDEX_INTERVAL`]th record.
    sparse: Vec<(u64, u64)>,
    /// A value log run whose payloads lie in the log in its own order, back to back within
    /// each file (a spilled run, not a compacted one), so that a consuming merge may punch
    /// what it has read.
    sequential: bool,
}

/// Records held in memory, sorted once [`Sorter::finish`] runs.
#[derive(Debug, Default)]
struct MemRun {
    chunks: Vec<Chunk>,
    entries: Vec<Entry>,
}

/// One value log writer's share of a spilled run: the payloads of `run.entries[entries]`.
#[derive(Debug)]
struct Slice {
    run: Arc<MemRun>,
    entries: Range<usize>,
}

impl MemRun {
    /// Memory held: the chunks and the entries.
    fn bytes(&self) -> usize {
        self.chunks.iter().map(Chunk::capacity).sum::<usize>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
    }

    fn payload(&self, e: &Entry) -> &[u8] {
        self.payload_at(e).unwrap_or(&[])
    }

    /// The payload of `e`, or `None` when `e` points outside the arena.
    fn payload_at(&self, e: &Entry) -> Option<&[u8]> {
        self.chunks
            .get(e.chunk as usize)
            .and_then(|c| c.get(e.offset as usize..e.offset as usize + e.len as usize))
    }
}

/// Collects records in any order and amount within a memory budget.
#[derive(Debug)]
pub(crate) struct Sorter {
    budget: usize,
    chunk_bytes: usize,
    mem: MemRun,
    /// Chunks emptied by a spill, ready for reuse.
    free: Vec<Chunk>,
    runs: Vec<Run>,
    /// How runs hold payloads: chosen at the first spill.
    mode: Option<SpillMode>,
    /// Threads writing the value log (none: the thread pushing records writes it).
    log_writers: usize,
    log: LogSink,
    /// The value log's files.
    log_paths: Vec<PathBuf>,
    /// The length of each value log file, counting payloads still on their way to it.
    log_lens: Vec<u64>,
    /// Bytes of spilled runs handed to the log writer threads and not back yet.
    in_flight: usize,
    spill_dir: PathBuf,
    spill_dir_made: bool,
    next_run: u64,
    stats: SortStats,
}

/// Counts over everything pushed into a sorter.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SortStats {
    /// Records pushed.
    pub(crate) records: u64,
    /// Payload bytes pushed.
    pub(crate) bytes: u64,
    /// Runs spilled to disk.
    pub(crate) spills: u64,
}

impl Sorter {
    /// A sorter that keeps at most about `budget` bytes in memory and spills runs into
    /// `spill_dir` (created on the first spill, removed when the sorted result is dropped).
    ///
    /// With `log_writers` above 0, value log spills (see the module docs) are written by
    /// that many threads of their own, each writing its share of every spilled run.
    pub(crate) fn new(budget: usize, spill_dir: PathBuf, log_writers: usize) -> Self {
        Sorter {
            budget: budget.max(1),
            chunk_bytes: (budget / 8).clamp(MIN_CHUNK_BYTES, CHUNK_BYTES),
            mem: MemRun::default(),
            free: Vec::new(),
            runs: Vec::new(),
            mode: None,
            log_writers,
            log: LogSink::None,
            log_paths: Vec::new(),
            log_lens: Vec::new(),
            in_flight: 0,
            spill_dir,
            spill_dir_made: false,
            next_run: 0,
            stats: SortStats::default(),
        }
    }

    /// Memory held: the arena and its entries, its spare chunks, and runs on their way to
    /// the value log.
    fn used(&self) -> usize {
        self.mem.bytes() + self.free.iter().map(Chunk::capacity).sum::<usize>() + self.in_flight
    }

    /// Takes back a run the log writers are done with: its chunks, and its entries' memory
    /// when the arena has none.
    fn take_back(&mut self, run: MemRun) {
        self.in_flight = self.in_flight.saturating_sub(run.bytes());
        for chunk in run.chunks {
            self.recycle(chunk);
        }
        if self.mem.entries.capacity() == 0 {
            let mut entries = run.entries;
            entries.clear();
            self.mem.entries = entries;
        }
    }

    /// Keeps a spilled chunk for reuse when it has the standard size; frees it otherwise.
    fn recycle(&mut self, mut chunk: Chunk) {
        if chunk.capacity() == self.chunk_bytes {
            chunk.clear();
            self.free.push(chunk);
        }
    }

    /// Takes back the runs the log writers are done with; with `wait`, waits for one
    /// first. Fails when a writer has failed (its error is reported) or stopped, rather
    /// than wait for chunks that will not come back.
    fn collect_returned(&mut self, wait: bool) -> Result<(), Error> {
        let LogSink::Async {
            back,
            writers,
            failed,
            ..
        } = &self.log
        else {
            return Ok(());
        };
        let mut got: Vec<MemRun> = Vec::new();
        let mut broken = failed.load(Ordering::Relaxed);
        while wait && got.is_empty() && !broken {
            match back.recv_timeout(Duration::from_millis(50)) {
                Ok(chunk) => got.push(chunk),
                Err(RecvTimeoutError::Timeout) => {
                    // Writers only end once told to: one that ended now has panicked.
                    broken = writers.iter().any(JoinHandle::is_finished)
                        || failed.load(Ordering::Relaxed);
                }
                Err(RecvTimeoutError::Disconnected) => broken = true,
            }
        }
        got.extend(back.try_iter());
        for run in got {
            self.take_back(run);
        }
        if broken {
            self.in_flight = 0;
            self.log.finish()?;
            return Err(Error::Internal {
                what: "a spill writer thread stopped",
            });
        }
        Ok(())
    }

    /// Adds one record whose payload is the concatenation of `parts`.
    pub(crate) fn push(&mut self, index: u64, parts: &[&[u8]]) -> Result<(), Error> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len32 = u32::try_from(len).map_err(|_| Error::RecordTooLarge { len: len as u64 })?;
        loop {
            let fits_current = self.mem.chunks.last().is_some_and(|c| c.room() >= len);
            if !fits_current && self.in_flight > 0 {
                self.collect_returned(false)?;
            }
            let reusable = self.free.last().is_some_and(|c| c.capacity() >= len);
            let chunk_growth = if fits_current || reusable {
                0
            } else {
                len.max(self.chunk_bytes)
            };
            let entry_growth = if self.mem.entries.len() == self.mem.entries.capacity() {
                self.mem.entries.capacity().max(16) * std::mem::size_of::<Entry>()
            } else {
                0
            };
            if self.used() + chunk_growth + entry_growth > self.budget {
                // Over budget: wait for memory from the log writer, or spill to make some;
                // a record arriving at an empty arena is taken whatever its size.
                if self.in_flight > 0 {
                    self.collect_returned(true)?;
                    continue;
                }
                if !fits_current && !reusable && !self.free.is_empty() {
                    // Spare chunks too small for this record: give them up first.
                    self.free.clear();
                    continue;
                }
                if !self.mem.entries.is_empty() {
                    self.spill()?;
                    continue;
                }
            }
            if !fits_current {
                let chunk = match self.free.pop() {
                    Some(c) if len <= c.capacity() => c,
                    _ => Chunk::with_capacity(len.max(self.chunk_bytes))?,
                };
                self.mem.chunks.push(chunk);
            }
            break;
        }
        let chunk_no = self.mem.chunks.len() - 1;
        let Some(chunk) = self.mem.chunks.last_mut() else {
            return Err(Error::Internal {
                what: "sorter has no chunk after allocating one",
            });
        };
        let offset = u32::try_from(chunk.len()).map_err(|_| Error::Internal {
            what: "sorter chunk longer than 4 GiB",
        })?;
        for p in parts {
            if !chunk.extend_from_slice(p) {
                return Err(Error::Internal {
                    what: "sorter chunk too small for the record it was chosen for",
                });
            }
        }
        self.mem.entries.push(Entry {
            index,
            chunk: chunk_no as u32,
            offset,
            len: len32,
        });
        self.stats.records += 1;
        self.stats.bytes += len as u64;
        Ok(())
    }

    /// Writes the records in memory as one sorted run and empties the arena.
    fn spill(&mut self) -> Result<(), Error> {
        if self.mem.entries.is_empty() {
            return Ok(());
        }
        if !self.spill_dir_made {
            fs::create_dir_all(&self.spill_dir).map_err(at(&self.spill_dir))?;
            self.spill_dir_made = true;
        }
        if self.runs.len() >= MAX_RUNS {
            self.compact()?;
        }
        let mode = *self.mode.get_or_insert_with(|| {
            let mean = self.stats.bytes / self.stats.records.max(1);
            if mean >= LOG_RECORD_BYTES {
                SpillMode::Log
            } else {
                SpillMode::Inline
            }
        });
        // A stable sort keeps records of equal index in arrival order, which the merge
        // relies on to let a later duplicate key win.
        self.mem.entries.sort_by_key(|e| e.index);
        let path = self.next_run_path();
        match mode {
            SpillMode::Inline => self.spill_inline(path),
            SpillMode::Log => self.spill_to_log(path),
        }
    }

    /// Spills the arena as a run holding its payloads.
    fn spill_inline(&mut self, path: PathBuf) -> Result<(), Error> {
        let mut out = RunWriter::create(path, SpillMode::Inline)?;
        for e in &self.mem.entries {
            out.push(e.index, self.mem.payload(e))?;
        }
        self.runs.push(out.finish()?);
        self.stats.spills += 1;
        self.mem.entries.clear();
        for chunk in std::mem::take(&mut self.mem.chunks) {
            self.recycle(chunk);
        }
        Ok(())
    }

    /// Spills the arena's payloads, in index order, to the value log, and a run of
    /// references into it.
    fn spill_to_log(&mut self, path: PathBuf) -> Result<(), Error> {
        if let LogSink::Async { failed, .. } = &self.log
            && failed.load(Ordering::Relaxed)
        {
            // A writer failed: report its error now rather than spill on.
            self.in_flight = 0;
            self.log.finish()?;
        }
        if matches!(self.log, LogSink::None) {
            let (sink, paths) = LogSink::start(&self.spill_dir, self.log_writers)?;
            self.log = sink;
            self.log_lens = vec![0; paths.len()];
            self.log_paths = paths;
        }
        // One slice of the (sorted) entries per file, of about equal bytes, in file order:
        // places then grow along the run.
        let files = self.log_lens.len();
        if files == 0 {
            return Err(Error::Internal {
                what: "value log without files",
            });
        }
        let entries = &self.mem.entries;
        let total: u64 = entries.iter().map(|e| u64::from(e.len)).sum();
        let mut cuts = Vec::with_capacity(files + 1);
        cuts.push(0);
        let mut before = 0u64;
        for (n, e) in entries.iter().enumerate() {
            if cuts.len() < files && before >= total * cuts.len() as u64 / files as u64 {
                cuts.push(n);
            }
            before += u64::from(e.len);
        }
        cuts.resize(files + 1, entries.len());
        let mut out = RunWriter::create(path, SpillMode::Log)?;
        for (file, len) in self.log_lens.iter_mut().enumerate() {
            for e in entries.get(cuts[file]..cuts[file + 1]).unwrap_or(&[]) {
                if *len >> LOG_FILE_SHIFT != 0 {
                    return Err(Error::Internal {
                        what: "value log file larger than 64 PiB",
                    });
                }
                out.push_ref(e.index, (file as u64) << LOG_FILE_SHIFT | *len, e.len)?;
                *len += u64::from(e.len);
            }
        }
        let mut run = out.finish()?;
        run.sequential = true;
        self.stats.spills += 1;
        match &mut self.log {
            LogSink::Sync(log) => {
                log.append_payloads(&self.mem, 0..self.mem.entries.len())?;
                self.mem.entries.clear();
                for chunk in std::mem::take(&mut self.mem.chunks) {
                    self.recycle(chunk);
                }
            }
            LogSink::Async { to_writers, .. } => {
                let spilled = Arc::new(std::mem::take(&mut self.mem));
                self.in_flight += spilled.bytes();
                for (file, tx) in to_writers.iter().enumerate() {
                    let entries = cuts[file]..cuts[file + 1];
                    if entries.is_empty() {
                        continue;
                    }
                    let slice = Slice {
                        run: Arc::clone(&spilled),
                        entries,
                    };
                    // A writer that is gone leaves its slice to be dropped here (finishing
                    // reports why); `spilled` still holds the run, so it is not lost.
                    let _ = tx.send(slice);
                }
                // The last holder hands the run back: here, when no writer has it (any
                // more), else the writer that finishes last.
                if let Some(run) = Arc::into_inner(spilled) {
                    self.take_back(run);
                }
            }
            LogSink::None => {
                return Err(Error::Internal {
                    what: "value log closed while spilling",
                });
            }
        }
        self.runs.push(run);
        Ok(())
    }

    fn next_run_path(&mut self) -> PathBuf {
        self.next_run += 1;
        self.spill_dir.join(format!("run-{:06}", self.next_run))
    }

    /// Merges every spilled run into one, keeping arrival order among equal indexes.
    fn compact(&mut self) -> Result<(), Error> {
        let path = self.next_run_path();
        let mode = self.mode.unwrap_or(SpillMode::Inline);
        let mut out = RunWriter::create(path, mode)?;
        {
            // Log runs merge their references only: no payload is read or copied.
            let read = match mode {
                SpillMode::Inline => Reading::Payloads,
                SpillMode::Log => Reading::References,
            };
            let mut merge = open_merge(&self.runs, &[], None, (0, u64::MAX), 64 << 10, read)?;
            while let Some((index, n)) = merge.next_source()? {
                match mode {
                    SpillMode::Inline => out.push(index, merge.sources[n].current())?,
                    SpillMode::Log => {
                        let (offset, len) = merge.sources[n].log_ref();
                        out.push_ref(index, offset, len)?;
                    }
                }
            }
        }
        let merged = out.finish()?;
        for run in self.runs.drain(..) {
            let _ = fs::remove_file(&run.path);
        }
        self.runs.push(merged);
        Ok(())
    }

    /// Ends the input: sorts what is in memory and returns the mergeable result.
    /// Fails when writing the value log failed.
    pub(crate) fn finish(mut self) -> Result<Sorted, Error> {
        // Every spilled chunk must be in the log before a merge reads it.
        self.log.finish()?;
        self.in_flight = 0;
        // From here on the sorted result owns (and removes) the spill directory.
        let spill_dir = self.spill_dir_made.then(|| self.spill_dir.clone());
        self.spill_dir_made = false;
        let logs = open_logs(std::mem::take(&mut self.log_paths))?;
        self.mem.entries.sort_by_key(|e| e.index);
        self.free.clear();
        Ok(Sorted {
            mem: std::mem::take(&mut self.mem),
            runs: std::mem::take(&mut self.runs),
            logs,
            spill_dir,
            stats: self.stats,
            consumed: Mutex::new(Vec::new()),
        })
    }
}

impl Drop for Sorter {
    /// A sorter dropped before it finished (the input failed, say) removes what it spilled,
    /// once its writers have stopped.
    fn drop(&mut self) {
        let _ = self.log.finish();
        if self.spill_dir_made {
            let _ = remove_tree(&self.spill_dir);
        }
    }
}

/// Opens the value log files for reading (and for punching what consuming merges have
/// read); a failure removes them (the caller's spill directory is not handed over yet, so
/// its `Drop` does).
fn open_logs(paths: Vec<PathBuf>) -> Result<Vec<(File, PathBuf)>, Error> {
    paths
        .into_iter()
        .map(|path| {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(at(&path))?;
            Ok((file, path))
        })
        .collect()
}

/// Frees the whole [`SPILL_CHUNK_BYTES`] stretches of `file` within `start..end` (Linux
/// `fallocate`, punching a hole, keeping the size): their pages leave the page cache and
/// their blocks the disk. The stretches at either end may hold bytes of a neighbouring
/// range and are left. A failure (a file system that cannot punch) leaves the bytes where
/// they are, which costs memory only until the log is removed.
fn punch(file: &File, start: u64, end: u64) {
    let step = SPILL_CHUNK_BYTES as u64;
    let from = start.div_ceil(step) * step;
    let to = end / step * step;
    if to <= from {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (
            libc::off64_t::try_from(from),
            libc::off64_t::try_from(to - from),
        ) else {
            return;
        };
        // SAFETY: the descriptor is open for the life of `file`, and the call only reads its
        // arguments.
        let _ = unsafe {
            libc::fallocate64(
                file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                offset,
                len,
            )
        };
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from, to);
    }
}

/// Reads exactly `buf.len()` bytes at `offset` of `file`, without moving a shared position,
/// so that merges on many threads read one open file.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (file, buf, offset);
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Sorted records, read back by merging the spilled runs and the records left in memory.
#[derive(Debug)]
pub(crate) struct Sorted {
    mem: MemRun,
    runs: Vec<Run>,
    /// The value log's files, opened, when runs refer into one.
    logs: Vec<(File, PathBuf)>,
    spill_dir: Option<PathBuf>,
    stats: SortStats,
    /// The index ranges consuming merges have been opened for.
    consumed: Mutex<Vec<(u64, u64)>>,
}

impl Drop for Sorted {
    fn drop(&mut self) {
        if let Some(dir) = &self.spill_dir {
            let _ = remove_tree(dir);
        }
    }
}

impl Sorted {
    /// Frees the records held in memory and removes the spill directory, but keeps its
    /// files open (see the `cleanup` module): the returned files hold the spill's pages
    /// until they are closed, which the caller may do on another thread.
    pub(crate) fn into_spill_files(mut self) -> Vec<File> {
        let Some(dir) = self.spill_dir.take() else {
            return Vec::new();
        };
        let mut files: Vec<File> = std::mem::take(&mut self.logs)
            .into_iter()
            .map(|(file, _)| file)
            .collect();
        // A run that cannot be opened is removed with the directory below, here.
        files.extend(
            self.runs
                .iter()
                .filter_map(|run| File::open(&run.path).ok()),
        );
        if cfg!(not(unix)) {
            // Elsewhere an open file cannot lose its name: close first.
            files.clear();
        }
        let _ = remove_tree(&dir);
        files
    }

    /// Counts over the input.
    pub(crate) fn stats(&self) -> SortStats {
        self.stats
    }

    /// The number of sources a merge reads from (for sizing read buffers).
    pub(crate) fn source_count(&self) -> usize {
        self.runs.len() + 1
    }

    /// Merges every record whose index lies in `lo..=hi`, in index order; records sharing
    /// an index come in arrival order. Each spilled run is read through a buffer of
    /// `buffer_bytes`. A range that meets one a consuming merge was opened for is an error
    /// (its payloads may be gone).
    #[cfg(test)]
    pub(crate) fn merge(&self, lo: u64, hi: u64, buffer_bytes: usize) -> Result<Merge<'_>, Error> {
        self.open(lo, hi, buffer_bytes, Reading::Payloads)
    }

    /// As [`Sorted::merge`], for the one merge of `lo..=hi`: what it reads from the value
    /// log is punched out of it as it goes (see the module docs), so the range can be
    /// merged only once, and a range that meets it cannot be merged after it.
    pub(crate) fn merge_consuming(
        &self,
        lo: u64,
        hi: u64,
        buffer_bytes: usize,
    ) -> Result<Merge<'_>, Error> {
        self.open(lo, hi, buffer_bytes, Reading::Consuming)
    }

    /// Opens a merge of `lo..=hi` once the range is found clear of the consumed ones (and
    /// taken, for a consuming merge).
    fn open(
        &self,
        lo: u64,
        hi: u64,
        buffer_bytes: usize,
        read: Reading,
    ) -> Result<Merge<'_>, Error> {
        {
            // Checked and taken under one lock, so that two threads cannot both take
            // ranges that meet.
            let mut consumed = self.consumed.lock();
            if consumed.iter().any(|&(a, b)| a <= hi && lo <= b) {
                return Err(Error::Internal {
                    what: "sorted records merged again after a consuming merge of their range",
                });
            }
            if read == Reading::Consuming {
                consumed.push((lo, hi));
            }
        }
        open_merge(
            &self.runs,
            &self.logs,
            Some(&self.mem),
            (lo, hi),
            buffer_bytes,
            read,
        )
    }
}

/// Writes one sorted run, little-endian: records of `[index u64][len u32][payload]`
/// (inline) or `[index u64][len u32][log offset u64]` (value log).
struct RunWriter {
    out: ChunkWriter<File>,
    path: PathBuf,
    mode: SpillMode,
    sparse: Vec<(u64, u64)>,
    offset: u64,
    records: u64,
}

impl RunWriter {
    fn create(path: PathBuf, mode: SpillMode) -> Result<Self, Error> {
        let file = File::create(&path).map_err(at(&path))?;
        Ok(RunWriter {
            out: ChunkWriter::with_chunk(SPILL_CHUNK_BYTES, file),
            path,
            mode,
            sparse: Vec::new(),
            offset: 0,
            records: 0,
        })
    }

    fn header(&mut self, index: u64, len: u32, body: u64) -> Result<(), Error> {
        if self.records.is_multiple_of(RUN_INDEX_INTERVAL) {
            self.sparse.push((index, self.offset));
        }
        let mut header = [0u8; RUN_RECORD_HEADER];
        LittleEndian::write_u64(&mut header[0..8], index);
        LittleEndian::write_u32(&mut header[8..12], len);
        self.out.write_all(&header).map_err(at(&self.path))?;
        self.offset += RUN_RECORD_HEADER as u64 + body;
        self.records += 1;
        Ok(())
    }

    /// Appends a record with its payload (an inline run).
    fn push(&mut self, index: u64, payload: &[u8]) -> Result<(), Error> {
        debug_assert_eq!(self.mode, SpillMode::Inline);
        self.header(index, payload.len() as u32, payload.len() as u64)?;
        self.out.write_all(payload).map_err(at(&self.path))
    }

    /// Appends a record whose payload is `len` bytes at `offset` in the value log.
    fn push_ref(&mut self, index: u64, offset: u64, len: u32) -> Result<(), Error> {
        debug_assert_eq!(self.mode, SpillMode::Log);
        self.header(index, len, LOG_REF_BYTES as u64)?;
        self.out
            .write_all(&offset.to_le_bytes())
            .map_err(at(&self.path))
    }

    fn finish(mut self) -> Result<Run, Error> {
        self.out.flush().map_err(at(&self.path))?;
        Ok(Run {
            path: self.path,
            mode: self.mode,
            sparse: self.sparse,
            sequential: false,
        })
    }
}

/// What a merge reads of value log runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// References only: payloads are not read.
    References,
    /// Payloads.
    Payloads,
    /// Payloads, punching what was read out of the log (sequential runs only).
    Consuming,
}

/// Opens a merge of `runs` (oldest first) and then `mem` over the indexes `lo..=hi`; `log`
/// holds the value log files the runs refer into, if they do.
fn open_merge<'a>(
    runs: &'a [Run],
    logs: &'a [(File, PathBuf)],
    mem: Option<&'a MemRun>,
    (lo, hi): (u64, u64),
    buffer_bytes: usize,
    read: Reading,
) -> Result<Merge<'a>, Error> {
    let mut sources = Vec::with_capacity(runs.len() + 1);
    for run in runs {
        // Start at the last sparse entry below `lo`: records of index `lo` may begin
        // before the first entry whose index is `lo`.
        let k = run.sparse.partition_point(|&(i, _)| i < lo);
        let start = if k == 0 {
            0
        } else {
            run.sparse.get(k - 1).map_or(0, |s| s.1)
        };
        let mut file = File::open(&run.path).map_err(at(&run.path))?;
        file.seek(SeekFrom::Start(start)).map_err(at(&run.path))?;
        let log = if run.mode == SpillMode::Log && read != Reading::References {
            if logs.is_empty() {
                return Err(Error::Internal {
                    what: "a run refers to a value log that does not exist",
                });
            }
            logs
        } else {
            &[]
        };
        sources.push(Source::File(FileSource {
            reader: BufReader::with_capacity(buffer_bytes.max(4096), file),
            path: &run.path,
            mode: run.mode,
            log,
            offset: start,
            buf: Vec::new(),
            log_ref: (0, 0),
            punch: (read == Reading::Consuming && run.sequential).then_some(Stretch::default()),
            lo,
            hi,
        }));
    }
    if let Some(mem) = mem {
        let pos = mem.entries.partition_point(|e| e.index < lo);
        let end = mem.entries.partition_point(|e| e.index <= hi);
        sources.push(Source::Mem { mem, pos, end });
    }
    let mut merge = Merge {
        sources,
        heap: BinaryHeap::new(),
        pending: None,
    };
    for (n, source) in merge.sources.iter_mut().enumerate() {
        if let Some(index) = source.advance(true)? {
            merge.heap.push(Reverse((index, n)));
        }
    }
    Ok(merge)
}

/// One input of a merge.
#[derive(Debug)]
enum Source<'a> {
    Mem {
        mem: &'a MemRun,
        /// The next entry to hand out (after `advance`, the current one is `pos - 1`).
        pos: usize,
        end: usize,
    },
    File(FileSource<'a>),
}

#[derive(Debug)]
struct FileSource<'a> {
    reader: BufReader<File>,
    path: &'a Path,
    mode: SpillMode,
    /// The value log's files, when payloads are read from them.
    log: &'a [(File, PathBuf)],
    /// Where the next record of the run starts.
    offset: u64,
    /// The current record's payload (unless it is a reference not to be read).
    buf: Vec<u8>,
    /// The current record's (offset, length) in the value log, for a log run.
    log_ref: (u64, u32),
    /// In a consuming merge of a sequential run: the stretch of the log read and not yet
    /// punched.
    punch: Option<Stretch>,
    lo: u64,
    hi: u64,
}

/// Bytes `start..end` of value log file `file` (the default is an empty stretch, which
/// punches nothing).
#[derive(Debug, Default, Clone, Copy)]
struct Stretch {
    file: usize,
    start: u64,
    end: u64,
}

impl Stretch {
    /// Punches the stretch (see [`punch`]) out of its file among `logs`.
    fn punch(&self, logs: &[(File, PathBuf)]) {
        if let Some((log, _)) = logs.get(self.file) {
            punch(log, self.start, self.end);
        }
    }
}

impl FileSource<'_> {
    /// Notes that the payload at `start..end` of log file `file` has been read, and punches
    /// what has been read once it adds up to [`PUNCH_STEP_BYTES`]. A run's payloads follow
    /// each other within a file; a jump (to the next file) punches what came before.
    fn consumed(&mut self, file: usize, start: u64, end: u64) {
        let Some(s) = &mut self.punch else {
            return;
        };
        if s.file != file || s.end != start {
            s.punch(self.log);
            *s = Stretch { file, start, end };
        } else {
            s.end = end;
        }
        if s.end - s.start >= PUNCH_STEP_BYTES {
            s.punch(self.log);
            s.start = s.end / SPILL_CHUNK_BYTES as u64 * SPILL_CHUNK_BYTES as u64;
        }
    }

    /// Punches what is left of the stretch read: the range has ended.
    fn consumed_all(&mut self) {
        if let Some(s) = &mut self.punch {
            s.punch(self.log);
            *s = Stretch::default();
        }
    }

    fn spill_err(&self, what: &'static str) -> Error {
        Error::Spill {
            path: self.path.to_path_buf(),
            offset: self.offset,
            what,
        }
    }

    /// Reads the next record in range (and its payload, for inline runs and for log runs
    /// opened to read payloads); `None` at the end of the range.
    fn advance(&mut self, skip_below: bool) -> Result<Option<u64>, Error> {
        loop {
            let mut header = [0u8; RUN_RECORD_HEADER];
            match read_exact_or_eof(&mut self.reader, &mut header) {
                Ok(false) => {
                    self.consumed_all();
                    return Ok(None);
                }
                Ok(true) => {}
                Err(_) => return Err(self.spill_err("cannot read a record header")),
            }
            let index = LittleEndian::read_u64(&header[0..8]);
            let len = LittleEndian::read_u32(&header[8..12]);
            if index > self.hi {
                self.consumed_all();
                return Ok(None);
            }
            let skip = skip_below && index < self.lo;
            match self.mode {
                SpillMode::Inline => {
                    self.buf.resize(len as usize, 0);
                    if self.reader.read_exact(&mut self.buf).is_err() {
                        return Err(self.spill_err("cannot read a record payload"));
                    }
                    self.offset += (RUN_RECORD_HEADER + len as usize) as u64;
                }
                SpillMode::Log => {
                    let mut at = [0u8; LOG_REF_BYTES];
                    if self.reader.read_exact(&mut at).is_err() {
                        return Err(self.spill_err("cannot read a value log reference"));
                    }
                    self.offset += (RUN_RECORD_HEADER + LOG_REF_BYTES) as u64;
                    let place = u64::from_le_bytes(at);
                    self.log_ref = (place, len);
                    if !skip && !self.log.is_empty() {
                        let offset = place & ((1 << LOG_FILE_SHIFT) - 1);
                        let Some((log, log_path)) = usize::try_from(place >> LOG_FILE_SHIFT)
                            .ok()
                            .and_then(|n| self.log.get(n))
                        else {
                            return Err(self.spill_err("value log reference to no file"));
                        };
                        self.buf.resize(len as usize, 0);
                        let read = read_exact_at(log, &mut self.buf, offset);
                        if read.is_err() {
                            return Err(Error::Spill {
                                path: log_path.clone(),
                                offset,
                                what: "cannot read a payload from the value log",
                            });
                        }
                        // The payload is in `buf` now: its bytes in the log may go.
                        let file = (place >> LOG_FILE_SHIFT) as usize;
                        self.consumed(file, offset, offset + u64::from(len));
                    }
                }
            }
            if skip {
                continue;
            }
            return Ok(Some(index));
        }
    }
}

/// Fills `buf` completely, or returns `false` at a clean end of file.
fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

impl Source<'_> {
    fn advance(&mut self, first: bool) -> Result<Option<u64>, Error> {
        match self {
            Source::Mem { mem, pos, end } => {
                if *pos >= *end {
                    return Ok(None);
                }
                let index = mem.entries.get(*pos).map(|e| e.index);
                *pos += 1;
                Ok(index)
            }
            Source::File(f) => f.advance(first),
        }
    }

    fn current(&self) -> &[u8] {
        match self {
            Source::Mem { mem, pos, .. } => pos
                .checked_sub(1)
                .and_then(|p| mem.entries.get(p))
                .map_or(&[], |e| mem.payload(e)),
            Source::File(f) => &f.buf,
        }
    }

    /// The current record's place in the value log (log runs only).
    fn log_ref(&self) -> (u64, u32) {
        match self {
            Source::Mem { .. } => (0, 0),
            Source::File(f) => f.log_ref,
        }
    }
}

/// A k-way merge over sorted sources; see [`Sorted::merge`].
#[derive(Debug)]
pub(crate) struct Merge<'a> {
    sources: Vec<Source<'a>>,
    /// (index, source number): ties go to the lower source, which holds older records.
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    /// The source whose current record was handed out last and must advance first.
    pending: Option<usize>,
}

impl Merge<'_> {
    /// The index of the next record in index order and the source holding it (its
    /// current record), or `None` at the end.
    fn next_source(&mut self) -> Result<Option<(u64, usize)>, Error> {
        if let Some(n) = self.pending.take()
            && let Some(index) = self.sources[n].advance(false)?
        {
            self.heap.push(Reverse((index, n)));
        }
        let Some(Reverse((index, n))) = self.heap.pop() else {
            return Ok(None);
        };
        self.pending = Some(n);
        Ok(Some((index, n)))
    }

    /// The next record in index order, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> Result<Option<(u64, &[u8])>, Error> {
        Ok(self
            .next_source()?
            .map(|(index, n)| (index, self.sources[n].current())))
    }

    /// The index of the next record without consuming it.
    pub(crate) fn peek_index(&mut self) -> Result<Option<u64>, Error> {
        if let Some(n) = self.pending.take()
            && let Some(index) = self.sources[n].advance(false)?
        {
            self.heap.push(Reverse((index, n)));
        }
        Ok(self.heap.peek().map(|Reverse((i, _))| *i))
    }

    /// Collects every record of the next index into `group`; `false` at the end.
    pub(crate) fn next_group(&mut self, group: &mut Group) -> Result<bool, Error> {
        group.clear();
        let Some(first) = self.peek_index()? else {
            return Ok(false);
        };
        group.index = first;
        while self.peek_index()? == Some(first) {
            if let Some((_, payload)) = self.next_record()? {
                group.push(payload);
            }
        }
        Ok(true)
    }
}

/// The records sharing one index, copied out of a merge (in arrival order).
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// The shared index.
    pub(crate) index: u64,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Group {
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    pub(crate) fn push(&mut self, payload: &[u8]) {
        self.bytes.extend_from_slice(payload);
        self.ends.push(self.bytes.len());
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The `n`th payload.
    pub(crate) fn get(&self, n: usize) -> &[u8] {
        let start = if n == 0 { 0 } else { self.ends[n - 1] };
        &self.bytes[start..self.ends[n]]
    }

    /// Every payload, in arrival order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|n| self.get(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Advances a 64-bit linear congruential generator and returns its new state (the
    /// tests' indexes and lengths come from its high bits).
    fn step(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state
    }

    fn drain(sorted: &Sorted, lo: u64, hi: u64) -> Vec<(u64, Vec<u8>)> {
        let mut m = sorted.merge(lo, hi, 4096).unwrap();
        let mut out = Vec::new();
        while let Some((i, p)) = m.next_record().unwrap() {
            out.push((i, p.to_vec()));
        }
        out
    }

    #[test]
    fn spills_and_merges_stably() {
        let dir = std::env::temp_dir().join(format!("ls-sort-{}", std::process::id()));
        // A tiny budget forces a spill every chunk.
        let mut s = Sorter::new(1, dir.clone(), 0);
        // 5000 records of 4 bytes in 4 KiB chunks: about 50 spills, so runs get compacted.
        let mut model = Vec::new();
        let mut state = 12345u64;
        for n in 0..5000u32 {
            let r = step(&mut state);
            let index = (r >> 33) % 300;
            let payload = n.to_le_bytes();
            s.push(index, &[&payload[..2], &payload[2..]]).unwrap();
            model.push((index, payload.to_vec()));
        }
        model.sort_by_key(|r| r.0);
        let sorted = s.finish().unwrap();
        assert!(sorted.stats().spills > 1);
        assert_eq!(drain(&sorted, 0, u64::MAX), model);
        let sub: Vec<_> = model
            .iter()
            .filter(|r| (100..=120).contains(&r.0))
            .cloned()
            .collect();
        assert_eq!(drain(&sorted, 100, 120), sub);
        drop(sorted);
        assert!(!dir.exists());
    }

    #[test]
    fn large_records_spill_to_a_value_log_and_merge_stably() {
        let dir = std::env::temp_dir().join(format!("ls-sort-log-{}", std::process::id()));
        // Records of about 5 KiB with a 40 KiB budget: a spill every few records, more than
        // MAX_RUNS runs (so reference-only compaction runs), duplicates of indexes.
        let mut s = Sorter::new(40 << 10, dir.clone(), 2);
        let mut model = Vec::new();
        let mut state = 99u64;
        for n in 0..400u32 {
            let r = step(&mut state);
            let index = (r >> 33) % 150;
            let len = 4096 + (r >> 20) as usize % 2048;
            let payload: Vec<u8> = (0..len).map(|j| (n as usize * 7 + j) as u8).collect();
            s.push(index, &[&payload[..10], &payload[10..]]).unwrap();
            model.push((index, payload));
        }
        model.sort_by_key(|r| r.0);
        let sorted = s.finish().unwrap();
        assert!(
            sorted.stats().spills as usize > MAX_RUNS,
            "{:?}",
            sorted.stats()
        );
        assert!(
            !sorted.logs.is_empty(),
            "records this large spill to the value log"
        );
        assert_eq!(drain(&sorted, 0, u64::MAX), model);
        for (lo, hi) in [(0, 0), (17, 17), (40, 90), (149, u64::MAX)] {
            let sub: Vec<_> = model
                .iter()
                .filter(|r| (lo..=hi).contains(&r.0))
                .cloned()
                .collect();
            assert_eq!(drain(&sorted, lo, hi), sub, "{lo}..={hi}");
        }
        drop(sorted);
        assert!(!dir.exists());
    }

    /// The blocks allocated to every value log file of `sorted`.
    #[cfg(unix)]
    fn log_blocks(sorted: &Sorted) -> u64 {
        use std::os::unix::fs::MetadataExt;
        sorted
            .logs
            .iter()
            .map(|(f, _)| f.metadata().unwrap().blocks())
            .sum()
    }

    /// Whether the file system under `dir` can punch holes (tmpfs and ext4 can).
    #[cfg(target_os = "linux")]
    fn can_punch(dir: &Path) -> bool {
        use std::os::fd::AsRawFd;
        let path = dir.join("probe");
        let file = File::create(&path).unwrap();
        file.set_len(1 << 20).unwrap();
        // SAFETY: the descriptor is open for the life of `file`.
        let done = unsafe {
            libc::fallocate64(
                file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                0,
                4096,
            )
        };
        fs::remove_file(&path).unwrap();
        done == 0
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn consuming_merges_free_the_log_they_read_and_run_once() {
        let dir = std::env::temp_dir().join(format!("ls-sort-punch-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let punching = can_punch(&dir);
        // 1024 records of 64 KiB (64 MiB) with a 16 MiB budget: a few runs of several MiB in
        // each of two log files.
        let mut s = Sorter::new(16 << 20, dir.join("spill"), 2);
        let mut model = Vec::new();
        let mut state = 7u64;
        for n in 0..1024u32 {
            let r = step(&mut state);
            let index = (r >> 33) % 5000;
            let payload: Vec<u8> = (0..64 << 10).map(|j| (n as usize * 31 + j) as u8).collect();
            s.push(index, &[&payload]).unwrap();
            model.push((index, payload));
        }
        model.sort_by_key(|r| r.0);
        let sorted = s.finish().unwrap();
        assert!(sorted.stats().spills >= 3, "{:?}", sorted.stats());
        assert!(sorted.runs.iter().all(|r| r.sequential));
        let logged: u64 = sorted
            .logs
            .iter()
            .map(|(f, _)| f.metadata().unwrap().len())
            .sum();
        let before = log_blocks(&sorted);
        let drain_consuming = |lo: u64, hi: u64| {
            let mut m = sorted.merge_consuming(lo, hi, 4096).unwrap();
            let mut out = Vec::new();
            while let Some((i, p)) = m.next_record().unwrap() {
                out.push((i, p.to_vec()));
            }
            out
        };
        for (lo, hi) in [(0, 1999), (2000, 2999), (3000, u64::MAX)] {
            let want: Vec<_> = model
                .iter()
                .filter(|r| (lo..=hi).contains(&r.0))
                .cloned()
                .collect();
            assert!(drain_consuming(lo, hi) == want, "{lo}..={hi}");
        }
        if punching {
            // Blocks are 512 bytes; all but the 512 KiB stretches at the ends of each run's
            // share of a range were punched.
            let freed = (before - log_blocks(&sorted)) * 512;
            assert!(freed * 2 > logged, "freed {freed} of {logged} bytes");
        }
        // A consumed range cannot be merged again, in part or whole, either way.
        for (lo, hi) in [(0, 1999), (1500, 2500), (0, u64::MAX)] {
            assert!(sorted.merge(lo, hi, 4096).is_err(), "{lo}..={hi}");
            assert!(sorted.merge_consuming(lo, hi, 4096).is_err(), "{lo}..={hi}");
        }
        drop(sorted);
        fs::remove_dir_all(&dir).unwrap();
    }
}
