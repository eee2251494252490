//! The WebSocket server speaks OpenAlgo's protocol (OPENALGO.md section 1) over a real
//! socket: every action, every error code, both subscribe forms, the three modes and the
//! mode hierarchy, unsubscribing, and order updates after a fill.

mod ws_support;

use serde_json::json;
use std::sync::atomic::Ordering;
use tickfill::types::{PriceType, Side};
use ws_support::*;

#[test]
fn authentication_and_errors_before_it() {
    let rig = rig();
    let mut c = rig.client();
    let r = c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE"}));
    assert_error(&r, "NOT_AUTHENTICATED", "You must authenticate first");
    let r = c.ask(json!({"action": "get_broker_info"}));
    assert_error(&r, "NOT_AUTHENTICATED", "You must authenticate first");
    let r = c.ask(json!({"action": "authenticate"}));
    assert_error(&r, "AUTHENTICATION_ERROR", "API key is required");
    let r = c.ask(json!({"action": "auth", "apikey": "wrong-key-wrong-key"}));
    assert_error(&r, "AUTHENTICATION_ERROR", "Invalid API key");
    let r = c.ask(json!({"action": "auth", "apikey": KEY}));
    assert_eq!(
        r,
        json!({"type": "auth", "status": "success", "message": "Authentication successful",
               "broker": "sandbox", "user_id": "sandbox",
               "supported_features": {"ltp": true, "quote": true, "depth": true}})
    );
    let r = c.ask(json!({"action": "get_broker_info"}));
    assert_eq!(
        r,
        json!({"type": "broker_info", "status": "success", "broker": "sandbox",
               "adapter_status": "connected", "user_id": "sandbox"})
    );
}

#[test]
fn every_error_code_keeps_the_connection_open() {
    let rig = rig();
    let mut c = rig.authed();
    assert_error(&c.ask(json!({"action": "dance"})), "INVALID_ACTION", "Invalid action: dance");
    c.send_raw("{not json");
    assert_error(&c.reply(), "INVALID_JSON", "Invalid JSON message");
    let r = c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 4}));
    assert_eq!(r["code"], "INVALID_MODE");
    assert_eq!(r.as_object().unwrap().len(), 3, "{r}");
    for bad in [json!(true), json!(2.5), json!("full")] {
        let r =
            c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": bad}));
        assert_eq!(r["code"], "INVALID_MODE", "{r}");
    }
    let r = c.ask(json!({"action": "subscribe", "symbols": []}));
    assert_error(&r, "INVALID_PARAMETERS", "At least one symbol must be specified");
    let r = c.ask(json!({"action": "unsubscribe"}));
    assert_error(&r, "INVALID_PARAMETERS", "Either symbols or unsubscribe_all is required");
    // Still serving.
    let r = c.ask(json!({"action": "ping"}));
    assert_eq!(r["type"], "pong");
}

