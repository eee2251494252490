//! The journal's payload encoding: a compact, versioned, little-endian layout of the
//! journaled inputs ([`Input::Tick`], [`Input::Command`], [`Input::Timer`],
//! [`Input::FillSettings`]).
//!
//! ```text
//! event   := version:u8 (=2; 1 is still read) kind:u8 seq:u64 time_ns:i64 body
//! kind    := 1 Tick | 2 Command | 3 Timer (empty body) | 4 Halt (see [`HaltRecord`])
//!            | 5 StreamTick | 6 FillSettings
//! StreamTick := stream_seq:u64 Tick   (a tick consumed from the relay's JetStream stream;
//!            `stream_seq` is `Header::stream_seq`, its position there, never 0)
//! Tick    := symbol:u32 present:u16 (bit i: field i is non-zero)
//!            the present fields in order, each as a zigzag LEB128 varint:
//!              ltp bid ask bid_qty ask_qty open high low close volume last_qty
//!              avg_price total_buy_qty total_sell_qty oi ltt_ms
//!            mode:u8 source:u8 (0 stream, 1 poll) depth_levels:u8 stored:u8 (<= 5)
//!            stored x (buy level, sell level), level := price quantity orders (varints)
//! Tick v1 := symbol:u32, the 16 fields as i64, mode source depth_levels stored as above,
//!            levels as 3 x i64
//! Command := ticket:u64 kind:u8 body
//!            1 Place order | 2 PlaceSmart order position_size:i64 | 3 Modify order_id:u64 order
//!            4 Cancel order_id:u64 | 5 CancelAll tag | 6 ClosePosition tag
//!            7 ResetFunds (empty body)
//! order   := symbol:u32 side:u8 qty:i64 price_type:u8 product:u8 price:i64 trigger:i64
//!            disclosed:i64 strategy:tag
//! tag     := len:u8 (<= 40) utf8 bytes
//! FillSettings := model:u8 (0 openalgo, 1 touch, 2 depth) depth_levels:u8 (1..=5)
//!            touch_fill_ppm:u32 slippage_ppm:u32 (each <= 1e6) seed:u64
//!            latency_ns:i64 jitter_ns:i64 (each 0..=MAX_LATENCY_NS)
//!            overrides:u8 (<= 4) overrides x (strategy:tag model:u8)
//! ```
//!
//! `recv_ns` is not stored (it is a local latency stamp) and decodes as 0. Depth stores only
//! the levels up to the last non-default one, so an LTP tick costs no depth bytes, yet every
//! value round-trips exactly.
//!
//! Why varints for ticks: ticks are nearly every record, and most of a tick's 16 fields are
//! zero or small. A Quote tick with three prices is 40 bytes in version 2 against 154 in
//! version 1, so the journal writes, reads on restart and CRCs a third to a quarter of the
//! bytes. Version 1 payloads (journals written before) are still decoded.
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
    Command, CommandKind, Event, GttRequest, Header, Input, Level, ModifyRequest, OrderRequest,
    QuoteSource, Tick, Ticket,
};
use crate::exec::fill::{FillConfig, FillModel, MAX_LATENCY_NS, MAX_OVERRIDES, PPM};
use crate::types::{OrderId, Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag};

/// The layout version written in the first byte of every payload.
pub const VERSION: u8 = 2;

/// The oldest layout version this build still decodes.
pub const OLDEST_READ: u8 = 1;

/// The longest varint (a zigzag `i64`).
const MAX_VARINT: usize = 10;

/// The longest payload `encode` can produce (a tick with every field at its longest and
/// five depth levels a side).
pub const MAX_ENCODED: usize = 18 + 8 + 4 + 2 + 16 * MAX_VARINT + 4 + 5 * 2 * 3 * MAX_VARINT;

const KIND_TICK: u8 = 1;
const KIND_COMMAND: u8 = 2;
const KIND_TIMER: u8 = 3;
/// A tick with its stream sequence (event kind 5 is the relay's in the numbering).
const KIND_STREAM_TICK: u8 = 5;
/// The fill settings in effect from this event on (see `FillSettings` below).
const KIND_FILL_SETTINGS: u8 = 6;

