//! A scripted OpenAlgo upstream over real loopback sockets, shared by the feed tests: a
//! tungstenite WebSocket server ([`Upstream`]) that authenticates, records subscriptions,
//! pushes frames, can stream prices and can drop every connection on a schedule (flap),
//! and a tiny REST server ([`Rest`]) that answers `quotes` and `multiquotes` (and the
//! market-data endpoints `history`, `intervals`, `margin`, `telegram/notify`, and GET
//! `instruments` and `ticker`, from fixed scripts) and can
//! be told to fail its next requests ([`Fault`]: hang, stall, late, error status,
//! garbage). Plus the helpers that start a feed engine with short watchdog thresholds.
//!
//! Needs `mod util;` beside it in the test crate.

#![allow(dead_code, reason = "each test binary uses a subset")]

#[allow(
    clippy::duplicate_mod,
    reason = "every helper family includes the shared module; a test using two loads it twice"
)]
#[path = "../common/mod.rs"]
pub mod common;

use crate::util::{config, orders};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tickfill::engine::{Engine, EngineConfig, EngineHandle};
use tickfill::event::{QueryKind, Tick};
use tickfill::sequencer::FeedConfig;
use tickfill::types::{OrderStatus, Price, SymbolId};
use tickfill::views::{QueryReply, TradeRow};
use tickfill::watchdog::WatchdogConfig;
use tungstenite::{Message, WebSocket};

/// The key the scripted upstream (WebSocket and REST) accepts.
pub const KEY: &str = "upstream-test-key";

// ---------------------------------------------------------------- scripted upstream

/// Something one upstream connection went through, with when.
#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// The key was accepted.
    Authenticated,
    /// `EXCHANGE:SYMBOL` subscribed in a mode.
    Subscribed(String, u8),
    /// The upstream dropped the connection on purpose (flap).
    Dropped,
}

/// One entry of [`Script::timeline`].
#[derive(Debug, Clone)]
pub struct ConnEvent {
    /// Connection number, in accept order from 0.
    pub conn: usize,
    /// When.
    pub at: Instant,
    /// What.
    pub what: Happened,
}

/// What the scripted WebSocket upstream saw and what it should send.
#[derive(Default)]
pub struct Script {
    /// `EXCHANGE:SYMBOL` -> mode, as subscribed by the engine (over all connections).
    pub subscribed: Mutex<HashMap<String, u8>>,
    /// Successful authentications.
    pub auths: AtomicUsize,
    /// WebSocket handshakes completed.
    pub accepted: AtomicUsize,
    /// Connections dropped on purpose by the flap schedule.
    pub drops: AtomicUsize,
    /// Frames to push to every authenticated connection (each connection drains its own).
    pub outboxes: Mutex<Vec<crossbeam_channel::Sender<String>>>,
    pub stop: AtomicBool,
    /// Flap: drop each connection abruptly this long after its first subscription (or
    /// three times as long after authentication if nothing is subscribed).
    pub flap_after: Mutex<Option<Duration>>,
    /// Stream a quote for every symbol a connection subscribed, at `prices`, this often.
    pub stream_every: Mutex<Option<Duration>>,
    /// `EXCHANGE:SYMBOL` -> last traded price, for streaming.
    pub prices: Mutex<HashMap<String, f64>>,
    /// Authentications, subscriptions and drops of every connection, in order.
    pub timeline: Mutex<Vec<ConnEvent>>,
}

impl Script {
    fn record(&self, conn: usize, what: Happened) {
        self.timeline.lock().unwrap().push(ConnEvent { conn, at: Instant::now(), what });
    }
}

pub struct Upstream {
    pub port: u16,
    pub script: Arc<Script>,
    threads: Vec<JoinHandle<()>>,
}

