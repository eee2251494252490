//! Stage 1, execution: owns orders, the pending-order index, positions' quantities and
//! funds, and applies OpenAlgo's sandbox rules (`OPENALGO.md` section 3) to every event.
//!
//! ```text
//! Event ──► Exec::apply ──► Tick    ─► quote ─► book.may_fill? ─► fills ─► positions, funds
//!                        ├─ Command ─► validate ─► margin ─► order ─► placement table
//!                        └─ Timer   ─► square-off (cancel MIS orders, close MIS positions)
//!                  writes StageOutput { reply, updates, positions, funds }
//! ```
//!
//! Modules: [`config`] settings, [`rules`] fill tables as pure functions, [`book`] the
//! pending-order index, [`validate`] placement checks, [`funds`] cash and margin,
//! [`positions`] netting, `orders` place / modify / cancel / fill, `matching` the tick
//! path, `squareoff` bulk commands and the clock, [`snapshot`] persistence.
//!
//! # Invariants
//! - `funds.available + funds.used_margin == capital + funds.realized` after every event;
//!   `used_margin` = margin blocked by working orders + margin held by open positions.
//! - An order is in its symbol's index iff its status is `open` or `trigger pending`.
//! - Order `i` (0-based) has ordinal `i + 1`: ids are `OrderId::new(IST yymmdd, ordinal)`,
//!   so replaying the same events reproduces them. No wall clock, randomness or hash-map
//!   iteration: the same events give the same state, byte for byte ([`Exec::digest`]).
//!
//! # Known limitations
//! - Margin is `|qty| x reference / leverage` without the contract value (as OpenAlgo).
//! - An open SL order sits in its side's limit set; a tick that meets its limit but not
//!   its trigger visits it without filling it (rare: the trigger was met before).
//! - Holdings (T+1 settlement) are not modelled: CNC SELL is checked against the CNC
//!   position only.
//!
//! # Performance
//! Books live in a `Vec` indexed directly by the dense [`SymbolId`] (ids are dense after
//! interning, so a direct index beats probing). A tick that fills nothing costs a quote
//! copy plus at most five comparisons; a tick costs O(1) + O(fills). Nothing allocates on
//! the tick path except the trade and order-update vectors growing past their capacity.

#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    reason = "errors carry an inline Msg so that refusals never allocate"
)]

pub mod book;
pub mod config;
pub mod funds;
pub mod gtt;
mod matching;
mod orders;
pub mod positions;
pub mod rules;
pub mod snapshot;
mod squareoff;
pub mod validate;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use config::ExecConfig;
pub use snapshot::ExecSnapshotError;
pub use squareoff::AUTO_SQUARE_OFF;

use crate::event::{CommandKind, Event, FundsView, Input, QueryKind, StageOutput};
use crate::instruments::InstrumentMaster;
use crate::types::SymbolId;
use crate::views::{QueryReply, TradeRow};
use book::SymbolBook;
use funds::Funds;
use orders::{Order, Trade};
use positions::Position;
use std::sync::Arc;

/// The execution stage's state.
#[derive(Debug)]
pub struct Exec {
    config: ExecConfig,
    instruments: Arc<InstrumentMaster>,
    /// One book per symbol id.
    books: Vec<SymbolBook>,
    /// Every order, index = ordinal - 1.
    orders: Vec<Order>,
    trades: Vec<Trade>,
    positions: Vec<Position>,
    funds: Funds,
    /// IST day of the last square-off, per exchange.
    squared_day: [i64; crate::types::Exchange::COUNT],
    trade_no: u64,
    /// Tick-path candidates, reused.
    scratch: Vec<u32>,
    /// GTTs, index = ordinal - 1 (`gtt.rs`).
    gtts: Vec<gtt::Gtt>,
}

impl Exec {
    /// A fresh engine: starting capital available, no orders.
    pub fn new(config: ExecConfig, instruments: Arc<InstrumentMaster>) -> Exec {
        let books = (0..instruments.len()).map(|_| SymbolBook::new()).collect();
        Exec {
            funds: Funds::new(config.starting_capital),
            config,
            instruments,
            books,
            orders: Vec::new(),
            trades: Vec::new(),
            positions: Vec::new(),
            squared_day: [i64::MIN; crate::types::Exchange::COUNT],
            trade_no: 0,
            scratch: Vec::with_capacity(64),
            gtts: Vec::new(),
        }
    }