const CMD_PLACE: u8 = 1;
const CMD_PLACE_SMART: u8 = 2;
const CMD_MODIFY: u8 = 3;
const CMD_CANCEL: u8 = 4;
const CMD_CANCEL_ALL: u8 = 5;
const CMD_CLOSE_POSITION: u8 = 6;
const CMD_RESET_FUNDS: u8 = 7;
const CMD_PLACE_GTT: u8 = 8;
const CMD_MODIFY_GTT: u8 = 9;
const CMD_CANCEL_GTT: u8 = 10;

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
    #[error(
        "unsupported journal payload version {found} (this build reads versions {OLDEST_READ} to {VERSION})"
    )]
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
        Input::Tick(_) if event.header.stream_seq != 0 => KIND_STREAM_TICK,
        Input::Tick(_) => KIND_TICK,
        Input::Command(_) => KIND_COMMAND,
        Input::Timer => KIND_TIMER,
        Input::FillSettings(_) => KIND_FILL_SETTINGS,
        Input::Empty => return Err(CodecError::NotJournaled { input: "Empty" }),
        Input::Query(_) => return Err(CodecError::NotJournaled { input: "Query" }),
        Input::Snapshot => return Err(CodecError::NotJournaled { input: "Snapshot" }),
    };
    buf.push(VERSION);
    buf.push(kind);
    put_u64(buf, event.header.seq.0);
    put_i64(buf, event.header.time_ns);
    if kind == KIND_STREAM_TICK {
        put_u64(buf, event.header.stream_seq);
    }
    match &event.input {
        Input::Tick(t) => encode_tick(t, buf),
        Input::Command(c) => encode_command(c, buf),
        Input::FillSettings(f) => encode_fill(f, buf),
        _ => {}
    }
    Ok(())
}

/// Decodes one event (the whole of `bytes`); `recv_ns` is 0.
pub fn decode(bytes: &[u8]) -> Result<Event, CodecError> {
    let mut event = Event::default();
    decode_into(bytes, &mut event)?;
    Ok(event)
}

/// [`decode`] into `event`, in place: a tick (about 400 bytes with its depth) is written
/// where it will be read, not built and moved. Recovery decodes every journaled event
/// through one reused `Event`. On error `event` holds a partial decode and must not be
/// used.
pub fn decode_into(bytes: &[u8], event: &mut Event) -> Result<(), CodecError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8("version")?;
    if !(OLDEST_READ..=VERSION).contains(&version) {
        return Err(CodecError::UnsupportedVersion { found: version });
    }
    let kind_at = r.pos;
    let kind = r.u8("kind")?;
    let seq = Seq(r.u64("seq")?);
    let time_ns = r.i64("time_ns")?;
    event.header = Header { seq, time_ns, recv_ns: 0, stream_seq: 0 };
    if kind == KIND_STREAM_TICK {
        let at = r.pos;
        event.header.stream_seq = r.u64("stream_seq")?;
        if event.header.stream_seq == 0 {
            return Err(invalid("stream_seq", at, 0));
        }
    }
    match kind {
        KIND_TICK | KIND_STREAM_TICK => {
            if !matches!(event.input, Input::Tick(_)) {
                event.input = Input::Tick(Tick::default());
            }
            if let Input::Tick(t) = &mut event.input {
                if version == 1 {
                    decode_tick_v1(&mut r, t)?;
                } else {
                    decode_tick(&mut r, t)?;
                }
            }
        }
        KIND_COMMAND => event.input = Input::Command(decode_command(&mut r)?),
        KIND_TIMER => event.input = Input::Timer,
        KIND_FILL_SETTINGS => event.input = Input::FillSettings(decode_fill(&mut r)?),
        other => return Err(invalid("kind", kind_at, other)),
    }
    if r.pos != bytes.len() {
        return Err(CodecError::TrailingBytes { offset: r.pos, extra: bytes.len() - r.pos });
    }
    Ok(())
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

/// A tick's 16 integer fields, in layout order.
fn tick_fields(t: &Tick) -> [i64; 16] {
    [
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
    ]
}

