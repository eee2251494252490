//! The next segment, made while the current one fills.
//!
//! Creating a segment (create, `fallocate` of 64 MiB, mmap) and then taking a page fault
//! on every fresh page (on ext4 also converting the preallocated extent) cost the thread
//! that appends: a rotation stalled it for the whole creation, and every 4 KiB after it
//! faulted once. A helper thread (`tickfill-journal-ahead`, started with the journal, so
//! confined to the housekeeping cores with the rest of the process) now makes the next
//! segment as a [`Spare`] once the current one is half full; the rotation takes it if it
//! is ready (a rename and a 16-byte header) and otherwise creates the segment itself, as
//! before.
//!
//! # Invariants
//! - At most one request is outstanding per segment index, and a spare is used only for
//!   the index and size it was made for; anything else is discarded (removed).
//! - Dropping the journal stops the helper (a spare being made is abandoned and removed)
//!   and removes any unused spare, unless the journal simulates a crash (tests), which
//!   leaves it as `kill -9` would; `open` removes it then.
//! - The helper changes nothing recovery reads: see [`super::segment`]'s invariants.
//!
//! # Known limitations
//! - The first segment of a journal, and the one a restart reopens, are not prepared:
//!   their fresh pages fault in as the appends reach them.
//! - A prepared page is clean (its zero was synced), so the first append to it still
//!   takes a minor write fault (the kernel tracks dirtiness that way); what is gone is
//!   the creation, the extent conversion and the page-cache miss.
//! - The spare's zeros are written to disk once: a segment's bytes are written twice.

#![forbid(unsafe_code)]

use super::segment::Spare;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// The helper, as the journal sees it.
#[derive(Debug)]
pub struct Ahead {
    /// Requests: (segment index, size). `None` when the helper could not start.
    requests: Option<Sender<(u32, u64)>>,
    spares: Receiver<Spare>,
    /// A spare received and not yet used.
    ready: Option<Spare>,
    /// The index last asked for.
    asked: u32,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Leave files as a crash would (tests).
    keep_files: bool,
}

impl Ahead {
    /// Starts the helper for the journal in `dir`. When the thread cannot be started the
    /// journal works as before (rotation creates every segment itself).
    pub fn start(dir: PathBuf) -> Ahead {
        let (requests, rx) = crossbeam_channel::bounded::<(u32, u64)>(2);
        let (tx, spares) = crossbeam_channel::bounded(2);
        let stop = Arc::new(AtomicBool::new(false));
        let halt = Arc::clone(&stop);
        let spawned = std::thread::Builder::new().name("tickfill-journal-ahead".into()).spawn(
            move || {
                for (index, len) in rx {
                    if halt.load(Ordering::Relaxed) {
                        break;
                    }
                    match Spare::prepare(&dir, index, len, &halt) {
                        Ok(Some(spare)) => {
                            // Never blocks: the journal drops this helper only after joining it.
                            if let Err(unsent) = tx.try_send(spare) {
                                unsent.into_inner().discard();
                            }
                        }
                        Ok(None) => break,
                        Err(e) => tracing::warn!(
                            segment = index,
                            error = %e,
                            "journal: could not make the next segment ahead; the rotation will make it"
                        ),
                    }
                }
            },
        );
        let (requests, thread) = match spawned {
            Ok(h) => (Some(requests), Some(h)),
            Err(e) => {
                tracing::warn!(error = %e, "journal: no helper thread; rotations make segments themselves");
                (None, None)
            }
        };
        Ahead { requests, spares, ready: None, asked: 0, stop, thread, keep_files: false }
    }

    /// Asks for segment `index` of `len` bytes (once per index; never blocks).
    #[inline]
    pub fn want(&mut self, index: u32, len: u64) {
        if self.asked == index {
            return;
        }
        if let Some(r) = &self.requests {
            if r.try_send((index, len)).is_ok() {
                self.asked = index;
            }
        }
    }

    /// The spare for segment `index` of `len` bytes, if it is ready; spares for anything
    /// else are discarded.
    pub fn take(&mut self, index: u32, len: u64) -> Option<Spare> {
        loop {
            let spare = match self.ready.take() {
                Some(s) => s,
                None => match self.spares.try_recv() {
                    Ok(s) => s,
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
                },
            };
            if spare.index() == index && spare.len() == len {
                return Some(spare);
            }
            if spare.index() > index {
                self.ready = Some(spare); // for a later rotation
                return None;
            }
            spare.discard();
        }
    }

    /// Blocks until the spare asked for last has been made (tests: the fact to wait on).
    #[cfg(test)]
    pub fn wait_ready(&mut self) -> bool {
        if self.ready.is_none() {
            self.ready = self.spares.recv_timeout(std::time::Duration::from_secs(60)).ok();
        }
        self.ready.is_some()
    }

    /// Leaves the spare files on drop, as `kill -9` would (tests).
    #[cfg(test)]
    pub fn keep_files(&mut self) {
        self.keep_files = true;
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.requests = None;
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
        let left = self.ready.take().into_iter().chain(self.spares.try_iter());
        for spare in left.collect::<Vec<_>>() {
            if !self.keep_files {
                spare.discard();
            }
        }
    }
}
