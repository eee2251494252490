//! Every `/api/v1/` endpoint's success shape over a real socket, each price type, numbers
//! as strings, and an order that survives a restart.

mod api_util;

use api_util::{Harness, assert_error, assert_funds_are_numbers, cnc, is_ist_timestamp};
use serde_json::{Value, json};

fn order_status(h: &Harness, id: &str) -> Value {
    h.ok("orderstatus", json!({"orderid": id, "strategy": "test"}))["data"].clone()
}

#[test]
fn each_price_type_places_with_the_documented_status() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);

    // MARKET buys at the ask.
    let id = h.place(cnc("SBIN", "BUY", 10, "MARKET", 0.0));
    let d = order_status(&h, &id);
    assert_eq!(d["order_status"], "complete", "{d}");
    assert_eq!(d["average_price"], 800.5);
    assert_eq!(d["filled_quantity"], 10);
    assert!(is_ist_timestamp(d["timestamp"].as_str().unwrap()), "{d}");

    // A non-marketable LIMIT rests open; numbers as strings and lower-case action.
    let id = h.place(json!({
        "strategy": "test", "symbol": "SBIN", "exchange": "NSE", "action": "buy",
        "quantity": "5", "pricetype": "LIMIT", "product": "CNC", "price": "790.50",
    }));
    let d = order_status(&h, &id);
    assert_eq!(d["order_status"], "open");
    assert_eq!(d["price"], 790.5);
    assert_eq!(d["quantity"], 5);
    assert_eq!(d["pending_quantity"], 5);

    // SL-M with the trigger not reached: trigger pending.
    let mut b = cnc("SBIN", "BUY", 1, "SL-M", 0.0);
    b["trigger_price"] = json!("810");
    let id = h.place(b);
    assert_eq!(order_status(&h, &id)["order_status"], "trigger pending");

    // SL with trigger met and limit met fills at LTP.
    let mut b = cnc("SBIN", "BUY", 1, "SL", 805.0);
    b["trigger_price"] = json!(799.0);
    let id = h.place(b);
    let d = order_status(&h, &id);
    assert_eq!(d["order_status"], "complete", "{d}");
    assert_eq!(d["average_price"], 800.0);

    // The LIMIT fills on a later tick at its limit.
    h.tick("NSE", "SBIN", 790.0);
    let book = h.ok("orderbook", json!({}));
    let orders = book["data"]["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 4);
    let stats = &book["data"]["statistics"];
    assert_eq!(stats["total_buy_orders"], 4);
    assert_eq!(stats["total_completed_orders"], 3);
    assert_eq!(stats["total_trigger_pending_orders"], 1);
    assert_eq!(stats["total_open_orders"], 0);
    for o in orders {
        for k in [
            "orderid",
            "symbol",
            "exchange",
            "action",
            "quantity",
            "price",
            "trigger_price",
            "pricetype",
            "product",
            "order_status",
            "average_price",
            "filled_quantity",
            "pending_quantity",
            "rejection_reason",
            "timestamp",
            "strategy",
        ] {
            assert!(o.get(k).is_some(), "orderbook row lacks {k}: {o}");
        }
        assert_eq!(o["strategy"], "test");
    }
}

#[test]
fn modify_cancel_cancelall_and_unknown_order() {
    let h = Harness::start();
    h.tick("NSE", "INFY", 1500.0);
    let id = h.place(cnc("INFY", "BUY", 2, "LIMIT", 1400.0));
    let v = h.ok(
        "modifyorder",
        json!({
            "orderid": id, "strategy": "test", "symbol": "INFY", "exchange": "NSE",
            "action": "BUY", "product": "CNC", "pricetype": "LIMIT", "price": "1410",
            "quantity": "3", "disclosed_quantity": "0", "trigger_price": "0",
        }),
    );
    assert_eq!(v["orderid"], id.as_str());
    assert_eq!(v["message"], "Order modified successfully");
    let d = order_status(&h, &id);
    assert_eq!((d["price"].clone(), d["quantity"].clone()), (json!(1410.0), json!(3)));

    let v = h.ok("cancelorder", json!({"orderid": id, "strategy": "test"}));
    assert_eq!(v["message"], "Order cancelled successfully");
    assert_eq!(order_status(&h, &id)["order_status"], "cancelled");
    assert_error(
        &h.api("cancelorder", json!({"orderid": id, "strategy": "test"})),
        400,
        "cancelled",
    );
    assert_error(
        &h.api("cancelorder", json!({"orderid": "26010100000001", "strategy": "test"})),
        404,
        "",
    );
    assert_error(&h.api("orderstatus", json!({"orderid": "26010100000001"})), 404, "not found");

    let a = h.place(cnc("INFY", "BUY", 1, "LIMIT", 1300.0));
    let b = h.place(cnc("INFY", "BUY", 1, "LIMIT", 1301.0));
    let v = h.ok("cancelallorder", json!({"strategy": "test"}));
    assert_eq!(v["message"], "Canceled 2 orders. Failed to cancel 0 orders.");
    let mut ids: Vec<&str> =
        v["canceled_orders"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [a.as_str(), b.as_str()]);
    assert_eq!(v["failed_cancellations"], json!([]));
}

