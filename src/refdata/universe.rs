//! The default universe grown from trading days: the embedded equities and indices
//! (`data/instruments.csv`, nothing that expires) plus derivatives generated for each
//! trading day the data dir has started on, so the default universe never consists of
//! expired contracts and its weekly and monthly expiries roll forward.
//!
//! Generated (symbols named as OpenAlgo does: `NAME+DDMMMYY+FUT`,
//! `NAME+DDMMMYY+STRIKE+CE/PE`, expiries `DD-MMM-YY`):
//! - indices FINNIFTY (NSE_INDEX) and SENSEX (BSE_INDEX) beside the embedded NIFTY and
//!   BANKNIFTY; MCX_INDEX (MCXCOMDEX, MCXBULLDEX, MCXMETLDEX, MCXENRGDEX) and
//!   GLOBAL_INDEX (DOWJONES, NASDAQ, SP500, NIKKEI225, HANGSENG) quotes;
//! - NIFTY: four weekly and three monthly expiries (NSE index expiries are Tuesdays, the
//!   monthly one the last Tuesday); BANKNIFTY and FINNIFTY: three monthlies; SENSEX (BFO):
//!   four weekly and three monthly Thursdays; 15 strikes either side of the reference level;
//!   three monthly futures each;
//! - every NSE equity of the embedded master (the NIFTY 50): three monthly futures and,
//!   for the nearest month, 5 strikes either side;
//! - MCX (CRUDEOIL, NATURALGAS, GOLDM, SILVERM), NCO (CRUDEOIL, NATURALGAS) and CDS
//!   (USDINR, EURINR, GBPINR) monthly futures, CDS with a fractional tick (0.0025);
//! - CRYPTO as OpenAlgo's Delta Exchange master names it: perpetual futures `BTCUSDFUT`,
//!   `ETHUSDFUT`, `SOLUSDFUT` (instrument type PERPFUT, no expiry, ticks 0.5, 0.05,
//!   0.001) and two monthly BTC futures (`BTC{DDMMMYY}FUT`, last Friday), on Delta
//!   Exchange's contract values: 0.001 BTC, 0.01 ETH and 1 SOL a contract (quantities are
//!   whole contracts; P&L, margin and value multiply by the exact decimal).
//!
//! An expiry that falls on a holiday moves to the trading day before it. Option reference
//! prices are Black-76 values at 15 % volatility, so a chain is arbitrage-free at start.
//! A generated symbol already listed keeps its first row.
//!
//! # Determinism
//! The universe is a pure function of the anchor file. `serve` keeps in its data dir
//! (`universe-anchor`) the IST dates it has started on: the first start writes today,
//! and a start on a later day appends that day. The universe is the base plus the
//! contracts generated for each listed date in order, a contract listed once keeping its
//! row, so every symbol keeps its id on every restart and a journal always resolves the
//! symbols it was written against; a restart on a new day only adds the expiries that
//! have come into range. `tickfill sim` and tests without a data dir use today.
//!
//! Two older layouts keep their ids: a data dir written before anchors existed (files
//! but no anchor file) keeps the legacy embedded master ([`LEGACY_CSV`], with contracts
//! expiring in December 2026) and does not roll; an anchor file of the first format (one
//! date, no header) grows from the legacy master instead of the base, and rolls.
//!
//! # Known limitations
//! - The universe grows only at a start: a process left running past its last generated
//!   expiry (about three months) has no live derivatives until it restarts.
//! - Expired contracts stay in the master (their ids are in the journal); `expiry`
//!   lists only those not yet expired, as OpenAlgo's does.
//! - Lot sizes of generated stock contracts are approximations (about 7 lakh rupees of
//!   notional, in multiples of 25); the legacy master's lot sizes are kept where it has them.
//! - Commodity, currency and crypto expiry days are approximations of the exchanges' rules.
//! - Crypto spot (fractional quantities of a coin) is not generated: quantities are whole
//!   contracts.

#![forbid(unsafe_code)]

use super::calendar;
use super::greeks::{Contract, black76};
use super::{compact_expiry, strike_text};
use crate::instruments::{
    DEFAULT_CSV, InstrumentError, InstrumentKind, InstrumentMaster, LEGACY_CSV, format_expiry,
};
use crate::types::Exchange;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

