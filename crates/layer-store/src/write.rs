//! Writing layers: the bounded-memory write of a new layer, the incremental update of an
//! existing one (ADR 0002), and reindexing. All three build a new generation of part files
//! beside the current one and switch to it with one atomic rename of the metadata.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use keyed_tile::index::{Budget, KeyIndex};
use keyed_tile::{Key, KeyBounds};
use mapfile::{MapFileReader, MultiWriterOptions, PartFile, WriterOptions};

use crate::catalog::{Catalog, list_parts};
use crate::error::Error;
use crate::exec::run_tasks;
use crate::fsutil::{link_or_copy, remove_tree, sync_dir, temp_name};
use crate::id::LayerId;
use crate::keyindex::{KeyIndexChoice, LayerKeyIndex};
use crate::layer::{LAYOUT_VERSION, LayerAttributes, LayerHeader, LayerKey, LayerMetadata};
use crate::parts::{PartSink, PartWriter, put_staged, staging_dir};
use crate::sort::{Group, Sorted, Sorter};

/// The default memory budget of a write: 256 MiB (issue 6).
pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

/// The most partitions a write splits into. Each is a task with its own part files and
/// merge buffers; far more than the cores and the parts the data needs buys nothing, and an
/// unbounded count would let one option make planning loop for ages.
pub const MAX_PARTITIONS: usize = 1 << 16;

/// A progress callback: called from the writing threads now and then.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What a long operation is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Taking in records (sorting them, spilling runs).
    Reading,
    /// Writing part files.
    Writing,
    /// Finished.
    Done,
}

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// What is happening.
    pub phase: Phase,
    /// Records taken in so far.
    pub records_read: u64,
    /// Records written to part files so far.
    pub records_written: u64,
    /// Part files finished so far.
    pub parts_written: u64,
}

/// How a layer is written.
#[derive(Clone)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Replace an existing layer (atomically) instead of failing with
    /// [`Error::LayerExists`].
    pub overwrite: bool,
    /// Memory for records in flight, in bytes; beyond it sorted runs spill to disk.
    /// Default [`DEFAULT_MEMORY_BUDGET`].
    pub memory_budget: usize,
    /// The size limit of one part file; default 128 MiB − 16 KiB (ADR 0002).
    pub max_part_bytes: u64,
    /// Index-range partitions, written in parallel; 0 chooses from the data size and the
    /// thread count. At most [`MAX_PARTITIONS`].
    pub partitions: usize,
    /// One sparse index entry every this many records in each part; 0 chooses from the
    /// mean record size: 1 from 4 KiB up (tiles), [`WriterOptions::for_record_size`] below.
    pub index_interval: u32,
    /// The value type recorded in the header, e.g. `"MultibandTile"`.
    pub value_class: String,
    /// The codec recorded in the metadata, e.g. `"tessera-tile"`.
    pub codec: String,
    /// Where sorted runs spill; by default a hidden directory inside the layer's directory
    /// (same disk as the parts, and removed by the next open if the writer dies).
    pub spill_dir: Option<PathBuf>,
    /// Called with progress now and then.
    pub progress: Option<ProgressFn>,
}

impl fmt::Debug for WriteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteOptions")
            .field("overwrite", &self.overwrite)
            .field("memory_budget", &self.memory_budget)
            .field("max_part_bytes", &self.max_part_bytes)
            .field("partitions", &self.partitions)
            .field("index_interval", &self.index_interval)
            .field("value_class", &self.value_class)
            .field("codec", &self.codec)
            .field("spill_dir", &self.spill_dir)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            overwrite: false,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            max_part_bytes: mapfile::DEFAULT_MAX_FILE_BYTES,
            partitions: 0,
            index_interval: 0,
            value_class: "MultibandTile".to_owned(),
            codec: "tessera-tile".to_owned(),
            spill_dir: None,
            progress: None,
        }
    }
}

impl WriteOptions {
    /// These options with overwriting on or off.
    #[must_use]
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// These options with another memory budget in bytes.
    #[must_use]
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// These options with another part size limit in bytes.
    #[must_use]
    pub fn max_part_bytes(mut self, bytes: u64) -> Self {
        self.max_part_bytes = bytes;
        self
    }

    /// These options with a fixed partition count (0 = automatic).
    #[must_use]
    pub fn partitions(mut self, partitions: usize) -> Self {
        self.partitions = partitions;
        self
    }

    /// These options with another sparse index interval (0 = automatic).
    #[must_use]
    pub fn index_interval(mut self, records: u32) -> Self {
        self.index_interval = records;
        self
    }

    /// These options with another value class and codec name.
    #[must_use]
    pub fn value(mut self, value_class: impl Into<String>, codec: impl Into<String>) -> Self {
        self.value_class = value_class.into();
        self.codec = codec.into();
        self
    }

