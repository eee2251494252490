//! Parity with OpenAlgo's sandbox (issue 13, items 1-8): one case per rule scripts notice,
//! each named after the rule it checks (OPENALGO.md sections 1-3), driven through the
//! real REST API (and the real WebSocket server for item 7) of a real engine over
//! loopback.

mod api_util;
mod feed_support;
mod util;
mod ws_support;

use api_util::{
    Harness, api_config, assert_error, assert_funds_are_numbers, cnc, is_ist_timestamp,
};
use feed_support::{Fault, Rest, short_watchdog};
use serde_json::{Value, json};
use std::time::Duration;
use tickfill::auth::KeyStore;
use tickfill::clock::mono_now_ns;
use tickfill::event::Tick;
use tickfill::types::Price;
use tickfill::ws::{WsConfig, WsServer};
use ws_support::Client;

fn mis(symbol: &str, action: &str, qty: Value, pricetype: &str, price: f64) -> Value {
    json!({
        "strategy": "parity", "symbol": symbol, "exchange": "NSE", "action": action,
        "quantity": qty, "pricetype": pricetype, "product": "MIS", "price": price,
    })
}

fn open_position(h: &Harness, symbol: &str, product: &str) -> i64 {
    let body =
        json!({"strategy": "parity", "symbol": symbol, "exchange": "NSE", "product": product});
    h.ok("openposition", body)["quantity"].as_i64().expect("quantity")
}

fn order_status(h: &Harness, id: &str) -> Value {
    h.ok("orderstatus", json!({"orderid": id, "strategy": "parity"}))["data"].clone()
}

/// Item 1 (section 3, smart orders): rule 1 places the request's own order when target
/// and position are both 0; rule 2 answers without an order; rules 3-5 trade the
/// difference with the request's price type.
#[test]
fn smart_order_target_zero_without_position_is_a_fresh_trade() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    let mut fresh = mis("SBIN", "BUY", json!(5), "MARKET", 0.0);
    fresh["position_size"] = json!(0);
    let v = h.ok("placesmartorder", fresh.clone());
    assert_eq!(v["orderid"].as_str().map(str::len), Some(14), "{v}");
    assert_eq!(open_position(&h, "SBIN", "MIS"), 5);

    // Target == current: matched (quantity given) or nothing to exit (quantity 0).
    fresh["position_size"] = json!(5);
    let v = h.ok("placesmartorder", fresh.clone());
    assert_eq!(v["message"], "Positions Already Matched. No Action needed.");
    assert!(v.get("orderid").is_none(), "{v}");
    let mut exit = mis("SBIN", "SELL", json!(0), "MARKET", 0.0);
    exit["position_size"] = json!(5);
    let v = h.ok("placesmartorder", exit.clone());
    assert_eq!(v["message"], "No OpenPosition Found. Not placing Exit order.");

    // Target 0 closes the whole position whatever the request's action and quantity.
    exit["position_size"] = json!(0);
    exit["action"] = json!("BUY");
    let id = h.ok("placesmartorder", exit.clone())["orderid"].as_str().unwrap().to_owned();
    let o = order_status(&h, &id);
    assert_eq!((o["action"].clone(), o["quantity"].clone()), (json!("SELL"), json!(5)), "{o}");
    assert_eq!(open_position(&h, "SBIN", "MIS"), 0);
    let v = h.ok("placesmartorder", exit);
    assert_eq!(v["message"], "No OpenPosition Found. Not placing Exit order.");

    // The placed order keeps the request's LIMIT price: a SELL above the market rests.
    let mut lim = mis("SBIN", "BUY", json!(0), "LIMIT", 810.0);
    lim["position_size"] = json!(-3);
    let id = h.ok("placesmartorder", lim)["orderid"].as_str().unwrap().to_owned();
    let o = order_status(&h, &id);
    assert_eq!(
        (o["action"].clone(), o["quantity"].clone(), o["pricetype"].clone()),
        (json!("SELL"), json!(3), json!("LIMIT")),
        "{o}"
    );
    assert_eq!((o["price"].clone(), o["order_status"].clone()), (json!(810.0), json!("open")));
}

