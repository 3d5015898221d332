//! The reader: opens a map file from any bytes with cheap structural checks, looks records
//! up through the sparse index, and verifies every checksum on demand.

use std::ops::RangeInclusive;
use std::path::Path;

use crate::error::{Block, Error, Result, format_err};
use crate::fileset::normalize_ranges;
use crate::format::{
    F_DATA_OFFSET, F_FIRST_INDEX, F_INDEX_ENTRIES, F_INDEX_OFFSET, F_INTERVAL, F_LAST_INDEX,
    F_MAGIC, F_META_CRC, F_RECORD_COUNT, FOOTER_LEN, HEADER_LEN, INDEX_ENTRY_LEN, MAGIC,
    RECORD_HEADER_LEN, VERSION, metadata_crc, u32_at, u64_at,
};

/// One record: its index and a zero-copy slice of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record's index.
    pub index: u64,
    /// The record's payload, borrowed from the file's bytes.
    pub payload: &'a [u8],
}

/// What a map file's header and footer say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Info {
    /// The format version.
    pub version: u32,
    /// The number of records.
    pub record_count: u64,
    /// The smallest and largest index, or `None` when the file has no records.
    pub index_range: Option<(u64, u64)>,
    /// The file's length in bytes.
    pub file_bytes: u64,
    /// The bytes taken by records (headers and payloads).
    pub data_bytes: u64,
    /// The number of sparse index entries (also the number of checksummed record blocks).
    pub index_entries: u64,
    /// One sparse index entry every this many records.
    pub index_interval: u32,
}

/// The parsed footer, with every offset already checked against the file's length.
#[derive(Debug, Clone, Copy)]
struct Footer {
    record_count: u64,
    first_index: u64,
    last_index: u64,
    data_offset: usize,
    index_offset: usize,
    entries: usize,
    interval: u64,
    meta_crc: u32,
}

/// A reader over a memory-mapped file, as [`MapFileReader::open`] makes it.
pub type MappedReader = MapFileReader<memmap2::Mmap>;

/// Reads a map file held in any bytes: a `Vec<u8>` in tests, a memory map in use.
///
/// [`MapFileReader::new`] checks the structure cheaply (magic, version, footer, that every
/// offset and length lies inside the file, the sparse index's order); [`MapFileReader::verify`]
/// checks every checksum. Lookups never panic and never allocate more than the file's length
/// allows, whatever the bytes; a malformed record met during a lookup is an [`Error::Format`].
#[derive(Debug)]
pub struct MapFileReader<D> {
    data: D,
    footer: Footer,
    /// The sparse index's (first index, block offset) pairs, read once at open: each
    /// block's offset sits beside its key, so finding a block touches one cache line of them.
    keys: Vec<(u64, u64)>,
    /// A lookup table over the top bits of the key space, so that a lookup goes straight to
    /// the few keys that can hold its answer instead of binary-searching all of them.
    radix: Radix,
}

impl MapFileReader<memmap2::Mmap> {
    /// Opens and memory-maps the map file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len < (HEADER_LEN + FOOTER_LEN) as u64 {
            // Checked before mapping: an empty file cannot be mapped at all.
            return Err(format_err(0, "file too short for a header and a footer"));
        }
        // SAFETY: the map is read-only and part files are immutable once they have their final
        // name (writers write a temporary file and rename it), so no one modifies or truncates
        // the file while it is mapped. Should someone do so anyway, reads see other bytes or the
        // process gets SIGBUS; there is no way to rule that out for a shared file.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        MapFileReader::new(map)
    }

    /// Tells the kernel how the map will be read (`madvise`).
    ///
    /// [`MapFileReader::open`] gives no advice, which keeps the kernel's read-ahead: right for
    /// range scans and for lookups in files already in the page cache, where advice changes
    /// nothing. A caller doing only point lookups in files larger than memory may pass
    /// [`memmap2::Advice::Random`], so that each miss reads one page rather than a
    /// read-ahead window; one about to scan a whole file may pass
    /// [`memmap2::Advice::WillNeed`].
    #[cfg(unix)]
    pub fn advise(&self, advice: memmap2::Advice) -> Result<()> {
        Ok(self.data.advise(advice)?)
    }
}

