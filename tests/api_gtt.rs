//! GTT orders over a real engine and HTTP: place, book, modify, trigger on a tick, cancel,
//! and survival across a restart (the triggers are journaled commands).

mod api_util;

use api_util::{Harness, assert_error, cnc};
use serde_json::{Value, json};

fn oco(sl: f64, tg: f64) -> Value {
    json!({"strategy": "gtt", "trigger_type": "OCO", "exchange": "NSE", "symbol": "SBIN",
           "action": "SELL", "product": "CNC", "quantity": 10, "price": tg,
           "triggerprice_sl": sl, "stoploss": sl - 1.0, "triggerprice_tg": tg, "target": tg})
}

fn book(h: &Harness) -> Vec<Value> {
    h.ok("gttorderbook", json!({}))["data"].as_array().unwrap().clone()
}

#[test]
fn oco_gtt_places_books_modifies_triggers_and_survives_a_restart() {
    let mut h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    h.place(cnc("SBIN", "BUY", 10, "MARKET", 0.0));
    let used = h.ok("funds", json!({}))["data"]["utiliseddebits"].clone();
    let v = h.ok("placegttorder", oco(780.0, 820.0));
    let id = v["trigger_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("GTT-") && id.len() == 19, "{id}");
    let rows = book(&h);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["trigger_type"], "two-leg");
    assert_eq!(r["trigger_prices"], json!([780.0, 820.0]));
    assert_eq!(r["legs"][0]["price"], 779.0);
    assert_eq!(r["last_price"], 800.0);
    assert_eq!(r["margin_blocked"], 8_200.0, "{r}");
    assert_ne!(h.ok("funds", json!({}))["data"]["utiliseddebits"], used);
    // Modify the target; changing the symbol is refused.
    let mut m = oco(780.0, 830.0);
    m["trigger_id"] = json!(id);
    h.ok("modifygttorder", m.clone());
    assert_eq!(book(&h)[0]["trigger_prices"], json!([780.0, 830.0]));
    m["symbol"] = json!("INFY");
    assert_error(&h.api("modifygttorder", m), 400, "Cancel and re-place");
    // Journaled: a restart keeps it active, and a later tick triggers it.
    h.restart();
    assert_eq!(book(&h).len(), 1);
    h.tick("NSE", "SBIN", 831.0);
    assert!(book(&h).is_empty());
    let orders = h.ok("orderbook", json!({}))["data"]["orders"].as_array().unwrap().clone();
    let sell = orders.iter().find(|o| o["action"] == "SELL").expect("the target leg's order");
    assert_eq!((sell["pricetype"].clone(), sell["price"].clone()), (json!("LIMIT"), json!(830.0)));
    assert_eq!(sell["order_status"], "complete");
    assert_eq!(h.ok("funds", json!({}))["data"]["utiliseddebits"], json!(0.0));
    // It is no longer active.
    assert_error(&h.api("cancelgttorder", json!({"trigger_id": id})), 404, "No active GTT");
}

#[test]
fn single_gtt_validation_and_cancel() {
    let h = Harness::start();
    let fut = h.near_future("NIFTY", "NFO");
    h.tick("NFO", &fut, 25_000.0);
    let single = json!({"strategy": "gtt", "trigger_type": "SINGLE", "exchange": "NFO",
        "symbol": fut, "action": "BUY", "product": "NRML", "quantity": 75,
        "price": 25_210.0, "triggerprice_tg": 25_200.0});
    let id = h.ok("placegttorder", single.clone())["trigger_id"].as_str().unwrap().to_string();
    let row = &book(&h)[0];
    assert_eq!(row["trigger_type"], "single");
    // Futures leverage 10: 75 x 25,210 / 10.
    assert_eq!(row["margin_blocked"], 189_075.0);
    h.ok("cancelgttorder", json!({"trigger_id": id}));
    assert!(book(&h).is_empty());
    assert_eq!(h.ok("funds", json!({}))["data"]["utiliseddebits"], json!(0.0));
    let mut both = single.clone();
    both["triggerprice_sl"] = json!(24_000.0);
    assert_error(&h.api("placegttorder", both), 400, "exactly one");
    let mut mis = single.clone();
    mis["product"] = json!("MIS");
    assert_error(&h.api("placegttorder", mis), 400, "CNC or NRML");
    let mut odd = single.clone();
    odd["quantity"] = json!(70);
    assert_error(&h.api("placegttorder", odd), 400, "lot size");
    let mut inverted = oco(830.0, 820.0);
    inverted["symbol"] = json!("SBIN");
    assert_error(&h.api("placegttorder", inverted), 400, "below triggerprice_tg");
    assert_error(
        &h.api("cancelgttorder", json!({"trigger_id": "GTT-261130-000000ff"})),
        404,
        "No active GTT",
    );
    assert_error(&h.api("cancelgttorder", json!({"trigger_id": "nonsense"})), 404, "No active GTT");
    let mut past = single;
    past["expires_at"] = json!("2020-01-01");
    assert_error(&h.api("placegttorder", past), 400, "expires_at");
}
