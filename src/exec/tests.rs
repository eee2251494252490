//! Engine-level tests: each rule of OPENALGO.md section 3 through `Exec::apply`.

use super::testkit::*;
use super::*;
use crate::event::{Header, Input, ModifyRequest, OrderRequest, RejectStatus, Reply, Tick};
use crate::types::{OrderId, OrderStatus, Price, PriceType, Product, Qty, Seq, Side, Tag};

use OrderStatus::{Complete, Open, TriggerPending};
use PriceType::{Limit, Market, StopLimit, StopMarket};
use Side::{Buy, Sell};

#[test]
fn placement_table_through_the_engine() {
    // (side, type, limit, trigger, expected status, fill price); quote ltp 100 bid 99.5 ask 100.5.
    let rows = [
        (Buy, Market, 0, 0, Complete, Price(1_005_000)),
        (Sell, Market, 0, 0, Complete, Price(995_000)),
        (Buy, Limit, 101, 0, Complete, rs(100)),
        (Buy, Limit, 99, 0, Open, Price(0)),
        (Sell, Limit, 99, 0, Complete, rs(100)),
        (Sell, Limit, 101, 0, Open, Price(0)),
        (Buy, StopMarket, 0, 99, Complete, rs(100)),
        (Buy, StopMarket, 0, 101, TriggerPending, Price(0)),
        (Sell, StopMarket, 0, 101, Complete, rs(100)),
        (Sell, StopMarket, 0, 99, TriggerPending, Price(0)),
        (Buy, StopLimit, 101, 99, Complete, rs(100)),
        (Buy, StopLimit, 99, 98, Open, Price(0)),
        (Buy, StopLimit, 103, 101, TriggerPending, Price(0)),
        (Sell, StopLimit, 99, 101, Complete, rs(100)),
        (Sell, StopLimit, 101, 102, Open, Price(0)),
        (Sell, StopLimit, 97, 99, TriggerPending, Price(0)),
    ];
    for (i, (side, pt, limit, trig, status, px)) in rows.into_iter().enumerate() {
        let mut h = H::new();
        h.send(Input::Tick(Tick {
            symbol: SBIN,
            ltp: rs(100),
            bid: Price(995_000),
            ask: Price(1_005_000),
            ..Tick::default()
        }));
        let id = h.placed(req(SBIN, side, 10, pt, Product::Mis, limit, trig));
        let row = h.order(id);
        assert_eq!((row.status, row.avg), (status, px), "row {i}: {side:?} {pt:?}");
        assert_eq!(h.ex.pending_count(SBIN), usize::from(status != Complete), "row {i}");
        assert!(h.conserved(), "row {i}");
    }
}

#[test]
fn tick_table_through_the_engine() {
    // Rest at ltp 100, then tick `next`: (side, type, limit, trigger, next, status, price).
    let rows = [
        (Buy, Limit, 98, 0, 97, Complete, rs(98)),
        (Buy, Limit, 98, 0, 99, Open, Price(0)),
        (Sell, Limit, 102, 0, 103, Complete, rs(102)),
        (Sell, Limit, 102, 0, 101, Open, Price(0)),
        (Buy, StopMarket, 0, 102, 103, Complete, rs(103)),
        (Buy, StopMarket, 0, 102, 101, TriggerPending, Price(0)),
        (Sell, StopMarket, 0, 98, 97, Complete, rs(97)),
        (Sell, StopMarket, 0, 98, 99, TriggerPending, Price(0)),
        (Buy, StopLimit, 104, 102, 103, Complete, rs(103)),
        (Buy, StopLimit, 103, 102, 104, Open, Price(0)),
        (Buy, StopLimit, 104, 102, 101, TriggerPending, Price(0)),
        (Sell, StopLimit, 96, 98, 97, Complete, rs(97)),
        (Sell, StopLimit, 97, 98, 96, Open, Price(0)),
        (Sell, StopLimit, 96, 98, 99, TriggerPending, Price(0)),
    ];
    for (i, (side, pt, limit, trig, next, status, px)) in rows.into_iter().enumerate() {
        let mut h = H::new();
        h.tick(SBIN, 100);
        let id = h.placed(req(SBIN, side, 10, pt, Product::Mis, limit, trig));
        assert!(h.order(id).status.is_working(), "row {i} rests first");
        h.tick(SBIN, next);
        let row = h.order(id);
        assert_eq!((row.status, row.avg), (status, px), "row {i}: {side:?} {pt:?}");
        assert_eq!(h.ex.pending_count(SBIN), usize::from(status != Complete), "row {i}");
        assert!(h.conserved(), "row {i}");
    }
}

