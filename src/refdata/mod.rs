//! Reference and market data answered locally: what OpenAlgo asks the broker or its master
//! contract for, tickfill computes from the instrument master and a deterministic walk, so
//! every endpoint of OPENALGO.md section 2b works with no broker at all.
//!
//! - [`history`]: candles for any range and interval, a pure function of the instrument
//!   and the time (the same request always gives the same candles).
//! - [`options`]: option symbol resolution (ATM / ITMn / OTMn), chains and expiries.
//! - [`greeks`]: Black-76 prices and greeks, implied volatility solved by Jäckel's
//!   "Let's Be Rational" (the `implied-vol` crate).
//! - [`calendar`]: holidays and session timings per exchange.
//! - [`margin`]: the margin the sandbox's own rules would block for a set of positions.
//!
//! # Invariants
//! - Nothing here is on the hot path or inside a ring stage: these are read-only
//!   computations for the REST API, so reading the wall clock (for "today") is allowed.
//!
//! # Known limitations
//! - The candles are synthetic: they follow a seeded walk around each instrument's
//!   reference price, not the market. With `--upstream-rest` history is forwarded instead.

#![forbid(unsafe_code)]

pub mod calendar;
pub mod greeks;
pub mod history;
pub mod margin;
pub mod options;
pub mod universe;
pub mod upstream;

use chrono::{FixedOffset, NaiveDate, Utc};

/// India Standard Time (UTC+05:30), the time zone of every date in the API.
pub fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 1800).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap())
}

/// Today's date in IST (wall clock; REST edge only).
pub fn today_ist() -> NaiveDate {
    Utc::now().with_timezone(&ist()).date_naive()
}

/// Epoch seconds of an IST wall time on a date.
pub fn ist_epoch(date: NaiveDate, minute_of_day: u32) -> i64 {
    let midnight_utc = date.and_hms_opt(0, 0, 0).map_or(0, |d| d.and_utc().timestamp());
    midnight_utc + i64::from(minute_of_day) * 60 - (5 * 3600 + 1800)
}

/// Parses OpenAlgo's compact expiry (`30DEC26`), also accepting `30-DEC-26`.
pub fn parse_compact_expiry(text: &str) -> Option<NaiveDate> {
    crate::instruments::parse_expiry(text)
}

/// OpenAlgo's compact expiry, `30DEC26`, as used inside symbols.
pub fn compact_expiry(d: NaiveDate) -> String {
    d.format("%d%b%y").to_string().to_ascii_uppercase()
}

/// A strike as symbols write it: no ".0" on a whole strike.
pub fn strike_text(strike: f64) -> String {
    if strike.fract() == 0.0 { format!("{}", strike as i64) } else { format!("{strike}") }
}
