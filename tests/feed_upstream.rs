//! The feed end to end over real loopback sockets: a scripted OpenAlgo upstream (a
//! tungstenite server and a tiny REST quotes server, both in this file) feeds a real
//! engine. Thresholds are short (stale after 2 s, checks every 500 ms), never the
//! defaults, and every wait is bounded.

mod util;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tickfill::engine::{Engine, EngineConfig, EngineHandle};
use tickfill::event::{QueryKind, Tick};
use tickfill::sequencer::FeedConfig;
use tickfill::types::{OrderStatus, Price, PriceType, Side, SymbolId};
use tickfill::views::{QueryReply, TradeRow};
use tickfill::watchdog::{EngineType, WatchdogConfig};
use tungstenite::{Message, WebSocket};
use util::*;

const KEY: &str = "upstream-test-key";

// ---------------------------------------------------------------- scripted upstream

/// What the scripted WebSocket upstream saw and what it should send.
#[derive(Default)]
struct Script {
    /// `EXCHANGE:SYMBOL` -> mode, as subscribed by the engine.
    subscribed: Mutex<HashMap<String, u8>>,
    auths: AtomicUsize,
    /// Frames to push to every authenticated connection (each connection drains its own).
    outboxes: Mutex<Vec<crossbeam_channel::Sender<String>>>,
    stop: AtomicBool,
}

struct Upstream {
    port: u16,
    script: Arc<Script>,
    threads: Vec<JoinHandle<()>>,
}

impl Upstream {
    /// Listens on `port` (0 = any free port).
    fn start(port: u16) -> Upstream {
        let listener = bind_retrying(port);
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let script = Arc::new(Script::default());
        let s = Arc::clone(&script);
        let accept = std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = Arc::clone(&s);
                        conns.push(std::thread::spawn(move || serve(stream, s)));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
            drop(listener);
            for c in conns {
                let _ = c.join();
            }
        });
        Upstream { port, script, threads: vec![accept] }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Sends a frame to every authenticated connection.
    fn push(&self, frame: String) {
        for tx in self.script.outboxes.lock().unwrap().iter() {
            let _ = tx.send(frame.clone());
        }
    }

    fn subscribed(&self, key: &str) -> Option<u8> {
        self.script.subscribed.lock().unwrap().get(key).copied()
    }

    /// Closes the listener and every connection, as a killed process would.
    fn kill(mut self) {
        self.script.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn bind_retrying(port: u16) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => return l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("bind {port}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("cannot bind {port}: {e}"),
        }
    }
}

fn serve(stream: TcpStream, script: Arc<Script>) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let Ok(mut ws) = tungstenite::accept(stream) else { return };
    // Short reads from now on, so scripted frames go out promptly.
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded::<String>();
    let mut authenticated = false;
    while !script.stop.load(Ordering::SeqCst) {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let Ok(msg) = serde_json::from_str::<Value>(t.as_str()) else { continue };
                let reply = handle(&msg, &script, &mut authenticated, &tx);
                if let Some(r) = reply {
                    if ws.send(Message::text(r.to_string())).is_err() {
                        return;
                    }
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        while let Ok(frame) = rx.try_recv() {
            if ws.send(Message::text(frame)).is_err() {
                return;
            }
        }
    }
    close_abruptly(ws);
}

fn close_abruptly(ws: WebSocket<TcpStream>) {
    let _ = ws.get_ref().shutdown(std::net::Shutdown::Both);
}

fn handle(
    msg: &Value,
    script: &Script,
    authenticated: &mut bool,
    tx: &crossbeam_channel::Sender<String>,
) -> Option<Value> {
    let action = msg["action"].as_str().unwrap_or_default();
    match action {
        "authenticate" | "auth" => {
            if msg["api_key"] != KEY {
                return Some(
                    json!({"status":"error","code":"AUTHENTICATION_ERROR","message":"Invalid API key"}),
                );
            }
            *authenticated = true;
            script.auths.fetch_add(1, Ordering::SeqCst);
            script.outboxes.lock().unwrap().push(tx.clone());
            Some(json!({"type":"auth","status":"success","message":"Authentication successful",
                "broker":"scripted","user_id":"u","supported_features":{"ltp":true,"quote":true,"depth":true}}))
        }
        _ if !*authenticated => Some(json!({"status":"error","code":"NOT_AUTHENTICATED",
            "message":"You must authenticate first"})),
        "subscribe" | "unsubscribe" => {
            let mut subs = script.subscribed.lock().unwrap();
            for s in msg["symbols"].as_array().into_iter().flatten() {
                let key = format!("{}:{}", s["exchange"].as_str()?, s["symbol"].as_str()?);
                let mode = s["mode"].as_u64().or(msg["mode"].as_u64()).unwrap_or(2) as u8;
                if action == "subscribe" {
                    subs.insert(key, mode);
                } else if subs.get(&key) == Some(&mode) {
                    subs.remove(&key);
                }
            }
            Some(json!({"type": action, "status":"success", "message":"ok"}))
        }
        _ => Some(json!({"status":"error","code":"INVALID_ACTION","message":"Invalid action"})),
    }
}

