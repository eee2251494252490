//! The journal's payload encoding: a compact, versioned, little-endian fixed layout of the
//! journaled inputs ([`Input::Tick`], [`Input::Command`], [`Input::Timer`]).
//!
//! ```text
//! event   := version:u8 (=1) kind:u8 seq:u64 time_ns:i64 body
//! kind    := 1 Tick | 2 Command | 3 Timer (empty body)
//! Tick    := symbol:u32 ltp bid ask bid_qty ask_qty open high low close volume last_qty
//!            avg_price total_buy_qty total_sell_qty oi ltt_ms (16 x i64)
//!            mode:u8 source:u8 (0 stream, 1 poll) depth_levels:u8 stored:u8 (<= 5)
//!            stored x (buy level, sell level), level := price:i64 quantity:i64 orders:i64
//! Command := ticket:u64 kind:u8 body
//!            1 Place order | 2 PlaceSmart order position_size:i64 | 3 Modify order_id:u64 order
//!            4 Cancel order_id:u64 | 5 CancelAll tag | 6 ClosePosition tag
//! order   := symbol:u32 side:u8 qty:i64 price_type:u8 product:u8 price:i64 trigger:i64
//!            disclosed:i64 strategy:tag
//! tag     := len:u8 (<= 40) utf8 bytes
//! ```
//!
//! `recv_ns` is not stored (it is a local latency stamp) and decodes as 0. Depth stores only
//! the levels up to the last non-default one, so an LTP tick costs no depth bytes, yet every
//! value round-trips exactly.
//!
//! # Invariants
//! - `decode(encode(e)) == e` with `recv_ns` zeroed, for every journaled event.
//! - `decode` never panics: every read is bounds-checked and every enum value validated.
//!
//! # Performance
//! `encode` appends to a caller's buffer with no allocation once it has [`MAX_ENCODED`]
//! spare capacity.

#![forbid(unsafe_code)]

use crate::event::{
    Command, CommandKind, Depth, Event, Header, Input, Level, ModifyRequest, OrderRequest,
    QuoteSource, Tick, Ticket,
};
use crate::types::{OrderId, Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag};

/// The layout version written in the first byte of every payload.
pub const VERSION: u8 = 1;

/// The longest payload `encode` can produce (a tick with five depth levels a side).
pub const MAX_ENCODED: usize = 18 + 4 + 16 * 8 + 4 + 5 * 2 * 24;

const KIND_TICK: u8 = 1;
const KIND_COMMAND: u8 = 2;
const KIND_TIMER: u8 = 3;

const CMD_PLACE: u8 = 1;
const CMD_PLACE_SMART: u8 = 2;
const CMD_MODIFY: u8 = 3;
const CMD_CANCEL: u8 = 4;
const CMD_CANCEL_ALL: u8 = 5;
const CMD_CLOSE_POSITION: u8 = 6;

/// What is wrong with an event's bytes, or why an event cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The bytes end inside a field: the record was cut short. Treat the record as corrupt.
    #[error("truncated: field `{field}` at offset {offset} needs {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Its byte offset in the payload.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The payload was written by another layout version: use a tickfill build that reads it.
    #[error("unsupported journal payload version {found} (this build reads version {VERSION})")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// A tag or enum field holds a value no version of the layout writes: the record is
    /// corrupt (or written by a newer build).
    #[error("invalid value {value} in field `{field}` at offset {offset}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// Its byte offset in the payload.
        offset: usize,
        /// The value found.
        value: u64,
    },
    /// A strategy tag's bytes are not UTF-8: the record is corrupt.
    #[error("invalid UTF-8 in field `{field}` at offset {offset}")]
    InvalidUtf8 {
        /// The field.
        field: &'static str,
        /// Its byte offset in the payload.
        offset: usize,
    },
    /// Bytes remain after a complete event: the record is corrupt (or its length is wrong).
    #[error("{extra} trailing bytes after the event, at offset {offset}")]
    TrailingBytes {
        /// Where the event ended.
        offset: usize,
        /// How many bytes follow it.
        extra: usize,
    },
    /// The input is not journaled (`Input::is_journaled` is false): do not encode it.
    #[error("input `{input}` is not journaled; filter with Input::is_journaled")]
    NotJournaled {
        /// The input's variant.
        input: &'static str,
    },
}