#[test]
fn ping_echoes_only_what_was_sent() {
    let rig = rig();
    let mut c = rig.authed();
    let r = c.ask(json!({"action": "ping"}));
    assert_eq!(r["status"], "success");
    assert!(r["server_timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(r.get("client_timestamp").is_none() && r.get("_pingId").is_none(), "{r}");
    let r = c.ask(json!({"action": "ping", "client_timestamp": 1, "_pingId": "x"}));
    assert_eq!((&r["client_timestamp"], &r["_pingId"]), (&json!(1), &json!("x")));
}

#[test]
fn sdk_form_one_frame_per_symbol_and_each_modes_fields() {
    let rig = rig();
    let sbin = rig.sym("NSE", "SBIN");
    let mut c = rig.authed();
    for (mode, label) in [(1, "LTP"), (2, "Quote"), (3, "Depth")] {
        let r = c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE",
                             "mode": mode, "depth": 5}));
        assert_eq!(
            r,
            json!({"type": "subscribe", "status": "success",
                   "subscriptions": [{"symbol": "SBIN", "exchange": "NSE", "status": "success",
                                      "mode": label, "depth": 5, "broker": "sandbox"}],
                   "message": "Subscription processing complete", "broker": "sandbox"})
        );
    }
    assert_eq!(rig.h.interest.wanted_mode(sbin), 3);
    rig.tick(depth(sbin, 812.5));
    let mut seen = [false; 3];
    while seen.iter().any(|s| !s) {
        let f = c.market_data("SBIN");
        let mode = f["mode"].as_u64().unwrap() as usize;
        assert_eq!(f["exchange"], "NSE");
        assert_eq!(f["broker"], "sandbox");
        let d = &f["data"];
        assert_eq!(d["ltp"], 812.5);
        assert_eq!(d["ltt"], 1_746_171_226_000_i64);
        assert!(d["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
        assert_eq!(d.get("avg_trade_price").is_some(), mode >= 2, "{f}");
        assert_eq!(d.get("bid_price").is_some(), mode >= 2, "{f}");
        assert_eq!(d.get("depth").is_some(), mode == 3, "{f}");
        if mode == 3 {
            assert_eq!(d["depth"]["buy"].as_array().unwrap().len(), 5);
            assert_eq!(d["depth"]["sell"][1]["quantity"], 7);
            assert_eq!(d["oi"], 42);
        }
        seen[mode - 1] = true;
    }
}

#[test]
fn symbols_list_form_with_partial_entries_and_request_id() {
    let rig = rig();
    let mut c = rig.authed();
    let r = c.ask(json!({"action": "subscribe", "mode": "ltp", "request_id": "r1",
        "symbols": [{"symbol": "SBIN", "exchange": "NSE"},
                    {"symbol": "NOPE", "exchange": "NSE"},
                    {"symbol": "INFY"}]}));
    assert_eq!(r["type"], "subscribe");
    assert_eq!(r["status"], "partial");
    assert_eq!(r["request_id"], "r1");
    let subs = r["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 3);
    assert_eq!(subs[0]["status"], "success");
    assert_eq!(subs[0]["mode"], "LTP");
    assert_eq!(subs[1]["status"], "error");
    assert_eq!(subs[1]["message"], "Symbol NOPE not found on NSE");
    assert_eq!(subs[2]["status"], "error");
    assert!(subs[2]["message"].as_str().unwrap().contains("exchange"));
    // Mode defaults to Quote, depth to 5.
    let r =
        c.ask(json!({"action": "subscribe", "symbols": [{"symbol": "INFY", "exchange": "NSE"}]}));
    assert_eq!(r["status"], "success");
    assert_eq!(r["subscriptions"][0]["mode"], "Quote");
    assert_eq!(r["subscriptions"][0]["depth"], 5);
    assert!(r.get("request_id").is_none());
}

#[test]
fn higher_mode_ticks_reach_lower_subscribers_relabelled() {
    let rig = rig();
    let tcs = rig.sym("NSE", "TCS");
    let mut ltp = rig.authed();
    let mut quote_c = rig.authed();
    ltp.ask(json!({"action": "subscribe", "symbol": "TCS", "exchange": "NSE", "mode": 1}));
    quote_c.ask(json!({"action": "subscribe", "symbol": "TCS", "exchange": "NSE", "mode": 2}));
    // An LTP tick reaches the LTP subscriber only.
    rig.tick(ltp_only(tcs, 3000.0));
    let f = ltp.market_data("TCS");
    assert_eq!((f["mode"].clone(), f["data"]["ltp"].clone()), (json!(1), json!(3000.0)));
    // A depth tick reaches both, each in its own mode.
    rig.tick(depth(tcs, 3001.0));
    let f = quote_c.market_data("TCS");
    assert_eq!(f["mode"], 2);
    assert_eq!(f["data"]["ltp"], 3001.0, "the Quote subscriber never saw the LTP tick");
    assert!(f["data"].get("depth").is_none());
    let f = ltp.recv_until("the depth tick", |v| v["data"]["ltp"] == 3001.0);
    assert_eq!(f["mode"], 1);
    assert!(f["data"].get("open").is_none());
}

#[test]
fn unsubscribe_stops_frames_and_releases_interest() {
    let rig = rig();
    let sbin = rig.sym("NSE", "SBIN");
    let mut c = rig.authed();
    c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}));
    rig.tick(quote(sbin, 800.0));
    c.market_data("SBIN");
    let r = c.ask(json!({"action": "unsubscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}));
    assert_eq!(
        r,
        json!({"type": "unsubscribe", "status": "success",
               "message": "Unsubscription processing complete",
               "successful": [{"symbol": "SBIN", "exchange": "NSE", "status": "success",
                               "broker": "sandbox"}],
               "failed": [], "broker": "sandbox"})
    );
    assert_eq!(rig.h.interest.wanted_mode(sbin), 0);
    // Witness: INFY, still subscribed, ticks after SBIN. Its data goes out in the same
    // push as SBIN's would (or later), so everything before it and up to the next pong
    // is all that could carry SBIN.
    let infy = rig.sym("NSE", "INFY");
    c.ask(json!({"action": "subscribe", "symbol": "INFY", "exchange": "NSE", "mode": 1}));
    rig.tick(quote(sbin, 801.0));
    rig.tick(quote(infy, 1500.0));
    let mut seen = vec![c.recv_until("INFY data", |v| v["symbol"] == "INFY")];
    c.send(json!({"action": "ping"}));
    loop {
        let v = c.recv();
        let pong = v["type"] == "pong";
        seen.push(v);
        if pong {
            break;
        }
    }
    assert!(
        seen.iter().all(|v| v["symbol"] != "SBIN"),
        "market data after unsubscribing: {seen:?}"
    );
    c.ask(json!({"action": "unsubscribe", "symbol": "INFY", "exchange": "NSE", "mode": 1}));

    // The list form: per-entry mode (default Quote), unknown symbols fail.
    c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE"}));
    let r = c.ask(json!({"action": "unsubscribe", "request_id": 7,
        "symbols": [{"symbol": "SBIN", "exchange": "NSE"}, {"symbol": "NOPE", "exchange": "NSE"}]}));
    assert_eq!(r["status"], "partial");
    assert_eq!(r["request_id"], 7);
    assert_eq!(r["failed"][0]["message"], "Symbol NOPE not found on NSE");
    assert_eq!(rig.h.interest.wanted_mode(sbin), 0);
}

#[test]
fn unsubscribe_all_and_disconnect_release_everything() {
    let rig = rig();
    let (sbin, infy) = (rig.sym("NSE", "SBIN"), rig.sym("NSE", "INFY"));
    let mut c = rig.authed();
    c.ask(json!({"action": "subscribe", "mode": 3,
                 "symbols": [{"symbol": "SBIN", "exchange": "NSE"}, {"symbol": "INFY", "exchange": "NSE"}]}));
    assert_eq!(rig.h.interest.wanted_mode(infy), 3);
    let r = c.ask(json!({"action": "unsubscribe_all"}));
    assert_eq!(r["type"], "unsubscribe");
    assert_eq!(r["status"], "success");
    assert_eq!(r["message"], "Unsubscription processing complete");
    assert_eq!(r["successful"].as_array().unwrap().len(), 2);
    assert_eq!(r["failed"], json!([]));
    assert_eq!(rig.h.interest.wanted_mode(sbin), 0);

    c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}));
    assert_eq!(rig.h.interest.wanted_mode(sbin), 1);
    drop(c);
    wait_for(|| rig.h.interest.wanted_mode(sbin) == 0, "interest released on disconnect");
}

