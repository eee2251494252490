//! The simulated broker's WebSocket feed over real loopback sockets: the server side of
//! OPENALGO.md section 1.

mod sim_util;

use serde_json::{Value, json};
use sim_util::{Client, DEADLINE, KEY, post_json, sim};
use std::time::Duration;
use tickfill::sim::Control;
use tickfill::types::{Exchange, Price};

fn error_code(v: &Value) -> &str {
    assert_eq!(v["status"], "error", "{v}");
    assert!(v.get("type").is_none(), "error replies carry no type: {v}");
    v["code"].as_str().expect("code")
}

#[test]
fn authenticate_right_wrong_and_missing_key() {
    let s = sim(1_000, 1);
    let mut c = Client::connect(s.ws_addr());
    let r = c.request(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE"}));
    assert_eq!(error_code(&r), "NOT_AUTHENTICATED");
    assert_eq!(r["message"], "You must authenticate first");
    let r = c.request(json!({"action": "authenticate"}));
    assert_eq!(error_code(&r), "AUTHENTICATION_ERROR");
    assert_eq!(r["message"], "API key is required");
    let r = c.request(json!({"action": "authenticate", "api_key": "wrong"}));
    assert_eq!(error_code(&r), "AUTHENTICATION_ERROR");
    assert_eq!(r["message"], "Invalid API key");
    let r = c.request(json!({"type": "auth", "apikey": KEY}));
    assert_eq!(r["type"], "auth");
    assert_eq!(r["status"], "success");
    assert_eq!(r["message"], "Authentication successful");
    assert_eq!(r["supported_features"], json!({"ltp": true, "quote": true, "depth": true}));
    assert!(r["broker"].is_string() && r["user_id"].is_string());
    s.stop();
}

#[test]
fn each_mode_carries_its_fields_in_both_subscribe_forms() {
    let s = sim(2_000, 2);
    let mut c = Client::authed(s.ws_addr());
    let r = c.request(json!({"action": "subscribe", "request_id": "r1", "mode": 1,
        "symbols": [{"symbol": "RELIANCE", "exchange": "NSE"}]}));
    assert_eq!(r["type"], "subscribe");
    assert_eq!(r["status"], "success");
    assert_eq!(r["request_id"], "r1");
    assert_eq!(r["message"], "Subscription processing complete");
    assert_eq!(r["subscriptions"][0]["mode"], "LTP");
    assert_eq!(r["subscriptions"][0]["depth"], 5);
    let r = c.request(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE",
        "mode": "quote", "depth": 5}));
    assert_eq!(r["status"], "success", "{r}");
    assert_eq!(r["subscriptions"][0]["mode"], "Quote");
    let r = c.request(json!({"action": "subscribe", "symbol": "INFY", "exchange": "NSE",
        "mode": 3}));
    assert_eq!(r["subscriptions"][0]["mode"], "Depth");

    let ltp = c.frame_for("RELIANCE");
    assert_eq!(ltp["mode"], 1);
    assert_eq!(ltp["exchange"], "NSE");
    let d = &ltp["data"];
    assert!(d["ltp"].as_f64().unwrap() > 0.0);
    assert!(d["ltt"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(d["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(d.get("bid_price").is_none() && d.get("depth").is_none());

    let quote = c.frame_for("SBIN");
    assert_eq!(quote["mode"], 2);
    let d = &quote["data"];
    for field in [
        "open",
        "high",
        "low",
        "close",
        "volume",
        "last_trade_quantity",
        "average_price",
        "avg_trade_price",
        "total_buy_quantity",
        "total_sell_quantity",
        "change",
        "change_percent",
        "bid_price",
        "ask_price",
        "bid_size",
        "ask_size",
    ] {
        assert!(d[field].is_number(), "Quote lacks {field}: {quote}");
    }
    assert!(d["bid_price"].as_f64() < d["ltp"].as_f64());
    assert!(d["ask_price"].as_f64() > d["ltp"].as_f64());
    assert!(d.get("depth").is_none());

    let depth = c.frame_for("INFY");
    assert_eq!(depth["mode"], 3);
    let d = &depth["data"];
    assert!(d["bid_price"].is_number());
    for side in ["buy", "sell"] {
        let levels = d["depth"][side].as_array().unwrap();
        assert_eq!(levels.len(), 5, "{side}");
        for l in levels {
            assert!(l["price"].as_f64().unwrap() > 0.0 && l["quantity"].as_i64().unwrap() > 0);
            assert!(l["orders"].is_number());
        }
    }
    assert!(d["oi"].is_number() && d["upper_circuit"].is_number());
    s.stop();
}

#[test]
fn a_client_subscribed_in_two_modes_gets_each_label() {
    let s = sim(2_000, 3);
    let mut c = Client::authed(s.ws_addr());
    for mode in [1, 3] {
        let r = c.request(json!({"action": "subscribe", "symbol": "TCS", "exchange": "NSE",
            "mode": mode}));
        assert_eq!(r["status"], "success");
    }
    let one = c.frame_where(|v| v["mode"] == 1);
    let three = c.frame_where(|v| v["mode"] == 3);
    assert!(one["data"].get("depth").is_none());
    assert!(three["data"]["depth"].is_object());
    s.stop();
}

#[test]
fn unsubscribe_stops_frames_and_errors_are_reported_per_entry() {
    let s = sim(5_000, 4);
    let mut c = Client::authed(s.ws_addr());
    let r = c.request(json!({"action": "subscribe", "mode": 2, "symbols": [
        {"symbol": "SBIN", "exchange": "NSE"}, {"symbol": "TCS", "exchange": "NSE"},
        {"symbol": "NOSUCH", "exchange": "NSE"}, {"exchange": "NSE"}]}));
    assert_eq!(r["status"], "partial");
    assert_eq!(r["subscriptions"][2]["status"], "error");
    assert!(r["subscriptions"][3]["message"].as_str().unwrap().contains("symbol"));
    c.frame_for("SBIN");
    let r = c.request(json!({"action": "unsubscribe", "symbol": "SBIN", "exchange": "NSE",
        "mode": 2}));
    assert_eq!(r["type"], "unsubscribe");
    assert_eq!(r["status"], "success", "{r}");
    assert_eq!(r["message"], "Unsubscription processing complete");
    assert_eq!(r["successful"].as_array().unwrap().len(), 1);
    // Frames sent before the reply came before it; none for SBIN may follow it.
    for _ in 0..300 {
        let f = c.frame_where(|_| true);
        assert_eq!(f["symbol"], "TCS", "a frame for an unsubscribed symbol: {f}");
    }
    let r = c.request(json!({"action": "unsubscribe", "symbols": [
        {"symbol": "TCS", "exchange": "NSE", "mode": 1}]}));
    assert_eq!(r["status"], "error", "TCS was subscribed in Quote, not LTP: {r}");
    let r = c.request(json!({"action": "unsubscribe_all"}));
    assert_eq!(r["status"], "success");
    assert!(c.until_quiet(Duration::from_millis(300)));
    let r = c.request(json!({"action": "unsubscribe"}));
    assert_eq!(error_code(&r), "INVALID_PARAMETERS");
    assert_eq!(r["message"], "Either symbols or unsubscribe_all is required");
    s.stop();
}

#[test]
fn bad_messages_get_error_replies_and_the_connection_stays_open() {
    let s = sim(1_000, 5);
    let mut c = Client::authed(s.ws_addr());
    c.send_text("{not json");
    let r = c.reply();
    assert_eq!(error_code(&r), "INVALID_JSON");
    assert_eq!(r["message"], "Invalid JSON message");
    let r = c.request(json!({"action": "teleport"}));
    assert_eq!(error_code(&r), "INVALID_ACTION");
    assert_eq!(r["message"], "Invalid action: teleport");
    for mode in [json!(4), json!(true), json!(2.5), json!("full")] {
        let r = c.request(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE",
            "mode": mode}));
        assert_eq!(error_code(&r), "INVALID_MODE", "mode {mode}");
    }
    let r = c.request(json!({"action": "subscribe", "symbols": []}));
    assert_eq!(error_code(&r), "INVALID_PARAMETERS");
    assert_eq!(r["message"], "At least one symbol must be specified");
    let r = c.request(json!({"action": "ping", "client_timestamp": 5, "_pingId": "p"}));
    assert_eq!(r["type"], "pong");
    assert_eq!(r["client_timestamp"], 5);
    assert_eq!(r["_pingId"], "p");
    assert!(r["server_timestamp"].as_i64().unwrap() > 0);
    let r = c.request(json!({"action": "get_broker_info"}));
    assert_eq!(r["type"], "broker_info");
    s.stop();
}

#[test]
fn messages_over_64_kib_are_refused() {
    let s = sim(1_000, 6);
    let mut c = Client::authed(s.ws_addr());
    let big = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(70 * 1024));
    c.send_text(&big);
    let r = c.reply();
    assert_eq!(error_code(&r), "LIMIT_EXCEEDED");
    assert!(c.closed_within(Duration::from_secs(5)));
    // The server is unaffected.
    let mut c = Client::authed(s.ws_addr());
    assert_eq!(c.request(json!({"action": "ping"}))["type"], "pong");
    s.stop();
}

