//! Spec-like helpers for the WebSocket tests: a real engine (fused topology, backoff idle)
//! on a temp data dir, an in-process `WsServer` on port 0, and a real tungstenite client
//! over loopback.

#![allow(dead_code, reason = "each test binary uses a subset")]

#[allow(
    clippy::duplicate_mod,
    reason = "every helper family includes the shared module; a test using two loads it twice"
)]
#[path = "../common/mod.rs"]
pub mod common;

use serde_json::{Value, json};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tickfill::auth::KeyStore;
use tickfill::clock::mono_now_ns;
use tickfill::engine::{Engine, EngineConfig, EngineHandle};
use tickfill::event::{CommandKind, Level, OrderRequest, Reply, Tick};
use tickfill::types::{Exchange, OrderId, Price, PriceType, Side, SymbolId};
use tickfill::ws::{WsConfig, WsServer, WsStats};
use tungstenite::protocol::CloseFrame;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub const KEY: &str = "ws-test-key-0123456789";

/// An engine and a WebSocket server in front of it.
pub struct Rig {
    pub h: EngineHandle,
    pub server: Option<WsServer>,
    pub addr: SocketAddr,
    _engine: Engine,
    _dir: TempDir,
}

fn engine_config(dir: &std::path::Path) -> EngineConfig {
    common::engine_config(dir)
}

/// A rig with the default server settings on port 0.
pub fn rig() -> Rig {
    rig_with(|_| {})
}

/// A rig whose server settings `tweak` adjusts (the address is always port 0).
pub fn rig_with(tweak: impl FnOnce(&mut WsConfig)) -> Rig {
    rig_full(|_| {}, tweak)
}

/// A rig with adjusted engine and server settings.
pub fn rig_full(
    engine_tweak: impl FnOnce(&mut EngineConfig),
    tweak: impl FnOnce(&mut WsConfig),
) -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ec = engine_config(dir.path());
    engine_tweak(&mut ec);
    let mut engine = Engine::start(ec).expect("engine starts");
    let h = engine.handle();
    let updates = engine.take_updates().expect("update reader");
    let mut config = WsConfig::default();
    tweak(&mut config);
    config.addr = "127.0.0.1:0".parse().unwrap();
    let keys = KeyStore::from_key(KEY).unwrap();
    let server = WsServer::start(config, h.clone(), updates, keys).expect("server starts");
    let addr = server.local_addr();
    Rig { h, addr, server: Some(server), _engine: engine, _dir: dir }
}

impl Rig {
    pub fn sym(&self, exchange: &str, symbol: &str) -> SymbolId {
        let ex = Exchange::parse(exchange).expect("exchange");
        self.h.instruments.lookup(ex, symbol).expect("symbol in the default universe")
    }

    /// Publishes a tick and waits until the board shows it.
    pub fn tick(&self, t: Tick) {
        let before = self.h.board.version(t.symbol);
        self.h.send_tick(t, mono_now_ns()).expect("engine running");
        wait_for(
            || self.h.board.read(t.symbol).is_some_and(|s| s.version != before && s.tick == t),
            "tick on the board",
        );
    }

