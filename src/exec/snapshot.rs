//! Snapshots: the state as deterministic postcard bytes, and the way back.
//!
//! The pending index is not stored: it is rebuilt from the working orders on restore,
//! so a snapshot cannot disagree with itself.

use super::Exec;
use super::book::SymbolBook;
use super::config::ExecConfig;
use super::fill::FillConfig;
use super::fill::depth::Visible;
use super::fill::draw::Draws;
use super::funds::Funds;
use super::holdings::Holding;
use super::orders::Trade;
use super::positions::Position;
use super::rules::Quote;
use super::session::Calendar;
use crate::instruments::InstrumentMaster;
use crate::views::Order;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use thiserror::Error;

/// Format version written first in every snapshot (2: quotes carry their event time and
/// funds their reset stamp and count; 3: holdings, the trading-day calendar and today's
/// realized P&L; GTTs; 4: partial fills (trade quantities, queue estimates), the fill
/// model's settings, generator and visible books; 5: decimal contract values on positions
/// and the sub-unit remainder of their realized P&L).
pub const SNAPSHOT_VERSION: u32 = 5;

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

#[derive(Serialize, Deserialize)]
struct State {
    version: u32,
    instruments: usize,
    orders: Vec<Order>,
    trades: Vec<Trade>,
    positions: Vec<Position>,
    funds: Funds,
    quotes: Vec<Quote>,
    trade_no: u64,
    holdings: Vec<Holding>,
    calendar: Calendar,
    gtts: Vec<super::gtt::Gtt>,
    fill: FillConfig,
    draws: Draws,
    visible: Vec<(u32, Visible)>,
    delayed: Vec<super::venue::Delayed>,
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
            trade_no: self.trade_no,
            holdings: self.holdings.clone(),
            calendar: self.calendar,
            gtts: self.gtts.clone(),
            fill: self.config.fill,
            draws: self.fills.draws.clone(),
            visible: self.fills.books(),
            delayed: self.delayed.clone(),
        };
        postcard::to_stdvec(&state).unwrap_or_default()
    }

    /// Rebuilds an engine from [`Exec::snapshot`] bytes.
    pub fn restore(
        config: ExecConfig,
        instruments: Arc<InstrumentMaster>,
        bytes: &[u8],
    ) -> Result<Exec, ExecSnapshotError> {
        // The version first: another build's layout would not decode as this one's.
        let (version, _) = postcard::take_from_bytes::<u32>(bytes)?;
        if version != SNAPSHOT_VERSION {
            return Err(ExecSnapshotError::Version { found: version, expected: SNAPSHOT_VERSION });
        }
        let s: State = postcard::from_bytes(bytes)?;
        // The fill settings are journaled state (`Input::FillSettings`): the snapshot's
        // are the ones in effect at its sequence, whatever this process's flags say.
        if s.fill.invalid_field().is_some() {
            return Err(ExecSnapshotError::Inconsistent("fill"));
        }
        let mut config = config;
        config.fill = s.fill;
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
            // Contract values come from the master, never from a snapshot: one taken under
            // other values is refused, so recovery replays the journal (which carries none).
            let master_cv = e.instruments.get(p.symbol).map(|i| i.contract_value);
            if master_cv.is_some_and(|cv| cv != p.contract_value) {
                return Err(ExecSnapshotError::Inconsistent("positions.contract_value"));
            }
            let b: &mut SymbolBook = e
                .books
                .get_mut(p.symbol.index())
                .ok_or(ExecSnapshotError::Inconsistent("positions.symbol"))?;
            b.positions[p.product as usize] = pi as u32;
        }
        if s.delayed.iter().any(|d| d.order as usize >= s.orders.len()) {
            return Err(ExecSnapshotError::Inconsistent("delayed.order"));
        }
        e.delayed = s.delayed;
        let placing: std::collections::BTreeSet<usize> = e.placing().collect();
        for (idx, o) in s.orders.iter().enumerate() {
            if (o.id.0 % 100_000_000) as usize != idx + 1 {
                return Err(ExecSnapshotError::Inconsistent("orders.id"));
            }
            // An order whose placement is still on its way to the venue is not in the book.
            if o.status.is_working() && !placing.contains(&idx) {
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
        e.trade_no = s.trade_no;
        if s.holdings.iter().any(|h| h.qty <= 0 || h.symbol.index() >= e.books.len()) {
            return Err(ExecSnapshotError::Inconsistent("holdings"));
        }
        e.holdings = s.holdings;
        e.calendar = s.calendar;
        if s.gtts.iter().enumerate().any(|(i, g)| g.id != i as u64 + 1) {
            return Err(ExecSnapshotError::Inconsistent("gtts.id"));
        }
        e.gtts = s.gtts;
        e.fills.draws = s.draws;
        for (symbol, v) in s.visible {
            if symbol as usize >= e.books.len() {
                return Err(ExecSnapshotError::Inconsistent("visible.symbol"));
            }
            *e.fills.visible_mut(crate::types::SymbolId(symbol)) = v;
        }
        e.count_watchers();
        e.largest_book = e.books.iter().map(SymbolBook::len).max().unwrap_or(0);
        e.reserve_ahead();
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