/// Item 2 (section 2): quantity is read as a number; "10", 10, 10.0 and "10.0" are 10,
/// "10.5" is refused naming the field.
#[test]
fn quantity_is_read_as_a_whole_number() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    for (i, q) in [json!("10"), json!(10), json!(10.0), json!("10.0")].into_iter().enumerate() {
        let id = h.place(mis("SBIN", "BUY", q.clone(), "MARKET", 0.0));
        assert_eq!(order_status(&h, &id)["quantity"], 10, "{q}");
        assert_eq!(open_position(&h, "SBIN", "MIS"), 10 * (i as i64 + 1));
    }
    for q in [json!("10.5"), json!(10.5)] {
        let got = h.api("placeorder", mis("SBIN", "BUY", q, "MARKET", 0.0));
        assert_error(&got, 400, "Invalid quantity: must be a whole number");
    }
    let got = h.api("placeorder", mis("SBIN", "BUY", json!("ten"), "MARKET", 0.0));
    assert_error(&got, 400, "Invalid quantity");
}

/// Item 3 (section 3, modify): only quantity, price and trigger change; an SL-M modified
/// with the SDK's defaults (pricetype LIMIT) stays SL-M; nothing fills at the modify; a
/// raise blocks only the extra margin.
#[test]
fn modify_changes_only_quantity_price_and_trigger() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    let id = h.place(json!({
        "strategy": "parity", "symbol": "SBIN", "exchange": "NSE", "action": "SELL",
        "quantity": 10, "pricetype": "SL-M", "product": "MIS", "trigger_price": 790.0,
    }));
    let funds = |h: &Harness| h.ok("funds", json!({}))["data"].clone();
    assert_eq!(funds(&h)["utiliseddebits"], 1580.0); // 10 x 790 / 5
    // What the SDK sends by default: pricetype LIMIT, price "0", every field as a string.
    let modify = |qty: &str, trigger: &str| {
        json!({
            "orderid": id, "strategy": "parity", "symbol": "SBIN", "exchange": "NSE",
            "action": "SELL", "product": "MIS", "pricetype": "LIMIT", "price": "0",
            "quantity": qty, "disclosed_quantity": "0", "trigger_price": trigger,
        })
    };
    let v = h.ok("modifyorder", modify("20", "795"));
    assert_eq!(v["message"], "Order modified successfully");
    let o = order_status(&h, &id);
    assert_eq!(
        (o["pricetype"].clone(), o["order_status"].clone(), o["quantity"].clone()),
        (json!("SL-M"), json!("trigger pending"), json!(20)),
        "{o}"
    );
    assert_eq!((o["trigger_price"].clone(), o["price"].clone()), (json!(795.0), json!(0.0)));
    assert_eq!(funds(&h)["utiliseddebits"], 3180.0); // 20 x 795 / 5
    let v = h.ok("modifyorder", modify("5", "795"));
    assert_eq!(v["status"], "success");
    assert_eq!(funds(&h)["utiliseddebits"], 795.0);
    // The SDK's default trigger "0" with a new quantity keeps the trigger.
    h.ok("modifyorder", modify("5", "0"));
    assert_eq!(order_status(&h, &id)["trigger_price"], 795.0);
    let got = h.api("modifyorder", modify("100000", "795"));
    assert_error(&got, 400, "Insufficient funds. Required: ₹15899205.00, Available: ₹9999205.00");

    // A LIMIT modified to a marketable price does not fill at once; the next tick fills it.
    let lim = h.place(mis("SBIN", "BUY", json!(1), "LIMIT", 700.0));
    let mut m = mis("SBIN", "BUY", json!(1), "LIMIT", 805.0);
    m["orderid"] = json!(lim);
    m["trigger_price"] = json!(0);
    m["disclosed_quantity"] = json!(0);
    h.ok("modifyorder", m);
    assert_eq!(order_status(&h, &lim)["order_status"], "open");
    h.tick("NSE", "SBIN", 801.0);
    let o = order_status(&h, &lim);
    assert_eq!(
        (o["order_status"].clone(), o["average_price"].clone()),
        (json!("complete"), json!(805.0))
    );
}