impl<D: AsRef<[u8]>> MapFileReader<D> {
    /// Checks the structure of the map file in `data` and makes a reader for it.
    pub fn new(data: D) -> Result<Self> {
        let (footer, keys) = parse(data.as_ref())?;
        let radix = Radix::new(&keys, footer.first_index, footer.last_index);
        Ok(MapFileReader {
            data,
            footer,
            keys,
            radix,
        })
    }

    /// The bytes of the file.
    pub fn bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// Gives back the bytes.
    pub fn into_inner(self) -> D {
        self.data
    }

    fn view(&self) -> View<'_> {
        View {
            bytes: self.data.as_ref(),
            footer: self.footer,
            keys: &self.keys,
            radix: &self.radix,
        }
    }

    /// What the header and footer say about the file.
    pub fn info(&self) -> Info {
        let f = &self.footer;
        Info {
            version: VERSION,
            record_count: f.record_count,
            index_range: (f.record_count > 0).then_some((f.first_index, f.last_index)),
            file_bytes: self.data.as_ref().len() as u64,
            data_bytes: (f.index_offset - f.data_offset) as u64,
            index_entries: f.entries as u64,
            index_interval: f.interval as u32,
        }
    }

    /// The number of records.
    pub fn len(&self) -> u64 {
        self.footer.record_count
    }

    /// Whether the file has no records.
    pub fn is_empty(&self) -> bool {
        self.footer.record_count == 0
    }

    /// Every payload stored under `index`, in file order (empty when there is none).
    pub fn get(&self, index: u64) -> Result<Vec<&[u8]>> {
        self.get_iter(index).collect()
    }

    /// The payloads stored under `index`, in file order, without collecting them: the
    /// point lookup behind [`MapFileReader::get`], for callers that stop at the first
    /// payload they want (a layer's reader looking for one key among those sharing an
    /// index).
    ///
    /// It seeks through the sparse index like [`MapFileReader::range`], then walks only
    /// the records up to the first with a larger index, checking that each lies inside the
    /// records' bytes and that indexes do not decrease.
    #[inline]
    pub fn get_iter(&self, index: u64) -> Matches<'_> {
        let f = &self.footer;
        let bytes = self.data.as_ref();
        let end = f.index_offset;
        if f.record_count == 0 || index < f.first_index || index > f.last_index {
            return Matches {
                bytes,
                index,
                pos: end,
                end,
                prev: 0,
            };
        }
        let block = seek_block(&self.radix, &self.keys, f, index);
        if f.interval > 1 {
            let view = self.view();
            // Start the reads of the walk (and of a guess) before it needs them; see
            // `touch_guess` and `touch_block`. With one record per block the walk reads
            // the right record first, and there is nothing to overlap.
            let mut touched = view.touch_guess(index) ^ view.touch_block(block, index);
            if view
                .keys
                .get(block + 1)
                .is_some_and(|&(next, _)| next <= index)
            {
                touched ^= view.touch_block(block + 1, index);
            }
            std::hint::black_box(touched);
        }
        let pos = self
            .keys
            .get(block)
            .and_then(|&(_, start)| usize::try_from(start).ok())
            .unwrap_or(end);
        Matches {
            bytes,
            index,
            pos,
            end,
            prev: 0,
        }
    }

    /// The records with indexes in `range`, in file order.
    pub fn range(&self, range: RangeInclusive<u64>) -> Ranges<'_> {
        let (lo, hi) = range.into_inner();
        let queries = if lo <= hi {
            Queries::One(lo, hi)
        } else {
            Queries::Many(Vec::new())
        };
        Ranges::new(self.view(), queries)
    }

    /// Every record, in file order.
    pub fn iter(&self) -> Ranges<'_> {
        self.range(0..=u64::MAX)
    }

    /// The records with indexes in any of `ranges`, in file order, each once.
    ///
    /// The query ranges (sorted and merged here first) and the records are traversed in
    /// step; between ranges the traversal skips ahead through the sparse index instead of
    /// reading the records in between.
    pub fn ranges(&self, ranges: &[RangeInclusive<u64>]) -> Ranges<'_> {
        Ranges::new(self.view(), Queries::Many(normalize_ranges(ranges)))
    }

    /// Checks every checksum, then walks every record checking the structure.
    ///
    /// Returns the first problem in file order: a [`Error::Checksum`] names the block and
    /// where it starts.
    pub fn verify(&self) -> Result<()> {
        let view = self.view();
        let bytes = view.bytes;
        let f = &view.footer;
        let header = bytes.get(..HEADER_LEN);
        let tail = bytes.get(f.index_offset..);
        let computed = header.zip(tail).and_then(|(h, t)| metadata_crc(h, t));
        if computed != Some(f.meta_crc) {
            return Err(Error::Checksum {
                block: Block::Metadata,
                offset: f.index_offset as u64,
            });
        }
        for block in 0..f.entries {
            let b = view.block(block)?;
            let data = bytes
                .get(b.start..b.end)
                .ok_or_else(|| format_err(b.start, "record block outside the file"))?;
            let stored = view.entry(block).map(|e| e.2);
            if Some(crc32fast::hash(data)) != stored {
                return Err(Error::Checksum {
                    block: Block::Records(block as u64),
                    offset: b.start as u64,
                });
            }
        }
        let mut last = None;
        for record in self {
            last = Some(record?.index);
        }
        if f.record_count > 0 && last != Some(f.last_index) {
            return Err(format_err(
                f.index_offset,
                "the last record's index differs from the footer's",
            ));
        }
        Ok(())
    }
}