/// Appends the encoding of `event` to `buf`. No allocation when `buf` has [`MAX_ENCODED`]
/// spare capacity. Errors only for inputs that are not journaled (nothing is appended).
pub fn encode(event: &Event, buf: &mut Vec<u8>) -> Result<(), CodecError> {
    let kind = match &event.input {
        Input::Tick(_) => KIND_TICK,
        Input::Command(_) => KIND_COMMAND,
        Input::Timer => KIND_TIMER,
        Input::Empty => return Err(CodecError::NotJournaled { input: "Empty" }),
        Input::Query(_) => return Err(CodecError::NotJournaled { input: "Query" }),
        Input::Snapshot => return Err(CodecError::NotJournaled { input: "Snapshot" }),
    };
    buf.push(VERSION);
    buf.push(kind);
    put_u64(buf, event.header.seq.0);
    put_i64(buf, event.header.time_ns);
    match &event.input {
        Input::Tick(t) => encode_tick(t, buf),
        Input::Command(c) => encode_command(c, buf),
        _ => {}
    }
    Ok(())
}

/// Decodes one event (the whole of `bytes`); `recv_ns` is 0.
pub fn decode(bytes: &[u8]) -> Result<Event, CodecError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(CodecError::UnsupportedVersion { found: version });
    }
    let kind_at = r.pos;
    let kind = r.u8("kind")?;
    let seq = Seq(r.u64("seq")?);
    let time_ns = r.i64("time_ns")?;
    let input = match kind {
        KIND_TICK => Input::Tick(decode_tick(&mut r)?),
        KIND_COMMAND => Input::Command(decode_command(&mut r)?),
        KIND_TIMER => Input::Timer,
        other => return Err(invalid("kind", kind_at, other)),
    };
    if r.pos != bytes.len() {
        return Err(CodecError::TrailingBytes { offset: r.pos, extra: bytes.len() - r.pos });
    }
    Ok(Event { header: Header { seq, time_ns, recv_ns: 0 }, input })
}

fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_i64(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_tag(buf: &mut Vec<u8>, tag: &Tag) {
    let s = tag.as_str().as_bytes();
    // Tag::CAPACITY is 40, so the length always fits a byte.
    buf.push(s.len() as u8);
    buf.extend_from_slice(s);
}

fn encode_tick(t: &Tick, buf: &mut Vec<u8>) {
    put_u32(buf, t.symbol.0);
    for v in [
        t.ltp.0,
        t.bid.0,
        t.ask.0,
        t.bid_qty,
        t.ask_qty,
        t.open.0,
        t.high.0,
        t.low.0,
        t.close.0,
        t.volume,
        t.last_qty,
        t.avg_price.0,
        t.total_buy_qty,
        t.total_sell_qty,
        t.oi,
        t.ltt_ms,
    ] {
        put_i64(buf, v);
    }
    buf.push(t.mode);
    buf.push(match t.source {
        QuoteSource::Stream => 0,
        QuoteSource::Poll => 1,
    });
    buf.push(t.depth.levels);
    let d = &t.depth;
    let stored = (0..5)
        .rev()
        .find(|&i| d.buy[i] != Level::default() || d.sell[i] != Level::default())
        .map_or(0, |i| i + 1);
    buf.push(stored as u8);
    for i in 0..stored {
        for l in [&d.buy[i], &d.sell[i]] {
            put_i64(buf, l.price.0);
            put_i64(buf, l.quantity);
            put_i64(buf, l.orders);
        }
    }
}

fn encode_order(o: &OrderRequest, buf: &mut Vec<u8>) {
    put_u32(buf, o.symbol.0);
    buf.push(match o.side {
        Side::Buy => 0,
        Side::Sell => 1,
    });
    put_i64(buf, o.qty.0);
    buf.push(match o.price_type {
        PriceType::Market => 0,
        PriceType::Limit => 1,
        PriceType::StopLimit => 2,
        PriceType::StopMarket => 3,
    });
    buf.push(match o.product {
        Product::Mis => 0,
        Product::Cnc => 1,
        Product::Nrml => 2,
    });
    put_i64(buf, o.price.0);
    put_i64(buf, o.trigger.0);
    put_i64(buf, o.disclosed.0);
    put_tag(buf, &o.strategy);
}

fn encode_command(c: &Command, buf: &mut Vec<u8>) {
    put_u64(buf, c.ticket.0);
    match &c.kind {
        CommandKind::Place(o) => {
            buf.push(CMD_PLACE);
            encode_order(o, buf);
        }
        CommandKind::PlaceSmart { order, position_size } => {
            buf.push(CMD_PLACE_SMART);
            encode_order(order, buf);
            put_i64(buf, *position_size);
        }
        CommandKind::Modify(m) => {
            buf.push(CMD_MODIFY);
            put_u64(buf, m.order_id.0);
            encode_order(&m.order, buf);
        }
        CommandKind::Cancel { order_id } => {
            buf.push(CMD_CANCEL);
            put_u64(buf, order_id.0);
        }
        CommandKind::CancelAll { strategy } => {
            buf.push(CMD_CANCEL_ALL);
            put_tag(buf, strategy);
        }
        CommandKind::ClosePosition { strategy } => {
            buf.push(CMD_CLOSE_POSITION);
            put_tag(buf, strategy);
        }
    }
}

fn invalid(field: &'static str, offset: usize, value: u8) -> CodecError {
    CodecError::InvalidValue { field, offset, value: u64::from(value) }
}

/// A bounds-checked cursor; every read names its field for the error.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], CodecError> {
        let available = self.bytes.len() - self.pos;
        if available < n {
            return Err(CodecError::Truncated { field, offset: self.pos, needed: n, available });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], CodecError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(field, N)?);
        Ok(a)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, CodecError> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    fn price(&mut self, field: &'static str) -> Result<Price, CodecError> {
        self.i64(field).map(Price)
    }

    fn tag(&mut self, field: &'static str) -> Result<Tag, CodecError> {
        let at = self.pos;
        let len = self.u8(field)?;
        if usize::from(len) > Tag::CAPACITY {
            return Err(invalid(field, at, len));
        }
        let text_at = self.pos;
        let bytes = self.take(field, usize::from(len))?;
        Tag::from_bytes(bytes).ok_or(CodecError::InvalidUtf8 { field, offset: text_at })
    }

    /// Reads a byte that must be below `count`.
    fn choice(&mut self, field: &'static str, count: u8) -> Result<u8, CodecError> {
        let at = self.pos;
        let v = self.u8(field)?;
        if v < count { Ok(v) } else { Err(invalid(field, at, v)) }
    }
}

