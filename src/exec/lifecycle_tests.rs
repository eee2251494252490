//! Trading days through `Exec::apply` and the MTM stage: event time driven across each
//! cutoff, an expiry close, 00:00 and 03:00 IST, with books, holdings, funds and margins
//! checked after each boundary, and the same digest from a replay of the same events.

use super::session::{Boundary, day_of, weekday};
use super::testkit::*;
use super::*;
use crate::event::{Input, Reply, Tick};
use crate::types::{Money, OrderStatus, PriceType, Product, Qty, Side};
use crate::views::{HoldingRow, Order};

use Side::{Buy, Sell};

const DAY: i64 = 86_400_000_000_000;

/// IST `h:m` on day `n` after the test's first day (2026-11-26, a Thursday).
fn on(n: i64, h: u32, m: u32) -> i64 {
    at(h, m) + n * DAY
}

fn orders(h: &H) -> Vec<Order> {
    match h.ex.answer(&QueryKind::OrderBook) {
        Some(QueryReply::Orders(o)) => o,
        other => panic!("{other:?}"),
    }
}

fn trade_count(h: &H) -> usize {
    match h.ex.answer(&QueryKind::TradeBook) {
        Some(QueryReply::Trades(t)) => t.len(),
        other => panic!("{other:?}"),
    }
}

fn holdings(h: &H) -> Vec<HoldingRow> {
    match h.ex.answer(&QueryKind::Holdings) {
        Some(QueryReply::Holdings(rows)) => rows,
        other => panic!("{other:?}"),
    }
}

fn timer(h: &mut H, t: i64) {
    h.time = t;
    h.send(Input::Timer);
}

/// The same events replayed into a fresh engine give the same state now.
fn assert_replays(h: &H) {
    assert_eq!(h.replayed_digests(), h.digests(), "replay diverges at {}", h.events.len());
}

fn auto_orders(h: &H) -> usize {
    h.ex.orders.iter().filter(|o| o.strategy.as_str() == AUTO_SQUARE_OFF).count()
}

/// Positionbook rows as (symbol, product, qty, realized).
fn book(h: &H) -> Vec<(SymbolId, Product, i64, Money)> {
    h.mtm.positions().iter().map(|r| (r.symbol, r.product, r.qty.0, r.realized)).collect()
}

