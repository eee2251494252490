//! The instrument master: what can be traded, its lot and tick size, and its kind.
//!
//! Loaded once at startup from a CSV whose header names at least
//! `symbol,exchange,lotsize,tick_size,instrumenttype` (OpenAlgo's instrument columns);
//! optional `contract_value` (default 1) and `prev_close` (a reference price, used by the
//! simulator and the demo) are read when present, and any other column is ignored.
//! Without `--instruments`, `serve` grows the embedded equities and indices
//! (`data/instruments.csv`, no dated contract) with derivatives generated for the trading
//! day ([`crate::refdata::universe`]).
//!
//! The master also builds the [`SymbolTable`], so every symbol id is fixed at startup and
//! the table is read-only (and lock-free) from then on.

#![forbid(unsafe_code)]

use crate::intern::{SymbolKey, SymbolTable};
use crate::types::{ContractValue, Exchange, Price, SymbolId};
use std::path::Path;
use thiserror::Error;

/// The embedded base universe: NSE/BSE equities and the NSE indices, nothing that
/// expires. Derivatives are generated per trading day by [`crate::refdata::universe`].
pub const DEFAULT_CSV: &str = include_str!("../data/instruments.csv");

/// The embedded master of data dirs written before universe anchors (and of the first
/// anchor format): the base plus NFO, CDS and MCX contracts with fixed expiries in
/// December 2026. Kept so their journals still resolve the same symbol ids; never used
/// for a new data dir.
pub const LEGACY_CSV: &str = include_str!("../data/instruments-legacy.csv");

/// What kind of contract an instrument is; decides leverage and validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstrumentKind {
    /// Cash equity (or anything not recognised as a derivative).
    Equity,
    /// An index: quote-only, never traded.
    Index,
    /// A future.
    Future,
    /// An option (CE or PE).
    Option,
}

/// One tradable (or quotable) instrument.
#[derive(Clone, Debug, PartialEq)]
pub struct Instrument {
    /// Its interned id.
    pub id: SymbolId,
    /// Exchange.
    pub exchange: Exchange,
    /// OpenAlgo symbol.
    pub symbol: String,
    /// Lot size (1 for cash equities).
    pub lot_size: i64,
    /// Minimum price step.
    pub tick_size: Price,
    /// The CSV's `instrumenttype` text (EQ, FUT, CE, PE, INDEX, ...).
    pub instrument_type: String,
    /// What kind of contract this is.
    pub kind: InstrumentKind,
    /// Underlying units per contract (1 unless the CSV says otherwise; Delta Exchange's
    /// BTCUSDFUT is 0.001): multiplies `price x qty` in P&L, margin and position value.
    pub contract_value: ContractValue,
    /// A reference price (previous close) when the CSV has one.
    pub prev_close: Option<Price>,
    /// The underlying's name (`name` column; the symbol itself when absent).
    pub name: String,
    /// The exchange token (`token` column; empty when absent).
    pub token: String,
    /// Expiry day of a future or option (`expiry` column, `DD-MMM-YY`), an IST calendar
    /// date: the option endpoints list and match it, and execution settles the contract
    /// at its exchange's close that day ([`Instrument::expiry_day`]).
    pub expiry: Option<chrono::NaiveDate>,
    /// Strike of an option (`strike` column; `-1`, `0` or empty mean none).
    pub strike: Option<Price>,
}

