//! Reading layers: point reads through a shared LRU of memory-mapped part files, streamed
//! queries by key bounds or extent, and verification.

use std::collections::VecDeque;
use std::io;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam::channel::{Receiver, Sender, bounded};
use keyed_tile::index::{Budget, KeyIndex};
use keyed_tile::{Extent, KeyBounds};
use mapfile::MapFileReader;
use memmap2::Mmap;
use parking_lot::{Mutex, RwLock};

use crate::catalog::{Catalog, list_parts};
use crate::error::Error;
use crate::exec::run_tasks;
use crate::id::LayerId;
use crate::layer::{LayerAttributes, LayerKey, LayerMetadata};
use crate::write::key_index_error;

/// A planned query: the clipped bounds, their index ranges, the chosen part files, and
/// how many curve cells the ranges cover (an upper bound on the records they can hold,
/// up to key collisions).
type Plan<K> = (KeyBounds<K>, Vec<RangeInclusive<u64>>, Vec<usize>, u128);

/// The default of [`QueryOptions::parallel_min_cells`]. Below this many covered curve cells
/// a query reads its files on the calling thread:
/// starting threads costs more than the few records save (measured: 16x16-tile boxes ran
/// no faster on two threads than on one).
pub const PARALLEL_MIN_CELLS: u128 = 16_384;

/// The sending end of one file's batches in a parallel query.
type BatchSender<K> = Mutex<Option<Sender<Result<Batch<K>, Error>>>>;

/// A memory-mapped part file.
type Part = Arc<MapFileReader<Mmap>>;

/// How a query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryOptions {
    /// The budget of the decomposition into index ranges. A coarser budget only adds
    /// records that the exact key bounds then filter out; it never misses one.
    pub budget: Budget,
    /// Threads reading part files in parallel; 0 takes the catalog's setting.
    pub threads: usize,
    /// Queries covering fewer curve cells than this read on the calling thread, because
    /// starting threads would cost more than it saves; default [`PARALLEL_MIN_CELLS`].
    pub parallel_min_cells: u128,
}

impl QueryOptions {
    /// These options with another decomposition budget.
    #[must_use]
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// These options with another parallel threshold in covered curve cells.
    #[must_use]
    pub fn parallel_min_cells(mut self, cells: u128) -> Self {
        self.parallel_min_cells = cells;
        self
    }

    /// These options with another thread count (0 = the catalog's).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            // GeoMesa's default target is 2000 ranges; a power of two near it.
            budget: Budget::max_ranges(2048),
            threads: 0,
            parallel_min_cells: PARALLEL_MIN_CELLS,
        }
    }
}

/// The open-file cache of a reader: at most `capacity` memory maps, least recently used
/// evicted first. Hits take only the read lock (the recency tick is atomic), so readers on
/// many threads do not serialise; a linear scan beats hashing for the 16 entries of the
/// default.
#[derive(Debug)]
struct Lru {
    capacity: usize,
    clock: AtomicU64,
    slots: RwLock<Vec<Slot>>,
}

#[derive(Debug)]
struct Slot {
    file: usize,
    tick: AtomicU64,
    part: Part,
}

impl Lru {
    fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            clock: AtomicU64::new(0),
            slots: RwLock::new(Vec::new()),
        }
    }

    /// Marks a hit. The clock only advances on a miss, so a hit costs a load and at most
    /// one store (none when the slot was already hit since the last miss) instead of an
    /// atomic read-modify-write on a line every reading thread shares. Eviction then picks
    /// a file not hit since the oldest miss: least recently used, up to ties.
    fn touch(&self, slot: &Slot) {
        let now = self.clock.load(Ordering::Relaxed);
        if slot.tick.load(Ordering::Relaxed) != now {
            slot.tick.store(now, Ordering::Relaxed);
        }
    }

    /// Runs `f` on file `file` if it is mapped, under the read lock.
    fn with<R>(&self, file: usize, f: impl FnOnce(&Part) -> R) -> Option<R> {
        // Recursive, so that an `f` reading from the same reader cannot deadlock behind a
        // waiting writer.
        let slots = self.slots.read_recursive();
        let slot = slots.iter().find(|s| s.file == file)?;
        self.touch(slot);
        Some(f(&slot.part))
    }

    /// Adds a freshly mapped file (or returns the one another thread added meanwhile).
    fn insert(&self, file: usize, part: Part) -> Part {
        let mut slots = self.slots.write();
        if let Some(slot) = slots.iter().find(|s| s.file == file) {
            self.touch(slot);
            return Arc::clone(&slot.part);
        }
        let slot = Slot {
            file,
            tick: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed) + 1),
            part: Arc::clone(&part),
        };
        if slots.len() < self.capacity {
            slots.push(slot);
        } else if let Some(oldest) = slots
            .iter_mut()
            .min_by_key(|s| s.tick.load(Ordering::Relaxed))
        {
            *oldest = slot;
        }
        part
    }
}

