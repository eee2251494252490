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

/// The shared, published histograms.
#[derive(Debug, Default)]
pub struct SharedLatency {
    inner: Mutex<StageHistograms>,
}

impl SharedLatency {
    /// Merges `local` in if the lock is free; returns whether it did (then reset `local`).
    pub fn try_publish(&self, local: &StageHistograms) -> bool {
        match self.inner.try_lock() {
            Ok(mut shared) => {
                shared.add(local);
                true
            }
            Err(_) => false,
        }
    }

    /// Merges `local` in, waiting for the lock (shutdown only).
    pub fn publish(&self, local: &StageHistograms) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).add(local);
    }

    /// A copy of the histograms published so far.
    pub fn snapshot(&self) -> StageHistograms {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