impl Upstream {
    /// Listens on `port` (0 = any free port).
    pub fn start(port: u16) -> Upstream {
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

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Sends a frame to every authenticated connection.
    pub fn push(&self, frame: String) {
        for tx in self.script.outboxes.lock().unwrap().iter() {
            let _ = tx.send(frame.clone());
        }
    }

    pub fn subscribed(&self, key: &str) -> Option<u8> {
        self.script.subscribed.lock().unwrap().get(key).copied()
    }

    /// Streams every subscribed symbol's price (see [`Upstream::set_price`]) this often.
    pub fn stream_every(&self, every: Duration) {
        *self.script.stream_every.lock().unwrap() = Some(every);
    }

    /// The price streamed for `EXCHANGE:SYMBOL` from now on.
    pub fn set_price(&self, key: &str, price: f64) {
        self.script.prices.lock().unwrap().insert(key.to_string(), price);
    }

    /// Starts (`Some`) or stops (`None`) dropping every connection `hold` after it
    /// subscribed. A connection already past its hold is dropped at once.
    pub fn flap(&self, hold: Option<Duration>) {
        *self.script.flap_after.lock().unwrap() = hold;
    }

    pub fn auths(&self) -> usize {
        self.script.auths.load(Ordering::SeqCst)
    }

    pub fn drops(&self) -> usize {
        self.script.drops.load(Ordering::SeqCst)
    }

    pub fn timeline(&self) -> Vec<ConnEvent> {
        self.script.timeline.lock().unwrap().clone()
    }

    /// Closes the listener and every connection, as a killed process would.
    pub fn kill(mut self) {
        self.script.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

pub fn bind_retrying(port: u16) -> TcpListener {
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

/// One connection's state on the upstream side.
struct Conn {
    id: usize,
    authenticated: bool,
    tx: crossbeam_channel::Sender<String>,
    /// This connection's own subscriptions (what it streams).
    subs: HashMap<String, u8>,
    authenticated_at: Option<Instant>,
    first_subscription: Option<Instant>,
}

impl Conn {
    /// True when the flap schedule says this connection must go now.
    fn flap_due(&self, script: &Script) -> bool {
        let Some(hold) = *script.flap_after.lock().unwrap() else { return false };
        match (self.first_subscription, self.authenticated_at) {
            (Some(t), _) => t.elapsed() >= hold,
            (None, Some(t)) => t.elapsed() >= hold * 3,
            (None, None) => false,
        }
    }
}

fn serve(stream: TcpStream, script: Arc<Script>) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let Ok(mut ws) = tungstenite::accept(stream) else { return };
    let id = script.accepted.fetch_add(1, Ordering::SeqCst);
    // Short reads from now on, so scripted frames go out promptly.
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded::<String>();
    let mut conn = Conn {
        id,
        authenticated: false,
        tx,
        subs: HashMap::new(),
        authenticated_at: None,
        first_subscription: None,
    };
    let mut next_stream = Instant::now();
    while !script.stop.load(Ordering::SeqCst) {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let Ok(msg) = serde_json::from_str::<Value>(t.as_str()) else { continue };
                let reply = handle(&msg, &script, &mut conn);
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
        let every = *script.stream_every.lock().unwrap();
        if let Some(every) = every.filter(|_| conn.authenticated) {
            if Instant::now() >= next_stream {
                next_stream = Instant::now() + every;
                let prices = script.prices.lock().unwrap().clone();
                for (key, mode) in &conn.subs {
                    let (Some((ex, sym)), Some(p)) = (key.split_once(':'), prices.get(key)) else {
                        continue;
                    };
                    let frame = if *mode >= 3 {
                        depth_frame_on(ex, sym, *p)
                    } else {
                        quote_frame_on(ex, sym, *p)
                    };
                    if ws.send(Message::text(frame)).is_err() {
                        return;
                    }
                }
            }
        }
        if conn.flap_due(&script) {
            script.drops.fetch_add(1, Ordering::SeqCst);
            script.record(conn.id, Happened::Dropped);
            break;
        }
    }
    close_abruptly(ws);
}

/// No close frame: the TCP connection just ends, as when a process dies or a link drops.
fn close_abruptly(ws: WebSocket<TcpStream>) {
    let _ = ws.get_ref().shutdown(std::net::Shutdown::Both);
}

fn handle(msg: &Value, script: &Script, conn: &mut Conn) -> Option<Value> {
    let action = msg["action"].as_str().unwrap_or_default();
    match action {
        "authenticate" | "auth" => {
            if msg["api_key"] != KEY {
                return Some(
                    json!({"status":"error","code":"AUTHENTICATION_ERROR","message":"Invalid API key"}),
                );
            }
            conn.authenticated = true;
            conn.authenticated_at = Some(Instant::now());
            script.auths.fetch_add(1, Ordering::SeqCst);
            script.record(conn.id, Happened::Authenticated);
            script.outboxes.lock().unwrap().push(conn.tx.clone());
            Some(json!({"type":"auth","status":"success","message":"Authentication successful",
                "broker":"scripted","user_id":"u","supported_features":{"ltp":true,"quote":true,"depth":true}}))
        }
        _ if !conn.authenticated => Some(json!({"status":"error","code":"NOT_AUTHENTICATED",
            "message":"You must authenticate first"})),
        "subscribe" | "unsubscribe" => {
            let mut subs = script.subscribed.lock().unwrap();
            for s in msg["symbols"].as_array().into_iter().flatten() {
                let key = format!("{}:{}", s["exchange"].as_str()?, s["symbol"].as_str()?);
                let mode = s["mode"].as_u64().or(msg["mode"].as_u64()).unwrap_or(2) as u8;
                if action == "subscribe" {
                    subs.insert(key.clone(), mode);
                    conn.subs.insert(key.clone(), mode);
                    conn.first_subscription.get_or_insert_with(Instant::now);
                    script.record(conn.id, Happened::Subscribed(key, mode));
                } else if subs.get(&key) == Some(&mode) {
                    subs.remove(&key);
                    conn.subs.remove(&key);
                }
            }
            Some(json!({"type": action, "status":"success", "message":"ok"}))
        }
        _ => Some(json!({"status":"error","code":"INVALID_ACTION","message":"Invalid action"})),
    }
}

// ---------------------------------------------------------------- scripted REST quotes

/// How the REST server treats one request (taken in order, then [`Fault::Ok`] forever).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer normally from the price table.
    Ok,
    /// Take the request and answer nothing (for [`HOLD_LIMIT`], longer than any timeout
    /// the tests configure; then the connection is released, so that a test whose client
    /// has no timeout fails instead of hanging forever).
    Hang,
    /// Send a 200 status line, a `Content-Length` of `body` plus [`STALL_MISSING`], and
    /// `body`; then nothing more (for [`HOLD_LIMIT`], then the missing bytes as garbage),
    /// keeping the connection open: a reply stalled mid-body.
    Stall(String),
    /// Answer `status` with `body`, but only after the delay.
    Late(Duration, u16, String),
    /// Answer `status` with `body` at once.
    Reply(u16, String),
}

/// Bytes a [`Fault::Stall`] reply announces but holds back.
const STALL_MISSING: usize = 100;

/// Completes a stalled reply with garbage (so a client without a timeout gets an answer
/// it cannot use instead of waiting forever); returns true.
fn finish_stalled(w: &mut Box<dyn Write + Send>) -> bool {
    let _ = w.write_all(&[b'x'; STALL_MISSING]);
    let _ = w.flush();
    true
}

/// How long [`Fault::Hang`] and [`Fault::Stall`] hold a connection at most.
pub const HOLD_LIMIT: Duration = Duration::from_secs(20);

impl Fault {
    /// OpenAlgo's generic 500.
    pub fn status_500() -> Fault {
        Fault::Reply(500, r#"{"status":"error","message":"An unexpected error occurred"}"#.into())
    }

    /// A 200 that is not JSON.
    pub fn garbage() -> Fault {
        Fault::Reply(200, "<html>not json</html>".into())
    }
}

#[derive(Default)]
pub struct Quotes {
    pub prices: Mutex<HashMap<String, f64>>,
    /// The instrument master `instruments` serves ([`upstream_master`] when `None`).
    pub master: Mutex<Option<Vec<Value>>>,
    /// Every request received: when it arrived (after its body was read) and how it was
    /// treated.
    pub arrivals: Mutex<Vec<(Instant, Fault)>>,
    pub requests: AtomicUsize,
    /// How the next requests are treated.
    pub faults: Mutex<VecDeque<Fault>>,
    pub stop: AtomicBool,
}

pub struct Rest {
    pub url: String,
    pub quotes: Arc<Quotes>,
    thread: Option<JoinHandle<()>>,
}

impl Rest {
    pub fn start() -> Rest {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind REST");
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let quotes = Arc::new(Quotes::default());
        let q = Arc::clone(&quotes);
        let thread = std::thread::spawn(move || {
            // Requests and connections held open on purpose, and late answers in flight.
            let mut held: Vec<(Instant, tiny_http::Request)> = Vec::new();
            let mut stalled: Vec<(Instant, Box<dyn Write + Send>)> = Vec::new();
            let mut late = Vec::new();
            while !q.stop.load(Ordering::SeqCst) {
                held.retain(|(at, _)| at.elapsed() < HOLD_LIMIT);
                stalled.retain_mut(|(at, w)| at.elapsed() < HOLD_LIMIT || !finish_stalled(w));
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(10)) else {
                    continue;
                };
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let fault = q.faults.lock().unwrap().pop_front().unwrap_or(Fault::Ok);
                q.arrivals.lock().unwrap().push((Instant::now(), fault.clone()));
                q.requests.fetch_add(1, Ordering::SeqCst);
                let respond = |req: tiny_http::Request, status: u16, reply: String| {
                    let r = tiny_http::Response::from_string(reply).with_status_code(status);
                    let _ = req.respond(r);
                };
                match fault {
                    Fault::Ok => {
                        let (status, reply) = rest_reply(&q, req.url(), &body);
                        respond(req, status, reply);
                    }
                    Fault::Hang => held.push((Instant::now(), req)),
                    Fault::Stall(part) => {
                        let mut w = req.into_writer();
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\n\r\n",
                            part.len() + STALL_MISSING
                        );
                        let _ = w.write_all(head.as_bytes());
                        let _ = w.write_all(part.as_bytes());
                        let _ = w.flush();
                        stalled.push((Instant::now(), w));
                    }
                    Fault::Late(delay, status, reply) => {
                        let q = Arc::clone(&q);
                        late.push(std::thread::spawn(move || {
                            let until = Instant::now() + delay;
                            while Instant::now() < until && !q.stop.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            respond(req, status, reply);
                        }));
                    }
                    Fault::Reply(status, reply) => respond(req, status, reply),
                }
            }
            for t in late {
                let _ = t.join();
            }
            for (_, mut w) in stalled {
                finish_stalled(&mut w);
            }
            drop(held);
        });
        Rest { url, quotes, thread: Some(thread) }
    }

    pub fn set(&self, key: &str, price: f64) {
        self.quotes.prices.lock().unwrap().insert(key.to_string(), price);
    }

    pub fn requests(&self) -> usize {
        self.quotes.requests.load(Ordering::SeqCst)
    }

    /// Treats the next requests as `faults`, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.quotes.faults.lock().unwrap().extend(faults);
    }

