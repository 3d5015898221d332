//! The attribute store: JSON attributes per layer in `<catalog>/_attributes/`, one file
//! `<name>__<zoom>__<attribute>.json` each, replaced atomically.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::fsutil::{TEMP_PREFIX, at, atomic_write, list_dir, remove_file, sync_dir};
use crate::id::{LayerId, validate_attribute_name};

/// The name of the attribute holding a layer's metadata document (header, metadata, key
/// index, codec). Its presence is what makes a layer exist.
pub const METADATA: &str = "metadata";

/// The directory of attribute files inside a catalog.
pub const ATTRIBUTES_DIR: &str = "_attributes";

/// Reads, writes, lists and deletes the JSON attributes of a catalog's layers.
///
/// Every write goes to a temporary file that is fsynced and renamed over the old one, so a
/// reader (or a crash) sees the old or the new attribute, never a torn one. The
/// [`METADATA`] attribute is written only by [`Catalog`](crate::Catalog) operations, which
/// hold the layer's lock.
#[derive(Debug, Clone)]
pub struct AttributeStore {
    dir: PathBuf,
    sync: bool,
}

impl AttributeStore {
    /// The attribute store of the catalog at `catalog_dir` (the directory need not exist
    /// until the first write).
    pub fn new(catalog_dir: impl AsRef<Path>) -> Self {
        AttributeStore {
            dir: catalog_dir.as_ref().join(ATTRIBUTES_DIR),
            sync: true,
        }
    }

    /// Turns fsync of attribute writes on or off (on by default).
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// The directory holding the attribute files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds attribute `name` of layer `id`.
    pub fn path(&self, id: &LayerId, name: &str) -> Result<PathBuf, Error> {
        validate_attribute_name(name)?;
        Ok(self.path_unchecked(id, name))
    }

    pub(crate) fn path_unchecked(&self, id: &LayerId, name: &str) -> PathBuf {
        self.dir
            .join(format!("{}{name}.json", id.attribute_prefix()))
    }

    /// Whether layer `id` has attribute `name`.
    pub fn exists(&self, id: &LayerId, name: &str) -> Result<bool, Error> {
        Ok(self.path(id, name)?.is_file())
    }

    /// Reads attribute `name` of layer `id` as a `T`.
    pub fn read<T: DeserializeOwned>(&self, id: &LayerId, name: &str) -> Result<T, Error> {
        let path = self.path(id, name)?;
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::AttributeNotFound {
                    id: id.to_string(),
                    attribute: name.to_owned(),
                    path,
                });
            }
            Err(e) => return Err(at(&path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::json(&path, e))
    }

    /// Writes attribute `name` of layer `id`, replacing it atomically.
    ///
    /// The [`METADATA`] attribute is reserved for catalog operations.
    pub fn write<T: Serialize + ?Sized>(
        &self,
        id: &LayerId,
        name: &str,
        value: &T,
    ) -> Result<(), Error> {
        if name == METADATA {
            return Err(Error::BadAttributeName {
                name: name.to_owned(),
                reason: "reserved for the layer metadata, which catalog operations write",
            });
        }
        self.write_unchecked(id, name, value)
    }

    pub(crate) fn write_unchecked<T: Serialize + ?Sized>(
        &self,
        id: &LayerId,
        name: &str,
        value: &T,
    ) -> Result<(), Error> {
        let path = self.path(id, name)?;
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::json(&path, e))?;
        fs::create_dir_all(&self.dir).map_err(at(&self.dir))?;
        atomic_write(&path, &bytes, self.sync)
    }

    /// The names of the attributes layer `id` has, sorted.
    pub fn list(&self, id: &LayerId) -> Result<Vec<String>, Error> {
        let prefix = id.attribute_prefix();
        let mut names = Vec::new();
        for (file, _) in list_dir(&self.dir)? {
            let Some(rest) = file.strip_prefix(&prefix) else {
                continue;
            };
            let Some(attr) = rest.strip_suffix(".json") else {
                continue;
            };
            if validate_attribute_name(attr).is_ok() {
                names.push(attr.to_owned());
            }
        }
        Ok(names)
    }

    /// Every layer that has a [`METADATA`] attribute, sorted.
    pub fn layers(&self) -> Result<Vec<LayerId>, Error> {
        let suffix = format!("__{METADATA}.json");
        let mut ids = Vec::new();
        for (file, _) in list_dir(&self.dir)? {
            let Some(rest) = file.strip_suffix(&suffix) else {
                continue;
            };
            let Some((name, zoom)) = rest.rsplit_once("__") else {
                continue;
            };
            if let Ok(zoom) = zoom.parse::<u32>()
                && let Ok(id) = LayerId::new(name, zoom)
            {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Deletes attribute `name` of layer `id`; a missing attribute is not an error.
    ///
    /// The [`METADATA`] attribute is removed only by [`Catalog::delete`](crate::Catalog::delete).
    pub fn delete(&self, id: &LayerId, name: &str) -> Result<(), Error> {
        if name == METADATA {
            return Err(Error::BadAttributeName {
                name: name.to_owned(),
                reason: "reserved for the layer metadata; delete the layer instead",
            });
        }
        remove_file(&self.path(id, name)?)?;
        if self.sync {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Deletes every attribute of layer `id`, the metadata first (so the layer stops
    /// existing before anything else goes).
    pub(crate) fn delete_all(&self, id: &LayerId) -> Result<(), Error> {
        remove_file(&self.path_unchecked(id, METADATA))?;
        if self.sync {
            sync_dir(&self.dir)?;
        }
        for name in self.list(id)? {
            remove_file(&self.path_unchecked(id, &name))?;
        }
        Ok(())
    }

    /// Removes temporary files left by killed processes (those whose process is gone).
    pub(crate) fn clean_temporaries(&self) -> Result<(), Error> {
        for (file, path) in list_dir(&self.dir)? {
            if file.starts_with(TEMP_PREFIX) && !owner_alive(&file) {
                remove_file(&path)?;
            }
        }
        Ok(())
    }
}

/// Whether the process that made temporary file `name` (`.tmp-<base>-<pid>-<n>`) may still
/// be running. Unknown owners count as alive, so a file is only removed when surely stale.
pub(crate) fn owner_alive(name: &str) -> bool {
    let mut parts = name.rsplit('-');
    let _counter = parts.next();
    let Some(pid) = parts.next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}