#[test]
fn books_funds_positions_smart_orders_and_closeposition() {
    let h = Harness::start();
    h.tick("NSE", "TCS", 3400.0);
    let fut = h.near_future("NIFTY", "NFO");
    h.tick("NFO", &fut, 25000.0);
    h.place(cnc("TCS", "BUY", 10, "MARKET", 0.0));
    let nrml = json!({
        "strategy": "test", "symbol": fut, "exchange": "NFO", "action": "SELL",
        "quantity": 75, "pricetype": "MARKET", "product": "NRML",
    });
    h.place(nrml);

    // Newest first, as OpenAlgo: the TCS trade (the first) is the last row.
    let trades = h.ok("tradebook", json!({}))["data"].clone();
    let t = trades.as_array().unwrap().last().unwrap();
    for k in [
        "tradeid",
        "orderid",
        "symbol",
        "exchange",
        "action",
        "quantity",
        "average_price",
        "price",
        "trade_value",
        "product",
        "strategy",
        "timestamp",
    ] {
        assert!(t.get(k).is_some(), "tradebook row lacks {k}: {t}");
    }
    assert_eq!(t["trade_value"], 34_005.0);
    assert!(is_ist_timestamp(t["timestamp"].as_str().unwrap()));

    h.tick("NSE", "TCS", 3410.0);
    let pos = h.ok("positionbook", json!({}))["data"].clone();
    let tcs = pos.as_array().unwrap().iter().find(|p| p["symbol"] == "TCS").unwrap().clone();
    for k in [
        "symbol",
        "exchange",
        "product",
        "quantity",
        "average_price",
        "ltp",
        "pnl",
        "pnlpercent",
        "unrealized_pnl",
        "today_realized_pnl",
        "total_pnl_today",
        "lot_size",
    ] {
        assert!(tcs.get(k).is_some(), "positionbook row lacks {k}: {tcs}");
    }
    assert_eq!(tcs["quantity"], 10);
    assert_eq!(tcs["ltp"], 3410.0);
    assert_eq!(tcs["unrealized_pnl"], 95.0);
    let fut = pos.as_array().unwrap().iter().find(|p| p["exchange"] == "NFO").unwrap().clone();
    // lot_size is the contract value (OpenAlgo's sandbox), not the exchange lot of 75.
    assert_eq!((fut["quantity"].clone(), fut["lot_size"].clone()), (json!(-75), json!(1.0)));

    let f = h.ok("funds", json!({}))["data"].clone();
    assert_funds_are_numbers(&f);

    let q = h.ok(
        "openposition",
        json!({"strategy": "test", "symbol": "TCS", "exchange": "NSE", "product": "CNC"}),
    );
    assert_eq!(q["quantity"], 10);

    let mut smart = cnc("TCS", "BUY", 0, "MARKET", 0.0);
    smart["position_size"] = json!("10");
    let v = h.ok("placesmartorder", smart.clone());
    assert_eq!(v["message"], "No OpenPosition Found. Not placing Exit order.");
    smart["position_size"] = json!(15);
    let v = h.ok("placesmartorder", smart);
    assert_eq!(v["orderid"].as_str().unwrap().len(), 14);
    let q = h.ok(
        "openposition",
        json!({"strategy": "test", "symbol": "TCS", "exchange": "NSE", "product": "CNC"}),
    );
    assert_eq!(q["quantity"], 15);

    let v = h.ok("closeposition", json!({"strategy": "test"}));
    assert_eq!(v["closed_positions"], 2, "{v}");
    assert_eq!(v["failed_closures"], 0);
    assert_eq!(v["message"], "Closed 2 positions");
}

