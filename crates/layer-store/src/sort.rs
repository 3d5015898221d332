//! Bounded-memory external sort of `(index, payload)` records: records collect in an arena
//! until the memory budget is reached, then spill as a sorted run to a temporary directory;
//! reading back merges the runs k ways, restricted to any index range, so that partitions
//! can be merged and written in parallel.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use byteorder::{ByteOrder, LittleEndian};
use mapfile::ChunkWriter;

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

/// Bytes of a record header in a spilled run: index (u64) and payload length (u32).
const RUN_RECORD_HEADER: usize = 12;

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
    /// (index, byte offset) of every [`RUN_INDEX_INTERVAL`]th record.
    sparse: Vec<(u64, u64)>,
}

/// Records held in memory, sorted once [`Sorter::finish`] runs.
#[derive(Debug, Default)]
struct MemRun {
    chunks: Vec<Vec<u8>>,
    entries: Vec<Entry>,
}

impl MemRun {
    fn payload(&self, e: &Entry) -> &[u8] {
        self.chunks
            .get(e.chunk as usize)
            .and_then(|c| c.get(e.offset as usize..e.offset as usize + e.len as usize))
            .unwrap_or(&[])
    }
}

/// Collects records in any order and amount within a memory budget.
#[derive(Debug)]
pub(crate) struct Sorter {
    budget: usize,
    chunk_bytes: usize,
    mem: MemRun,
    /// Chunks emptied by a spill, ready for reuse.
    free: Vec<Vec<u8>>,
    runs: Vec<Run>,
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
    pub(crate) fn new(budget: usize, spill_dir: PathBuf) -> Self {
        Sorter {
            budget: budget.max(1),
            chunk_bytes: (budget / 8).clamp(MIN_CHUNK_BYTES, CHUNK_BYTES),
            mem: MemRun::default(),
            free: Vec::new(),
            runs: Vec::new(),
            spill_dir,
            spill_dir_made: false,
            next_run: 0,
            stats: SortStats::default(),
        }
    }

    fn used(&self) -> usize {
        self.mem.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.mem.entries.capacity() * std::mem::size_of::<Entry>()
    }