impl<'a, D: AsRef<[u8]>> IntoIterator for &'a MapFileReader<D> {
    type Item = Result<Record<'a>>;
    type IntoIter = Ranges<'a>;

    fn into_iter(self) -> Ranges<'a> {
        self.iter()
    }
}

/// Checks the header and footer and the sparse index against the file's length, and returns
/// the footer with the sparse index's first indexes and block offsets.
fn parse(bytes: &[u8]) -> Result<(Footer, Vec<(u64, u64)>)> {
    let len = bytes.len();
    if len < HEADER_LEN + FOOTER_LEN {
        return Err(format_err(0, "file too short for a header and a footer"));
    }
    if bytes.get(..8) != Some(&MAGIC[..]) {
        return Err(format_err(0, "bad magic: not a map file"));
    }
    let got = u32_at(bytes, 8).ok_or_else(|| format_err(8, "truncated header"))?;
    if got != VERSION {
        return Err(Error::Version {
            expected: VERSION,
            got,
        });
    }
    if u32_at(bytes, 12) != Some(0) {
        return Err(format_err(12, "unknown flags set"));
    }
    let fo = len - FOOTER_LEN;
    if bytes.get(fo + F_MAGIC..) != Some(&MAGIC[..]) {
        return Err(format_err(
            fo + F_MAGIC,
            "bad trailing magic: truncated or not a map file",
        ));
    }
    let u64f =
        |field: usize| u64_at(bytes, fo + field).ok_or_else(|| format_err(fo, "truncated footer"));
    let record_count = u64f(F_RECORD_COUNT)?;
    let first_index = u64f(F_FIRST_INDEX)?;
    let last_index = u64f(F_LAST_INDEX)?;
    let data_offset = u64f(F_DATA_OFFSET)?;
    let index_offset = u64f(F_INDEX_OFFSET)?;
    let entries = u64f(F_INDEX_ENTRIES)?;
    let interval =
        u32_at(bytes, fo + F_INTERVAL).ok_or_else(|| format_err(fo, "truncated footer"))?;
    let meta_crc =
        u32_at(bytes, fo + F_META_CRC).ok_or_else(|| format_err(fo, "truncated footer"))?;

    if data_offset != HEADER_LEN as u64 {
        return Err(format_err(
            fo + F_DATA_OFFSET,
            "data does not start right after the header",
        ));
    }
    if index_offset < data_offset || index_offset > fo as u64 {
        return Err(format_err(
            fo + F_INDEX_OFFSET,
            "sparse index offset outside the file",
        ));
    }
    let index_offset = index_offset as usize;
    let index_len = entries.checked_mul(INDEX_ENTRY_LEN as u64);
    if index_len != Some((fo - index_offset) as u64) {
        return Err(format_err(
            fo + F_INDEX_ENTRIES,
            "sparse index length does not fill the space before the footer",
        ));
    }
    let entries = entries as usize;
    if interval == 0 {
        return Err(format_err(fo + F_INTERVAL, "sparse index interval is zero"));
    }
    let interval = u64::from(interval);
    if record_count.div_ceil(interval) != entries as u64 {
        return Err(format_err(
            fo + F_RECORD_COUNT,
            "record count does not match the sparse index length",
        ));
    }
    let data_len = (index_offset - HEADER_LEN) as u64;
    if record_count
        .checked_mul(RECORD_HEADER_LEN as u64)
        .is_none_or(|min| min > data_len)
    {
        return Err(format_err(
            fo + F_RECORD_COUNT,
            "more records than the data can hold",
        ));
    }
    if record_count > 0 && first_index > last_index {
        return Err(format_err(
            fo + F_FIRST_INDEX,
            "first index larger than last index",
        ));
    }
    let footer = Footer {
        record_count,
        first_index,
        last_index,
        data_offset: HEADER_LEN,
        index_offset,
        entries,
        interval,
        meta_crc,
    };
    if record_count == 0 {
        if index_offset != HEADER_LEN {
            return Err(format_err(
                HEADER_LEN,
                "records in a file that says it has none",
            ));
        }
        return Ok((footer, Vec::new()));
    }
    // The sparse index: blocks start where the previous one ends, hold at least their
    // records' headers, and have never-decreasing first indexes within the footer's range.
    let view = View {
        bytes,
        footer,
        keys: &[],
        radix: &Radix::EMPTY,
    };
    // At most one key per 20 bytes of the file, as checked above.
    let mut keys = Vec::with_capacity(entries);
    let mut prev_index = first_index;
    for k in 0..entries {
        let block = view.block(k)?;
        let at = index_offset + k * INDEX_ENTRY_LEN;
        if k == 0 && (block.start != HEADER_LEN || block.first != first_index) {
            return Err(format_err(
                at,
                "first sparse index entry does not point at the first record",
            ));
        }
        if block.end < block.start
            || ((block.end - block.start) as u64) < block.count * RECORD_HEADER_LEN as u64
        {
            return Err(format_err(
                at,
                "sparse index block too short for its records",
            ));
        }
        if block.first < prev_index || block.first > last_index {
            return Err(format_err(at, "sparse index entries out of order"));
        }
        prev_index = block.first;
        keys.push((block.first, block.start as u64));
    }
    Ok((footer, keys))
}

