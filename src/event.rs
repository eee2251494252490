//! What travels through the ring: one input event per slot, and the outputs the stages
//! write beside it.
//!
//! Input events are the only things that change state. Each gets one sequence number and
//! is journaled verbatim, so replaying the journal through the same stage code rebuilds
//! the same state. Everything here is fixed-size and `Copy` except [`StageOutput`], whose
//! vectors are preallocated once per slot and only cleared (never freed) on reuse.

#![forbid(unsafe_code)]

use crate::message::Msg;
use crate::types::{Money, OrderId, Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag};

/// Where a quote came from: the stream, or the watchdog's REST poll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuoteSource {
    /// The upstream WebSocket stream (or the simulator).
    #[default]
    Stream,
    /// A REST quote polled by the watchdog while the stream was stale.
    Poll,
}

/// One depth level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Level {
    /// Price.
    pub price: Price,
    /// Quantity at this price.
    pub quantity: i64,
    /// Number of orders.
    pub orders: i64,
}

/// Five levels a side; `levels == 0` when the quote carried no depth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Depth {
    /// Bids, best first.
    pub buy: [Level; 5],
    /// Asks, best first.
    pub sell: [Level; 5],
    /// How many levels are meaningful (0 = no depth in this quote).
    pub levels: u8,
}

/// A market-data update for one symbol. Zero in an optional price means "not carried".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// The instrument.
    pub symbol: SymbolId,
    /// Last traded price; ticks with `ltp <= 0` are ignored by execution.
    pub ltp: Price,
    /// Best bid (0 = unknown).
    pub bid: Price,
    /// Best ask (0 = unknown).
    pub ask: Price,
    /// Quantity at the best bid.
    pub bid_qty: i64,
    /// Quantity at the best ask.
    pub ask_qty: i64,
    /// Day open (0 = unknown).
    pub open: Price,
    /// Day high (0 = unknown); with `low`, drives the stale-quote guard.
    pub high: Price,
    /// Day low (0 = unknown).
    pub low: Price,
    /// Previous close (0 = unknown).
    pub close: Price,
    /// Day volume.
    pub volume: i64,
    /// Last traded quantity.
    pub last_qty: i64,
    /// Average traded price (0 = unknown).
    pub avg_price: Price,
    /// Total buy quantity.
    pub total_buy_qty: i64,
    /// Total sell quantity.
    pub total_sell_qty: i64,
    /// Open interest.
    pub oi: i64,
    /// Exchange time of the last trade, epoch ms.
    pub ltt_ms: i64,
    /// The mode it arrived in: 1 LTP, 2 Quote, 3 Depth.
    pub mode: u8,
    /// Stream or poll.
    pub source: QuoteSource,
    /// Depth, when `mode == 3`.
    pub depth: Depth,
}

/// Identifies who waits for a reply; 0 means nobody (replay, timers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// A new order, already parsed and interned at the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// Instrument.
    pub symbol: SymbolId,
    /// BUY or SELL.
    pub side: Side,
    /// Quantity (validated by execution: > 0, lot multiple).
    pub qty: Qty,
    /// MARKET, LIMIT, SL, SL-M.
    pub price_type: PriceType,
    /// MIS, CNC, NRML.
    pub product: Product,
    /// Limit price (0 when not given).
    pub price: Price,
    /// Trigger price (0 when not given).
    pub trigger: Price,
    /// Disclosed quantity (recorded, not used for matching).
    pub disclosed: Qty,
    /// The caller's strategy tag.
    pub strategy: Tag,
}

/// A modification of a working order: the new values of every field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModifyRequest {
    /// The order to modify.
    pub order_id: OrderId,
    /// The new values (symbol and side must match the order).
    pub order: OrderRequest,
}

/// A GTT (good till triggered): resting triggers that place a LIMIT order when the LTP
/// crosses them (`src/exec/gtt.rs`). A leg with a zero trigger does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GttRequest {
    /// Instrument.
    pub symbol: SymbolId,
    /// BUY or SELL.
    pub side: Side,
    /// Quantity.
    pub qty: Qty,
    /// CNC or NRML.
    pub product: Product,
    /// Fires when LTP <= this (stop-loss leg; for a single trigger, one below the LTP).
    pub below_trigger: Price,
    /// Limit price of the order the lower trigger places.
    pub below_price: Price,
    /// Fires when LTP >= this (target leg; for a single trigger, one above the LTP).
    pub above_trigger: Price,
    /// Limit price of the order the upper trigger places.
    pub above_price: Price,
    /// True for one trigger (placed on the side of the LTP it lies on), false for OCO.
    pub single: bool,
    /// Expiry, epoch ns.
    pub expires_ns: i64,
    /// The caller's strategy tag.
    pub strategy: Tag,
}

