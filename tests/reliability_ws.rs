//! Faults and hostile input on the WebSocket side (guarantees 6, 8 and 9 of
//! RELIABILITY.md): many concurrent clients, slowloris handshakes, hostile values on every
//! action, wrong keys. (A client that never reads and cross-origin attempts are in
//! tests/ws_limits.rs.)

mod ws_support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ws_support::{Client, Ended, quote, rig, rig_with};

const ACTIONS: [&str; 10] = [
    "authenticate",
    "auth",
    "subscribe",
    "unsubscribe",
    "unsubscribe_all",
    "subscribe_orders",
    "unsubscribe_orders",
    "ping",
    "get_broker_info",
    "no_such_action",
];

const FIELDS: [&str; 9] = [
    "api_key",
    "apikey",
    "symbol",
    "exchange",
    "mode",
    "depth",
    "symbols",
    "request_id",
    "client_timestamp",
];

fn hostile_values() -> Vec<String> {
    vec![
        "NaN".into(),
        "Infinity".into(),
        "1e999".into(),
        "-1".into(),
        "99999999999999999999999999".into(),
        "18446744073709551615".into(),
        "-9223372036854775808".into(),
        "1.5".into(),
        "\"\\ud800\"".into(),
        format!("\"{}\"", "S".repeat(50_000)),
        "[]".into(),
        "{}".into(),
        "null".into(),
        "true".into(),
        format!("{}1{}", "[".repeat(100), "]".repeat(100)),
        "[{\"symbol\":\"SBIN\",\"exchange\":\"NSE\",\"symbol\":\"TCS\"}]".into(),
        "[{\"symbol\":-1,\"exchange\":1e999,\"mode\":\"x\"}]".into(),
        format!("[{}]", vec!["{\"symbol\":\"SBIN\",\"exchange\":\"NSE\"}"; 2000].join(",")),
    ]
}

/// Every reply to a hostile message is JSON; the connection survives or is closed with a
/// code, never a hang; and the server goes on answering.
#[test]
fn hostile_values_on_every_action_are_errors_and_the_server_goes_on() {
    // Hostile keys must reach the key check every time, not the address limit.
    let rig = rig_with(|c| c.auth_guard.max_failures = 0);
    let mut sent = 0;
    for authenticated in [false, true] {
        for action in ACTIONS {
            let mut c = if authenticated { rig.authed() } else { rig.client() };
            for field in FIELDS {
                for value in hostile_values() {
                    let text = format!(
                        "{{\"action\":\"{action}\",\"symbol\":\"SBIN\",\"exchange\":\"NSE\",\"{field}\":{value},\"{field}\":{value}}}"
                    );
                    if c.ws.send(tungstenite::Message::text(text.clone())).is_err() {
                        c = if authenticated { rig.authed() } else { rig.client() };
                        continue;
                    }
                    sent += 1;
                    match c.next() {
                        Ok(v) => assert!(v.is_object(), "{v}"),
                        Err(Ended::Closed(_)) | Err(Ended::Dropped(_)) => {
                            c = if authenticated { rig.authed() } else { rig.client() };
                        }
                        Err(Ended::Timeout) => {
                            // Some actions (unsubscribe of nothing) may be silent; check
                            // the connection still answers.
                            let shown: String = text.chars().take(80).collect();
                            let pong = c.ask(json!({"action": "ping"}));
                            assert!(pong.is_object(), "after {shown}: {pong}");
                        }
                    }
                }
            }
        }
    }
    // Invalid UTF-8 in a text frame and garbage binary frames.
    let mut c = rig.authed();
    c.ws.send(tungstenite::Message::Binary(vec![0xff, 0xfe, 0x00, 0x7b].into())).ok();
    let _ = c.next();
    let mut fresh = rig.authed();
    assert_eq!(fresh.ask(json!({"action": "ping"}))["type"], "pong");
    println!("{sent} hostile WS messages answered; server still serving");
}

