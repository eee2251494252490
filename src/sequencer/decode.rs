//! Decoding upstream frames: OpenAlgo `market_data` pushes, the control replies around
//! them (auth, subscribe, errors), and REST quote objects, into fixed-size [`Tick`]s.
//!
//! The hot path parses with simd-json's tape API into buffers kept across frames (the
//! input copy, the parser's buffers and the tape itself), so a decoded frame allocates
//! nothing once the buffers have grown to the largest frame seen.
//!
//! Accepted shapes (OPENALGO.md section 1): LTP, Quote and Depth frames; depth padded with
//! zero levels; missing optional fields; `bids`/`asks` beside or instead of `depth`;
//! numbers as JSON numbers or numeric strings; `bid_price`/`bid`, `close`/`prev_close`;
//! `mode` as an int, a numeric string or a name, or absent (then inferred from the fields).
//!
//! # Invariants
//! - Never panics on any input; every malformed frame is one [`DecodeError`].
//! - A frame larger than [`MAX_FRAME`] is refused before parsing.

#![forbid(unsafe_code)]

use crate::event::{Level, Tick};
use crate::instruments::InstrumentMaster;
use crate::message::Msg;
use crate::types::{Exchange, Price};
use simd_json::prelude::*;
use simd_json::tape::{Tape, Value};
use simd_json::{Buffers, fill_tape};
use thiserror::Error;

/// The largest frame decoded; larger frames are dropped and counted.
pub const MAX_FRAME: usize = 1 << 20;

/// What one frame was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Market data for a known symbol.
    Tick(Tick),
    /// The reply to `authenticate`.
    Auth {
        /// True when the upstream accepted the key.
        ok: bool,
        /// Its message.
        message: Msg,
    },
    /// An error reply (`{"status":"error","code":..,"message":..}`).
    Error {
        /// The code, e.g. `NOT_AUTHENTICATED`.
        code: Msg,
        /// The text.
        message: Msg,
    },
    /// A control reply that needs no action (subscribe, unsubscribe, pong, broker info).
    Control,
}

/// Why a frame was dropped. Each is counted as a validation error; the feed goes on.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Over [`MAX_FRAME`] bytes.
    #[error("frame of {0} bytes exceeds the 1 MiB limit")]
    TooLarge(usize),
    /// Not JSON.
    #[error("frame is not valid JSON")]
    Json,
    /// JSON, but not an object.
    #[error("frame is not a JSON object")]
    NotObject,
    /// A `type` this client does not know.
    #[error("unknown frame type")]
    UnknownType,
    /// A required field is missing.
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    /// A field has the wrong type or an invalid value.
    #[error("field `{0}` has a wrong type or value")]
    Invalid(&'static str),
    /// The exchange is not one OpenAlgo knows.
    #[error("unknown exchange")]
    UnknownExchange,
    /// The symbol is not in the instrument master.
    #[error("symbol not in the instrument master")]
    UnknownSymbol,
}

/// Reusable decoding buffers (one per reading thread).
pub struct Decoder {
    input: Vec<u8>,
    buffers: Buffers,
    tape: Option<Tape<'static>>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("input_capacity", &self.input.capacity()).finish()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// Buffers sized for typical frames (a depth frame is about 1 KB).
    pub fn new() -> Decoder {
        Decoder {
            input: Vec::with_capacity(4096),
            buffers: Buffers::new(4096),
            tape: Some(Tape::null().reset()),
        }
    }

    /// Decodes one WebSocket text frame.
    pub fn decode(
        &mut self,
        bytes: &[u8],
        instruments: &InstrumentMaster,
    ) -> Result<Frame, DecodeError> {
        self.with_root(bytes, |root| frame(root, instruments))
    }