    /// These options with runs spilling under `dir`.
    #[must_use]
    pub fn spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }

    /// These options with a progress callback.
    #[must_use]
    pub fn progress(mut self, callback: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    fn check(&self) -> Result<(), Error> {
        if self.max_part_bytes == 0 {
            return Err(Error::InvalidOption {
                option: "max_part_bytes",
                what: "must be at least 1".to_owned(),
            });
        }
        if self.partitions > MAX_PARTITIONS {
            return Err(Error::InvalidOption {
                option: "partitions",
                what: format!(
                    "{} is more than the limit of {MAX_PARTITIONS}",
                    self.partitions
                ),
            });
        }
        Ok(())
    }
}

/// How an update merges new records into a layer.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct UpdateOptions {
    /// Overwrite mode: an updating value replaces the existing one without the existing
    /// one being read or the merge function called.
    pub overwrite: bool,
    /// Memory budget, part size, index interval, spill directory and progress, as for a
    /// write (`overwrite`, `partitions`, `value_class` and `codec` of it are ignored).
    pub write: WriteOptions,
}

impl fmt::Debug for UpdateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateOptions")
            .field("overwrite", &self.overwrite)
            .field("write", &self.write)
            .finish()
    }
}

impl UpdateOptions {
    /// These options with overwrite mode on or off.
    #[must_use]
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// These options with other write options.
    #[must_use]
    pub fn write(mut self, write: WriteOptions) -> Self {
        self.write = write;
        self
    }
}

/// The default merge of an update: the updating value wins.
pub fn updating_wins<K>(_key: &K, _existing: &[u8], updating: &[u8]) -> Vec<u8> {
    updating.to_vec()
}

/// What a write, update or reindex did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteReport {
    /// The layer's generation afterwards.
    pub generation: u64,
    /// Records given.
    pub records_in: u64,
    /// Records given more than once for one key: the later one was kept.
    pub duplicates_dropped: u64,
    /// Records in the part files written (for an update: rewritten and new parts).
    pub records_written: u64,
    /// Update: keys whose existing and updating values were merged.
    pub merged: u64,
    /// Part files written.
    pub parts_written: usize,
    /// Update: part files kept unchanged (hard-linked into the new generation).
    pub parts_kept: usize,
    /// Bytes of the part files written.
    pub bytes_written: u64,
    /// Sorted runs spilled to disk because the input exceeded the memory budget.
    pub spilled_runs: u64,
}

/// Counters shared by the writing threads.
#[derive(Default)]
struct Counters {
    read: AtomicU64,
    written: AtomicU64,
    parts: AtomicU64,
    dropped: AtomicU64,
    merged: AtomicU64,
}

impl Counters {
    fn report(&self, progress: Option<&ProgressFn>, phase: Phase) {
        if let Some(p) = progress {
            p(&Progress {
                phase,
                records_read: self.read.load(Ordering::Relaxed),
                records_written: self.written.load(Ordering::Relaxed),
                parts_written: self.parts.load(Ordering::Relaxed),
            });
        }
    }
}

/// Maps a key index error to the crate's error, naming the layer.
pub(crate) fn key_index_error(id: &LayerId, e: keyed_tile::Error) -> Error {
    match e {
        keyed_tile::Error::OutOfBounds { key, bounds } => Error::OutOfKeyBounds {
            id: id.to_string(),
            key,
            bounds,
        },
        source => Error::KeyIndex {
            id: id.to_string(),
            source,
        },
    }
}

/// A part of the current generation, with its index range read from its footer.
#[derive(Debug)]
struct OldPart {
    name: String,
    path: PathBuf,
    partition: u32,
    first: u64,
    last: u64,
}

fn open_old_parts(dir: &Path) -> Result<Vec<OldPart>, Error> {
    let mut parts = Vec::new();
    for (name, path) in list_parts(dir)? {
        let reader = MapFileReader::open(&path).map_err(|e| Error::part(&path, e))?;
        let Some((first, last)) = reader.info().index_range else {
            // Empty part files are never written; one found here holds nothing to keep.
            continue;
        };
        let partition = mapfile::parse_part_name(&name).map_or(0, |p| p.partition);
        parts.push(OldPart {
            name,
            path,
            partition,
            first,
            last,
        });
    }
    Ok(parts)
}

/// Memory split of a write: what the sorter may hold, and each merge's read buffers.
struct Budgets {
    sort: usize,
    merge_buffer: usize,
}

fn budgets(memory_budget: usize, threads: usize) -> Budgets {
    // Each writing thread holds a 2 MiB part write buffer (mapfile's `ChunkWriter`) and up
    // to 1 MiB of run read buffers; the sorter's spill writer holds one more 2 MiB chunk;
    // the rest of the budget is the sorter's.
    let reserve = threads * (3 << 20) + (3 << 20);
    Budgets {
        sort: memory_budget
            .saturating_sub(reserve)
            .max(memory_budget / 4)
            .max(1),
        merge_buffer: 1 << 20,
    }
}