#[test]
fn open_sl_fills_later_at_ltp_when_both_conditions_hold() {
    for (side, limit, trig, first, second) in [(Buy, 103, 102, 104, 102), (Sell, 97, 98, 96, 98)] {
        let mut h = H::new();
        h.tick(SBIN, 100);
        let id = h.placed(req(SBIN, side, 5, StopLimit, Product::Mis, limit, trig));
        h.tick(SBIN, first);
        assert_eq!(h.order(id).status, Open);
        h.tick(SBIN, second);
        assert_eq!((h.order(id).status, h.order(id).avg), (Complete, rs(second)));
    }
}

#[test]
fn open_market_orders_fill_at_touch_on_the_next_good_tick() {
    let mut h = H::new();
    h.quote(SBIN, 120, 0, 0, 110, 90); // stale: ltp above high
    let buy = h.placed(mkt(SBIN, Buy, 10, Product::Mis));
    let sell = h.placed(mkt(SBIN, Sell, 10, Product::Mis));
    assert_eq!((h.order(buy).status, h.order(sell).status), (Open, Open));
    h.quote(SBIN, 100, 99, 101, 110, 90);
    assert_eq!((h.order(buy).status, h.order(buy).avg), (Complete, rs(101)));
    assert_eq!((h.order(sell).status, h.order(sell).avg), (Complete, rs(99)));
}

#[test]
fn stale_quote_guard_defers_fills() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    let id = h.placed(req(SBIN, Buy, 10, Limit, Product::Mis, 98, 0));
    h.quote(SBIN, 95, 0, 0, 110, 96); // ltp below the day's low
    assert_eq!(h.order(id).status, Open);
    assert!(h.out.updates.is_empty());
    h.quote(SBIN, 97, 0, 0, 110, 96);
    assert_eq!((h.order(id).status, h.order(id).avg), (Complete, rs(98)));
    // ltp <= 0 is ignored (no quote change either).
    h.send(Input::Tick(Tick { symbol: SBIN, ltp: Price(0), ..Tick::default() }));
    assert_eq!(h.ex.books[0].quote.ltp, rs(97));
}

#[test]
fn validation_messages_name_the_field() {
    let mut h = H::new();
    h.tick(NIFTYFUT, 25_000);
    let cases: [(OrderRequest, &str); 11] = [
        (req(SBIN, Buy, 0, Limit, Product::Mis, 100, 0), "Quantity must be positive"),
        (req(SBIN, Buy, -5, Limit, Product::Mis, 100, 0), "Quantity must be positive"),
        (
            req(SBIN, Buy, 2_000_000_000, Limit, Product::Mis, 1, 0),
            "Quantity must be at most 1000000000",
        ),
        (req(SBIN, Buy, 1, Limit, Product::Mis, 0, 0), "LIMIT orders require price"),
        (req(SBIN, Buy, 1, StopLimit, Product::Mis, 0, 5), "SL orders require price"),
        (req(SBIN, Buy, 1, StopLimit, Product::Mis, 5, 0), "SL orders require trigger_price"),
        (req(SBIN, Buy, 1, StopMarket, Product::Mis, 0, 0), "SL-M orders require trigger_price"),
        (
            req(SBIN, Buy, 1, Limit, Product::Nrml, 100, 0),
            "NRML product not allowed for NSE equity segment. Use CNC for delivery or MIS for intraday.",
        ),
        (
            req(NIFTYFUT, Buy, 75, Limit, Product::Cnc, 100, 0),
            "CNC product not allowed for NFO derivatives segment. Use NRML for carryforward or MIS for intraday.",
        ),
        (
            req(NIFTYFUT, Buy, 70, Limit, Product::Nrml, 100, 0),
            "Quantity must be in multiples of lot size 75",
        ),
        (
            req(NIFTY, Buy, 1, Limit, Product::Mis, 100, 0),
            "Symbol NIFTY on exchange NSE_INDEX is an index and quote-only; orders are not accepted",
        ),
    ];
    for (r, want) in cases {
        let (status, m) = rejected(h.place(r));
        assert_eq!((status, m.as_str()), (RejectStatus::BadRequest, want));
    }
    let mut neg = req(SBIN, Buy, 1, Limit, Product::Mis, 0, 0);
    neg.price = Price(-1);
    assert_eq!(rejected(h.place(neg)).1, "Price must be positive");
    let mut neg = req(SBIN, Buy, 1, StopMarket, Product::Mis, 0, 0);
    neg.trigger = Price(-1);
    assert_eq!(rejected(h.place(neg)).1, "Trigger price must be positive (trigger_price)");
    let mut huge = req(SBIN, Buy, 1, Limit, Product::Mis, 0, 0);
    huge.price = Price(Price::MAX_INPUT.0 + 1);
    assert_eq!(
        rejected(h.place(huge)).1,
        "price and trigger_price must be at most 100000000000.00"
    );
    let (_, m) = rejected(h.place(req(SymbolId(99), Buy, 1, Limit, Product::Mis, 1, 0)));
    assert!(m.contains("Symbol not found") && m.contains("99"), "{m}");
    // MARKET without any known price: refused, no order created.
    let (_, m) = rejected(h.place(mkt(SBIN, Buy, 1, Product::Mis)));
    assert_eq!(
        m,
        "Cannot place MARKET order for SBIN - unable to fetch current price. Please try again later or use LIMIT order with a specific price."
    );
    // Funds.
    let (_, m) = rejected(h.place(req(NIFTYFUT, Buy, 75 * 60, Limit, Product::Nrml, 25_000, 0)));
    assert_eq!(
        m,
        "Insufficient funds. Required: ₹11250000.00, Available: ₹10000000.00, Shortage: ₹1250000.00"
    );
    assert_eq!(h.ex.answer(&QueryKind::OrderBook), Some(QueryReply::Orders(vec![])));
    assert_eq!(h.ex.funds().available, amt(10_000_000));
}

