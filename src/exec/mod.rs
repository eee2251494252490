//! Stage 1, execution: owns orders, the pending-order index, positions' quantities and
//! funds, and applies OpenAlgo's sandbox rules (`OPENALGO.md` section 3) to every event.
//!
//! ```text
//! Event ──► Exec::apply ──► Tick    ─► quote ─► book.may_fill? ─► fills ─► positions, funds
//!                        ├─ Command ─► validate ─► margin ─► order ─► placement table
//!                        └─ Timer   ─► square-off loop (cancel MIS orders, close MIS positions)
//!   (any journaled event first runs the trading-day boundaries it passed: session)
//!                  writes StageOutput { reply, updates, positions, funds }
//! ```
//!
//! Modules: [`config`] settings, [`rules`] fill tables as pure functions, [`book`] the
//! pending-order index, [`validate`] placement checks, [`funds`] cash and margin,
//! [`positions`] netting, `orders` place / modify / cancel / fill, `matching` the tick
//! path, `squareoff` bulk commands, [`session`] the trading-day calendar and catch-up,
//! [`holdings`] T+1 settlement, [`expiry`] F&O expiry, `reset` the funds reset,
//! [`snapshot`] persistence, [`fill`] the fill models (`openalgo`, `touch`, `depth`) and
//! `modelled` their placement and tick paths.
//!
//! # Invariants
//! - `funds.available + funds.used_margin + holdings cost == capital + funds.realized`
//!   after every event;
//!   `used_margin` = margin blocked by working orders + margin held by open positions.
//! - An order is in its symbol's index iff its status is `open` or `trigger pending`,
//!   except while its placement is on its way to the venue (`--venue-latency`, [`venue`]).
//! - A client's placement is decided against a quote at most `quote_max_age_ns` old in
//!   event time (OpenAlgo's data freshness): older, a MARKET order is refused and other
//!   types rest for the next tick. Only the engine's own square-off uses an older one.
//! - A fill at placement reports the order `open`, then `complete` (as OpenAlgo does);
//!   a modify never fills. Under `touch` and `depth` an order may fill in parts: one
//!   trade, one order update and one position change per part; it stays `open` with a
//!   non-zero filled quantity until the last (OpenAlgo has no partial status).
//! - Order `i` (0-based) has ordinal `i + 1`: ids are `OrderId::new(IST yymmdd, ordinal)`,
//!   so replaying the same events reproduces them. No wall clock, randomness or hash-map
//!   iteration: the same events give the same state, byte for byte ([`Exec::digest`]).
//!
//! # Known limitations
//! - Margin is `|qty| x reference / leverage` without the contract value (as OpenAlgo).
//! - An open SL order sits in its side's limit set; a tick that meets its limit but not
//!   its trigger visits it without filling it (rare: the trigger was met before).
//! - Orderbook and tradebook show the current session, newest first (plus orders still
//!   working from an earlier one, so they can be cancelled); older rows stay in state and
//!   journal.
//!
//! # Performance
//! Books live in a `Vec` indexed directly by the dense [`SymbolId`] (ids are dense after
//! interning, so a direct index beats probing). A tick that fills nothing costs a quote
//! copy plus at most five comparisons; a tick costs O(1) + O(fills). The tick path does
//! not allocate: the book sets ([`book`]) and the vectors a tick pushes into (`room`)
//! are grown ahead on the command path; `room` names the cases without a bound, where
//! they still grow (partial fills, venue latency, more fills in one tick than the slot's
//! output holds). [`Exec::needs_quotes`], asked for every symbol an event touched, is
//! O(1): per-symbol counts kept where they change.

#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    reason = "errors carry an inline Msg so that refusals never allocate"
)]

pub mod book;
pub mod config;
pub mod expiry;
pub mod fill;
pub mod funds;
pub mod gtt;
pub mod holdings;
mod matching;
mod modelled;
mod orders;
pub mod positions;
mod reset;
mod room;
pub mod rules;
pub mod session;
pub mod snapshot;
mod squareoff;
pub mod stage;
pub mod validate;
pub mod venue;

