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

/// Upper bounds, in ns, of the latency histograms `/metrics` exports: 250 ns to 10 s in
/// 1-2.5-5 steps, so the sub-microsecond stage hops and a multi-second stall both land in
/// a bucket of their own, and every instance exports the same bounds (buckets of several
/// instances add up in a `sum by (le)`).
pub const EXPORT_BOUNDS_NS: [u64; 24] = [
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
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

/// One hop as a Prometheus histogram, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedHistogram {
    /// Sum of the samples (from the HDR mean; within its 0.1% precision).
    pub sum_s: f64,
    /// Samples.
    pub count: u64,
    /// Samples per bucket (not cumulative), with the bucket's upper bound in seconds; the
    /// last bound is `+Inf`.
    pub buckets: Vec<(f64, u64)>,
}

impl StageHistograms {
    /// Hop `hop` in the fixed [`EXPORT_BOUNDS_NS`] buckets. Done at scrape time from the
    /// published copy, so the hot thread's cost per sample stays one HDR increment (an
    /// array index, no lock, no float) whatever is exported.
    ///
    /// A sample lands in the first bucket whose bound is at least the top of its HDR
    /// bucket, so a value within 0.1% above a bound can be counted one bucket up, never
    /// down.
    pub fn exported(&self, hop: usize) -> ExportedHistogram {
        let h = &self.hops[hop];
        let mut counts = [0u64; EXPORT_BOUNDS_NS.len() + 1];
        for v in h.iter_recorded() {
            let top = v.value_iterated_to();
            let i = EXPORT_BOUNDS_NS.partition_point(|&b| b < top);
            counts[i] += v.count_since_last_iteration();
        }
        let bounds = EXPORT_BOUNDS_NS.iter().map(|&b| b as f64 / 1e9).chain([f64::INFINITY]);
        ExportedHistogram {
            sum_s: h.mean() * h.len() as f64 / 1e9,
            count: h.len(),
            buckets: bounds.zip(counts).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_buckets_place_each_sample_under_its_bound() {
        let mut s = StageHistograms::default();
        for ns in [100, 250, 251, 900, 1_000, 3_000, 20_000_000_000] {
            s.record(0, ns);
        }
        let e = s.exported(0);
        assert_eq!(e.count, 7);
        assert_eq!(e.buckets.len(), EXPORT_BOUNDS_NS.len() + 1);
        let at = |bound_s: f64| e.buckets.iter().find(|(b, _)| *b == bound_s).unwrap().1;
        assert_eq!(at(250e-9), 2, "100 and 250 ns");
        assert_eq!(at(500e-9), 1, "251 ns");
        assert_eq!(at(1e-6), 2, "900 and 1000 ns");
        assert_eq!(at(5e-6), 1, "3 us");
        assert_eq!(at(f64::INFINITY), 1, "20 s is past the last bound");
        assert_eq!(e.buckets.iter().map(|b| b.1).sum::<u64>(), 7);
        let expected_sum = (100 + 250 + 251 + 900 + 1_000 + 3_000) as f64 / 1e9 + 20.0;
        assert!((e.sum_s - expected_sum).abs() / expected_sum < 0.002, "{}", e.sum_s);
        assert_eq!(StageHistograms::default().exported(3).count, 0);
    }
}
