//! The default universe grown from a date: the embedded master (`data/instruments.csv`)
//! plus generated derivatives whose expiries all lie after an anchor date, so the default
//! universe never consists of expired contracts.
//!
//! Generated (symbols named as OpenAlgo does: `NAME+DDMMMYY+FUT`,
//! `NAME+DDMMMYY+STRIKE+CE/PE`):
//! - indices FINNIFTY (NSE_INDEX) and SENSEX (BSE_INDEX) beside the embedded NIFTY and
//!   BANKNIFTY;
//! - NIFTY: four weekly and three monthly expiries (NSE index expiries are Tuesdays, the
//!   monthly one the last Tuesday); BANKNIFTY and FINNIFTY: three monthlies; SENSEX (BFO):
//!   four weekly and three monthly Thursdays; 15 strikes either side of the reference level;
//!   three monthly futures each;
//! - every NSE equity of the embedded master (the NIFTY 50): three monthly futures and,
//!   for the nearest month, 5 strikes either side;
//! - MCX (CRUDEOIL, NATURALGAS, GOLDM, SILVERM) and CDS (USDINR, EURINR, GBPINR) monthly
//!   futures.
//!
//! An expiry that falls on a holiday moves to the trading day before it. Option reference
//! prices are Black-76 values at 15 % volatility, so a chain is arbitrage-free at start.
//! A generated symbol the embedded CSV already lists keeps the CSV's row.
//!
//! # Determinism
//! The universe is a pure function of the anchor date. `serve` stores the anchor in its
//! data dir on first start (`universe-anchor`, `YYYY-MM-DD`, IST) and reads it back on
//! every restart, so a journal always meets the universe it was written against; a new
//! data dir starts from today. (`tickfill sim` and tests without a data dir use today or
//! the embedded master alone.)
//!
//! # Known limitations
//! - Lot sizes of generated stock contracts are approximations (about 7 lakh rupees of
//!   notional, in multiples of 25); the embedded CSV's lot sizes are kept where it has them.
//! - Commodity and currency expiry days are approximations of the exchanges' rules.

#![forbid(unsafe_code)]

use super::calendar;
use super::greeks::{Contract, black76};
use super::{compact_expiry, strike_text};
use crate::instruments::{
    DEFAULT_CSV, InstrumentError, InstrumentKind, InstrumentMaster, format_expiry,
};
use crate::types::Exchange;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

/// The file in the data dir that holds the anchor date.
pub const ANCHOR_FILE: &str = "universe-anchor";

/// The anchor of a data dir: the stored one, else today (IST), stored for next time.
/// `None` for a data dir written before anchors existed (it holds files but no anchor):
/// its journal was written against the embedded master alone, which it keeps.
pub fn anchor_for(data_dir: &Path) -> std::io::Result<Option<NaiveDate>> {
    let path = data_dir.join(ANCHOR_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}: expected YYYY-MM-DD", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let used = std::fs::read_dir(data_dir).is_ok_and(|mut d| d.next().is_some());
            if used {
                return Ok(None);
            }
            let today = super::today_ist();
            std::fs::create_dir_all(data_dir)?;
            std::fs::write(&path, format!("{}\n", today.format("%Y-%m-%d")))?;
            Ok(Some(today))
        }
        Err(e) => Err(e),
    }
}

/// The default universe of a data dir (see [`anchor_for`]).
pub fn default_universe_for(data_dir: &Path) -> errors::Result<InstrumentMaster> {
    match anchor_for(data_dir).map_err(errors::Error::Io)? {
        Some(anchor) => default_universe_on(anchor).map_err(errors::Error::Master),
        None => Ok(InstrumentMaster::default_universe()),
    }
}

/// Errors of [`default_universe_for`].
pub mod errors {
    /// Why the default universe could not be built.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// The anchor file could not be read or written.
        #[error("universe anchor: {0}")]
        Io(std::io::Error),
        /// The generated master is invalid.
        #[error("generated universe: {0}")]
        Master(crate::instruments::InstrumentError),
    }
    /// A result of [`Error`].
    pub type Result<T> = std::result::Result<T, Error>;
}