/// Sets a tick's 16 integer fields from layout order.
fn set_tick_fields(t: &mut Tick, f: [i64; 16]) {
    t.ltp = Price(f[0]);
    t.bid = Price(f[1]);
    t.ask = Price(f[2]);
    t.bid_qty = f[3];
    t.ask_qty = f[4];
    t.open = Price(f[5]);
    t.high = Price(f[6]);
    t.low = Price(f[7]);
    t.close = Price(f[8]);
    t.volume = f[9];
    t.last_qty = f[10];
    t.avg_price = Price(f[11]);
    t.total_buy_qty = f[12];
    t.total_sell_qty = f[13];
    t.oi = f[14];
    t.ltt_ms = f[15];
}

/// Appends `v` zigzag-encoded as a LEB128 varint (1 byte for -64..=63, at most 10).
fn put_varint(buf: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.push(z as u8 | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

fn encode_tick(t: &Tick, buf: &mut Vec<u8>) {
    put_u32(buf, t.symbol.0);
    let fields = tick_fields(t);
    let present =
        fields.iter().enumerate().fold(0u16, |p, (i, &v)| if v != 0 { p | 1 << i } else { p });
    buf.extend_from_slice(&present.to_le_bytes());
    for v in fields.into_iter().filter(|&v| v != 0) {
        put_varint(buf, v);
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
            put_varint(buf, l.price.0);
            put_varint(buf, l.quantity);
            put_varint(buf, l.orders);
        }
    }
}

/// A side's byte in the journal: 0 buy, 1 sell.
fn side_byte(side: Side) -> u8 {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// A product's byte in the journal: 0 MIS, 1 CNC, 2 NRML.
fn product_byte(product: Product) -> u8 {
    match product {
        Product::Mis => 0,
        Product::Cnc => 1,
        Product::Nrml => 2,
    }
}

/// The side of a [`side_byte`] (already checked to be below 2).
fn side_of_byte(b: u8) -> Side {
    if b == 0 { Side::Buy } else { Side::Sell }
}

/// The product of a [`product_byte`] (already checked to be below 3).
fn product_of_byte(b: u8) -> Product {
    match b {
        0 => Product::Mis,
        1 => Product::Cnc,
        _ => Product::Nrml,
    }
}

fn encode_order(o: &OrderRequest, buf: &mut Vec<u8>) {
    put_u32(buf, o.symbol.0);
    buf.push(side_byte(o.side));
    put_i64(buf, o.qty.0);
    buf.push(match o.price_type {
        PriceType::Market => 0,
        PriceType::Limit => 1,
        PriceType::StopLimit => 2,
        PriceType::StopMarket => 3,
    });
    buf.push(product_byte(o.product));
    put_i64(buf, o.price.0);
    put_i64(buf, o.trigger.0);
    put_i64(buf, o.disclosed.0);
    put_tag(buf, &o.strategy);
}

fn encode_gtt(g: &GttRequest, buf: &mut Vec<u8>) {
    put_u32(buf, g.symbol.0);
    buf.push(side_byte(g.side));
    put_i64(buf, g.qty.0);
    buf.push(product_byte(g.product));
    for p in [g.below_trigger, g.below_price, g.above_trigger, g.above_price] {
        put_i64(buf, p.0);
    }
    buf.push(u8::from(g.single));
    put_i64(buf, g.expires_ns);
    put_tag(buf, &g.strategy);
}

fn decode_gtt(r: &mut Reader<'_>) -> Result<GttRequest, CodecError> {
    Ok(GttRequest {
        symbol: SymbolId(r.u32("gtt.symbol")?),
        side: side_of_byte(r.choice("gtt.side", 2)?),
        qty: Qty(r.i64("gtt.qty")?),
        product: product_of_byte(r.choice("gtt.product", 3)?),
        below_trigger: r.price("gtt.below_trigger")?,
        below_price: r.price("gtt.below_price")?,
        above_trigger: r.price("gtt.above_trigger")?,
        above_price: r.price("gtt.above_price")?,
        single: r.choice("gtt.single", 2)? == 1,
        expires_ns: r.i64("gtt.expires_ns")?,
        strategy: r.tag("gtt.strategy")?,
    })
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
        CommandKind::ResetFunds => buf.push(CMD_RESET_FUNDS),
        CommandKind::PlaceGtt(g) => {
            buf.push(CMD_PLACE_GTT);
            encode_gtt(g, buf);
        }
        CommandKind::ModifyGtt { id, gtt } => {
            buf.push(CMD_MODIFY_GTT);
            put_u64(buf, *id);
            encode_gtt(gtt, buf);
        }
        CommandKind::CancelGtt { id } => {
            buf.push(CMD_CANCEL_GTT);
            put_u64(buf, *id);
        }
    }
}

/// A fill model's byte in the journal: 0 openalgo, 1 touch, 2 depth.
fn model_byte(m: FillModel) -> u8 {
    match m {
        FillModel::OpenAlgo => 0,
        FillModel::Touch => 1,
        FillModel::Depth => 2,
    }
}

/// The model of a [`model_byte`] (already checked to be below 3).
fn model_of_byte(b: u8) -> FillModel {
    FillModel::ALL[usize::from(b)]
}

fn encode_fill(f: &FillConfig, buf: &mut Vec<u8>) {
    buf.push(model_byte(f.model));
    buf.push(f.depth_levels);
    buf.extend_from_slice(&f.touch_fill_ppm.to_le_bytes());
    buf.extend_from_slice(&f.slippage_ppm.to_le_bytes());
    put_u64(buf, f.seed);
    put_i64(buf, f.latency_ns);
    put_i64(buf, f.jitter_ns);
    // At most MAX_OVERRIDES (4): fits a byte.
    buf.push(f.overrides.iter().flatten().count() as u8);
    for (tag, m) in f.overrides.iter().flatten() {
        put_tag(buf, tag);
        buf.push(model_byte(*m));
    }
}

fn decode_fill(r: &mut Reader<'_>) -> Result<FillConfig, CodecError> {
    let mut f = FillConfig {
        model: model_of_byte(r.choice("fill.model", 3)?),
        depth_levels: {
            let at = r.pos;
            let v = r.u8("fill.depth_levels")?;
            if !(1..=5).contains(&v) {
                return Err(invalid("fill.depth_levels", at, v));
            }
            v
        },
        touch_fill_ppm: r.ppm("fill.touch_fill_ppm")?,
        slippage_ppm: r.ppm("fill.slippage_ppm")?,
        seed: r.u64("fill.seed")?,
        latency_ns: r.latency("fill.latency_ns")?,
        jitter_ns: r.latency("fill.jitter_ns")?,
        overrides: [None; MAX_OVERRIDES],
    };
    let n = r.choice("fill.overrides", MAX_OVERRIDES as u8 + 1)?;
    for slot in f.overrides.iter_mut().take(usize::from(n)) {
        let tag = r.tag("fill.override.strategy")?;
        *slot = Some((tag, model_of_byte(r.choice("fill.override.model", 3)?)));
    }
    Ok(f)
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

    /// A zigzag LEB128 varint; more than 10 bytes, or bits beyond 64, are invalid.
    fn varint(&mut self, field: &'static str) -> Result<i64, CodecError> {
        let at = self.pos;
        let mut z = 0u64;
        for i in 0..MAX_VARINT {
            let b = self.u8(field)?;
            if i == MAX_VARINT - 1 && b > 1 {
                return Err(invalid(field, at, b));
            }
            z |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        Err(invalid(field, at, 0x80))
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

    /// A probability in parts per million (at most [`PPM`]).
    fn ppm(&mut self, field: &'static str) -> Result<u32, CodecError> {
        let at = self.pos;
        let v = self.u32(field)?;
        if v > PPM {
            return Err(CodecError::InvalidValue { field, offset: at, value: u64::from(v) });
        }
        Ok(v)
    }

    /// A venue delay in ns, 0 to [`MAX_LATENCY_NS`].
    fn latency(&mut self, field: &'static str) -> Result<i64, CodecError> {
        let at = self.pos;
        let v = self.i64(field)?;
        if !(0..=MAX_LATENCY_NS).contains(&v) {
            return Err(CodecError::InvalidValue { field, offset: at, value: v as u64 });
        }
        Ok(v)
    }

    /// Reads a byte that must be below `count`.
    fn choice(&mut self, field: &'static str, count: u8) -> Result<u8, CodecError> {
        let at = self.pos;
        let v = self.u8(field)?;
        if v < count { Ok(v) } else { Err(invalid(field, at, v)) }
    }
}

/// Decodes a tick over `t`, every field (absent fields and depth levels past the stored
/// ones are zeroed).
fn decode_tick(r: &mut Reader<'_>, t: &mut Tick) -> Result<(), CodecError> {
    t.symbol = SymbolId(r.u32("tick.symbol")?);
    let present = u16::from_le_bytes(r.array("tick.present")?);
    let mut fields = [0i64; 16];
    for (i, f) in fields.iter_mut().enumerate() {
        if present & (1 << i) != 0 {
            *f = r.varint(TICK_FIELDS[i])?;
        }
    }
    set_tick_fields(t, fields);
    decode_depth(r, t, |r, field| r.varint(field))
}

/// The names of a tick's 16 integer fields, for errors.
const TICK_FIELDS: [&str; 16] = [
    "tick.ltp",
    "tick.bid",
    "tick.ask",
    "tick.bid_qty",
    "tick.ask_qty",
    "tick.open",
    "tick.high",
    "tick.low",
    "tick.close",
    "tick.volume",
    "tick.last_qty",
    "tick.avg_price",
    "tick.total_buy_qty",
    "tick.total_sell_qty",
    "tick.oi",
    "tick.ltt_ms",
];

/// The tail shared by both tick layouts: mode, source and depth, each level value read
/// with `value` (fixed `i64` in version 1, a varint in version 2).
fn decode_depth(
    r: &mut Reader<'_>,
    t: &mut Tick,
    value: fn(&mut Reader<'_>, &'static str) -> Result<i64, CodecError>,
) -> Result<(), CodecError> {
    t.mode = r.u8("tick.mode")?;
    t.source = match r.choice("tick.source", 2)? {
        0 => QuoteSource::Stream,
        _ => QuoteSource::Poll,
    };
    t.depth.levels = r.u8("tick.depth.levels")?;
    let stored = usize::from(r.choice("tick.depth.stored", 6)?);
    for i in 0..t.depth.buy.len() {
        for side in 0..2 {
            let level = if i < stored {
                Level {
                    price: Price(value(r, "tick.depth.price")?),
                    quantity: value(r, "tick.depth.quantity")?,
                    orders: value(r, "tick.depth.orders")?,
                }
            } else {
                Level::default()
            };
            if side == 0 {
                t.depth.buy[i] = level;
            } else {
                t.depth.sell[i] = level;
            }
        }
    }
    Ok(())
}

/// Decodes a version-1 tick over `t` (fixed `i64` fields).
fn decode_tick_v1(r: &mut Reader<'_>, t: &mut Tick) -> Result<(), CodecError> {
    t.symbol = SymbolId(r.u32("tick.symbol")?);
    let mut fields = [0i64; 16];
    for (f, name) in fields.iter_mut().zip(TICK_FIELDS) {
        *f = r.i64(name)?;
    }
    set_tick_fields(t, fields);
    decode_depth(r, t, |r, field| r.i64(field))
}

fn decode_order(r: &mut Reader<'_>) -> Result<OrderRequest, CodecError> {
    Ok(OrderRequest {
        symbol: SymbolId(r.u32("order.symbol")?),
        side: side_of_byte(r.choice("order.side", 2)?),
        qty: Qty(r.i64("order.qty")?),
        price_type: match r.choice("order.price_type", 4)? {
            0 => PriceType::Market,
            1 => PriceType::Limit,
            2 => PriceType::StopLimit,
            _ => PriceType::StopMarket,
        },
        product: product_of_byte(r.choice("order.product", 3)?),
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
        CMD_RESET_FUNDS => CommandKind::ResetFunds,
        CMD_PLACE_GTT => CommandKind::PlaceGtt(decode_gtt(r)?),
        CMD_MODIFY_GTT => {
            CommandKind::ModifyGtt { id: r.u64("command.gtt_id")?, gtt: decode_gtt(r)? }
        }
        CMD_CANCEL_GTT => CommandKind::CancelGtt { id: r.u64("command.gtt_id")? },
        other => return Err(invalid("command.kind", at, other)),
    };
    Ok(Command { ticket, kind })
}

/// Event kind 4: an engine halt (owned by reliab, issue 14). Not an [`Input`]: the
/// journal reader yields it apart from the events ([`decode_halt`]), so no stage ever sees it.
///
/// ```text
/// halt := version:u8 kind:u8 (=4) seq:u64 time_ns:i64 len:u16 utf8 text (<= HALT_TEXT_MAX)
/// ```
const KIND_HALT: u8 = 4;

/// The longest halt text stored, in bytes (longer texts are cut at a character boundary),
/// so a halt record is never longer than [`MAX_ENCODED`].
pub const HALT_TEXT_MAX: usize = 400;

/// A halt as journaled: the stage panic that stopped the engine taking orders, at the
/// sequence of the event it failed on (that event itself is not journaled when the stage
/// holds state, see `journal::stage::JournalStage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaltRecord {
    /// The sequence the record takes (the voided event's, or the first free one).
    pub seq: Seq,
    /// Wall time, epoch ns.
    pub time_ns: i64,
    /// What failed and why.
    pub why: String,
}

/// Appends the encoding of a halt to `buf`.
pub fn encode_halt(halt: &HaltRecord, buf: &mut Vec<u8>) {
    let mut end = halt.why.len().min(HALT_TEXT_MAX);
    while !halt.why.is_char_boundary(end) {
        end -= 1;
    }
    buf.push(VERSION);
    buf.push(KIND_HALT);
    put_u64(buf, halt.seq.0);
    put_i64(buf, halt.time_ns);
    buf.extend_from_slice(&(end as u16).to_le_bytes());
    buf.extend_from_slice(&halt.why.as_bytes()[..end]);
}

/// True when `bytes` is a halt record's payload (its kind byte is 4); [`decode_halt`]
/// then reads it and [`decode`] refuses it.
pub fn is_halt(bytes: &[u8]) -> bool {
    bytes.get(1) == Some(&KIND_HALT)
}

/// Decodes a halt record (the whole of `bytes`).
pub fn decode_halt(bytes: &[u8]) -> Result<HaltRecord, CodecError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8("version")?;
    if !(OLDEST_READ..=VERSION).contains(&version) {
        return Err(CodecError::UnsupportedVersion { found: version });
    }
    let kind_at = r.pos;
    let kind = r.u8("kind")?;
    if kind != KIND_HALT {
        return Err(invalid("kind", kind_at, kind));
    }
    let seq = Seq(r.u64("seq")?);
    let time_ns = r.i64("time_ns")?;
    let len_at = r.pos;
    let len = u16::from_le_bytes(r.array("halt.len")?);
    if usize::from(len) > HALT_TEXT_MAX {
        return Err(CodecError::InvalidValue {
            field: "halt.len",
            offset: len_at,
            value: len.into(),
        });
    }
    let text_at = r.pos;
    let text = r.take("halt.text", usize::from(len))?;
    let why = std::str::from_utf8(text)
        .map_err(|_| CodecError::InvalidUtf8 { field: "halt.text", offset: text_at })?
        .to_string();
    if r.pos != bytes.len() {
        return Err(CodecError::TrailingBytes { offset: r.pos, extra: bytes.len() - r.pos });
    }
    Ok(HaltRecord { seq, time_ns, why })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::Depth;

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

    fn gtt() -> GttRequest {
        GttRequest {
            symbol: SymbolId(9),
            side: Side::Buy,
            qty: Qty(75),
            product: Product::Nrml,
            below_trigger: Price(1_000_000),
            below_price: Price(990_000),
            above_trigger: Price(1_200_000),
            above_price: Price(1_210_000),
            single: false,
            expires_ns: 1_800_000_000_000_000_000,
            strategy: Tag::new("gtt").unwrap(),
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
            CommandKind::ResetFunds,
            CommandKind::PlaceGtt(gtt()),
            CommandKind::ModifyGtt { id: 7, gtt: GttRequest { single: true, ..gtt() } },
            CommandKind::CancelGtt { id: u64::MAX },
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
        // After the commands, so the indices the tests below name stay put.
        inputs.extend([
            Input::FillSettings(FillConfig::default()),
            Input::FillSettings(FillConfig {
                model: FillModel::Depth,
                depth_levels: 3,
                touch_fill_ppm: PPM,
                slippage_ppm: 250_000,
                seed: u64::MAX,
                latency_ns: MAX_LATENCY_NS,
                jitter_ns: 1,
                overrides: [
                    Some((Tag::new("scalper").unwrap(), FillModel::Touch)),
                    Some((Tag::new(&"s".repeat(Tag::CAPACITY)).unwrap(), FillModel::OpenAlgo)),
                    Some((Tag::new("").unwrap(), FillModel::Depth)),
                    Some((Tag::new("strätegy").unwrap(), FillModel::Touch)),
                ],
            }),
            Input::FillSettings(FillConfig {
                model: FillModel::Touch,
                overrides: [Some((Tag::new("x").unwrap(), FillModel::Depth)), None, None, None],
                ..FillConfig::default()
            }),
        ]);
        inputs
            .into_iter()
            .enumerate()
            .map(|(i, input)| Event {
                header: Header {
                    seq: Seq(i as u64 + 1),
                    time_ns: -5 + i as i64,
                    recv_ns: 0,
                    stream_seq: 0,
                },
                input,
            })
            .chain([Event {
                // A tick consumed from the relay's stream (kind 5), at the largest position.
                header: Header { seq: Seq(99), time_ns: 7, recv_ns: 0, stream_seq: u64::MAX },
                input: Input::Tick(full_tick()),
            }])
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

    #[test]
    fn fill_settings_out_of_range_are_named() {
        let settings = samples()
            .into_iter()
            .find(|e| matches!(e.input, Input::FillSettings(_)))
            .expect("a settings sample");
        let bad = |at: usize, bytes: &[u8]| {
            let mut b = encoded(&settings);
            b[at..at + bytes.len()].copy_from_slice(bytes);
            decode(&b)
        };
        // Header 18: model 18, depth_levels 19, touch ppm 20, slippage ppm 24, seed 28,
        // latency 36, jitter 44, override count 52.
        let e = |field, offset, value| Err(CodecError::InvalidValue { field, offset, value });
        assert_eq!(bad(18, &[3]), e("fill.model", 18, 3));
        assert_eq!(bad(19, &[0]), e("fill.depth_levels", 19, 0));
        assert_eq!(bad(19, &[6]), e("fill.depth_levels", 19, 6));
        let over = (PPM + 1).to_le_bytes();
        assert_eq!(bad(24, &over), e("fill.slippage_ppm", 24, u64::from(PPM) + 1));
        assert_eq!(bad(36, &(-1i64).to_le_bytes()), e("fill.latency_ns", 36, u64::MAX));
        assert_eq!(bad(52, &[5]), e("fill.overrides", 52, 5));
        // One override announced, none written.
        assert!(matches!(bad(52, &[1]), Err(CodecError::Truncated { .. })));
    }

    /// The version-1 layout, written out here (the encoder writes version 2 only) so the
    /// test proves journals from before the varint layout still decode to the same event.
    fn encoded_v1(e: &Event) -> Vec<u8> {
        let Input::Tick(t) = &e.input else { return encoded(e) };
        let mut b = vec![1, KIND_TICK];
        put_u64(&mut b, e.header.seq.0);
        put_i64(&mut b, e.header.time_ns);
        put_u32(&mut b, t.symbol.0);
        for v in tick_fields(t) {
            put_i64(&mut b, v);
        }
        b.extend_from_slice(&[t.mode, t.source as u8, t.depth.levels, 5]);
        for i in 0..5 {
            for l in [&t.depth.buy[i], &t.depth.sell[i]] {
                for v in [l.price.0, l.quantity, l.orders] {
                    put_i64(&mut b, v);
                }
            }
        }
        b
    }

    #[test]
    fn a_stream_tick_keeps_its_stream_sequence_and_zero_is_refused() {
        let e = samples().into_iter().find(|e| e.header.stream_seq != 0).unwrap();
        let mut bytes = encoded(&e);
        assert_eq!(bytes[1], KIND_STREAM_TICK);
        assert_eq!(decode(&bytes).map(|d| d.header.stream_seq), Ok(u64::MAX));
        // The same tick from anywhere else is kind 1, without the field.
        let plain = Event { header: Header { stream_seq: 0, ..e.header }, ..e };
        assert_eq!(encoded(&plain).len() + 8, bytes.len());
        bytes[18..26].fill(0);
        assert!(matches!(
            decode(&bytes),
            Err(CodecError::InvalidValue { field: "stream_seq", offset: 18, .. })
        ));
    }

    #[test]
    fn version_1_ticks_still_decode() {
        // Version 1 had no stream ticks (kind 5 came with version 2).
        let v1_shapes = |e: &Event| matches!(e.input, Input::Tick(_)) && e.header.stream_seq == 0;
        for e in samples().into_iter().filter(v1_shapes) {
            let v1 = encoded_v1(&e);
            assert_eq!(decode(&v1), Ok(e));
            assert!(encoded(&e).len() < v1.len(), "version 2 is the smaller layout");
        }
        let mut v1 = encoded_v1(&samples()[0]);
        v1[0] = 0;
        assert_eq!(decode(&v1), Err(CodecError::UnsupportedVersion { found: 0 }));
    }

    #[test]
    fn varints_cover_the_whole_range_and_refuse_overlong_forms() {
        for v in [0, 1, -1, 63, -64, 64, -65, i64::MAX, i64::MIN, 12_345_000, -420_000] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert!(b.len() <= MAX_VARINT);
            let mut r = Reader { bytes: &b, pos: 0 };
            assert_eq!(r.varint("v"), Ok(v), "{v}");
            assert_eq!(r.pos, b.len());
        }
        // Eleven continuation bytes, and a tenth byte with bits past 64.
        let long = [0x80u8; 11];
        let err = Reader { bytes: &long, pos: 0 }.varint("v");
        assert!(matches!(err, Err(CodecError::InvalidValue { field: "v", offset: 0, .. })));
        let mut wide = [0xffu8; 10];
        wide[9] = 0x02;
        let err = Reader { bytes: &wide, pos: 0 }.varint("v");
        assert!(matches!(err, Err(CodecError::InvalidValue { field: "v", offset: 0, .. })));
    }

    #[test]
    fn a_quote_tick_is_about_a_quarter_of_the_fixed_layout() {
        let t = Tick {
            symbol: SymbolId(17),
            ltp: Price(25_005_000),
            bid: Price(25_000_000),
            ask: Price(25_010_000),
            mode: 2,
            ..Tick::default()
        };
        let e = Event {
            header: Header { seq: Seq(9), time_ns: 1, recv_ns: 0, stream_seq: 0 },
            input: Input::Tick(t),
        };
        assert_eq!(encoded(&e).len(), 18 + 4 + 2 + 3 * 4 + 4);
        assert_eq!(encoded_v1(&e).len(), 18 + 4 + 16 * 8 + 4 + 5 * 2 * 24);
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

    #[test]
    fn a_halt_round_trips_and_a_long_text_is_cut_at_a_character_boundary() {
        let halt = HaltRecord { seq: Seq(9), time_ns: -3, why: "stage mtm failed: é".into() };
        let mut buf = Vec::new();
        encode_halt(&halt, &mut buf);
        assert!(is_halt(&buf));
        assert_eq!(decode_halt(&buf), Ok(halt));
        assert!(matches!(decode(&buf), Err(CodecError::InvalidValue { field: "kind", .. })));
        let long = HaltRecord { seq: Seq(1), time_ns: 0, why: "é".repeat(HALT_TEXT_MAX) };
        buf.clear();
        encode_halt(&long, &mut buf);
        assert!(buf.len() <= MAX_ENCODED);
        let back = decode_halt(&buf).unwrap();
        assert_eq!(back.why.len(), HALT_TEXT_MAX);
        assert!(long.why.starts_with(&back.why));
        for cut in 0..buf.len() {
            assert!(decode_halt(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }
}
