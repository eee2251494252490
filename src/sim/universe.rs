//! The simulator's universe: the instrument master, optionally widened with synthetic NSE
//! equities `SIM00000`, `SIM00001`, ... so load tests can ask for up to 100,000 symbols.
//!
//! The synthetic rows come after the master's, so every real instrument keeps its id, and
//! their reference prices depend on the name only (not on the seed), so an engine that
//! builds the same universe agrees with the simulator on every id and price.

#![forbid(unsafe_code)]

use crate::instruments::{InstrumentError, InstrumentMaster};
use crate::types::Price;
use std::fmt::Write as _;

/// The most symbols the simulator serves.
pub const MAX_SYMBOLS: usize = 100_000;

/// The master widened to `symbols` instruments with synthetic NSE equities. `symbols` at or
/// below the master's size (0 included) keeps the master as it is; above
/// [`MAX_SYMBOLS`] is capped there.
pub fn with_synthetic(
    master: &InstrumentMaster,
    symbols: usize,
) -> Result<Option<InstrumentMaster>, InstrumentError> {
    let wanted = symbols.min(MAX_SYMBOLS);
    if wanted <= master.len() {
        return Ok(None);
    }
    let mut csv = String::with_capacity(wanted * 48);
    csv.push_str(
        "symbol,exchange,lotsize,tick_size,instrumenttype,contract_value,prev_close,name,token,expiry,strike\n",
    );
    for i in master.iter() {
        let close = i.prev_close.map(exact).unwrap_or_default();
        // Writing into a String cannot fail.
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{}",
            i.symbol,
            i.exchange.as_str(),
            i.lot_size,
            exact(i.tick_size),
            i.instrument_type,
            i.contract_value,
            close,
            i.name,
            i.token,
            i.expiry.map(crate::instruments::format_expiry).unwrap_or_default(),
            i.strike.map(exact).unwrap_or_default()
        );
    }
    for n in 0..wanted - master.len() {
        let name = synthetic_name(n);
        let _ = writeln!(csv, "{name},NSE,1,0.05,EQ,1,{},{name},,,", synthetic_close(n));
    }
    InstrumentMaster::from_csv_str(&csv).map(Some)
}

/// All four decimals of a price (its `Display` shows two).
fn exact(p: Price) -> String {
    let sign = if p.0 < 0 { "-" } else { "" };
    let (a, scale) = (p.0.unsigned_abs(), Price::SCALE as u64);
    format!("{sign}{}.{:04}", a / scale, a % scale)
}

/// The name of the `n`th synthetic equity.
pub fn synthetic_name(n: usize) -> String {
    format!("SIM{n:05}")
}

/// A reference price between 50.00 and 5,000.00 in steps of 0.05, from the index alone.
fn synthetic_close(n: usize) -> String {
    let h = (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let twentieths = 1_000 + h % 99_000;
    format!("{}.{:02}", twentieths / 20, (twentieths % 20) * 5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Exchange;

    #[test]
    fn widens_after_the_master_and_keeps_its_ids() {
        let m = InstrumentMaster::default_universe();
        assert!(with_synthetic(&m, 0).unwrap().is_none());
        assert!(with_synthetic(&m, m.len()).unwrap().is_none());
        let wide = with_synthetic(&m, m.len() + 3).unwrap().unwrap();
        assert_eq!(wide.len(), m.len() + 3);
        for i in m.iter() {
            let j = wide.get(i.id).unwrap();
            assert_eq!(
                (&j.symbol, j.exchange, j.prev_close),
                (&i.symbol, i.exchange, i.prev_close)
            );
        }
        let id = wide.lookup(Exchange::Nse, "SIM00002").unwrap();
        let close = wide.get(id).unwrap().prev_close.unwrap().to_f64();
        assert!((50.0..=5000.0).contains(&close), "{close}");
    }
}
