//! Histograms of the harness, the HdrHistogram percentile-distribution text (`.hgrm`)
//! and a hand-written SVG plot of it (log-scale percentile axis, as HdrHistogram plots
//! are drawn).

#![forbid(unsafe_code)]

use hdrhistogram::Histogram;
use std::fmt::Write as _;

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

/// The plot area every chart here shares: size, margins, and the scaffolding (title,
/// grid lines with labels, axis titles) drawn the same way, so the harness's latency
/// plots and `tickfill compare`'s P&L plot look alike.
struct Frame {
    s: String,
}

impl Frame {
    const W: f64 = 720.0;
    const H: f64 = 400.0;
    const L: f64 = 70.0;
    const R: f64 = 20.0;
    const T: f64 = 40.0;
    const B: f64 = 50.0;

    /// Left, right, top and bottom of the plot area in pixels.
    const fn area() -> (f64, f64, f64, f64) {
        (Frame::L, Frame::W - Frame::R, Frame::T, Frame::H - Frame::B)
    }

    fn new(title: &str, x_title: &str, y_title: &str) -> Frame {
        let (w, h) = (Frame::W, Frame::H);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            w / 2.0,
            escape(title)
        );
        let (l, r, _, _) = Frame::area();
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            (l + r) / 2.0,
            h - 12.0,
            escape(x_title)
        );
        let _ = writeln!(
            s,
            r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"#,
            h / 2.0,
            h / 2.0,
            escape(y_title)
        );
        Frame { s }
    }

    /// A vertical grid line at pixel `x` with its label under the axis.
    fn x_grid(&mut self, x: f64, label: &str) {
        let (_, _, t, b) = Frame::area();
        let _ = writeln!(
            self.s,
            r##"<line x1="{x:.1}" y1="{t}" x2="{x:.1}" y2="{b:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            b + 16.0,
            escape(label)
        );
    }

    /// A horizontal grid line at pixel `y` with its label left of the axis.
    fn y_grid(&mut self, y: f64, label: &str) {
        let (l, r, _, _) = Frame::area();
        let _ = writeln!(
            self.s,
            r##"<line x1="{l}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            l - 6.0,
            y + 4.0,
            escape(label)
        );
    }

    /// A polyline through pixel points.
    fn line(&mut self, color: &str, pts: impl Iterator<Item = (f64, f64)>) {
        let line: Vec<String> = pts.map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            self.s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            line.join(" ")
        );
    }

    fn finish(mut self) -> String {
        self.s.push_str("</svg>\n");
        self.s
    }
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

/// Colours of successive series in [`lines_svg`].
const COLORS: [&str; 6] = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#57606a"];

/// An SVG line chart of named series of (x, y) points on linear axes spanning every
/// point (y always includes 0), with a legend: `tickfill compare`'s cumulative P&L.
pub fn lines_svg(
    title: &str,
    x_title: &str,
    y_title: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> String {
    let all = || series.iter().flat_map(|(_, p)| p.iter().copied());
    let (x0, x1) = all().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| (a.min(x), b.max(x)));
    let (y0, y1) = all().fold((0.0_f64, 0.0_f64), |(a, b), (_, y)| (a.min(y), b.max(y)));
    let (x0, x1) = if x0 < x1 { (x0, x1) } else { (0.0, 1.0) };
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let (l, r, t, b) = Frame::area();
    let x = |v: f64| l + (v - x0) / (x1 - x0) * (r - l);
    let y = |v: f64| b - (v - y0) / (y1 - y0) * (b - t);
    let mut f = Frame::new(title, x_title, y_title);
    for k in 0..=5 {
        let xv = x0 + (x1 - x0) * k as f64 / 5.0;
        f.x_grid(x(xv), &format!("{xv:.0}"));
        let yv = y0 + (y1 - y0) * k as f64 / 5.0;
        f.y_grid(y(yv), &format!("{yv:.0}"));
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        f.line(color, pts.iter().map(|&(a, v)| (x(a), y(v))));
        // Bottom left: P&L curves start at 0, so the early bottom of the chart is empty.
        let ly = b - 10.0 - 16.0 * (series.len() - 1 - i) as f64;
        let _ = writeln!(
            f.s,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            l + 10.0,
            l + 30.0,
            l + 36.0,
            ly + 4.0,
            escape(name)
        );
    }
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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
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
        let two = vec![
            ("a".to_string(), vec![(0.0, 0.0), (10.0, -5.0)]),
            ("b".to_string(), vec![(0.0, 0.0), (10.0, 7.0)]),
        ];
        let plot = lines_svg("P&L", "event", "rupees", &two);
        assert_eq!(plot.matches("<polyline").count(), 2, "{plot}");
        assert!(plot.contains(">a</text>") && plot.contains(">b</text>"), "a legend: {plot}");
        assert!(plot.contains("P&amp;L"), "titles are escaped: {plot}");
    }
}