/// How many partitions a write of `bytes` makes by default: enough for parts of at most
/// `max_part_bytes`, and a multiple of the `threads` writing them, so that the threads run
/// out of partitions together. With one more partition than a round of threads takes, the
/// last would be merged by one thread while the others wait: 1.1 GB in 9 parts of 122 MB
/// on 2 threads left one thread idle for the whole last part; in 10 parts of 110 MB both
/// finish together.
fn partition_count(bytes: u64, max_part_bytes: u64, threads: usize) -> usize {
    let threads = threads.clamp(1, MAX_PARTITIONS);
    let by_size = usize::try_from(bytes.div_ceil(max_part_bytes.max(1))).unwrap_or(MAX_PARTITIONS);
    let rounds = by_size.div_ceil(threads).max(1);
    rounds
        .saturating_mul(threads)
        .min(MAX_PARTITIONS / threads * threads)
}

/// Splits the index ranges of `bounds` into `count` partitions of about equal index
/// length (no sampling: the ranges come from the key index over the data's key bounds).
/// The partitions cover every u64, so no record can fall outside them.
fn plan_partitions<K: LayerKey>(
    key_index: &LayerKeyIndex<K>,
    bounds: Option<&KeyBounds<K>>,
    count: usize,
) -> Vec<(u64, u64)> {
    let ranges = bounds
        .and_then(|b| key_index.index_ranges(b, Budget::max_ranges(256)).ok())
        .unwrap_or_default();
    let total: u128 = ranges
        .iter()
        .map(|r| u128::from(r.end() - r.start()) + 1)
        .sum();
    let mut breaks: Vec<u64> = Vec::new();
    if count > 1 && total > 0 {
        let mut k = 1u128;
        let mut before = 0u128;
        'ranges: for r in &ranges {
            let len = u128::from(r.end() - r.start()) + 1;
            while k < count as u128 {
                let target = total * k / count as u128;
                if target >= before + len {
                    break;
                }
                let at = *r.start() + (target - before) as u64;
                if at > 0 && breaks.last().is_none_or(|&b| at > b) {
                    breaks.push(at);
                }
                k += 1;
                if k >= count as u128 {
                    break 'ranges;
                }
            }
            before += len;
        }
    }
    let mut out = Vec::with_capacity(breaks.len() + 1);
    let mut lo = 0u64;
    for b in breaks {
        out.push((lo, b - 1));
        lo = b;
    }
    out.push((lo, u64::MAX));
    out
}

/// Keeps, of the records of one index, the last one given for each key (arrival order).
/// Fills `keep` with (key, position in the group, key length).
fn dedupe<K: Key>(
    group: &Group,
    keep: &mut Vec<(K, usize, usize)>,
    source: &Path,
) -> Result<u64, Error> {
    keep.clear();
    let mut dropped = 0;
    for (n, payload) in group.iter().enumerate() {
        let (key, len) = K::read_from(payload).map_err(|e| Error::BadRecord {
            path: source.to_path_buf(),
            index: group.index,
            source: e,
        })?;
        if let Some(slot) = keep.iter_mut().find(|(k, _, _)| *k == key) {
            slot.1 = n;
            dropped += 1;
        } else {
            keep.push((key, n, len));
        }
    }
    Ok(dropped)
}

/// What one partition task writes: its index range, the old part it rewrites (if any),
/// and its partition number.
struct Task<'a> {
    lo: u64,
    hi: u64,
    old: Option<&'a Path>,
    partition: u32,
}

/// Everything a partition task needs besides its own range.
struct TaskEnv<'a, K, F> {
    sorted: &'a Sorted,
    dir: &'a Path,
    writer: MultiWriterOptions,
    merge_buffer: usize,
    merge: &'a F,
    overwrite: bool,
    sink: &'a PartSink<'a>,
    counters: &'a Counters,
    progress: Option<&'a ProgressFn>,
    spill_source: &'a Path,
    _key: std::marker::PhantomData<K>,
}