/// The file in the data dir that holds the anchor dates.
pub const ANCHOR_FILE: &str = "universe-anchor";

/// The first line of an anchor file in the current format.
const HEADER: &str = "# tickfill universe anchors v2: the IST dates this data dir started on; \
                      the symbol ids of its journal depend on them, never edit";

/// The trading days a universe is generated for, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchors {
    /// Grow from the legacy master (an anchor file of the first format) rather than the base.
    pub legacy_base: bool,
    /// The dates, ascending, at least one.
    pub dates: Vec<NaiveDate>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {why}", path.display()))
}

/// The anchors of a data dir on `today`: the stored ones with `today` appended when it is
/// later than the last (and stored), or a new file with `today`. `None` for a data dir
/// written before anchors existed (it holds files but no anchor file): its journal was
/// written against the legacy master alone, which it keeps.
pub fn anchors_for(data_dir: &Path, today: NaiveDate) -> std::io::Result<Option<Anchors>> {
    let path = data_dir.join(ANCHOR_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut legacy_base = true;
            let mut dates = Vec::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if line.starts_with('#') {
                    legacy_base &= !line.starts_with("# tickfill universe anchors v2");
                    continue;
                }
                let d = NaiveDate::parse_from_str(line, "%Y-%m-%d").map_err(|e| {
                    invalid(&path, format_args!("{line:?}: {e}: expected YYYY-MM-DD"))
                })?;
                if dates.last().is_some_and(|last| *last >= d) {
                    return Err(invalid(&path, format_args!("{line}: dates must ascend")));
                }
                dates.push(d);
            }
            let Some(last) = dates.last().copied() else {
                return Err(invalid(&path, "no date: expected YYYY-MM-DD lines"));
            };
            if today > last {
                let mut f = std::fs::OpenOptions::new().append(true).open(&path)?;
                let sep = if text.ends_with('\n') { "" } else { "\n" };
                std::io::Write::write_all(
                    &mut f,
                    format!("{sep}{}\n", today.format("%Y-%m-%d")).as_bytes(),
                )?;
                f.sync_all()?;
                dates.push(today);
            }
            Ok(Some(Anchors { legacy_base, dates }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let used = std::fs::read_dir(data_dir).is_ok_and(|mut d| d.next().is_some());
            if used {
                return Ok(None);
            }
            std::fs::create_dir_all(data_dir)?;
            std::fs::write(&path, format!("{HEADER}\n{}\n", today.format("%Y-%m-%d")))?;
            Ok(Some(Anchors { legacy_base: false, dates: vec![today] }))
        }
        Err(e) => Err(e),
    }
}

/// The default universe of a data dir today (IST; see [`anchors_for`]).
pub fn default_universe_for(data_dir: &Path) -> errors::Result<InstrumentMaster> {
    match anchors_for(data_dir, super::today_ist()).map_err(errors::Error::Io)? {
        Some(anchors) => universe_of(&anchors).map_err(errors::Error::Master),
        None => Ok(InstrumentMaster::legacy_universe()),
    }
}