#[derive(Debug)]
struct Inner<K: LayerKey> {
    catalog: Catalog,
    id: LayerId,
    attrs: LayerAttributes<K>,
    /// First index of each part file, ascending; `paths` go along.
    firsts: Vec<u64>,
    paths: Vec<PathBuf>,
    cache: Lru,
    threads: usize,
}

/// Reads one layer. Cheap to clone; clones share the file listing (read once, when the
/// reader is made) and the cache of open part files, and may be used from many threads.
///
/// A reader sees the generation that was current when it was made. If the layer is
/// rewritten afterwards, part files it had not opened yet are gone and reading them is an
/// [`Error::StaleReader`]: make a new one with [`LayerReader::reopen`].
#[derive(Debug)]
pub struct LayerReader<K: LayerKey> {
    inner: Arc<Inner<K>>,
}

impl<K: LayerKey> Clone for LayerReader<K> {
    fn clone(&self) -> Self {
        LayerReader {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// What [`LayerReader::verify`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Part files checked.
    pub parts: usize,
    /// Records checked.
    pub records: u64,
    /// Bytes of part files checked.
    pub bytes: u64,
}

impl Catalog {
    /// Opens a reader of layer `id`, whose keys are `K`.
    pub fn reader<K: LayerKey>(&self, id: &LayerId) -> Result<LayerReader<K>, Error> {
        // A writer in another process may switch generations between our reading the
        // metadata and listing its generation: then the listing fails, and a second look
        // finds the new generation.
        let mut attempts = 0;
        loop {
            let attrs = self.read_attributes::<K>(id)?;
            let dir = self.generation_dir(id, attrs.header.generation);
            match list_parts(&dir) {
                Ok(parts) => return Ok(self.reader_from(id, attrs, parts)),
                Err(e) => {
                    attempts += 1;
                    if attempts >= 5 || dir.is_dir() {
                        return Err(e);
                    }
                }
            }
        }
    }

    fn reader_from<K: LayerKey>(
        &self,
        id: &LayerId,
        attrs: LayerAttributes<K>,
        parts: Vec<(String, PathBuf)>,
    ) -> LayerReader<K> {
        let mut firsts = Vec::with_capacity(parts.len());
        let mut paths = Vec::with_capacity(parts.len());
        for (name, path) in parts {
            let Some(part) = mapfile::parse_part_name(&name) else {
                continue;
            };
            firsts.push(part.first_index);
            paths.push(path);
        }
        LayerReader {
            inner: Arc::new(Inner {
                catalog: self.clone(),
                id: id.clone(),
                attrs,
                firsts,
                paths,
                cache: Lru::new(self.options.reader_cache),
                threads: self.options.effective_threads(),
            }),
        }
    }

    /// Verifies every part file of a layer of any key type: every checksum, every record's
    /// key and index, and that each record lies in the index range its file covers.
    pub fn verify(&self, id: &LayerId) -> Result<VerifyReport, Error> {
        let info = self.info(id)?;
        match info.key_class.as_str() {
            "SpaceTimeKey" => self.reader::<keyed_tile::SpaceTimeKey>(id)?.verify(),
            _ => self.reader::<keyed_tile::SpatialKey>(id)?.verify(),
        }
    }
}

impl<K: LayerKey> Inner<K> {
    fn part(&self, n: usize) -> Result<Part, Error> {
        if let Some(part) = self.cache.with(n, Arc::clone) {
            return Ok(part);
        }
        self.open_part(n)
    }

    /// Maps part file `n` (outside any lock, so other threads keep reading meanwhile) and
    /// caches it.
    fn open_part(&self, n: usize) -> Result<Part, Error> {
        let path = self.paths.get(n).ok_or(Error::Internal {
            what: "part number out of range",
        })?;
        let part = match MapFileReader::open(path) {
            Ok(r) => Arc::new(r),
            Err(mapfile::Error::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::StaleReader {
                    id: self.id.to_string(),
                    path: path.clone(),
                });
            }
            Err(e) => return Err(Error::part(path, e)),
        };
        Ok(self.cache.insert(n, part))
    }

    /// The part files whose covers meet the (sorted, disjoint) ranges, ascending: the
    /// file-set rule of mapfile's `select_files`, by binary search over the cached first
    /// indexes instead of parsing every name per query.
    fn select(&self, ranges: &[RangeInclusive<u64>]) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for r in ranges {
            let first = self.part_for(*r.start()).unwrap_or(0);
            let Some(last) = self.part_for(*r.end()) else {
                continue;
            };
            let from = out.last().map_or(first, |&l| first.max(l + 1));
            out.extend(from..=last);
        }
        out
    }

