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
    /// Backpressure (issue 14 item 2): commands and queries refused as "engine busy"
    /// because the sequencer could not take them within the admission deadline (or the
    /// intake was full).
    pub busy_refusals: AtomicU64,
    /// Set by a busy refusal; `/health` reports "degraded" until it sees the intake
    /// drained ([`Health::busy_episode`]).
    busy: AtomicBool,
    /// How long each journal commit took (the journal stage records one per batch).
    pub journal_commits: CachePadded<CommitTimes>,
}

/// Upper bounds of the journal-commit histogram, ns: 10 us (a commit at sync level
/// `none`) to 10 s (a disk that has stopped answering).
pub const COMMIT_BOUNDS_NS: [u64; 18] = [
    10_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Journal commit durations in fixed buckets: a few relaxed atomic adds per batch (no
/// lock, no syscall) on the journal stage, read by `/metrics` at scrape time.
#[derive(Debug, Default)]
pub struct CommitTimes {
    counts: [AtomicU64; COMMIT_BOUNDS_NS.len() + 1],
    sum_ns: AtomicU64,
}

impl CommitTimes {
    /// Records one commit that took `ns`.
    #[inline]
    pub fn record(&self, ns: u64) {
        let i = COMMIT_BOUNDS_NS.partition_point(|&b| b < ns);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The histogram in seconds: per-bucket counts (not cumulative) with each bucket's
    /// upper bound (the last `+Inf`), the sum and the count.
    pub fn exported(&self) -> crate::latency::ExportedHistogram {
        let bounds = COMMIT_BOUNDS_NS.iter().map(|&b| b as f64 / 1e9).chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> =
            bounds.zip(self.counts.iter().map(|c| c.load(Ordering::Relaxed))).collect();
        crate::latency::ExportedHistogram {
            sum_s: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
            count: buckets.iter().map(|(_, n)| n).sum(),
            buckets,
        }
    }
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

    /// Counts a command or query refused as busy and starts (or prolongs) a busy episode.
    pub fn note_busy(&self) {
        self.busy_refusals.fetch_add(1, Ordering::Relaxed);
        self.busy.store(true, Ordering::Release);
    }

    /// True while a busy episode lasts: something was refused as busy and the intake has
    /// not been seen drained since. `queued` is the intake's length now; an empty intake
    /// ends the episode (everything that was waiting, refused inputs included, has been
    /// taken by the sequencer, so it keeps up again).
    pub fn busy_episode(&self, queued: usize) -> bool {
        if !self.busy.load(Ordering::Acquire) {
            return false;
        }
        if queued == 0 {
            self.busy.store(false, Ordering::Release);
            return false;
        }
        true
    }

    /// Why orders are refused, if they are.
    /// (The engine is healthy while this is `None`.)
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod busy_tests {
    use super::*;

    #[test]
    fn a_busy_episode_lasts_until_the_intake_is_seen_drained() {
        let h = Health::new();
        assert!(!h.busy_episode(5), "no refusal, no episode, however full the intake");
        h.note_busy();
        h.note_busy();
        assert_eq!(h.busy_refusals.load(Ordering::Relaxed), 2);
        assert!(h.busy_episode(3), "refused inputs still queued: degraded");
        assert!(h.busy_episode(1));
        assert!(!h.busy_episode(0), "drained: the episode is over");
        assert!(!h.busy_episode(7), "and stays over until the next refusal");
    }

    #[test]
    fn commit_times_land_under_their_bound() {
        let c = CommitTimes::default();
        c.record(5_000); // under 10 us
        c.record(10_000); // exactly on a bound: that bucket
        c.record(1_500_000_000); // 1.5 s: the 2.5 s bucket
        c.record(60_000_000_000); // past the last bound: +Inf
        let e = c.exported();
        assert_eq!(e.count, 4);
        assert_eq!(e.buckets[0], (10e-6, 2));
        let at = |s: f64| e.buckets.iter().find(|(b, _)| *b == s).unwrap().1;
        assert_eq!(at(2.5), 1);
        assert_eq!(at(f64::INFINITY), 1);
        assert!((e.sum_s - 61.500_015).abs() < 1e-6, "{}", e.sum_s);
    }
}
