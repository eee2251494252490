//! Per-stage latency histograms (HdrHistogram), recorded by the journal stage from the
//! per-slot stage times and readable by the API without stopping the ring.
//!
//! The journal stage records into its own histograms and, at most every
//! [`PUBLISH_EVERY`], merges them into the shared copy with `try_lock` (never waiting), so
//! a reader holding the lock costs the ring nothing but a deferred merge.

#![forbid(unsafe_code)]

use hdrhistogram::Histogram;
use std::sync::Mutex;
use std::time::Duration;

/// How often the journal stage publishes its histograms.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(200);

/// The hops measured, in pipeline order.
pub const HOPS: [&str; 6] = [
    "received_to_execution",
    "execution_to_mtm",
    "mtm_to_fanout",
    "fanout_to_journal",
    "received_to_journal",
    "tick_to_fill",
];

/// One set of histograms (ns, 3 significant figures, up to 60 s).
#[derive(Debug, Clone)]
pub struct StageHistograms {
    /// One per entry of [`HOPS`].
    pub hops: Vec<Histogram<u64>>,
}

impl Default for StageHistograms {
    fn default() -> Self {
        StageHistograms {
            hops: HOPS
                .iter()
                .map(|_| {
                    Histogram::new_with_bounds(1, 60_000_000_000, 3)
                        .expect("valid histogram bounds")
                })
                .collect(),
        }
    }
}

impl StageHistograms {
    /// Records one value (ns) for hop `i`, saturating out-of-range values.
    #[inline]
    pub fn record(&mut self, hop: usize, ns: u64) {
        self.hops[hop].saturating_record(ns.max(1));
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &StageHistograms) {
        for (a, b) in self.hops.iter_mut().zip(&other.hops) {
            let _ = a.add(b);
        }
    }

    /// Clears every histogram.
    pub fn reset(&mut self) {
        self.hops.iter_mut().for_each(Histogram::reset);
    }

    /// p50/p90/p99/p99.9/max/count per hop.
    pub fn summary(&self) -> Vec<HopSummary> {
        HOPS.iter()
            .zip(&self.hops)
            .map(|(name, h)| HopSummary {
                hop: name,
                count: h.len(),
                p50_ns: h.value_at_quantile(0.50),
                p90_ns: h.value_at_quantile(0.90),
                p99_ns: h.value_at_quantile(0.99),
                p999_ns: h.value_at_quantile(0.999),
                max_ns: h.max(),
            })
            .collect()
    }
}

/// Percentiles of one hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HopSummary {
    /// Hop name.
    pub hop: &'static str,
    /// Samples.
    pub count: u64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 90th percentile, ns.
    pub p90_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// 99.9th percentile, ns.
    pub p999_ns: u64,
    /// Maximum, ns.
    pub max_ns: u64,
}

/// Fill times kept per publish period (more are dropped, counted in
/// [`SharedLatency::fills_dropped`]).
pub const FILL_LOG: usize = 4096;

/// One fill decided on a tick: which symbol, and when (monotonic ns) execution decided
/// it. The harness pairs it with the crossing frame's intended send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillTime {
    /// The tick's symbol index.
    pub symbol: u32,
    /// `mono_now_ns` when execution ran on the tick.
    pub exec_ns: u64,
}

#[derive(Debug)]
struct Inner {
    /// Everything merged so far.
    total: StageHistograms,
    /// Handed over by the journal stage, not yet merged (the reader merges).
    pending: Option<StageHistograms>,
    /// A reset set for the journal stage to swap in.
    spare: Option<StageHistograms>,
    fills: Vec<FillTime>,
}

/// The shared, published histograms.
///
/// # Performance
/// The journal stage (the hot thread in `inline`) never merges: every [`PUBLISH_EVERY`]
/// it swaps its filled set for a reset spare (pointer swaps) under `try_lock`, and the
/// reader ([`SharedLatency::snapshot`]) merges and resets off the hot thread. Merging
/// six 60-second histograms was a 1.3 MB walk on the hot thread every 200 ms.
#[derive(Debug)]
pub struct SharedLatency {
    inner: Mutex<Inner>,
    /// Fill times dropped because the log was full.
    pub fills_dropped: std::sync::atomic::AtomicU64,
}

impl Default for SharedLatency {
    fn default() -> Self {
        SharedLatency {
            inner: Mutex::new(Inner {
                total: StageHistograms::default(),
                pending: None,
                spare: Some(StageHistograms::default()),
                fills: Vec::new(),
            }),
            fills_dropped: Default::default(),
        }
    }
}

impl SharedLatency {
    /// Hands `local` over if the lock is free and the previous hand-over was merged;
    /// `local` is then a reset set. Returns whether it did. Never waits, never merges.
    pub fn try_publish(&self, local: &mut StageHistograms, fills: &mut Vec<FillTime>) -> bool {
        let Ok(mut inner) = self.inner.try_lock() else { return false };
        if inner.fills.len() < 16 * FILL_LOG {
            inner.fills.append(fills);
        } else {
            self.fills_dropped.fetch_add(fills.len() as u64, std::sync::atomic::Ordering::Relaxed);
            fills.clear();
        }
        if inner.pending.is_some() {
            return false;
        }
        let Some(mut spare) = inner.spare.take() else { return false };
        std::mem::swap(local, &mut spare);
        inner.pending = Some(spare);
        true
    }

    /// Merges `local` in, waiting for the lock (shutdown only).
    pub fn publish(&self, local: &StageHistograms, fills: &[FillTime]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.total.add(local);
        inner.fills.extend_from_slice(fills);
    }

    fn merge(inner: &mut Inner) {
        if let Some(mut p) = inner.pending.take() {
            inner.total.add(&p);
            p.reset();
            inner.spare = Some(p);
        }
    }

    /// A copy of the histograms published so far.
    pub fn snapshot(&self) -> StageHistograms {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Self::merge(&mut inner);
        inner.total.clone()
    }

    /// Takes the fill times published so far (the harness pairs them with the crossing
    /// frames' intended send times).
    pub fn take_fills(&self) -> Vec<FillTime> {
        std::mem::take(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()).fills)
    }
}