    /// Parses `bytes` and hands the root value to `f`, reusing every buffer.
    pub fn with_root<R>(
        &mut self,
        bytes: &[u8],
        f: impl FnOnce(Value<'_, '_>) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        if bytes.len() > MAX_FRAME {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        // simd-json parses in place, so it needs a mutable copy of the frame.
        self.input.clear();
        self.input.extend_from_slice(bytes);
        let mut tape = self.tape.take().unwrap_or_else(|| Tape::null().reset());
        let result = match fill_tape(&mut self.input, &mut self.buffers, &mut tape) {
            Ok(()) => f(tape.as_value()),
            Err(_) => Err(DecodeError::Json),
        };
        self.tape = Some(tape.reset());
        result
    }
}

fn frame(root: Value<'_, '_>, instruments: &InstrumentMaster) -> Result<Frame, DecodeError> {
    if !root.is_object() {
        return Err(DecodeError::NotObject);
    }
    let kind = root.get("type").and_then(|v| v.into_string());
    let status = root.get("status").and_then(|v| v.into_string());
    match kind {
        Some("market_data") => quote_object(root, instruments).map(Frame::Tick),
        Some("auth") => {
            Ok(Frame::Auth { ok: status == Some("success"), message: text(root, "message") })
        }
        Some("subscribe" | "unsubscribe" | "pong" | "broker_info" | "subscribe_orders")
        | Some("unsubscribe_orders") => Ok(Frame::Control),
        Some(_) => Err(DecodeError::UnknownType),
        None if status == Some("error") => {
            Ok(Frame::Error { code: text(root, "code"), message: text(root, "message") })
        }
        None => Err(DecodeError::Missing("type")),
    }
}

fn text(obj: Value<'_, '_>, key: &str) -> Msg {
    obj.get(key).and_then(|v| v.into_string()).map(|s| crate::msg!("{s}")).unwrap_or_default()
}

/// Decodes an object holding `symbol`, `exchange`, optional `mode`, and the quote fields
/// in `data` (or at its own level): a `market_data` frame or a REST `multiquotes` entry.
pub fn quote_object(
    obj: Value<'_, '_>,
    instruments: &InstrumentMaster,
) -> Result<Tick, DecodeError> {
    let symbol = required_str(obj, "symbol")?;
    let exchange = required_str(obj, "exchange")?;
    let exchange = Exchange::parse(exchange).ok_or(DecodeError::UnknownExchange)?;
    let id = instruments.lookup(exchange, symbol).ok_or(DecodeError::UnknownSymbol)?;
    let data = match obj.get("data") {
        Some(d) if d.is_object() => d,
        Some(d) if !d.is_null() => return Err(DecodeError::Invalid("data")),
        _ => obj,
    };
    let mut tick = quote_fields(data)?;
    tick.symbol = id;
    tick.mode = match obj.get("mode") {
        Some(m) if !m.is_null() => mode(m).ok_or(DecodeError::Invalid("mode"))?,
        _ if tick.depth.levels > 0 || data.get("depth").is_some() => 3,
        _ if tick.open.is_positive() || tick.high.is_positive() || tick.bid.is_positive() => 2,
        _ => 1,
    };
    Ok(tick)
}

/// The names of the quote fields a `data` object may carry, aliases next to each other
/// in the order they are preferred.
const FIELDS: [&str; 29] = [
    "ltp",
    "open",
    "high",
    "low",
    "close",
    "prev_close",
    "bid_price",
    "bid",
    "ask_price",
    "ask",
    "average_price",
    "avg_trade_price",
    "bid_size",
    "bid_qty",
    "ask_size",
    "ask_qty",
    "volume",
    "last_trade_quantity",
    "ltq",
    "total_buy_quantity",
    "totalbuyqty",
    "total_sell_quantity",
    "totalsellqty",
    "oi",
    "ltt",
    "timestamp",
    "depth",
    "bids",
    "asks",
];

/// The values of a quote object's known fields, found in one pass over its keys: a
/// Quote frame has about 20 keys, and looking each of its ~30 names (aliases included)
/// up separately scanned them all every time (`Value::get` was 14% of the hot thread's
/// samples at 400K ticks/s). As with `get`, the first occurrence of a key counts.
struct Fields<'t, 'i>([Option<Value<'t, 'i>>; FIELDS.len()]);

/// The index of `key` in [`FIELDS`] (a `match`, so the compiler dispatches on length and
/// bytes instead of comparing with every name).
fn slot(key: &str) -> Option<usize> {
    Some(match key {
        "ltp" => 0,
        "open" => 1,
        "high" => 2,
        "low" => 3,
        "close" => 4,
        "prev_close" => 5,
        "bid_price" => 6,
        "bid" => 7,
        "ask_price" => 8,
        "ask" => 9,
        "average_price" => 10,
        "avg_trade_price" => 11,
        "bid_size" => 12,
        "bid_qty" => 13,
        "ask_size" => 14,
        "ask_qty" => 15,
        "volume" => 16,
        "last_trade_quantity" => 17,
        "ltq" => 18,
        "total_buy_quantity" => 19,
        "totalbuyqty" => 20,
        "total_sell_quantity" => 21,
        "totalsellqty" => 22,
        "oi" => 23,
        "ltt" => 24,
        "timestamp" => 25,
        "depth" => 26,
        "bids" => 27,
        "asks" => 28,
        _ => return None,
    })
}

impl<'t, 'i> Fields<'t, 'i> {
    fn of(obj: Value<'t, 'i>) -> Fields<'t, 'i> {
        let mut slots = [None; FIELDS.len()];
        if let Some(o) = obj.as_object() {
            for (k, v) in o.iter() {
                if let Some(i) = slot(k) {
                    slots[i].get_or_insert(v);
                }
            }
        }
        Fields(slots)
    }

