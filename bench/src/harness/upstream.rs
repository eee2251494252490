//! The loopback OpenAlgo upstream the harness controls: a tungstenite server thread that
//! accepts `authenticate` and `subscribe`, then, per [`Phase`], sends `market_data` Quote
//! frames open loop at a constant rate. Frame `i` of a phase has the intended send time
//! `start + i / rate`; latencies are measured from it, so a stalled receiver shows up as
//! latency instead of slowing the sender (no coordinated omission).
//!
//! Frames are serialized once, before sending (a few price steps per symbol above the
//! resting orders, and one crossing frame per symbol at the orders' limit), so the sender
//! only copies bytes and can reach rates the serializer alone could not.

#![forbid(unsafe_code)]

use crossbeam_channel::{Receiver, Sender};
use serde_json::{Value, json};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tickfill::clock::mono_now_ns;
use tickfill::event::Tick;
use tickfill::protocol::market_data;
use tickfill::types::Price;
use tungstenite::{Message, Utf8Bytes, WebSocket};

/// How early the sender wakes from a sleep before a frame is due; it spins the rest.
/// A sleep on this VM overshoots by a timer-slack's 50 us plus the wake-up.
const SLEEP_AHEAD: u64 = 200_000;

/// Price steps of the walk above the limit (in 0.05 ticks above `LIMIT`).
const WALK: usize = 8;
/// The resting buy orders' top limit (999.00) and the crossing frames' ltp.
pub const LIMIT: Price = Price(999_0000);

/// One open-loop send phase.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    /// Frames per second over all symbols.
    pub rate: u64,
    /// Frames to send.
    pub frames: u64,
    /// Every `cross_every`-th frame of a symbol crosses its top resting order (0 = never).
    pub cross_every: u64,
}

/// What a phase did.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseResult {
    /// Frames written.
    pub sent: u64,
    /// Crossing frames among them.
    pub crossings: u64,
    /// Largest lag of a send behind its intended time, ns.
    pub max_lag_ns: u64,
    /// Lag of the last frame, ns.
    pub end_lag_ns: u64,
    /// Intended time of the first frame (monotonic ns).
    pub start_ns: u64,
}

/// The intended send time of the latest crossing frame of every symbol.
#[derive(Debug)]
pub struct Crossings {
    last: Vec<AtomicU64>,
    walked: Vec<AtomicU64>,
    /// Every crossing of the current phase: (symbol, intended send time).
    history: std::sync::Mutex<Vec<(u32, u64)>>,
}

impl Crossings {
    /// Latest crossing of `symbol` (0 = none yet).
    pub fn last(&self, symbol: usize) -> u64 {
        self.last.get(symbol).map_or(0, |a| a.load(Ordering::Acquire))
    }

    /// Takes the crossings recorded so far, sorted by intended time.
    pub fn take_history(&self) -> Vec<(u32, u64)> {
        let mut v = std::mem::take(&mut *self.history.lock().unwrap_or_else(|e| e.into_inner()));
        v.sort_by_key(|&(_, t)| t);
        v
    }

    /// Whether a walk frame (price back above the limit) of `symbol` has been written
    /// since its latest crossing.
    pub fn walked_since(&self, symbol: usize) -> bool {
        self.walked.get(symbol).is_none_or(|w| w.load(Ordering::Acquire) > self.last(symbol))
    }
}

struct Frames {
    walk: Vec<[Utf8Bytes; WALK]>,
    cross: Vec<Utf8Bytes>,
}

fn frame(name: &str, ltp: Price) -> Utf8Bytes {
    let tick = Tick {
        ltp,
        bid: Price(ltp.0 - 500),
        ask: Price(ltp.0 + 500),
        bid_qty: 100,
        ask_qty: 100,
        open: Price(1000_0000),
        high: Price(1001_0000),
        low: Price(998_0000),
        close: Price(1000_0000),
        volume: 1000,
        last_qty: 1,
        avg_price: ltp,
        mode: 2,
        ..Tick::default()
    };
    let mut buf = Vec::with_capacity(512);
    market_data::write(&mut buf, name, "NSE", 2, &tick, 0, "bench");
    String::from_utf8(buf).unwrap_or_default().into()
}