/// What a command asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// placeorder.
    Place(OrderRequest),
    /// placesmartorder: reach `position_size` (signed) for the order's symbol and product.
    PlaceSmart {
        /// The order template (its side and quantity are recomputed from the position).
        order: OrderRequest,
        /// Target signed position.
        position_size: i64,
    },
    /// modifyorder.
    Modify(ModifyRequest),
    /// cancelorder.
    Cancel {
        /// The order.
        order_id: OrderId,
    },
    /// cancelallorder.
    CancelAll {
        /// Strategy tag of the request (OpenAlgo cancels every working order).
        strategy: Tag,
    },
    /// closeposition: close every open position with MARKET orders.
    ClosePosition {
        /// Strategy tag for the closing orders.
        strategy: Tag,
    },
    /// Funds reset on demand: capital back to the start, positions and holdings removed,
    /// working orders cancelled, orders and trades kept (OPENALGO.md 3b).
    ResetFunds,
    /// placegttorder.
    PlaceGtt(GttRequest),
    /// modifygttorder: new triggers, prices, quantity or expiry of an active GTT.
    ModifyGtt {
        /// The GTT's ordinal.
        id: u64,
        /// The new values (symbol, side and kind must match).
        gtt: GttRequest,
    },
    /// cancelgttorder.
    CancelGtt {
        /// The GTT's ordinal.
        id: u64,
    },
}

/// A state-changing request from a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// Who waits for the reply.
    pub ticket: Ticket,
    /// The request.
    pub kind: CommandKind,
}

/// A read, answered by the stage that owns the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryKind {
    /// Every order (execution).
    OrderBook,
    /// Every trade (execution).
    TradeBook,
    /// One order (execution).
    OrderStatus(OrderId),
    /// Net quantity of one position (execution).
    OpenPosition {
        /// Instrument.
        symbol: SymbolId,
        /// Product.
        product: Product,
    },
    /// Every position with MTM (MTM stage).
    PositionBook,
    /// Funds with MTM (MTM stage).
    Funds,
    /// Settled CNC holdings with their last prices (execution).
    Holdings,
    /// A digest of all state, for replay determinism checks (execution + MTM).
    StateHash,
    /// Every active GTT (execution).
    GttBook,
}

/// A read request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    /// Who waits.
    pub ticket: Ticket,
    /// What to read.
    pub kind: QueryKind,
}

/// One input event.
#[allow(
    clippy::large_enum_variant,
    reason = "ring slots are fixed-size by design; boxing the tick would allocate per event"
)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Input {
    /// A slot not yet used.
    #[default]
    Empty,
    /// Market data.
    Tick(Tick),
    /// A client command.
    Command(Command),
    /// A clock tick (drives MIS square-off); the time is the header's.
    Timer,
    /// A read; not journaled, answered after the journal has passed it.
    Query(Query),
    /// Asks every stage to write its state; the journal stage stores the snapshot.
    Snapshot,
    /// The fill settings in effect from this event on (model, per-strategy models, knobs,
    /// seed, venue latency). Journaled, so a replay fills exactly as the live run did
    /// whatever flags the replaying process was given; an engine writes one at start when
    /// its flags differ from the journal's last settings, or on a fresh data dir.
    FillSettings(crate::exec::fill::FillConfig),
}

impl Input {
    /// True for events that change state and so are journaled.
    pub fn is_journaled(&self) -> bool {
        matches!(self, Input::Tick(_) | Input::Command(_) | Input::Timer | Input::FillSettings(_))
    }
}

/// The header every event carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Position in the total order.
    pub seq: Seq,
    /// Wall time when sequenced, epoch ns (journaled; the only time stages see).
    pub time_ns: i64,
    /// Monotonic receive time, ns (latency only; see [`crate::clock::mono_now_ns`]).
    pub recv_ns: u64,
    /// The input's sequence in the replicated log it came from (a tick consumed from the
    /// relay's JetStream stream, see [`crate::relay`]); 0 when it came from anywhere else.
    /// Journaled, so a restart resumes the stream after the last tick it applied.
    pub stream_seq: u64,
}

/// An input event with its header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Sequence and times.
    pub header: Header,
    /// The input.
    pub input: Input,
}

/// HTTP-like status of a refused command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectStatus {
    /// 400: validation, funds, or the order's state forbids it.
    BadRequest,
    /// 404: the order id is unknown.
    NotFound,
    /// 503: the engine refuses new orders (a stage failed, or the journal cannot write).
    Unavailable,
}

