//! Events out: an engine on the relay's stream publishes its order updates and trades to
//! `EVENTS` (`events.<account>.orders`, `events.<account>.trades`), read back here from a
//! real `nats-server` by an independent consumer.

mod api_util;
mod nats_support;

use nats_support::*;
use serde_json::{Value, json};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

#[test]
fn order_updates_and_trades_arrive_on_events() {
    let Some(nats) = nats() else { return };
    let (_relay, sim_rest) = relay(&nats, 50, "NSE:SBIN");
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, base) = engine(&nats, dir.path(), "desk-7", &sim_rest);
    let resting = want(&base, "SBIN");
    wait_for("ticks on SBIN", LONG, || ticks(&base) >= 5);
    let body = json!({"apikey": KEY, "strategy": "nats", "symbol": "SBIN", "exchange": "NSE",
        "action": "BUY", "quantity": "3", "pricetype": "MARKET", "product": "CNC"});
    let v = api_util::post_api(&api_util::short_agent(), &base, "placeorder", &body).unwrap();
    assert_eq!(v["status"], "success", "{v}");
    let filled = v["orderid"].as_str().unwrap().to_owned();

    let complete = |events: &[(String, Value)]| {
        events.iter().any(|(s, e)| {
            s == "events.desk-7.orders" && e["orderid"] == filled && e["order_status"] == "complete"
        }) && events.iter().any(|(s, e)| s == "events.desk-7.trades" && e["orderid"] == filled)
    };
    let events = events_until(&nats, "events.desk-7.>", LONG, complete);
    assert!(
        complete(&events),
        "no complete order and trade for {filled} in {events:#?}\n{}",
        engine.output()
    );
    let open = events.iter().find(|(s, e)| s.ends_with(".orders") && e["orderid"] == resting);
    assert_eq!(open.map(|(_, e)| e["order_status"].clone()), Some(json!("open")), "{events:#?}");
    let (_, trade) = events.iter().find(|(s, _)| s.ends_with(".trades")).unwrap();
    assert_eq!((trade["quantity"].clone(), trade["account"].clone()), (json!(3), json!("desk-7")));
    assert!(trade["price"].as_f64().unwrap() > 0.0, "{trade}");
    engine.stop();
}