#[cfg(test)]
mod fill_tests;
#[cfg(test)]
mod lifecycle_tests;
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
use crate::views::{Order, QueryReply, TradeRow};
use book::SymbolBook;
use funds::Funds;
use holdings::Holding;
use orders::Trade;
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
    /// Settled CNC holdings, in settlement order.
    holdings: Vec<Holding>,
    /// Trading-day boundaries run so far and the current session.
    calendar: session::Calendar,
    trade_no: u64,
    /// Tick-path candidates, reused.
    scratch: Vec<u32>,
    /// The most orders one book has held (the scratch's reserve, `room.rs`).
    largest_book: usize,
    /// GTTs, index = ordinal - 1 (`gtt.rs`).
    gtts: Vec<gtt::Gtt>,
    /// The fill models' generator and visible books ([`fill::State`]).
    fills: fill::State,
    /// Client operations on their way to the venue, by due time ([`venue`]).
    delayed: Vec<venue::Delayed>,
}

impl Exec {
    /// A fresh engine: starting capital available, no orders.
    pub fn new(config: ExecConfig, instruments: Arc<InstrumentMaster>) -> Exec {
        let books = (0..instruments.len()).map(|_| SymbolBook::new()).collect();
        let fills = fill::State::new(config.fill.seed);
        Exec {
            fills,
            delayed: Vec::new(),
            funds: Funds::new(config.starting_capital),
            config,
            instruments,
            books,
            orders: Vec::new(),
            trades: Vec::new(),
            positions: Vec::new(),
            holdings: Vec::new(),
            calendar: session::Calendar::default(),
            trade_no: 0,
            scratch: Vec::with_capacity(64),
            largest_book: 0,
            gtts: Vec::new(),
        }
    }

