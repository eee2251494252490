//! The execution stage's tick path allocates nothing: resting limits fill, stop-limits
//! trigger into their limit sets and then fill, stop-markets trigger and fill, and a
//! counting allocator sees no allocation on the thread while the ticks are applied.
//!
//! The room comes from the command path (`exec/book.rs` growth rule, `exec/room.rs`);
//! fills per tick stay within `StageOutput::PREALLOCATED_UPDATES`, the slot's own room.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use tickfill::event::Tick;
use tickfill::event::{Command, CommandKind, Event, Header, Input, OrderRequest, StageOutput};
use tickfill::exec::{Exec, ExecConfig};
use tickfill::instruments::InstrumentMaster;
use tickfill::types::{
    Money, OrderStatus, Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag,
};

/// The system allocator, counting the allocations of the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counter is a thread-local `Cell` of a const-initialized `u64` (no
// allocation, no destructor), so counting cannot re-enter the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's layout contract is passed on to `System` as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc`/`realloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: as `dealloc` for `ptr`, and the caller guarantees `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const SYMBOLS: u32 = 50;

/// Rupees to a price.
fn rs(r: f64) -> Price {
    Price::from_f64(r).expect("price")
}

fn event(seq: u64, input: Input) -> Event {
    let t0 = tickfill::clock::ist_to_epoch_ns(2026, 11, 26, 10, 0);
    Event {
        header: Header { seq: Seq(seq), time_ns: t0 + seq as i64, recv_ns: 0, stream_seq: 0 },
        input,
    }
}

fn order(symbol: u32, side: Side, price_type: PriceType, price: f64, trigger: f64) -> Input {
    let req = OrderRequest {
        symbol: SymbolId(symbol),
        side,
        qty: Qty(1),
        price_type,
        product: Product::Mis,
        price: rs(price),
        trigger: rs(trigger),
        disclosed: Qty::ZERO,
        strategy: Tag::EMPTY,
    };
    Input::Command(Command { ticket: Default::default(), kind: CommandKind::Place(req) })
}

fn tick(symbol: u32, ltp: f64) -> Input {
    Input::Tick(Tick { symbol: SymbolId(symbol), ltp: rs(ltp), ..Tick::default() })
}

#[test]
fn fills_and_triggers_on_ticks_allocate_nothing() {
    let mut csv = String::from("symbol,exchange,lotsize,tick_size,instrumenttype,prev_close\n");
    for i in 0..SYMBOLS {
        csv.push_str(&format!("SYM{i},NSE,1,0.05,EQ,1000\n"));
    }
    let master = Arc::new(InstrumentMaster::from_csv_str(&csv).expect("universe"));
    let config = ExecConfig { starting_capital: Money(i64::MAX / 4), ..ExecConfig::default() };
    let mut exec = Exec::new(config, master);
    let (mut out, mut seq) = (StageOutput::new(), 0u64);
    let mut apply = |exec: &mut Exec, out: &mut StageOutput, input: Input| {
        seq += 1;
        out.clear();
        exec.apply(&event(seq, input), out);
    };
    // The command path: a quote per symbol, then per symbol 3 BUY and 5 SELL limits, 3
    // BUY stop-limits whose limit sits under their trigger, 2 SELL stop-markets.
    for s in 0..SYMBOLS {
        apply(&mut exec, &mut out, tick(s, 1000.0));
        for i in 0..5 {
            if i < 3 {
                apply(
                    &mut exec,
                    &mut out,
                    order(s, Side::Buy, PriceType::Limit, 999.5 - 0.5 * f64::from(i), 0.0),
                );
                apply(
                    &mut exec,
                    &mut out,
                    order(s, Side::Buy, PriceType::StopLimit, 1002.9, 1003.0),
                );
            }
            apply(
                &mut exec,
                &mut out,
                order(s, Side::Sell, PriceType::Limit, 1000.5 + 0.5 * f64::from(i), 0.0),
            );
        }
        for _ in 0..2 {
            apply(&mut exec, &mut out, order(s, Side::Sell, PriceType::StopMarket, 0.0, 996.0));
        }
        assert_eq!(exec.pending_count(SymbolId(s)), 13);
    }
    let (orders, trades) = exec.totals();
    assert_eq!((orders, trades), (13 * SYMBOLS as usize, 0));

    // The tick path: 1003.00 fills the 5 sells and triggers the 3 stop-limits into the
    // buy limits (8 updates); 995.50 fills the 3 limits and the 2 stop-markets (5 updates;
    // an open stop-limit needs its trigger and its limit met, so the triggered ones rest).
    let before = allocations();
    let mut updates = 0;
    for s in 0..SYMBOLS {
        apply(&mut exec, &mut out, tick(s, 1003.0));
        updates += out.updates.len();
        let triggered = out.updates.iter().filter(|u| u.fill.is_none()).count();
        assert_eq!(triggered, 3, "three stop-limits triggered");
        apply(&mut exec, &mut out, tick(s, 995.5));
        updates += out.updates.len();
    }
    let during = allocations() - before;
    assert_eq!(updates, 13 * SYMBOLS as usize);
    assert_eq!(exec.totals().1, 10 * SYMBOLS as usize, "every limit and stop-market filled");
    assert!((0..SYMBOLS).all(|s| exec.pending_count(SymbolId(s)) == 3), "the triggered rest");
    assert!(out.updates.iter().all(|u| u.order.status == OrderStatus::Complete));
    assert_eq!(during, 0, "allocations on the tick path");
}
