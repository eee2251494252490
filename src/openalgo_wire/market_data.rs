//! The `market_data` frame: what OpenAlgo's WebSocket proxy pushes, and what tickfill's
//! simulator and WebSocket server push, field by field (OPENALGO.md section 1).

#![forbid(unsafe_code)]

use crate::event::{Level, Tick};
use crate::types::Price;
use serde::Serialize;

#[derive(Serialize)]
struct LevelOut {
    price: f64,
    quantity: i64,
    orders: i64,
}

#[derive(Serialize)]
struct DepthOut {
    buy: [LevelOut; 5],
    sell: [LevelOut; 5],
}

#[derive(Serialize)]
struct Data {
    ltp: f64,
    ltt: i64,
    timestamp: i64,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    quote: Option<QuoteFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    depth: Option<DepthOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oi: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upper_circuit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lower_circuit: Option<f64>,
}

#[derive(Serialize)]
struct QuoteFields {
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: i64,
    last_trade_quantity: i64,
    average_price: f64,
    avg_trade_price: f64,
    total_buy_quantity: i64,
    total_sell_quantity: i64,
    change: f64,
    change_percent: f64,
    bid_price: f64,
    ask_price: f64,
    bid_size: i64,
    ask_size: i64,
}

#[derive(Serialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    symbol: &'a str,
    exchange: &'a str,
    mode: u8,
    data: Data,
    broker: &'a str,
}

fn level(l: &Level) -> LevelOut {
    LevelOut { price: l.price.to_f64(), quantity: l.quantity, orders: l.orders }
}

/// Appends one `market_data` frame for `tick` in `mode` (1..=3) to `buf`. A depth frame
/// always carries five levels a side (an empty side is padded with zero levels).
pub fn write(
    buf: &mut Vec<u8>,
    symbol: &str,
    exchange: &str,
    mode: u8,
    tick: &Tick,
    timestamp_ms: i64,
    broker: &str,
) {
    let quote = (mode >= 2).then(|| {
        let change =
            if tick.close.is_positive() { tick.ltp.minus(tick.close) } else { Price::ZERO };
        let change_percent = if tick.close.is_positive() {
            ((change.to_f64() / tick.close.to_f64()) * 10_000.0).round() / 100.0
        } else {
            0.0
        };
        QuoteFields {
            open: tick.open.to_f64(),
            high: tick.high.to_f64(),
            low: tick.low.to_f64(),
            close: tick.close.to_f64(),
            volume: tick.volume,
            last_trade_quantity: tick.last_qty,
            average_price: tick.avg_price.to_f64(),
            avg_trade_price: tick.avg_price.to_f64(),
            total_buy_quantity: tick.total_buy_qty,
            total_sell_quantity: tick.total_sell_qty,
            change: change.to_f64(),
            change_percent,
            bid_price: tick.bid.to_f64(),
            ask_price: tick.ask.to_f64(),
            bid_size: tick.bid_qty,
            ask_size: tick.ask_qty,
        }
    });
    let depth = (mode >= 3).then(|| {
        let levels = usize::from(tick.depth.levels.min(5));
        let pad = |side: &[Level; 5]| {
            std::array::from_fn(
                |k| if k < levels { level(&side[k]) } else { level(&Level::default()) },
            )
        };
        DepthOut { buy: pad(&tick.depth.buy), sell: pad(&tick.depth.sell) }
    });
    let frame = Frame {
        kind: "market_data",
        symbol,
        exchange,
        mode,
        data: Data {
            ltp: tick.ltp.to_f64(),
            ltt: tick.ltt_ms,
            timestamp: timestamp_ms,
            quote,
            oi: (mode >= 3).then_some(tick.oi),
            upper_circuit: (mode >= 3).then_some(0.0),
            lower_circuit: (mode >= 3).then_some(0.0),
            depth,
        },
        broker,
    };
    // Serializing plain structs of numbers and strings into a Vec cannot fail.
    let _ = serde_json::to_writer(buf, &frame);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SymbolId;
    use serde_json::Value;

    fn frame(mode: u8, tick: &Tick) -> Value {
        let mut buf = Vec::new();
        write(&mut buf, "RELIANCE", "NSE", mode, tick, 1746171226123, "sandbox");
        serde_json::from_slice(&buf).unwrap()
    }

    #[test]
    fn each_mode_carries_its_fields() {
        let mut t = Tick {
            symbol: SymbolId(0),
            ltp: Price::from_f64(1424.5).unwrap(),
            close: Price::from_f64(1400.0).unwrap(),
            bid: Price::from_f64(1424.45).unwrap(),
            ltt_ms: 1746171226000,
            ..Tick::default()
        };
        let ltp = frame(1, &t);
        assert_eq!(ltp["type"], "market_data");
        assert_eq!(ltp["mode"], 1);
        assert_eq!(ltp["data"]["ltp"], 1424.5);
        assert_eq!(ltp["data"]["ltt"], 1746171226000_i64);
        assert!(ltp["data"].get("open").is_none());
        let q = frame(2, &t);
        assert_eq!(q["data"]["change"], 24.5);
        assert_eq!(q["data"]["change_percent"], 1.75);
        assert_eq!(q["data"]["bid_price"], 1424.45);
        assert!(q["data"].get("depth").is_none());
        t.depth.levels = 1;
        t.depth.buy[0] =
            Level { price: Price::from_f64(1424.45).unwrap(), quantity: 10, orders: 2 };
        let d = frame(3, &t);
        let buy = d["data"]["depth"]["buy"].as_array().unwrap();
        assert_eq!(buy.len(), 5);
        assert_eq!(buy[0]["quantity"], 10);
        assert_eq!(buy[4]["price"], 0.0);
        assert_eq!(d["data"]["depth"]["sell"].as_array().unwrap().len(), 5);
        assert_eq!(d["broker"], "sandbox");
    }
}