    /// Applies one event (Tick, Command, Timer change state; others are no-ops), writing
    /// into `out` (already cleared by the caller).
    pub fn apply(&mut self, event: &Event, out: &mut StageOutput) {
        let t = event.header.time_ns;
        match &event.input {
            Input::Tick(tick) => self.on_tick(tick, t, out),
            Input::Command(cmd) => {
                out.reply = match &cmd.kind {
                    CommandKind::Place(req) => self.place(req, t, out),
                    CommandKind::PlaceSmart { order, position_size } => {
                        self.smart(order, *position_size, t, out)
                    }
                    CommandKind::Modify(m) => self.modify(m, t, out),
                    CommandKind::Cancel { order_id } => self.cancel(*order_id, t, out),
                    CommandKind::CancelAll { .. } => self.cancel_all(t, out),
                    CommandKind::ClosePosition { strategy } => {
                        let (closed, failed) = self.close_positions(*strategy, t, out, |_, _| true);
                        crate::event::Reply::Closed { closed, failed }
                    }
                    CommandKind::PlaceGtt(g) => self.place_gtt(g, t, out),
                    CommandKind::ModifyGtt { id, gtt } => self.modify_gtt(*id, gtt, t, out),
                    CommandKind::CancelGtt { id } => self.cancel_gtt(*id, t, out),
                };
            }
            Input::Timer => self.on_timer(t, out),
            Input::Query(_) | Input::Snapshot | Input::Empty => {}
        }
        if out.funds_changed {
            out.funds = self.funds.view();
        }
    }

    /// Answers OrderBook, TradeBook, OrderStatus and OpenPosition; `None` for others.
    pub fn answer(&self, query: &QueryKind) -> Option<QueryReply> {
        Some(match *query {
            QueryKind::OrderBook => {
                QueryReply::Orders(self.orders.iter().map(Order::row).collect())
            }
            QueryKind::TradeBook => QueryReply::Trades(
                self.trades
                    .iter()
                    .map(|t| {
                        let o = &self.orders[t.order as usize];
                        TradeRow {
                            trade_no: t.trade_no,
                            order_id: o.id,
                            symbol: o.symbol,
                            side: o.side,
                            qty: o.qty,
                            price: t.price,
                            product: o.product,
                            strategy: o.strategy,
                            time_ns: t.time_ns,
                        }
                    })
                    .collect(),
            ),
            QueryKind::OrderStatus(id) => {
                QueryReply::Order(self.order_index(id).map(|i| self.orders[i].row()))
            }
            QueryKind::OpenPosition { symbol, product } => {
                QueryReply::OpenPosition(crate::types::Qty(self.position_qty(symbol, product)))
            }
            QueryKind::GttBook => QueryReply::Gtts(self.gtt_rows()),
            _ => return None,
        })
    }

    /// Cash and margin now.
    pub fn funds(&self) -> FundsView {
        self.funds.view()
    }

    /// Orders of `symbol` in the pending index.
    pub fn pending_count(&self, symbol: SymbolId) -> usize {
        self.books.get(symbol.index()).map_or(0, SymbolBook::len)
    }

    /// True while `symbol` has a working order or an open position, i.e. the engine
    /// needs its quotes (the feed subscribes to it; the watchdog polls it when stale).
    pub fn needs_quotes(&self, symbol: SymbolId) -> bool {
        self.pending_count(symbol) > 0
            || self.positions.iter().any(|p| p.symbol == symbol && p.qty.0 != 0)
            || self.has_active_gtt(symbol)
    }

    /// Every symbol that [`Exec::needs_quotes`], in id order (after recovery).
    pub fn symbols_needing_quotes(&self) -> Vec<SymbolId> {
        (0..self.books.len() as u32).map(SymbolId).filter(|&s| self.needs_quotes(s)).collect()
    }
}
