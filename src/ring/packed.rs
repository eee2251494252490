//! The form an event takes inside a ring slot: the input without its bulky payloads,
//! which wait in the slot's side cell ([`Aside`]) instead.
//!
//! A `Tick` carries five levels of depth a side (248 bytes) and `FillSettings` a whole
//! [`FillConfig`] (208 bytes), yet most events are ticks without depth: inline, every slot
//! would be sized for the rare case, and 8,192 such slots are more than L2. Packed, a slot
//! holds the 144 bytes of a tick's quote fields and a flag; the depth (or the fill settings)
//! is copied into the slot's own side cell, a separate allocation touched only by the
//! events that carry one.
//!
//! # Invariants
//! - [`pack`] then [`PackedEvent::unpack`] with the same side cell gives back exactly the
//!   event packed, for every input (tested below): stages see the same event, depth
//!   included, as if it had been stored whole. A tick's depth goes aside whenever it
//!   differs from `Depth::default()`, whatever its `levels` say, so even a depth with
//!   `levels == 0` and stray levels (a hand-made journal) survives.
//! - The side cell belongs to the slot: written through `&mut Slot` by the producer, read
//!   through `&Slot` by the stages, so the ring's barriers order it like the rest of the
//!   slot (see [`crate::ring::slot`]); no `unsafe` is involved.
//!
//! # Performance
//! Packing compares a tick's depth with the default only when `levels == 0` (a read of
//! the input the producer already holds in cache). Unpacking builds the full event on the
//! consumer's stack (a copy of hot data); the depth is read from the side cell only when
//! the tick has one.

#![forbid(unsafe_code)]

use crate::event::{Command, Depth, Event, Header, Input, Query, QuoteSource, Tick};
use crate::exec::fill::FillConfig;
use crate::types::{Price, SymbolId};

/// A slot's side cell: the payload too big to keep in every slot (one at a time: a slot
/// holds one event).
#[derive(Clone, Debug, Default)]
pub struct Aside(Payload);

#[derive(Clone, Debug, Default)]
enum Payload {
    #[default]
    Nothing,
    /// The depth of the tick in the slot (when its flag says it has one).
    Depth(Depth),
    /// The fill settings of a `FillSettings` event in the slot.
    Fill(FillConfig),
}

/// An event as a slot holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackedEvent {
    header: Header,
    input: PackedInput,
}

/// [`Input`] with the tick's depth and the fill settings in the side cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum PackedInput {
    #[default]
    Empty,
    Tick(TickHead),
    Command(Command),
    Timer,
    Query(Query),
    Snapshot,
    FillSettings,
}

/// A [`Tick`] without its depth; `depth` says whether the side cell holds one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TickHead {
    symbol: SymbolId,
    ltp: Price,
    bid: Price,
    ask: Price,
    bid_qty: i64,
    ask_qty: i64,
    open: Price,
    high: Price,
    low: Price,
    close: Price,
    volume: i64,
    last_qty: i64,
    avg_price: Price,
    total_buy_qty: i64,
    total_sell_qty: i64,
    oi: i64,
    ltt_ms: i64,
    mode: u8,
    source: QuoteSource,
    depth: bool,
}

/// Packs `event` for a slot, moving its bulky payload (if any) into `aside`.
#[inline]
pub fn pack(event: &Event, aside: &mut Aside) -> PackedEvent {
    let input = match &event.input {
        Input::Empty => PackedInput::Empty,
        Input::Tick(t) => PackedInput::Tick(head(t, aside)),
        Input::Command(c) => PackedInput::Command(*c),
        Input::Timer => PackedInput::Timer,
        Input::Query(q) => PackedInput::Query(*q),
        Input::Snapshot => PackedInput::Snapshot,
        Input::FillSettings(f) => {
            aside.0 = Payload::Fill(*f);
            PackedInput::FillSettings
        }
    };
    PackedEvent { header: event.header, input }
}

/// The tick's quote fields; its depth goes to `aside` unless it is the default.
#[inline]
fn head(t: &Tick, aside: &mut Aside) -> TickHead {
    // Destructured without `..`: a field added to `Tick` fails to compile here until it
    // is packed too.
    let Tick {
        symbol,
        ltp,
        bid,
        ask,
        bid_qty,
        ask_qty,
        open,
        high,
        low,
        close,
        volume,
        last_qty,
        avg_price,
        total_buy_qty,
        total_sell_qty,
        oi,
        ltt_ms,
        mode,
        source,
        ref depth,
    } = *t;
    let has_depth = depth.levels > 0 || *depth != Depth::default();
    if has_depth {
        aside.0 = Payload::Depth(*depth);
    }
    TickHead {
        symbol,
        ltp,
        bid,
        ask,
        bid_qty,
        ask_qty,
        open,
        high,
        low,
        close,
        volume,
        last_qty,
        avg_price,
        total_buy_qty,
        total_sell_qty,
        oi,
        ltt_ms,
        mode,
        source,
        depth: has_depth,
    }
}