    /// Adds one record whose payload is the concatenation of `parts`.
    pub(crate) fn push(&mut self, index: u64, parts: &[&[u8]]) -> Result<(), Error> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len32 = u32::try_from(len).map_err(|_| Error::RecordTooLarge { len: len as u64 })?;
        loop {
            let fits_current = self
                .mem
                .chunks
                .last()
                .is_some_and(|c| c.capacity() - c.len() >= len);
            let chunk_growth = if fits_current {
                0
            } else {
                len.max(self.chunk_bytes)
            };
            let entry_growth = if self.mem.entries.len() == self.mem.entries.capacity() {
                self.mem.entries.capacity().max(16) * std::mem::size_of::<Entry>()
            } else {
                0
            };
            if !self.mem.entries.is_empty()
                && self.used() + chunk_growth + entry_growth > self.budget
            {
                self.spill()?;
                continue;
            }
            if !fits_current {
                let chunk = match self.free.pop() {
                    Some(c) if len <= c.capacity() => c,
                    _ => Vec::with_capacity(len.max(self.chunk_bytes)),
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
            chunk.extend_from_slice(p);
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
        // A stable sort keeps records of equal index in arrival order, which the merge
        // relies on to let a later duplicate key win.
        self.mem.entries.sort_by_key(|e| e.index);
        let mut out = RunWriter::create(self.next_run_path())?;
        for e in &self.mem.entries {
            out.push(e.index, self.mem.payload(e))?;
        }
        self.runs.push(out.finish()?);
        self.stats.spills += 1;
        self.mem.entries.clear();
        for mut c in self.mem.chunks.drain(..) {
            if c.capacity() == self.chunk_bytes {
                c.clear();
                self.free.push(c);
            }
        }
        Ok(())
    }

    fn next_run_path(&mut self) -> PathBuf {
        self.next_run += 1;
        self.spill_dir.join(format!("run-{:06}", self.next_run))
    }

    /// Merges every spilled run into one, keeping arrival order among equal indexes.
    fn compact(&mut self) -> Result<(), Error> {
        let path = self.next_run_path();
        let mut out = RunWriter::create(path)?;
        {
            let mut merge = open_merge(&self.runs, None, 0, u64::MAX, 64 << 10)?;
            while let Some((index, payload)) = merge.next_record()? {
                out.push(index, payload)?;
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
    pub(crate) fn finish(mut self) -> Sorted {
        self.mem.entries.sort_by_key(|e| e.index);
        self.free.clear();
        Sorted {
            mem: std::mem::take(&mut self.mem),
            runs: std::mem::take(&mut self.runs),
            spill_dir: self.spill_dir_made.then(|| self.spill_dir.clone()),
            stats: self.stats,
        }
    }
}

/// Sorted records, read back by merging the spilled runs and the records left in memory.
#[derive(Debug)]
pub(crate) struct Sorted {
    mem: MemRun,
    runs: Vec<Run>,
    spill_dir: Option<PathBuf>,
    stats: SortStats,
}

impl Drop for Sorted {
    fn drop(&mut self) {
        if let Some(dir) = &self.spill_dir {
            let _ = remove_tree(dir);
        }
    }
}

impl Sorted {
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
    /// `buffer_bytes`.
    pub(crate) fn merge(&self, lo: u64, hi: u64, buffer_bytes: usize) -> Result<Merge<'_>, Error> {
        open_merge(&self.runs, Some(&self.mem), lo, hi, buffer_bytes)
    }
}

/// Writes one sorted run: records of `[index u64][len u32][payload]`, little-endian.
struct RunWriter {
    out: ChunkWriter<File>,
    path: PathBuf,
    sparse: Vec<(u64, u64)>,
    offset: u64,
    records: u64,
}

impl RunWriter {
    fn create(path: PathBuf) -> Result<Self, Error> {
        let file = File::create(&path).map_err(at(&path))?;
        Ok(RunWriter {
            out: ChunkWriter::with_chunk(SPILL_CHUNK_BYTES, file),
            path,
            sparse: Vec::new(),
            offset: 0,
            records: 0,
        })
    }

    fn push(&mut self, index: u64, payload: &[u8]) -> Result<(), Error> {
        if self.records.is_multiple_of(RUN_INDEX_INTERVAL) {
            self.sparse.push((index, self.offset));
        }
        let mut header = [0u8; RUN_RECORD_HEADER];
        LittleEndian::write_u64(&mut header[0..8], index);
        LittleEndian::write_u32(&mut header[8..12], payload.len() as u32);
        self.out.write_all(&header).map_err(at(&self.path))?;
        self.out.write_all(payload).map_err(at(&self.path))?;
        self.offset += (RUN_RECORD_HEADER + payload.len()) as u64;
        self.records += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Run, Error> {
        self.out.flush().map_err(at(&self.path))?;
        Ok(Run {
            path: self.path,
            sparse: self.sparse,
        })
    }
}

/// Opens a merge of `runs` (oldest first) and then `mem` over the indexes `lo..=hi`.
fn open_merge<'a>(
    runs: &'a [Run],
    mem: Option<&'a MemRun>,
    lo: u64,
    hi: u64,
    buffer_bytes: usize,
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
        sources.push(Source::File(FileSource {
            reader: BufReader::with_capacity(buffer_bytes.max(4096), file),
            path: &run.path,
            offset: start,
            buf: Vec::new(),
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
    offset: u64,
    buf: Vec<u8>,
    lo: u64,
    hi: u64,
}

impl FileSource<'_> {
    fn spill_err(&self, what: &'static str) -> Error {
        Error::Spill {
            path: self.path.to_path_buf(),
            offset: self.offset,
            what,
        }
    }

    /// Reads the next record in range into `buf`; `None` at the end of the range.
    fn advance(&mut self, skip_below: bool) -> Result<Option<u64>, Error> {
        loop {
            let mut header = [0u8; RUN_RECORD_HEADER];
            match read_exact_or_eof(&mut self.reader, &mut header) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(_) => return Err(self.spill_err("cannot read a record header")),
            }
            let index = LittleEndian::read_u64(&header[0..8]);
            let len = LittleEndian::read_u32(&header[8..12]) as usize;
            if index > self.hi {
                return Ok(None);
            }
            self.buf.resize(len, 0);
            if self.reader.read_exact(&mut self.buf).is_err() {
                return Err(self.spill_err("cannot read a record payload"));
            }
            self.offset += (RUN_RECORD_HEADER + len) as u64;
            if skip_below && index < self.lo {
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
    /// The next record in index order, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> Result<Option<(u64, &[u8])>, Error> {
        if let Some(n) = self.pending.take()
            && let Some(index) = self.sources[n].advance(false)?
        {
            self.heap.push(Reverse((index, n)));
        }
        let Some(Reverse((index, n))) = self.heap.pop() else {
            return Ok(None);
        };
        self.pending = Some(n);
        Ok(Some((index, self.sources[n].current())))
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
        let mut s = Sorter::new(1, dir.clone());
        // 5000 records of 4 bytes in 4 KiB chunks: about 50 spills, so runs get compacted.
        let mut model = Vec::new();
        let mut x = 12345u64;
        for n in 0..5000u32 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let index = (x >> 33) % 300;
            let payload = n.to_le_bytes();
            s.push(index, &[&payload[..2], &payload[2..]]).unwrap();
            model.push((index, payload.to_vec()));
        }
        model.sort_by_key(|r| r.0);
        let sorted = s.finish();
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
}