#[test]
fn a_trading_week_across_every_boundary() {
    let mut h = H::new();
    let cap = h.ex.config.starting_capital;
    h.tick(SBIN, 100);
    h.tick(INFY, 50);
    h.tick(NIFTYFUT, 25_000);
    h.tick(NIFTYCE, 200);
    h.placed(mkt(SBIN, Buy, 10, Product::Cnc)); // margin 1,000
    h.placed(mkt(SBIN, Buy, 5, Product::Mis)); // 100
    h.placed(mkt(INFY, Buy, 10, Product::Mis)); // 100
    h.placed(mkt(NIFTYFUT, Buy, 75, Product::Nrml)); // 187,500
    h.placed(mkt(NIFTYCE, Sell, 75, Product::Nrml)); // 15,000
    let resting = h.placed(req(NIFTYFUT, Buy, 75, PriceType::Limit, Product::Nrml, 24_000, 0));
    assert_eq!(h.ex.funds().used_margin, amt(383_700));

    // 15:00: SBIN moves; INFY's quote is stale (LTP above the day's high), so its close
    // cannot fill at 15:15.
    h.time = at(15, 0);
    h.tick(SBIN, 104);
    h.quote(INFY, 60, 0, 0, 55, 45);

    // 15:15 cutoff (NSE and BSE): MIS orders cancelled, positions closed.
    timer(&mut h, at(15, 15));
    assert_eq!(h.pos(SBIN, Product::Mis), 0);
    assert_eq!(h.pos(INFY, Product::Mis), 10, "close placed, not filled (stale quote)");
    assert_eq!(h.pos(SBIN, Product::Cnc), 10, "CNC is not squared off");
    assert_eq!(h.ex.funds().today_realized, amt(20));
    assert_eq!(auto_orders(&h), 2);
    assert_replays(&h);
    // 15:16: the failed close is cancelled and tried again; nothing else is touched.
    timer(&mut h, at(15, 16));
    assert_eq!(auto_orders(&h), 3);
    let infy_closes: Vec<_> =
        h.ex.orders
            .iter()
            .filter(|o| o.symbol == INFY && o.strategy.as_str() == AUTO_SQUARE_OFF)
            .map(|o| o.status)
            .collect();
    assert_eq!(infy_closes, [OrderStatus::Cancelled, OrderStatus::Open]);
    timer(&mut h, at(15, 16) + 30_000_000_000);
    assert_eq!(auto_orders(&h), 3, "at most once a minute");
    // A fresh quote fills the retried close.
    h.time = at(15, 17);
    h.quote(INFY, 52, 0, 0, 55, 45);
    assert_eq!(h.pos(INFY, Product::Mis), 0);
    assert_eq!(h.ex.funds().today_realized, amt(40));
    timer(&mut h, at(15, 18));
    assert_eq!(auto_orders(&h), 3, "nothing left to close");

    // 15:40: NFO contracts expiring today settle at their last price.
    h.time = at(15, 30);
    h.tick(NIFTYFUT, 25_100);
    h.tick(NIFTYCE, 150);
    timer(&mut h, at(15, 39));
    assert_eq!(h.pos(NIFTYFUT, Product::Nrml), 75);
    timer(&mut h, at(15, 40));
    assert_eq!(h.order(resting).status, OrderStatus::Cancelled);
    assert_eq!((h.pos(NIFTYFUT, Product::Nrml), h.pos(NIFTYCE, Product::Nrml)), (0, 0));
    let f = h.ex.funds();
    assert_eq!(f.today_realized, amt(40 + 7_500 + 3_750));
    assert_eq!(f.used_margin, amt(1_000), "only the CNC position holds margin");
    assert_eq!(f.available, cap.minus(amt(1_000)).plus(amt(11_290)));
    assert_eq!(book(&h).len(), 5, "open CNC + four flat rows with realized P&L");
    assert!(h.conserved());
    assert_replays(&h);

    // 00:00: T+1 moves the CNC long into holdings; its margin leaves used margin.
    timer(&mut h, on(1, 0, 0));
    let hs = holdings(&h);
    assert_eq!(hs.len(), 1);
    assert_eq!(
        (hs[0].symbol, hs[0].qty, hs[0].avg_price, hs[0].cost),
        (SBIN, Qty(10), rs(100), amt(1_000))
    );
    assert_eq!(hs[0].settlement_day, day_of(on(1, 0, 0)));
    let f = h.ex.funds();
    assert_eq!(
        (f.used_margin, f.available),
        (Money::ZERO, cap.minus(amt(1_000)).plus(amt(11_290)))
    );
    assert_eq!(h.pos(SBIN, Product::Cnc), 0);
    assert_eq!(book(&h).len(), 4, "the CNC row went to holdings");
    assert_eq!(orders(&h).len(), 9, "still yesterday's session until 03:00");
    assert!(h.conserved());
    assert!(h.ex.needs_quotes(SBIN), "a holding keeps its symbol streaming");
    assert_replays(&h);

    // 03:00: a new session. Books restart, today's realized P&L resets, totals stay.
    timer(&mut h, on(1, 3, 0));
    assert!(orders(&h).is_empty());
    assert_eq!(trade_count(&h), 0);
    assert!(book(&h).is_empty());
    let f = h.ex.funds();
    assert_eq!((f.today_realized, f.realized), (Money::ZERO, amt(11_290)));
    assert_eq!(h.mtm.funds_row().today_realized, Money::ZERO);
    assert_replays(&h);

    // Next morning: MIS trades again from 09:00; CNC SELL draws on the holding.
    h.time = on(1, 10, 0);
    h.tick(SBIN, 110);
    h.placed(mkt(SBIN, Sell, 4, Product::Cnc));
    assert_eq!(h.pos(SBIN, Product::Cnc), -4);
    assert_eq!(h.ex.funds().used_margin, Money::ZERO, "CNC SELL blocks nothing");
    let id = h.placed(mkt(SBIN, Sell, 7, Product::Cnc));
    let row = h.order(id);
    assert_eq!(row.status, OrderStatus::Rejected);
    assert_eq!(
        row.rejection.as_str(),
        "Cannot sell 7 shares of SBIN in CNC. Only 6 shares available (Position: 0, Holdings: 10)"
    );
    assert_eq!(orders(&h).len(), 2);
    assert_eq!(trade_count(&h), 1);

    // 00:00 again: the sale leaves the holding and credits the proceeds.
    timer(&mut h, on(2, 0, 0));
    let hs = holdings(&h);
    assert_eq!((hs[0].qty, hs[0].cost), (Qty(6), amt(600)));
    let f = h.ex.funds();
    assert_eq!(f.available, cap.minus(amt(1_000)).plus(amt(11_290)).plus(amt(440)));
    assert_eq!(f.realized, amt(11_290 + 40));
    assert_eq!(h.pos(SBIN, Product::Cnc), 0);
    assert!(h.conserved());
    assert_replays(&h);

    // A reset on demand: capital back, holdings gone, orders and trades kept.
    h.time = on(2, 10, 0);
    let before = h.ex.orders.len();
    assert_eq!(h.cmd(CommandKind::ResetFunds), Reply::Reset(1));
    let f = h.ex.funds();
    assert_eq!((f.available, f.used_margin, f.realized), (cap, Money::ZERO, Money::ZERO));
    assert_eq!((f.reset_count, f.last_reset_ns), (1, on(2, 10, 0)));
    assert!(holdings(&h).is_empty());
    assert_eq!(h.ex.orders.len(), before);
    assert_eq!(h.mtm.funds_row().reset_count, 1);
    assert!(h.conserved());
    assert!(!h.ex.needs_quotes(SBIN));
    assert!(book(&h).is_empty());

    // Replay of the same events gives the same state, byte for byte.
    assert_eq!(h.replayed_digests(), h.digests());
}