#[test]
fn quotes_multiquotes_depth_ping_analyzer_latency() {
    let h = Harness::start();
    assert_error(
        &h.api("quotes", json!({"symbol": "RELIANCE", "exchange": "NSE"})),
        404,
        "No quote yet for NSE:RELIANCE",
    );
    h.tick("NSE", "RELIANCE", 1425.0);
    let q = h.ok("quotes", json!({"symbol": "RELIANCE", "exchange": "NSE"}))["data"].clone();
    for k in ["open", "high", "low", "ltp", "ask", "bid", "prev_close", "volume", "oi"] {
        assert!(q.get(k).is_some(), "quotes lacks {k}: {q}");
    }
    assert_eq!(
        (q["ltp"].clone(), q["bid"].clone(), q["ask"].clone()),
        (json!(1425.0), json!(1424.5), json!(1425.5))
    );
    assert_eq!(q["prev_close"], 1425.5, "falls back to the instrument's prev_close");

    let m = h.ok(
        "multiquotes",
        json!({"symbols": [
            {"symbol": "RELIANCE", "exchange": "NSE"},
            {"symbol": "NOPE", "exchange": "NSE"},
            {"symbol": "TCS", "exchange": "NSE"},
        ]}),
    );
    let r = m["results"].as_array().unwrap();
    assert_eq!(r[0]["data"]["ltp"], 1425.0);
    assert_eq!(r[1]["error"], "Symbol NOPE not found on NSE");
    assert!(r[2]["error"].as_str().unwrap().contains("No quote yet"));

    let d = h.ok("depth", json!({"symbol": "RELIANCE", "exchange": "NSE"}))["data"].clone();
    assert_eq!(d["bids"].as_array().unwrap().len(), 5);
    assert_eq!(d["asks"].as_array().unwrap().len(), 5);
    assert_eq!(d["bids"][0], json!({"price": 1424.5, "quantity": 100}));
    assert_eq!(d["asks"][1], json!({"price": 0.0, "quantity": 0}));
    for k in ["ltq", "totalbuyqty", "totalsellqty", "prev_close", "oi", "volume"] {
        assert!(d.get(k).is_some(), "depth lacks {k}: {d}");
    }

    let p = h.ok("ping", json!({}));
    assert_eq!(p["data"], json!({"message": "pong", "broker": "sandbox"}));
    let a = h.ok("analyzer", json!({}));
    assert_eq!(
        (a["data"]["mode"].clone(), a["data"]["analyze_mode"].clone()),
        (json!("analyze"), json!(true))
    );
    // total_logs counts this session's orders (OPENALGO.md 2b).
    let orders = h.ok("orderbook", json!({}))["data"]["orders"].as_array().unwrap().len();
    assert_eq!(a["data"]["total_logs"], json!(orders));
    // Trailing slash.
    let (s, v) = h.call("ping/", &json!({"apikey": api_util::KEY}));
    assert_eq!((s, v["data"]["message"].clone()), (200, json!("pong")));

    let l = h.ok("latency", json!({}));
    let stages = l["data"]["stages"].as_array().unwrap();
    assert_eq!(stages.len(), tickfill::latency::HOPS.len());
    for k in ["hop", "count", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"] {
        assert!(stages[0].get(k).is_some(), "latency lacks {k}: {l}");
    }
}

#[test]
fn a_placed_order_survives_an_engine_restart() {
    let mut h = Harness::start();
    h.tick("NSE", "HDFCBANK", 1950.0);
    let id = h.place(cnc("HDFCBANK", "BUY", 4, "LIMIT", 1900.0));
    let filled = h.place(cnc("HDFCBANK", "BUY", 2, "MARKET", 0.0));
    h.restart();
    let orders = h.ok("orderbook", json!({}))["data"]["orders"].clone();
    let find =
        |id: &str| orders.as_array().unwrap().iter().find(|o| o["orderid"] == id).cloned().unwrap();
    assert_eq!(find(&id)["order_status"], "open");
    assert_eq!(find(&filled)["order_status"], "complete");
    assert_eq!(h.ok("tradebook", json!({}))["data"].as_array().unwrap().len(), 1);
}

#[test]
fn a_cnc_sell_beyond_holdings_is_recorded_rejected_and_reported() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    let got = h.api("placeorder", cnc("SBIN", "SELL", 5, "MARKET", 0.0));
    assert_error(&got, 400, "Cannot sell SBIN in CNC");
    let id = got.1["orderid"].as_str().expect("the recorded order's id").to_owned();
    let d = order_status(&h, &id);
    assert_eq!(d["order_status"], "rejected");
    assert!(d["rejection_reason"].as_str().unwrap().contains("CNC"), "{d}");
}

#[test]
fn concurrent_clients_are_all_served_after_the_journal() {
    let h = Harness::start();
    h.tick("NSE", "INFY", 1500.0);
    let ids: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    (0..10)
                        .map(|_| h.place(cnc("INFY", "BUY", 1, "LIMIT", 1400.0)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect()
    });
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 60);
    let book = h.ok("orderbook", json!({}));
    assert_eq!(book["data"]["statistics"]["total_open_orders"], 60);
}
