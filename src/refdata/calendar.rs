//! Market holidays and session timings (OPENALGO.md 2b `market/holidays`, `market/timings`).
//!
//! # Known limitations
//! - Only the fixed-date national holidays (Republic Day, Ambedkar Jayanti, Maharashtra
//!   Day, Independence Day, Gandhi Jayanti, Christmas) are listed, for any year: the
//!   festival holidays move with the lunar calendar and are published by the exchanges
//!   each December; tickfill does not guess them.

#![forbid(unsafe_code)]

use crate::types::Exchange;
use chrono::{Datelike, NaiveDate, Weekday};

/// One trading holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// The day.
    pub date: NaiveDate,
    /// Its name.
    pub description: &'static str,
}

const FIXED: [(u32, u32, &str); 6] = [
    (1, 26, "Republic Day"),
    (4, 14, "Dr. Baba Saheb Ambedkar Jayanti"),
    (5, 1, "Maharashtra Day"),
    (8, 15, "Independence Day"),
    (10, 2, "Mahatma Gandhi Jayanti"),
    (12, 25, "Christmas"),
];

/// Exchanges closed on a trading holiday (CRYPTO and the global indices trade on).
pub const CLOSED_ON_HOLIDAYS: [Exchange; 10] = [
    Exchange::Nse,
    Exchange::Bse,
    Exchange::Nfo,
    Exchange::Bfo,
    Exchange::Cds,
    Exchange::Bcd,
    Exchange::Mcx,
    Exchange::Ncdex,
    Exchange::Nco,
    Exchange::McxIndex,
];

/// Exchanges open on trading holidays.
pub const OPEN_ON_HOLIDAYS: [Exchange; 2] = [Exchange::Crypto, Exchange::GlobalIndex];

/// The holidays of a year that fall on weekdays, in date order.
pub fn holidays(year: i32) -> Vec<Holiday> {
    FIXED
        .iter()
        .filter_map(|&(m, d, description)| {
            let date = NaiveDate::from_ymd_opt(year, m, d)?;
            is_weekday(date).then_some(Holiday { date, description })
        })
        .collect()
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The session of an exchange in IST minutes since midnight, `[open, close)`;
/// `None` for exchanges with no session of their own (none today: indices follow cash).
pub fn session(exchange: Exchange) -> (u32, u32) {
    match exchange {
        Exchange::Nse | Exchange::Bse | Exchange::NseIndex | Exchange::BseIndex => {
            (9 * 60 + 15, 15 * 60 + 30)
        }
        Exchange::Nfo | Exchange::Bfo => (9 * 60 + 15, 15 * 60 + 40),
        Exchange::Cds | Exchange::Bcd | Exchange::Ncdex => (9 * 60, 17 * 60),
        Exchange::Mcx | Exchange::Nco | Exchange::McxIndex => (9 * 60, 23 * 60 + 55),
        Exchange::Crypto | Exchange::GlobalIndex => (0, 24 * 60),
    }
}

/// True when `exchange` trades on `date` (weekday and not a holiday; CRYPTO every day).
pub fn is_trading_day(exchange: Exchange, date: NaiveDate) -> bool {
    if exchange == Exchange::Crypto {
        return true;
    }
    if !is_weekday(date) {
        return false;
    }
    !(CLOSED_ON_HOLIDAYS.contains(&exchange)
        && holidays(date.year()).iter().any(|h| h.date == date))
}

/// The exchanges listed by `market/timings`, in OpenAlgo's order.
pub const TIMED: [Exchange; 10] = [
    Exchange::Nse,
    Exchange::Bse,
    Exchange::Nfo,
    Exchange::Bfo,
    Exchange::Cds,
    Exchange::Bcd,
    Exchange::Mcx,
    Exchange::Ncdex,
    Exchange::Nco,
    Exchange::Crypto,
];

/// The sessions open on `date`: `(exchange, start epoch ms, end epoch ms)`.
pub fn timings(date: NaiveDate) -> Vec<(Exchange, i64, i64)> {
    TIMED
        .iter()
        .filter(|e| is_trading_day(**e, date))
        .map(|&e| {
            let (open, close) = session(e);
            (e, super::ist_epoch(date, open) * 1000, super::ist_epoch(date, close) * 1000)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekend_holidays_are_left_out_and_sessions_follow_the_spec() {
        // 15 Aug 2026 is a Saturday.
        let h = holidays(2026);
        assert!(h.iter().all(|h| h.date.year() == 2026 && is_weekday(h.date)));
        assert!(!h.iter().any(|h| h.description == "Independence Day"));
        let d = NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
        assert!(!is_trading_day(Exchange::Nse, d));
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let t = timings(monday);
        assert_eq!(t.len(), TIMED.len());
        // CRYPTO trades on Christmas and on Sundays, all day.
        assert_eq!(timings(d).len(), 1);
        let sunday = timings(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
        assert_eq!((sunday.len(), sunday[0].0), (1, Exchange::Crypto));
        assert_eq!(sunday[0].2 - sunday[0].1, 24 * 3_600_000);
        let nse = t.iter().find(|x| x.0 == Exchange::Nse).unwrap();
        assert_eq!(nse.2 - nse.1, (6 * 60 + 15) * 60_000);
    }
}