#[test]
fn cancel_and_modify_state_messages() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    let done = h.placed(mkt(SBIN, Buy, 1, Product::Mis));
    let (s, m) = rejected(h.cmd(CommandKind::Cancel { order_id: done }));
    assert_eq!(
        (s, m.as_str()),
        (RejectStatus::BadRequest, "Cannot cancel order in complete status")
    );
    let modify =
        ModifyRequest { order_id: done, order: req(SBIN, Buy, 1, Limit, Product::Mis, 90, 0) };
    assert_eq!(
        rejected(h.cmd(CommandKind::Modify(modify))).1,
        "Cannot modify order in complete status"
    );
    let ghost = OrderId::new(261126, 999);
    let (s, m) = rejected(h.cmd(CommandKind::Cancel { order_id: ghost }));
    assert_eq!((s, m.as_str()), (RejectStatus::NotFound, "Order 26112600000999 not found"));
    // OpenAlgo keeps action, product and price type whatever a modify says.
    let open = h.placed(req(SBIN, Buy, 1, Limit, Product::Mis, 90, 0));
    let other =
        ModifyRequest { order_id: open, order: req(SBIN, Sell, 2, Market, Product::Cnc, 91, 0) };
    assert_eq!(h.cmd(CommandKind::Modify(other)), Reply::Modified(open));
    let o = h.order(open);
    assert_eq!((o.side, o.product, o.price_type), (Buy, Product::Mis, Limit));
    assert_eq!((o.qty, o.price), (Qty(2), rs(91)));
}

#[test]
fn cancel_leaves_the_index_at_once_and_releases_margin() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    let id = h.placed(req(SBIN, Buy, 50, Limit, Product::Mis, 90, 0));
    assert_eq!(h.ex.pending_count(SBIN), 1);
    assert_eq!(h.ex.funds().used_margin, amt(900)); // 50 x 90 / 5
    assert_eq!(h.cmd(CommandKind::Cancel { order_id: id }), Reply::Cancelled(id));
    assert_eq!(h.ex.pending_count(SBIN), 0);
    assert_eq!(h.last_update().order.status, OrderStatus::Cancelled);
    assert!(h.out.funds_changed);
    assert_eq!(h.ex.funds().used_margin, amt(0));
    assert_eq!(h.ex.funds().available, amt(10_000_000));
    h.tick(SBIN, 80);
    assert_eq!(h.order(id).status, OrderStatus::Cancelled);
}