#[test]
fn a_night_away_catches_up_every_missed_boundary_in_order() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.tick(NIFTYFUT, 25_000);
    h.placed(mkt(SBIN, Buy, 10, Product::Cnc));
    h.placed(mkt(SBIN, Buy, 5, Product::Mis));
    h.placed(mkt(NIFTYFUT, Buy, 75, Product::Nrml));
    h.placed(req(SBIN, Buy, 5, PriceType::Limit, Product::Cnc, 90, 0));
    // A snapshot before the gap, restored later, must catch up the same way.
    let snap = h.ex.snapshot();
    let mtm_snap = h.mtm.snapshot();
    let first = h.events.len();

    // The engine was down from 10:00 until 09:30 the next day: one tick arrives.
    h.time = on(1, 9, 30);
    h.tick(SBIN, 101);
    // Square-off ran at 15:15 (stamped then), expiry at 15:40, T+1 at 00:00, session at 03:00.
    let sq = h.ex.orders.iter().find(|o| o.strategy.as_str() == AUTO_SQUARE_OFF).unwrap();
    assert_eq!((sq.time_ns, sq.status), (at(15, 15), OrderStatus::Complete));
    assert_eq!(h.pos(SBIN, Product::Mis), 0);
    assert_eq!(h.pos(NIFTYFUT, Product::Nrml), 0, "expired at its last price");
    assert_eq!(holdings(&h).iter().map(|r| r.qty.0).collect::<Vec<_>>(), [10]);
    assert_eq!(h.ex.session_start(), on(1, 3, 0));
    let book_rows = orders(&h);
    assert_eq!(book_rows.len(), 1, "only the CNC limit still working carries over");
    assert_eq!(book_rows[0].status, OrderStatus::Open);
    let f = h.ex.funds();
    assert_eq!(f.today_realized, Money::ZERO);
    assert_eq!(f.used_margin, amt(450), "the working CNC limit only");
    assert!(h.conserved());

    // Restored from the snapshot and fed the same events after it: the same state.
    let im = Arc::clone(&h.ex.instruments);
    let mut back = Exec::restore(ExecConfig::default(), im, &snap).unwrap();
    let mut mtm = crate::mtm::Mtm::restore(&mtm_snap).unwrap();
    for ev in &h.events[first..] {
        let mut out = crate::event::StageOutput::new();
        back.apply(ev, &mut out);
        mtm.apply(ev, &mut out);
    }
    assert_eq!((back.digest(), mtm.digest()), h.digests());
    assert_eq!(h.replayed_digests(), h.digests());
}

#[test]
fn scheduled_funds_reset_runs_on_its_weekday_and_time() {
    // Friday 09:15.
    let config = ExecConfig { funds_reset: Some((4, 9 * 60 + 15)), ..ExecConfig::default() };
    let mut h = H::with(config);
    h.tick(SBIN, 100);
    h.placed(mkt(SBIN, Buy, 10, Product::Cnc));
    timer(&mut h, on(1, 9, 14));
    assert_eq!(holdings(&h).len(), 1);
    assert_eq!(h.ex.funds().reset_count, 0);
    timer(&mut h, on(1, 9, 15));
    let f = h.ex.funds();
    assert_eq!((f.reset_count, f.last_reset_ns), (1, on(1, 9, 15)));
    assert_eq!(f.available, h.ex.config.starting_capital);
    assert!(holdings(&h).is_empty());
    // Not again until the next Friday.
    timer(&mut h, on(7, 9, 14));
    assert_eq!(h.ex.funds().reset_count, 1);
    timer(&mut h, on(8, 9, 15));
    assert_eq!(h.ex.funds().reset_count, 2);
    assert_eq!(h.replayed_digests(), h.digests());
}

