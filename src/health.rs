//! Engine health shared by every thread: whether new orders are accepted, and why not.
//!
//! A failed stage or a journal that cannot write flips `refusing` once; it never flips
//! back in the same process (restart to recover: the journal rebuilds the state).

#![forbid(unsafe_code)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Shared health flags.
#[derive(Debug, Default)]
pub struct Health {
    refusing: AtomicBool,
    reason: Mutex<Option<String>>,
    /// Highest sequence the journal has made durable (per the sync level).
    pub durable_seq: AtomicU64,
    /// Order updates that could not be queued for the WebSocket fanout (queue full).
    pub fanout_overflows: AtomicU64,
}

impl Health {
    /// A healthy engine.
    pub fn new() -> Health {
        Health::default()
    }

    /// Records a failure; new orders are refused from now on.
    pub fn fail(&self, why: String) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(why);
        }
        self.refusing.store(true, Ordering::Release);
    }

    /// True once any stage or the journal failed. One atomic load.
    #[inline]
    pub fn refusing_orders(&self) -> bool {
        self.refusing.load(Ordering::Acquire)
    }

    /// Why orders are refused, if they are.
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
