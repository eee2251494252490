//! Read models: what queries return. Typed rows; the REST layer shapes them into JSON.
//! [`Order`] is also the execution stage's own state of an order and the body of an
//! order update: one row type, so the three cannot drift apart.

#![forbid(unsafe_code)]

use crate::message::Msg;
use crate::types::{
    Money, OrderId, OrderStatus, Price, PriceType, Product, Qty, Side, SymbolId, Tag,
};
use serde::{Deserialize, Serialize};

/// One order's state: the row the execution stage keeps (orders are never removed; index =
/// ordinal - 1), the orderbook and orderstatus queries return, and an order update carries
/// (`OrderUpdate`: this row, the fill the event made, the event time). Snapshots
/// serialize it (postcard, by field position): a change of fields or their order is a
/// snapshot version bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Order id.
    pub id: OrderId,
    /// Instrument.
    pub symbol: SymbolId,
    /// BUY or SELL.
    pub side: Side,
    /// Ordered quantity.
    pub qty: Qty,
    /// Price type.
    pub price_type: PriceType,
    /// Product.
    pub product: Product,
    /// Limit price.
    pub price: Price,
    /// Trigger price.
    pub trigger: Price,
    /// Disclosed quantity (recorded only).
    pub disclosed: Qty,
    /// Strategy tag.
    pub strategy: Tag,
    /// Status.
    pub status: OrderStatus,
    /// Filled quantity.
    pub filled: Qty,
    /// Average fill price.
    pub avg: Price,
    /// Margin this order holds while working.
    pub blocked: Money,
    /// Rejection reason (empty unless rejected).
    #[serde(with = "msg_serde")]
    pub rejection: Msg,
    /// Placement time, epoch ns.
    pub time_ns: i64,
    /// `depth` fill model: quantity estimated ahead of this resting limit at its price.
    pub queue: i64,
}

mod msg_serde {
    use crate::message::Msg;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &Msg, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Msg, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(crate::msg!("{s}"))
    }
}

impl Order {
    /// Quantity still to fill, as the orderbook shows it: a rejected order has nothing
    /// pending (as OpenAlgo's sandbox shows it).
    pub fn pending(&self) -> Qty {
        if self.status == OrderStatus::Rejected {
            Qty::ZERO
        } else {
            Qty(self.qty.0 - self.filled.0)
        }
    }

    /// The price the orderbook shows: a filled MARKET order shows its fill price.
    pub fn shown_price(&self) -> Price {
        if self.price_type == PriceType::Market && self.status == OrderStatus::Complete {
            self.avg
        } else {
            self.price
        }
    }
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

impl TradeRow {
    /// OpenAlgo's trade id, `TRADE-YYYYMMDD-HHMMSS-<8 hex>` (IST fill time). The suffix is
    /// the trade ordinal through a bijective mix of its low 32 bits (multiplication by an
    /// odd constant), so ids look like OpenAlgo's random ones, never collide for the first
    /// 2^32 trades, and replay reproduces them.
    pub fn trade_id(&self) -> String {
        let stamp: String = crate::clock::format_ist(self.time_ns)
            .chars()
            .filter_map(|c| match c {
                '-' | ':' => None,
                ' ' => Some('-'),
                c => Some(c),
            })
            .collect();
        let suffix = (self.trade_no as u32).wrapping_mul(0x9E37_79B1);
        format!("TRADE-{stamp}-{suffix:08x}")
    }
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
    /// Realized P&L since the start or the last funds reset (`total_realized_pnl`).
    pub realized: Money,
    /// Sum of |qty x ltp x cv| over open positions (OpenAlgo's sandbox reports used
    /// margin as `grossexposure`; this is kept for the frontend's exposure figure).
    pub gross_exposure: Money,
    /// Realized P&L since the session boundary (`today_realized_pnl`, `m2mrealized`).
    pub today_realized: Money,
    /// Funds resets so far (`reset_count`).
    pub reset_count: u32,
    /// Time of the last funds reset (or the account's creation), epoch ns; 0 before the
    /// first event (`last_reset`; see [`crate::event::FundsView`]).
    pub last_reset_ns: i64,
}

/// One settled CNC holding with its last price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldingRow {
    /// Instrument.
    pub symbol: SymbolId,
    /// Shares held.
    pub qty: Qty,
    /// Average cost per share.
    pub avg_price: Price,
    /// What the shares cost in total.
    pub cost: Money,
    /// Last price (0 when none seen).
    pub ltp: Price,
    /// IST day of the latest settlement into this holding (days since 1970-01-01).
    pub settlement_day: i64,
}