impl<K, F> TaskEnv<'_, K, F>
where
    K: LayerKey,
    F: Fn(&K, &[u8], &[u8]) -> Vec<u8> + Sync,
{
    /// Merges the records of `task.lo..=task.hi` (with the old part's, if any) into new
    /// part files.
    fn run(&self, task: &Task<'_>) -> Result<Vec<PartFile>, Error> {
        let old_reader = match task.old {
            Some(p) => Some((MapFileReader::open(p).map_err(|e| Error::part(p, e))?, p)),
            None => None,
        };
        let mut old_iter = old_reader
            .as_ref()
            .map(|(r, p)| (r.range(task.lo..=task.hi).peekable(), *p));
        let mut updates = self
            .sorted
            .merge_consuming(task.lo, task.hi, self.merge_buffer)?;
        let mut writer = PartWriter::new(self.sink, task.partition, self.writer);
        let mut group = Group::default();
        let mut keep: Vec<(K, usize, usize)> = Vec::new();
        let mut used: Vec<bool> = Vec::new();
        let mut olds: Vec<&[u8]> = Vec::new();
        let mut payload = Vec::new();
        let mut written = 0u64;
        let append = |w: &mut PartWriter<'_>, index: u64, bytes: &[u8]| w.append(index, bytes);
        loop {
            let old_index = match &mut old_iter {
                Some((it, path)) => match it.peek() {
                    Some(Ok(r)) => Some(r.index),
                    Some(Err(_)) => {
                        let path = *path;
                        return match it.next() {
                            Some(Err(e)) => Err(Error::part(path, e)),
                            _ => Err(Error::Internal {
                                what: "peeked error vanished",
                            }),
                        };
                    }
                    None => None,
                },
                None => None,
            };
            let new_index = updates.peek_index()?;
            let index = match (old_index, new_index) {
                (None, None) => break,
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (Some(a), Some(b)) => a.min(b),
            };
            olds.clear();
            if old_index == Some(index)
                && let Some((it, path)) = &mut old_iter
            {
                while let Some(Ok(r)) = it.peek() {
                    if r.index != index {
                        break;
                    }
                    olds.push(r.payload);
                    it.next();
                }
                if let Some(Err(_)) = it.peek() {
                    let path = *path;
                    if let Some(Err(e)) = it.next() {
                        return Err(Error::part(path, e));
                    }
                }
            }
            group.clear();
            if new_index == Some(index) {
                updates.next_group(&mut group)?;
            }
            if group.len() == 0 {
                for p in &olds {
                    append(&mut writer, index, p)?;
                }
                written += olds.len() as u64;
                continue;
            }
            let dropped = if group.len() == 1 && olds.is_empty() {
                // The common case of a plain write: one record, nothing to merge with.
                append(&mut writer, index, group.get(0))?;
                written += 1;
                continue;
            } else {
                dedupe::<K>(&group, &mut keep, self.spill_source)?
            };
            self.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
            used.clear();
            used.resize(keep.len(), false);
            for old in &olds {
                let path = task.old.unwrap_or(self.dir);
                let (key, key_len) = K::read_from(old).map_err(|e| Error::BadRecord {
                    path: path.to_path_buf(),
                    index,
                    source: e,
                })?;
                let hit = keep.iter().position(|(k, _, _)| *k == key);
                match hit {
                    Some(pos) if !used[pos] => {
                        used[pos] = true;
                        let (_, n, new_key_len) = keep[pos];
                        let updating = group.get(n);
                        if self.overwrite {
                            append(&mut writer, index, updating)?;
                        } else {
                            let existing = old.get(key_len..).unwrap_or(&[]);
                            let value = (self.merge)(
                                &key,
                                existing,
                                updating.get(new_key_len..).unwrap_or(&[]),
                            );
                            self.counters.merged.fetch_add(1, Ordering::Relaxed);
                            payload.clear();
                            payload.extend_from_slice(old.get(..key_len).unwrap_or(&[]));
                            payload.extend_from_slice(&value);
                            append(&mut writer, index, &payload)?;
                        }
                    }
                    _ => append(&mut writer, index, old)?,
                }
                written += 1;
            }
            for (pos, (_, n, _)) in keep.iter().enumerate() {
                if !used[pos] {
                    append(&mut writer, index, group.get(*n))?;
                    written += 1;
                }
            }
        }
        let files = writer.finish()?;
        self.counters.written.fetch_add(written, Ordering::Relaxed);
        self.counters
            .parts
            .fetch_add(files.len() as u64, Ordering::Relaxed);
        self.counters.report(self.progress, Phase::Writing);
        Ok(files)
    }
}

/// Takes records in, sorting them by index within the memory budget.
struct Intake<'a, K: LayerKey> {
    id: &'a LayerId,
    key_index: &'a LayerKeyIndex<K>,
    sorter: Sorter,
    bounds: Option<KeyBounds<K>>,
    key_buf: Vec<u8>,
    counters: &'a Counters,
    progress: Option<&'a ProgressFn>,
    /// Update only: the current parts and which of them (and of the gaps between them)
    /// the records touch.
    parts: &'a [OldPart],
    touched_parts: Vec<bool>,
    touched_gaps: Vec<bool>,
}

impl<'a, K: LayerKey> Intake<'a, K> {
    fn new(
        id: &'a LayerId,
        key_index: &'a LayerKeyIndex<K>,
        sorter: Sorter,
        parts: &'a [OldPart],
        counters: &'a Counters,
        progress: Option<&'a ProgressFn>,
    ) -> Self {
        Intake {
            id,
            key_index,
            sorter,
            bounds: None,
            key_buf: Vec::with_capacity(32),
            counters,
            progress,
            parts,
            touched_parts: vec![false; parts.len()],
            touched_gaps: vec![false; parts.len() + 1],
        }
    }

