//! Option symbol resolution from the instrument master: which exchange an underlying's
//! options trade on, its expiries, its chain, and the strike an offset (ATM, ITMn, OTMn)
//! names.
//!
//! ATM is the listed strike nearest the underlying's LTP (ties go to the lower strike), or
//! with `strike_int` the LTP rounded to that step. For a call ITMn is n strikes below ATM
//! and OTMn n above; for a put the reverse (OPENALGO.md 2b).

#![forbid(unsafe_code)]

use crate::instruments::{InstrumentKind, InstrumentMaster};
use crate::types::{Exchange, Price, SymbolId};
use chrono::NaiveDate;

/// The deepest offset accepted (ITM50 / OTM50).
pub const MAX_OFFSET: u32 = 50;

/// The exchange an underlying's options and futures trade on.
pub fn derivative_exchange(underlying: Exchange) -> Exchange {
    match underlying {
        Exchange::Nse | Exchange::NseIndex => Exchange::Nfo,
        Exchange::Bse | Exchange::BseIndex => Exchange::Bfo,
        other => other,
    }
}

/// Parses an offset into signed strike steps for a call: ATM 0, ITMn -n, OTMn +n.
pub fn parse_offset(text: &str) -> Option<i32> {
    let t = text.trim().to_ascii_uppercase();
    if t == "ATM" {
        return Some(0);
    }
    let (sign, n) =
        if let Some(n) = t.strip_prefix("ITM") { (-1, n) } else { (1, t.strip_prefix("OTM")?) };
    let n: u32 = n.parse().ok().filter(|n| (1..=MAX_OFFSET).contains(n))?;
    Some(sign * n as i32)
}

/// The label of the strike `steps` above ATM for a call (or a put).
pub fn label(steps: i32, is_call: bool) -> String {
    let s = if is_call { steps } else { -steps };
    match s {
        0 => "ATM".to_string(),
        n if n < 0 => format!("ITM{}", -n),
        n => format!("OTM{n}"),
    }
}

/// The name options of an underlying are listed under: the symbol itself, or the name of
/// a future given as the underlying (`NIFTY30DEC26FUT` -> `NIFTY`).
pub fn underlying_name(master: &InstrumentMaster, exchange: Exchange, symbol: &str) -> String {
    master
        .lookup(exchange, symbol)
        .and_then(|id| master.get(id))
        .filter(|i| i.kind == InstrumentKind::Future)
        .map_or_else(|| symbol.to_string(), |i| i.name.clone())
}

/// One strike of a chain: its call and put, when listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strike {
    /// The strike price.
    pub strike: Price,
    /// The CE.
    pub ce: Option<SymbolId>,
    /// The PE.
    pub pe: Option<SymbolId>,
}

/// The option chain of `name` on `exchange` for one expiry, strikes ascending.
pub fn chain(
    master: &InstrumentMaster,
    name: &str,
    exchange: Exchange,
    expiry: NaiveDate,
) -> Vec<Strike> {
    let mut out: Vec<Strike> = Vec::new();
    for i in master.iter() {
        if i.kind != InstrumentKind::Option
            || i.exchange != exchange
            || i.name != name
            || i.expiry != Some(expiry)
        {
            continue;
        }
        let Some(strike) = i.strike else { continue };
        let pos = match out.binary_search_by(|s| s.strike.cmp(&strike)) {
            Ok(p) => p,
            Err(p) => {
                out.insert(p, Strike { strike, ce: None, pe: None });
                p
            }
        };
        if i.instrument_type.ends_with("PE") || i.symbol.ends_with("PE") {
            out[pos].pe = Some(i.id);
        } else {
            out[pos].ce = Some(i.id);
        }
    }
    out
}