    /// Faults not yet used.
    pub fn faults_left(&self) -> usize {
        self.quotes.faults.lock().unwrap().len()
    }

    pub fn arrivals(&self) -> Vec<(Instant, Fault)> {
        self.quotes.arrivals.lock().unwrap().clone()
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

/// A normal OpenAlgo reply to `quotes` or `multiquotes` from the price table.
pub fn rest_reply(q: &Quotes, url: &str, body: &str) -> (u16, String) {
    if let Some(reply) = market_data_get(q, url) {
        return reply;
    }
    let Ok(req) = serde_json::from_str::<Value>(body) else { return (400, "{}".into()) };
    if req["apikey"] == KEY {
        if let Some(reply) = market_data_post(q, url, &req) {
            return reply;
        }
    }
    if req["apikey"] != KEY {
        return (403, r#"{"status":"error","message":"Invalid openalgo apikey"}"#.into());
    }
    let prices = q.prices.lock().unwrap();
    let quote = |sym: &str, ex: &str| prices.get(&format!("{ex}:{sym}")).map(|&p| quote_data(p));
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

/// The scripted upstream's instrument master (one row of an exchange tickfill lacks).
pub fn upstream_master() -> Value {
    json!([
        {"symbol": "SBIN", "brsymbol": "SBIN-EQ", "name": "STATE BANK OF INDIA", "exchange": "NSE",
         "brexchange": "NSE", "token": "3045", "expiry": "", "strike": -1.0, "lotsize": 1,
         "instrumenttype": "EQ", "tick_size": 0.05},
        {"symbol": "NIFTY", "brsymbol": "Nifty 50", "name": "NIFTY", "exchange": "NSE_INDEX",
         "brexchange": "NSE", "token": "26000", "expiry": "", "strike": -1.0, "lotsize": 1,
         "instrumenttype": "INDEX", "tick_size": 0.05},
        {"symbol": "NIFTY30DEC26FUT", "brsymbol": "NIFTY26DECFUT", "name": "NIFTY", "exchange": "NFO",
         "brexchange": "NFO", "token": "5001", "expiry": "30-DEC-26", "strike": -1.0, "lotsize": 75,
         "instrumenttype": "FUT", "tick_size": 0.1},
        {"symbol": "NIFTY30DEC2625000CE", "brsymbol": "NIFTY26DEC25000CE", "name": "NIFTY",
         "exchange": "NFO", "brexchange": "NFO", "token": "5002", "expiry": "30-DEC-26",
         "strike": 25000.0, "lotsize": 75, "instrumenttype": "CE", "tick_size": 0.05},
        {"symbol": "BTCUSDT", "brsymbol": "BTCUSDT", "name": "BTC", "exchange": "SOMEWHERE_ELSE",
         "brexchange": "X", "token": "1", "expiry": "", "strike": -1.0, "lotsize": 1,
         "instrumenttype": "SPOT", "tick_size": 0.01},
    ])
}

/// The master rows the scripted upstream serves.
fn master_rows(q: &Quotes) -> Vec<Value> {
    q.master
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| upstream_master().as_array().unwrap().clone())
}

/// Scripted candles for every weekday of `start..=end` (YYYY-MM-DD): one at 00:00 UTC for
/// `D`, else two five-minute candles from 09:15 IST. Volume 4242 marks them as the
/// upstream's; derivatives carry open interest.
fn upstream_candles(start: &str, end: &str, interval: &str, derivative: bool) -> Vec<Value> {
    use chrono::{Datelike, NaiveDate};
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let (Some(mut d), Some(end)) = (parse(start), parse(end)) else { return Vec::new() };
    let mut out = Vec::new();
    while d <= end && out.len() < 10_000 {
        if d.weekday().number_from_monday() <= 5 {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
            let starts: Vec<i64> = if interval == "D" {
                vec![midnight]
            } else {
                vec![midnight + 3 * 3600 + 45 * 60, midnight + 3 * 3600 + 50 * 60]
            };
            for (i, t) in starts.into_iter().enumerate() {
                let o = 800.0 + i as f64;
                out.push(json!({"timestamp": t, "open": o, "high": o + 5.0, "low": o - 1.0,
                                "close": o + 4.0, "volume": 4242, "oi": if derivative { 10 } else { 0 }}));
            }
        }
        d = d.succ_opt().unwrap();
    }
    out
}

/// GET endpoints of the scripted upstream: instruments and ticker (key in the query).
fn market_data_get(q: &Quotes, url: &str) -> Option<(u16, String)> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    let wanted = path.ends_with("/instruments") || path.contains("/ticker/");
    if !wanted {
        return None;
    }
    if params.get("apikey").map(String::as_str) != Some(KEY) {
        return Some((403, r#"{"status":"error","message":"Invalid openalgo apikey"}"#.into()));
    }
    if path.ends_with("/instruments") {
        let rows: Vec<Value> = master_rows(q)
            .into_iter()
            .filter(|r| params.get("exchange").is_none_or(|e| r["exchange"] == e.as_str()))
            .collect();
        let msg = format!("Found {} instruments", rows.len());
        return Some((200, json!({"status": "success", "message": msg, "data": rows}).to_string()));
    }
    let get = |k: &str, d: &str| params.get(k).cloned().unwrap_or_else(|| d.to_string());
    let candles = upstream_candles(
        &get("from", "2026-12-01"),
        &get("to", "2026-12-01"),
        &get("interval", "D"),
        false,
    );
    Some((200, json!({"status": "success", "data": candles}).to_string()))
}

/// Intervals the scripted upstream serves.
const UPSTREAM_INTERVALS: [&str; 5] = ["5s", "1m", "5m", "1h", "D"];

/// POST market-data endpoints of the scripted upstream (the key is already checked).
fn market_data_post(q: &Quotes, url: &str, req: &Value) -> Option<(u16, String)> {
    let path = url.trim_end_matches('/');
    let s = |k: &str| req[k].as_str().unwrap_or("").to_string();
    let reply = if path.ends_with("/history") {
        let known = master_rows(q)
            .iter()
            .find(|r| r["symbol"] == req["symbol"] && r["exchange"] == req["exchange"])
            .map(|r| {
                r["exchange"] != "NSE" && r["exchange"] != "NSE_INDEX" && r["exchange"] != "BSE"
            });
        let Some(derivative) = known else {
            let msg =
                format!("Symbol '{}' not found for exchange '{}'", s("symbol"), s("exchange"));
            return Some((
                400,
                json!({"status": "error", "message": {"symbol": [msg]}}).to_string(),
            ));
        };
        if !UPSTREAM_INTERVALS.contains(&s("interval").as_str()) {
            let msg = "Invalid interval";
            return Some((
                400,
                json!({"status": "error", "message": {"interval": [msg]}}).to_string(),
            ));
        }
        let data = upstream_candles(&s("start_date"), &s("end_date"), &s("interval"), derivative);
        json!({"status": "success", "data": data, "asked": req["symbol"]})
    } else if path.ends_with("/intervals") {
        json!({"status": "success", "data": {"seconds": ["5s"], "minutes": ["1m", "5m"], "hours": ["1h"],
               "days": ["D"], "weeks": [], "months": []}})
    } else if path.ends_with("/margin") {
        json!({"status": "success", "data": {"total_margin_required": 12_345.5, "span_margin": 10_000.0,
               "exposure_margin": 2_345.5}})
    } else if path.ends_with("/telegram/notify") {
        json!({"status": "success", "message": "Notification sent to the upstream's bot"})
    } else {
        return None;
    };
    Some((200, reply.to_string()))
}

/// The `data` object of an OpenAlgo quote at `p`.
pub fn quote_data(p: f64) -> Value {
    // The day's low stays positive for cheap instruments (options); 50 below otherwise.
    json!({"open":p,"high":p + 50.0,"low":(p - 50.0).max(p * 0.5),"ltp":p,"ask":p + 0.05,"bid":p - 0.05,
           "prev_close":p,"volume":1000,"oi":0})
}

/// A well-formed `multiquotes` success body quoting NSE `symbol` at `p`.
pub fn multiquotes_body(symbol: &str, p: f64) -> String {
    json!({"status":"success","results":[{"symbol":symbol,"exchange":"NSE","data":quote_data(p)}]})
        .to_string()
}

// ---------------------------------------------------------------- helpers

pub fn short_watchdog(rest: Option<&Rest>) -> WatchdogConfig {
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

/// An engine on `dir` fed by `url` (if any) with `watchdog` settings.
pub fn feed_engine_with(
    dir: &std::path::Path,
    url: Option<String>,
    watchdog: WatchdogConfig,
) -> Engine {
    let mut c: EngineConfig = config(dir);
    if let Some(url) = url {
        c.feed = FeedConfig::Upstream { url, api_key: KEY.into() };
    }
    c.watchdog = watchdog;
    Engine::start(c).expect("engine starts")
}

pub fn feed_engine(dir: &std::path::Path, url: Option<String>, rest: Option<&Rest>) -> Engine {
    feed_engine_with(dir, url, short_watchdog(rest))
}

/// An engine on a fresh data dir (returned: keep it alive) fed by `up` (and `rest`, if
/// any), once its first connection has authenticated.
pub fn authenticated_engine(up: &Upstream, rest: Option<&Rest>) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = feed_engine(dir.path(), Some(up.url()), rest);
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    (engine, dir)
}

pub fn wait_for(what: &str, timeout: Duration, cond: impl FnMut() -> bool) -> Duration {
    common::wait_until(what, timeout, Duration::from_millis(10), cond)
}

pub fn quote_frame_on(exchange: &str, symbol: &str, ltp: f64) -> String {
    json!({"type":"market_data","symbol":symbol,"exchange":exchange,"mode":2,
        "data":{"ltp":ltp,"ltt":1,"timestamp":1,"open":ltp,"high":ltp + 50.0,"low":(ltp - 50.0).max(ltp * 0.5),
                "close":ltp,"bid_price":ltp - 0.05,"ask_price":ltp + 0.05}})
    .to_string()
}

/// A depth (mode 3) frame at `ltp`: five levels a side, a tick apart.
pub fn depth_frame_on(exchange: &str, symbol: &str, ltp: f64) -> String {
    let level = |i: i32, sign: f64| json!({"price": ltp + sign * 0.05 * f64::from(i + 1), "quantity": 100 * (i + 1), "orders": i + 1});
    let buy: Vec<Value> = (0..5).map(|i| level(i, -1.0)).collect();
    let sell: Vec<Value> = (0..5).map(|i| level(i, 1.0)).collect();
    json!({"type":"market_data","symbol":symbol,"exchange":exchange,"mode":3,
        "data":{"ltp":ltp,"ltt":1,"timestamp":1,"open":ltp,"high":ltp + 50.0,"low":(ltp - 50.0).max(ltp * 0.5),
                "close":ltp,"oi":0,"depth":{"buy":buy,"sell":sell}}})
    .to_string()
}

pub fn quote_frame(symbol: &str, ltp: f64) -> String {
    quote_frame_on("NSE", symbol, ltp)
}

pub fn trades(h: &EngineHandle) -> Vec<TradeRow> {
    match h.query(QueryKind::TradeBook).expect("answer") {
        QueryReply::Trades(t) => t,
        other => panic!("unexpected {other:?}"),
    }
}

pub fn order_status(h: &EngineHandle) -> OrderStatus {
    orders(h)[0].status
}

pub fn feed(h: &EngineHandle) -> &tickfill::health::FeedHealth {
    &h.health.feed
}

pub fn px(v: f64) -> Price {
    Price::from_f64(v).unwrap()
}

pub fn board_ltp(h: &EngineHandle, s: SymbolId) -> Option<Tick> {
    h.board.read(s).map(|q| q.tick)
}
