//! The catalog: a directory of layers. Opening, listing, describing, copying, moving and
//! deleting layers, and the generation switch that makes every change atomic.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::attributes::{ATTRIBUTES_DIR, AttributeStore, METADATA};
use crate::cleanup::Cleanup;
use crate::error::Error;
use crate::fsutil::{
    at, atomic_write, link_or_copy, list_dir, remove_dir_if_empty, remove_tree, sync_dir,
};
use crate::id::LayerId;
use crate::layer::{LayerAttributes, LayerKey, UntypedAttributes};
use crate::lock::LayerLock;
use crate::store::PartStore;

/// The directory of per-layer lock files inside a catalog.
pub const LOCKS_DIR: &str = "_locks";

/// How a catalog behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogOptions {
    /// Threads for parallel work (writing partitions, reading files of a query);
    /// 0 chooses the core count (ADR 0003: about the core count for files).
    pub threads: usize,
    /// Open part files (memory maps) each reader keeps; 16 as in ADRs 0002 and 0003.
    pub reader_cache: usize,
    /// Whether to fsync files and directories. Switching it off keeps crash safety against
    /// a killed process (renames stay atomic) but not against power loss.
    pub sync: bool,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        CatalogOptions {
            threads: 0,
            reader_cache: 16,
            sync: true,
        }
    }
}

impl CatalogOptions {
    /// These options with another thread count (0 = automatic).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// These options with another reader cache size (at least 1).
    #[must_use]
    pub fn reader_cache(mut self, open_files: usize) -> Self {
        self.reader_cache = open_files.max(1);
        self
    }

    /// These options with fsync on or off.
    #[must_use]
    pub fn sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// The thread count with 0 resolved.
    pub fn effective_threads(&self) -> usize {
        if self.threads == 0 {
            pool_tuning::cores()
        } else {
            self.threads
        }
    }
}

/// A summary of a layer that needs no knowledge of its key type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerInfo {
    /// The layer.
    pub id: LayerId,
    /// The key type (`SpatialKey` or `SpaceTimeKey`).
    pub key_class: String,
    /// The value type named by the writer.
    pub value_class: String,
    /// The current generation.
    pub generation: u64,
    /// The directory of the current part files.
    pub parts_dir: PathBuf,
    /// The number of part files.
    pub part_count: usize,
    /// Their total size in bytes.
    pub part_bytes: u64,
    /// The names of the layer's attributes.
    pub attributes: Vec<String>,
}