/// The default universe of a data dir as its last start built it, without appending
/// today (for `tickfill replay`, which reads a data dir and must not change it).
pub fn stored_universe_for(data_dir: &Path) -> errors::Result<InstrumentMaster> {
    if !data_dir.join(ANCHOR_FILE).exists() {
        // No anchor: a data dir from before anchors (legacy master), or one never started
        // (no journal to resolve: the base will do, and no file is created).
        let used = std::fs::read_dir(data_dir).is_ok_and(|mut d| d.next().is_some());
        return Ok(if used {
            InstrumentMaster::legacy_universe()
        } else {
            InstrumentMaster::default_universe()
        });
    }
    match anchors_for(data_dir, NaiveDate::MIN).map_err(errors::Error::Io)? {
        Some(anchors) => universe_of(&anchors).map_err(errors::Error::Master),
        None => Ok(InstrumentMaster::legacy_universe()),
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
    /// The `contract_value` cell written on the rows pushed while it is set (empty: 1).
    contract_value: &'static str,
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
            "{symbol},{name},{},{},{},{},{lot},{kind},{tick},{:.2},{}",
            ex.as_str(),
            self.token,
            expiry.map(format_expiry).unwrap_or_default(),
            strike.map_or_else(|| "-1".to_string(), strike_text),
            close,
            self.contract_value
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

/// Adds the rows generated for `anchor` (levels from `base`, lot sizes from the legacy
/// master's futures where it has them).
fn generate(rows: &mut Rows, base: &InstrumentMaster, lots: &InstrumentMaster, anchor: NaiveDate) {
    let nse_monthly =
        monthlies(anchor, 3, Exchange::Nfo, |y, m| last_weekday_of_month(y, m, Weekday::Tue));
    let bse_monthly =
        monthlies(anchor, 3, Exchange::Bfo, |y, m| last_weekday_of_month(y, m, Weekday::Thu));
    let index = |rows: &mut Rows, sym: &str, name: &str, ex: Exchange, level: f64| {
        rows.push(sym, name, ex, None, None, 1, "INDEX", 0.05, level);
    };
    index(rows, "FINNIFTY", "NIFTY FIN SERVICE", Exchange::NseIndex, 26_500.0);
    index(rows, "SENSEX", "SENSEX", Exchange::BseIndex, 82_500.0);
    for (sym, name, level) in [
        ("MCXCOMDEX", "MCX ICOMDEX COMPOSITE", 19_850.0),
        ("MCXBULLDEX", "MCX ICOMDEX BULLION", 31_200.0),
        ("MCXMETLDEX", "MCX ICOMDEX BASE METAL", 18_400.0),
        ("MCXENRGDEX", "MCX ICOMDEX ENERGY", 5_650.0),
    ] {
        index(rows, sym, name, Exchange::McxIndex, level);
    }
    for (sym, name, level) in [
        ("DOWJONES", "DOW JONES INDUSTRIAL AVERAGE", 44_300.0),
        ("NASDAQ", "NASDAQ COMPOSITE", 19_700.0),
        ("SP500", "S&P 500", 6_050.0),
        ("NIKKEI225", "NIKKEI 225", 38_900.0),
        ("HANGSENG", "HANG SENG", 19_600.0),
    ] {
        index(rows, sym, name, Exchange::GlobalIndex, level);
    }
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
            let lot = lots
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
    let on_day = |day: u32| move |y, m| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
    for (ex, name, day, lot, tick, lvl) in [
        (Exchange::Mcx, "CRUDEOIL", 19, 100, 1.0, 5_850.0),
        (Exchange::Mcx, "NATURALGAS", 24, 1_250, 0.1, 310.0),
        (Exchange::Mcx, "GOLDM", 5, 10, 1.0, 98_500.0),
        (Exchange::Mcx, "SILVERM", 28, 5, 1.0, 115_000.0),
        (Exchange::Nco, "CRUDEOIL", 19, 100, 1.0, 5_850.0),
        (Exchange::Nco, "NATURALGAS", 24, 1_250, 0.1, 310.0),
    ] {
        for e in monthlies(anchor, 2, ex, on_day(day)) {
            rows.future(name, ex, e, lot, tick, lvl);
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
    // Crypto perpetuals have no expiry; symbols and types as OpenAlgo's Delta master.
    // Contract values as Delta Exchange India specifies them (and OpenAlgo's Delta master
    // carries in `contract_value`): 0.001 BTC, 0.01 ETH, 1 SOL per contract.
    for (sym, name, tick, lvl, cv) in [
        ("BTCUSDFUT", "BTC", 0.5, 95_000.0, "0.001"),
        ("ETHUSDFUT", "ETH", 0.05, 3_300.0, "0.01"),
        ("SOLUSDFUT", "SOL", 0.001, 182.35, "1"),
    ] {
        rows.contract_value = cv;
        rows.push(sym, name, Exchange::Crypto, None, None, 1, "PERPFUT", tick, lvl);
    }
    let last_friday = |y, m| last_weekday_of_month(y, m, Weekday::Fri);
    rows.contract_value = "0.001";
    for e in monthlies(anchor, 2, Exchange::Crypto, last_friday) {
        rows.future("BTC", Exchange::Crypto, e, 1, 0.5, 95_000.0);
    }
    rows.contract_value = "";
}

/// The CSV rows generated for `anchor` (header included), given the embedded base.
pub fn generated_csv(base: &InstrumentMaster, anchor: NaiveDate) -> String {
    let mut rows = Rows::after(base);
    generate(&mut rows, base, &InstrumentMaster::legacy_universe(), anchor);
    rows.csv
}

impl Rows {
    fn after(base: &InstrumentMaster) -> Rows {
        Rows {
            csv: "symbol,name,exchange,token,expiry,strike,lotsize,instrumenttype,tick_size,\
                  prev_close,contract_value\n"
                .into(),
            contract_value: "",
            seen: base.iter().map(|i| (i.symbol.clone(), i.exchange.as_str())).collect(),
            token: 100_000,
        }
    }
}

/// The universe of a list of anchors: the base (or the legacy master) grown with the
/// contracts of each date in order, a contract listed once keeping its row and id.
pub fn universe_of(anchors: &Anchors) -> Result<InstrumentMaster, InstrumentError> {
    let (base_csv, base) = if anchors.legacy_base {
        (LEGACY_CSV, InstrumentMaster::legacy_universe())
    } else {
        (DEFAULT_CSV, InstrumentMaster::default_universe())
    };
    let legacy = InstrumentMaster::legacy_universe();
    let mut rows = Rows::after(&base);
    for d in &anchors.dates {
        generate(&mut rows, &base, &legacy, *d);
    }
    let mut csv = String::with_capacity(base_csv.len() * 2 + rows.csv.len());
    // The embedded CSV has no `contract_value` column (all its rows are 1): give it an
    // empty one, so the generated rows (which carry it) share its columns.
    let mut base_lines = base_csv.lines();
    if let Some(header) = base_lines.next() {
        csv.push_str(header);
        csv.push_str(",contract_value\n");
    }
    for line in base_lines.filter(|l| !l.trim().is_empty()) {
        csv.push_str(line);
        csv.push_str(",\n");
    }
    // The generated rows share those columns; drop their header.
    csv.push_str(rows.csv.split_once('\n').map_or("", |(_, r)| r));
    InstrumentMaster::from_csv_str(&csv)
}

/// The base grown with the contracts generated for one day.
pub fn default_universe_on(anchor: NaiveDate) -> Result<InstrumentMaster, InstrumentError> {
    universe_of(&Anchors { legacy_base: false, dates: vec![anchor] })
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
    fn the_anchors_are_stored_and_roll_forward_keeping_every_id() {
        let dir = tempfile::tempdir().unwrap();
        let (d1, d2) = (date(2026, 11, 30), date(2027, 1, 20));
        let first = anchors_for(dir.path(), d1).unwrap().unwrap();
        assert_eq!(first, Anchors { legacy_base: false, dates: vec![d1] });
        // The same day again changes nothing; an earlier day neither.
        assert_eq!(anchors_for(dir.path(), d1).unwrap().unwrap(), first);
        assert_eq!(anchors_for(dir.path(), date(2026, 11, 1)).unwrap().unwrap(), first);
        let a = universe_of(&first).unwrap();
        let rolled = anchors_for(dir.path(), d2).unwrap().unwrap();
        assert_eq!(rolled.dates, vec![d1, d2]);
        let b = universe_of(&rolled).unwrap();
        // Reading the stored universe (replay) appends nothing.
        let stored = stored_universe_for(dir.path()).unwrap();
        assert_eq!(stored.len(), b.len());
        assert_eq!(anchors_for(dir.path(), NaiveDate::MIN).unwrap().unwrap(), rolled);
        // Every symbol keeps its id; the new day only adds contracts.
        assert!(b.len() > a.len());
        assert!(a.iter().all(|i| b.get(i.id).is_some_and(|j| j.symbol == i.symbol)));
        // Expiries after the new day exist: the universe rolled.
        let nifty = options::expiries(&b, "NIFTY", Exchange::Nfo, InstrumentKind::Option, d2);
        assert!(nifty.len() >= 6, "{nifty:?}");
        let text = std::fs::read_to_string(dir.path().join(ANCHOR_FILE)).unwrap();
        assert!(text.starts_with("# tickfill universe anchors v2"), "{text}");
        assert!(text.ends_with("2026-11-30\n2027-01-20\n"), "{text}");
    }

    #[test]
    fn older_layouts_keep_their_ids() {
        // The first anchor format: one date, grown from the legacy master.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ANCHOR_FILE), "2027-01-04\n").unwrap();
        let v1 = anchors_for(dir.path(), date(2027, 1, 4)).unwrap().unwrap();
        assert!(v1.legacy_base);
        let m = universe_of(&v1).unwrap();
        let legacy = InstrumentMaster::legacy_universe();
        assert!(legacy.iter().all(|i| m.get(i.id).is_some_and(|j| j == i)));
        let rolled = anchors_for(dir.path(), date(2027, 2, 4)).unwrap().unwrap();
        assert!(rolled.legacy_base && rolled.dates.len() == 2);
        // Reading an empty data dir writes nothing.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            stored_universe_for(empty.path()).unwrap().len(),
            InstrumentMaster::default_universe().len()
        );
        assert!(!empty.path().join(ANCHOR_FILE).exists());
        // A data dir from before anchors keeps the legacy master and gets no anchor.
        let old = tempfile::tempdir().unwrap();
        std::fs::write(old.path().join("journal-000001"), b"x").unwrap();
        assert_eq!(anchors_for(old.path(), date(2027, 1, 4)).unwrap(), None);
        assert!(!old.path().join(ANCHOR_FILE).exists());
        let m = default_universe_for(old.path()).unwrap();
        assert_eq!(m.len(), legacy.len());
        for bad in ["nonsense", "2027-01-04\n2027-01-03\n", "# only a comment\n"] {
            std::fs::write(dir.path().join(ANCHOR_FILE), bad).unwrap();
            let e = anchors_for(dir.path(), date(2027, 1, 4)).unwrap_err().to_string();
            assert!(e.contains(ANCHOR_FILE), "{e}");
        }
    }

    #[test]
    fn every_exchange_openalgo_accepts_has_contracts() {
        let anchor = date(2027, 3, 10);
        let a = default_universe_on(anchor).unwrap();
        for ex in Exchange::ALL {
            if matches!(ex, Exchange::Bcd | Exchange::Ncdex) {
                continue;
            }
            assert!(a.iter().any(|i| i.exchange == ex), "{}", ex.as_str());
        }
        let btc = a.get(a.lookup(Exchange::Crypto, "BTCUSDFUT").unwrap()).unwrap();
        assert_eq!((btc.kind, btc.expiry, btc.lot_size), (InstrumentKind::Future, None, 1));
        let cv = |s: &str| a.get(a.lookup(Exchange::Crypto, s).unwrap()).unwrap().contract_value;
        let dec = |s: &str| crate::types::ContractValue::parse(s).unwrap();
        assert_eq!(btc.contract_value, dec("0.001"));
        assert_eq!(cv("ETHUSDFUT"), dec("0.01"));
        assert_eq!(cv("SOLUSDFUT"), dec("1"));
        assert_eq!(cv("BTC26MAR27FUT"), dec("0.001"));
        let nifty = a.lookup(Exchange::NseIndex, "NIFTY").and_then(|i| a.get(i)).unwrap();
        assert_eq!(nifty.contract_value, crate::types::ContractValue::ONE);
        let sol = a.get(a.lookup(Exchange::Crypto, "SOLUSDFUT").unwrap()).unwrap();
        assert_eq!(sol.tick_size, crate::types::Price::parse("0.001").unwrap());
        // Last Friday of March 2027 is the 26th.
        assert!(a.lookup(Exchange::Crypto, "BTC26MAR27FUT").is_some());
        let nco = options::expiries(&a, "CRUDEOIL", Exchange::Nco, InstrumentKind::Future, anchor);
        assert_eq!(nco.len(), 2);
        let idx = a.get(a.lookup(Exchange::McxIndex, "MCXCOMDEX").unwrap()).unwrap();
        assert_eq!(idx.kind, InstrumentKind::Index);
        assert!(a.lookup(Exchange::GlobalIndex, "SP500").is_some());
    }
}