#[test]
fn modify_moves_within_the_index_and_refills_margin() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    let id = h.placed(req(SBIN, Buy, 50, Limit, Product::Mis, 90, 0));
    let m = ModifyRequest { order_id: id, order: req(SBIN, Buy, 100, Limit, Product::Mis, 95, 0) };
    assert_eq!(h.cmd(CommandKind::Modify(m)), Reply::Modified(id));
    assert_eq!(h.ex.pending_count(SBIN), 1);
    assert_eq!(h.ex.funds().used_margin, amt(1_900)); // 100 x 95 / 5
    h.tick(SBIN, 93);
    assert_eq!((h.order(id).status, h.order(id).avg), (Complete, rs(95)));
    assert_eq!(h.ex.pending_count(SBIN), 0);
    // A modification that makes the order marketable does not fill at once (OpenAlgo):
    // the next tick fills it, at the limit, like any resting LIMIT.
    let id2 = h.placed(req(SBIN, Sell, 10, Limit, Product::Mis, 120, 0));
    let m = ModifyRequest { order_id: id2, order: req(SBIN, Sell, 10, Limit, Product::Mis, 90, 0) };
    assert_eq!(h.cmd(CommandKind::Modify(m)), Reply::Modified(id2));
    assert_eq!(h.order(id2).status, Open);
    assert_eq!(h.last_update().order.status, Open);
    h.tick(SBIN, 93);
    assert_eq!((h.order(id2).status, h.order(id2).avg), (Complete, rs(90)));
    assert!(h.conserved());
}

#[test]
fn modify_changes_quantity_price_and_trigger_only() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    // An SL-M modified with the SDK's defaults (pricetype LIMIT, a price): the trigger
    // moves, the type stays SL-M, the price is ignored.
    let slm = h.placed(req(SBIN, Sell, 10, StopMarket, Product::Mis, 0, 90));
    let sdk =
        ModifyRequest { order_id: slm, order: req(SBIN, Sell, 10, Limit, Product::Mis, 0, 95) };
    assert_eq!(h.cmd(CommandKind::Modify(sdk)), Reply::Modified(slm));
    let o = h.order(slm);
    assert_eq!(
        (o.price_type, o.trigger, o.price, o.status),
        (StopMarket, rs(95), rs(0), TriggerPending)
    );
    // Margin moves by the difference only: 10 x 95 / 5 = 190 -> 30 x 95 / 5 = 570.
    assert_eq!(h.ex.funds().used_margin, amt(190));
    // Only the quantity, with the SDK's default trigger "0": the trigger is kept.
    let qty_only =
        ModifyRequest { order_id: slm, order: req(SBIN, Sell, 10, Limit, Product::Mis, 0, 0) };
    assert_eq!(h.cmd(CommandKind::Modify(qty_only)), Reply::Modified(slm));
    assert_eq!(h.order(slm).trigger, rs(95));
    let up =
        ModifyRequest { order_id: slm, order: req(SBIN, Sell, 30, Limit, Product::Mis, 0, 95) };
    assert_eq!(h.cmd(CommandKind::Modify(up)), Reply::Modified(slm));
    assert_eq!(h.ex.funds().used_margin, amt(570));
    let down =
        ModifyRequest { order_id: slm, order: req(SBIN, Sell, 5, Limit, Product::Mis, 0, 95) };
    assert_eq!(h.cmd(CommandKind::Modify(down)), Reply::Modified(slm));
    assert_eq!(h.ex.funds().used_margin, amt(95));
    // A raise beyond the cash is refused with OpenAlgo's text naming the extra only.
    let huge = ModifyRequest {
        order_id: slm,
        order: req(SBIN, Sell, 600_000, Limit, Product::Mis, 0, 95),
    };
    let (_, m) = rejected(h.cmd(CommandKind::Modify(huge)));
    assert_eq!(
        m,
        "Insufficient funds. Required: ₹11399905.00, Available: ₹9999905.00, Shortage: ₹1400000.00"
    );
    assert_eq!((h.order(slm).qty, h.ex.funds().used_margin), (Qty(5), amt(95)));
    assert!(h.conserved());
}

