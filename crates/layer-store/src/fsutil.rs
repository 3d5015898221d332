//! File-system helpers: atomic replace by rename, directory fsync, temporary names.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// Every temporary file this crate makes starts with this, so a later open can recognise
/// and remove leftovers of a killed process.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary file name: unique within the process and across processes.
pub(crate) fn temp_name(base: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{base}-{}-{n}", std::process::id())
}

/// Wraps an IO error with the path it happened on.
pub(crate) fn at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::IoAt {
        path: path.to_path_buf(),
        source,
    }
}

/// Flushes a directory's entries (new names, renames, removals) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(at(dir))?;
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened for fsync on this platform; renames are still atomic.
        let _ = dir;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
/// rename over the target, fsync of the directory. Readers see the old or the new file.
/// `Ok` means the new file is in place; an error means the old one still is.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8], sync: bool) -> Result<(), Error> {
    let dir = parent(path)?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(temp_name(file_name));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(at(&tmp))?;
        f.write_all(bytes).map_err(at(&tmp))?;
        if sync {
            f.sync_all().map_err(at(&tmp))?;
        }
        drop(f);
        fs::rename(&tmp, path).map_err(at(path))?;
        if sync {
            // The rename has happened: the new file is in place whatever follows, so a
            // failing directory fsync must not make callers think the write did not happen
            // (a commit would then undo a state that is already visible).
            let _ = sync_dir(dir);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The parent directory of a path, as an error when there is none.
pub(crate) fn parent(path: &Path) -> Result<&Path, Error> {
    path.parent().ok_or_else(|| Error::IoAt {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "path has no parent directory"),
    })
}

/// Removes a directory tree if it exists. A missing tree is not an error.
pub(crate) fn remove_tree(path: &Path) -> Result<(), Error> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::IoAt {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Removes a file if it exists. A missing file is not an error.
pub(crate) fn remove_file(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::IoAt {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Removes a directory if it is empty; anything else (missing, not empty) is left alone.
pub(crate) fn remove_dir_if_empty(path: &Path) {
    let _ = fs::remove_dir(path);
}

/// Lists the entries of a directory as (file name, path); a missing directory is empty.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(at(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(at(dir))?;
        if let Some(name) = entry.file_name().to_str() {
            out.push((name.to_owned(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Puts `src` at `dst` as a hard link, or as a synced copy where hard links are unsupported.
pub(crate) fn link_or_copy(src: &Path, dst: &Path, sync: bool) -> Result<(), Error> {
    if fs::hard_link(src, dst).is_ok() {
        return Ok(());
    }
    let tmp = parent(dst)?.join(temp_name("copy"));
    fs::copy(src, &tmp).map_err(at(src))?;
    if sync {
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(at(&tmp))?;
    }
    fs::rename(&tmp, dst).map_err(at(dst))
}

/// A file being written that asks the kernel to start writing its pages to disk every
/// [`WRITEBACK_BYTES`], without waiting for them (Linux `sync_file_range` with
/// `SYNC_FILE_RANGE_WRITE`).
///
/// Part files are fsynced when they are stored. Without this, the kernel keeps their pages
/// dirty in memory until that fsync, which then waits for the whole file while the writing
/// thread has nothing else to do; with it, the disk writes the file while the rest of it is
/// still being merged and encoded, and the fsync only waits for the tail. Elsewhere than on
/// Linux, or when the call fails, it is a plain file: the hint only changes timing.
pub(crate) struct WritebackFile {
    file: File,
    written: u64,
    /// Bytes already handed to the kernel's writeback.
    started: u64,
}

/// How many bytes a [`WritebackFile`] collects before it starts their writeback.
const WRITEBACK_BYTES: u64 = 8 << 20;

impl WritebackFile {
    pub(crate) fn new(file: File) -> Self {
        WritebackFile {
            file,
            written: 0,
            started: 0,
        }
    }

    /// Gives back the file.
    pub(crate) fn into_inner(self) -> File {
        self.file
    }

    fn start_writeback(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (Ok(offset), Ok(len)) = (
                libc::off64_t::try_from(self.started),
                libc::off64_t::try_from(self.written - self.started),
            ) else {
                return;
            };
            // SAFETY: the descriptor is open for the life of `self.file`, and the call only
            // reads its arguments; a failure (an old kernel, a file system without it) is
            // ignored because it changes nothing but when the pages reach the disk.
            let _ = unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    offset,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
        }
        self.started = self.written;
    }
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_BYTES {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
