//! Per-layer writer locks: one mutating operation per layer at a time, across processes.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fsutil::at;

/// An exclusive advisory lock on one layer, held for the duration of a mutating operation.
/// The operating system drops it when the process dies, so a killed writer never leaves a
/// layer locked.
#[derive(Debug)]
pub(crate) struct LayerLock {
    file: Option<File>,
    path: PathBuf,
}

impl LayerLock {
    /// Blocks until the lock at `path` is held.
    pub(crate) fn acquire(path: &Path) -> Result<Self, Error> {
        Self::take(path, true)?.ok_or_else(|| {
            at(path)(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "a blocking lock returned without the lock",
            ))
        })
    }

    /// Takes the lock if it is free; `None` when another writer holds it.
    pub(crate) fn try_acquire(path: &Path) -> Result<Option<Self>, Error> {
        Self::take(path, false)
    }

    fn take(path: &Path, block: bool) -> Result<Option<Self>, Error> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(at(dir))?;
        }
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(path)
                .map_err(at(path))?;
            if block {
                file.lock().map_err(at(path))?;
            } else {
                match file.try_lock() {
                    Ok(()) => {}
                    Err(fs::TryLockError::WouldBlock) => return Ok(None),
                    Err(fs::TryLockError::Error(e)) => return Err(at(path)(e)),
                }
            }
            // A deleter removes the lock file while holding it. If that happened while we
            // waited, our lock is on an unlinked file: start again on the current one.
            if same_file(&file, path) {
                return Ok(Some(LayerLock {
                    file: Some(file),
                    path: path.to_path_buf(),
                }));
            }
        }
    }

    /// Removes the lock file (the layer is gone) and releases the lock.
    pub(crate) fn remove(mut self) {
        let _ = fs::remove_file(&self.path);
        self.file = None;
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}