#[test]
fn margin_on_reduce_and_reverse() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.placed(mkt(SBIN, Buy, 100, Product::Mis)); // 100 x 100 / 5 = 2000
    assert_eq!(h.ex.funds().used_margin, amt(2_000));
    // A resting SELL that only reduces blocks nothing.
    let reduce = h.placed(req(SBIN, Sell, 40, Limit, Product::Mis, 200, 0));
    assert_eq!(h.ex.funds().used_margin, amt(2_000));
    h.cmd(CommandKind::Cancel { order_id: reduce });
    // A reversal blocks for the excess only: (150 - 100) x 200 / 5 = 2000.
    let rev = h.placed(req(SBIN, Sell, 150, Limit, Product::Mis, 200, 0));
    assert_eq!(h.ex.funds().used_margin, amt(4_000));
    // Fill at 200: realize (200-100) x 100 = 10,000; old 2000 released; short 50 holds 2000.
    h.tick(SBIN, 200);
    assert_eq!(h.order(rev).avg, rs(200));
    assert_eq!(h.pos(SBIN, Product::Mis), -50);
    let f = h.ex.funds();
    assert_eq!((f.used_margin, f.realized), (amt(2_000), amt(10_000)));
    assert_eq!(f.available, amt(10_000_000 + 10_000 - 2_000));
    // Reduce half at 190: realize (200-190) x 25 = 250; release 1000.
    h.tick(SBIN, 190);
    h.placed(mkt(SBIN, Buy, 25, Product::Mis));
    let f = h.ex.funds();
    assert_eq!((f.used_margin, f.realized), (amt(1_000), amt(10_250)));
    assert!(h.conserved());
    let p = h.out.positions[0];
    assert_eq!((p.qty, p.avg_price, p.realized), (Qty(-25), rs(200), amt(10_250)));
    // Flat: everything released, the row stays with its realized P&L.
    h.placed(mkt(SBIN, Buy, 25, Product::Mis));
    let f = h.ex.funds();
    assert_eq!((f.used_margin, f.realized), (amt(0), amt(10_500)));
    assert_eq!(f.available, amt(10_010_500));
    let p = h.out.positions[0];
    assert_eq!((p.qty, p.avg_price, p.realized), (Qty(0), rs(0), amt(10_500)));
}

#[test]
fn leverage_by_kind() {
    let mut h = H::new();
    h.tick(NIFTYFUT, 25_000);
    h.tick(NIFTYCE, 100);
    h.tick(CRUDE, 6_000);
    h.placed(req(NIFTYFUT, Buy, 75, Limit, Product::Nrml, 20_000, 0)); // 75 x 20000 / 10
    assert_eq!(h.ex.funds().used_margin, amt(150_000));
    h.placed(req(NIFTYCE, Buy, 75, Limit, Product::Nrml, 90, 0)); // premium in full
    assert_eq!(h.ex.funds().used_margin, amt(150_000 + 6_750));
    h.placed(req(CRUDE, Sell, 100, Limit, Product::Mis, 7_000, 0)); // 100 x 7000 / 10
    assert_eq!(h.ex.funds().used_margin, amt(156_750 + 70_000));
    h.tick(SBIN, 100);
    h.placed(req(SBIN, Buy, 10, Limit, Product::Cnc, 90, 0)); // delivery, leverage 1
    assert_eq!(h.ex.funds().used_margin, amt(226_750 + 900));
    assert!(h.conserved());
}

#[test]
fn cnc_sell_beyond_holdings_is_recorded_as_rejected() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    let id = h.placed(mkt(SBIN, Sell, 5, Product::Cnc));
    let row = h.order(id);
    assert_eq!(row.status, OrderStatus::Rejected);
    assert_eq!(
        row.rejection.as_str(),
        "Cannot sell SBIN in CNC. No positions or holdings available. CNC (delivery) requires existing shares. Use MIS for intraday short selling."
    );
    assert_eq!(h.last_update().order.status, OrderStatus::Rejected);
    h.placed(mkt(SBIN, Buy, 3, Product::Cnc));
    let id = h.placed(mkt(SBIN, Sell, 5, Product::Cnc));
    assert_eq!(
        h.order(id).rejection.as_str(),
        "Cannot sell 5 shares of SBIN in CNC. Only 3 shares available (Position: 3, Holdings: 0)"
    );
    // Within holdings: fills, and a CNC SELL blocks nothing.
    let used = h.ex.funds().used_margin;
    let id = h.placed(req(SBIN, Sell, 3, Limit, Product::Cnc, 150, 0));
    assert_eq!(h.ex.funds().used_margin, used);
    assert_eq!(h.order(id).status, Open);
    assert_eq!(h.pos(SBIN, Product::Cnc), 3);
}

