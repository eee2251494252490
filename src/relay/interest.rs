//! Which symbols the relay subscribes upstream: the union of what live engines ask for
//! (each announces its wanted set on [`INTEREST_SUBJECT`] and repeats it well within its
//! TTL) and an optional static list. An engine that stops announcing (killed, partitioned)
//! drops out when its TTL passes, so the relay's broker subscriptions shrink back.
//!
//! # Invariants
//! - [`InterestTable::wanted`] is a pure function of the live announcements (those whose
//!   TTL has not passed at the `now` given) and the static list; time comes only from the
//!   caller, so tests advance it.
//! - A symbol wanted in several modes is subscribed in the highest (3 Depth > 2 Quote >
//!   1 LTP): every engine gets at least what it asked for.
//!
//! # Known limitations
//! - Symbols the relay's instrument master does not know are skipped (counted in
//!   [`InterestTable::unknown`], logged by the caller): run the relay with the same
//!   master as the engines (`--instruments`).

#![forbid(unsafe_code)]

use crate::instruments::InstrumentMaster;
use crate::interest::Interest;
use crate::types::{Exchange, SymbolId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where engines announce their wanted symbols (core NATS, not stored).
pub const INTEREST_SUBJECT: &str = "tickfill.interest";

/// Shortest and longest TTL the relay accepts from an announcement.
pub const TTL_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(600));

/// One engine's announcement (JSON on [`INTEREST_SUBJECT`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// The engine (its account name): a newer announcement replaces the older one.
    pub engine: String,
    /// How long this announcement holds, ms (clamped to [`TTL_RANGE`]).
    pub ttl_ms: u64,
    /// What it wants.
    pub symbols: Vec<Wanted>,
}

/// A wanted symbol.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Wanted {
    /// Exchange, as OpenAlgo writes it (`NSE`).
    pub exchange: String,
    /// Symbol, as OpenAlgo writes it (`SBIN`).
    pub symbol: String,
    /// 1 LTP, 2 Quote, 3 Depth.
    pub mode: u8,
}

/// The announcements in force.
#[derive(Debug)]
pub struct InterestTable {
    instruments: std::sync::Arc<InstrumentMaster>,
    engines: BTreeMap<String, (Vec<(SymbolId, u8)>, Instant)>,
    fixed: Vec<(SymbolId, u8)>,
    /// Symbols skipped because the master does not know them (announced or static).
    pub unknown: u64,
}

impl InterestTable {
    /// A table resolving names in `instruments`, always wanting `fixed` (`EXCHANGE:SYMBOL`
    /// pairs, mode 2); the error names the pair that is not in the master.
    pub fn new(
        instruments: std::sync::Arc<InstrumentMaster>,
        fixed: &[String],
    ) -> Result<InterestTable, String> {
        let mut table =
            InterestTable { instruments, engines: BTreeMap::new(), fixed: Vec::new(), unknown: 0 };
        for pair in fixed {
            let (ex, sym) = pair.split_once(':').ok_or_else(|| {
                format!("--symbols takes EXCHANGE:SYMBOL pairs, e.g. NSE:SBIN, not {pair:?}")
            })?;
            let id = table
                .resolve(ex, sym)
                .ok_or_else(|| format!("--symbols: {pair:?} is not in the instrument master"))?;
            table.fixed.push((id, 2));
        }
        Ok(table)
    }

    fn resolve(&self, exchange: &str, symbol: &str) -> Option<SymbolId> {
        self.instruments.lookup(Exchange::parse(exchange)?, symbol)
    }

    /// Takes an announcement received at `now`; returns false when it is malformed (bad
    /// JSON, no engine name), which the caller counts and logs.
    pub fn announce(&mut self, payload: &[u8], now: Instant) -> bool {
        let Ok(a) = serde_json::from_slice::<Announcement>(payload) else { return false };
        if a.engine.is_empty() {
            return false;
        }
        let ttl = Duration::from_millis(a.ttl_ms).clamp(TTL_RANGE.0, TTL_RANGE.1);
        let mut symbols = Vec::with_capacity(a.symbols.len());
        for w in &a.symbols {
            match self.resolve(&w.exchange, &w.symbol) {
                Some(id) if (1..=3).contains(&w.mode) => symbols.push((id, w.mode)),
                _ => self.unknown += 1,
            }
        }
        self.engines.insert(a.engine, (symbols, now + ttl));
        true
    }

    /// Drops the announcements whose TTL has passed at `now`; returns their engines.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let gone: Vec<String> = self
            .engines
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(e, _)| e.clone())
            .collect();
        for e in &gone {
            self.engines.remove(e);
        }
        gone
    }

    /// Engines with an announcement in force.
    pub fn engines(&self) -> usize {
        self.engines.len()
    }

    /// The wanted set: symbol -> highest mode asked.
    pub fn wanted(&self) -> BTreeMap<SymbolId, u8> {
        let mut out = BTreeMap::new();
        let all = self.engines.values().flat_map(|(s, _)| s.iter()).chain(self.fixed.iter());
        for &(id, mode) in all {
            let m = out.entry(id).or_insert(0);
            *m = (*m).max(mode);
        }
        out
    }
}