/// The outcome of a command, written by execution, sent by the journal stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reply {
    /// No reply (not a command).
    #[default]
    None,
    /// An order was created (it may have filled or been recorded as rejected).
    Placed(OrderId),
    /// A smart order found the position already at its target.
    AlreadyMatched,
    /// A smart order with quantity 0 found nothing to do (OpenAlgo's "No OpenPosition
    /// Found. Not placing Exit order.").
    NoOpenPosition,
    /// The order was modified.
    Modified(OrderId),
    /// The order was cancelled.
    Cancelled(OrderId),
    /// cancelallorder: the cancelled ids are the `Cancelled` updates of this event.
    CancelledAll {
        /// Orders cancelled.
        cancelled: u32,
        /// Orders that could not be cancelled.
        failed: u32,
    },
    /// closeposition.
    Closed {
        /// Positions closed.
        closed: u32,
        /// Positions that could not be closed (no price, or rejected).
        failed: u32,
    },
    /// The funds were reset; the count of resets so far.
    Reset(u32),
    /// A GTT was placed, modified or cancelled (its ordinal).
    Gtt(u64),
    /// The command was refused; nothing changed.
    Rejected {
        /// Kind of refusal.
        status: RejectStatus,
        /// The message, naming the field.
        message: Msg,
    },
}

/// A fill of one order (all at once: the sandbox never fills partially).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// Trade ordinal (1-based; the trade id on the wire).
    pub trade_no: u64,
    /// Fill price.
    pub price: Price,
    /// Filled quantity (unsigned).
    pub qty: Qty,
}

/// An order after an event changed it: its row (the state after the event), the fill
/// this event made and the event's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    /// The order's state after the event.
    pub order: crate::views::Order,
    /// The fill this event made, if any.
    pub fill: Option<Fill>,
    /// Event time, epoch ns.
    pub time_ns: i64,
}

/// A position after a fill changed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionChange {
    /// Dense position index (stable for the life of the position row).
    pub index: u32,
    /// Instrument.
    pub symbol: SymbolId,
    /// Product.
    pub product: Product,
    /// Signed net quantity.
    pub qty: Qty,
    /// Average price of the open quantity.
    pub avg_price: Price,
    /// Realized P&L today on this row.
    pub realized: Money,
    /// Contract value (underlying units per contract).
    pub contract_value: crate::types::ContractValue,
}

/// Cash and margin after an event (execution owns them; MTM adds unrealized).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FundsView {
    /// Cash free for new orders.
    pub available: Money,
    /// Margin blocked by open orders and positions.
    pub used_margin: Money,
    /// Realized P&L since the start or the last funds reset, all positions.
    pub realized: Money,
    /// Realized P&L since the last session boundary.
    pub today_realized: Money,
    /// Funds resets so far.
    pub reset_count: u32,
    /// Event time of the last funds reset, epoch ns; before any reset, the time of the
    /// first journaled event the account saw (OpenAlgo stamps the account's creation);
    /// 0 before that.
    pub last_reset_ns: i64,
}

/// Monotonic completion time of each stage for this slot, ns (0 = not run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Execution finished.
    pub exec_ns: u64,
    /// MTM finished.
    pub mtm_ns: u64,
    /// Fanout finished.
    pub fanout_ns: u64,
}

/// The outputs the stages write beside the input, read by the later stages.
#[derive(Debug)]
pub struct StageOutput {
    /// The command's reply (execution).
    pub reply: Reply,
    /// Order state changes caused by the event (execution).
    pub updates: Vec<OrderUpdate>,
    /// Positions changed by fills (execution).
    pub positions: Vec<PositionChange>,
    /// Funds after the event (execution; meaningful when `funds_changed`).
    pub funds: FundsView,
    /// True when the event changed funds.
    pub funds_changed: bool,
    /// Stage completion times.
    pub times: StageTimes,
    /// Serialized state for a `Snapshot` event: execution's part, then MTM's.
    pub snapshot: Vec<u8>,
    /// A query's answer, written by the stage that owns the data, sent after the journal.
    pub answer: Option<crate::views::QueryReply>,
    /// Execution's state digest, written for a `StateHash` query and combined by MTM.
    pub digest: u64,
}

impl StageOutput {
    /// Expected most order updates per event; more spill into a reallocation (rare).
    pub const PREALLOCATED_UPDATES: usize = 8;

    /// An output area with its vectors preallocated.
    pub fn new() -> StageOutput {
        StageOutput {
            reply: Reply::None,
            updates: Vec::with_capacity(Self::PREALLOCATED_UPDATES),
            positions: Vec::with_capacity(Self::PREALLOCATED_UPDATES),
            funds: FundsView::default(),
            funds_changed: false,
            times: StageTimes::default(),
            snapshot: Vec::new(),
            answer: None,
            digest: 0,
        }
    }

    /// Clears for reuse, keeping the allocations.
    #[inline]
    pub fn clear(&mut self) {
        self.reply = Reply::None;
        self.updates.clear();
        self.positions.clear();
        self.funds_changed = false;
        self.times = StageTimes::default();
        self.snapshot.clear();
        self.answer = None;
        self.digest = 0;
    }
}

impl Default for StageOutput {
    fn default() -> Self {
        StageOutput::new()
    }
}