#[test]
fn smart_orders_follow_openalgos_rules_in_order() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    let smart = |order, position_size| CommandKind::PlaceSmart { order, position_size };
    // Rule 1: target 0, no position, quantity 5: a fresh trade of the request's own order.
    let fresh = req(SBIN, Buy, 5, Market, Product::Mis, 0, 0);
    let Reply::Placed(id) = h.cmd(smart(fresh, 0)) else { panic!() };
    assert_eq!((h.order(id).side, h.order(id).qty), (Buy, Qty(5)));
    assert_eq!(h.pos(SBIN, Product::Mis), 5);
    // Rule 2: target == current.
    let tmpl = req(SBIN, Buy, 0, Market, Product::Mis, 0, 0);
    assert_eq!(h.cmd(smart(fresh, 5)), Reply::AlreadyMatched);
    assert_eq!(h.cmd(smart(tmpl, 5)), Reply::NoOpenPosition);
    // Rule 5: the difference.
    let Reply::Placed(_) = h.cmd(smart(tmpl, 30)) else { panic!() };
    assert_eq!(h.pos(SBIN, Product::Mis), 30);
    let Reply::Placed(_) = h.cmd(smart(tmpl, -10)) else { panic!() };
    assert_eq!(h.pos(SBIN, Product::Mis), -10);
    assert_eq!(h.last_update().order.side, Sell);
    assert_eq!(h.last_update().order.qty, Qty(40));
    // Rule 3: target 0 closes the whole position; LIMIT honoured (marketable: fills).
    let lim = req(SBIN, Sell, 0, Limit, Product::Mis, 110, 0);
    let Reply::Placed(id) = h.cmd(smart(lim, 0)) else { panic!() };
    assert_eq!((h.order(id).side, h.order(id).qty, h.order(id).status), (Buy, Qty(10), Complete));
    // Nothing open and quantity 0: nothing to exit.
    assert_eq!(h.cmd(smart(tmpl, 0)), Reply::NoOpenPosition);
    // Rule 4: no position, target -5: SELL 5, resting at the limit.
    let Reply::Placed(id) = h.cmd(smart(lim, -5)) else { panic!() };
    assert_eq!((h.order(id).side, h.order(id).qty, h.order(id).status), (Sell, Qty(5), Open));
}

#[test]
fn placement_needs_a_fresh_quote() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.time += 5_000_000_000;
    h.placed(mkt(SBIN, Buy, 1, Product::Mis)); // exactly 5 s: fresh
    h.time += 1;
    let (_, m) = rejected(h.place(mkt(SBIN, Buy, 1, Product::Mis)));
    assert!(m.contains("unable to fetch current price"), "{m}");
    // A marketable LIMIT is not decided against the old price: it rests...
    let id = h.placed(req(SBIN, Buy, 1, Limit, Product::Mis, 105, 0));
    assert_eq!(h.order(id).status, Open);
    // ... and a fresh quote decides it.
    h.tick(SBIN, 102);
    assert_eq!((h.order(id).status, h.order(id).avg), (Complete, rs(105)));
    // A LIMIT placed right after a fresh quote fills at once at LTP.
    let id = h.placed(req(SBIN, Buy, 1, Limit, Product::Mis, 105, 0));
    assert_eq!((h.order(id).status, h.order(id).avg), (Complete, rs(102)));
    // The engine's own square-off closes against the last known price however old.
    h.time = at(15, 16);
    h.send(Input::Timer);
    assert_eq!(h.pos(SBIN, Product::Mis), 0);
}

#[test]
fn an_immediate_fill_reports_open_then_complete() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.placed(mkt(SBIN, Buy, 1, Product::Mis));
    let st: Vec<OrderStatus> = h.out.updates.iter().map(|u| u.order.status).collect();
    assert_eq!(st, [Open, Complete]);
    assert!(h.out.updates[0].fill.is_none() && h.out.updates[1].fill.is_some());
}