#[test]
fn wrong_keys_are_refused_on_the_websocket() {
    let rig = rig();
    for key in ["", "wrong", &"k".repeat(10_000), "ws-test-key-012345678"] {
        let mut c = rig.client();
        let r = c.ask(json!({"action": "authenticate", "api_key": key}));
        assert_eq!(r["status"], "error", "{r}");
        // Still not authenticated.
        let r = c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE"}));
        assert_eq!(r["status"], "error", "{r}");
    }
}

/// A connection is closed with 1008 after its third wrong key; the address's failure
/// limit is checked before the key, so once it is used up even the right key is refused
/// (with an error naming the wait) and the connection closed.
#[test]
fn failed_authenticates_close_the_connection_and_then_the_address_is_refused() {
    let rig = rig_with(|c| {
        c.auth_guard.max_failures = 4;
        c.max_auth_failures_per_conn = 3;
    });
    let mut a = rig.client();
    for i in 0..3 {
        let r = a.ask(json!({"action": "authenticate", "api_key": format!("guess-{i:020}")}));
        assert_eq!(r["message"], "Invalid API key", "{r}");
    }
    match a.next() {
        Err(Ended::Closed(Some((code, _)))) => assert_eq!(code, 1008),
        other => panic!("expected a 1008 close after 3 wrong keys, got {other:?}"),
    }
    let mut b = rig.client();
    let r = b.ask(json!({"action": "authenticate", "api_key": "guess-3-000000000000000"}));
    assert_eq!(r["message"], "Invalid API key", "{r}");
    let r = b.ask(json!({"action": "authenticate", "api_key": ws_support::KEY}));
    assert_eq!(r["status"], "error", "{r}");
    let text = r["message"].as_str().unwrap_or_default();
    assert!(text.starts_with("Too many failed authentications"), "{r}");
    match b.next() {
        Err(Ended::Closed(Some((code, _)))) => assert_eq!(code, 1008),
        other => panic!("expected a 1008 close, got {other:?}"),
    }
    let stats = rig.stats();
    ws_support::wait_for(
        || stats.auth_refusals.load(std::sync::atomic::Ordering::Relaxed) == 2,
        "both 1008 closes counted",
    );
}

/// 200 concurrent authenticated subscribers all receive a tick; 1,000 is a tools/load run.
#[test]
fn two_hundred_concurrent_clients_all_get_market_data() {
    let rig = rig();
    let sbin = rig.sym("NSE", "SBIN");
    let n = 200;
    let mut clients: Vec<Client> = (0..n)
        .map(|_| {
            let mut c = rig.authed();
            let r = c.ask(
                json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}),
            );
            assert_eq!(r["status"], "success", "{r}");
            c
        })
        .collect();
    let t = Instant::now();
    rig.tick(quote(sbin, 812.5));
    for c in &mut clients {
        let v = c.recv_until("the tick", |v: &Value| {
            v["type"] == "market_data" && v["data"]["ltp"] == 812.5
        });
        assert_eq!(v["symbol"], "SBIN");
    }
    println!("{n} clients each got the tick within {:?}", t.elapsed());
}

/// Connections that dribble their HTTP upgrade request byte by byte (or open and say
/// nothing) do not stop other clients from connecting and being served.
#[test]
fn slowloris_handshakes_on_the_ws_port_do_not_block_other_clients() {
    let rig = rig();
    let addr = rig.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for i in 0..50 {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(addr) else { return };
            if i % 2 == 0 {
                // Silent: connected, never sends a byte.
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            let req = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nX-Slow: ";
            for &b in req.iter().chain(std::iter::repeat(&b'a')) {
                if stop.load(std::sync::atomic::Ordering::Relaxed) || s.write_all(&[b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    for _ in 0..10 {
        let mut c = rig.authed();
        assert_eq!(c.ask(json!({"action": "ping"}))["type"], "pong");
    }
    let took = t.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert!(took < Duration::from_secs(5), "10 clients took {took:?} behind 50 slowloris");
    println!("10 clients connected and served in {took:?} beside 50 slowloris connections");
}
