//! Engine health shared by every thread: whether new orders are accepted, and why not.
//!
//! A failed stage or a journal that cannot write flips `refusing` once; it never flips
//! back in the same process (restart to recover: the journal rebuilds the state).

#![forbid(unsafe_code)]

use crossbeam_utils::CachePadded;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Shared health flags.
///
/// # Performance
/// The fields written per event or per batch (`durable_seq` by the journal stage,
/// `last_data_ns` and `stream_ticks` by the sequencer) sit on cache lines of their own
/// (`CachePadded`), so a reader polling one of them (a reply waiter, `/health`) and the
/// `refusing` flag read per command do not bounce the writer's line.
#[derive(Debug, Default)]
pub struct Health {
    refusing: CachePadded<AtomicBool>,
    reason: Mutex<Option<String>>,
    /// Highest sequence the journal has made durable (per the sync level).
    pub durable_seq: CachePadded<AtomicU64>,
    /// Order updates that could not be queued for the WebSocket fanout (queue full).
    pub fanout_overflows: AtomicU64,
    /// The upstream feed's state (written by the sequencer and the watchdog).
    pub feed: FeedHealth,
    /// The first stage panic: which stage, at which event (the journal stage journals it).
    halt: Mutex<Option<Halt>>,
    /// What recovery found that an operator must see: quarantined inputs, earlier halts.
    recovery: Mutex<RecoveryNotes>,
}

/// A stage panic, as the journal stage needs it to journal the halt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// The stage's name (`Stage::NAME`).
    pub stage: &'static str,
    /// The sequence of the event it panicked on.
    pub seq: u64,
    /// The full reason (as in [`Health::reason`]).
    pub why: String,
}

/// Recovery's findings, shown in `/health` (with the key) until the next restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryNotes {
    /// Journaled inputs replay could not apply (a stage panicked on them), now skipped.
    pub quarantined: Vec<String>,
    /// Halts journaled by earlier runs (after the snapshot recovery started from).
    pub earlier_halts: Vec<String>,
}

/// The feed's health, as data: written by the sequencer (stream) and the watchdog
/// (polling), read by `GET /health`, `/metrics` and the frontend.
#[derive(Debug, Default)]
pub struct FeedHealth {
    /// True while the watchdog polls REST quotes (stream stale, or polling-only mode).
    pub polling: AtomicBool,
    /// An upstream connection is open.
    pub connected: AtomicBool,
    /// The upstream accepted our key.
    pub authenticated: AtomicBool,
    /// Monotonic ns ([`crate::clock::mono_now_ns`]) of the last streamed data; 0 = never.
    pub last_data_ns: CachePadded<AtomicU64>,
    /// Reconnections since start.
    pub reconnects: AtomicU64,
    /// Frames that failed to decode or validate (dropped, counted).
    pub validation_errors: AtomicU64,
    /// Ticks received from the stream since start.
    pub stream_ticks: CachePadded<AtomicU64>,
    /// Quotes received from REST polling since start.
    pub polled_quotes: AtomicU64,
    /// Upstream REST quote requests that failed since start (polling and on-demand
    /// fetches): refused, cut off, timed out, an HTTP error status, or a reply that is not
    /// a quote reply. Nothing from a failed request reaches the engine.
    pub rest_errors: AtomicU64,
    /// Of `rest_errors`, the requests that hit the watchdog's `request_timeout`.
    pub rest_timeouts: AtomicU64,
    /// Freshness checks the watchdog has made since start (a witness for tests and an
    /// operator: "checked N times and did not fall back").
    pub health_checks: AtomicU64,
}

impl FeedHealth {
    /// Milliseconds since the last streamed data; `None` if none yet.
    pub fn last_data_age_ms(&self) -> Option<u64> {
        match self.last_data_ns.load(Ordering::Acquire) {
            0 => None,
            t => Some(crate::clock::mono_now_ns().saturating_sub(t) / 1_000_000),
        }
    }
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

    /// Records a stage panic at event `seq` (the first one is kept), then fails.
    pub fn halt(&self, stage: &'static str, seq: u64, why: String) {
        let mut h = self.halt.lock().unwrap_or_else(|e| e.into_inner());
        if h.is_none() {
            *h = Some(Halt { stage, seq, why: why.clone() });
        }
        drop(h);
        self.fail(why);
    }

    /// The first stage panic, if any (a lock: read it only once `refusing_orders`).
    pub fn halted(&self) -> Option<Halt> {
        self.halt.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets what recovery found (the engine does, at start).
    pub fn set_recovery_notes(&self, notes: RecoveryNotes) {
        *self.recovery.lock().unwrap_or_else(|e| e.into_inner()) = notes;
    }

    /// What recovery found.
    pub fn recovery_notes(&self) -> RecoveryNotes {
        self.recovery.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// True once any stage or the journal failed. One atomic load.
    #[inline]
    pub fn refusing_orders(&self) -> bool {
        self.refusing.load(Ordering::Acquire)
    }

    /// Why orders are refused, if they are.
    /// (The engine is healthy while this is `None`.)
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
