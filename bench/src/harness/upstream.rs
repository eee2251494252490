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
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tickfill::clock::mono_now_ns;
use tickfill::event::Tick;
use tickfill::openalgo_wire::market_data;
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

/// What the sender has sent, as the clients need it: the intended send time of the
/// latest crossing frame and of the latest walk frame of every symbol, every crossing of
/// the phase, and how far the sender has got. Written by the sender thread, or, when the
/// load generator is a separate process, by the thread reading its reports.
#[derive(Debug)]
pub struct Crossings {
    last: Vec<AtomicU64>,
    walked: Vec<AtomicU64>,
    /// Intended send time of the latest frame sent (known to this process).
    until: AtomicU64,
    /// Every crossing of the current phase: (symbol, intended send time).
    history: std::sync::Mutex<Vec<(u32, u64)>>,
}

impl Crossings {
    pub(super) fn new(symbols: usize) -> Crossings {
        Crossings {
            last: (0..symbols).map(|_| AtomicU64::new(0)).collect(),
            walked: (0..symbols).map(|_| AtomicU64::new(0)).collect(),
            until: AtomicU64::new(0),
            history: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A crossing frame of `symbol` with intended send time `t` was sent.
    pub fn crossed(&self, symbol: usize, t: u64) {
        if let Some(a) = self.last.get(symbol) {
            a.store(t, Ordering::Release);
            if let Ok(mut h) = self.history.lock() {
                h.push((symbol as u32, t));
            }
        }
    }

    /// A walk frame of `symbol` with intended send time `t` was sent; whether it is the
    /// first since the symbol's latest crossing (the one a re-placement waits for).
    pub fn walked(&self, symbol: usize, t: u64) -> bool {
        let before = self.walked.get(symbol).map_or(u64::MAX, |w| w.swap(t, Ordering::AcqRel));
        before <= self.last(symbol) && before != u64::MAX
    }

    /// Every frame due up to intended time `t` has been sent.
    pub fn sent_until(&self, t: u64) {
        self.until.fetch_max(t, Ordering::AcqRel);
    }

    /// An order of `symbol` whose fill the client read at `read_ns` may be placed again
    /// at `now` and rest (not fill at once): every frame due before the read is known here
    /// (so is the crossing that filled it), a walk frame has moved the price back above
    /// the limit since, and `guard_ns` has passed since the crossing.
    pub fn may_replace(&self, symbol: usize, read_ns: u64, guard_ns: u64, now: u64) -> bool {
        self.until.load(Ordering::Acquire) >= read_ns
            && self.walked_since(symbol)
            && now >= self.last(symbol) + guard_ns
    }

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

/// Where a load generator running as its own process writes its reports: its stdout,
/// one line each ([`super::loadgen`] reads them).
pub type Reports = Arc<std::sync::Mutex<std::io::BufWriter<std::io::Stdout>>>;

/// The running upstream: its sender thread in this process, or a load generator process
/// whose reports feed the same [`Crossings`], subscription count and lag histogram.
#[derive(Debug)]
pub struct Upstream {
    url: String,
    driver: Driver,
    results: Receiver<PhaseResult>,
    subscribed: Arc<AtomicUsize>,
    /// Intended times of the crossing frames.
    pub crossings: Arc<Crossings>,
    /// Per-frame lag of the last phase's sends behind their intended times (ns).
    pub lag: Arc<std::sync::Mutex<hdrhistogram::Histogram<u64>>>,
}

/// Who sends: the thread of [`Upstream::start`] or a child process.
#[derive(Debug)]
pub(super) enum Driver {
    Thread { phases: Sender<Phase>, stop: Arc<AtomicBool>, thread: Option<JoinHandle<()>> },
    Process(super::loadgen::Child),
}

/// The parts a load generator process's reader fills in (see [`Upstream::of_process`]).
#[derive(Debug)]
pub(super) struct Shared {
    pub results: Sender<PhaseResult>,
    pub subscribed: Arc<AtomicUsize>,
    pub crossings: Arc<Crossings>,
    pub lag: Arc<std::sync::Mutex<hdrhistogram::Histogram<u64>>>,
}

impl Upstream {
    /// Listens on loopback for one engine connection presenting `api_key`, serving
    /// `names` (the symbol ids are the indices), with `SO_SNDBUF` set to `sndbuf` bytes on
    /// the connection (`None`: the kernel's autotuning). With `reports` (in a load
    /// generator process) the sender also writes what it sent there.
    pub fn start(
        names: &[String],
        api_key: &str,
        sndbuf: Option<u32>,
        reports: Option<Reports>,
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
        let crossings = Arc::new(Crossings::new(names.len()));
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
            reports,
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
            url: format!("ws://{addr}"),
            driver: Driver::Thread { phases, stop, thread: Some(thread) },
            results,
            subscribed,
            crossings,
            lag,
        })
    }

    /// The parts a load generator process's reports fill in, over `symbols` symbols, and
    /// the receiver of its phase results.
    pub(super) fn shared(symbols: usize) -> (Shared, Receiver<PhaseResult>) {
        let (results, rx) = crossbeam_channel::unbounded();
        let shared = Shared {
            results,
            subscribed: Arc::new(AtomicUsize::new(0)),
            crossings: Arc::new(Crossings::new(symbols)),
            lag: Arc::new(std::sync::Mutex::new(super::hist::new_ns())),
        };
        (shared, rx)
    }

    /// The upstream of a load generator process listening on `url`.
    pub(super) fn of_process(
        url: String,
        child: super::loadgen::Child,
        shared: &Shared,
        results: Receiver<PhaseResult>,
    ) -> Upstream {
        Upstream {
            url,
            driver: Driver::Process(child),
            results,
            subscribed: Arc::clone(&shared.subscribed),
            crossings: Arc::clone(&shared.crossings),
            lag: Arc::clone(&shared.lag),
        }
    }

    /// `ws://` URL for the engine's feed.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The load generator's process id, when it is a separate process.
    pub fn pid(&self) -> Option<u32> {
        match &self.driver {
            Driver::Thread { .. } => None,
            Driver::Process(c) => Some(c.pid()),
        }
    }

    /// Symbols the engine has subscribed so far.
    pub fn subscribed(&self) -> usize {
        self.subscribed.load(Ordering::Acquire)
    }

    /// Waits (polling every 20 ms, at most `limit`) until the engine has subscribed
    /// `symbols` symbols; an error names how many it had.
    pub fn wait_subscribed(&self, symbols: usize, limit: Duration) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + limit;
        while self.subscribed() < symbols && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::ensure!(
            self.subscribed() >= symbols,
            "the engine subscribed {} of {symbols} symbols upstream",
            self.subscribed()
        );
        Ok(())
    }