impl PackedEvent {
    /// The event packed into this slot, whole again; `aside` must be the same slot's side
    /// cell.
    #[inline]
    pub fn unpack(&self, aside: &Aside) -> Event {
        let input = match &self.input {
            PackedInput::Empty => Input::Empty,
            PackedInput::Tick(h) => Input::Tick(Tick {
                symbol: h.symbol,
                ltp: h.ltp,
                bid: h.bid,
                ask: h.ask,
                bid_qty: h.bid_qty,
                ask_qty: h.ask_qty,
                open: h.open,
                high: h.high,
                low: h.low,
                close: h.close,
                volume: h.volume,
                last_qty: h.last_qty,
                avg_price: h.avg_price,
                total_buy_qty: h.total_buy_qty,
                total_sell_qty: h.total_sell_qty,
                oi: h.oi,
                ltt_ms: h.ltt_ms,
                mode: h.mode,
                source: h.source,
                depth: match (&aside.0, h.depth) {
                    (Payload::Depth(d), true) => *d,
                    // `pack` set the payload with the flag: no depth, or unreachable.
                    _ => Depth::default(),
                },
            }),
            PackedInput::Command(c) => Input::Command(*c),
            PackedInput::Timer => Input::Timer,
            PackedInput::Query(q) => Input::Query(*q),
            PackedInput::Snapshot => Input::Snapshot,
            PackedInput::FillSettings => Input::FillSettings(match &aside.0 {
                Payload::Fill(f) => *f,
                // `pack` always sets the payload with this variant: unreachable.
                _ => FillConfig::default(),
            }),
        };
        Event { header: self.header, input }
    }

    /// The header (sequence and times), without unpacking.
    #[inline]
    pub fn header(&self) -> &Header {
        &self.header
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CommandKind, Level, QueryKind, Ticket};
    use crate::exec::fill::FillModel;
    use crate::types::{OrderId, Seq};

    fn depth_tick(levels: u8) -> Tick {
        let mut t = Tick { symbol: SymbolId(7), ltp: Price(100), mode: 3, ..Tick::default() };
        t.depth.levels = levels;
        for i in 0..5 {
            let k = i as i64;
            t.depth.buy[i] = Level { price: Price(99 - k), quantity: 10 + k, orders: 1 + k };
            t.depth.sell[i] = Level { price: Price(101 + k), quantity: 20 + k, orders: 2 + k };
        }
        t
    }

    fn every_input() -> Vec<Input> {
        let quote = Tick {
            symbol: SymbolId(3),
            ltp: Price(5),
            bid: Price(4),
            ask: Price(6),
            bid_qty: 1,
            ask_qty: 2,
            open: Price(7),
            high: Price(8),
            low: Price(3),
            close: Price(9),
            volume: 10,
            last_qty: 11,
            avg_price: Price(12),
            total_buy_qty: 13,
            total_sell_qty: 14,
            oi: 15,
            ltt_ms: 16,
            mode: 2,
            source: QuoteSource::Poll,
            ..Tick::default()
        };
        let mut stray = Tick::default();
        stray.depth.sell[4].orders = 1; // levels == 0, yet not the default
        let fill = FillConfig { model: FillModel::Depth, seed: 42, ..FillConfig::default() };
        vec![
            Input::Empty,
            Input::Tick(quote),
            Input::Tick(depth_tick(5)),
            Input::Tick(depth_tick(2)),
            Input::Tick(stray),
            Input::Tick(quote),
            Input::Command(Command {
                ticket: Ticket(9),
                kind: CommandKind::Cancel { order_id: OrderId(4) },
            }),
            Input::Timer,
            Input::Query(Query { ticket: Ticket(1), kind: QueryKind::OrderStatus(OrderId(2)) }),
            Input::Snapshot,
            Input::FillSettings(fill),
            Input::FillSettings(FillConfig::default()),
            Input::Tick(Tick::default()),
        ]
    }

    #[test]
    fn every_input_comes_back_exactly_through_a_reused_slot() {
        // One side cell for all, as a slot reused around the ring: what an earlier event
        // left aside never leaks into a later one.
        let mut aside = Aside::default();
        for (i, input) in every_input().into_iter().enumerate() {
            let event = Event {
                header: Header { seq: Seq(i as u64), time_ns: 5, recv_ns: 6, stream_seq: 7 },
                input,
            };
            let packed = pack(&event, &mut aside);
            assert_eq!(packed.unpack(&aside), event, "input {i}");
            assert_eq!(packed.header(), &event.header);
        }
    }

    #[test]
    fn a_packed_event_is_small() {
        assert!(
            std::mem::size_of::<PackedEvent>() <= 192,
            "{}",
            std::mem::size_of::<PackedEvent>()
        );
        assert!(std::mem::size_of::<PackedEvent>() < std::mem::size_of::<Event>() / 2);
    }
}
