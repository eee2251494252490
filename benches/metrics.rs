//! Workload: what a latency sample costs the thread that records it, and what `/metrics`
//! costs the thread that scrapes.
//!
//! - `record/hdr`: the hot path today: [`StageHistograms::record`] of one hop (an HDR
//!   counter increment: index arithmetic, no lock, no float), values spread over
//!   200 ns..2 ms as the hops see them.
//! - `record/prometheus_client`: the external baseline: `prometheus-client`'s
//!   `Histogram::observe` of the same values in seconds (a mutex and a bucket search per
//!   sample), what recording straight into the exported histogram would cost the hot
//!   thread.
//! - `record/measurement_overhead`: picking the value alone.
//! - `scrape/export_6_hops`: the conversion `/metrics` does per scrape, off the hot
//!   thread: six hops' HDR histograms (1M samples each) into the 24 exported buckets.

use criterion::{Criterion, criterion_group, criterion_main};
use prometheus_client::metrics::histogram::Histogram;
use std::hint::black_box;
use tickfill::latency::{EXPORT_BOUNDS_NS, HOPS, StageHistograms};

/// 1,024 latencies from 200 ns to about 2 ms, log-spread (a fixed pseudo-random walk).
fn values() -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            200u64 << (x % 14)
        })
        .collect()
}

fn record(c: &mut Criterion) {
    let vals = values();
    let mut g = c.benchmark_group("record");
    g.bench_function("measurement_overhead", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(vals[i]);
        })
    });
    g.bench_function("hdr", |b| {
        let mut h = StageHistograms::default();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            h.record(4, black_box(vals[i]));
        })
    });
    g.bench_function("prometheus_client", |b| {
        let bounds = EXPORT_BOUNDS_NS.iter().map(|&n| n as f64 / 1e9);
        let h = Histogram::new(bounds);
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            h.observe(black_box(vals[i]) as f64 / 1e9);
        })
    });
    g.finish();
}

fn scrape(c: &mut Criterion) {
    let vals = values();
    let mut h = StageHistograms::default();
    for hop in 0..HOPS.len() {
        for i in 0..1_000_000 {
            h.record(hop, vals[i & 1023] + (i as u64 & 63));
        }
    }
    c.bench_function("scrape/export_6_hops", |b| {
        b.iter(|| {
            for hop in 0..HOPS.len() {
                black_box(h.exported(hop));
            }
        })
    });
}

criterion_group!(benches, record, scrape);
criterion_main!(benches);