#[test]
fn rows_show_market_fill_price_and_nothing_pending_when_rejected() {
    let mut h = H::new();
    h.quote(SBIN, 100, 99, 101, 0, 0);
    let id = h.placed(mkt(SBIN, Buy, 2, Product::Mis));
    assert_eq!((h.order(id).shown_price(), h.order(id).price), (rs(101), rs(0)));
    let rej = h.placed(mkt(SBIN, Sell, 5, Product::Cnc)); // recorded as rejected
    let r = h.order(rej);
    assert_eq!((r.status, r.pending()), (OrderStatus::Rejected, Qty(0)));
    match h.ex.answer(&QueryKind::OrderBook) {
        Some(QueryReply::Orders(rows)) => assert_eq!(rows[0].id, rej, "newest first"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_all_and_close_position() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.tick(NIFTYFUT, 25_000);
    h.placed(req(SBIN, Buy, 5, Limit, Product::Mis, 90, 0));
    h.placed(req(SBIN, Sell, 5, StopMarket, Product::Mis, 0, 80));
    h.placed(mkt(SBIN, Buy, 7, Product::Mis));
    h.placed(mkt(NIFTYFUT, Sell, 150, Product::Nrml));
    let all = h.cmd(CommandKind::CancelAll { strategy: Tag::EMPTY });
    assert_eq!(all, Reply::CancelledAll { cancelled: 2, failed: 0 });
    assert_eq!(h.out.updates.len(), 2);
    assert_eq!(h.ex.pending_count(SBIN), 0);
    let strategy = Tag::new("closer").unwrap();
    assert_eq!(
        h.cmd(CommandKind::ClosePosition { strategy }),
        Reply::Closed { closed: 2, failed: 0 }
    );
    assert_eq!((h.pos(SBIN, Product::Mis), h.pos(NIFTYFUT, Product::Nrml)), (0, 0));
    assert!(h.out.updates.iter().all(|u| u.order.strategy == strategy));
    let done = h.out.updates.iter().filter(|u| u.order.status == Complete).count();
    assert_eq!(done, 2, "each close reports open, then complete");
    let f = h.ex.funds();
    assert_eq!(f.used_margin, amt(0));
    assert!(h.conserved());
    assert_eq!(
        h.cmd(CommandKind::ClosePosition { strategy }),
        Reply::Closed { closed: 0, failed: 0 }
    );
}

#[test]
fn square_off_at_each_exchange_cutoff() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.tick(CRUDE, 6_000);
    h.placed(mkt(SBIN, Buy, 10, Product::Mis));
    h.placed(mkt(SBIN, Buy, 4, Product::Cnc));
    let resting = h.placed(req(SBIN, Buy, 10, Limit, Product::Mis, 90, 0));
    h.placed(mkt(CRUDE, Sell, 100, Product::Mis));
    h.time = at(15, 14);
    h.send(Input::Timer);
    assert!(h.out.updates.is_empty());
    h.time = at(15, 15);
    h.send(Input::Timer);
    assert_eq!(h.order(resting).status, OrderStatus::Cancelled);
    assert_eq!(h.pos(SBIN, Product::Mis), 0);
    assert_eq!(h.pos(SBIN, Product::Cnc), 4); // CNC untouched
    assert_eq!(h.pos(CRUDE, Product::Mis), -100); // MCX squares off at 23:30
    let closing = h.out.updates.iter().find(|u| u.fill.is_some()).unwrap();
    assert_eq!(closing.order.strategy.as_str(), AUTO_SQUARE_OFF);
    h.time = at(15, 16);
    h.send(Input::Timer);
    assert!(h.out.updates.is_empty(), "nothing left to square off");
    h.time = at(23, 30);
    h.send(Input::Timer);
    assert_eq!(h.pos(CRUDE, Product::Mis), 0);
    assert!(h.conserved());
}

#[test]
fn mis_refused_after_square_off_unless_reducing() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.placed(mkt(SBIN, Buy, 10, Product::Mis));
    // A stale quote (LTP above the day's high) keeps the square-off close from filling.
    h.time = at(15, 14);
    h.quote(SBIN, 120, 0, 0, 110, 90);
    // Placement needs a fresh quote: a fresh one at 15:20, still outside the day's range.
    h.time = at(15, 20);
    h.quote(SBIN, 120, 0, 0, 110, 90);
    let want = "MIS orders cannot be placed after square-off time (15:15 IST). Trading resumes at 09:00 AM IST.";
    assert_eq!(rejected(h.place(mkt(SBIN, Buy, 1, Product::Mis))).1, want);
    assert_eq!(h.pos(SBIN, Product::Mis), 10, "the close is placed but not filled yet");
    // An opposite-direction order counts as reducing, even one that would reverse.
    h.placed(mkt(SBIN, Sell, 15, Product::Mis));
    // CNC is not affected.
    h.placed(mkt(SBIN, Buy, 1, Product::Cnc));
    h.time = at(8, 59) + 86_400_000_000_000;
    assert_eq!(rejected(h.place(mkt(SBIN, Buy, 1, Product::Mis))).1, want);
    h.time = at(9, 0) + 86_400_000_000_000;
    h.tick(SBIN, 100);
    h.placed(mkt(SBIN, Buy, 1, Product::Mis));
}

