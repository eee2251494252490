//! Shared workload builders for the benches: a synthetic universe of N symbols, resting
//! orders placed through the real execution stage, and a tick stream that walks prices.

#![allow(dead_code, reason = "each bench uses a subset")]

use std::sync::Arc;
use tickfill::event::{CommandKind, Event, Header, Input, OrderRequest, StageOutput, Tick};
use tickfill::exec::{Exec, ExecConfig};
use tickfill::instruments::InstrumentMaster;
use tickfill::types::{Money, Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag};

/// 10:00 IST on a trading day, so MIS orders are allowed.
pub fn t0() -> i64 {
    tickfill::clock::ist_to_epoch_ns(2026, 11, 26, 10, 0)
}

/// A universe of `n` NSE equities priced 1000.00.
pub fn universe(n: usize) -> Arc<InstrumentMaster> {
    let mut csv = String::from("symbol,exchange,lotsize,tick_size,instrumenttype,prev_close\n");
    for i in 0..n {
        csv.push_str(&format!("SYM{i},NSE,1,0.05,EQ,1000\n"));
    }
    Arc::new(InstrumentMaster::from_csv_str(&csv).expect("valid synthetic universe"))
}

/// Execution with a huge capital so margin never refuses the workload.
pub fn exec(master: &Arc<InstrumentMaster>) -> Exec {
    let config = ExecConfig { starting_capital: Money(i64::MAX / 4), ..ExecConfig::default() };
    Exec::new(config, Arc::clone(master))
}

pub fn event(seq: u64, input: Input) -> Event {
    Event {
        header: Header { seq: Seq(seq), time_ns: t0() + seq as i64, recv_ns: 0, stream_seq: 0 },
        input,
    }
}

pub fn tick(symbol: u32, ltp: i64) -> Tick {
    Tick {
        symbol: SymbolId(symbol),
        ltp: Price(ltp),
        bid: Price(ltp - 500),
        ask: Price(ltp + 500),
        ..Tick::default()
    }
}

/// Seeds every symbol with a price, then rests `orders` LIMIT orders spread over the
/// symbols, 1..=50 ticks away from 1000.00 on the passive side (none marketable).
pub fn rest_orders(exec: &mut Exec, symbols: usize, orders: usize) -> u64 {
    let mut out = StageOutput::new();
    let mut seq = 1;
    for s in 0..symbols {
        out.clear();
        exec.apply(&event(seq, Input::Tick(tick(s as u32, 1000_0000))), &mut out);
        seq += 1;
    }
    for i in 0..orders {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let away = 500 * (1 + (i as i64 / symbols as i64) % 50);
        let price = if side == Side::Buy { 1000_0000 - away } else { 1000_0000 + away };
        let cmd = CommandKind::Place(OrderRequest {
            symbol: SymbolId((i % symbols) as u32),
            side,
            qty: Qty(1),
            price_type: PriceType::Limit,
            product: Product::Mis,
            price: Price(price),
            trigger: Price::ZERO,
            disclosed: Qty::ZERO,
            strategy: Tag::EMPTY,
        });
        out.clear();
        let ev = event(
            seq,
            Input::Command(tickfill::event::Command { ticket: Default::default(), kind: cmd }),
        );
        exec.apply(&ev, &mut out);
        seq += 1;
    }
    seq
}