/// The bytes of a checked file with its footer.
#[derive(Debug, Clone, Copy)]
struct View<'a> {
    bytes: &'a [u8],
    footer: Footer,
    /// The sparse index's (first index, block offset) pairs.
    keys: &'a [(u64, u64)],
    /// The lookup table over them.
    radix: &'a Radix,
}

/// See [`View::seek_block`].
#[inline]
fn seek_block(radix: &Radix, keys: &[(u64, u64)], footer: &Footer, lo: u64) -> usize {
    let (from, to) = radix.candidates(lo, footer.first_index, keys.len());
    let within = keys
        .get(from..to)
        .map_or(0, |keys| keys.partition_point(|k| k.0 < lo));
    if footer.interval == 1 {
        // Past the last block only when every record is smaller: the scan then reads the
        // last one and stops.
        (from + within).min(keys.len().saturating_sub(1))
    } else {
        (from + within).saturating_sub(1)
    }
}

/// One block of records, as the sparse index describes it.
#[derive(Debug, Clone, Copy)]
struct BlockInfo {
    start: usize,
    end: usize,
    count: u64,
    first: u64,
    /// No record in the block may have a larger index: the next block's first index.
    upper: u64,
}

impl View<'_> {
    fn entry(&self, k: usize) -> Option<(u64, u64, u32)> {
        let at = self
            .footer
            .index_offset
            .checked_add(k.checked_mul(INDEX_ENTRY_LEN)?)?;
        Some((
            u64_at(self.bytes, at)?,
            u64_at(self.bytes, at + 8)?,
            u32_at(self.bytes, at + 16)?,
        ))
    }

    /// The first index and the offset of block `k`: from memory once the file is open, from
    /// the sparse index while opening.
    fn first_and_offset(&self, k: usize) -> Option<(u64, u64)> {
        if self.keys.is_empty() {
            self.entry(k).map(|(first, offset, _)| (first, offset))
        } else {
            self.keys.get(k).copied()
        }
    }

    fn block(&self, k: usize) -> Result<BlockInfo> {
        let f = &self.footer;
        let at = f.index_offset + k * INDEX_ENTRY_LEN;
        let (first, start) = self
            .first_and_offset(k)
            .ok_or_else(|| format_err(at, "sparse index entry outside the file"))?;
        let (end, upper) = if k + 1 < f.entries {
            let (next_first, next_start) = self
                .first_and_offset(k + 1)
                .ok_or_else(|| format_err(at, "sparse index entry outside the file"))?;
            (next_start, next_first)
        } else {
            (f.index_offset as u64, f.last_index)
        };
        if start > end || end > f.index_offset as u64 {
            return Err(format_err(at, "sparse index block outside the data"));
        }
        let count = if k + 1 < f.entries {
            f.interval
        } else {
            f.record_count - f.interval * (f.entries as u64 - 1)
        };
        Ok(BlockInfo {
            start: start as usize,
            end: end as usize,
            count,
            first,
            upper,
        })
    }

    /// The block where a scan for indexes `>= lo` starts: the last block whose first index
    /// is smaller than `lo` (records equal to `lo` may end the block before one starting
    /// with `lo`), or block 0. With one record per block, that record's index is the
    /// block's first index, so the scan starts at the first block whose first index is
    /// `lo` or more instead, without reading the record before.
    #[inline]
    fn seek_block(&self, lo: u64) -> usize {
        seek_block(self.radix, self.keys, &self.footer, lo)
    }

    /// Touches the cache lines where the records of `block` that a scan for `lo` reads
    /// most likely start, so that the memory reads of the record-by-record walk that follows
    /// overlap instead of waiting for each other: each record's position depends on the
    /// length read from the one before, so without this a lookup pays one full cache (and
    /// often TLB) miss per record.
    ///
    /// The guesses assume records of equal size with evenly spread indexes, as raster tiles
    /// mostly are: records up to the one just past `lo`'s place in the block. A wrong guess
    /// only costs a wasted read, never a wrong answer, because the walk checks every record.
    #[inline]
    fn touch_block(&self, block: usize, lo: u64) -> u8 {
        let Some(&(first, start)) = self.keys.get(block) else {
            return 0;
        };
        let (next, end) = self.keys.get(block + 1).map_or(
            (self.footer.last_index, self.footer.index_offset as u64),
            |&(next, end)| (next, end),
        );
        let count = self.footer.interval;
        if count == 1 {
            return usize::try_from(start)
                .ok()
                .and_then(|at| self.bytes.get(at))
                .copied()
                .unwrap_or(0);
        }
        let span = end.saturating_sub(start);
        // Where `lo` falls among the block's records, by its index; all of them when `lo`
        // is at or past the next block's first index.
        let keys = u128::from(next.saturating_sub(first));
        let place = if keys == 0 || lo >= next {
            count
        } else {
            (u128::from(lo.saturating_sub(first)) * u128::from(count) / keys) as u64
        };
        let records = (place + 2).min(count).min(MAX_TOUCHES);
        let mut acc = 0u8;
        for r in 0..records {
            // At most `span`, which lies inside the file: no overflow, and `get` checks anyway.
            let at = start + span / count * r;
            acc ^= usize::try_from(at)
                .ok()
                .and_then(|at| self.bytes.get(at))
                .copied()
                .unwrap_or(0);
        }
        acc
    }
}

