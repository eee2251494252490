//! Deterministic candles for any instrument, range and interval (`history`, `ticker`).
//!
//! Every trading day of an instrument has a closing level that drifts slowly around its
//! reference price (a sum of slow waves with per-instrument phases plus a daily shock), and
//! inside the day a one-minute path bridges the previous close to that level. Every number
//! is a hash of (exchange, symbol, day, minute): there is no state, so the same request
//! always gives the same candles, any two overlapping requests agree on their overlap, and
//! a daily candle is exactly the aggregate of that day's minute candles.
//!
//! # Known limitations
//! - Second intervals are not offered (the walk's resolution is one minute); `intervals`
//!   says so by listing no seconds.
//! - The candles are synthetic and do not join the live simulator's price exactly.
//!
//! # Performance
//! A few nanoseconds a minute of history: ten years of daily candles cost about 1 M
//! steps. Requests are bounded by [`MAX_CANDLES`] and [`MAX_DAYS`].

#![forbid(unsafe_code)]

use super::calendar;
use crate::types::Exchange;
use chrono::{Datelike, NaiveDate};

/// Most candles one request may return.
pub const MAX_CANDLES: usize = 200_000;
/// Longest range one request may cover, in days.
pub const MAX_DAYS: i64 = 366 * 20;

/// A candle interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// `n` minutes (hours are multiples of 60).
    Minutes(u32),
    /// One trading day.
    Day,
    /// One calendar week (Monday to Sunday).
    Week,
    /// One calendar month.
    Month,
    /// One calendar quarter.
    Quarter,
    /// One calendar year.
    Year,
}

/// The intervals offered, as `intervals` lists them.
pub const MINUTES: [&str; 8] = ["1m", "2m", "3m", "5m", "10m", "15m", "20m", "30m"];
/// Hour intervals offered.
pub const HOURS: [&str; 4] = ["1h", "2h", "3h", "4h"];

impl Interval {
    /// Parses `1m`..`30m`, `1h`..`4h`, `D`, `W`, `M`, `Q`, `Y` (as listed by `intervals`).
    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "D" | "1d" => Some(Interval::Day),
            "W" => Some(Interval::Week),
            "M" => Some(Interval::Month),
            "Q" => Some(Interval::Quarter),
            "Y" => Some(Interval::Year),
            _ if MINUTES.contains(&s) => {
                s.trim_end_matches('m').parse().ok().map(Interval::Minutes)
            }
            _ if HOURS.contains(&s) => {
                s.trim_end_matches('h').parse::<u32>().ok().map(|h| Interval::Minutes(h * 60))
            }
            _ => None,
        }
    }

    /// True for candles shorter than a day.
    pub fn intraday(self) -> bool {
        matches!(self, Interval::Minutes(_))
    }
}

/// One candle; `timestamp` is epoch seconds of its start (intraday), or 00:00 UTC of its
/// first IST date (daily and longer, so a naive conversion shows the right date).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candle {
    /// Start, epoch seconds.
    pub timestamp: i64,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Volume.
    pub volume: u64,
    /// Open interest (0 for cash instruments).
    pub oi: u64,
}

/// The instrument a series is for.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Exchange (decides the session and holidays).
    pub exchange: Exchange,
    /// Symbol (with the exchange, the seed of the walk).
    pub symbol: &'a str,
    /// The level the walk drifts around (the reference price), > 0.
    pub reference: f64,
    /// Price step (candles are rounded to it).
    pub tick: f64,
    /// Whether to report open interest.
    pub derivative: bool,
}