// ---------------------------------------------------------------- scripted REST quotes

#[derive(Default)]
struct Quotes {
    prices: Mutex<HashMap<String, f64>>,
    requests: AtomicUsize,
    /// Requests still to answer with HTTP 500, then with garbage.
    fail_500: AtomicUsize,
    fail_garbage: AtomicUsize,
    stop: AtomicBool,
}

struct Rest {
    url: String,
    quotes: Arc<Quotes>,
    thread: Option<JoinHandle<()>>,
}

impl Rest {
    fn start() -> Rest {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind REST");
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let quotes = Arc::new(Quotes::default());
        let q = Arc::clone(&quotes);
        let thread = std::thread::spawn(move || {
            while !q.stop.load(Ordering::SeqCst) {
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(10)) else {
                    continue;
                };
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let (status, reply) = rest_reply(&q, req.url(), &body);
                let _ =
                    req.respond(tiny_http::Response::from_string(reply).with_status_code(status));
            }
        });
        Rest { url, quotes, thread: Some(thread) }
    }

    fn set(&self, key: &str, price: f64) {
        self.quotes.prices.lock().unwrap().insert(key.to_string(), price);
    }

    fn requests(&self) -> usize {
        self.quotes.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Rest {
    fn drop(&mut self) {
        self.quotes.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn rest_reply(q: &Quotes, url: &str, body: &str) -> (u16, String) {
    q.requests.fetch_add(1, Ordering::SeqCst);
    let take = |c: &AtomicUsize| {
        c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    };
    if take(&q.fail_500) {
        return (500, r#"{"status":"error","message":"An unexpected error occurred"}"#.into());
    }
    if take(&q.fail_garbage) {
        return (200, "<html>not json</html>".into());
    }
    let Ok(req) = serde_json::from_str::<Value>(body) else { return (400, "{}".into()) };
    if req["apikey"] != KEY {
        return (403, r#"{"status":"error","message":"Invalid openalgo apikey"}"#.into());
    }
    let prices = q.prices.lock().unwrap();
    let quote = |sym: &str, ex: &str| {
        prices.get(&format!("{ex}:{sym}")).map(|&p| {
            json!({"open":p,"high":p + 50.0,"low":p - 50.0,"ltp":p,"ask":p + 0.05,"bid":p - 0.05,
                   "prev_close":p,"volume":1000,"oi":0})
        })
    };
    let path = url.trim_end_matches('/');
    if path.ends_with("/multiquotes") {
        let results: Vec<Value> = req["symbols"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let (sym, ex) =
                    (s["symbol"].as_str().unwrap_or(""), s["exchange"].as_str().unwrap_or(""));
                match quote(sym, ex) {
                    Some(d) => json!({"symbol":sym,"exchange":ex,"data":d}),
                    None => json!({"symbol":sym,"exchange":ex,"error":"no quote"}),
                }
            })
            .collect();
        (200, json!({"status":"success","results":results}).to_string())
    } else if path.ends_with("/quotes") {
        let (sym, ex) =
            (req["symbol"].as_str().unwrap_or(""), req["exchange"].as_str().unwrap_or(""));
        match quote(sym, ex) {
            Some(d) => (200, json!({"status":"success","data":d}).to_string()),
            None => (400, r#"{"status":"error","message":"no quote"}"#.into()),
        }
    } else {
        (404, "{}".into())
    }
}

// ---------------------------------------------------------------- helpers

fn short_watchdog(rest: Option<&Rest>) -> WatchdogConfig {
    WatchdogConfig {
        upstream_rest: rest.map(|r| r.url.clone()),
        api_key: KEY.into(),
        health_interval: Duration::from_millis(500),
        stale_after: Duration::from_secs(2),
        poll_interval: Duration::from_millis(500),
        mtm_max_age: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..WatchdogConfig::default()
    }
}

fn feed_engine(dir: &std::path::Path, url: Option<String>, rest: Option<&Rest>) -> Engine {
    let mut c: EngineConfig = config(dir);
    if let Some(url) = url {
        c.feed = FeedConfig::Upstream { url, api_key: KEY.into() };
    }
    c.watchdog = short_watchdog(rest);
    Engine::start(c).expect("engine starts")
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

fn quote_frame(symbol: &str, ltp: f64) -> String {
    json!({"type":"market_data","symbol":symbol,"exchange":"NSE","mode":2,
        "data":{"ltp":ltp,"ltt":1,"timestamp":1,"open":ltp,"high":ltp + 50.0,"low":ltp - 50.0,
                "close":ltp,"bid_price":ltp - 0.05,"ask_price":ltp + 0.05}})
    .to_string()
}

fn trades(h: &EngineHandle) -> Vec<TradeRow> {
    match h.query(QueryKind::TradeBook).expect("answer") {
        QueryReply::Trades(t) => t,
        other => panic!("unexpected {other:?}"),
    }
}

fn order_status(h: &EngineHandle) -> OrderStatus {
    orders(h)[0].status
}

fn feed(h: &EngineHandle) -> &tickfill::health::FeedHealth {
    &h.health.feed
}

fn px(v: f64) -> Price {
    Price::from_f64(v).unwrap()
}

fn board_ltp(h: &EngineHandle, s: SymbolId) -> Option<Tick> {
    h.board.read(s).map(|q| q.tick)
}

// ---------------------------------------------------------------- tests

#[test]
fn streamed_ticks_fill_a_resting_limit_order_at_its_price() {
    let up = Upstream::start(0);
    let dir = tempfile::tempdir().unwrap();
    let engine = feed_engine(dir.path(), Some(up.url()), None);
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    assert!(feed(&h).connected.load(Ordering::SeqCst));
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    // The engine needs SBIN now: subscribed in Quote mode.
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN") == Some(2));
    up.push(quote_frame("SBIN", 812.5));
    wait_for("first tick", Duration::from_secs(5), || {
        feed(&h).stream_ticks.load(Ordering::SeqCst) == 1
    });
    assert_eq!(order_status(&h), OrderStatus::Open);
    up.push(quote_frame("SBIN", 809.95));
    wait_for("fill", Duration::from_secs(5), || order_status(&h) == OrderStatus::Complete);
    let t = trades(&h);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].price, px(810.0), "an open LIMIT fills at its limit price");
    assert_eq!(feed(&h).validation_errors.load(Ordering::SeqCst), 0);
    assert!(feed(&h).last_data_age_ms().is_some());
    // The position keeps SBIN wanted; a cancelled order's symbol is unsubscribed.
    let tcs = sym(&h, "NSE", "TCS");
    let id = placed(&h, order(tcs, Side::Buy, 1, PriceType::Limit, 3000.0));
    wait_for("TCS subscribed", Duration::from_secs(5), || up.subscribed("NSE:TCS") == Some(2));
    h.submit(tickfill::event::CommandKind::Cancel { order_id: id }).expect("cancelled");
    wait_for("TCS unsubscribed", Duration::from_secs(5), || up.subscribed("NSE:TCS").is_none());
    assert_eq!(up.subscribed("NSE:SBIN"), Some(2));
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn muted_stream_falls_back_to_polling_and_recovers_with_exactly_one_trade() {
    let up = Upstream::start(0);
    let rest = Rest::start();
    rest.set("NSE:SBIN", 812.0);
    let dir = tempfile::tempdir().unwrap();
    let engine = feed_engine(dir.path(), Some(up.url()), Some(&rest));
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    let sbin = sym(&h, "NSE", "SBIN");
    let id = placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN").is_some());
    // A live stream for a second: websocket mode, no polling.
    for _ in 0..10 {
        up.push(quote_frame("SBIN", 812.0));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!feed(&h).polling.load(Ordering::SeqCst), "fresh stream: no polling");
    assert_eq!(rest.requests(), 0);

    // Mute: polling starts within stale_after + one health interval (plus slack).
    let muted_at = Instant::now();
    wait_for("polling fallback", Duration::from_secs(4), || {
        feed(&h).polling.load(Ordering::SeqCst)
    });
    assert!(muted_at.elapsed() >= Duration::from_millis(1500), "not before the stream is stale");
    // REST errors are retried: one 500, one garbage reply, then quotes flow.
    rest.quotes.fail_500.store(1, Ordering::SeqCst);
    rest.quotes.fail_garbage.store(1, Ordering::SeqCst);
    rest.set("NSE:SBIN", 809.0);
    wait_for("fill from a polled quote", Duration::from_secs(10), || {
        order_status(&h) == OrderStatus::Complete
    });
    assert!(feed(&h).polled_quotes.load(Ordering::SeqCst) >= 1);
    assert!(rest.requests() >= 3, "the failed requests were retried");
    let t = trades(&h);
    assert_eq!((t.len(), t[0].order_id, t[0].price), (1, id, px(810.0)));

    // The stream resumes below the limit again: polling stops, nothing fills twice.
    let resumed = Instant::now();
    let pusher_stop = Arc::new(AtomicBool::new(false));
    let frames = {
        let stop = Arc::clone(&pusher_stop);
        let script = Arc::clone(&up.script);
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for tx in script.outboxes.lock().unwrap().iter() {
                    let _ = tx.send(quote_frame("SBIN", 805.0));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    wait_for("polling stops", Duration::from_secs(3), || !feed(&h).polling.load(Ordering::SeqCst));
    assert!(resumed.elapsed() < Duration::from_secs(3));
    let polled = feed(&h).polled_quotes.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1200));
    pusher_stop.store(true, Ordering::SeqCst);
    frames.join().unwrap();
    assert_eq!(feed(&h).polled_quotes.load(Ordering::SeqCst), polled, "no polling after recovery");
    assert_eq!(trades(&h).len(), 1, "exactly one trade for the order");
    assert_eq!(positions(&h)[0].qty.0, 10);
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn upstream_killed_and_restarted_reconnects_resubscribes_and_fills_resume() {
    let up = Upstream::start(0);
    let port = up.port;
    let dir = tempfile::tempdir().unwrap();
    let engine = feed_engine(dir.path(), Some(up.url()), None);
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    let sbin = sym(&h, "NSE", "SBIN");
    let infy = sym(&h, "NSE", "INFY");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN").is_some());
    up.push(quote_frame("SBIN", 809.0));
    wait_for("first fill", Duration::from_secs(5), || trades(&h).len() == 1);

    up.kill();
    wait_for("disconnect noticed", Duration::from_secs(5), || {
        !feed(&h).connected.load(Ordering::SeqCst)
    });
    assert!(!feed(&h).authenticated.load(Ordering::SeqCst));
    // A new order while the upstream is down: subscribed once it is back.
    let infy_px = 1500.0;
    placed(&h, order(infy, Side::Buy, 1, PriceType::Limit, infy_px));
    std::thread::sleep(Duration::from_millis(300));
    let up = Upstream::start(port);
    wait_for("reconnect and re-authentication", Duration::from_secs(8), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    assert!(feed(&h).reconnects.load(Ordering::SeqCst) >= 1);
    wait_for("resubscription", Duration::from_secs(5), || {
        up.subscribed("NSE:SBIN").is_some() && up.subscribed("NSE:INFY").is_some()
    });
    up.push(
        json!({"type":"market_data","symbol":"INFY","exchange":"NSE","mode":2,
        "data":{"ltp":infy_px - 1.0}})
        .to_string(),
    );
    wait_for("fill after reconnect", Duration::from_secs(5), || trades(&h).len() == 2);
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn garbage_huge_and_wrong_typed_frames_are_counted_and_the_engine_goes_on() {
    let up = Upstream::start(0);
    let dir = tempfile::tempdir().unwrap();
    let engine = feed_engine(dir.path(), Some(up.url()), None);
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN").is_some());
    let huge = format!(
        r#"{{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{{"ltp":1,"pad":"{}"}}}}"#,
        "x".repeat(3 << 19)
    );
    let bad = [
        "not json at all".to_string(),
        "[1,2,3]".to_string(),
        huge,
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":"abc"}}"#.into(),
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":true}}"#.into(),
        r#"{"type":"market_data","symbol":["SBIN"],"exchange":"NSE","data":{"ltp":1}}"#.into(),
        r#"{"type":"market_data","symbol":"NOSUCH","exchange":"NSE","data":{"ltp":1}}"#.into(),
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":1,"depth":{"buy":"x"}}}"#.into(),
    ];
    for f in &bad {
        up.push(f.clone());
    }
    wait_for("every bad frame counted", Duration::from_secs(10), || {
        feed(&h).validation_errors.load(Ordering::SeqCst) == bad.len() as u64
    });
    assert_eq!(feed(&h).stream_ticks.load(Ordering::SeqCst), 0, "nothing reached the ring");
    assert_eq!(feed(&h).reconnects.load(Ordering::SeqCst), 0, "the connection survived");
    assert_eq!(order_status(&h), OrderStatus::Open);
    up.push(quote_frame("SBIN", 809.0));
    wait_for("fill after the garbage", Duration::from_secs(5), || trades(&h).len() == 1);
    assert!(!h.health.refusing_orders());
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn every_message_shape_of_the_protocol_decodes_over_the_socket() {
    let up = Upstream::start(0);
    let dir = tempfile::tempdir().unwrap();
    let engine = feed_engine(dir.path(), Some(up.url()), None);
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    let names = ["SBIN", "INFY", "TCS", "RELIANCE", "HDFCBANK", "ICICIBANK", "ITC"];
    let ids: Vec<SymbolId> = names.iter().map(|n| sym(&h, "NSE", n)).collect();
    // Frames written by the protocol module in each mode.
    let mut t = tick(ids[0], 812.5);
    t.depth.levels = 1;
    t.depth.buy[0] = tickfill::event::Level { price: px(812.45), quantity: 10, orders: 1 };
    for (k, mode) in [1u8, 2, 3].into_iter().enumerate() {
        let mut buf = Vec::new();
        let mut tk = t;
        tk.symbol = ids[k];
        tickfill::protocol::market_data::write(&mut buf, names[k], "NSE", mode, &tk, 1, "sandbox");
        up.push(String::from_utf8(buf).unwrap());
    }
    let zero = r#"{"price":0,"quantity":0,"orders":0}"#;
    let padded = format!("[{zero},{zero},{zero},{zero},{zero}]");
    let hand_written = [
        // Padded depth, both sides empty.
        format!(
            r#"{{"type":"market_data","symbol":"RELIANCE","exchange":"NSE","mode":3,
                "data":{{"ltp":1424.5,"depth":{{"buy":{padded},"sell":{padded}}}}}}}"#
        ),
        // Missing optional fields, numbers as strings, mode as a name.
        r#"{"type":"market_data","symbol":"HDFCBANK","exchange":"NSE","mode":"quote",
            "data":{"ltp":"1650.25","volume":"100"}}"#
            .to_string(),
        // bids/asks instead of depth.
        r#"{"type":"market_data","symbol":"ICICIBANK","exchange":"NSE","mode":3,
            "data":{"ltp":1200,"bids":[{"price":1199.95,"quantity":5}],"asks":[{"price":"1200.05","quantity":"6"}]}}"#
            .to_string(),
        // No mode at all, exchange in lower case.
        r#"{"type":"market_data","symbol":"ITC","exchange":"nse","data":{"ltp":455.5}}"#.to_string(),
    ];
    for f in &hand_written {
        up.push(f.clone());
    }
    let n = 3 + hand_written.len() as u64;
    wait_for("every shape", Duration::from_secs(5), || {
        feed(&h).stream_ticks.load(Ordering::SeqCst) == n
    });
    assert_eq!(feed(&h).validation_errors.load(Ordering::SeqCst), 0);
    wait_for("the quote board", Duration::from_secs(5), || {
        ids.iter().all(|s| board_ltp(&h, *s).is_some())
    });
    let q = |i: usize| board_ltp(&h, ids[i]).unwrap();
    assert_eq!((q(0).ltp, q(0).mode), (px(812.5), 1));
    assert_eq!((q(1).bid, q(1).mode), (t.bid, 2));
    assert_eq!((q(2).depth.levels, q(2).depth.buy[0].quantity, q(2).mode), (1, 10, 3));
    assert_eq!((q(3).ltp, q(3).depth.levels), (px(1424.5), 0));
    assert_eq!((q(4).ltp, q(4).volume, q(4).mode), (px(1650.25), 100, 2));
    assert_eq!((q(5).bid, q(5).ask, q(5).ask_qty), (px(1199.95), px(1200.05), 6));
    assert_eq!((q(6).ltp, q(6).mode), (px(455.5), 1));
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn polling_only_mode_fills_from_rest_and_fetches_a_quote_on_demand() {
    let rest = Rest::start();
    rest.set("NSE:SBIN", 812.0);
    rest.set("NSE:INFY", 1500.0);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.watchdog = WatchdogConfig { engine_type: EngineType::Polling, ..short_watchdog(Some(&rest)) };
    let engine = Engine::start(c).expect("engine starts");
    let h = engine.handle();
    wait_for("polling", Duration::from_secs(3), || feed(&h).polling.load(Ordering::SeqCst));
    let w = h.watchdog.clone().expect("a watchdog runs");
    assert_eq!(w.mode(), "polling");
    // A symbol never ticked: its quote is fetched and sequenced before the order.
    let infy = sym(&h, "NSE", "INFY");
    let q = w.fetch_quote_now(infy).expect("quote");
    assert_eq!((q.ltp, q.bid), (px(1500.0), px(1499.95)));
    wait_for("quote on the board", Duration::from_secs(5), || board_ltp(&h, infy).is_some());
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    rest.set("NSE:SBIN", 808.0);
    wait_for("fill from polling", Duration::from_secs(5), || trades(&h).len() == 1);
    assert_eq!(trades(&h)[0].price, px(810.0));
    drop(h);
    drop(w);
    engine.shutdown();
}

#[test]
fn fallback_off_never_polls_even_when_the_upstream_is_down() {
    let rest = Rest::start();
    rest.set("NSE:SBIN", 800.0);
    // A port with nothing listening.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.feed = FeedConfig::Upstream { url: format!("ws://127.0.0.1:{port}"), api_key: KEY.into() };
    c.watchdog = WatchdogConfig { fallback: false, ..short_watchdog(Some(&rest)) };
    let engine = Engine::start(c).expect("engine starts");
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 1, PriceType::Limit, 810.0));
    std::thread::sleep(Duration::from_millis(3000));
    assert!(!feed(&h).polling.load(Ordering::SeqCst));
    assert!(!feed(&h).connected.load(Ordering::SeqCst));
    assert_eq!(rest.requests(), 0);
    assert_eq!(order_status(&h), OrderStatus::Open);
    drop(h);
    engine.shutdown();
}

#[test]
fn symbols_spread_over_connections_and_depth_follows_client_interest() {
    let up = Upstream::start(0);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.feed = FeedConfig::Upstream { url: up.url(), api_key: KEY.into() };
    c.watchdog = short_watchdog(None);
    c.symbols_per_connection = 2;
    let engine = Engine::start(c).expect("engine starts");
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    let names = ["SBIN", "INFY", "TCS", "ITC", "HDFCBANK"];
    for n in names {
        placed(&h, order(sym(&h, "NSE", n), Side::Buy, 1, PriceType::Limit, 100.0));
    }
    // Five symbols, two per connection: three connections, each authenticated.
    wait_for("every symbol subscribed", Duration::from_secs(5), || {
        names.iter().all(|n| up.subscribed(&format!("NSE:{n}")) == Some(2))
    });
    assert_eq!(up.script.auths.load(Ordering::SeqCst), 3);
    wait_for("all connections authenticated", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    for n in names {
        up.push(quote_frame(n, 99.0));
    }
    wait_for("every order filled", Duration::from_secs(5), || trades(&h).len() == names.len());

    // A WebSocket client wants depth for SBIN: resubscribed in Depth, then back to Quote.
    let sbin = sym(&h, "NSE", "SBIN");
    h.interest.add_client(sbin, 3);
    wait_for("depth subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN") == Some(3));
    h.interest.remove_client(sbin, 3);
    wait_for("back to quote", Duration::from_secs(5), || up.subscribed("NSE:SBIN") == Some(2));
    // A client-only symbol: subscribed in its mode, unsubscribed when it leaves.
    let tcs_bse = sym(&h, "BSE", "TCS");
    h.interest.add_client(tcs_bse, 1);
    wait_for("client symbol", Duration::from_secs(5), || up.subscribed("BSE:TCS") == Some(1));
    h.interest.remove_client(tcs_bse, 1);
    wait_for("client symbol dropped", Duration::from_secs(5), || {
        up.subscribed("BSE:TCS").is_none()
    });
    drop(h);
    engine.shutdown();
    up.kill();
}