/// A directory of tile layers.
///
/// ```text
/// <catalog>/
///   _attributes/<name>__<zoom>__metadata.json   the metadata document, holding the generation
///   _attributes/<name>__<zoom>__<attr>.json     further attributes
///   _locks/<name>__<zoom>.lock                  writer locks (advisory, released on exit)
///   <name>/<zoom>/g<generation>/part-r-<partition:05>-<first index>
/// ```
///
/// A `Catalog` is cheap to clone and can be shared between threads; layer operations
/// lock the layer they change (across processes too), so concurrent writers of one layer
/// take turns.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(crate) dir: PathBuf,
    pub(crate) attributes: AttributeStore,
    pub(crate) options: CatalogOptions,
    pub(crate) parts: PartStore,
    /// Spill files of finished writes (already unlinked) being closed in the background.
    pub(crate) cleanup: Arc<Cleanup>,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `dir` with default options.
    ///
    /// Leftovers of killed writers are removed: temporary attribute files, and generation
    /// directories, spill directories and part files no layer refers to (for each layer
    /// whose lock is free; a layer being written now is left alone).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(dir, CatalogOptions::default())
    }

    /// Opens (creating if needed) the catalog at `dir`; see [`Catalog::open`].
    pub fn open_with(dir: impl AsRef<Path>, options: CatalogOptions) -> Result<Self, Error> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir.join(ATTRIBUTES_DIR)).map_err(at(dir))?;
        let parts = PartStore::file(dir, options.sync)?;
        Self::open_with_store(dir, options, parts)
    }

    /// Opens (creating if needed) the catalog at `dir`, writing part files through `parts`
    /// (a store and its retry policy); see [`Catalog::open`] and [`PartStore`] on which
    /// stores fit. The default is [`PartStore::file`] over `dir` with the default retries.
    ///
    /// With another store, durability is the store's: `options.sync` still governs the
    /// metadata, directories and attribute files.
    pub fn open_with_store(
        dir: impl AsRef<Path>,
        options: CatalogOptions,
        parts: PartStore,
    ) -> Result<Self, Error> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(dir.join(ATTRIBUTES_DIR)).map_err(at(&dir))?;
        let mut attributes = AttributeStore::new(&dir);
        attributes.set_sync(options.sync);
        let catalog = Catalog {
            dir,
            attributes,
            options,
            parts,
            cleanup: Arc::default(),
        };
        catalog.clean()?;
        Ok(catalog)
    }

    /// Waits until the spill files of this catalog's finished writes are closed.
    ///
    /// A write that spilled sorted runs to disk removes them (their names) before it
    /// returns, but closes them, which is when the kernel frees their page cache (often
    /// hundreds of MiB, which takes a while), on a thread of its own. Dropping the last
    /// clone of the catalog also waits for that. Call this before measuring free memory
    /// or disk space, say.
    pub fn wait_for_cleanup(&self) {
        self.cleanup.wait();
    }

    /// The catalog's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The catalog's options.
    pub fn options(&self) -> &CatalogOptions {
        &self.options
    }

    /// The store part files are written through, with its retry policy.
    pub fn part_store(&self) -> &PartStore {
        &self.parts
    }

    /// The attribute store of the catalog.
    pub fn attributes(&self) -> &AttributeStore {
        &self.attributes
    }

    /// Every layer of the catalog, sorted.
    pub fn list(&self) -> Result<Vec<LayerId>, Error> {
        self.attributes.layers()
    }

    /// Whether layer `id` exists.
    pub fn exists(&self, id: &LayerId) -> bool {
        self.attributes.path_unchecked(id, METADATA).is_file()
    }

    /// The directory `<catalog>/<name>/<zoom>` of a layer's generations.
    pub(crate) fn layer_dir(&self, id: &LayerId) -> PathBuf {
        self.dir.join(id.name()).join(id.zoom().to_string())
    }

    /// The directory of one generation of a layer's part files.
    pub(crate) fn generation_dir(&self, id: &LayerId, generation: u64) -> PathBuf {
        self.layer_dir(id).join(format!("g{generation}"))
    }

    pub(crate) fn lock_path(&self, id: &LayerId) -> PathBuf {
        self.dir
            .join(LOCKS_DIR)
            .join(format!("{}__{}.lock", id.name(), id.zoom()))
    }

    /// Takes the writer lock of a layer, blocking until it is free.
    pub(crate) fn lock(&self, id: &LayerId) -> Result<LayerLock, Error> {
        LayerLock::acquire(&self.lock_path(id))
    }

    fn not_found(&self, id: &LayerId) -> Error {
        Error::LayerNotFound {
            id: id.to_string(),
            catalog: self.dir.clone(),
        }
    }

    /// Reads the metadata document of a layer as JSON.
    pub(crate) fn read_document(&self, id: &LayerId) -> Result<Value, Error> {
        match self.attributes.read::<Value>(id, METADATA) {
            Err(Error::AttributeNotFound { .. }) => Err(self.not_found(id)),
            other => other,
        }
    }

    /// The generation a layer's metadata points at; `None` when the layer does not exist.
    pub(crate) fn current_generation(&self, id: &LayerId) -> Result<Option<u64>, Error> {
        if !self.exists(id) {
            return Ok(None);
        }
        let doc = self.read_document(id)?;
        let path = self.attributes.path_unchecked(id, METADATA);
        let header: UntypedAttributes =
            serde_json::from_value(doc).map_err(|e| Error::json(&path, e))?;
        Ok(Some(header.header.generation))
    }

    /// Reads the typed metadata document of a layer, checking its key type.
    pub fn read_attributes<K: LayerKey>(&self, id: &LayerId) -> Result<LayerAttributes<K>, Error> {
        let doc = self.read_document(id)?;
        let path = self.attributes.path_unchecked(id, METADATA);
        let untyped: UntypedAttributes =
            serde_json::from_value(doc.clone()).map_err(|e| Error::json(&path, e))?;
        if untyped.header.key_class != K::KEY_CLASS {
            return Err(Error::KeyTypeMismatch {
                id: id.to_string(),
                stored: untyped.header.key_class,
                asked: K::KEY_CLASS.to_owned(),
            });
        }
        serde_json::from_value(doc).map_err(|e| Error::json(&path, e))
    }

    /// Describes a layer without knowing its key type.
    pub fn info(&self, id: &LayerId) -> Result<LayerInfo, Error> {
        let doc = self.read_document(id)?;
        let path = self.attributes.path_unchecked(id, METADATA);
        let untyped: UntypedAttributes =
            serde_json::from_value(doc).map_err(|e| Error::json(&path, e))?;
        let parts_dir = self.generation_dir(id, untyped.header.generation);
        let parts = list_parts(&parts_dir)?;
        let mut part_bytes = 0;
        for (_, p) in &parts {
            part_bytes += fs::metadata(p).map_err(at(p))?.len();
        }
        Ok(LayerInfo {
            id: id.clone(),
            key_class: untyped.header.key_class,
            value_class: untyped.header.value_class,
            generation: untyped.header.generation,
            parts_dir,
            part_count: parts.len(),
            part_bytes,
            attributes: self.attributes.list(id)?,
        })
    }

    /// Switches a layer to a new generation: writes its metadata document (atomically, so
    /// this rename is the commit point), then removes every other generation. An error
    /// means the switch did not happen.
    pub(crate) fn commit<K: LayerKey>(
        &self,
        id: &LayerId,
        attributes: &LayerAttributes<K>,
    ) -> Result<(), Error> {
        self.attributes.write_unchecked(id, METADATA, attributes)?;
        // Committed. Removing the old generation is best effort: whatever is left is
        // unreferenced, and the next open or write of the layer removes it.
        let _ = self.clean_layer(id, Some(attributes.header.generation));
        Ok(())
    }

    /// Makes a fresh, empty generation directory for a layer (the caller holds its lock).
    /// Leftovers of earlier attempts are removed first.
    pub(crate) fn new_generation(&self, id: &LayerId) -> Result<(u64, PathBuf), Error> {
        let current = self.current_generation(id)?;
        self.clean_layer(id, current)?;
        let generation = match current {
            None => 1,
            Some(g) => g.checked_add(1).ok_or_else(|| Error::InvalidOption {
                option: "header.generation",
                what: format!("layer {id} is at the last possible generation {g}"),
            })?,
        };
        let dir = self.generation_dir(id, generation);
        remove_tree(&dir)?;
        fs::create_dir_all(&dir).map_err(at(&dir))?;
        if self.options.sync {
            sync_dir(&self.layer_dir(id))?;
            sync_dir(&self.dir.join(id.name()))?;
            sync_dir(&self.dir)?;
        }
        Ok((generation, dir))
    }

    /// Removes everything this crate made in a layer's directory except generation `keep`
    /// (the caller holds the layer's lock, or knows no one writes it): other generations,
    /// spill directories and temporary files. Entries it did not make are left alone. With
    /// `keep == None` the layer's directories go too, once empty.
    pub(crate) fn clean_layer(&self, id: &LayerId, keep: Option<u64>) -> Result<(), Error> {
        let layer_dir = self.layer_dir(id);
        let keep_name = keep.map(|g| format!("g{g}"));
        let mut removed = false;
        for (name, path) in list_dir(&layer_dir)? {
            if keep_name.as_deref() == Some(name.as_str()) || !is_ours(&name) {
                continue;
            }
            if path.is_dir() {
                remove_tree(&path)?;
            } else {
                crate::fsutil::remove_file(&path)?;
            }
            removed = true;
        }
        if keep.is_none() {
            remove_dir_if_empty(&layer_dir);
            remove_dir_if_empty(&self.dir.join(id.name()));
        }
        if removed && self.options.sync && layer_dir.is_dir() {
            sync_dir(&layer_dir)?;
        }
        Ok(())
    }

    /// Removes the leftovers of killed writers; see [`Catalog::open`].
    pub fn clean(&self) -> Result<(), Error> {
        self.attributes.clean_temporaries()?;
        for (name, path) in list_dir(&self.dir)? {
            if name.starts_with('_') || name.starts_with('.') || !path.is_dir() {
                continue;
            }
            for (zoom, _) in list_dir(&path)? {
                let Ok(zoom) = zoom.parse::<u32>() else {
                    continue;
                };
                let Ok(id) = LayerId::new(name.clone(), zoom) else {
                    continue;
                };
                let Some(lock) = LayerLock::try_acquire(&self.lock_path(&id))? else {
                    continue;
                };
                // A layer whose metadata cannot be read is left exactly as it is: without
                // its generation nothing can be told apart from leftovers, and one broken
                // layer must not make the whole catalog unopenable.
                let Ok(current) = self.current_generation(&id) else {
                    continue;
                };
                // Nor is a layer whose metadata names a generation that is not there: the
                // other generations may be all that is left of its data.
                if current.is_some_and(|g| !self.generation_dir(&id, g).is_dir()) {
                    continue;
                }
                self.clean_layer(&id, current)?;
                if current.is_none() {
                    lock.remove();
                }
            }
        }
        Ok(())
    }

    /// Deletes a layer: its metadata first (from then on the layer does not exist, so a
    /// crash leaves either the whole layer or none of it), then its other attributes, its
    /// part files and directories, and its lock file. Nothing of it is left behind.
    pub fn delete(&self, id: &LayerId) -> Result<(), Error> {
        let lock = self.lock(id)?;
        if !self.exists(id) {
            return Err(self.not_found(id));
        }
        self.attributes.delete_all(id)?;
        self.clean_layer(id, None)?;
        lock.remove();
        Ok(())
    }

    /// Copies layer `from` to `to` (part files are hard-linked where the file system
    /// allows, copied otherwise). With `overwrite`, an existing `to` is replaced
    /// atomically; without, it is an error. Attributes other than the metadata are copied
    /// too.
    pub fn copy(&self, from: &LayerId, to: &LayerId, overwrite: bool) -> Result<(), Error> {
        if from == to {
            return Err(Error::InvalidOption {
                option: "to",
                what: format!("cannot copy layer {from} onto itself"),
            });
        }
        let (_from_lock, _to_lock) = self.lock_two(from, to)?;
        self.copy_locked(from, to, overwrite)
    }

    fn copy_locked(&self, from: &LayerId, to: &LayerId, overwrite: bool) -> Result<(), Error> {
        let mut doc = self.read_document(from)?;
        let src_path = self.attributes.path_unchecked(from, METADATA);
        let untyped: UntypedAttributes =
            serde_json::from_value(doc.clone()).map_err(|e| Error::json(&src_path, e))?;
        if self.exists(to) && !overwrite {
            return Err(Error::LayerExists {
                id: to.to_string(),
                catalog: self.dir.clone(),
            });
        }
        let src_dir = self.generation_dir(from, untyped.header.generation);
        let (generation, dst_dir) = self.new_generation(to)?;
        let result = (|| {
            for (name, path) in list_parts(&src_dir)? {
                link_or_copy(&path, &dst_dir.join(name), self.options.sync)?;
            }
            if self.options.sync {
                sync_dir(&dst_dir)?;
            }
            for attr in self.attributes.list(from)? {
                if attr != METADATA {
                    let value: Value = self.attributes.read(from, &attr)?;
                    self.attributes.write_unchecked(to, &attr, &value)?;
                }
            }
            if let Some(header) = doc.get_mut("header").and_then(Value::as_object_mut) {
                header.insert("generation".into(), Value::from(generation));
                header.insert(
                    "path".into(),
                    Value::from(format!("{}/{}/g{generation}", to.name(), to.zoom())),
                );
            }
            let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| Error::json(&src_path, e))?;
            fs::create_dir_all(self.attributes.dir()).map_err(at(self.attributes.dir()))?;
            atomic_write(
                &self.attributes.path_unchecked(to, METADATA),
                &bytes,
                self.options.sync,
            )
        })();
        match result {
            Ok(()) => {
                // Committed; see `commit` on why the cleanup is best effort.
                let _ = self.clean_layer(to, Some(generation));
                Ok(())
            }
            Err(e) => {
                let _ = remove_tree(&dst_dir);
                Err(e)
            }
        }
    }

    /// Moves layer `from` to `to`: a copy, then the deletion of `from`. A crash in between
    /// leaves both layers whole.
    pub fn move_layer(&self, from: &LayerId, to: &LayerId, overwrite: bool) -> Result<(), Error> {
        if from == to {
            return Err(Error::InvalidOption {
                option: "to",
                what: format!("cannot move layer {from} onto itself"),
            });
        }
        let (from_lock, _to_lock) = self.lock_two(from, to)?;
        self.copy_locked(from, to, overwrite)?;
        self.attributes.delete_all(from)?;
        self.clean_layer(from, None)?;
        from_lock.remove();
        Ok(())
    }

    /// Locks two layers in id order, so that two opposite operations cannot deadlock, and
    /// returns the locks in argument order.
    fn lock_two(&self, x: &LayerId, y: &LayerId) -> Result<(LayerLock, LayerLock), Error> {
        if x < y {
            let a = self.lock(x)?;
            Ok((a, self.lock(y)?))
        } else {
            let b = self.lock(y)?;
            Ok((self.lock(x)?, b))
        }
    }
}

/// Whether an entry of a layer directory is one this crate makes: a generation `g<n>`, a
/// spill directory `.spill-g<n>`, a staging directory `.stage-g<n>`, or a temporary file.
fn is_ours(name: &str) -> bool {
    let generation = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix('g').is_some_and(generation)
        || name.strip_prefix(".spill-g").is_some_and(generation)
        || name.strip_prefix(".stage-g").is_some_and(generation)
        || name.starts_with(crate::fsutil::TEMP_PREFIX)
}

/// The part files of a generation directory, ordered by first index, as (name, path).
/// A missing directory is an error: every existing layer has its generation directory.
pub(crate) fn list_parts(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut parts = Vec::new();
    if !dir.is_dir() {
        return Err(at(dir)(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the layer's generation directory is missing",
        )));
    }
    for (name, path) in list_dir(dir)? {
        if let Some(p) = mapfile::parse_part_name(&name) {
            parts.push((p.first_index, p.partition, name, path));
        }
    }
    parts.sort();
    Ok(parts.into_iter().map(|(_, _, n, p)| (n, p)).collect())
}