/// Why a request cannot be answered; each names the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The range is reversed or too long.
    #[error("{0}")]
    Range(String),
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [-1, 1) from a key.
fn unit(seed: u64, a: u64, b: u64) -> f64 {
    let h = splitmix(seed ^ splitmix(a.wrapping_mul(0x100_0000_01B3) ^ splitmix(b)));
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn seed_of(exchange: Exchange, symbol: &str) -> u64 {
    // FNV-1a: stable across runs and platforms (std's hasher is randomly keyed).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in exchange.as_str().bytes().chain([b':']).chain(symbol.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn day_number(d: NaiveDate) -> u64 {
    d.num_days_from_ce().max(0) as u64
}

/// The closing level of a day: slow waves around the reference plus a daily shock.
fn level(seed: u64, s: &Series<'_>, d: NaiveDate) -> f64 {
    let n = day_number(d) as f64;
    let mut x = 0.0;
    for (j, period) in [(1u64, 23.0), (2, 71.0), (3, 199.0)] {
        let phase = unit(seed, 1_000 + j, 0) * std::f64::consts::PI;
        x += 0.04 * (2.0 * std::f64::consts::PI * n / period + phase).sin();
    }
    x += 0.012 * unit(seed, 2_000, day_number(d));
    s.reference * x.exp()
}

fn round_to(v: f64, tick: f64) -> f64 {
    if tick > 0.0 { ((v / tick).round() * tick * 1e4).round() / 1e4 } else { v }
}

/// The one-minute candles of one trading day.
fn day_minutes(seed: u64, s: &Series<'_>, d: NaiveDate, out: &mut Vec<Candle>) {
    let (open_min, close_min) = calendar::session(s.exchange);
    let n = (close_min - open_min) as usize;
    let prev = d.pred_opt().unwrap_or(d);
    let open = level(seed, s, prev) * (1.0 + 0.003 * unit(seed, 3_000, day_number(d)));
    let close = level(seed, s, d);
    let dn = day_number(d);
    let sigma = 0.0007 * s.reference;
    let step = |i: usize| unit(seed, dn, i as u64) * 3f64.sqrt();
    let total: f64 = (0..n).map(step).sum();
    let mut w = 0.0;
    let mut p = open;
    for i in 0..n {
        w += step(i);
        let frac = (i + 1) as f64 / n as f64;
        let next = open + (close - open) * frac + sigma * (w - total * frac);
        let next = next.max(s.tick.max(0.01));
        let wiggle = |k: u64| 1.0 + 0.0003 * unit(seed, dn ^ (k << 40), i as u64).abs();
        let (o, c) = (round_to(p, s.tick), round_to(next, s.tick));
        let volume = 100 + (unit(seed, dn ^ (3 << 40), i as u64).abs() * 9_900.0) as u64;
        out.push(Candle {
            timestamp: super::ist_epoch(d, open_min + i as u32),
            open: o,
            high: round_to(o.max(c) * wiggle(1), s.tick),
            low: round_to(o.min(c) / wiggle(2), s.tick),
            close: c,
            volume,
            oi: if s.derivative {
                100_000 + (unit(seed, 4_000, dn).abs() * 900_000.0) as u64
            } else {
                0
            },
        });
        p = next;
    }
}

fn merge(a: &mut Candle, b: &Candle) {
    a.high = a.high.max(b.high);
    a.low = a.low.min(b.low);
    a.close = b.close;
    a.volume += b.volume;
    a.oi = b.oi;
}

/// The bucket start date of a daily-or-longer interval.
fn bucket(interval: Interval, d: NaiveDate) -> NaiveDate {
    let first = |m: u32| NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d);
    match interval {
        Interval::Week => d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday())),
        Interval::Month => first(d.month()),
        Interval::Quarter => first((d.month() - 1) / 3 * 3 + 1),
        Interval::Year => first(1),
        Interval::Day | Interval::Minutes(_) => d,
    }
}