/// Why the instrument master could not be loaded. Each names the line and the fix.
#[derive(Debug, Error)]
pub enum InstrumentError {
    /// The file could not be read.
    #[error("cannot read instruments file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The CSV itself is malformed.
    #[error("instruments CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A required column is missing from the header.
    #[error("instruments CSV: header lacks the column `{0}`")]
    MissingColumn(&'static str),
    /// A field of one row is invalid.
    #[error("instruments CSV line {line}: field `{field}`: {message}")]
    Field {
        /// 1-based line number (the header is line 1).
        line: u64,
        /// The column.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The same exchange and symbol appear twice.
    #[error("instruments CSV line {line}: duplicate instrument {exchange}:{symbol}")]
    Duplicate {
        /// 1-based line number.
        line: u64,
        /// Exchange.
        exchange: String,
        /// Symbol.
        symbol: String,
    },
    /// More instruments than the interner was sized for.
    #[error(transparent)]
    Intern(#[from] crate::intern::InternError),
}

/// All instruments, indexed by [`SymbolId`].
#[derive(Debug)]
pub struct InstrumentMaster {
    instruments: Vec<Instrument>,
    table: SymbolTable,
}

impl InstrumentMaster {
    /// The embedded base universe: equities and indices, no dated contract (see
    /// [`crate::refdata::universe::default_universe_on`] for one with derivatives).
    pub fn default_universe() -> InstrumentMaster {
        InstrumentMaster::from_csv_str(DEFAULT_CSV).expect("the embedded instruments CSV is valid")
    }

    /// The master of data dirs from before universe anchors ([`LEGACY_CSV`]).
    pub fn legacy_universe() -> InstrumentMaster {
        InstrumentMaster::from_csv_str(LEGACY_CSV).expect("the embedded legacy CSV is valid")
    }

    /// Loads a CSV file.
    pub fn load(path: &Path) -> Result<InstrumentMaster, InstrumentError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| InstrumentError::Io { path: path.display().to_string(), source })?;
        InstrumentMaster::from_csv_str(&text)
    }

    /// Parses CSV text.
    pub fn from_csv_str(text: &str) -> Result<InstrumentMaster, InstrumentError> {
        let mut reader =
            csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
        let headers = reader.headers()?.clone();
        let col = |name: &'static str| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or(InstrumentError::MissingColumn(name))
        };
        let c_symbol = col("symbol")?;
        let c_exchange = col("exchange")?;
        let c_lot = col("lotsize")?;
        let c_tick = col("tick_size")?;
        let c_type = col("instrumenttype")?;
        let c_cv = col("contract_value").ok();
        let c_close = col("prev_close").ok();
        let c_name = col("name").ok();
        let c_token = col("token").ok();
        let c_expiry = col("expiry").ok();
        let c_strike = col("strike").ok();

        let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        let mut table = SymbolTable::with_capacity(records.len());
        let mut instruments = Vec::with_capacity(records.len());
        for (i, rec) in records.iter().enumerate() {
            let line = i as u64 + 2;
            let field = |c: usize| rec.get(c).unwrap_or("");
            let bad = |field: &'static str, message: String| InstrumentError::Field {
                line,
                field,
                message,
            };
            let exchange = Exchange::parse(field(c_exchange)).ok_or_else(|| {
                bad("exchange", format!("unknown exchange {:?}", field(c_exchange)))
            })?;
            let symbol = field(c_symbol);
            let key = SymbolKey::new(exchange, symbol)
                .ok_or_else(|| bad("symbol", "must be 1 to 48 bytes".to_string()))?;
            let lot_size: i64 = field(c_lot)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 1.0 && v.fract() == 0.0 && *v < 1e9)
                .map(|v| v as i64)
                .ok_or_else(|| bad("lotsize", "must be a whole number >= 1".to_string()))?;
            let tick_size = Price::parse(field(c_tick))
                .filter(|p| p.is_positive())
                .ok_or_else(|| bad("tick_size", "must be a positive decimal".to_string()))?;
            let instrument_type = field(c_type).to_ascii_uppercase();
            let kind = classify(exchange, &instrument_type);
            let contract_value = match c_cv.map(field) {
                None | Some("") => ContractValue::ONE,
                Some(v) => ContractValue::parse(v).ok_or_else(|| {
                    bad(
                        "contract_value",
                        "must be a positive decimal (at most 8 decimals, at most 1000000)".into(),
                    )
                })?,
            };
            let prev_close = match c_close.map(field) {
                None | Some("") => None,
                Some(v) => Some(
                    Price::parse(v).ok_or_else(|| bad("prev_close", "must be a decimal".into()))?,
                ),
            };
            let name = match c_name.map(field) {
                None | Some("") => symbol.to_string(),
                Some(n) => n.to_string(),
            };
            let token = c_token.map(field).unwrap_or("").to_string();
            let expiry = match c_expiry.map(field) {
                None | Some("") => None,
                Some(v) => Some(parse_expiry(v).ok_or_else(|| {
                    bad(
                        "expiry",
                        format!(
                            "{v:?} is not a date like 29-DEC-26 (DD-MMM-YY, DD-MMM-YYYY, \
                                 DDMMMYY or YYYY-MM-DD)"
                        ),
                    )
                })?),
            };
            let strike = match c_strike.map(field) {
                None | Some("") => None,
                Some(v) if v.trim_start().starts_with('-') => None,
                Some(v) => {
                    let p = Price::parse(v)
                        .ok_or_else(|| bad("strike", format!("{v:?} is not a decimal")))?;
                    p.is_positive().then_some(p)
                }
            };
            let before = table.len();
            let id = table.intern(key)?;
            if table.len() == before {
                return Err(InstrumentError::Duplicate {
                    line,
                    exchange: exchange.as_str().to_string(),
                    symbol: symbol.to_string(),
                });
            }
            instruments.push(Instrument {
                id,
                exchange,
                symbol: symbol.to_string(),
                lot_size,
                tick_size,
                instrument_type,
                kind,
                contract_value,
                prev_close,
                name,
                token,
                expiry,
                strike,
            });
        }
        Ok(InstrumentMaster { instruments, table })
    }

    /// Number of instruments.
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    /// The instrument of an id.
    #[inline]
    pub fn get(&self, id: SymbolId) -> Option<&Instrument> {
        self.instruments.get(id.index())
    }

    /// Looks up by exchange and symbol. Never allocates.
    #[inline]
    pub fn lookup(&self, exchange: Exchange, symbol: &str) -> Option<SymbolId> {
        self.table.lookup(exchange, symbol)
    }

    /// The interner (read-only).
    pub fn symbols(&self) -> &SymbolTable {
        &self.table
    }

    /// Every instrument in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.iter()
    }
}

