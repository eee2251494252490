//! The engine end to end on a real journal: orders fill on ticks, replies and order
//! updates are released only after the journal, and a restart rebuilds the same state.

mod util;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tickfill::event::Reply;
use tickfill::fanout::updates::Next;
use tickfill::types::{Money, OrderStatus, Price, PriceType, Side};
use util::*;

#[test]
fn limit_order_fills_when_the_price_crosses_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start(dir.path());
    let h = engine.handle();
    let mut updates = engine.take_updates().unwrap();
    let sbin = sym(&h, "NSE", "SBIN");
    send(&h, tick(sbin, 812.50));
    let id = placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    assert_eq!(orders(&h)[0].status, OrderStatus::Open);

    send(&h, tick(sbin, 809.95));
    let deadline = Instant::now() + Duration::from_secs(10);
    let filled = loop {
        match updates.poll() {
            Next::Update(q) if q.update.fill.is_some() => break q,
            Next::Update(_) | Next::Gap { .. } => {}
            Next::Empty => {
                assert!(Instant::now() < deadline, "no fill released within 10 s");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    };
    assert_eq!(filled.update.order.id, id);
    assert_eq!(filled.update.order.status, OrderStatus::Complete);
    // An open LIMIT fills at its limit price on a later tick.
    assert_eq!(filled.update.fill.unwrap().price, Price::from_f64(810.0).unwrap());
    // Released only once the journal passed it.
    assert!(h.health.durable_seq.load(Ordering::Acquire) >= filled.seq.0);

    let pos = positions(&h);
    assert_eq!(pos.len(), 1);
    assert_eq!(pos[0].qty.0, 10);
    let before = state_hash(&h);
    drop(h);
    engine.shutdown();

    let engine = start(dir.path());
    let h = engine.handle();
    assert_eq!(state_hash(&h), before, "restart rebuilds the same state");
    assert_eq!(orders(&h)[0].id, id);
    assert_eq!(positions(&h)[0].qty.0, 10);
}

#[test]
fn refused_order_names_the_field_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path());
    let h = engine.handle();
    let nifty_fut = sym(&h, "NFO", &near_future(&h, "NIFTY"));
    send(&h, tick(nifty_fut, 25_110.0));
    let mut o = order(nifty_fut, Side::Buy, 10, PriceType::Market, 0.0);
    o.product = tickfill::types::Product::Nrml;
    match place(&h, o) {
        Reply::Rejected { message, .. } => {
            assert!(message.as_str().contains("lot size 75"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(orders(&h).is_empty());
    let f = funds(&h);
    assert_eq!(f.used_margin, Money::ZERO);
}
