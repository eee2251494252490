//! Spec-like helpers for the simulator's tests: a simulator on free loopback ports, a
//! blocking WebSocket client with a read deadline, and a blocking HTTP client.

#![allow(dead_code, reason = "each test file uses a different subset")]

use serde_json::{Value, json};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickfill::refdata::{today_ist, universe::default_universe_on};
use tickfill::sim::{SimConfig, SimServer};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The key the test simulators use.
pub const KEY: &str = "test-key";
/// Every wait in these tests is bounded by this.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A simulator at `rate` ticks/s with `seed`, on free ports, over the universe
/// `tickfill sim` serves today (equities, indices and derivatives not yet expired).
pub fn sim(rate: u64, seed: u64) -> SimServer {
    let master = default_universe_on(today_ist()).expect("the default universe builds");
    let mut config = SimConfig::loopback(Arc::new(master));
    config.api_key = KEY.to_string();
    config.rate = rate;
    config.seed = seed;
    SimServer::start(config).expect("simulator starts on loopback")
}

/// A blocking WebSocket client.
pub struct Client {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects (any path works).
    pub fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tungstenite::connect(format!("ws://{addr}/feed")).expect("ws connect");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        }
        Client { ws }
    }

    /// Connects and authenticates with the right key.
    pub fn authed(addr: SocketAddr) -> Client {
        let mut c = Client::connect(addr);
        let r = c.request(json!({"action": "authenticate", "api_key": KEY}));
        assert_eq!(r["status"], "success", "{r}");
        c
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).expect("ws send");
    }

    /// Sends JSON.
    pub fn send(&mut self, v: Value) {
        self.send_text(&v.to_string());
    }

    /// The next text message within `within`, or `None`. Panics if the connection closes.
    pub fn recv_within(&mut self, within: Duration) -> Option<Value> {
        let end = Instant::now() + within;
        while Instant::now() < end {
            match self.ws.read() {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).expect("JSON")),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("connection failed: {e}"),
            }
        }
        None
    }

    /// Counts market_data frames received during `span`, without parsing them.
    pub fn count_frames(&mut self, span: Duration) -> u64 {
        let end = Instant::now() + span;
        let mut n = 0;
        while Instant::now() < end {
            match self.ws.read() {
                Ok(Message::Text(t)) => n += u64::from(t.starts_with(r#"{"type":"market_data""#)),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("connection failed: {e}"),
            }
        }
        n
    }

    /// Reads until the connection closes (true) or `within` passes (false).
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            match self.ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return true,
            }
        }
        false
    }

    /// The next message that is not market data.
    pub fn reply(&mut self) -> Value {
        let end = Instant::now() + DEADLINE;
        while Instant::now() < end {
            if let Some(v) = self.recv_within(DEADLINE) {
                if v["type"] != "market_data" {
                    return v;
                }
            }
        }
        panic!("no reply within {DEADLINE:?}");
    }

    /// Sends a request and returns its reply.
    pub fn request(&mut self, v: Value) -> Value {
        self.send(v);
        self.reply()
    }

    /// The next market_data frame matching `keep`.
    pub fn frame_where(&mut self, keep: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + DEADLINE;
        while Instant::now() < end {
            if let Some(v) = self.recv_within(Duration::from_millis(200)) {
                if v["type"] == "market_data" && keep(&v) {
                    return v;
                }
            }
        }
        panic!("no matching market_data frame within {DEADLINE:?}");
    }

    /// The next market_data frame for `symbol`.
    pub fn frame_for(&mut self, symbol: &str) -> Value {
        self.frame_where(|v| v["symbol"] == symbol)
    }

    /// Reads until `quiet` passes with no market data (true), or the deadline (false).
    pub fn until_quiet(&mut self, quiet: Duration) -> bool {
        let end = Instant::now() + DEADLINE;
        let mut last = Instant::now();
        while Instant::now() < end {
            match self.recv_within(Duration::from_millis(50)) {
                Some(v) if v["type"] == "market_data" => last = Instant::now(),
                _ if last.elapsed() >= quiet => return true,
                _ => {}
            }
        }
        false
    }
}

/// POSTs a raw body; returns the status and the JSON reply (a string when not JSON).
pub fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .into();
    let mut resp = agent
        .post(&format!("http://{addr}{path}"))
        .header("Content-Type", "application/json")
        .send(body)
        .expect("HTTP request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// POSTs JSON.
pub fn post_json(addr: SocketAddr, path: &str, body: Value) -> (u16, Value) {
    post(addr, path, &body.to_string())
}

/// GETs JSON.
pub fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .into();
    let mut resp = agent.get(&format!("http://{addr}{path}")).call().expect("HTTP request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