    /// The part file whose cover holds `index`.
    fn part_for(&self, index: u64) -> Option<usize> {
        self.firsts.partition_point(|&f| f <= index).checked_sub(1)
    }

    fn not_found(&self, key: &K) -> Error {
        Error::ValueNotFound {
            id: self.id.to_string(),
            key: key.to_string(),
        }
    }
}

impl<K: LayerKey> LayerReader<K> {
    /// A new reader of the layer's current generation (after an
    /// [`Error::StaleReader`], for instance).
    pub fn reopen(&self) -> Result<Self, Error> {
        self.inner.catalog.reader(&self.inner.id)
    }

    /// The layer read.
    pub fn id(&self) -> &LayerId {
        &self.inner.id
    }

    /// The layer's metadata document.
    pub fn attributes(&self) -> &LayerAttributes<K> {
        &self.inner.attrs
    }

    /// The layer's metadata.
    pub fn metadata(&self) -> &LayerMetadata<K> {
        &self.inner.attrs.metadata
    }

    /// The number of part files.
    pub fn part_count(&self) -> usize {
        self.inner.paths.len()
    }

    /// The part files, as (first index, path), ascending.
    pub fn parts(&self) -> impl Iterator<Item = (u64, &Path)> {
        self.inner
            .firsts
            .iter()
            .copied()
            .zip(self.inner.paths.iter().map(PathBuf::as_path))
    }

    /// Calls `f` with the value stored for `key` (borrowed from the memory map, no copy).
    /// `f` runs while the reader's file cache is read-locked, so keep it short (copy or
    /// parse, then work on the result outside).
    ///
    /// The key's index picks the file with the greatest first index not above it; of the
    /// records with that index (keys can share one), the one holding `key` is the answer.
    pub fn read_with<R>(&self, key: &K, f: impl FnOnce(&[u8]) -> R) -> Result<R, Error> {
        let inner = &*self.inner;
        let index = match inner.attrs.key_index.to_index(key) {
            Ok(i) => i,
            // Outside the index's bounds nothing can be stored.
            Err(keyed_tile::Error::OutOfBounds { .. }) => return Err(inner.not_found(key)),
            Err(e) => return Err(key_index_error(&inner.id, e)),
        };
        let Some(n) = inner.part_for(index) else {
            return Err(inner.not_found(key));
        };
        // A hit runs the lookup under the cache's read lock: no reference count to bump.
        let mut f = Some(f);
        if let Some(found) = inner
            .cache
            .with(n, |part| lookup(inner, n, part, index, key, &mut f))
        {
            return found;
        }
        let part = inner.open_part(n)?;
        lookup(inner, n, &part, index, key, &mut f)
    }

    /// The value stored for `key`, or [`Error::ValueNotFound`].
    pub fn read(&self, key: &K) -> Result<Vec<u8>, Error> {
        self.read_with(key, <[u8]>::to_vec)
    }