#[test]
fn mute_silences_the_open_socket_and_resume_restarts_it() {
    let s = sim(2_000, 7);
    let mut c = Client::authed(s.ws_addr());
    c.request(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE"}));
    c.frame_for("SBIN");
    let (code, r) =
        post_json(s.rest_addr(), "/sim/control", json!({"apikey": KEY, "action": "mute"}));
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["sim"]["muted"], true);
    assert!(c.until_quiet(Duration::from_millis(500)), "frames kept coming while muted");
    // Still open and answering.
    assert_eq!(c.request(json!({"action": "ping"}))["type"], "pong");
    // REST quotes still answer, and prices keep moving.
    assert!(s.status().muted);
    let (code, _) = post_json(
        s.rest_addr(),
        "/api/v1/quotes",
        json!({"apikey": KEY, "symbol": "SBIN", "exchange": "NSE"}),
    );
    assert_eq!(code, 200);
    s.control(Control::Resume).unwrap();
    c.frame_for("SBIN");
    s.stop();
}

#[test]
fn pause_holds_prices_and_set_price_shows_in_quotes_and_the_next_frame() {
    let s = sim(500, 8);
    let mut c = Client::authed(s.ws_addr());
    c.request(json!({"action": "subscribe", "symbol": "RELIANCE", "exchange": "NSE",
        "mode": 2}));
    c.frame_for("RELIANCE");
    s.control(Control::Pause).unwrap();
    assert!(c.until_quiet(Duration::from_millis(300)), "frames kept coming while paused");
    let quote = || {
        let (code, r) = post_json(
            s.rest_addr(),
            "/api/v1/quotes",
            json!({"apikey": KEY, "symbol": "RELIANCE", "exchange": "NSE"}),
        );
        assert_eq!(code, 200, "{r}");
        r["data"].clone()
    };
    let before = quote();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(quote()["ltp"], before["ltp"], "paused prices must not move");
    let target = before["high"].as_f64().unwrap() + 100.0;
    let (code, r) = post_json(
        s.rest_addr(),
        "/sim/control",
        json!({"apikey": KEY, "action": "set_price",
        "symbol": "RELIANCE", "exchange": "NSE", "ltp": target}),
    );
    assert_eq!(code, 200, "{r}");
    let q = quote();
    assert_eq!(q["ltp"].as_f64().unwrap(), target);
    assert_eq!(q["high"].as_f64().unwrap(), target);
    s.control(Control::Resume).unwrap();
    let f = c.frame_for("RELIANCE");
    assert_eq!(f["data"]["ltp"].as_f64().unwrap(), target, "{f}");
    assert!(f["data"]["high"].as_f64().unwrap() >= target);
    // While running, a set price is pushed at once.
    let down = Price::from_f64(target - 200.0).unwrap();
    s.control(Control::SetPrice { exchange: Exchange::Nse, symbol: "RELIANCE".into(), ltp: down })
        .unwrap();
    let f = c.frame_where(|v| v["data"]["ltp"].as_f64() == Some(down.to_f64()));
    assert!(f["data"]["low"].as_f64().unwrap() <= down.to_f64());
    s.stop();
}