    /// Applies one event (Tick, Command, Timer change state; others are no-ops), writing
    /// into `out` (already cleared by the caller).
    pub fn apply(&mut self, event: &Event, out: &mut StageOutput) {
        let t = event.header.time_ns;
        if event.input.is_journaled() {
            if self.funds.last_reset_ns == 0 {
                // The account's creation: OpenAlgo reports it as `last_reset` until a reset.
                self.funds.last_reset_ns = t;
                out.funds_changed = true;
            }
            self.catch_up(t, out);
            if !self.delayed.is_empty() {
                self.run_due(t, out);
            }
        }
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
                        let fresh = orders::Pricing::Fresh;
                        let (closed, failed) =
                            self.close_positions(*strategy, t, out, fresh, |_, _| true);
                        crate::event::Reply::Closed { closed, failed }
                    }
                    CommandKind::ResetFunds => self.reset_funds(t, out),
                    CommandKind::PlaceGtt(g) => self.place_gtt(g, t, out),
                    CommandKind::ModifyGtt { id, gtt } => self.modify_gtt(*id, gtt, t, out),
                    CommandKind::CancelGtt { id } => self.cancel_gtt(*id, t, out),
                };
            }
            Input::Timer => self.on_timer(t, out),
            Input::FillSettings(fill) => self.set_fill(*fill),
            Input::Query(_) | Input::Snapshot | Input::Empty => {}
        }
        if out.funds_changed {
            out.funds = self.funds.view();
        }
        if !matches!(event.input, Input::Tick(_)) {
            self.reserve_ahead();
        }
    }

    /// Answers OrderBook and TradeBook (this session, newest first), OrderStatus,
    /// OpenPosition and Holdings; `None` for others.
    pub fn answer(&self, query: &QueryKind) -> Option<QueryReply> {
        Some(match *query {
            QueryKind::OrderBook => QueryReply::Orders(
                self.orders
                    .iter()
                    .rev()
                    .filter(|o| o.time_ns >= self.session_start() || o.status.is_working())
                    .copied()
                    .collect(),
            ),
            QueryKind::TradeBook => QueryReply::Trades(
                self.trades
                    .iter()
                    .rev()
                    .filter(|t| t.time_ns >= self.session_start())
                    .map(|t| {
                        let o = &self.orders[t.order as usize];
                        TradeRow {
                            trade_no: t.trade_no,
                            order_id: o.id,
                            symbol: o.symbol,
                            side: o.side,
                            qty: t.qty,
                            price: t.price,
                            product: o.product,
                            strategy: o.strategy,
                            time_ns: t.time_ns,
                        }
                    })
                    .collect(),
            ),
            QueryKind::OrderStatus(id) => {
                QueryReply::Order(self.order_index(id).map(|i| self.orders[i]))
            }
            QueryKind::Holdings => QueryReply::Holdings(self.holding_rows()),
            QueryKind::OpenPosition { symbol, product } => {
                QueryReply::OpenPosition(crate::types::Qty(self.position_qty(symbol, product)))
            }
            QueryKind::GttBook => QueryReply::Gtts(self.gtt_rows()),
            _ => return None,
        })
    }

    /// The fill settings in effect (the flags', or the journal's last [`Input::FillSettings`]
    /// once one was applied or restored from a snapshot).
    pub fn fill_config(&self) -> &fill::FillConfig {
        &self.config.fill
    }

    /// Applies journaled fill settings from this event on. Orders keep their state (fills
    /// so far, queue estimates, venue due times); what they do next follows the new
    /// settings. A new seed restarts the generator at that seed's stream; an unchanged
    /// seed keeps its position, so rewriting the same settings changes no draw.
    fn set_fill(&mut self, fill: fill::FillConfig) {
        if fill.seed != self.config.fill.seed {
            self.fills.draws = fill::draw::Draws::new(fill.seed);
        }
        self.config.fill = fill;
    }

    /// Orders and trades since the start (every session; the books show the current one).
    pub fn totals(&self) -> (usize, usize) {
        (self.orders.len(), self.trades.len())
    }

    /// Start of the current session, epoch ns (`i64::MIN` before the first event).
    pub fn session_start(&self) -> i64 {
        self.calendar.session_start_ns
    }

    /// Cash and margin now.
    pub fn funds(&self) -> FundsView {
        self.funds.view()
    }

    /// Orders of `symbol` in the pending index.
    pub fn pending_count(&self, symbol: SymbolId) -> usize {
        self.books.get(symbol.index()).map_or(0, SymbolBook::len)
    }

    /// True while `symbol` has a working order (in the book, or on its way to the venue),
    /// an open position or a holding, i.e. the
    /// engine needs its quotes (the feed subscribes to it; the watchdog polls it when stale).
    ///
    /// O(1): the book's order count, its three position rows and its
    /// [`watchers`](SymbolBook::watchers) count (GTTs, venue operations, holding).
    #[inline]
    pub fn needs_quotes(&self, symbol: SymbolId) -> bool {
        let Some(b) = self.books.get(symbol.index()) else { return false };
        let open = |&pi: &u32| self.positions.get(pi as usize).is_some_and(|p| p.qty.0 != 0);
        let needed = !b.is_empty() || b.watchers > 0 || b.positions.iter().any(open);
        debug_assert_eq!(needed, self.needs_quotes_by_scan(symbol), "{symbol:?} watchers");
        needed
    }

    /// [`Exec::needs_quotes`] from the state itself (what the counts must agree with).
    fn needs_quotes_by_scan(&self, symbol: SymbolId) -> bool {
        self.pending_count(symbol) > 0
            || self.positions.iter().any(|p| p.symbol == symbol && p.qty.0 != 0)
            || self.held(symbol) > 0
            || self.has_active_gtt(symbol)
            || self.delayed.iter().any(|d| self.orders[d.order as usize].symbol == symbol)
    }

    /// Adds `by` (+1 or -1) to `symbol`'s watchers.
    pub(crate) fn watch(&mut self, symbol: SymbolId, by: i32) {
        if let Some(b) = self.books.get_mut(symbol.index()) {
            b.watchers = b.watchers.saturating_add_signed(by);
        }
    }

    /// Counts every symbol's watchers from the state (after a restore).
    fn count_watchers(&mut self) {
        let mut n = vec![0u32; self.books.len()];
        let active = self.gtts.iter().filter(|g| g.status == gtt::GttStatus::Active);
        let symbols = active
            .map(|g| g.req.symbol)
            .chain(self.delayed.iter().map(|d| self.orders[d.order as usize].symbol))
            .chain(self.holdings.iter().map(|h| h.symbol));
        for s in symbols {
            if let Some(c) = n.get_mut(s.index()) {
                *c += 1;
            }
        }
        for (b, c) in self.books.iter_mut().zip(n) {
            b.watchers = c;
        }
    }

    /// Every symbol that [`Exec::needs_quotes`], in id order (after recovery).
    pub fn symbols_needing_quotes(&self) -> Vec<SymbolId> {
        (0..self.books.len() as u32).map(SymbolId).filter(|&s| self.needs_quotes(s)).collect()
    }
}