/// Item 4 (section 3, data freshness): orders are decided against a quote at most the
/// freshness limit old (a REST quote is fetched first); a marketable LIMIT on a symbol
/// never streamed fills at LTP at placement; quotes never show an old price as current.
#[test]
fn placement_and_quotes_use_a_fresh_price() {
    let rest = Rest::start();
    let mut watchdog = short_watchdog(Some(&rest));
    watchdog.mtm_max_age = Duration::from_millis(300);
    let h = Harness::start_with_watchdog(api_config(), watchdog);
    let sbin = h.sym("NSE", "SBIN");
    h.tick("NSE", "SBIN", 800.0);
    rest.set("NSE:SBIN", 900.0);
    rest.set("NSE:INFY", 1500.0);
    // The fact to wait on: the streamed quote is older than the limit.
    let age_ms = || {
        let q = h.handle().board.read(sbin).expect("quoted");
        mono_now_ns().saturating_sub(q.updated_ns) / 1_000_000
    };
    feed_support::wait_for("the SBIN quote to go stale", Duration::from_secs(10), || {
        age_ms() > 300
    });

    // MARKET: priced from the fetched quote (ask 900.05), not the old 800.
    let before = rest.requests();
    let id = h.place(mis("SBIN", "BUY", json!(1), "MARKET", 0.0));
    assert!(rest.requests() > before, "a REST quote was fetched first");
    assert_eq!(order_status(&h, &id)["average_price"], 900.05);
    let q = h.ok("quotes", json!({"symbol": "SBIN", "exchange": "NSE"}))["data"].clone();
    assert_eq!(q["ltp"], 900.0);
    assert!(q.get("stale").is_none(), "{q}");

    // A marketable LIMIT on a symbol never streamed fills at LTP at placement.
    let id = h.place(json!({
        "strategy": "parity", "symbol": "INFY", "exchange": "NSE", "action": "BUY",
        "quantity": 2, "pricetype": "LIMIT", "product": "MIS", "price": 1600.0,
    }));
    let o = order_status(&h, &id);
    assert_eq!(
        (o["order_status"].clone(), o["average_price"].clone()),
        (json!("complete"), json!(1500.0))
    );

    // No fresh quote to be had: quotes marks the old one stale, MARKET is refused.
    h.tick("NSE", "TCS", 3400.0);
    let tcs = h.sym("NSE", "TCS");
    feed_support::wait_for("the TCS quote to go stale", Duration::from_secs(10), || {
        let q = h.handle().board.read(tcs).expect("quoted");
        mono_now_ns().saturating_sub(q.updated_ns) > 300_000_000
    });
    rest.push_faults([Fault::status_500()]);
    let q = h.ok("quotes", json!({"symbol": "TCS", "exchange": "NSE"}))["data"].clone();
    assert_eq!((q["ltp"].clone(), q["stale"].clone()), (json!(3400.0), json!(true)), "{q}");
    assert!(q["age_ms"].as_u64().is_some_and(|a| a > 300), "{q}");
    rest.push_faults([Fault::status_500()]);
    let got = h.api("placeorder", mis("TCS", "BUY", json!(1), "MARKET", 0.0));
    assert_error(&got, 400, "unable to fetch current price");
}

/// Item 5 (section 2, funds): every amount a JSON number, grossexposure = used margin,
/// m2mrealized = today's realized P&L, plus last_reset and reset_count.
#[test]
fn funds_are_numbers_with_used_margin_as_exposure_and_reset_fields() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    h.place(mis("SBIN", "BUY", json!(10), "MARKET", 0.0)); // at 800.5
    h.tick("NSE", "SBIN", 810.0);
    h.place(mis("SBIN", "SELL", json!(4), "MARKET", 0.0)); // at 809.5: +36
    h.place(mis("SBIN", "BUY", json!(1), "LIMIT", 700.0)); // resting: 140 blocked
    let f = h.ok("funds", json!({}))["data"].clone();
    assert_funds_are_numbers(&f);
    assert_eq!(f["m2mrealized"], 36.0);
    assert_eq!(f["today_realized_pnl"], 36.0);
    // MARKET blocks at LTP: 6 x 800 / 5 held, plus 1 x 700 / 5 for the resting LIMIT.
    assert_eq!(f["utiliseddebits"], 1100.0);
    assert_eq!(f["grossexposure"], f["utiliseddebits"]);
    assert!(is_ist_timestamp(f["last_reset"].as_str().unwrap_or("")), "{f}");
    assert_eq!(f["reset_count"], 0);
}

