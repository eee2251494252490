//! Hand-written SVG charts: the frame every chart shares ([`Frame`]) and a line chart of
//! named series ([`lines_svg`], `tickfill compare --plot`). The benchmark harness
//! (`tickfill-bench`) draws its percentile plots in the same frame. Plain text, no
//! plotting dependency: a chart is a few grid lines and polylines.

#![forbid(unsafe_code)]

use std::fmt::Write as _;

/// The plot area every chart shares: size, margins, and the scaffolding (title, grid
/// lines with labels, axis titles) drawn the same way, so `tickfill-bench`'s latency
/// plots and `tickfill compare`'s P&L plot look alike. Draw into it in pixels
/// ([`Frame::area`]) and [`Frame::finish`] it into the SVG text.
#[derive(Debug)]
pub struct Frame {
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
    pub const fn area() -> (f64, f64, f64, f64) {
        (Frame::L, Frame::W - Frame::R, Frame::T, Frame::H - Frame::B)
    }

    /// An empty chart: white background, `title` above, the axis titles below and left.
    pub fn new(title: &str, x_title: &str, y_title: &str) -> Frame {
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
    pub fn x_grid(&mut self, x: f64, label: &str) {
        let (_, _, t, b) = Frame::area();
        let _ = writeln!(
            self.s,
            r##"<line x1="{x:.1}" y1="{t}" x2="{x:.1}" y2="{b:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            b + 16.0,
            escape(label)
        );
    }

    /// A horizontal grid line at pixel `y` with its label left of the axis.
    pub fn y_grid(&mut self, y: f64, label: &str) {
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
    pub fn line(&mut self, color: &str, pts: impl Iterator<Item = (f64, f64)>) {
        let line: Vec<String> = pts.map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            self.s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            line.join(" ")
        );
    }

    /// The SVG text.
    pub fn finish(mut self) -> String {
        self.s.push_str("</svg>\n");
        self.s
    }
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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_svg_draws_each_series_with_a_legend() {
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