    /// Runs one phase on the engine's connection and waits for it, calling `waiting`
    /// every 200 ms (None if the connection is gone, the phase overran `timeout`, or its
    /// times are not on this process's clock).
    pub fn run(&self, phase: Phase, timeout: Duration, waiting: &dyn Fn()) -> Option<PhaseResult> {
        let asked = mono_now_ns();
        match &self.driver {
            Driver::Thread { phases, .. } => phases.send(phase).ok()?,
            Driver::Process(c) => c.send(phase).ok()?,
        }
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            match self.results.recv_timeout(Duration::from_millis(200)) {
                // The first frame is due 1 ms after the sender took the phase, and the
                // result comes after it: anything else is a clock of another origin.
                Ok(r) if r.start_ns < asked || r.start_ns > mono_now_ns() => {
                    eprintln!(
                        "tickfill-bench: the sender's phase started at {} ns, outside \
                         [{asked}, now] on this process's clock",
                        r.start_ns
                    );
                    return None;
                }
                Ok(r) => return Some(r),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => waiting(),
                Err(_) => return None,
            }
        }
        None
    }

    /// Closes the listener and the connection (a load generator process exits).
    pub fn stop(self) {
        match self.driver {
            Driver::Thread { stop, mut thread, .. } => {
                stop.store(true, Ordering::Release);
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
            Driver::Process(c) => c.stop(),
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
    reports: Option<Reports>,
}

impl Conn {
    /// Writes one report line (a load generator process only); `flush` sends it now.
    fn report(&self, line: std::fmt::Arguments<'_>, flush: bool) {
        use std::io::Write as _;
        if let Some(Ok(mut w)) = self.reports.as_ref().map(|r| r.lock()) {
            let _ = writeln!(w, "{line}");
            if flush {
                let _ = w.flush();
            }
        }
    }

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
                    let total = self.subscribed.fetch_add(n, Ordering::AcqRel) + n;
                    self.report(format_args!("subscribed {total}"), true);
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
        let mut reported = 0;
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
                let t = intended(i);
                let text = if p.cross_every > 0 && k % p.cross_every == p.cross_every - 1 {
                    self.crossings.crossed(sym, t);
                    self.report(format_args!("c {sym} {t}"), false);
                    r.crossings += 1;
                    self.frames.cross[sym].clone()
                } else {
                    if self.crossings.walked(sym, t) {
                        self.report(format_args!("w {sym} {t}"), false);
                    }
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
            let t = intended(i - 1);
            self.crossings.sent_until(t);
            // A separate process reports its progress at most every 1 ms (and with every
            // crossing, which the report line carries), not per frame.
            if self.reports.is_some() && (t >= reported + 1_000_000 || i == p.frames) {
                self.report(format_args!("s {t}"), true);
                reported = t;
            }
        }
        r.end_lag_ns = mono_now_ns().saturating_sub(intended(p.frames.saturating_sub(1)));
        if let Ok(mut h) = self.lag.lock() {
            *h = lag;
        }
        r
    }
}