impl View<'_> {
    /// Touches where the records a lookup of `lo` walks would be if the file's records
    /// were evenly spread over its index range and of equal size, together with the sparse
    /// index key of their block: these reads then overlap with the search of the sparse
    /// index instead of following it. For such files (tiles on a dense curve) a lookup then
    /// costs about one memory latency instead of three; for other files the guesses are
    /// wasted reads, never wrong answers.
    #[inline]
    fn touch_guess(&self, lo: u64) -> u8 {
        let f = &self.footer;
        // With an entry per record, the sparse index (in memory) already gives the record's
        // offset and `touch_block` reads it at once; a guess would be one more read, and for
        // records of uneven size (tiles) mostly a wasted one.
        if f.interval == 1 || f.record_count == 0 || lo < f.first_index || lo > f.last_index {
            return 0;
        }
        let span = u128::from(f.last_index - f.first_index).max(1);
        let count = f.record_count;
        // The guessed record number: below `count`, as `lo - first_index <= span`.
        let guess = (u128::from(lo - f.first_index) * u128::from(count - 1) / span) as u64;
        let data_len = (f.index_offset - HEADER_LEN) as u64;
        let size = data_len / count;
        let block = guess / f.interval;
        // The walk starts at the guessed record's block, or at the block before when the
        // record opens its block (records equal to it may end that block).
        let mut first = block * f.interval;
        if guess == first {
            first = first.saturating_sub(f.interval);
        }
        let last = (guess + 1).min(count - 1);
        let first = first.max(last.saturating_sub(MAX_TOUCHES - 1));
        let mut acc = usize::try_from(block)
            .ok()
            .and_then(|b| self.keys.get(b))
            .map_or(0, |k| k.0 as u8);
        for r in first..=last {
            acc ^= usize::try_from(HEADER_LEN as u64 + r * size)
                .ok()
                .and_then(|at| self.bytes.get(at))
                .copied()
                .unwrap_or(0);
        }
        acc
    }
}