    /// The first present, non-null field of `keys` (each one of [`FIELDS`]), as `first`.
    fn first(&self, keys: &[&'static str]) -> Option<(Value<'t, 'i>, &'static str)> {
        keys.iter().find_map(|&k| self.0[slot(k)?].filter(|v| !v.is_null()).map(|v| (v, k)))
    }

    fn get(&self, key: &'static str) -> Option<Value<'t, 'i>> {
        slot(key).and_then(|i| self.0[i])
    }
}

/// The quote fields of a `data` object (symbol and mode left unset).
pub fn quote_fields(data: Value<'_, '_>) -> Result<Tick, DecodeError> {
    if !data.is_object() {
        return Err(DecodeError::Invalid("data"));
    }
    let f = Fields::of(data);
    let p = |keys: &[&'static str]| price_of(f.first(keys));
    let n = |keys: &[&'static str]| int_of(f.first(keys));
    let t = Tick {
        ltp: p(&["ltp"])?.ok_or(DecodeError::Missing("ltp"))?,
        open: p(&["open"])?.unwrap_or_default(),
        high: p(&["high"])?.unwrap_or_default(),
        low: p(&["low"])?.unwrap_or_default(),
        close: p(&["close", "prev_close"])?.unwrap_or_default(),
        bid: p(&["bid_price", "bid"])?.unwrap_or_default(),
        ask: p(&["ask_price", "ask"])?.unwrap_or_default(),
        avg_price: p(&["average_price", "avg_trade_price"])?.unwrap_or_default(),
        bid_qty: n(&["bid_size", "bid_qty"])?.unwrap_or_default(),
        ask_qty: n(&["ask_size", "ask_qty"])?.unwrap_or_default(),
        volume: n(&["volume"])?.unwrap_or_default(),
        last_qty: n(&["last_trade_quantity", "ltq"])?.unwrap_or_default(),
        total_buy_qty: n(&["total_buy_quantity", "totalbuyqty"])?.unwrap_or_default(),
        total_sell_qty: n(&["total_sell_quantity", "totalsellqty"])?.unwrap_or_default(),
        oi: n(&["oi"])?.unwrap_or_default(),
        ltt_ms: n(&["ltt", "timestamp"])?.unwrap_or_default(),
        ..Tick::default()
    };
    with_depth(t, f.get("depth"), f.get("bids"), f.get("asks"))
}

/// [`quote_fields`] by one `get` per name: the reference it must agree with (the
/// `upstream_frame` fuzz target and the decoder's tests compare the two).
#[doc(hidden)]
pub fn quote_fields_by_lookup(data: Value<'_, '_>) -> Result<Tick, DecodeError> {
    if !data.is_object() {
        return Err(DecodeError::Invalid("data"));
    }
    let t = Tick {
        ltp: price(data, &["ltp"])?.ok_or(DecodeError::Missing("ltp"))?,
        open: price(data, &["open"])?.unwrap_or_default(),
        high: price(data, &["high"])?.unwrap_or_default(),
        low: price(data, &["low"])?.unwrap_or_default(),
        close: price(data, &["close", "prev_close"])?.unwrap_or_default(),
        bid: price(data, &["bid_price", "bid"])?.unwrap_or_default(),
        ask: price(data, &["ask_price", "ask"])?.unwrap_or_default(),
        avg_price: price(data, &["average_price", "avg_trade_price"])?.unwrap_or_default(),
        bid_qty: int(data, &["bid_size", "bid_qty"])?.unwrap_or_default(),
        ask_qty: int(data, &["ask_size", "ask_qty"])?.unwrap_or_default(),
        volume: int(data, &["volume"])?.unwrap_or_default(),
        last_qty: int(data, &["last_trade_quantity", "ltq"])?.unwrap_or_default(),
        total_buy_qty: int(data, &["total_buy_quantity", "totalbuyqty"])?.unwrap_or_default(),
        total_sell_qty: int(data, &["total_sell_quantity", "totalsellqty"])?.unwrap_or_default(),
        oi: int(data, &["oi"])?.unwrap_or_default(),
        ltt_ms: int(data, &["ltt", "timestamp"])?.unwrap_or_default(),
        ..Tick::default()
    };
    with_depth(t, data.get("depth"), data.get("bids"), data.get("asks"))
}

/// Adds the depth levels (`depth.buy`/`depth.sell`, or `bids`/`asks` inside `depth` or
/// beside it) and fills a missing touch from them.
fn with_depth(
    mut t: Tick,
    depth: Option<Value<'_, '_>>,
    bids: Option<Value<'_, '_>>,
    asks: Option<Value<'_, '_>>,
) -> Result<Tick, DecodeError> {
    let (buy, sell) = match depth {
        Some(d) if d.is_object() => {
            (d.get("buy").or_else(|| d.get("bids")), d.get("sell").or_else(|| d.get("asks")))
        }
        Some(d) if !d.is_null() => return Err(DecodeError::Invalid("depth")),
        _ => (bids, asks),
    };
    let nb = levels(buy, &mut t.depth.buy, "depth.buy")?;
    let ns = levels(sell, &mut t.depth.sell, "depth.sell")?;
    t.depth.levels = nb.max(ns);
    // A depth frame without a top-of-book field still has a touch.
    if !t.bid.is_positive() && t.depth.buy[0].price.is_positive() {
        t.bid = t.depth.buy[0].price;
        t.bid_qty = t.depth.buy[0].quantity;
    }
    if !t.ask.is_positive() && t.depth.sell[0].price.is_positive() {
        t.ask = t.depth.sell[0].price;
        t.ask_qty = t.depth.sell[0].quantity;
    }
    Ok(t)
}

/// Reads up to five levels; returns how many carry a price (padding is not counted).
fn levels(
    side: Option<Value<'_, '_>>,
    out: &mut [Level; 5],
    field: &'static str,
) -> Result<u8, DecodeError> {
    let Some(side) = side.filter(|v| !v.is_null()) else { return Ok(0) };
    let arr = side.as_array().ok_or(DecodeError::Invalid(field))?;
    let mut meaningful = 0u8;
    for (k, lv) in arr.iter().take(5).enumerate() {
        if !lv.is_object() {
            return Err(DecodeError::Invalid(field));
        }
        let level = Level {
            price: price(lv, &["price"])?.unwrap_or_default(),
            quantity: int(lv, &["quantity", "qty"])?.unwrap_or_default(),
            orders: int(lv, &["orders"])?.unwrap_or_default(),
        };
        out[k] = level;
        if level.price.is_positive() {
            meaningful = k as u8 + 1;
        }
    }
    Ok(meaningful)
}

fn required_str<'t, 'i>(obj: Value<'t, 'i>, key: &'static str) -> Result<&'i str, DecodeError> {
    match obj.get(key) {
        None => Err(DecodeError::Missing(key)),
        Some(v) => v.into_string().filter(|s| !s.is_empty()).ok_or(DecodeError::Invalid(key)),
    }
}

/// The first present, non-null key of `keys`.
fn first<'t, 'i>(obj: Value<'t, 'i>, keys: &[&'static str]) -> Option<(Value<'t, 'i>, &'static str)>
where
    'i: 't,
{
    keys.iter().find_map(|&k| obj.get(k).filter(|v| !v.is_null()).map(|v| (v, k)))
}

fn price(obj: Value<'_, '_>, keys: &[&'static str]) -> Result<Option<Price>, DecodeError> {
    price_of(first(obj, keys))
}

fn price_of(found: Option<(Value<'_, '_>, &'static str)>) -> Result<Option<Price>, DecodeError> {
    let Some((v, key)) = found else { return Ok(None) };
    let p = if let Some(s) = v.as_str() {
        Price::parse(s)
    } else if v.is_bool() {
        None
    } else {
        v.cast_f64().and_then(Price::from_f64)
    };
    p.map(Some).ok_or(DecodeError::Invalid(key))
}

fn int(obj: Value<'_, '_>, keys: &[&'static str]) -> Result<Option<i64>, DecodeError> {
    int_of(first(obj, keys))
}

fn int_of(found: Option<(Value<'_, '_>, &'static str)>) -> Result<Option<i64>, DecodeError> {
    let Some((v, key)) = found else { return Ok(None) };
    let n = if let Some(s) = v.as_str() {
        s.trim().parse::<i64>().ok().or_else(|| s.trim().parse::<f64>().ok().and_then(whole))
    } else if let Some(i) = v.as_i64() {
        Some(i)
    } else if v.is_bool() {
        None
    } else {
        v.cast_f64().and_then(whole)
    };
    n.map(Some).ok_or(DecodeError::Invalid(key))
}

fn whole(f: f64) -> Option<i64> {
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
}

fn mode(v: Value<'_, '_>) -> Option<u8> {
    let m = if let Some(s) = v.as_str() {
        let s = s.trim();
        let is = |name: &str, digit: &str| s == digit || s.eq_ignore_ascii_case(name);
        if is("ltp", "1") {
            1
        } else if is("quote", "2") {
            2
        } else if is("depth", "3") {
            3
        } else {
            return None;
        }
    } else {
        v.as_u64().filter(|m| (1..=3).contains(m))? as u8
    };
    Some(m)
}

#[cfg(test)]
mod tests;