#[test]
fn snapshot_round_trip_gives_an_equal_digest() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    h.placed(mkt(SBIN, Buy, 10, Product::Mis));
    h.placed(req(SBIN, Buy, 10, Limit, Product::Mis, 90, 0));
    h.placed(req(SBIN, Sell, 10, StopLimit, Product::Mis, 80, 85));
    h.placed(mkt(SBIN, Sell, 5, Product::Cnc)); // rejected, with a message
    let bytes = h.ex.snapshot();
    let im = Arc::clone(&h.ex.instruments);
    let mut back = Exec::restore(ExecConfig::default(), Arc::clone(&im), &bytes).unwrap();
    assert_eq!(back.digest(), h.ex.digest());
    assert_eq!(back.pending_count(SBIN), 2);
    assert_eq!(back.answer(&QueryKind::OrderBook), h.ex.answer(&QueryKind::OrderBook));
    // Both continue identically.
    let ev = Event {
        header: Header { seq: Seq(99), time_ns: h.time, recv_ns: 0, stream_seq: 0 },
        input: Input::Tick(Tick { symbol: SBIN, ltp: rs(84), ..Tick::default() }),
    };
    let mut o2 = StageOutput::new();
    back.apply(&ev, &mut o2);
    h.out.clear();
    h.ex.apply(&ev, &mut h.out);
    assert_eq!(o2.updates, h.out.updates);
    assert_eq!(back.digest(), h.ex.digest());
    assert!(matches!(
        Exec::restore(ExecConfig::default(), im.clone(), &bytes[..bytes.len() / 2]),
        Err(ExecSnapshotError::Decode(_))
    ));
    let other = Arc::new(
        InstrumentMaster::from_csv_str(
            "symbol,exchange,lotsize,tick_size,instrumenttype\nA,NSE,1,0.05,EQ\n",
        )
        .unwrap(),
    );
    assert!(matches!(
        Exec::restore(ExecConfig::default(), other, &bytes),
        Err(ExecSnapshotError::Instruments { snapshot: 6, master: 1 })
    ));
}

#[test]
fn order_ids_come_from_the_event_day_and_ordinal() {
    let mut h = H::new();
    h.tick(SBIN, 100);
    let a = h.placed(req(SBIN, Buy, 1, Limit, Product::Mis, 90, 0));
    let _ = h.place(req(SBIN, Buy, 0, Limit, Product::Mis, 90, 0)); // refused: no ordinal used
    let b = h.placed(req(SBIN, Buy, 1, Limit, Product::Mis, 90, 0));
    assert_eq!((a, b), (OrderId(26112600000001), OrderId(26112600000002)));
}

#[test]
fn orders_placed_before_the_position_changed_keep_margin_exact() {
    for (resting, then, pos_after) in [(10, 10, 0), (10, 4, 6), (10, 25, -15)] {
        let mut h = H::new();
        h.tick(SBIN, 100);
        // Rests while flat, so it blocks 10 x 95 / 5 = 190 (or its own size).
        let id = h.placed(req(SBIN, Buy, resting, Limit, Product::Mis, 95, 0));
        h.placed(mkt(SBIN, Sell, then, Product::Mis));
        h.tick(SBIN, 95);
        assert_eq!(h.order(id).status, Complete);
        assert_eq!(h.pos(SBIN, Product::Mis), pos_after);
        let held: i64 = h.ex.positions.iter().map(|p| p.margin.0).sum();
        assert_eq!(h.ex.funds().used_margin.0, held, "resting {resting}, then {then}");
        if pos_after == 0 {
            assert_eq!(held, 0);
        }
        assert!(h.conserved());
    }
}