/// The most cache lines [`View::touch_block`] reads ahead for one block: enough for blocks
/// of up to 32 records, the largest interval `WriterOptions::for_record_size` picks, while
/// bounding the work for files with huge intervals.
const MAX_TOUCHES: u64 = 32;

/// A lookup table over the high bits of the sparse index's key space.
///
/// Bucket `b` holds the keys whose offset from the first index, shifted right by `shift`,
/// is `b`; `starts[b]` is the position in the sparse index of the first key in bucket `b`
/// or later. With about two keys per bucket, a lookup reads one entry of the table and then
/// one or two cache lines of keys; skewed keys only make some buckets larger, and those are
/// binary-searched, so no key distribution makes a lookup worse than a binary search.
#[derive(Debug)]
struct Radix {
    shift: u32,
    /// One more entry than there are buckets; the last is the number of keys.
    starts: Vec<u32>,
}

impl Radix {
    /// No table: every lookup binary-searches all the keys (used while opening).
    const EMPTY: Radix = Radix {
        shift: 0,
        starts: Vec::new(),
    };

    /// Builds the table for `keys`, which lie in `[first, last]` in never-decreasing order.
    fn new(keys: &[(u64, u64)], first: u64, last: u64) -> Radix {
        // The table's positions are u32: with more keys (a file of more than 80 GiB), keep
        // binary-searching. About two keys per bucket: 2 bytes of table per key.
        let Ok(n) = u32::try_from(keys.len()) else {
            return Radix::EMPTY;
        };
        if n < 2 {
            return Radix::EMPTY;
        }
        let bucket_bits = (n / 2).max(1).ilog2() + 1;
        let span = last.saturating_sub(first);
        let span_bits = u64::BITS - span.leading_zeros();
        let shift = span_bits.saturating_sub(bucket_bits);
        let buckets = (span >> shift) as usize + 1;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut pos = 0u32;
        for b in 0..buckets as u64 {
            while keys
                .get(pos as usize)
                .is_some_and(|k| k.0.saturating_sub(first) >> shift < b)
            {
                pos += 1;
            }
            starts.push(pos);
        }
        starts.push(n);
        Radix { shift, starts }
    }

    /// The positions `[from, to)` of the keys that may be the first key `>= lo`, given the
    /// first index of the file and the number of keys: every key before `from` is smaller
    /// than `lo`, every key from `to` on is larger.
    #[inline]
    fn candidates(&self, lo: u64, first: u64, len: usize) -> (usize, usize) {
        if self.starts.is_empty() {
            return (0, len);
        }
        let Some(offset) = lo.checked_sub(first) else {
            return (0, 0);
        };
        let b = usize::try_from(offset >> self.shift).unwrap_or(usize::MAX);
        match (self.starts.get(b), self.starts.get(b.wrapping_add(1))) {
            (Some(&from), Some(&to)) => (from as usize, to as usize),
            // Beyond the last bucket: every key is smaller.
            _ => (len, len),
        }
    }
}

/// Where a traversal is: inside one block.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    block: usize,
    info: BlockInfo,
    pos: usize,
    /// Records of the block not read yet.
    left: u64,
    /// The index of the record read last in this block (the block's first index before any).
    prev: u64,
}