fn decode_tick(r: &mut Reader<'_>) -> Result<Tick, CodecError> {
    let mut t = Tick {
        symbol: SymbolId(r.u32("tick.symbol")?),
        ltp: r.price("tick.ltp")?,
        bid: r.price("tick.bid")?,
        ask: r.price("tick.ask")?,
        bid_qty: r.i64("tick.bid_qty")?,
        ask_qty: r.i64("tick.ask_qty")?,
        open: r.price("tick.open")?,
        high: r.price("tick.high")?,
        low: r.price("tick.low")?,
        close: r.price("tick.close")?,
        volume: r.i64("tick.volume")?,
        last_qty: r.i64("tick.last_qty")?,
        avg_price: r.price("tick.avg_price")?,
        total_buy_qty: r.i64("tick.total_buy_qty")?,
        total_sell_qty: r.i64("tick.total_sell_qty")?,
        oi: r.i64("tick.oi")?,
        ltt_ms: r.i64("tick.ltt_ms")?,
        mode: r.u8("tick.mode")?,
        source: match r.choice("tick.source", 2)? {
            0 => QuoteSource::Stream,
            _ => QuoteSource::Poll,
        },
        depth: Depth::default(),
    };
    t.depth.levels = r.u8("tick.depth.levels")?;
    let stored = usize::from(r.choice("tick.depth.stored", 6)?);
    for i in 0..stored {
        for side in 0..2 {
            let level = Level {
                price: r.price("tick.depth.price")?,
                quantity: r.i64("tick.depth.quantity")?,
                orders: r.i64("tick.depth.orders")?,
            };
            if side == 0 {
                t.depth.buy[i] = level;
            } else {
                t.depth.sell[i] = level;
            }
        }
    }
    Ok(t)
}

