//! Property tests over random command and tick sequences: accounting invariants.

use super::testkit::{H, NIFTYFUT, SBIN, at, req, rs};
use super::*;
use crate::event::{ModifyRequest, OrderRequest, Tick};
use crate::types::{OrderId, Price, PriceType, Product, Side, Tag};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
enum Op {
    Tick { fut: bool, off: i64, stale: bool },
    Place { fut: bool, buy: bool, lots: i64, pt: u8, alt: bool, off: i64, toff: i64 },
    Cancel(usize),
    Modify { k: usize, lots: i64, off: i64 },
    Smart { fut: bool, target: i64 },
    CancelAll,
    Close,
    SquareOff,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), -10i64..=10, prop::bool::weighted(0.1))
            .prop_map(|(fut, off, stale)| Op::Tick { fut, off, stale }),
        6 => (any::<bool>(), any::<bool>(), 1i64..=4, 0u8..4, any::<bool>(), -8i64..=8, -8i64..=8)
            .prop_map(|(fut, buy, lots, pt, alt, off, toff)| Op::Place { fut, buy, lots, pt, alt, off, toff }),
        2 => (0usize..40).prop_map(Op::Cancel),
        2 => (0usize..40, 1i64..=4, -8i64..=8).prop_map(|(k, lots, off)| Op::Modify { k, lots, off }),
        1 => (any::<bool>(), -4i64..=4).prop_map(|(fut, target)| Op::Smart { fut, target }),
        1 => Just(Op::CancelAll),
        1 => Just(Op::Close),
        1 => Just(Op::SquareOff),
    ]
}

fn base(fut: bool) -> (SymbolId, i64, i64) {
    if fut { (NIFTYFUT, 25_000, 75) } else { (SBIN, 100, 1) }
}

fn pt_of(n: u8) -> PriceType {
    [PriceType::Market, PriceType::Limit, PriceType::StopLimit, PriceType::StopMarket]
        [usize::from(n)]
}

/// An `Op::Tick`: the instrument's base price moved by `off` (a stale one carries a day's
/// high and low below it).
fn tick_input(fut: bool, off: i64, stale: bool) -> Input {
    let (sym, px, _) = base(fut);
    let (high, low) = if stale { (rs(px - 20), rs(px - 30)) } else { (Price(0), Price(0)) };
    Input::Tick(Tick { symbol: sym, ltp: rs(px + off), high, low, ..Tick::default() })
}