fn first_prices(seed: u64, n: usize) -> Vec<f64> {
    let s = sim(2_000, seed);
    let mut c = Client::authed(s.ws_addr());
    c.request(json!({"action": "subscribe", "symbol": "INFY", "exchange": "NSE", "mode": 1}));
    let prices = (0..n).map(|_| c.frame_for("INFY")["data"]["ltp"].as_f64().unwrap()).collect();
    s.stop();
    prices
}

#[test]
fn a_seeded_run_is_reproducible() {
    let a = first_prices(99, 40);
    assert_eq!(a, first_prices(99, 40));
    assert_ne!(a, first_prices(100, 40));
}

#[test]
fn set_clock_moves_the_time_every_tick_carries() {
    let s = sim(2_000, 9);
    let mut c = Client::authed(s.ws_addr());
    c.request(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}));
    let before = c.frame_for("SBIN")["data"]["ltt"].as_i64().unwrap();
    // Two days ahead, as epoch milliseconds.
    let target = before + 2 * 86_400_000;
    let (code, r) = post_json(
        s.rest_addr(),
        "/sim/control",
        json!({"apikey": KEY, "action": "set_clock", "time": target}),
    );
    assert_eq!(code, 200, "{r}");
    assert!(r["sim"]["clock_offset_ms"].as_i64().unwrap() >= 2 * 86_400_000 - 60_000, "{r}");
    // Frames already in flight carry the old time; the first one after carries the new.
    let deadline = std::time::Instant::now() + DEADLINE;
    let moved = loop {
        let d = c.frame_for("SBIN")["data"].clone();
        if d["ltt"].as_i64().unwrap() >= target {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no frame at the new time");
    };
    let ltt = moved["ltt"].as_i64().unwrap();
    assert!(ltt < target + 60_000, "{moved}");
    assert!(moved["timestamp"].as_i64().unwrap() >= target, "{moved}");
    // Never backwards; the time is named.
    let (code, r) = post_json(
        s.rest_addr(),
        "/sim/control",
        json!({"apikey": KEY, "action": "set_clock", "time": "2026-01-01 09:15:00"}),
    );
    assert_eq!(code, 400, "{r}");
    assert!(r["message"].as_str().unwrap().starts_with("time: the clock only moves forward"));
    for bad in [json!("tomorrow"), json!(-5), json!(true), Value::Null] {
        let (code, r) = post_json(
            s.rest_addr(),
            "/sim/control",
            json!({"apikey": KEY, "action": "set_clock", "time": bad}),
        );
        assert_eq!(code, 400, "{r}");
        assert!(r["message"].as_str().unwrap().starts_with("time"), "{r}");
    }
    s.stop();
}