/// Item 6 (section 2, books): newest first; orderbook statistics; a filled MARKET row
/// shows its fill price; a rejected row has nothing pending; OpenAlgo's trade ids; the
/// positionbook's four totals and lot_size as the contract value.
#[test]
fn books_are_newest_first_with_openalgos_fields() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    h.tick("NSE", "TCS", 3400.0);
    let first = h.place(mis("SBIN", "BUY", json!(10), "MARKET", 0.0));
    let second = h.place(mis("TCS", "SELL", json!(2), "MARKET", 0.0));
    let resting = h.place(mis("SBIN", "BUY", json!(1), "LIMIT", 700.0));
    let got = h.api("placeorder", cnc("TCS", "SELL", 5, "MARKET", 0.0));
    assert_error(&got, 400, "Cannot sell");
    let rejected = got.1["orderid"].as_str().expect("recorded with an id").to_owned();

    let ob = h.ok("orderbook", json!({}))["data"].clone();
    let ids: Vec<&str> =
        ob["orders"].as_array().unwrap().iter().map(|o| o["orderid"].as_str().unwrap()).collect();
    assert_eq!(ids, [rejected.as_str(), resting.as_str(), second.as_str(), first.as_str()]);
    let rows = ob["orders"].as_array().unwrap();
    assert_eq!(
        (rows[0]["order_status"].clone(), rows[0]["pending_quantity"].clone()),
        (json!("rejected"), json!(0))
    );
    assert_eq!(
        (rows[3]["price"].clone(), rows[3]["average_price"].clone()),
        (json!(800.5), json!(800.5))
    );
    assert_eq!(
        ob["statistics"],
        json!({"total_buy_orders": 2, "total_sell_orders": 2, "total_completed_orders": 2,
               "total_open_orders": 1, "total_rejected_orders": 1,
               "total_trigger_pending_orders": 0})
    );

    let tb = h.ok("tradebook", json!({}))["data"].clone();
    let trades = tb.as_array().unwrap();
    assert_eq!(
        trades.iter().map(|t| t["orderid"].as_str().unwrap()).collect::<Vec<_>>(),
        [second.as_str(), first.as_str()]
    );
    for t in trades {
        let id = t["tradeid"].as_str().unwrap();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 4, "{id}");
        assert_eq!(parts[0], "TRADE");
        assert!(parts[1].len() == 8 && parts[2].len() == 6, "{id}");
        assert!(parts[3].len() == 8 && parts[3].bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(trades[0]["tradeid"], trades[1]["tradeid"]);

    h.tick("NSE", "SBIN", 810.0);
    let pb = h.ok("positionbook", json!({}));
    let rows = pb["data"].as_array().unwrap();
    let sum = |k: &str| rows.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>();
    assert_eq!(pb["total_unrealized_pnl"].as_f64(), Some(sum("unrealized_pnl")));
    assert_eq!(pb["total_today_realized_pnl"].as_f64(), Some(sum("today_realized_pnl")));
    assert_eq!(pb["total_pnl"].as_f64(), Some(sum("pnl")));
    assert_eq!(pb["total_pnl_today"], pb["total_pnl"]);
    assert_eq!(pb["total_unrealized_pnl"], 95.0 + 2.0 * (3399.5 - 3400.0));
    assert!(rows.iter().all(|r| r["lot_size"] == json!(1.0)), "{pb}");
}

