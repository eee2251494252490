//! Histograms of the harness, the HdrHistogram percentile-distribution text (`.hgrm`)
//! and an SVG plot of it (log-scale percentile axis, as HdrHistogram plots are drawn)
//! in the chart frame of [`tickfill::plot`].

#![forbid(unsafe_code)]

use hdrhistogram::Histogram;
use std::fmt::Write as _;
use tickfill::plot::Frame;

/// A histogram of nanoseconds: 1 ns .. 60 s, 3 significant figures.
pub fn new_ns() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Percentiles of one metric, in ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Maximum.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `h` (all zero when empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// One point of the distribution: (quantile, value ns, cumulative count).
fn points(h: &Histogram<u64>) -> Vec<(f64, u64, u64)> {
    let mut total = 0;
    h.iter_quantiles(5)
        .map(|v| {
            total += v.count_since_last_iteration();
            (v.quantile_iterated_to(), h.highest_equivalent(v.value_iterated_to()), total)
        })
        .collect()
}

/// The `.hgrm` text of `h` (values in microseconds, as `HistogramLogProcessor` writes
/// them with an output scaling ratio of 1000).
pub fn hgrm(h: &Histogram<u64>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    for (q, v, total) in points(h) {
        let us = v as f64 / 1000.0;
        if q < 1.0 {
            let _ = writeln!(s, "{us:>12.3} {q:>2.12} {total:>10} {:>14.2}", 1.0 / (1.0 - q));
        } else {
            let _ = writeln!(s, "{us:>12.3} {q:>2.12} {total:>10}");
        }
    }
    let _ = writeln!(
        s,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0
    );
    let _ = writeln!(
        s,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        h.max() as f64 / 1000.0,
        h.len()
    );
    let _ = writeln!(
        s,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        h.buckets(),
        h.distinct_values()
    );
    s
}

/// An SVG percentile-distribution plot of `h`: x = 1/(1-p) on a log scale, y = latency
/// in microseconds (linear from 0 to the maximum).
pub fn svg(title: &str, h: &Histogram<u64>) -> String {
    // Percentiles 0 .. 99.9999 (x = log10(1/(1-p)) from 0 to 6).
    const DECADES: f64 = 6.0;
    let (l, r, t, b) = Frame::area();
    let pts: Vec<(f64, f64)> = points(h)
        .into_iter()
        .map(|(q, v, _)| ((1.0 / (1.0 - q.min(0.999_999))).log10(), v as f64 / 1000.0))
        .collect();
    let ymax = pts.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(0.001) * 1.05;
    let x = |d: f64| l + d / DECADES * (r - l);
    let y = |us: f64| b - us / ymax * (b - t);
    let mut f = Frame::new(
        &format!("{title} (n = {})", h.len()),
        "percentile (log scale of 1/(1-p))",
        "latency (us)",
    );
    for (d, label) in
        ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"].iter().enumerate()
    {
        f.x_grid(x(d as f64), label);
    }
    for k in 0..=5 {
        let us = ymax * k as f64 / 5.0;
        f.y_grid(y(us), &fmt_us(us));
    }
    f.line("#1f6feb", pts.iter().map(|&(d, us)| (x(d.min(DECADES)), y(us))));
    f.finish()
}

/// Microseconds with a sensible number of decimals.
pub fn fmt_us(us: f64) -> String {
    if us >= 100.0 {
        format!("{us:.0}")
    } else if us >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_and_svg_carry_the_distribution() {
        let mut h = new_ns();
        for v in 1..=10_000u64 {
            h.record(v * 100).unwrap();
        }
        let text = hgrm(&h);
        assert!(text.contains("Percentile") && text.contains("#[Max"));
        assert!(text.contains("10000"));
        let p = Percentiles::of(&h);
        assert!(p.p50 > 400_000 && p.p50 < 600_000, "{p:?}");
        assert!(svg("t", &h).contains("<polyline"));
    }
}