    /// Whether a value is stored for `key`.
    pub fn contains(&self, key: &K) -> Result<bool, Error> {
        match self.read_with(key, |_| ()) {
            Ok(()) => Ok(true),
            Err(Error::ValueNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads and decodes the tile stored for `key` ([`keyed_tile::codec`] bytes).
    pub fn read_tile(&self, key: &K) -> Result<keyed_tile::MultibandTile, Error> {
        // Decoding takes a while: copy the bytes out first, so the cache is not held.
        let bytes = self.read(key)?;
        keyed_tile::codec::decode(&bytes).map_err(|e| Error::Codec {
            id: self.inner.id.to_string(),
            key: key.to_string(),
            source: e,
        })
    }

    /// Every record whose key lies in `bounds`, streamed in index order; see
    /// [`LayerReader::query_with`].
    pub fn query(&self, bounds: &KeyBounds<K>) -> Result<QueryIter<K>, Error> {
        self.query_with(bounds, &QueryOptions::default())
    }

    /// Every record of the layer, streamed in index order.
    pub fn all(&self) -> Result<QueryIter<K>, Error> {
        let all = *self.inner.attrs.key_index.key_bounds();
        self.query(&all)
    }

    /// Every record whose key lies in the map area `extent` (through the layout), and for
    /// space-time keys in the inclusive time range `time` (epoch ms; `None` = all times).
    pub fn query_extent(
        &self,
        extent: &Extent,
        time: Option<(i64, i64)>,
    ) -> Result<QueryIter<K>, Error> {
        let meta = self.metadata();
        let spatial = meta.layout_definition.extent_to_bounds(extent);
        let bounds = K::query_bounds(&spatial, time, &meta.bounds);
        self.query(&bounds)
    }

    /// The ranges and part files of a query: the key bounds clipped to the index's, their
    /// decomposition into index ranges, and the files those can touch (chosen by name).
    fn plan(
        &self,
        bounds: &KeyBounds<K>,
        options: &QueryOptions,
    ) -> Result<Option<Plan<K>>, Error> {
        let inner = &*self.inner;
        let ki = &inner.attrs.key_index;
        bounds
            .validate()
            .map_err(|e| key_index_error(&inner.id, e))?;
        let Some(clipped) = ki.key_bounds().intersection(bounds) else {
            return Ok(None);
        };
        let decomposition = ki
            .decompose(&clipped, options.budget)
            .map_err(|e| key_index_error(&inner.id, e))?;
        let cells = decomposition.cells_covered;
        let ranges = decomposition.ranges;
        if ranges.is_empty() || inner.firsts.is_empty() {
            return Ok(None);
        }
        let files = inner.select(&ranges);
        Ok(Some((clipped, ranges, files, cells)))
    }

    /// Every record whose key lies in `bounds`, streamed in index order:
    /// 1. the bounds decompose into index ranges (within `options.budget`);
    /// 2. part files that cannot hold those ranges are dropped by name, unopened;
    /// 3. each remaining file is traversed in step with the ranges;
    /// 4. each record's key is checked against the exact bounds.
    ///
    /// Files are read in parallel (by `options.threads`, when the query covers at least
    /// `options.parallel_min_cells` curve cells in two or more files) a few batches ahead of the consumer, and
    /// the results still come in index order; memory stays bounded whatever the result
    /// size.
    pub fn query_with(
        &self,
        bounds: &KeyBounds<K>,
        options: &QueryOptions,
    ) -> Result<QueryIter<K>, Error> {
        let Some((clipped, ranges, files, cells)) = self.plan(bounds, options)? else {
            return Ok(QueryIter::empty(self.clone()));
        };
        let threads = if options.threads == 0 {
            self.inner.threads
        } else {
            options.threads
        };
        let job = Arc::new(Job {
            reader: self.clone(),
            bounds: clipped,
            ranges,
            files,
        });
        if threads <= 1 || job.files.len() <= 1 || cells < options.parallel_min_cells {
            Ok(QueryIter {
                mode: Mode::Sequential {
                    job,
                    file: 0,
                    resume: None,
                },
                batch: VecDeque::new(),
                failed: false,
            })
        } else {
            Ok(QueryIter::parallel(job, threads))
        }
    }

    /// Calls `f` on every record whose key lies in `bounds` (values borrowed from the
    /// memory maps), with files processed in parallel and in no particular order. Returns
    /// the number of records. An error from `f` stops the query and is returned.
    pub fn query_for_each<F>(&self, bounds: &KeyBounds<K>, f: F) -> Result<u64, Error>
    where
        F: Fn(K, &[u8]) -> Result<(), Error> + Sync,
    {
        self.query_for_each_with(bounds, &QueryOptions::default(), f)
    }

    /// [`LayerReader::query_for_each`] with options: files are read in parallel (by
    /// `options.threads`) only when the query covers at least `options.parallel_min_cells`
    /// curve cells in two or more files; smaller queries run on the calling thread, since
    /// starting threads would cost more than they save.
    pub fn query_for_each_with<F>(
        &self,
        bounds: &KeyBounds<K>,
        options: &QueryOptions,
        f: F,
    ) -> Result<u64, Error>
    where
        F: Fn(K, &[u8]) -> Result<(), Error> + Sync,
    {
        let Some((clipped, ranges, files, cells)) = self.plan(bounds, options)? else {
            return Ok(0);
        };
        let inner = &*self.inner;
        let threads = if cells < options.parallel_min_cells {
            1
        } else if options.threads == 0 {
            inner.threads
        } else {
            options.threads
        };
        let counts = run_tasks(threads, files.len(), |n| {
            let file = files.get(n).copied().ok_or(Error::Internal {
                what: "query task out of range",
            })?;
            let part = inner.part(file)?;
            let path = inner
                .paths
                .get(file)
                .map_or(Path::new(""), PathBuf::as_path);
            let mut count = 0u64;
            for record in part.ranges(&ranges) {
                let record = record.map_err(|e| Error::part(path, e))?;
                let (key, len) = decode_key::<K>(path, record.index, record.payload)?;
                if clipped.contains(&key) {
                    f(key, record.payload.get(len..).unwrap_or(&[]))?;
                    count += 1;
                }
            }
            Ok(count)
        })?;
        Ok(counts.into_iter().sum())
    }

    /// Checks every part file: every checksum, every record's key, that the key maps to
    /// the record's index, that the record lies in its file's cover, and that no key is
    /// stored twice under one index.
    pub fn verify(&self) -> Result<VerifyReport, Error> {
        let inner = &*self.inner;
        let ki = &inner.attrs.key_index;
        let mut report = VerifyReport::default();
        // The last index of the previous file with records: part files hold exclusive,
        // ascending index ranges, so no record may come at or below it.
        let mut previous: Option<(u64, &PathBuf)> = None;
        for (n, path) in inner.paths.iter().enumerate() {
            let part = match MapFileReader::open(path) {
                Ok(p) => p,
                Err(e) => return Err(Error::part(path, e)),
            };
            part.verify().map_err(|e| Error::part(path, e))?;
            let first = inner.firsts.get(n).copied().unwrap_or(0);
            // The cover ends before the next larger first index. Files sharing a first
            // index (only a damaged directory has them) share a cover, so the next file's
            // first index may equal this one's and cannot be decremented blindly.
            let cover_end = inner
                .firsts
                .iter()
                .find(|&&f| f > first)
                .map_or(u64::MAX, |&f| f - 1);
            let mut group_index = None;
            let mut group_keys: Vec<K> = Vec::new();
            for record in &part {
                let record = record.map_err(|e| Error::part(path, e))?;
                let (key, _) = decode_key::<K>(path, record.index, record.payload)?;
                let expected = ki
                    .to_index(&key)
                    .map_err(|e| key_index_error(&inner.id, e))?;
                if expected != record.index || record.index < first || record.index > cover_end {
                    return Err(Error::MisplacedRecord {
                        path: path.clone(),
                        key: key.to_string(),
                        stored: record.index,
                        expected,
                    });
                }
                if let Some((last, other)) = previous
                    && record.index <= last
                {
                    return Err(Error::OverlappingParts {
                        path: path.clone(),
                        other: other.clone(),
                        index: record.index,
                    });
                }
                if group_index != Some(record.index) {
                    group_index = Some(record.index);
                    group_keys.clear();
                }
                if group_keys.contains(&key) {
                    return Err(Error::MisplacedRecord {
                        path: path.clone(),
                        key: format!("{key} (stored twice)"),
                        stored: record.index,
                        expected,
                    });
                }
                group_keys.push(key);
                report.records += 1;
            }
            if let Some(last) = group_index {
                previous = Some((last, path));
            }
            report.parts += 1;
            report.bytes += part.bytes().len() as u64;
        }
        Ok(report)
    }
}

/// Finds `key` among the records of `index` in part `n` and applies `f` to its value.
fn lookup<K: LayerKey, R>(
    inner: &Inner<K>,
    n: usize,
    part: &Part,
    index: u64,
    key: &K,
    f: &mut Option<impl FnOnce(&[u8]) -> R>,
) -> Result<R, Error> {
    // mapfile's point lookup: a seek through the sparse index, then the (usually single)
    // record of that index; no range traversal.
    let path = inner.paths.get(n).map_or(Path::new(""), PathBuf::as_path);
    for payload in part.get_iter(index) {
        let payload = payload.map_err(|e| Error::part(path, e))?;
        let (stored, len) = decode_key::<K>(path, index, payload)?;
        if stored == *key {
            let Some(f) = f.take() else {
                return Err(Error::Internal {
                    what: "lookup called twice",
                });
            };
            return Ok(f(payload.get(len..).unwrap_or(&[])));
        }
    }
    Err(inner.not_found(key))
}

fn decode_key<K: LayerKey>(path: &Path, index: u64, payload: &[u8]) -> Result<(K, usize), Error> {
    K::read_from(payload).map_err(|e| Error::BadRecord {
        path: path.to_path_buf(),
        index,
        source: e,
    })
}

/// A planned query shared by the threads running it.
#[derive(Debug)]
struct Job<K: LayerKey> {
    reader: LayerReader<K>,
    bounds: KeyBounds<K>,
    ranges: Vec<RangeInclusive<u64>>,
    /// Positions of the part files to read, ascending.
    files: Vec<usize>,
}

/// Records handed over in batches of at most this many...
const BATCH_RECORDS: usize = 256;
/// ...or this many value bytes, so a batch of big tiles stays small.
const BATCH_BYTES: usize = 1 << 20;

type Batch<K> = Vec<(K, Vec<u8>)>;

impl<K: LayerKey> Job<K> {
    /// Reads matching records of the `file`th chosen file into `out`, starting after the
    /// first `resume.1` records of index `resume.0`. Stops when the batch is full and
    /// returns where to resume, or `None` when the file is done.
    fn fill(
        &self,
        file: usize,
        resume: Option<(u64, usize)>,
        out: &mut Batch<K>,
    ) -> Result<Option<(u64, usize)>, Error> {
        let inner = &*self.reader.inner;
        let n = self.files[file];
        let part = inner.part(n)?;
        let path = &inner.paths[n];
        let clipped: Vec<RangeInclusive<u64>>;
        let ranges = match resume {
            Some((from, _)) => {
                clipped = self
                    .ranges
                    .iter()
                    .filter(|r| *r.end() >= from)
                    .map(|r| (*r.start()).max(from)..=*r.end())
                    .collect();
                &clipped
            }
            None => &self.ranges,
        };
        let (mut last, mut count) = resume.unwrap_or((0, 0));
        let mut skip = resume.map_or(0, |r| r.1);
        let mut bytes = 0;
        for record in part.ranges(ranges) {
            let record = record.map_err(|e| Error::part(path, e))?;
            if skip > 0 && record.index == last {
                skip -= 1;
                continue;
            }
            skip = 0;
            if record.index == last && count > 0 {
                count += 1;
            } else {
                last = record.index;
                count = 1;
            }
            let (key, len) = decode_key::<K>(path, record.index, record.payload)?;
            if self.bounds.contains(&key) {
                let value = record.payload.get(len..).unwrap_or(&[]);
                bytes += value.len();
                out.push((key, value.to_vec()));
                if out.len() >= BATCH_RECORDS || bytes >= BATCH_BYTES {
                    return Ok(Some((last, count)));
                }
            }
        }
        Ok(None)
    }
}

enum Mode<K: LayerKey> {
    Empty,
    Sequential {
        job: Arc<Job<K>>,
        file: usize,
        resume: Option<(u64, usize)>,
    },
    Parallel {
        receivers: VecDeque<Receiver<Result<Batch<K>, Error>>>,
        stop: Arc<AtomicBool>,
    },
}

/// The records of a query, streamed: `Ok((key, value))` in index order, or one `Err`
/// after which the iterator ends. Dropping it early stops the reading threads.
pub struct QueryIter<K: LayerKey> {
    mode: Mode<K>,
    batch: VecDeque<(K, Vec<u8>)>,
    failed: bool,
}

impl<K: LayerKey> std::fmt::Debug for QueryIter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryIter")
            .field("buffered", &self.batch.len())
            .finish_non_exhaustive()
    }
}

impl<K: LayerKey> QueryIter<K> {
    fn empty(_reader: LayerReader<K>) -> Self {
        QueryIter {
            mode: Mode::Empty,
            batch: VecDeque::new(),
            failed: false,
        }
    }

