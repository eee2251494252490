//! Read models: what queries return. Typed rows; the REST layer shapes them into JSON.

#![forbid(unsafe_code)]

use crate::event::Msg;
use crate::types::{
    Money, OrderId, OrderStatus, Price, PriceType, Product, Qty, Side, SymbolId, Tag,
};

/// One row of the orderbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRow {
    /// Order id.
    pub order_id: OrderId,
    /// Instrument.
    pub symbol: SymbolId,
    /// BUY or SELL.
    pub side: Side,
    /// Ordered quantity.
    pub qty: Qty,
    /// Limit price.
    pub price: Price,
    /// Trigger price.
    pub trigger: Price,
    /// Price type.
    pub price_type: PriceType,
    /// Product.
    pub product: Product,
    /// Status.
    pub status: OrderStatus,
    /// Average fill price.
    pub avg_price: Price,
    /// Filled quantity.
    pub filled_qty: Qty,
    /// Quantity still pending.
    pub pending_qty: Qty,
    /// Rejection reason (empty unless rejected).
    pub rejection: Msg,
    /// Placement time, epoch ns.
    pub time_ns: i64,
    /// Strategy tag.
    pub strategy: Tag,
}

/// One row of the tradebook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeRow {
    /// Trade ordinal (1-based).
    pub trade_no: u64,
    /// The order it filled.
    pub order_id: OrderId,
    /// Instrument.
    pub symbol: SymbolId,
    /// BUY or SELL.
    pub side: Side,
    /// Quantity.
    pub qty: Qty,
    /// Fill price.
    pub price: Price,
    /// Product.
    pub product: Product,
    /// Strategy tag.
    pub strategy: Tag,
    /// Fill time, epoch ns.
    pub time_ns: i64,
}

/// One row of the positionbook, marked to market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionRow {
    /// Instrument.
    pub symbol: SymbolId,
    /// Product.
    pub product: Product,
    /// Signed net quantity.
    pub qty: Qty,
    /// Average price.
    pub avg_price: Price,
    /// Last price used for MTM (0 when none seen yet).
    pub ltp: Price,
    /// Unrealized P&L.
    pub unrealized: Money,
    /// Today's realized P&L.
    pub realized: Money,
    /// realized + unrealized.
    pub pnl: Money,
    /// pnl / |avg x qty x cv| x 100, in hundredths of a percent (0 when flat).
    pub pnl_percent_bp: i64,
}

/// Funds, marked to market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FundsRow {
    /// Cash free for new orders.
    pub available: Money,
    /// Margin in use.
    pub used_margin: Money,
    /// Unrealized P&L of all positions.
    pub unrealized: Money,
    /// Realized P&L today.
    pub realized: Money,
    /// Sum of |qty x ltp x cv| over open positions.
    pub gross_exposure: Money,
}

/// The answer to a [`crate::event::QueryKind`].
#[allow(clippy::large_enum_variant, reason = "one per query, off the hot path")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryReply {
    /// Every order, oldest first.
    Orders(Vec<OrderRow>),
    /// Every trade, oldest first.
    Trades(Vec<TradeRow>),
    /// One order, or none when the id is unknown.
    Order(Option<OrderRow>),
    /// Net signed quantity of one position (0 when none).
    OpenPosition(Qty),
    /// Every position row (flat rows included), in creation order.
    Positions(Vec<PositionRow>),
    /// Funds.
    Funds(FundsRow),
    /// State digest (execution and MTM).
    StateHash(u64),
    /// Every GTT (any status), oldest first.
    Gtts(Vec<crate::exec::gtt::GttRow>),
    /// The engine could not answer (a stage failed); the text says why.
    Unavailable(String),
}