/// The expiries of `name`'s futures or options on `exchange`, ascending, none before `today`.
pub fn expiries(
    master: &InstrumentMaster,
    name: &str,
    exchange: Exchange,
    kind: InstrumentKind,
    today: NaiveDate,
) -> Vec<NaiveDate> {
    let mut v: Vec<NaiveDate> = master
        .iter()
        .filter(|i| i.exchange == exchange && i.kind == kind && i.name == name)
        .filter_map(|i| i.expiry)
        .filter(|d| *d >= today)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The index of the ATM strike: nearest the LTP, or nearest `ltp` rounded to `step`.
pub fn atm_index(strikes: &[Strike], ltp: f64, step: Option<f64>) -> Option<usize> {
    let target = match step {
        Some(s) if s > 0.0 => (ltp / s).round() * s,
        _ => ltp,
    };
    let mut best: Option<(usize, f64)> = None;
    for (i, s) in strikes.iter().enumerate() {
        let d = (s.strike.to_f64() - target).abs();
        if best.is_none_or(|(_, b)| d < b - 1e-9) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
}

/// Why an option could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No listed options for the underlying and expiry.
    #[error("No options found for {name} expiring {expiry} on {exchange}")]
    NoChain {
        /// Underlying name.
        name: String,
        /// Expiry, DDMMMYY.
        expiry: String,
        /// Option exchange.
        exchange: &'static str,
    },
    /// The offset points past the listed strikes (or the strike_int grid has no such strike).
    #[error("Option for offset {offset} is not listed (strike {strike} outside the chain)")]
    NotListed {
        /// The offset text.
        offset: String,
        /// The strike it names.
        strike: String,
    },
}

/// Resolves `offset` on `chain` to the option's id.
pub fn resolve(
    chain: &[Strike],
    ltp: f64,
    step: Option<f64>,
    steps: i32,
    is_call: bool,
    offset: &str,
) -> Result<(SymbolId, Price), ResolveError> {
    let not_listed =
        |strike: String| ResolveError::NotListed { offset: offset.to_string(), strike };
    let call_steps = if is_call { steps } else { -steps };
    let pick = |s: &Strike| if is_call { s.ce } else { s.pe };
    if let Some(step) = step.filter(|s| *s > 0.0) {
        let target = (ltp / step).round() * step + f64::from(call_steps) * step;
        let found = chain.iter().find(|s| (s.strike.to_f64() - target).abs() < 1e-6);
        return found
            .and_then(|s| pick(s).map(|id| (id, s.strike)))
            .ok_or_else(|| not_listed(super::strike_text(target)));
    }
    let atm = atm_index(chain, ltp, None).ok_or_else(|| not_listed("?".into()))?;
    let idx = atm as i64 + i64::from(call_steps);
    let s = usize::try_from(idx).ok().and_then(|i| chain.get(i));
    s.and_then(|s| pick(s).map(|id| (id, s.strike)))
        .ok_or_else(|| not_listed(format!("{} steps from ATM", call_steps)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strikes(list: &[i64]) -> Vec<Strike> {
        list.iter()
            .enumerate()
            .map(|(i, k)| Strike {
                strike: Price(k * Price::SCALE),
                ce: Some(SymbolId(2 * i as u32)),
                pe: Some(SymbolId(2 * i as u32 + 1)),
            })
            .collect()
    }

    #[test]
    fn offsets_resolve_like_openalgo() {
        let chain = strikes(&[24_800, 24_900, 25_000, 25_100, 25_200]);
        // (ltp, offset, call?, expected strike)
        let table: &[(f64, &str, bool, i64)] = &[
            (25_010.0, "ATM", true, 25_000),
            (25_060.0, "ATM", false, 25_100),
            (25_050.0, "ATM", true, 25_000),
            (25_010.0, "ITM1", true, 24_900),
            (25_010.0, "OTM2", true, 25_200),
            (25_010.0, "ITM1", false, 25_100),
            (25_010.0, "OTM2", false, 24_800),
            (10.0, "ATM", true, 24_800),
        ];
        for &(ltp, offset, call, want) in table {
            let steps = parse_offset(offset).unwrap();
            let (_, k) = resolve(&chain, ltp, None, steps, call, offset).unwrap();
            assert_eq!(k, Price(want * Price::SCALE), "{ltp} {offset} {call}");
        }
        assert!(resolve(&chain, 25_010.0, None, 3, true, "OTM3").is_err());
        let (_, k) = resolve(&chain, 25_040.0, Some(100.0), -1, true, "ITM1").unwrap();
        assert_eq!(k, Price(24_900 * Price::SCALE));
        assert!(resolve(&chain, 25_040.0, Some(50.0), 0, true, "ATM").is_err());
    }

    #[test]
    fn offsets_and_labels_parse() {
        assert_eq!(parse_offset("atm"), Some(0));
        assert_eq!(parse_offset("ITM50"), Some(-50));
        assert_eq!(parse_offset("OTM3"), Some(3));
        for bad in ["ITM0", "OTM51", "ITM", "XTM1", "OTM-1", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        assert_eq!(label(-2, true), "ITM2");
        assert_eq!(label(-2, false), "OTM2");
        assert_eq!(derivative_exchange(Exchange::NseIndex), Exchange::Nfo);
        assert_eq!(derivative_exchange(Exchange::BseIndex), Exchange::Bfo);
        assert_eq!(derivative_exchange(Exchange::Mcx), Exchange::Mcx);
    }

    #[test]
    fn the_default_universe_has_a_nifty_chain() {
        let m = InstrumentMaster::legacy_universe();
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let ex = expiries(&m, "NIFTY", Exchange::Nfo, InstrumentKind::Option, today);
        assert!(!ex.is_empty());
        let c = chain(&m, "NIFTY", Exchange::Nfo, ex[0]);
        assert!(c.len() >= 10 && c.windows(2).all(|w| w[0].strike < w[1].strike));
        assert!(c.iter().all(|s| s.ce.is_some() && s.pe.is_some()));
        assert_eq!(underlying_name(&m, Exchange::Nfo, "NIFTY29DEC26FUT"), "NIFTY");
    }
}