/// The trading day on or before `d` for `exchange`.
fn on_or_before(exchange: Exchange, mut d: NaiveDate) -> NaiveDate {
    for _ in 0..10 {
        if calendar::is_trading_day(exchange, d) {
            return d;
        }
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

fn last_weekday_of_month(year: i32, month: u32, wd: Weekday) -> NaiveDate {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let mut d = NaiveDate::from_ymd_opt(ny, nm, 1).and_then(|d| d.pred_opt()).unwrap_or_default();
    while d.weekday() != wd {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

/// Month `k` after the anchor's month (0 = the same month).
fn month_after(anchor: NaiveDate, k: u32) -> (i32, u32) {
    let m0 = anchor.month0() + k;
    (anchor.year() + (m0 / 12) as i32, m0 % 12 + 1)
}

/// The next `n` monthly expiries strictly after `anchor`, `day` picking each month's day.
fn monthlies(
    anchor: NaiveDate,
    n: usize,
    exchange: Exchange,
    day: impl Fn(i32, u32) -> NaiveDate,
) -> Vec<NaiveDate> {
    (0..n as u32 + 2)
        .map(|k| {
            let (y, m) = month_after(anchor, k);
            on_or_before(exchange, day(y, m))
        })
        .filter(|d| *d > anchor)
        .take(n)
        .collect()
}

/// The next `n` weekly expiries on `wd` strictly after `anchor`.
fn weeklies(anchor: NaiveDate, n: usize, exchange: Exchange, wd: Weekday) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(n);
    let mut d = anchor.succ_opt().unwrap_or(anchor);
    while out.len() < n {
        if d.weekday() == wd {
            let e = on_or_before(exchange, d);
            if e > anchor {
                out.push(e);
            }
        }
        d = d.succ_opt().unwrap_or(d);
    }
    out
}

struct Rows {
    csv: String,
    seen: HashSet<(String, &'static str)>,
    token: u64,
}

impl Rows {
    #[allow(clippy::too_many_arguments, reason = "one CSV row's columns")]
    fn push(
        &mut self,
        symbol: &str,
        name: &str,
        ex: Exchange,
        expiry: Option<NaiveDate>,
        strike: Option<f64>,
        lot: i64,
        kind: &str,
        tick: f64,
        close: f64,
    ) {
        if !self.seen.insert((symbol.to_string(), ex.as_str())) {
            return;
        }
        self.token += 1;
        let _ = writeln!(
            self.csv,
            "{symbol},{name},{},{},{},{},{lot},{kind},{tick},{:.2}",
            ex.as_str(),
            self.token,
            expiry.map(format_expiry).unwrap_or_default(),
            strike.map_or_else(|| "-1".to_string(), strike_text),
            close
        );
    }

    fn future(
        &mut self,
        name: &str,
        ex: Exchange,
        expiry: NaiveDate,
        lot: i64,
        tick: f64,
        level: f64,
    ) {
        let sym = format!("{name}{}FUT", compact_expiry(expiry));
        self.push(&sym, name, ex, Some(expiry), None, lot, "FUT", tick, level);
    }

    #[allow(clippy::too_many_arguments, reason = "the chain's shape")]
    fn chain(
        &mut self,
        anchor: NaiveDate,
        name: &str,
        ex: Exchange,
        expiry: NaiveDate,
        level: f64,
        step: f64,
        each_side: i32,
        lot: i64,
    ) {
        let atm = (level / step).round() * step;
        let years = ((expiry - anchor).num_days().max(1) as f64) / 365.0;
        for i in -each_side..=each_side {
            let k = atm + f64::from(i) * step;
            if k <= 0.0 {
                continue;
            }
            for (suffix, is_call) in [("CE", true), ("PE", false)] {
                let c = Contract { forward: level, strike: k, years, rate: 0.0, is_call };
                let price = (black76(&c, 0.15).price / 0.05).round().max(1.0) * 0.05;
                let sym = format!("{name}{}{}{suffix}", compact_expiry(expiry), strike_text(k));
                self.push(&sym, name, ex, Some(expiry), Some(k), lot, suffix, 0.05, price);
            }
        }
    }
}

fn stock_step(price: f64) -> f64 {
    match price {
        p if p < 250.0 => 5.0,
        p if p < 1_000.0 => 10.0,
        p if p < 2_500.0 => 20.0,
        p if p < 5_000.0 => 50.0,
        _ => 100.0,
    }
}

/// The CSV rows generated for `anchor` (header included), given the embedded master.
pub fn generated_csv(base: &InstrumentMaster, anchor: NaiveDate) -> String {
    let mut rows = Rows {
        csv:
            "symbol,name,exchange,token,expiry,strike,lotsize,instrumenttype,tick_size,prev_close\n"
                .into(),
        seen: base.iter().map(|i| (i.symbol.clone(), i.exchange.as_str())).collect(),
        token: 100_000,
    };
    let nse_monthly =
        monthlies(anchor, 3, Exchange::Nfo, |y, m| last_weekday_of_month(y, m, Weekday::Tue));
    let bse_monthly =
        monthlies(anchor, 3, Exchange::Bfo, |y, m| last_weekday_of_month(y, m, Weekday::Thu));
    rows.push(
        "FINNIFTY",
        "NIFTY FIN SERVICE",
        Exchange::NseIndex,
        None,
        None,
        1,
        "INDEX",
        0.05,
        26_500.0,
    );
    rows.push("SENSEX", "SENSEX", Exchange::BseIndex, None, None, 1, "INDEX", 0.05, 82_500.0);
    let level = |ex, sym: &str, default: f64| {
        base.lookup(ex, sym)
            .and_then(|id| base.get(id))
            .and_then(|i| i.prev_close)
            .map_or(default, |p| p.to_f64())
    };
    let indices = [
        (
            "NIFTY",
            Exchange::Nfo,
            level(Exchange::NseIndex, "NIFTY", 25_000.0),
            50.0,
            75,
            Some(Weekday::Tue),
        ),
        (
            "BANKNIFTY",
            Exchange::Nfo,
            level(Exchange::NseIndex, "BANKNIFTY", 56_000.0),
            100.0,
            35,
            None,
        ),
        ("FINNIFTY", Exchange::Nfo, 26_500.0, 50.0, 65, None),
        ("SENSEX", Exchange::Bfo, 82_500.0, 100.0, 20, Some(Weekday::Thu)),
    ];
    for (name, ex, lvl, step, lot, weekly) in indices {
        let monthly = if ex == Exchange::Bfo { &bse_monthly } else { &nse_monthly };
        for e in monthly {
            rows.future(name, ex, *e, lot, 0.1, lvl);
        }
        let mut expiries: Vec<NaiveDate> = monthly.clone();
        if let Some(wd) = weekly {
            expiries.extend(weeklies(anchor, 4, ex, wd));
        }
        expiries.sort_unstable();
        expiries.dedup();
        for e in expiries {
            rows.chain(anchor, name, ex, e, lvl, step, 15, lot);
        }
    }
    let stocks: Vec<(String, f64, Option<i64>)> = base
        .iter()
        .filter(|i| i.exchange == Exchange::Nse && i.kind == InstrumentKind::Equity)
        .map(|i| {
            let lot = base
                .iter()
                .find(|f| f.kind == InstrumentKind::Future && f.name == i.symbol)
                .map(|f| f.lot_size);
            (i.symbol.clone(), i.prev_close.map_or(1_000.0, |p| p.to_f64()), lot)
        })
        .collect();
    for (sym, price, lot) in stocks {
        let lot = lot.unwrap_or_else(|| (((700_000.0 / price) / 25.0).round() as i64).max(1) * 25);
        for e in &nse_monthly {
            rows.future(&sym, Exchange::Nfo, *e, lot, 0.1, price);
        }
        if let Some(e) = nse_monthly.first() {
            rows.chain(anchor, &sym, Exchange::Nfo, *e, price, stock_step(price), 5, lot);
        }
    }
    let mcx_day = |day: u32| move |y, m| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
    for (name, day, lot, tick, lvl) in [
        ("CRUDEOIL", 19, 100, 1.0, 5_850.0),
        ("NATURALGAS", 24, 1_250, 0.1, 310.0),
        ("GOLDM", 5, 10, 1.0, 98_500.0),
        ("SILVERM", 28, 5, 1.0, 115_000.0),
    ] {
        for e in monthlies(anchor, 2, Exchange::Mcx, mcx_day(day)) {
            rows.future(name, Exchange::Mcx, e, lot, tick, lvl);
        }
    }
    let cds_day = |y, m| {
        let last = on_or_before(
            Exchange::Cds,
            last_weekday_of_month(y, m, Weekday::Fri).max(last_weekday_of_month(
                y,
                m,
                Weekday::Thu,
            )),
        );
        last - Days::new(2)
    };
    for (name, lvl) in [("USDINR", 88.45), ("EURINR", 102.3), ("GBPINR", 118.6)] {
        for e in monthlies(anchor, 2, Exchange::Cds, cds_day) {
            rows.future(name, Exchange::Cds, e, 1_000, 0.0025, lvl);
        }
    }
    rows.csv
}

/// The embedded master grown with the contracts generated for `anchor`.
pub fn default_universe_on(anchor: NaiveDate) -> Result<InstrumentMaster, InstrumentError> {
    let base = InstrumentMaster::default_universe();
    let extra = generated_csv(&base, anchor);
    let mut csv = String::with_capacity(DEFAULT_CSV.len() + extra.len());
    csv.push_str(DEFAULT_CSV);
    if !csv.ends_with('\n') {
        csv.push('\n');
    }
    // The generated rows share the embedded CSV's columns; drop their header.
    csv.push_str(extra.split_once('\n').map_or("", |(_, rows)| rows));
    InstrumentMaster::from_csv_str(&csv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refdata::options;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn same_anchor_same_universe_and_every_expiry_after_it() {
        let anchor = date(2027, 3, 10);
        let a = default_universe_on(anchor).unwrap();
        let b = default_universe_on(anchor).unwrap();
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(b.iter()).all(|(x, y)| x == y));
        let base = InstrumentMaster::default_universe();
        assert!(a.len() > base.len() + 2_000, "{}", a.len());
        // The embedded rows keep their ids.
        assert!(base.iter().all(|i| a.get(i.id).is_some_and(|j| j.symbol == i.symbol)));
        let generated = a.iter().skip(base.len());
        assert!(generated.filter_map(|i| i.expiry).all(|e| e > anchor));
        let nifty = options::expiries(&a, "NIFTY", Exchange::Nfo, InstrumentKind::Option, anchor);
        assert!(nifty.len() >= 6, "{nifty:?}");
        // Tuesdays, or the Monday before a Tuesday holiday.
        assert!(nifty.iter().all(|d| matches!(d.weekday(), Weekday::Tue | Weekday::Mon)));
        assert!(nifty.iter().all(|d| calendar::is_trading_day(Exchange::Nfo, *d)));
        let sensex = options::expiries(&a, "SENSEX", Exchange::Bfo, InstrumentKind::Option, anchor);
        assert!(sensex.len() >= 6);
        let fut = options::expiries(&a, "SBIN", Exchange::Nfo, InstrumentKind::Future, anchor);
        assert_eq!(fut.len(), 3);
        for ex in [Exchange::Mcx, Exchange::Cds] {
            assert!(a.iter().any(|i| i.exchange == ex && i.expiry.is_some_and(|e| e > anchor)));
        }
    }

    #[test]
    fn symbols_follow_openalgo_and_chains_are_centred() {
        let anchor = date(2027, 3, 10);
        let a = default_universe_on(anchor).unwrap();
        // Last Tuesday of March 2027 is the 30th.
        assert!(a.lookup(Exchange::Nfo, "NIFTY30MAR27FUT").is_some());
        let e = date(2027, 3, 30);
        let chain = options::chain(&a, "NIFTY", Exchange::Nfo, e);
        assert_eq!(chain.len(), 31);
        let atm = options::atm_index(&chain, 25_010.5, None).unwrap();
        assert_eq!(atm, 15);
        let ce = a.get(chain[atm].ce.unwrap()).unwrap();
        assert_eq!(ce.symbol, "NIFTY30MAR2725000CE");
        assert_eq!(ce.lot_size, 75);
        // Deep ITM calls cost more than OTM ones.
        let close = |id| a.get(id).unwrap().prev_close.unwrap();
        assert!(close(chain[0].ce.unwrap()) > close(chain[30].ce.unwrap()));
    }

    #[test]
    fn the_anchor_is_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = anchor_for(dir.path()).unwrap().unwrap();
        std::fs::write(dir.path().join(ANCHOR_FILE), "2027-01-04\n").unwrap();
        assert_eq!(anchor_for(dir.path()).unwrap(), Some(date(2027, 1, 4)));
        assert!(first <= super::super::today_ist());
        // A data dir from before anchors keeps the embedded master.
        let old = tempfile::tempdir().unwrap();
        std::fs::write(old.path().join("journal-000001"), b"x").unwrap();
        assert_eq!(anchor_for(old.path()).unwrap(), None);
        assert!(!old.path().join(ANCHOR_FILE).exists());
        let m = default_universe_for(old.path()).unwrap();
        assert_eq!(m.len(), InstrumentMaster::default_universe().len());
        std::fs::write(dir.path().join(ANCHOR_FILE), "nonsense").unwrap();
        assert!(anchor_for(dir.path()).is_err());
    }
}