/// Parses an expiry as OpenAlgo's master writes it (`29-DEC-26`), or `29-Dec-2026`,
/// `29DEC26` and ISO `2026-12-29`.
pub fn parse_expiry(text: &str) -> Option<chrono::NaiveDate> {
    let t = text.trim();
    ["%d-%b-%y", "%d-%b-%Y", "%d%b%y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(t, f).ok())
}

/// An expiry in the master's form, `29-DEC-26`.
pub fn format_expiry(d: chrono::NaiveDate) -> String {
    d.format("%d-%b-%y").to_string().to_ascii_uppercase()
}

/// A calendar date as days since 1970-01-01, the IST day number
/// [`crate::clock::ist_day`] gives an event time on that date.
pub fn day_number(d: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    // 1970-01-01 is day 719_163 counted from 0001-01-01 (day 1).
    i64::from(d.num_days_from_ce()) - 719_163
}

impl Instrument {
    /// The expiry as an IST day number (days since 1970-01-01), what execution's calendar
    /// compares with; `None` for contracts without an expiry.
    pub fn expiry_day(&self) -> Option<i64> {
        self.expiry.map(day_number)
    }
}

fn classify(exchange: Exchange, instrument_type: &str) -> InstrumentKind {
    if exchange.is_index() || instrument_type == "INDEX" {
        InstrumentKind::Index
    } else if instrument_type.starts_with("FUT") || instrument_type.ends_with("FUT") {
        // FUTIDX, FUTSTK, FUTCOM, ... and crypto perpetuals (PERPFUT).
        InstrumentKind::Future
    } else if matches!(instrument_type, "CE" | "PE") || instrument_type.starts_with("OPT") {
        InstrumentKind::Option
    } else {
        InstrumentKind::Equity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_universe_loads_with_real_lot_sizes() {
        let base = InstrumentMaster::default_universe();
        assert!(base.iter().all(|i| i.expiry.is_none()), "the base never expires");
        let m = InstrumentMaster::legacy_universe();
        assert!(m.len() >= 100);
        // The base is the legacy master's prefix: the same ids.
        assert!(base.iter().all(|i| m.get(i.id).is_some_and(|j| j == i)));
        let nifty = m.get(m.lookup(Exchange::Nfo, "NIFTY29DEC26FUT").unwrap()).unwrap();
        assert_eq!(nifty.lot_size, 75);
        assert_eq!(nifty.kind, InstrumentKind::Future);
        let sbin = m.get(m.lookup(Exchange::Nse, "SBIN").unwrap()).unwrap();
        assert_eq!(sbin.kind, InstrumentKind::Equity);
        assert_eq!(sbin.prev_close, Some(Price(8_125_000)));
        let idx = m.get(m.lookup(Exchange::NseIndex, "NIFTY").unwrap()).unwrap();
        assert_eq!(idx.kind, InstrumentKind::Index);
        assert_eq!(nifty.expiry, parse_expiry("2026-12-29"));
        assert_eq!(nifty.expiry_day(), parse_expiry("2026-12-29").map(day_number));
        assert_eq!(sbin.expiry_day(), None);
    }

    #[test]
    fn expiry_formats_parse_to_the_same_day() {
        assert_eq!(parse_expiry("1970-01-02").map(day_number), Some(1));
        let t = crate::clock::ist_to_epoch_ns(2026, 12, 29, 15, 40);
        assert_eq!(parse_expiry("29-DEC-26").map(day_number), Some(crate::clock::ist_day(t)));
        for t in ["29-DEC-26", "29-Dec-2026", "2026-12-29", "29DEC26"] {
            assert_eq!(parse_expiry(t), parse_expiry("2026-12-29"), "{t}");
        }
        assert_eq!(parse_expiry("31-FEB-26"), None);
        let csv =
            "symbol,exchange,lotsize,tick_size,instrumenttype,expiry\nX,NFO,1,0.05,FUT,soon\n";
        let e = InstrumentMaster::from_csv_str(csv).unwrap_err().to_string();
        assert!(e.contains("expiry"), "{e}");
    }

    #[test]
    fn openalgo_master_columns_load() {
        let csv = "symbol,brsymbol,name,exchange,brexchange,token,expiry,strike,lotsize,instrumenttype,tick_size\n\
                   SBIN,SBIN-EQ,STATE BANK,NSE,NSE,3045,,-1.0,1,EQ,0.05\n\
                   NIFTY30DEC2625000CE,X,NIFTY,NFO,NFO,5002,30-DEC-26,25000.0,75,CE,0.05\n\
                   BTCUSD,BTCUSD,BTC,CRYPTO,DELTA,1,,-1.0,1,PERP,0.5\n";
        let m = InstrumentMaster::from_csv_str(csv).unwrap();
        assert_eq!(m.len(), 3);
        assert!(m.lookup(Exchange::Crypto, "BTCUSD").is_some());
        let o = m.get(m.lookup(Exchange::Nfo, "NIFTY30DEC2625000CE").unwrap()).unwrap();
        assert_eq!(o.kind, InstrumentKind::Option);
        assert_eq!(o.strike, Some(Price(25_000 * Price::SCALE)));
        assert_eq!(o.expiry, chrono::NaiveDate::from_ymd_opt(2026, 12, 30));
        assert_eq!((o.name.as_str(), o.token.as_str()), ("NIFTY", "5002"));
        let s = m.get(m.lookup(Exchange::Nse, "SBIN").unwrap()).unwrap();
        assert_eq!((s.strike, s.expiry), (None, None));
        let bad =
            "symbol,exchange,lotsize,tick_size,instrumenttype,expiry\nX,NFO,1,0.05,FUT,someday\n";
        let e = InstrumentMaster::from_csv_str(bad).unwrap_err().to_string();
        assert!(e.contains("expiry"), "{e}");
    }

    #[test]
    fn extra_columns_are_ignored_and_order_is_free() {
        let csv = "instrumenttype,foo,tick_size,lotsize,exchange,symbol\nEQ,x,0.05,1,NSE,ABC\n";
        let m = InstrumentMaster::from_csv_str(csv).unwrap();
        assert_eq!(m.lookup(Exchange::Nse, "ABC"), Some(SymbolId(0)));
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let csv = "symbol,exchange,lotsize,tick_size,instrumenttype\nABC,NSE,zero,0.05,EQ\n";
        let e = InstrumentMaster::from_csv_str(csv).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("lotsize"), "{e}");
        let csv = "symbol,exchange,lotsize,instrumenttype\nABC,NSE,1,EQ\n";
        let e = InstrumentMaster::from_csv_str(csv).unwrap_err().to_string();
        assert!(e.contains("tick_size"), "{e}");
        let csv =
            "symbol,exchange,lotsize,tick_size,instrumenttype\nA,NSE,1,0.05,EQ\nA,NSE,1,0.05,EQ\n";
        let e = InstrumentMaster::from_csv_str(csv).unwrap_err().to_string();
        assert!(e.contains("duplicate"), "{e}");
        let csv = "symbol,exchange,lotsize,tick_size,instrumenttype\nA,XYZ,1,0.05,EQ\n";
        let e = InstrumentMaster::from_csv_str(csv).unwrap_err().to_string();
        assert!(e.contains("exchange"), "{e}");
    }
}