/// An `Op::Place`: `lots` lots at the base price moved by `off` (trigger by `toff`); MIS,
/// or with `alt` NRML for the future and CNC for the equity.
fn place_request(
    fut: bool,
    buy: bool,
    lots: i64,
    pt: u8,
    alt: bool,
    off: i64,
    toff: i64,
) -> OrderRequest {
    let (sym, px, lot) = base(fut);
    let product = match (fut, alt) {
        (_, false) => Product::Mis,
        (true, true) => Product::Nrml,
        (false, true) => Product::Cnc,
    };
    let side = if buy { Side::Buy } else { Side::Sell };
    req(sym, side, lots * lot, pt_of(pt), product, px + off, px + toff)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn accounting_invariants_hold(ops in prop::collection::vec(op(), 1..60)) {
        let mut h = H::new();
        h.tick(SBIN, 100);
        h.tick(NIFTYFUT, 25_000);
        let mut ids: Vec<OrderId> = Vec::new();
        let mut filled: BTreeSet<OrderId> = BTreeSet::new();
        let mut net: BTreeMap<(SymbolId, Product), i64> = BTreeMap::new();
        for op in ops {
            // Ops that send nothing must not see the previous event's output.
            h.out.clear();
            match op {
                Op::Tick { fut, off, stale } => {
                    h.send(tick_input(fut, off, stale));
                }
                Op::Place { fut, buy, lots, pt, alt, off, toff } => {
                    h.place(place_request(fut, buy, lots, pt, alt, off, toff));
                }
                Op::Cancel(k) => {
                    if let Some(&id) = ids.get(k) {
                        h.cmd(CommandKind::Cancel { order_id: id });
                    }
                }
                Op::Modify { k, lots, off } => {
                    if let Some(&id) = ids.get(k) {
                        let o = h.ex.orders[h.ex.order_index(id).unwrap()];
                        let (_, px, lot) = base(o.symbol == NIFTYFUT);
                        let mut r = req(o.symbol, o.side, lots * lot, o.price_type, o.product, px + off, px - off);
                        r.strategy = o.strategy;
                        h.cmd(CommandKind::Modify(ModifyRequest { order_id: id, order: r }));
                    }
                }
                Op::Smart { fut, target } => {
                    let (sym, _, lot) = base(fut);
                    let order = req(sym, Side::Buy, 0, PriceType::Market, Product::Mis, 0, 0);
                    h.cmd(CommandKind::PlaceSmart { order, position_size: target * lot });
                }
                Op::CancelAll => { h.cmd(CommandKind::CancelAll { strategy: Tag::EMPTY }); }
                Op::Close => { h.cmd(CommandKind::ClosePosition { strategy: Tag::EMPTY }); }
                Op::SquareOff => {
                    h.time = at(15, 20);
                    h.send(Input::Timer);
                }
            }
            for u in &h.out.updates {
                if !ids.contains(&u.order.id) {
                    ids.push(u.order.id);
                }
                if let Some(f) = u.fill {
                    prop_assert!(filled.insert(u.order.id), "order {} filled twice", u.order.id);
                    prop_assert_eq!(f.qty, u.order.qty);
                    *net.entry((u.order.symbol, u.order.product)).or_default() += u.order.side.sign() * f.qty.0;
                }
            }
            // Conservation, exact.
            let f = h.ex.funds();
            prop_assert!(h.conserved(), "{:?}", f);
            // Used margin is exactly what working orders and open positions hold.
            let held: i64 = h.ex.orders.iter().filter(|o| o.status.is_working()).map(|o| o.blocked.0).sum::<i64>()
                + h.ex.positions.iter().map(|p| p.margin.0).sum::<i64>();
            prop_assert_eq!(f.used_margin.0, held);
            prop_assert!(h.ex.positions.iter().all(|p| p.qty.0 != 0 || p.margin.0 == 0));
            // Each position's quantity is the sum of its signed fills.
            for p in &h.ex.positions {
                prop_assert_eq!(p.qty.0, net.get(&(p.symbol, p.product)).copied().unwrap_or(0));
            }
            // The index holds exactly the working orders.
            for sym in [SBIN, NIFTYFUT] {
                let working = h.ex.orders.iter().filter(|o| o.symbol == sym && o.status.is_working()).count();
                prop_assert_eq!(h.ex.pending_count(sym), working);
            }
        }
        // Replaying the state through a snapshot keeps the digest.
        let back = Exec::restore(ExecConfig::default(), Arc::clone(&h.ex.instruments), &h.ex.snapshot()).unwrap();
        prop_assert_eq!(back.digest(), h.ex.digest());
        // The restored engine recounts its watchers: the same symbols need quotes.
        for s in 0..h.ex.books.len() as u32 {
            prop_assert_eq!(back.needs_quotes(SymbolId(s)), h.ex.needs_quotes(SymbolId(s)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Hostile values never panic (debug builds check every overflow).
    #[test]
    fn hostile_inputs_never_panic(
        steps in prop::collection::vec(
            (any::<bool>(), any::<i64>(), any::<i64>(), any::<i64>(), 0u8..4, any::<bool>()),
            1..40,
        )
    ) {
        let mut h = H::new();
        for (fut, a, b, c, pt, buy) in steps {
            let (sym, _, _) = base(fut);
            h.send(Input::Tick(Tick {
                symbol: sym,
                ltp: Price(a),
                bid: Price(b),
                ask: Price(c),
                high: Price(b.wrapping_abs()),
                low: Price(c.wrapping_abs() / 2),
                ..Tick::default()
            }));
            let side = if buy { Side::Buy } else { Side::Sell };
            let mut r = req(sym, side, 1, pt_of(pt), Product::Mis, 0, 0);
            r.qty = crate::types::Qty(b);
            r.price = Price(c);
            r.trigger = Price(a);
            h.place(r);
            let mut small = r;
            small.qty = crate::types::Qty(if fut { 75 } else { 1 + (b & 0xff).abs() });
            small.price = Price(c.wrapping_abs() % Price::MAX_INPUT.0);
            small.trigger = Price(a.wrapping_abs() % Price::MAX_INPUT.0);
            h.place(small);
            h.cmd(CommandKind::PlaceSmart { order: small, position_size: a });
            h.cmd(CommandKind::ClosePosition { strategy: Tag::EMPTY });
        }
        let _ = h.ex.digest();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Trading days: random orders and ticks while event time moves forward across
    /// cutoffs, expiry, 00:00 and 03:00 (sometimes days at once) keep the accounting exact,
    /// and a replay of the same events reaches the same state.
    #[test]
    fn trading_days_keep_the_accounting(
        steps in prop::collection::vec((op(), prop::option::weighted(0.3, 1i64..=2_000)), 1..60)
    ) {
        let mut h = H::new();
        h.tick(SBIN, 100);
        h.tick(NIFTYFUT, 25_000);
        for (op, advance) in steps {
            if let Some(minutes) = advance {
                h.time += minutes * 60_000_000_000;
                h.send(Input::Timer);
            }
            match op {
                Op::Tick { fut, off, stale } => {
                    h.send(tick_input(fut, off, stale));
                }
                Op::Place { fut, buy, lots, pt, alt, off, toff } => {
                    h.place(place_request(fut, buy, lots, pt, alt, off, toff));
                }
                Op::Cancel(_) | Op::Modify { .. } => {}
                Op::Smart { fut, target } => {
                    let (sym, _, lot) = base(fut);
                    let order = req(sym, Side::Buy, 0, PriceType::Market, Product::Mis, 0, 0);
                    h.cmd(CommandKind::PlaceSmart { order, position_size: target * lot });
                }
                Op::CancelAll => { h.cmd(CommandKind::ResetFunds); }
                Op::Close => { h.cmd(CommandKind::ClosePosition { strategy: Tag::EMPTY }); }
                Op::SquareOff => { h.send(Input::Timer); }
            }
            let f = h.ex.funds();
            prop_assert!(h.conserved(), "{:?}", f);
            let held: i64 = h.ex.orders.iter().filter(|o| o.status.is_working()).map(|o| o.blocked.0).sum::<i64>()
                + h.ex.positions.iter().map(|p| p.margin.0).sum::<i64>();
            prop_assert_eq!(f.used_margin.0, held);
            prop_assert!(h.ex.holdings.iter().all(|x| x.qty > 0 && x.cost.0 >= 0));
            // A CNC short never outgrows the holding it was sold from.
            let cnc = h.pos(SBIN, Product::Cnc);
            prop_assert!(cnc >= 0 || -cnc <= h.ex.held(SBIN), "cnc {} held {}", cnc, h.ex.held(SBIN));
            for sym in [SBIN, NIFTYFUT] {
                let working = h.ex.orders.iter().filter(|o| o.symbol == sym && o.status.is_working()).count();
                prop_assert_eq!(h.ex.pending_count(sym), working);
            }
            // Nothing working or open on a contract after its expiry close.
            if h.time >= at(15, 40) {
                prop_assert!(h.ex.orders.iter().all(|o| o.symbol != NIFTYFUT || !o.status.is_working() || o.time_ns >= at(15, 40)));
            }
        }
        prop_assert_eq!(h.replayed_digests(), h.digests());
    }
}
