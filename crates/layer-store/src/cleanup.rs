//! Removal of a finished write's spill directory on a thread of its own.
//!
//! A write that spilled leaves a directory of sorted runs and value logs, often hundreds of
//! MiB of page cache, which the kernel frees page by page when the files are unlinked. The
//! layer is committed before that, so the write returns at once and the removal goes on
//! beside the caller's next work. The records the sorter held in memory are freed before
//! the write returns, so the memory budget holds across consecutive writes.

use std::path::PathBuf;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use crate::fsutil::remove_tree;

/// The removals under way for one catalog (shared by its clones). Dropping it, with the
/// last clone of the catalog, waits for every removal.
#[derive(Debug, Default)]
pub(crate) struct Cleanup {
    jobs: Mutex<Vec<JoinHandle<()>>>,
}

impl Cleanup {
    /// Removes `dir` on a thread of its own, or here when no thread can be had. An error
    /// only leaves the directory behind, for the next [`Catalog::open`] to remove.
    ///
    /// [`Catalog::open`]: crate::Catalog::open
    pub(crate) fn remove_later(&self, dir: PathBuf) {
        let mut jobs = self.jobs.lock();
        // Finished removals need no waiting for.
        jobs.retain(|job| !job.is_finished());
        let spawned = std::thread::Builder::new()
            .name("layer-store-cleanup".into())
            .spawn({
                let dir = dir.clone();
                move || {
                    let _ = remove_tree(&dir);
                }
            });
        match spawned {
            Ok(job) => jobs.push(job),
            Err(_) => {
                let _ = remove_tree(&dir);
            }
        }
    }

    /// Waits until every removal started so far is done.
    pub(crate) fn wait(&self) {
        let jobs = std::mem::take(&mut *self.jobs.lock());
        for job in jobs {
            let _ = job.join();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.wait();
    }
}