    fn parallel(job: Arc<Job<K>>, threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let mut senders: Vec<BatchSender<K>> = Vec::new();
        let mut receivers = VecDeque::new();
        for _ in 0..job.files.len() {
            // Two batches in flight per file: enough to keep a worker busy while the
            // consumer drains, few enough to bound memory (threads × 2 × 1 MiB).
            let (tx, rx) = bounded(2);
            senders.push(Mutex::new(Some(tx)));
            receivers.push_back(rx);
        }
        let senders = Arc::new(senders);
        for _ in 0..threads.min(job.files.len()) {
            let job = Arc::clone(&job);
            let stop = Arc::clone(&stop);
            let next = Arc::clone(&next);
            let senders = Arc::clone(&senders);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let file = next.fetch_add(1, Ordering::Relaxed);
                    let Some(tx) = senders.get(file).and_then(|s| s.lock().take()) else {
                        break;
                    };
                    let mut resume = None;
                    loop {
                        let mut batch = Vec::new();
                        match job.fill(file, resume, &mut batch) {
                            Ok(r) => {
                                if !batch.is_empty() && tx.send(Ok(batch)).is_err() {
                                    return;
                                }
                                match r {
                                    Some(r) => resume = Some(r),
                                    None => break,
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                stop.store(true, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                }
            });
        }
        QueryIter {
            mode: Mode::Parallel { receivers, stop },
            batch: VecDeque::new(),
            failed: false,
        }
    }

    /// Loads the next batch; `false` when the query is done.
    fn refill(&mut self) -> Result<bool, Error> {
        match &mut self.mode {
            Mode::Empty => Ok(false),
            Mode::Sequential { job, file, resume } => {
                let mut batch = Vec::new();
                while *file < job.files.len() {
                    *resume = job.fill(*file, *resume, &mut batch)?;
                    if resume.is_none() {
                        *file += 1;
                    }
                    if !batch.is_empty() {
                        self.batch.extend(batch);
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Mode::Parallel { receivers, .. } => {
                while let Some(rx) = receivers.front() {
                    match rx.recv() {
                        Ok(Ok(batch)) => {
                            self.batch.extend(batch);
                            return Ok(true);
                        }
                        Ok(Err(e)) => return Err(e),
                        // The file's worker is done with it.
                        Err(_) => {
                            receivers.pop_front();
                        }
                    }
                }
                Ok(false)
            }
        }
    }
}

impl<K: LayerKey> Iterator for QueryIter<K> {
    type Item = Result<(K, Vec<u8>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.batch.pop_front() {
            return Some(Ok(item));
        }
        if self.failed {
            return None;
        }
        match self.refill() {
            Ok(true) => self.batch.pop_front().map(Ok),
            Ok(false) => {
                self.failed = true;
                None
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl<K: LayerKey> Drop for QueryIter<K> {
    fn drop(&mut self) {
        if let Mode::Parallel { stop, receivers } = &mut self.mode {
            stop.store(true, Ordering::Relaxed);
            // Dropping the receivers makes blocked senders fail, so workers exit.
            receivers.clear();
        }
    }
}