    fn push(&mut self, key: &K, value: &[u8]) -> Result<(), Error> {
        let index = self
            .key_index
            .to_index(key)
            .map_err(|e| key_index_error(self.id, e))?;
        self.key_buf.clear();
        key.write_to(&mut self.key_buf);
        self.sorter.push(index, &[&self.key_buf, value])?;
        self.bounds = Some(match &self.bounds {
            Some(b) => b.combine(&KeyBounds::single(*key)),
            None => KeyBounds::single(*key),
        });
        if !self.parts.is_empty() {
            let pos = self.parts.partition_point(|p| p.first <= index);
            if pos > 0 && index <= self.parts[pos - 1].last {
                self.touched_parts[pos - 1] = true;
            } else {
                self.touched_gaps[pos] = true;
            }
        }
        let n = self.counters.read.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(16_384) {
            self.counters.report(self.progress, Phase::Reading);
        }
        Ok(())
    }
}

fn sorter_for(layer_dir: &Path, options: &WriteOptions, generation: u64, threads: usize) -> Sorter {
    let dir = match &options.spill_dir {
        Some(d) => d.join(temp_name("spill")),
        None => layer_dir.join(format!(".spill-g{generation}")),
    };
    // With more than one thread, as many (up to 4) write spilled values while records come
    // in; each has a file of its own, which every merge reads.
    let log_writers = if threads > 1 { threads.min(4) } else { 0 };
    Sorter::new(
        budgets(options.memory_budget, threads).sort,
        dir,
        log_writers,
    )
}

/// From this mean record size up, every record gets a sparse index entry (interval 1).
/// A point read then lands on its record directly instead of walking up to three record
/// headers tens of KiB apart, each a cache and TLB miss: measured with store-compare
/// (20 000 tiles of about 56 KiB), 0.26–0.29 µs a read instead of 0.35–0.45 µs at
/// mapfile's interval 4. An entry costs about 24 bytes, under 0.6% of a 4 KiB record.
const DENSE_INDEX_RECORD_BYTES: u64 = 4096;

fn writer_options(options: &WriteOptions, sorted: &Sorted) -> MultiWriterOptions {
    let stats = sorted.stats();
    let writer = if options.index_interval == 0 {
        let mean = stats.bytes.checked_div(stats.records).unwrap_or(0);
        if mean >= DENSE_INDEX_RECORD_BYTES {
            WriterOptions::default().with_index_interval(1)
        } else {
            WriterOptions::for_record_size(usize::try_from(mean).unwrap_or(usize::MAX))
        }
    } else {
        WriterOptions::default().with_index_interval(options.index_interval)
    };
    MultiWriterOptions::default()
        .with_max_file_bytes(options.max_part_bytes)
        .with_writer(writer)
}

