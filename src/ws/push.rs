//! What the server pushes without being asked: conflated `market_data` frames and
//! `order_update` frames.
//!
//! A quote frame is built once per symbol, mode and board version and shared by every
//! client (tungstenite's text payload is reference counted), so fanning a tick out to many
//! clients costs one serialization. Order updates are serialized once each, likewise.

#![forbid(unsafe_code)]

use super::client_protocol::BROKER;
use crate::event::OrderUpdate;
use crate::fanout::quotes::QuoteSnapshot;
use crate::instruments::InstrumentMaster;
use crate::openalgo_wire::market_data;
use crate::types::SymbolId;
use serde::Serialize;
use std::collections::HashMap;
use tungstenite::Utf8Bytes;

/// The mode a quote is delivered in to a subscriber of `subscribed`, if it is: a tick
/// carries its own mode and every lower one (a tick without a mode counts as LTP).
pub fn deliverable(tick_mode: u8, subscribed: u8) -> bool {
    subscribed <= tick_mode.clamp(1, 3)
}

/// Built `market_data` frames, newest version per symbol and mode.
#[derive(Debug, Default)]
pub struct FrameCache {
    frames: HashMap<(SymbolId, u8), (u64, Utf8Bytes)>,
    buf: Vec<u8>,
}

impl FrameCache {
    /// The frame of `snap` in `mode`, built on first use of this version.
    pub fn frame(
        &mut self,
        snap: &QuoteSnapshot,
        mode: u8,
        instruments: &InstrumentMaster,
        now_ms: i64,
    ) -> Option<Utf8Bytes> {
        let key = (snap.tick.symbol, mode);
        if let Some((v, f)) = self.frames.get(&key) {
            if *v == snap.version {
                return Some(f.clone());
            }
        }
        let ins = instruments.get(snap.tick.symbol)?;
        self.buf.clear();
        market_data::write(
            &mut self.buf,
            &ins.symbol,
            ins.exchange.as_str(),
            mode,
            &snap.tick,
            now_ms,
            BROKER,
        );
        let text = String::from_utf8(self.buf.clone()).ok()?;
        let frame = Utf8Bytes::from(text);
        self.frames.insert(key, (snap.version, frame.clone()));
        Some(frame)
    }
}

#[derive(Serialize)]
struct OrderUpdateFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: &'a str,
    mode: &'static str,
    broker: &'static str,
    orderid: String,
    symbol: &'a str,
    exchange: &'static str,
    action: &'static str,
    quantity: i64,
    price: f64,
    trigger_price: f64,
    pricetype: &'static str,
    product: &'static str,
    order_status: &'static str,
    filled_quantity: i64,
    pending_quantity: i64,
    average_price: f64,
    rejection_reason: &'a str,
}

/// The `order_update` frame of `u` (orderid as its 14-digit string, prices as numbers).
pub fn order_update(u: &OrderUpdate, instruments: &InstrumentMaster, user_id: &str) -> String {
    let (symbol, exchange) = instruments
        .get(u.order.symbol)
        .map_or(("", ""), |i| (i.symbol.as_str(), i.exchange.as_str()));
    let frame = OrderUpdateFrame {
        kind: "order_update",
        user_id,
        mode: "analyze",
        broker: BROKER,
        orderid: u.order.id.to_string(),
        symbol,
        exchange,
        action: u.order.side.as_str(),
        quantity: u.order.qty.0,
        price: u.order.price.to_f64(),
        trigger_price: u.order.trigger.to_f64(),
        pricetype: u.order.price_type.as_str(),
        product: u.order.product.as_str(),
        order_status: u.order.status.as_str(),
        filled_quantity: u.order.filled.0,
        pending_quantity: (u.order.qty.0 - u.order.filled.0).max(0),
        average_price: u.order.avg.to_f64(),
        rejection_reason: u.order.rejection.as_str(),
    };
    // A struct of strings and numbers always serializes.
    serde_json::to_string(&frame).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tick;
    use crate::message::Msg;
    use crate::types::*;
    use serde_json::Value;

    #[test]
    fn higher_modes_reach_lower_subscribers_only() {
        assert!(deliverable(3, 1) && deliverable(3, 3) && deliverable(2, 2));
        assert!(!deliverable(1, 2) && !deliverable(2, 3));
        assert!(deliverable(0, 1) && !deliverable(0, 2));
    }

    #[test]
    fn order_update_has_the_openalgo_shape() {
        let m = InstrumentMaster::default_universe();
        let sbin = m.lookup(Exchange::Nse, "SBIN").unwrap();
        let order = crate::views::Order {
            id: OrderId::new(261126, 7),
            symbol: sbin,
            side: Side::Buy,
            qty: Qty(10),
            price_type: PriceType::Market,
            product: Product::Cnc,
            price: Price::ZERO,
            trigger: Price::ZERO,
            disclosed: Qty::ZERO,
            strategy: Tag::EMPTY,
            status: OrderStatus::Complete,
            filled: Qty(10),
            avg: Price::from_f64(812.5).unwrap(),
            blocked: Money::ZERO,
            rejection: Msg::EMPTY,
            time_ns: 0,
            queue: 0,
        };
        let u = OrderUpdate { order, fill: None, time_ns: 0 };
        let v: Value = serde_json::from_str(&order_update(&u, &m, "sandbox")).unwrap();
        assert_eq!(v["orderid"], "26112600000007");
        assert_eq!(v["price"], 0.0);
        assert_eq!(v["average_price"], 812.5);
        assert_eq!(v["mode"], "analyze");
        assert_eq!(v["order_status"], "complete");
        assert_eq!(v["symbol"], "SBIN");
        assert_eq!(v["pending_quantity"], 0);
        assert_eq!(v.as_object().unwrap().len(), 18);
    }

    #[test]
    fn frames_are_built_once_per_version() {
        let m = InstrumentMaster::default_universe();
        let sbin = m.lookup(Exchange::Nse, "SBIN").unwrap();
        let snap = QuoteSnapshot {
            tick: Tick { symbol: sbin, ltp: Price(8_000_000), mode: 2, ..Tick::default() },
            version: 2,
            updated_ns: 0,
        };
        let mut c = FrameCache::default();
        let a = c.frame(&snap, 1, &m, 1).unwrap();
        let b = c.frame(&snap, 1, &m, 2).unwrap();
        assert_eq!(a, b, "same version, same bytes");
        let v: Value = serde_json::from_str(a.as_str()).unwrap();
        assert_eq!(v["mode"], 1);
        let newer = QuoteSnapshot { version: 4, ..snap };
        assert_ne!(c.frame(&newer, 1, &m, 3).unwrap(), a);
    }
}
