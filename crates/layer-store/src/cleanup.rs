//! Freeing a finished write's spill on a thread of its own.
//!
//! A write that spilled leaves a directory of sorted runs and value logs, which can hold
//! hundreds of MiB of page cache (what the merges did not punch out of the logs: all of it
//! for runs compacted into one). Unlinking a file that is still open only removes its name; the kernel
//! frees its pages when the last descriptor closes, and that takes a while. So once the
//! layer is committed, the write opens every spill file it has not open already, removes the
//! spill directory (names only, cheap), and hands the open files to [`Cleanup`], whose
//! thread closes them. Nothing is left on disk whatever happens next: a process that exits
//! first simply has its descriptors closed by the kernel. The records the sorter held in
//! memory are freed before the write returns, so the memory budget holds across
//! consecutive writes.

use std::fs::File;
use std::thread::JoinHandle;

use parking_lot::Mutex;

/// The spill files being closed for one catalog (shared by its clones). Dropping it, with
/// the last clone of the catalog, waits for them.
#[derive(Debug, Default)]
pub(crate) struct Cleanup {
    jobs: Mutex<Vec<JoinHandle<()>>>,
}

impl Cleanup {
    /// Closes `files` (already unlinked) on a thread of its own, or here when no thread can
    /// be had.
    pub(crate) fn close_later(&self, files: Vec<File>) {
        if files.is_empty() {
            return;
        }
        let mut jobs = self.jobs.lock();
        // Finished jobs need no waiting for.
        jobs.retain(|job| !job.is_finished());
        let spawned = std::thread::Builder::new()
            .name("layer-store-cleanup".into())
            .spawn(move || drop(files));
        // A failed spawn drops the closure, and with it the files, here.
        if let Ok(job) = spawned {
            jobs.push(job);
        }
    }

    /// Waits until every close started so far is done. The lock is held while waiting, so
    /// that a second caller waits too instead of finding an empty list.
    pub(crate) fn wait(&self) {
        let mut jobs = self.jobs.lock();
        for job in jobs.drain(..) {
            let _ = job.join();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.wait();
    }
}