impl Cursor {
    fn at_block(view: &View<'_>, block: usize) -> Result<Cursor> {
        let info = view.block(block)?;
        Ok(Cursor {
            block,
            info,
            pos: info.start,
            left: info.count,
            prev: info.first,
        })
    }

    /// Reads the next record, moving on to the next block as needed; `None` at the end.
    fn next_record<'a>(&mut self, view: &View<'a>) -> Result<Option<Record<'a>>> {
        if self.left == 0 {
            if self.pos != self.info.end {
                return Err(format_err(self.pos, "bytes after a block's last record"));
            }
            if self.block + 1 >= view.footer.entries {
                return Ok(None);
            }
            *self = Cursor::at_block(view, self.block + 1)?;
        }
        let at = self.pos;
        let head_end = at + RECORD_HEADER_LEN;
        if head_end > self.info.end {
            return Err(format_err(at, "record header runs past its block"));
        }
        let (Some(index), Some(len)) = (u64_at(view.bytes, at), u32_at(view.bytes, at + 8)) else {
            return Err(format_err(at, "record header outside the file"));
        };
        let first_of_block = self.left == self.info.count;
        if (first_of_block && index != self.info.first)
            || index < self.prev
            || index > self.info.upper
        {
            return Err(format_err(
                at,
                "record index out of order with the sparse index",
            ));
        }
        let end = head_end
            .checked_add(len as usize)
            .filter(|&e| e <= self.info.end)
            .ok_or_else(|| format_err(at, "record payload runs past its block"))?;
        let payload = view
            .bytes
            .get(head_end..end)
            .ok_or_else(|| format_err(at, "record payload outside the file"))?;
        self.pos = end;
        self.left -= 1;
        self.prev = index;
        Ok(Some(Record { index, payload }))
    }
}

/// The payloads stored under one index, in file order; see [`MapFileReader::get_iter`].
///
/// It yields `Err` at most once, for a malformed record, and ends after it.
#[derive(Debug, Clone)]
pub struct Matches<'a> {
    bytes: &'a [u8],
    index: u64,
    /// Where the next record starts; `end` once the walk is over.
    pos: usize,
    /// Where the records end: the sparse index's offset.
    end: usize,
    /// The index of the record read last.
    prev: u64,
}

impl<'a> Matches<'a> {
    /// Ends the walk with an error about the record at `at`.
    fn fail(&mut self, at: usize, what: &'static str) -> Result<&'a [u8]> {
        self.pos = self.end;
        Err(format_err(at, what))
    }
}

impl<'a> Iterator for Matches<'a> {
    type Item = Result<&'a [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.end {
            let at = self.pos;
            let head_end = at + RECORD_HEADER_LEN;
            if head_end > self.end {
                return Some(self.fail(at, "record header runs past the records"));
            }
            let (Some(index), Some(len)) = (u64_at(self.bytes, at), u32_at(self.bytes, at + 8))
            else {
                return Some(self.fail(at, "record header outside the file"));
            };
            let Some(payload) = head_end
                .checked_add(len as usize)
                .filter(|&e| e <= self.end)
                .and_then(|e| self.bytes.get(head_end..e))
            else {
                return Some(self.fail(at, "record payload runs past the records"));
            };
            if index < self.prev {
                return Some(self.fail(at, "record indexes decrease"));
            }
            self.prev = index;
            self.pos = head_end + payload.len();
            if index == self.index {
                return Some(Ok(payload));
            }
            if index > self.index {
                self.pos = self.end;
            }
        }
        None
    }
}

impl std::iter::FusedIterator for Matches<'_> {}

/// The query ranges of a traversal: one (no allocation) or many.
#[derive(Debug, Clone)]
enum Queries {
    One(u64, u64),
    Many(Vec<(u64, u64)>),
}

impl Queries {
    fn get(&self, i: usize) -> Option<(u64, u64)> {
        match self {
            Queries::One(lo, hi) => (i == 0).then_some((*lo, *hi)),
            Queries::Many(v) => v.get(i).copied(),
        }
    }
}