/// The candles of `s` at `interval` for the IST dates `start..=end`, oldest first.
pub fn candles(
    s: &Series<'_>,
    interval: Interval,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<Candle>, HistoryError> {
    if end < start {
        return Err(HistoryError::Range("end_date must not be before start_date".into()));
    }
    let days = (end - start).num_days() + 1;
    if days > MAX_DAYS {
        return Err(HistoryError::Range(format!(
            "the range from start_date to end_date is {days} days; at most {MAX_DAYS} are served"
        )));
    }
    if let Interval::Minutes(m) = interval {
        let (o, c) = calendar::session(s.exchange);
        let per_day = (c - o).div_ceil(m.max(1)) as i64;
        if days * per_day > MAX_CANDLES as i64 {
            return Err(HistoryError::Range(format!(
                "about {} candles requested; at most {MAX_CANDLES}: shorten the range or widen the interval",
                days * per_day
            )));
        }
    }
    let seed = seed_of(s.exchange, s.symbol);
    let mut out: Vec<Candle> = Vec::new();
    let mut minutes = Vec::with_capacity(1_000);
    let mut d = start;
    while d <= end {
        if calendar::is_trading_day(s.exchange, d) {
            minutes.clear();
            day_minutes(seed, s, d, &mut minutes);
            match interval {
                Interval::Minutes(m) => {
                    for (i, c) in minutes.iter().enumerate() {
                        if i % m.max(1) as usize == 0 {
                            out.push(*c);
                        } else if let Some(last) = out.last_mut() {
                            merge(last, c);
                        }
                    }
                }
                _ => {
                    let b = bucket(interval, d);
                    let ts = b.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp());
                    for c in &minutes {
                        match out.last_mut() {
                            Some(last) if last.timestamp == ts => merge(last, c),
                            _ => out.push(Candle { timestamp: ts, ..*c }),
                        }
                    }
                }
            }
        }
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series<'static> {
        Series {
            exchange: Exchange::Nse,
            symbol: "SBIN",
            reference: 812.5,
            tick: 0.05,
            derivative: false,
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn same_request_same_candles_and_overlaps_agree() {
        let a =
            candles(&series(), Interval::Minutes(5), date(2026, 11, 2), date(2026, 11, 6)).unwrap();
        let b =
            candles(&series(), Interval::Minutes(5), date(2026, 11, 2), date(2026, 11, 6)).unwrap();
        assert_eq!(a, b);
        let c =
            candles(&series(), Interval::Minutes(5), date(2026, 11, 4), date(2026, 11, 4)).unwrap();
        assert!(a.windows(c.len()).any(|w| w == c.as_slice()));
        // 5 weekdays x 75 five-minute candles.
        assert_eq!(a.len(), 5 * 75);
        let other = Series { symbol: "INFY", ..series() };
        let o = candles(&other, Interval::Minutes(5), date(2026, 11, 4), date(2026, 11, 4));
        assert_ne!(o.unwrap(), c);
    }

    #[test]
    fn candles_are_consistent_and_inside_the_range() {
        let start = date(2026, 10, 1);
        let end = date(2026, 10, 31);
        let mins = candles(&series(), Interval::Minutes(1), start, end).unwrap();
        let days = candles(&series(), Interval::Day, start, end).unwrap();
        for c in mins.iter().chain(&days) {
            assert!(c.low <= c.open.min(c.close) && c.high >= c.open.max(c.close), "{c:?}");
            assert!(c.low > 0.0);
        }
        let lo = super::super::ist_epoch(start, 0);
        let hi = super::super::ist_epoch(end, 24 * 60);
        assert!(mins.iter().all(|c| c.timestamp >= lo && c.timestamp < hi));
        // A daily candle aggregates its minutes exactly; 2 Oct is a holiday.
        assert_eq!(days.len(), 21);
        let first_day: Vec<_> = mins.iter().take(375).collect();
        assert_eq!(days[0].open, first_day[0].open);
        assert_eq!(days[0].close, first_day[374].close);
        assert_eq!(days[0].volume, first_day.iter().map(|c| c.volume).sum::<u64>());
        // Prices stay near the reference.
        assert!(days.iter().all(|c| (c.close / 812.5 - 1.0).abs() < 0.25));
    }

    #[test]
    fn intervals_parse_and_ranges_are_checked() {
        assert_eq!(Interval::parse("1h"), Some(Interval::Minutes(60)));
        assert_eq!(Interval::parse("15m"), Some(Interval::Minutes(15)));
        assert_eq!(Interval::parse("D"), Some(Interval::Day));
        assert_eq!(Interval::parse("7m"), None);
        assert_eq!(Interval::parse("1s"), None);
        assert!(candles(&series(), Interval::Day, date(2026, 2, 1), date(2026, 1, 1)).is_err());
        assert!(
            candles(&series(), Interval::Minutes(1), date(2020, 1, 1), date(2026, 1, 1)).is_err()
        );
        let w = candles(&series(), Interval::Week, date(2026, 11, 2), date(2026, 11, 15)).unwrap();
        assert_eq!(w.len(), 2);
    }
}