#[test]
fn positionbook_across_sessions() {
    // (product, close today?, shown after the fill, shown after 03:00)
    let rows = [
        (Product::Mis, true, true, false),
        (Product::Nrml, false, true, true),
        (Product::Nrml, true, true, false),
    ];
    for (i, (product, close, before, after)) in rows.into_iter().enumerate() {
        let mut h = H::new();
        h.tick(CRUDE, 6_000);
        h.placed(mkt(CRUDE, Buy, 100, product));
        if close {
            h.tick(CRUDE, 6_010);
            h.placed(mkt(CRUDE, Sell, 100, product));
        }
        assert_eq!(!book(&h).is_empty(), before, "row {i}");
        timer(&mut h, on(1, 3, 0));
        assert_eq!(!book(&h).is_empty(), after, "row {i}");
    }
}

#[test]
fn boundaries_of_a_day_in_time_order() {
    let h = H::new();
    let day = day_of(at(12, 0));
    let list = h.ex.boundaries(day);
    assert!(list.windows(2).all(|w| w[0] <= w[1]));
    let find = |b: Boundary| list.iter().find(|(_, k)| *k == b).map(|(t, _)| *t);
    use crate::types::Exchange::{Mcx, Nfo, Nse, NseIndex};
    let rows = [
        (Boundary::Settle, Some(at(0, 0))),
        (Boundary::Session, Some(at(3, 0))),
        (Boundary::SquareOff(Nse), Some(at(15, 15))),
        (Boundary::Expiry(Nfo), Some(at(15, 40))),
        (Boundary::SquareOff(Mcx), Some(at(23, 30))),
        (Boundary::Expiry(Mcx), Some(at(23, 30))),
        (Boundary::SquareOff(NseIndex), None),
        (Boundary::Expiry(Nse), None),
        (Boundary::FundsReset, None),
    ];
    for (b, want) in rows {
        assert_eq!(find(b), want, "{b:?}");
    }
    // MCX square-off before MCX expiry at the same instant.
    let pos = |b| list.iter().position(|(_, k)| *k == b).unwrap();
    assert!(pos(Boundary::SquareOff(Mcx)) < pos(Boundary::Expiry(Mcx)));
    assert_eq!(weekday(day), 3, "2026-11-26 is a Thursday");
}

#[test]
fn first_event_opens_the_session_that_contains_it() {
    for (h_, m_, start) in [(2, 59, at(3, 0) - DAY), (3, 0, at(3, 0)), (23, 0, at(3, 0))] {
        let mut h = H::new();
        h.time = at(h_, m_);
        h.send(Input::Tick(Tick { symbol: SBIN, ltp: rs(100), ..Tick::default() }));
        assert_eq!(h.ex.session_start(), start, "{h_}:{m_}");
    }
}

#[test]
fn working_cnc_sells_count_against_what_can_be_sold() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.placed(mkt(SBIN, Buy, 3, Product::Cnc));
    let first = h.placed(req(SBIN, Sell, 2, PriceType::Limit, Product::Cnc, 101, 0));
    assert_eq!(h.order(first).status, OrderStatus::Open);
    // Only one share is left for a second sell.
    let second = h.placed(req(SBIN, Sell, 2, PriceType::StopMarket, Product::Cnc, 0, 99));
    let row = h.order(second);
    assert_eq!(row.status, OrderStatus::Rejected);
    assert!(row.rejection.as_str().contains("Only 1 shares available"), "{}", row.rejection);
    let third = h.placed(req(SBIN, Sell, 1, PriceType::StopMarket, Product::Cnc, 0, 99));
    assert_eq!(h.order(third).status, OrderStatus::TriggerPending);
    // Raising the first sell to 3 would oversell; to 2 it stays.
    let modify = |qty| {
        CommandKind::Modify(crate::event::ModifyRequest {
            order_id: first,
            order: req(SBIN, Sell, qty, PriceType::Limit, Product::Cnc, 102, 0),
        })
    };
    let (_, why) = rejected(h.cmd(modify(3)));
    assert!(why.contains("Only 2 shares available"), "{why}");
    assert_eq!(h.cmd(modify(2)), Reply::Modified(first));
    h.tick(SBIN, 103);
    h.tick(SBIN, 98);
    assert_eq!(h.pos(SBIN, Product::Cnc), 0);
}