impl Catalog {
    /// Writes a new layer from records in any order and amount (the value bytes are stored
    /// as given, e.g. [`keyed_tile::codec`] output). `key_index` is an index, or a method
    /// building one over `metadata.bounds`. The metadata's bounds and extent grow to cover
    /// every record.
    ///
    /// Memory stays within `options.memory_budget`: beyond it sorted runs spill to disk and
    /// are merged. Partitions (index ranges from the key bounds, no sampling) are sorted,
    /// grouped by index and written in parallel. A key given twice keeps its later value.
    /// An existing layer is an [`Error::LayerExists`] unless `options.overwrite`. A key
    /// outside the key index's bounds is an [`Error::OutOfKeyBounds`] and nothing changes.
    pub fn write<K, V, I>(
        &self,
        id: &LayerId,
        metadata: LayerMetadata<K>,
        key_index: impl Into<KeyIndexChoice<K>>,
        records: I,
        options: &WriteOptions,
    ) -> Result<WriteReport, Error>
    where
        K: LayerKey,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, V)>,
    {
        options.check()?;
        let key_index = key_index
            .into()
            .resolve(metadata.bounds)
            .map_err(|e| key_index_error(id, e))?;
        let _lock = self.lock(id)?;
        if self.exists(id) && !options.overwrite {
            return Err(Error::LayerExists {
                id: id.to_string(),
                catalog: self.dir.clone(),
            });
        }
        self.write_generation(id, metadata, key_index, options, |intake| {
            for (key, value) in records {
                intake.push(&key, value.as_ref())?;
            }
            Ok(())
        })
    }

    /// Writes a new layer of tiles, encoding each with [`keyed_tile::codec`] and
    /// `compression` (one tile in memory at a time); otherwise as [`Catalog::write`].
    pub fn write_tiles<K, I>(
        &self,
        id: &LayerId,
        metadata: LayerMetadata<K>,
        key_index: impl Into<KeyIndexChoice<K>>,
        tiles: I,
        compression: keyed_tile::codec::Compression,
        options: &WriteOptions,
    ) -> Result<WriteReport, Error>
    where
        K: LayerKey,
        I: IntoIterator<Item = (K, keyed_tile::MultibandTile)>,
    {
        let records = tiles
            .into_iter()
            .map(|(key, tile)| (key, keyed_tile::codec::encode(&tile, compression)));
        self.write(id, metadata, key_index, records, options)
    }

    /// Rewrites a layer with another key index (atomically). A key outside the new index's
    /// bounds is an [`Error::OutOfKeyBounds`] and nothing changes.
    pub fn reindex<K: LayerKey>(
        &self,
        id: &LayerId,
        key_index: impl Into<KeyIndexChoice<K>>,
        options: &WriteOptions,
    ) -> Result<WriteReport, Error> {
        options.check()?;
        let _lock = self.lock(id)?;
        let attrs = self.read_attributes::<K>(id)?;
        let key_index = key_index
            .into()
            .resolve(attrs.metadata.bounds)
            .map_err(|e| key_index_error(id, e))?;
        let old_dir = self.generation_dir(id, attrs.header.generation);
        let parts = list_parts(&old_dir)?;
        let mut options = options.clone();
        options.value_class.clone_from(&attrs.header.value_class);
        options.codec.clone_from(&attrs.codec);
        self.write_generation(id, attrs.metadata, key_index, &options, |intake| {
            for (_, path) in &parts {
                let reader = MapFileReader::open(path).map_err(|e| Error::part(path, e))?;
                for record in &reader {
                    let record = record.map_err(|e| Error::part(path, e))?;
                    let (key, len) =
                        K::read_from(record.payload).map_err(|e| Error::BadRecord {
                            path: path.clone(),
                            index: record.index,
                            source: e,
                        })?;
                    intake.push(&key, record.payload.get(len..).unwrap_or(&[]))?;
                }
            }
            Ok(())
        })
    }

    /// Writes all records fed by `feed` as a new generation of layer `id` and switches to
    /// it. The caller holds the layer's lock.
    fn write_generation<K, F>(
        &self,
        id: &LayerId,
        mut metadata: LayerMetadata<K>,
        key_index: LayerKeyIndex<K>,
        options: &WriteOptions,
        feed: F,
    ) -> Result<WriteReport, Error>
    where
        K: LayerKey,
        F: FnOnce(&mut Intake<'_, K>) -> Result<(), Error>,
    {
        let threads = self.options.effective_threads();
        let (generation, dir) = self.new_generation(id)?;
        let counters = Counters::default();
        let progress = options.progress.as_ref();
        let result = (|| {
            let sorter = sorter_for(&self.layer_dir(id), options, generation, threads);
            let mut intake = Intake::new(id, &key_index, sorter, &[], &counters, progress);
            feed(&mut intake)?;
            let bounds = intake.bounds;
            let sorted = intake.sorter.finish()?;
            let stats = sorted.stats();
            let partitions = if options.partitions > 0 {
                options.partitions
            } else {
                partition_count(stats.bytes, options.max_part_bytes, threads)
            };
            let plan = plan_partitions(&key_index, bounds.as_ref(), partitions);
            let tasks: Vec<Task<'_>> = plan
                .iter()
                .enumerate()
                .map(|(n, &(lo, hi))| Task {
                    lo,
                    hi,
                    old: None,
                    partition: u32::try_from(n).unwrap_or(u32::MAX),
                })
                .collect();
            let files = self.run_partition_tasks::<K, _>(
                id,
                &sorted,
                generation,
                &dir,
                &tasks,
                options,
                &updating_wins::<K>,
                false,
                &counters,
            )?;
            if self.options.sync {
                sync_dir(&dir)?;
            }
            if let Some(b) = &bounds {
                metadata.grow(b);
            }
            let attrs = LayerAttributes {
                header: header::<K>(id, generation, &options.value_class),
                metadata,
                key_index,
                codec: options.codec.clone(),
            };
            // The spill's files stay open while its names go (with the commit's cleaning
            // of the layer directory, or here for a chosen directory), and are closed in
            // the background; see the `cleanup` module.
            let spill = sorted.into_spill_files();
            self.commit(id, &attrs)?;
            self.cleanup.close_later(spill);
            counters.report(progress, Phase::Done);
            Ok(WriteReport {
                generation,
                records_in: stats.records,
                duplicates_dropped: counters.dropped.load(Ordering::Relaxed),
                records_written: counters.written.load(Ordering::Relaxed),
                merged: 0,
                parts_written: files.len(),
                parts_kept: 0,
                bytes_written: files.iter().map(|f| f.bytes).sum(),
                spilled_runs: stats.spills,
            })
        })();
        if result.is_err() {
            let _ = remove_tree(&dir);
        }
        result
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one private helper shared by write and update"
    )]
    fn run_partition_tasks<K, F>(
        &self,
        id: &LayerId,
        sorted: &Sorted,
        generation: u64,
        dir: &Path,
        tasks: &[Task<'_>],
        options: &WriteOptions,
        merge: &F,
        overwrite: bool,
        counters: &Counters,
    ) -> Result<Vec<PartFile>, Error>
    where
        K: LayerKey,
        F: Fn(&K, &[u8], &[u8]) -> Vec<u8> + Sync,
    {
        // Parts are staged beside the generation (same file system, so the default file
        // store links them in without copying) and handed to the part store with retries.
        let staging = staging_dir(dir);
        remove_tree(&staging)?;
        std::fs::create_dir_all(&staging).map_err(crate::fsutil::at(&staging))?;
        let key_prefix = header::<K>(id, generation, "").path;
        let threads = self.options.effective_threads();
        let (puts, jobs) = crossbeam::channel::unbounded();
        let put_failed = AtomicBool::new(false);
        std::thread::scope(|scope| {
            // Finished files are put into the store (fsynced) on threads of their own, as
            // many as write parts, while the tasks go on merging; without any, each task
            // puts its own.
            let putters: Vec<_> = (0..threads.min(tasks.len()).max(1))
                .map_while(|_| {
                    std::thread::Builder::new()
                        .name("layer-store-put".into())
                        .spawn_scoped(scope, || put_staged(&self.parts, &jobs, &put_failed))
                        .ok()
                })
                .collect();
            let sink = PartSink {
                store: &self.parts,
                staging: &staging,
                generation_dir: dir,
                key_prefix: &key_prefix,
                puts: (!putters.is_empty()).then_some(puts),
                put_failed: &put_failed,
            };
            let sources = sorted.source_count().max(1);
            let env = TaskEnv::<K, F> {
                sorted,
                dir,
                writer: writer_options(options, sorted),
                merge_buffer: (budgets(options.memory_budget, threads).merge_buffer / sources)
                    .clamp(4 << 10, 256 << 10),
                merge,
                overwrite,
                sink: &sink,
                counters,
                progress: options.progress.as_ref(),
                spill_source: dir,
                _key: std::marker::PhantomData,
            };
            let per_task = run_tasks(threads, tasks.len(), |n| match tasks.get(n) {
                Some(task) => env.run(task),
                None => Err(Error::Internal {
                    what: "a partition task out of range",
                }),
            });
            // Closing the channel (the tasks' borrows of the sink ended with them) lets
            // the putters finish what is queued, then stop.
            drop(sink);
            let mut stored = Ok(());
            for putter in putters {
                let put = putter.join().unwrap_or_else(|_| {
                    Err(Error::Worker {
                        what: "a part putting thread panicked".to_owned(),
                    })
                });
                if stored.is_ok() {
                    stored = put;
                }
            }
            // Staged files are removed as their parts are stored; after a failure some
            // remain.
            let cleaned = remove_tree(&staging);
            // A failed put comes first: the tasks it stopped report only that.
            stored?;
            let files = per_task?.into_iter().flatten().collect();
            cleaned?;
            Ok(files)
        })
    }

    /// Merges records into an existing layer (ADR 0002's incremental update).
    ///
    /// Only the part files whose index range holds an updated index are rewritten; records
    /// whose indexes fall between or beyond the existing parts go to new part files; every
    /// other part is kept as it is (hard-linked into the new generation). For a key already
    /// in the layer, `merge(key, existing, updating)` gives the stored value: it is called
    /// exactly once per such key, and never in overwrite mode (then the updating value
    /// wins without the existing one being read). [`updating_wins`] is the usual choice.
    /// A key given twice in one update keeps its later value.
    ///
    /// A key outside the key index's bounds is an [`Error::OutOfKeyBounds`], and then
    /// nothing is written. The metadata's bounds and extent grow to cover the new keys.
    pub fn update<K, V, I, F>(
        &self,
        id: &LayerId,
        records: I,
        merge: F,
        options: &UpdateOptions,
    ) -> Result<WriteReport, Error>
    where
        K: LayerKey,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, V)>,
        F: Fn(&K, &[u8], &[u8]) -> Vec<u8> + Sync,
    {
        let wopts = &options.write;
        wopts.check()?;
        let threads = self.options.effective_threads();
        let _lock = self.lock(id)?;
        let mut attrs = self.read_attributes::<K>(id)?;
        let old_dir = self.generation_dir(id, attrs.header.generation);
        let old_parts = open_old_parts(&old_dir)?;
        let (generation, dir) = self.new_generation(id)?;
        let counters = Counters::default();
        let progress = wopts.progress.as_ref();
        let result = (|| {
            let sorter = sorter_for(&self.layer_dir(id), wopts, generation, threads);
            let key_index = attrs.key_index.clone();
            let mut intake = Intake::new(id, &key_index, sorter, &old_parts, &counters, progress);
            for (key, value) in records {
                intake.push(&key, value.as_ref())?;
            }
            let Some(bounds) = intake.bounds else {
                // Nothing to update: keep the current generation.
                return Ok(None);
            };
            let touched_parts = std::mem::take(&mut intake.touched_parts);
            let mut touched_gaps = std::mem::take(&mut intake.touched_gaps);
            if old_parts.is_empty() {
                touched_gaps = vec![true];
            }
            let sorted = intake.sorter.finish()?;
            let stats = sorted.stats();
            // Fresh partition numbers keep new names apart from the kept parts' names.
            let mut partition = old_parts
                .iter()
                .map(|p| p.partition)
                .max()
                .map_or(0, |m| m.saturating_add(1));
            let mut tasks = Vec::new();
            let n = old_parts.len();
            for g in 0..=n {
                if touched_gaps.get(g).copied().unwrap_or(false) {
                    // A touched gap holds an index, so neither bound can wrap here.
                    let lo = if g == 0 {
                        0
                    } else {
                        old_parts[g - 1].last.saturating_add(1)
                    };
                    let hi = if g == n {
                        u64::MAX
                    } else {
                        old_parts[g].first.saturating_sub(1)
                    };
                    tasks.push(Task {
                        lo,
                        hi,
                        old: None,
                        partition,
                    });
                    partition = partition.saturating_add(1);
                }
                if g < n && touched_parts[g] {
                    tasks.push(Task {
                        lo: old_parts[g].first,
                        hi: old_parts[g].last,
                        old: Some(&old_parts[g].path),
                        partition,
                    });
                    partition = partition.saturating_add(1);
                }
            }
            let files = self.run_partition_tasks::<K, F>(
                id,
                &sorted,
                generation,
                &dir,
                &tasks,
                wopts,
                &merge,
                options.overwrite,
                &counters,
            )?;
            let mut kept = 0;
            for (g, part) in old_parts.iter().enumerate() {
                if !touched_parts[g] {
                    link_or_copy(&part.path, &dir.join(&part.name), self.options.sync)?;
                    kept += 1;
                }
            }
            if self.options.sync {
                sync_dir(&dir)?;
            }
            attrs.metadata.grow(&bounds);
            attrs.header.generation = generation;
            attrs.header.path = header::<K>(id, generation, "").path;
            let spill = sorted.into_spill_files();
            self.commit(id, &attrs)?;
            self.cleanup.close_later(spill);
            counters.report(progress, Phase::Done);
            Ok(Some(WriteReport {
                generation,
                records_in: stats.records,
                duplicates_dropped: counters.dropped.load(Ordering::Relaxed),
                records_written: counters.written.load(Ordering::Relaxed),
                merged: counters.merged.load(Ordering::Relaxed),
                parts_written: files.len(),
                parts_kept: kept,
                bytes_written: files.iter().map(|f| f.bytes).sum(),
                spilled_runs: stats.spills,
            }))
        })();
        match result {
            Ok(Some(report)) => Ok(report),
            Ok(None) => {
                remove_tree(&dir)?;
                Ok(WriteReport {
                    generation: attrs.header.generation,
                    parts_kept: old_parts.len(),
                    ..WriteReport::default()
                })
            }
            Err(e) => {
                let _ = remove_tree(&dir);
                Err(e)
            }
        }
    }
}