/// The running upstream.
#[derive(Debug)]
pub struct Upstream {
    addr: SocketAddr,
    phases: Sender<Phase>,
    results: Receiver<PhaseResult>,
    subscribed: Arc<AtomicUsize>,
    /// Intended times of the crossing frames.
    pub crossings: Arc<Crossings>,
    /// Per-frame lag of the last phase's sends behind their intended times (ns).
    pub lag: Arc<std::sync::Mutex<hdrhistogram::Histogram<u64>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    /// Listens on loopback for one engine connection presenting `api_key`, serving
    /// `names` (the symbol ids are the indices), with `SO_SNDBUF` set to `sndbuf` bytes on
    /// the connection (`None`: the kernel's autotuning).
    pub fn start(
        names: &[String],
        api_key: &str,
        sndbuf: Option<u32>,
    ) -> std::io::Result<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let walk = names
            .iter()
            .map(|n| std::array::from_fn(|k| frame(n, Price(LIMIT.0 + 500 * (k as i64 + 1)))))
            .collect();
        let cross = names.iter().map(|n| frame(n, LIMIT)).collect();
        let frames = Frames { walk, cross };
        let crossings = Arc::new(Crossings {
            last: (0..names.len()).map(|_| AtomicU64::new(0)).collect(),
            walked: (0..names.len()).map(|_| AtomicU64::new(0)).collect(),
            history: std::sync::Mutex::new(Vec::new()),
        });
        let (phases, phase_rx) = crossbeam_channel::unbounded();
        let (result_tx, results) = crossbeam_channel::unbounded();
        let subscribed = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let lag = Arc::new(std::sync::Mutex::new(super::hist::new_ns()));
        let ctx = Conn {
            lag: Arc::clone(&lag),
            frames,
            crossings: Arc::clone(&crossings),
            phases: phase_rx,
            results: result_tx,
            subscribed: Arc::clone(&subscribed),
            stop: Arc::clone(&stop),
            api_key: api_key.to_owned(),
            sndbuf,
        };
        let thread =
            std::thread::Builder::new().name("bench-upstream".into()).spawn(move || {
                while !ctx.stop.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((stream, _)) => ctx.serve(stream),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5))
                        }
                        Err(_) => break,
                    }
                }
            })?;
        Ok(Upstream {
            addr,
            phases,
            results,
            subscribed,
            crossings,
            lag,
            stop,
            thread: Some(thread),
        })
    }

    /// `ws://` URL for the engine's feed.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Symbols the engine has subscribed so far.
    pub fn subscribed(&self) -> usize {
        self.subscribed.load(Ordering::Acquire)
    }

    /// Runs one phase on the engine's connection and waits for it, calling `waiting`
    /// every 200 ms (None if the connection is gone or the phase overran `timeout`).
    pub fn run(&self, phase: Phase, timeout: Duration, waiting: &dyn Fn()) -> Option<PhaseResult> {
        self.phases.send(phase).ok()?;
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            match self.results.recv_timeout(Duration::from_millis(200)) {
                Ok(r) => return Some(r),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => waiting(),
                Err(_) => return None,
            }
        }
        None
    }

    /// Closes the listener and the connection.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Conn {
    lag: Arc<std::sync::Mutex<hdrhistogram::Histogram<u64>>>,
    frames: Frames,
    crossings: Arc<Crossings>,
    phases: Receiver<Phase>,
    results: Sender<PhaseResult>,
    subscribed: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    api_key: String,
    sndbuf: Option<u32>,
}

impl Conn {
    fn serve(&self, stream: TcpStream) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        if let Some(bytes) = self.sndbuf {
            let _ = rustix::net::sockopt::set_socket_send_buffer_size(&stream, bytes as usize);
        }
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let Ok(mut ws) = tungstenite::accept(stream) else { return };
        let _ = ws.get_ref().set_read_timeout(Some(Duration::from_millis(2)));
        while !self.stop.load(Ordering::Acquire) {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    if let Some(reply) = self.reply(t.as_str()) {
                        if ws.send(Message::text(reply.to_string())).is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
            if let Ok(phase) = self.phases.try_recv() {
                let r = self.send_phase(&mut ws, phase);
                let _ = self.results.send(r);
            }
        }
    }

