//! Which symbols need market data, and in which mode: the engine's own needs (working
//! orders, open positions) and what WebSocket clients asked for.
//!
//! Writers (the execution stage adapter, the WebSocket server) flip per-symbol atomics and
//! bump a version; the sequencer, which owns the upstream connections, compares the version
//! with the last it saw and then diffs the wanted set against what it has subscribed.
//! No locks; a missed intermediate state is harmless because only the latest wanted set
//! matters.

#![forbid(unsafe_code)]

use crate::types::SymbolId;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Market-data modes, OpenAlgo numbering.
pub const MODES: usize = 3;

/// Wanted symbols.
#[derive(Debug)]
pub struct Interest {
    engine: Box<[AtomicBool]>,
    /// Client subscription counts per symbol per mode (index mode - 1).
    clients: Box<[[AtomicU32; MODES]]>,
    version: AtomicU64,
}

impl Interest {
    /// A registry for `symbols` instruments.
    pub fn new(symbols: usize) -> Interest {
        Interest {
            engine: (0..symbols).map(|_| AtomicBool::new(false)).collect(),
            clients: (0..symbols).map(|_| std::array::from_fn(|_| AtomicU32::new(0))).collect(),
            version: AtomicU64::new(0),
        }
    }

    /// Changes every time the wanted set may have changed.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Sets whether the engine itself needs `symbol` (working orders or a position).
    pub fn set_engine(&self, symbol: SymbolId, needed: bool) {
        if let Some(flag) = self.engine.get(symbol.index()) {
            if flag.swap(needed, Ordering::AcqRel) != needed {
                self.version.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// True when the engine needs `symbol`.
    pub fn engine_needs(&self, symbol: SymbolId) -> bool {
        self.engine.get(symbol.index()).is_some_and(|f| f.load(Ordering::Acquire))
    }

    /// A client subscribed to `symbol` in `mode` (1..=3).
    pub fn add_client(&self, symbol: SymbolId, mode: u8) {
        if let Some(c) = self.counter(symbol, mode) {
            if c.fetch_add(1, Ordering::AcqRel) == 0 {
                self.version.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// A client unsubscribed (or disconnected).
    pub fn remove_client(&self, symbol: SymbolId, mode: u8) {
        if let Some(c) = self.counter(symbol, mode) {
            let prev = c.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            if prev == Ok(1) {
                self.version.fetch_add(1, Ordering::Release);
            }
        }
    }

    fn counter(&self, symbol: SymbolId, mode: u8) -> Option<&AtomicU32> {
        let m = usize::from(mode).checked_sub(1).filter(|&m| m < MODES)?;
        self.clients.get(symbol.index()).map(|c| &c[m])
    }

    /// True when some client subscribed to `symbol` in any mode.
    #[inline]
    pub fn has_clients(&self, symbol: SymbolId) -> bool {
        self.clients
            .get(symbol.index())
            .is_some_and(|c| c.iter().any(|n| n.load(Ordering::Relaxed) > 0))
    }

    /// The highest mode anyone needs for `symbol` (0 = not needed). The engine needs
    /// Quote (2): fills need bid/ask and the stale-quote guard needs the day's range.
    pub fn wanted_mode(&self, symbol: SymbolId) -> u8 {
        let i = symbol.index();
        let Some(c) = self.clients.get(i) else { return 0 };
        let mut mode = if self.engine_needs(symbol) { 2 } else { 0 };
        for m in (1..=MODES).rev() {
            if c[m - 1].load(Ordering::Acquire) > 0 {
                mode = mode.max(m as u8);
                break;
            }
        }
        mode
    }

    /// True when any symbol is wanted (by the engine or a client).
    pub fn any_wanted(&self) -> bool {
        (0..self.engine.len() as u32).any(|s| self.wanted_mode(SymbolId(s)) > 0)
    }

    /// Every wanted symbol with its mode, in id order.
    pub fn wanted(&self) -> Vec<(SymbolId, u8)> {
        (0..self.engine.len() as u32)
            .map(SymbolId)
            .filter_map(|s| {
                let m = self.wanted_mode(s);
                (m > 0).then_some((s, m))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_mode_wins_and_versions_move_on_changes_only() {
        let i = Interest::new(4);
        let s = SymbolId(2);
        assert_eq!(i.wanted_mode(s), 0);
        let v0 = i.version();
        i.add_client(s, 1);
        assert_eq!(i.wanted_mode(s), 1);
        i.set_engine(s, true);
        assert_eq!(i.wanted_mode(s), 2);
        i.add_client(s, 3);
        assert_eq!(i.wanted_mode(s), 3);
        let v1 = i.version();
        assert!(v1 > v0);
        i.add_client(s, 3); // second subscriber: no change in the wanted set
        assert_eq!(i.version(), v1);
        i.remove_client(s, 3);
        i.remove_client(s, 3);
        i.remove_client(s, 3); // extra remove is ignored
        i.remove_client(s, 1);
        i.set_engine(s, false);
        assert_eq!(i.wanted_mode(s), 0);
        assert!(i.wanted().is_empty());
        i.add_client(SymbolId(9), 1); // out of range: ignored
        i.add_client(s, 4); // invalid mode: ignored
        assert!(i.wanted().is_empty());
    }
}