/// An iterator over the records matching one or more index ranges, in file order.
///
/// It yields `Err` at most once, for a malformed record, and ends after it.
#[derive(Debug, Clone)]
pub struct Ranges<'a> {
    view: View<'a>,
    queries: Queries,
    /// The query range being matched.
    q: usize,
    cursor: Option<Cursor>,
    /// Whether the traversal may skip ahead to the block of the current range's start.
    seek: bool,
    done: bool,
}

impl<'a> Ranges<'a> {
    fn new(view: View<'a>, queries: Queries) -> Self {
        let done = view.footer.record_count == 0 || queries.get(0).is_none();
        Ranges {
            view,
            queries,
            q: 0,
            cursor: None,
            seek: true,
            done,
        }
    }

    fn step(&mut self) -> Result<Option<Record<'a>>> {
        loop {
            let Some((lo, hi)) = self.queries.get(self.q) else {
                return Ok(None);
            };
            if self.seek {
                self.seek = false;
                let guessed = self.view.touch_guess(lo);
                let target = self.view.seek_block(lo);
                if self.cursor.is_none_or(|c| c.block < target) {
                    // When the next block starts at or below `hi`, the walk reads into it.
                    let mut touched = self.view.touch_block(target, lo);
                    if self
                        .view
                        .keys
                        .get(target + 1)
                        .is_some_and(|&(next, _)| next <= hi)
                    {
                        touched ^= self.view.touch_block(target + 1, lo);
                    }
                    std::hint::black_box(touched ^ guessed);
                    self.cursor = Some(Cursor::at_block(&self.view, target)?);
                }
            }
            let Some(cursor) = self.cursor.as_mut() else {
                return Ok(None);
            };
            // At the end of a block, the next block's first index tells whether this range
            // continues there; when not, move on without reading the next block's pages.
            if cursor.left == 0
                && let Some(&(next_first, _)) = self.view.keys.get(cursor.block + 1)
                && next_first > hi
            {
                while self
                    .queries
                    .get(self.q)
                    .is_some_and(|(_, hi)| hi < next_first)
                {
                    self.q += 1;
                }
                self.seek = true;
                continue;
            }
            let Some(record) = cursor.next_record(&self.view)? else {
                return Ok(None);
            };
            if record.index < lo {
                continue;
            }
            if record.index <= hi {
                return Ok(Some(record));
            }
            // Past this range: move to the first range that can still match.
            while self
                .queries
                .get(self.q)
                .is_some_and(|(_, hi)| hi < record.index)
            {
                self.q += 1;
            }
            match self.queries.get(self.q) {
                None => return Ok(None),
                Some((lo, _)) if lo <= record.index => return Ok(Some(record)),
                Some(_) => self.seek = true,
            }
        }
    }
}

impl<'a> Iterator for Ranges<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for Ranges<'_> {}

#[cfg(test)]
mod tests {
    use super::Radix;

    /// The radix table's candidates always contain the answer of a plain binary search.
    #[test]
    fn radix_agrees_with_binary_search() {
        let sets: Vec<Vec<u64>> = vec![
            (0..1000).map(|k| k * 3).collect(),
            (0..1000).map(|k| 5 + k * k * k).collect(),
            vec![7; 100],
            [vec![0; 50], vec![u64::MAX; 50]].concat(),
            (0..300)
                .map(|k| if k < 290 { k } else { u64::MAX - 300 + k })
                .collect(),
            vec![1, 2],
            vec![u64::MAX - 1, u64::MAX],
        ];
        for firsts in sets {
            let keys: Vec<(u64, u64)> = firsts.iter().map(|&k| (k, 0)).collect();
            let (first, last) = (firsts[0], firsts[firsts.len() - 1]);
            let radix = Radix::new(&keys, first, last);
            assert!(!radix.starts.is_empty(), "no table for {} keys", keys.len());
            assert!(
                radix.starts.len() <= keys.len() + 1,
                "table larger than the keys"
            );
            let probes = firsts
                .iter()
                .flat_map(|&k| [k.wrapping_sub(1), k, k.wrapping_add(1)])
                .chain([0, 1, u64::MAX / 2, u64::MAX]);
            for lo in probes {
                let want = firsts.partition_point(|&k| k < lo);
                let (from, to) = radix.candidates(lo, first, keys.len());
                let got = from + firsts[from..to].partition_point(|&k| k < lo);
                assert_eq!(got, want, "probe {lo}");
            }
        }
    }
}