fn header<K: LayerKey>(id: &LayerId, generation: u64, value_class: &str) -> LayerHeader {
    LayerHeader {
        format: "file".to_owned(),
        key_class: K::KEY_CLASS.to_owned(),
        value_class: value_class.to_owned(),
        path: format!("{}/{}/g{generation}", id.name(), id.zoom()),
        generation,
        layout_version: LAYOUT_VERSION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_partitions_fill_whole_rounds_of_threads() {
        const MIB: u64 = 1 << 20;
        // 1096 MiB in parts of at most 128 MiB need 9; two threads get 10.
        assert_eq!(partition_count(1096 * MIB, 128 * MIB, 2), 10);
        assert_eq!(partition_count(1096 * MIB, 128 * MIB, 1), 9);
        assert_eq!(partition_count(1096 * MIB, 128 * MIB, 4), 12);
        // Small writes still give every thread a partition.
        assert_eq!(partition_count(0, 128 * MIB, 4), 4);
        assert_eq!(partition_count(10, 128 * MIB, 3), 3);
        // The size limit always holds: no part gets more than its share.
        for threads in 1..9 {
            for bytes in [1, MIB, 127 * MIB, 128 * MIB, 129 * MIB, 5000 * MIB] {
                let n = partition_count(bytes, 128 * MIB, threads) as u64;
                assert_eq!(n % threads as u64, 0, "{bytes} bytes, {threads} threads");
                assert!(bytes.div_ceil(n) <= 128 * MIB, "{bytes} bytes in {n} parts");
            }
        }
        // Never beyond the limit, and a zero size limit is no division by zero.
        assert!(partition_count(u64::MAX, 1, 3) <= MAX_PARTITIONS);
        assert!(partition_count(u64::MAX, 0, 1) <= MAX_PARTITIONS);
        assert_eq!(partition_count(1, 1, 0), 1);
    }
}