fn decode_order(r: &mut Reader<'_>) -> Result<OrderRequest, CodecError> {
    Ok(OrderRequest {
        symbol: SymbolId(r.u32("order.symbol")?),
        side: match r.choice("order.side", 2)? {
            0 => Side::Buy,
            _ => Side::Sell,
        },
        qty: Qty(r.i64("order.qty")?),
        price_type: match r.choice("order.price_type", 4)? {
            0 => PriceType::Market,
            1 => PriceType::Limit,
            2 => PriceType::StopLimit,
            _ => PriceType::StopMarket,
        },
        product: match r.choice("order.product", 3)? {
            0 => Product::Mis,
            1 => Product::Cnc,
            _ => Product::Nrml,
        },
        price: r.price("order.price")?,
        trigger: r.price("order.trigger")?,
        disclosed: Qty(r.i64("order.disclosed")?),
        strategy: r.tag("order.strategy")?,
    })
}

fn decode_command(r: &mut Reader<'_>) -> Result<Command, CodecError> {
    let ticket = Ticket(r.u64("command.ticket")?);
    let at = r.pos;
    let kind = match r.u8("command.kind")? {
        CMD_PLACE => CommandKind::Place(decode_order(r)?),
        CMD_PLACE_SMART => CommandKind::PlaceSmart {
            order: decode_order(r)?,
            position_size: r.i64("command.position_size")?,
        },
        CMD_MODIFY => CommandKind::Modify(ModifyRequest {
            order_id: OrderId(r.u64("command.order_id")?),
            order: decode_order(r)?,
        }),
        CMD_CANCEL => CommandKind::Cancel { order_id: OrderId(r.u64("command.order_id")?) },
        CMD_CANCEL_ALL => CommandKind::CancelAll { strategy: r.tag("command.strategy")? },
        CMD_CLOSE_POSITION => CommandKind::ClosePosition { strategy: r.tag("command.strategy")? },
        other => return Err(invalid("command.kind", at, other)),
    };
    Ok(Command { ticket, kind })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn order(tag: &str) -> OrderRequest {
        OrderRequest {
            symbol: SymbolId(7),
            side: Side::Sell,
            qty: Qty(75),
            price_type: PriceType::StopLimit,
            product: Product::Nrml,
            price: Price(1_234_500),
            trigger: Price(1_230_000),
            disclosed: Qty(25),
            strategy: Tag::new(tag).unwrap(),
        }
    }

    fn full_tick() -> Tick {
        let mut depth = Depth { levels: 5, ..Depth::default() };
        for i in 0..5 {
            let k = i as i64;
            depth.buy[i] = Level { price: Price(100 - k), quantity: 10 + k, orders: k + 1 };
            depth.sell[i] = Level { price: Price(101 + k), quantity: 20 + k, orders: k + 2 };
        }
        Tick {
            symbol: SymbolId(u32::MAX),
            ltp: Price(1),
            bid: Price(2),
            ask: Price(3),
            bid_qty: 4,
            ask_qty: 5,
            open: Price(6),
            high: Price(7),
            low: Price(8),
            close: Price(9),
            volume: i64::MAX,
            last_qty: 11,
            avg_price: Price(12),
            total_buy_qty: 13,
            total_sell_qty: 14,
            oi: -15,
            ltt_ms: i64::MIN,
            mode: 3,
            source: QuoteSource::Poll,
            depth,
        }
    }

    /// One event of every journaled shape (every input, every command kind, depth or not).
    pub(crate) fn samples() -> Vec<Event> {
        let mut partial_depth = full_tick();
        partial_depth.depth.levels = 2;
        partial_depth.depth.buy[2..].fill(Level::default());
        partial_depth.depth.sell[2..].fill(Level::default());
        let ltp_only =
            Tick { symbol: SymbolId(3), ltp: Price(812_5000), mode: 1, ..Tick::default() };
        let kinds = [
            CommandKind::Place(order("python")),
            CommandKind::PlaceSmart { order: order(""), position_size: -150 },
            CommandKind::Modify(ModifyRequest {
                order_id: OrderId(26112600000042),
                order: order("x"),
            }),
            CommandKind::Cancel { order_id: OrderId(26112600000001) },
            CommandKind::CancelAll { strategy: Tag::new("strätegy").unwrap() },
            CommandKind::ClosePosition { strategy: Tag::new(&"z".repeat(Tag::CAPACITY)).unwrap() },
        ];
        let mut inputs = vec![
            Input::Tick(full_tick()),
            Input::Tick(partial_depth),
            Input::Tick(ltp_only),
            Input::Timer,
        ];
        inputs.extend(
            kinds
                .into_iter()
                .enumerate()
                .map(|(i, kind)| Input::Command(Command { ticket: Ticket(i as u64 * 1000), kind })),
        );
        inputs
            .into_iter()
            .enumerate()
            .map(|(i, input)| Event {
                header: Header { seq: Seq(i as u64 + 1), time_ns: -5 + i as i64, recv_ns: 0 },
                input,
            })
            .collect()
    }

    fn encoded(e: &Event) -> Vec<u8> {
        let mut buf = Vec::new();
        encode(e, &mut buf).unwrap();
        buf
    }

    #[test]
    fn every_journaled_shape_round_trips() {
        for e in samples() {
            let bytes = encoded(&e);
            assert!(bytes.len() <= MAX_ENCODED, "{} > MAX_ENCODED", bytes.len());
            assert_eq!(decode(&bytes), Ok(e));
        }
    }

    #[test]
    fn recv_ns_is_not_stored() {
        let mut e = samples()[3];
        e.header.recv_ns = 99;
        let back = decode(&encoded(&e)).unwrap();
        assert_eq!(back.header.recv_ns, 0);
        assert_eq!(back.header.seq, e.header.seq);
    }

    #[test]
    fn encode_appends_without_allocating_when_capacity_suffices() {
        let mut buf = Vec::with_capacity(MAX_ENCODED);
        let ptr = buf.as_ptr();
        encode(&samples()[0], &mut buf).unwrap();
        assert_eq!(buf.as_ptr(), ptr);
    }

    #[test]
    fn non_journaled_inputs_are_refused() {
        let mut buf = Vec::new();
        let e = Event { input: Input::Snapshot, ..Event::default() };
        assert_eq!(encode(&e, &mut buf), Err(CodecError::NotJournaled { input: "Snapshot" }));
        assert!(buf.is_empty());
    }

    #[test]
    fn every_truncation_is_an_error() {
        for e in samples() {
            let bytes = encoded(&e);
            for n in 0..bytes.len() {
                assert!(
                    matches!(decode(&bytes[..n]), Err(CodecError::Truncated { .. })),
                    "{e:?} cut at {n}"
                );
            }
        }
    }

    #[test]
    fn trailing_bytes_and_bad_values_are_named() {
        let mut bytes = encoded(&samples()[3]);
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(CodecError::TrailingBytes { offset: 18, extra: 1 }));
        let mut bytes = encoded(&samples()[3]);
        bytes[0] = 9;
        assert_eq!(decode(&bytes), Err(CodecError::UnsupportedVersion { found: 9 }));
        bytes[0] = VERSION;
        bytes[1] = 77;
        assert_eq!(
            decode(&bytes),
            Err(CodecError::InvalidValue { field: "kind", offset: 1, value: 77 })
        );
        // Place: header 18 + ticket 8 + kind 1 + symbol 4 -> side at 31.
        let mut bytes = encoded(&samples()[4]);
        bytes[31] = 2;
        assert_eq!(
            decode(&bytes),
            Err(CodecError::InvalidValue { field: "order.side", offset: 31, value: 2 })
        );
        // CancelAll: tag length at 27, text from 28.
        let mut bytes = encoded(&samples()[8]);
        bytes[28] = 0xff;
        assert_eq!(
            decode(&bytes),
            Err(CodecError::InvalidUtf8 { field: "command.strategy", offset: 28 })
        );
    }

    /// xorshift64*: deterministic garbage without a dependency.
    pub(crate) fn rng(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn garbage_never_panics() {
        let mut s = 0x9e37_79b9_7f4a_7c15;
        let rounds = if cfg!(miri) { 200 } else { 50_000 };
        let valid: Vec<Vec<u8>> = samples().iter().map(encoded).collect();
        for i in 0..rounds {
            let mut bytes = if i % 2 == 0 {
                let len = (rng(&mut s) % 700) as usize;
                (0..len).map(|_| rng(&mut s) as u8).collect::<Vec<_>>()
            } else {
                // Valid encodings with a few bytes changed reach the deeper fields.
                let mut b = valid[(rng(&mut s) % valid.len() as u64) as usize].clone();
                for _ in 0..1 + rng(&mut s) % 3 {
                    let at = (rng(&mut s) % b.len() as u64) as usize;
                    b[at] = rng(&mut s) as u8;
                }
                b
            };
            if i % 4 == 0 && !bytes.is_empty() {
                bytes[0] = VERSION;
            }
            let _ = decode(&bytes);
        }
    }
}
