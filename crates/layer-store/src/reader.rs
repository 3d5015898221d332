//! Reading layers: point reads through a shared LRU of memory-mapped part files, streamed
//! queries by key bounds or extent, and verification.

use std::collections::VecDeque;
use std::io;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam::channel::{Receiver, Sender, bounded};
use keyed_tile::index::{Budget, KeyIndex};
use keyed_tile::{Extent, KeyBounds};
use mapfile::MapFileReader;
use memmap2::Mmap;
use parking_lot::Mutex;

use crate::catalog::{Catalog, list_parts};
use crate::error::Error;
use crate::exec::run_tasks;
use crate::id::LayerId;
use crate::layer::{LayerAttributes, LayerKey, LayerMetadata};
use crate::write::key_index_error;

/// A planned query: the clipped bounds, their index ranges, and the chosen part files.
type Plan<K> = (KeyBounds<K>, Vec<RangeInclusive<u64>>, Vec<usize>);

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
}

impl QueryOptions {
    /// These options with another decomposition budget.
    #[must_use]
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
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
        }
    }
}

/// The open-file cache of a reader: at most `capacity` memory maps, least recently used
/// evicted first. A linear scan is faster than hashing for the 16 entries of the default.
#[derive(Debug)]
struct Lru {
    capacity: usize,
    tick: u64,
    slots: Vec<(usize, u64, Part)>,
}

#[derive(Debug)]
struct Inner<K: LayerKey> {
    id: LayerId,
    attrs: LayerAttributes<K>,
    /// First index of each part file, ascending; `paths` and `names` go along.
    firsts: Vec<u64>,
    paths: Vec<PathBuf>,
    names: Vec<String>,
    cache: Mutex<Lru>,
    threads: usize,
}

/// Reads one layer. Cheap to clone; clones share the file listing (read once, when the
/// reader is made) and the cache of open part files, and may be used from many threads.
///
/// A reader sees the generation that was current when it was made. If the layer is
/// rewritten afterwards, part files it had not opened yet are gone and reading them is an
/// [`Error::StaleReader`]: make a new reader.
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
        let mut names = Vec::with_capacity(parts.len());
        for (name, path) in parts {
            let Some(part) = mapfile::parse_part_name(&name) else {
                continue;
            };
            firsts.push(part.first_index);
            paths.push(path);
            names.push(name);
        }
        LayerReader {
            inner: Arc::new(Inner {
                id: id.clone(),
                attrs,
                firsts,
                paths,
                names,
                cache: Mutex::new(Lru {
                    capacity: self.options.reader_cache.max(1),
                    tick: 0,
                    slots: Vec::new(),
                }),
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
        {
            let mut cache = self.cache.lock();
            cache.tick += 1;
            let tick = cache.tick;
            if let Some(slot) = cache.slots.iter_mut().find(|s| s.0 == n) {
                slot.1 = tick;
                return Ok(Arc::clone(&slot.2));
            }
        }
        // Map outside the lock, so other threads keep reading meanwhile.
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
        let mut cache = self.cache.lock();
        cache.tick += 1;
        let tick = cache.tick;
        if let Some(slot) = cache.slots.iter_mut().find(|s| s.0 == n) {
            slot.1 = tick;
            return Ok(Arc::clone(&slot.2));
        }
        if cache.slots.len() < cache.capacity {
            cache.slots.push((n, tick, Arc::clone(&part)));
        } else if let Some(oldest) = cache.slots.iter_mut().min_by_key(|s| s.1) {
            *oldest = (n, tick, Arc::clone(&part));
        }
        Ok(part)
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
        let part = inner.part(n)?;
        for record in part.range(index..=index) {
            let record = record.map_err(|e| Error::part(&inner.paths[n], e))?;
            let (stored, len) = K::read_from(record.payload).map_err(|e| Error::BadRecord {
                path: inner.paths[n].clone(),
                index,
                source: e,
            })?;
            if stored == *key {
                return Ok(f(record.payload.get(len..).unwrap_or(&[])));
            }
        }
        Err(inner.not_found(key))
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
        self.read_with(key, keyed_tile::codec::decode)?
            .map_err(|e| Error::Codec {
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
        let ranges = ki
            .index_ranges(&clipped, options.budget)
            .map_err(|e| key_index_error(&inner.id, e))?;
        if ranges.is_empty() || inner.names.is_empty() {
            return Ok(None);
        }
        let files = mapfile::select_files(&inner.names, &ranges).map_err(|e| Error::Part {
            path: inner.paths.first().cloned().unwrap_or_default(),
            source: e,
        })?;
        Ok(Some((clipped, ranges, files)))
    }

    /// Every record whose key lies in `bounds`, streamed in index order:
    /// 1. the bounds decompose into index ranges (within `options.budget`);
    /// 2. part files that cannot hold those ranges are dropped by name, unopened;
    /// 3. each remaining file is traversed in step with the ranges;
    /// 4. each record's key is checked against the exact bounds.
    ///
    /// Files are read in parallel (by `options.threads`) a few batches ahead of the
    /// consumer; memory stays bounded whatever the result size.
    pub fn query_with(
        &self,
        bounds: &KeyBounds<K>,
        options: &QueryOptions,
    ) -> Result<QueryIter<K>, Error> {
        let Some((clipped, ranges, files)) = self.plan(bounds, options)? else {
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
        if threads <= 1 || job.files.len() <= 1 {
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
        let options = QueryOptions::default();
        let Some((clipped, ranges, files)) = self.plan(bounds, &options)? else {
            return Ok(0);
        };
        let inner = &*self.inner;
        let counts = run_tasks(inner.threads, files.len(), |n| {
            let file = files[n];
            let part = inner.part(file)?;
            let mut count = 0u64;
            for record in part.ranges(&ranges) {
                let record = record.map_err(|e| Error::part(&inner.paths[file], e))?;
                let (key, len) = decode_key::<K>(&inner.paths[file], record.index, record.payload)?;
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
        for (n, path) in inner.paths.iter().enumerate() {
            let part = match MapFileReader::open(path) {
                Ok(p) => p,
                Err(e) => return Err(Error::part(path, e)),
            };
            part.verify().map_err(|e| Error::part(path, e))?;
            let first = inner.firsts[n];
            let cover_end = inner.firsts.get(n + 1).map_or(u64::MAX, |f| f - 1);
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
            report.parts += 1;
            report.bytes += part.bytes().len() as u64;
        }
        Ok(report)
    }
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