    pub fn stats(&self) -> std::sync::Arc<WsStats> {
        self.server.as_ref().expect("server running").stats()
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// An authenticated client.
    pub fn authed(&self) -> Client {
        let mut c = self.client();
        c.auth();
        c
    }

    pub fn place(&self, o: OrderRequest) -> OrderId {
        match self.h.submit(CommandKind::Place(o)).expect("reply").reply {
            Reply::Placed(id) => id,
            other => panic!("expected Placed, got {other:?}"),
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
        // The engine stops when its field drops, after `h` (declared first) has dropped:
        // the sequencer ends only once every handle is gone.
    }
}

pub fn wait_for(cond: impl FnMut() -> bool, what: &str) {
    common::wait_until(what, Duration::from_secs(10), Duration::from_millis(1), cond);
}

/// A quote tick: bid/ask 5 paise around `ltp`, with the day's range.
pub fn quote(symbol: SymbolId, ltp: f64) -> Tick {
    let p = Price::from_f64(ltp).expect("price");
    Tick {
        symbol,
        ltp: p,
        bid: Price(p.0 - 500),
        ask: Price(p.0 + 500),
        bid_qty: 10,
        ask_qty: 20,
        open: p,
        high: Price(p.0 + 10_000),
        low: Price(p.0 - 10_000),
        close: p,
        volume: 1000,
        ltt_ms: 1_746_171_226_000,
        mode: 2,
        ..Tick::default()
    }
}

/// A depth tick with two levels a side.
pub fn depth(symbol: SymbolId, ltp: f64) -> Tick {
    let mut t = quote(symbol, ltp);
    t.mode = 3;
    t.oi = 42;
    t.depth.levels = 2;
    for k in 0..2 {
        t.depth.buy[k] = Level { price: Price(t.bid.0 - k as i64 * 500), quantity: 5, orders: 1 };
        t.depth.sell[k] = Level { price: Price(t.ask.0 + k as i64 * 500), quantity: 7, orders: 2 };
    }
    t
}

/// An LTP-only tick.
pub fn ltp_only(symbol: SymbolId, ltp: f64) -> Tick {
    Tick { symbol, ltp: Price::from_f64(ltp).unwrap(), mode: 1, ..Tick::default() }
}

/// A CNC order (valid at any hour of the day).
pub fn order(symbol: SymbolId, side: Side, qty: i64, pt: PriceType, price: f64) -> OrderRequest {
    common::cnc_order(symbol, side, qty, pt, price, "ws")
}

/// A tungstenite client with a read timeout.
pub struct Client {
    pub ws: WebSocket<MaybeTlsStream<TcpStream>>,
}

/// How a read ended when it did not yield a text frame.
#[derive(Debug)]
pub enum Ended {
    /// A close frame (code, reason).
    Closed(Option<(u16, String)>),
    /// The socket ended or failed without a close frame.
    Dropped(String),
    /// Nothing arrived in time.
    Timeout,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tungstenite::connect(format!("ws://{addr}/")).expect("connects");
        let c = Client { ws };
        c.set_timeout(Duration::from_secs(5));
        c
    }

    pub fn set_timeout(&self, d: Duration) {
        if let MaybeTlsStream::Plain(s) = self.ws.get_ref() {
            s.set_read_timeout(Some(d)).unwrap();
        }
    }

    pub fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).expect("send");
    }

    pub fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_string())).expect("send");
    }

    /// The next text frame, or how the stream ended.
    pub fn next(&mut self) -> Result<Value, Ended> {
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => return Ok(serde_json::from_str(t.as_str()).expect("JSON")),
                Ok(Message::Close(f)) => {
                    return Err(Ended::Closed(
                        f.map(|CloseFrame { code, reason }| (code.into(), reason.to_string())),
                    ));
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Ended::Timeout);
                }
                Err(e) => return Err(Ended::Dropped(e.to_string())),
            }
        }
    }

    pub fn recv(&mut self) -> Value {
        self.next().unwrap_or_else(|e| panic!("expected a message, got {e:?}"))
    }

    /// Skips frames until one matches.
    pub fn recv_until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let v = self.recv();
            if pred(&v) {
                return v;
            }
        }
    }

    /// The next reply that is not pushed data.
    pub fn reply(&mut self) -> Value {
        self.recv_until("a reply", |v| {
            !matches!(v["type"].as_str(), Some("market_data" | "order_update"))
        })
    }

    /// Sends a request and returns its reply.
    pub fn ask(&mut self, v: Value) -> Value {
        self.send(v);
        self.reply()
    }

    pub fn auth(&mut self) {
        let r = self.ask(json!({"action": "authenticate", "api_key": KEY}));
        assert_eq!(r["status"], "success", "{r}");
    }

    pub fn market_data(&mut self, symbol: &str) -> Value {
        self.recv_until("market data", |v| v["type"] == "market_data" && v["symbol"] == symbol)
    }

    /// Keeps reading (so pings are answered) for `d`; panics if the stream ends.
    pub fn idle_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        self.set_timeout(Duration::from_millis(20));
        while Instant::now() < until {
            match self.next() {
                Ok(_) | Err(Ended::Timeout) => {}
                Err(e) => panic!("the connection ended: {e:?}"),
            }
        }
        self.set_timeout(Duration::from_secs(5));
    }

    /// Reads until the stream ends; returns how, and how many text frames came first.
    pub fn drain_to_end(&mut self) -> (Ended, usize) {
        let mut n = 0;
        loop {
            match self.next() {
                Ok(_) => n += 1,
                Err(e) => return (e, n),
            }
        }
    }
}

/// Asserts an error reply with exactly `status`, `code`, `message`.
pub fn assert_error(v: &Value, code: &str, message: &str) {
    assert_eq!(v, &json!({"status": "error", "code": code, "message": message}));
}