/// Keeps an [`Interest`] registry (what the upstream feed subscribes) equal to a wanted
/// set, by counted client subscriptions: one per symbol, in its mode.
#[derive(Debug, Default)]
pub struct Applied(BTreeMap<SymbolId, u8>);

impl Applied {
    /// Applies the difference between what was applied and `wanted`; returns true when
    /// anything changed.
    pub fn apply(&mut self, wanted: &BTreeMap<SymbolId, u8>, interest: &Interest) -> bool {
        if &self.0 == wanted {
            return false;
        }
        for (&s, &m) in &self.0 {
            if wanted.get(&s) != Some(&m) {
                interest.remove_client(s, m);
            }
        }
        for (&s, &m) in wanted {
            if self.0.get(&s) != Some(&m) {
                interest.add_client(s, m);
            }
        }
        self.0 = wanted.clone();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn table(fixed: &[&str]) -> InterestTable {
        let master = Arc::new(InstrumentMaster::default_universe());
        let fixed: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        InterestTable::new(master, &fixed).unwrap()
    }

    fn announce(engine: &str, ttl_ms: u64, symbols: &[(&str, u8)]) -> Vec<u8> {
        let symbols = symbols
            .iter()
            .map(|(s, mode)| Wanted { exchange: "NSE".into(), symbol: s.to_string(), mode: *mode })
            .collect();
        serde_json::to_vec(&Announcement { engine: engine.into(), ttl_ms, symbols }).unwrap()
    }

    #[test]
    fn a_silent_engine_drops_out_when_its_ttl_passes() {
        let mut t = table(&["NSE:INFY"]);
        let sbin = t.resolve("NSE", "SBIN").unwrap();
        let tcs = t.resolve("NSE", "TCS").unwrap();
        let infy = t.resolve("NSE", "INFY").unwrap();
        let t0 = Instant::now();
        assert!(t.announce(&announce("a", 5_000, &[("SBIN", 1)]), t0));
        assert!(t.announce(&announce("b", 10_000, &[("SBIN", 3), ("TCS", 2)]), t0));
        assert_eq!(t.wanted(), BTreeMap::from([(sbin, 3), (tcs, 2), (infy, 2)]));
        // b stops announcing; a repeats.
        assert!(t.announce(&announce("a", 5_000, &[("SBIN", 1)]), t0 + Duration::from_secs(6)));
        assert!(t.expire(t0 + Duration::from_millis(9_999)).is_empty());
        assert_eq!(t.expire(t0 + Duration::from_secs(10)), vec!["b".to_string()]);
        assert_eq!(t.wanted(), BTreeMap::from([(sbin, 1), (infy, 2)]));
        assert_eq!(t.engines(), 1);
        assert_eq!(t.expire(t0 + Duration::from_secs(11)), vec!["a".to_string()]);
        assert_eq!(t.wanted(), BTreeMap::from([(infy, 2)]), "the static list stays");
    }

    #[test]
    fn bad_announcements_and_unknown_symbols_are_counted_not_applied() {
        let mut t = table(&[]);
        let now = Instant::now();
        assert!(!t.announce(b"{not json", now));
        assert!(!t.announce(&announce("", 5_000, &[("SBIN", 1)]), now));
        assert!(t.announce(&announce("a", 5_000, &[("NOSUCH", 1), ("SBIN", 9)]), now));
        assert_eq!(t.unknown, 2);
        assert!(t.wanted().is_empty());
        let master = Arc::new(InstrumentMaster::default_universe());
        let err = InterestTable::new(master, &["SBIN".to_string()]).unwrap_err();
        assert!(err.contains("--symbols"), "{err}");
    }

    #[test]
    fn applied_interest_follows_the_wanted_set() {
        let t = table(&[]);
        let sbin = t.resolve("NSE", "SBIN").unwrap();
        let interest = Interest::new(t.instruments.len());
        let mut applied = Applied::default();
        assert!(applied.apply(&BTreeMap::from([(sbin, 1)]), &interest));
        assert_eq!(interest.wanted(), vec![(sbin, 1)]);
        assert!(applied.apply(&BTreeMap::from([(sbin, 3)]), &interest));
        assert_eq!(interest.wanted(), vec![(sbin, 3)]);
        assert!(!applied.apply(&BTreeMap::from([(sbin, 3)]), &interest));
        assert!(applied.apply(&BTreeMap::new(), &interest));
        assert!(interest.wanted().is_empty());
    }
}