/// Item 7 (section 1, small things clients notice): ping and get_supported_brokers before
/// authentication, request_id echoed on subscribe_orders, an immediate fill reported open
/// then complete, and every tick delivered to a client that keeps up.
#[test]
fn ws_answers_before_auth_echoes_request_id_reports_open_then_complete_and_sends_every_tick() {
    let mut h = Harness::start();
    let updates = h.engine.as_mut().expect("running").take_updates().expect("update reader");
    let config = WsConfig { addr: "127.0.0.1:0".parse().unwrap(), ..WsConfig::default() };
    let keys = KeyStore::from_key(api_util::KEY).unwrap();
    let ws = WsServer::start(config, h.handle(), updates, keys).expect("ws server");
    let mut c = Client::connect(ws.local_addr());

    let pong = c.ask(json!({"action": "ping", "client_timestamp": 7}));
    assert_eq!((pong["type"].clone(), pong["client_timestamp"].clone()), (json!("pong"), json!(7)));
    let brokers = c.ask(json!({"action": "get_supported_brokers"}));
    assert_eq!(
        brokers,
        json!({"type": "supported_brokers", "status": "success", "brokers": ["sandbox"], "count": 1})
    );
    let r = c.ask(json!({"action": "subscribe_orders"}));
    assert_eq!(r["code"], "NOT_AUTHENTICATED");
    let r = c.ask(json!({"action": "authenticate", "api_key": api_util::KEY}));
    assert_eq!(r["status"], "success", "{r}");
    let r = c.ask(json!({"action": "subscribe_orders", "request_id": "r-1"}));
    assert_eq!(
        r,
        json!({"type": "subscribe_orders", "status": "success",
               "message": "Subscribed to order updates", "request_id": "r-1"})
    );

    h.tick("NSE", "SBIN", 800.0);
    let id = h.place(mis("SBIN", "BUY", json!(3), "MARKET", 0.0));
    let update = |c: &mut Client| c.recv_until("order update", |v| v["type"] == "order_update");
    let u = update(&mut c);
    assert_eq!(
        (u["orderid"].as_str(), u["order_status"].as_str()),
        (Some(id.as_str()), Some("open"))
    );
    let u = update(&mut c);
    assert_eq!(
        (u["orderid"].as_str(), u["order_status"].as_str()),
        (Some(id.as_str()), Some("complete"))
    );
    let r = c.ask(json!({"action": "unsubscribe_orders", "request_id": 9}));
    assert_eq!(
        (r["type"].clone(), r["request_id"].clone()),
        (json!("unsubscribe_orders"), json!(9))
    );

    // A burst far faster than the server's 1 ms turn: a client that keeps up sees every
    // price, in order (conflation would show only some of them).
    c.ask(json!({"action": "subscribe", "symbol": "INFY", "exchange": "NSE", "mode": 1}));
    let infy = h.sym("NSE", "INFY");
    let n = 200u32;
    let px = |i: u32| 1500.0 + f64::from(i) * 0.05;
    for i in 0..n {
        let tick =
            Tick { symbol: infy, ltp: Price::from_f64(px(i)).unwrap(), mode: 1, ..Tick::default() };
        h.handle().send_tick(tick, mono_now_ns()).unwrap();
    }
    for i in 0..n {
        let v = c.market_data("INFY");
        assert_eq!(v["data"]["ltp"].as_f64(), Some((px(i) * 100.0).round() / 100.0), "tick {i}");
    }
    ws.shutdown();
}

/// Item 8 (section 3, margin and funds): OpenAlgo's text with rupee signs and two decimals.
#[test]
fn insufficient_funds_names_required_available_and_shortage_in_rupees() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    let got = h.api("placeorder", cnc("SBIN", "BUY", 20_000, "LIMIT", 600.25));
    let (status, v) = &got;
    assert_eq!(*status, 400, "{v}");
    assert_eq!(
        v["message"],
        "Insufficient funds. Required: ₹12005000.00, Available: ₹10000000.00, Shortage: ₹2005000.00"
    );
    let ob = h.ok("orderbook", json!({}))["data"]["orders"].clone();
    assert_eq!(ob, json!([]), "no order is created");
}