#[test]
fn order_updates_after_the_journal_for_subscribers_only() {
    let rig = rig();
    let stats = rig.stats();
    order_updates_for_subscribers_only(rig);
    // The default path: the committing thread wrote them (while the server thread slept).
    assert!(stats.direct_updates.load(Ordering::Relaxed) > 0);
}

/// The same through a wake-up of the server thread instead of the committing thread's
/// direct write (`direct_updates: false`): same frames, same order, same release.
#[test]
fn order_updates_through_a_wake_up_of_the_server_thread() {
    let rig = rig_with(|c| c.direct_updates = false);
    let stats = rig.stats();
    order_updates_for_subscribers_only(rig);
    assert_eq!(stats.direct_updates.load(Ordering::Relaxed), 0);
}

fn order_updates_for_subscribers_only(rig: Rig) {
    let sbin = rig.sym("NSE", "SBIN");
    let mut subscriber = rig.authed();
    let mut other = rig.authed();
    let r = subscriber.ask(json!({"action": "subscribe_orders"}));
    assert_eq!(
        r,
        json!({"type": "subscribe_orders", "status": "success",
               "message": "Subscribed to order updates"})
    );
    rig.tick(quote(sbin, 812.5));
    let id = rig.place(order(sbin, Side::Buy, 10, PriceType::Market, 0.0));
    // A fill at placement is reported `open`, then `complete` (as OpenAlgo's sandbox).
    let u = subscriber.recv_until("order update", |v| v["type"] == "order_update");
    assert_eq!(
        (u["order_status"].clone(), u["filled_quantity"].clone()),
        (json!("open"), json!(0))
    );
    let u = subscriber.recv_until("order update", |v| v["type"] == "order_update");
    assert!(rig.h.health.durable_seq.load(Ordering::Acquire) > 0);
    assert_eq!(
        u,
        json!({"type": "order_update", "user_id": "sandbox", "mode": "analyze",
               "broker": "sandbox", "orderid": id.to_string(), "symbol": "SBIN",
               "exchange": "NSE", "action": "BUY", "quantity": 10, "price": 0.0,
               "trigger_price": 0.0, "pricetype": "MARKET", "product": "CNC",
               "order_status": "complete", "filled_quantity": 10, "pending_quantity": 0,
               "average_price": 812.55, "rejection_reason": ""})
    );
    assert_eq!(u["orderid"].as_str().unwrap().len(), 14);
    // The other client did not subscribe: its next message is the pong.
    assert_eq!(other.ask(json!({"action": "ping"}))["type"], "pong");

    let r = subscriber.ask(json!({"action": "unsubscribe_orders"}));
    assert_eq!(r["type"], "unsubscribe_orders");
    assert_eq!(r["status"], "success");
    // Witness: market data for a tick sequenced after the order. The order's update (were
    // it sent) is released at the order's commit, which `place` waited for, and updates go
    // out before quotes in a server turn: it would arrive before this market data.
    subscriber.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}));
    rig.place(order(sbin, Side::Buy, 1, PriceType::Limit, 700.0));
    rig.tick(quote(sbin, 813.0));
    let mut seen = Vec::new();
    loop {
        let v = subscriber.recv();
        let done = v["type"] == "market_data" && v["data"]["ltp"] == 813.0;
        seen.push(v);
        if done {
            break;
        }
    }
    assert!(
        seen.iter().all(|v| v["type"] != "order_update"),
        "order update after unsubscribe_orders: {seen:?}"
    );
}
