//! Snapshots: the state as deterministic postcard bytes, and the way back.
//!
//! The pending index is not stored: it is rebuilt from the working orders on restore,
//! so a snapshot cannot disagree with itself.

use super::Exec;
use super::book::SymbolBook;
use super::config::ExecConfig;
use super::funds::Funds;
use super::orders::{Order, Trade};
use super::positions::Position;
use super::rules::Quote;
use crate::instruments::InstrumentMaster;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use thiserror::Error;

/// Format version written first in every snapshot.
pub const SNAPSHOT_VERSION: u32 = 2;

/// Why a snapshot could not be restored.
#[derive(Debug, Error)]
pub enum ExecSnapshotError {
    /// The bytes are not a snapshot (truncated or corrupt): restore from an older one
    /// or replay the journal from the start.
    #[error("execution snapshot cannot be decoded: {0}")]
    Decode(#[from] postcard::Error),
    /// Written by another format version: replay the journal instead.
    #[error("execution snapshot version {found}, this build reads version {expected}")]
    Version {
        /// Version in the bytes.
        found: u32,
        /// Version this build writes.
        expected: u32,
    },
    /// Taken with another instrument master: start with the same instruments file.
    #[error("execution snapshot has {snapshot} instruments, the instrument master has {master}")]
    Instruments {
        /// Count in the snapshot.
        snapshot: usize,
        /// Count in the master.
        master: usize,
    },
    /// The state contradicts itself (names the field): the snapshot is damaged.
    #[error("execution snapshot is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// Version 1 (before GTTs): read and upgraded with no GTTs, so a data dir written by an
/// older build restores.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct StateV1 {
    _version: u32,
    instruments: usize,
    orders: Vec<Order>,
    trades: Vec<Trade>,
    positions: Vec<Position>,
    funds: Funds,
    quotes: Vec<Quote>,
    squared_day: [i64; 10],
    trade_no: u64,
}

impl From<StateV1> for State {
    fn from(s: StateV1) -> State {
        State {
            version: SNAPSHOT_VERSION,
            instruments: s.instruments,
            orders: s.orders,
            trades: s.trades,
            positions: s.positions,
            funds: s.funds,
            quotes: s.quotes,
            squared_day: {
                // Version 1 had the first ten exchanges; the later ones were never squared.
                let mut d = [i64::MIN; crate::types::Exchange::COUNT];
                d[..10].copy_from_slice(&s.squared_day);
                d
            },
            trade_no: s.trade_no,
            gtts: Vec::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct State {
    version: u32,
    instruments: usize,
    orders: Vec<Order>,
    trades: Vec<Trade>,
    positions: Vec<Position>,
    funds: Funds,
    quotes: Vec<Quote>,
    squared_day: [i64; crate::types::Exchange::COUNT],
    trade_no: u64,
    /// Since version 2: GTTs.
    gtts: Vec<super::gtt::Gtt>,
}

impl Exec {
    /// Serializes the state (postcard; the same state always gives the same bytes).
    pub fn snapshot(&self) -> Vec<u8> {
        let state = State {
            version: SNAPSHOT_VERSION,
            instruments: self.books.len(),
            orders: self.orders.clone(),
            trades: self.trades.clone(),
            positions: self.positions.clone(),
            funds: self.funds,
            quotes: self.books.iter().map(|b| b.quote).collect(),
            squared_day: self.squared_day,
            trade_no: self.trade_no,
            gtts: self.gtts.clone(),
        };
        postcard::to_stdvec(&state).unwrap_or_default()
    }

    /// Rebuilds an engine from [`Exec::snapshot`] bytes.
    pub fn restore(
        config: ExecConfig,
        instruments: Arc<InstrumentMaster>,
        bytes: &[u8],
    ) -> Result<Exec, ExecSnapshotError> {
        let (version, _) = postcard::take_from_bytes::<u32>(bytes)?;
        let s: State = match version {
            1 => postcard::from_bytes::<StateV1>(bytes)?.into(),
            _ => postcard::from_bytes(bytes)?,
        };
        if s.version != SNAPSHOT_VERSION {
            return Err(ExecSnapshotError::Version {
                found: s.version,
                expected: SNAPSHOT_VERSION,
            });
        }
        if s.instruments != instruments.len() || s.quotes.len() != instruments.len() {
            return Err(ExecSnapshotError::Instruments {
                snapshot: s.instruments,
                master: instruments.len(),
            });
        }
        let mut e = Exec::new(config, instruments);
        for (b, q) in e.books.iter_mut().zip(&s.quotes) {
            b.quote = *q;
        }
        for (pi, p) in s.positions.iter().enumerate() {
            let b: &mut SymbolBook = e
                .books
                .get_mut(p.symbol.index())
                .ok_or(ExecSnapshotError::Inconsistent("positions.symbol"))?;
            b.positions[p.product as usize] = pi as u32;
        }
        for (idx, o) in s.orders.iter().enumerate() {
            if (o.id.0 % 100_000_000) as usize != idx + 1 {
                return Err(ExecSnapshotError::Inconsistent("orders.id"));
            }
            if o.status.is_working() {
                let b = e
                    .books
                    .get_mut(o.symbol.index())
                    .ok_or(ExecSnapshotError::Inconsistent("orders.symbol"))?;
                b.insert(o.entry(), idx as u32);
            }
        }
        if s.trades.iter().any(|t| t.order as usize >= s.orders.len()) {
            return Err(ExecSnapshotError::Inconsistent("trades.order"));
        }
        e.orders = s.orders;
        e.trades = s.trades;
        e.positions = s.positions;
        e.funds = s.funds;
        e.squared_day = s.squared_day;
        e.trade_no = s.trade_no;
        if s.gtts.iter().enumerate().any(|(i, g)| g.id != i as u64 + 1) {
            return Err(ExecSnapshotError::Inconsistent("gtts.id"));
        }
        e.gtts = s.gtts;
        Ok(e)
    }

    /// FNV-1a 64 over the snapshot bytes: equal state, equal digest.
    pub fn digest(&self) -> u64 {
        fnv1a(&self.snapshot())
    }
}

/// FNV-1a, 64 bits.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::testkit::{H, SBIN, mkt};
    use crate::types::{Product, Side};

    #[test]
    fn a_version_1_snapshot_restores_with_no_gtts() {
        let mut h = H::new();
        h.quote(SBIN, 100, 100, 100, 120, 80);
        h.place(mkt(SBIN, Side::Buy, 10, Product::Cnc));
        let now: State = postcard::from_bytes(&h.ex.snapshot()).unwrap();
        let old = StateV1 {
            _version: 1,
            instruments: now.instruments,
            orders: now.orders.clone(),
            trades: now.trades.clone(),
            positions: now.positions.clone(),
            funds: now.funds,
            quotes: now.quotes.clone(),
            squared_day: now.squared_day[..10].try_into().unwrap(),
            trade_no: now.trade_no,
        };
        let bytes = postcard::to_stdvec(&old).unwrap();
        let back =
            Exec::restore(h.ex.config.clone(), Arc::clone(&h.ex.instruments), &bytes).unwrap();
        assert_eq!(back.snapshot(), h.ex.snapshot());
    }
}