    fn reply(&self, text: &str) -> Option<Value> {
        let msg: Value = serde_json::from_str(text).ok()?;
        match msg["action"].as_str().unwrap_or_default() {
            "authenticate" | "auth" if msg["api_key"] == self.api_key.as_str() => Some(json!({
                "type":"auth","status":"success","message":"Authentication successful",
                "broker":"bench","user_id":"bench",
                "supported_features":{"ltp":true,"quote":true,"depth":true}})),
            "authenticate" | "auth" => Some(json!({"status":"error",
                "code":"AUTHENTICATION_ERROR","message":"Invalid API key"})),
            a @ ("subscribe" | "unsubscribe") => {
                let n = msg["symbols"].as_array().map_or(0, Vec::len);
                if a == "subscribe" {
                    self.subscribed.fetch_add(n, Ordering::AcqRel);
                }
                Some(json!({"type": a, "status":"success", "message":"ok"}))
            }
            _ => Some(json!({"status":"error","code":"INVALID_ACTION","message":"Invalid action"})),
        }
    }

    /// The open-loop sender: every frame whose intended time has come goes out, in
    /// order, all due frames in one write; a late sender sends its backlog at once and
    /// records each frame's lag. Until a frame is due it sleeps when the next one is more
    /// than [`SLEEP_AHEAD`] away (waking that much early) and spins the rest.
    fn send_phase(&self, ws: &mut WebSocket<TcpStream>, p: Phase) -> PhaseResult {
        let symbols = self.frames.walk.len() as u64;
        let rate = p.rate.max(1) as u128;
        let start = mono_now_ns() + 1_000_000;
        let intended = |i: u64| start + (i as u128 * 1_000_000_000 / rate) as u64;
        let mut r = PhaseResult { start_ns: start, ..PhaseResult::default() };
        let mut lag = super::hist::new_ns();
        let mut i = 0;
        while i < p.frames {
            let now = mono_now_ns();
            let next = intended(i);
            if now < next {
                let ahead = next - now;
                if ahead > SLEEP_AHEAD {
                    std::thread::sleep(Duration::from_nanos(ahead - SLEEP_AHEAD));
                } else {
                    std::hint::spin_loop();
                }
                continue;
            }
            let due = (((now - start) as u128 * rate / 1_000_000_000) as u64 + 1).min(p.frames);
            r.max_lag_ns = r.max_lag_ns.max(now.saturating_sub(intended(i)));
            while i < due {
                lag.saturating_record(now.saturating_sub(intended(i)).max(1));
                let sym = (i % symbols) as usize;
                // Each symbol's crossings are offset so that, over all symbols, they are
                // spread evenly in time (not in step with a polling interval).
                let k = i / symbols + sym as u64 * p.cross_every / symbols;
                let text = if p.cross_every > 0 && k % p.cross_every == p.cross_every - 1 {
                    self.crossings.last[sym].store(intended(i), Ordering::Release);
                    if let Ok(mut h) = self.crossings.history.lock() {
                        h.push((sym as u32, intended(i)));
                    }
                    r.crossings += 1;
                    self.frames.cross[sym].clone()
                } else {
                    self.crossings.walked[sym].store(intended(i), Ordering::Release);
                    self.frames.walk[sym][(k % WALK as u64) as usize].clone()
                };
                if ws.write(Message::Text(text)).is_err() {
                    return r;
                }
                i += 1;
                r.sent += 1;
            }
            if ws.flush().is_err() {
                return r;
            }
        }
        r.end_lag_ns = mono_now_ns().saturating_sub(intended(p.frames.saturating_sub(1)));
        if let Ok(mut h) = self.lag.lock() {
            *h = lag;
        }
        r
    }
}
