//! `FileStore`: a store in a directory, one file per key, written atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::{TEMP_PREFIX, check_range, validate_key};
use crate::{Store, StoreError};

/// A store in a directory: the key `a/b/c` is the file `<root>/a/b/c`.
///
/// `put` writes a temporary file beside the target, fsyncs it, renames it over the target and
/// fsyncs the directory, so a reader or a crash sees the old object or the new one, never a part.
/// Temporary files are hidden (`.tessera-tmp-…`), never listed, and removed when a put fails.
/// Keys that could leave the root are refused before anything touches the disk (see
/// [`validate_key`]).
///
/// [`Store::put_file`] streams: on the same file system it hard-links the source to the
/// temporary name (no byte is copied), elsewhere it copies the file; either way the source
/// stays in place, so a failed put can be retried with it. After a successful put the
/// source may be removed, but not modified in place: a hard link shares its data.
#[derive(Debug)]
pub struct FileStore {
    root: PathBuf,
    counter: AtomicU64,
    sync: bool,
}

impl FileStore {
    /// Opens the store rooted at `root`, creating the directory if needed.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = root.as_ref();
        fs::create_dir_all(root)?;
        Ok(Self {
            root: root.canonicalize()?,
            counter: AtomicU64::new(0),
            sync: true,
        })
    }

    /// This store with fsync on (the default) or off. Without fsync, puts stay atomic
    /// against a killed process (the rename is) but not against power loss.
    #[must_use]
    pub fn sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// The store's root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key`, after checking the key.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn io(key: &str, path: &Path, source: io::Error) -> StoreError {
        if source.kind() == io::ErrorKind::NotFound {
            StoreError::NotFound {
                key: key.to_owned(),
            }
        } else {
            StoreError::KeyIo {
                key: key.to_owned(),
                path: path.to_owned(),
                source,
            }
        }
    }

    fn write_temp(temp: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
        file.write_all(bytes)?;
        if sync { file.sync_all() } else { Ok(()) }
    }

    /// Puts the contents of `source` at `temp`: a hard link when both are on one file
    /// system (the data is then fsynced through the shared inode), otherwise a copy that is
    /// fsynced. The source is never moved or changed.
    fn link_temp(key: &str, source: &Path, temp: &Path, sync: bool) -> Result<(), StoreError> {
        // Errors reading the source name the source; errors writing name the temporary.
        let at_source = |e| StoreError::KeyIo {
            key: key.to_owned(),
            path: source.to_owned(),
            source: e,
        };
        let at_temp = |e| Self::io(key, temp, e);
        if !fs::metadata(source).map_err(at_source)?.is_file() {
            return Err(at_source(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the source is not a regular file",
            )));
        }
        if fs::hard_link(source, temp).is_ok() {
            if sync {
                File::open(temp)
                    .and_then(|f| f.sync_all())
                    .map_err(at_temp)?;
            }
            return Ok(());
        }
        let mut from = File::open(source).map_err(at_source)?;
        let mut to = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(temp)
            .map_err(at_temp)?;
        io::copy(&mut from, &mut to).map_err(at_temp)?;
        if sync {
            to.sync_all().map_err(at_temp)?;
        }
        Ok(())
    }

    /// The shared body of `put` and `put_file`: `fill` makes the temporary file, which is
    /// then renamed over the key's file. No temporary file is left behind on failure.
    fn put_with(
        &self,
        key: &str,
        fill: impl FnOnce(&Path) -> Result<(), StoreError>,
        linked: bool,
    ) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(StoreError::InvalidKey {
                key: key.to_owned(),
                reason: "the key names no file",
            });
        };
        fs::create_dir_all(dir).map_err(|e| Self::io(key, dir, e))?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut temp_name =
            std::ffi::OsString::from(format!("{TEMP_PREFIX}{}-{n}-", std::process::id()));
        temp_name.push(name);
        let temp = dir.join(temp_name);
        let result = fill(&temp)
            .and_then(|()| fs::rename(&temp, &path).map_err(|e| Self::io(key, &path, e)));
        if let Err(err) = result {
            // Leave no temporary file behind; the error that matters is the one above.
            let _ = fs::remove_file(&temp);
            return Err(err);
        }
        if linked {
            // POSIX `rename` does nothing when both names are links to one file, which is
            // what a retried `put_file` of an already stored source gives: drop the temporary
            // name then. After a real rename it no longer exists, and this is a no-op.
            let _ = fs::remove_file(&temp);
        }
        if !self.sync {
            return Ok(());
        }
        // The rename is durable only once the directory entry is on disk.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Self::io(key, dir, e))
    }

    fn collect(&self, dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Self::io(prefix, dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Self::io(prefix, dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                // Keys are UTF-8, so a file with another name was not written by this store.
                continue;
            };
            if name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| Self::io(prefix, &path, e))?;
            let Ok(rel) = path.strip_prefix(&self.root) else {
                continue;
            };
            let Some(rel) = rel.to_str() else { continue };
            let key = rel.replace(std::path::MAIN_SEPARATOR, "/");
            if file_type.is_dir() {
                // Descend only where keys with the prefix can live.
                let as_dir = format!("{key}/");
                if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                    self.collect(&path, prefix, out)?;
                }
            } else if file_type.is_file() && key.starts_with(prefix) {
                out.push(key);
            }
        }
        Ok(())
    }
}

impl Store for FileStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.put_with(
            key,
            |temp| Self::write_temp(temp, bytes, self.sync).map_err(|e| Self::io(key, temp, e)),
            false,
        )
    }

    fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        self.put_with(
            key,
            |temp| Self::link_temp(key, path, temp, self.sync),
            true,
        )
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(key)?;
        fs::read(&path).map_err(|e| Self::io(key, &path, e))
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(key)?;
        let mut file = File::open(&path).map_err(|e| Self::io(key, &path, e))?;
        let len = file.metadata().map_err(|e| Self::io(key, &path, e))?.len();
        let range = check_range(key, &range, len)?;
        let mut buf = vec![0; range.len()];
        file.seek(SeekFrom::Start(range.start as u64))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| Self::io(key, &path, e))?;
        Ok(buf)
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let path = self.path_of(key)?;
        match fs::metadata(&path) {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::io(key, &path, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        self.collect(&self.root, prefix, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Self::io(key, &path, e)),
        }
    }
}