/// The answer to a [`crate::event::QueryKind`].
#[allow(clippy::large_enum_variant, reason = "one per query, off the hot path")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryReply {
    /// Every order, newest first (as OpenAlgo's orderbook).
    Orders(Vec<Order>),
    /// Every trade, newest first (as OpenAlgo's tradebook).
    Trades(Vec<TradeRow>),
    /// One order, or none when the id is unknown.
    Order(Option<Order>),
    /// Net signed quantity of one position (0 when none).
    OpenPosition(Qty),
    /// Open rows and flat rows with realized P&L this session, in creation order.
    Positions(Vec<PositionRow>),
    /// Funds.
    Funds(FundsRow),
    /// Holdings with a quantity, in settlement order.
    Holdings(Vec<HoldingRow>),
    /// State digest (execution and MTM).
    StateHash(u64),
    /// Every GTT (any status), oldest first.
    Gtts(Vec<crate::exec::gtt::GttRow>),
    /// The engine could not answer (a stage failed); the text says why.
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_ids_follow_openalgo_and_are_unique_per_ordinal() {
        let row = |n: u64| TradeRow {
            trade_no: n,
            order_id: OrderId(0),
            symbol: SymbolId(0),
            side: Side::Buy,
            qty: Qty(1),
            price: Price::ZERO,
            product: Product::Mis,
            strategy: Tag::EMPTY,
            time_ns: crate::clock::ist_to_epoch_ns(2026, 11, 26, 9, 15) + 7_000_000_000,
        };
        let id = row(1).trade_id();
        assert!(id.starts_with("TRADE-20261126-091507-"), "{id}");
        assert_eq!(id.len(), "TRADE-20261126-091507-".len() + 8, "{id}");
        assert_eq!(id, row(1).trade_id(), "deterministic");
        let ids: std::collections::HashSet<String> = (1..1000).map(|n| row(n).trade_id()).collect();
        assert_eq!(ids.len(), 999);
    }

    /// Snapshots carry `Order` as postcard bytes, in the layout snapshot version 5's
    /// readers expect. A change here is a snapshot version bump.
    #[test]
    fn the_order_row_keeps_its_snapshot_layout() {
        let o = Order {
            id: OrderId::new(261126, 7),
            symbol: SymbolId(3),
            side: Side::Sell,
            qty: Qty(10),
            price_type: PriceType::StopLimit,
            product: Product::Nrml,
            price: Price(8_125_000),
            trigger: Price(8_130_000),
            disclosed: Qty(2),
            strategy: Tag::EMPTY,
            status: OrderStatus::TriggerPending,
            filled: Qty(4),
            avg: Price(8_120_000),
            blocked: Money(48_750_000),
            rejection: crate::msg!("no"),
            time_ns: 1_764_128_700_000_000_000,
            queue: 5,
        };
        let bytes = postcard::to_allocvec(&o).expect("serializes");
        assert_eq!(bytes, GOLDEN, "{bytes:?}");
        assert_eq!(postcard::from_bytes::<Order>(&bytes).expect("reads back"), o);
        assert_eq!((o.pending(), o.shown_price()), (Qty(6), o.price));
    }

    /// Pinned when the order state moved here from `exec/orders.rs` with its field list
    /// unchanged (same fields, same types, same order).
    const GOLDEN: &[u8] = &[
        135, 140, 253, 129, 253, 247, 5, 3, 1, 20, 2, 2, 144, 233, 223, 7, 160, 183, 224, 7, 4, 0,
        1, 8, 128, 155, 223, 7, 224, 246, 190, 46, 2, 110, 111, 128, 224, 146, 217, 150, 237, 184,
        251, 48, 10,
    ];
}
