//! The live run: the engine started in-process exactly as `tickfill serve` starts it,
//! fed by the [`Upstream`] over loopback, with resting orders placed and re-placed
//! through the real REST API and a real WebSocket client subscribed to order updates and
//! a few symbols' ticks.
//!
//! Every resting order is a CNC buy of a synthetic NSE equity (accepted at any hour). Each
//! symbol has `orders / symbols` of them, the top at [`LIMIT`] and the rest 0.05 apart
//! below it; the walk frames stay above the top, and every `cross_every`-th frame of a
//! symbol trades at the top, filling exactly that order, which the harness places again.
//! Wire-to-wire is the time from the crossing frame's intended send time to the
//! `order_update` (complete) read by the client: crossings of one symbol are seconds
//! apart, far longer than any latency measured, so the latest crossing of the update's
//! symbol is the one that filled it.

#![forbid(unsafe_code)]

use super::TempDir;
use super::hist::new_ns;
use super::loadgen::LoadGen;
use super::resources::{CpuTimes, exec_config, name, pid_cpu_seconds, universe};
use super::upstream::{Crossings, LIMIT, Phase, PhaseResult};
use anyhow::{Context, anyhow};
use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tickfill::api::{ApiConfig, ApiServer};
use tickfill::auth::KeyStore;
use tickfill::clock::mono_now_ns;
use tickfill::engine::{Engine, EngineConfig};
use tickfill::health::Health;
use tickfill::journal::JournalConfig;
use tickfill::latency::HOPS;
use tickfill::ring::cores::CoreLayout;
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::sequencer::FeedConfig;
use tickfill::ws::{WsConfig, WsServer};
use tungstenite::Message;

/// The key of the engine's REST and WebSocket APIs in the run.
const KEY: &str = "bench-api-key-0123456789abcdef";
/// The key the loopback upstream expects.
const FEED_KEY: &str = "bench-feed-key-0123456789abcdef";

/// What the live run does.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Symbols fed.
    pub symbols: usize,
    /// Resting orders kept.
    pub orders: usize,
    /// Frames per second in the measured phase.
    pub rate: u64,
    /// Length of the measured phase.
    pub seconds: f64,
    /// Topology, idle strategy and cores.
    pub pipeline: PipelineConfig,
    /// Time between two crossings of one symbol.
    pub cross_period: Duration,
    /// Rates tried by the sustainable-rate search, ascending.
    pub search_rates: Vec<u64>,
    /// Length of each search step.
    pub search_seconds: f64,
    /// Symbols whose ticks the WebSocket client also subscribes to (0: order updates only).
    pub ws_tick_symbols: usize,
    /// The committing thread writes order updates itself ([`WsConfig::direct_updates`]).
    pub ws_direct: bool,
    /// `SO_RCVBUF` of the engine's upstream socket and `SO_SNDBUF` of the sender's, bytes,
    /// for the whole run (`None`: the kernel's autotuning, up to tens of MiB each way). A
    /// capped buffer cannot bank seconds of frames the engine has not read, so a rate step
    /// that passes is one the engine kept up with, and an engine that falls behind pushes
    /// back on the open-loop sender, whose lag then shows it.
    pub socket_buffer: Option<u32>,
    /// Where the open-loop sender runs: a thread of this process or a process of its own
    /// on the housekeeping cores ([`super::loadgen`]).
    pub loadgen: LoadGen,
    /// Hot and housekeeping cores (inline): every thread of the run, the load generator
    /// included, is confined to the housekeeping cores, the engine's hot thread pinned.
    pub cores: Option<CoreLayout>,
}

/// One step of the rate search.
#[derive(Debug, Clone, Copy)]
pub struct RateStep {
    /// Frames per second asked.
    pub rate: u64,
    /// Frames sent.
    pub sent: u64,
    /// Ticks the engine's feed decoded.
    pub received: u64,
    /// Events journaled (ticks plus the odd timer event).
    pub journaled: u64,
    /// The sender's largest and final lag behind schedule, ns.
    pub max_lag_ns: u64,
    /// The sender's lag at its last frame, ns.
    pub end_lag_ns: u64,
    /// The engine's own lag: from the last frame's intended send time to the moment the
    /// journal had every frame of the step (what a receive buffer would hide from the
    /// sender's lag shows here).
    pub engine_lag_ns: u64,
    /// CPU seconds of the engine's threads (process minus the harness's `bench-*`
    /// threads) from the step's start until the journal had every frame: at a rate that
    /// keeps it busy this is work, not the busy-poll window an idle-ish engine spins in.
    pub engine_cpu_s: f64,
    /// Nothing dropped, the sender kept its schedule and the engine caught up in time.
    pub ok: bool,
}

impl RateStep {
    /// Engine CPU per frame of the step, microseconds.
    pub fn cpu_per_tick_us(&self) -> f64 {
        self.engine_cpu_s * 1e6 / (self.sent as f64).max(1.0)
    }
}

/// What the live run measured.
#[derive(Debug)]
pub struct LiveResult {
    /// The engine's hops ([`HOPS`] order) over the measured phase.
    pub hops: Vec<(&'static str, Histogram<u64>)>,
    /// Crossing frame intended send -> `order_update` read by the WebSocket client.
    pub wire_to_wire: Histogram<u64>,
    /// Breakdown of wire-to-wire: fill decided by execution -> `order_update` read by
    /// the client (journal commit, the WebSocket thread's wake-up, its write, the
    /// client's wake-up).
    pub fill_to_client: Histogram<u64>,
    /// Crossing frame intended send -> fill decided by execution (each fill paired with
    /// the latest crossing of its symbol sent before it).
    pub intended_to_fill: Histogram<u64>,
    /// Per-frame lag of the measured phase's sends behind their intended times.
    pub sender_lag: Histogram<u64>,
    /// REST placeorder round trips (initial and re-placements).
    pub rest: Histogram<u64>,
    /// Intended times of the crossings that filled an order.
    pub filled_crossings: Vec<u64>,
    /// The measured phase's sender.
    pub main: PhaseResult,
    /// Ticks the engine decoded in the measured phase.
    pub main_received: u64,
    /// Process and engine-only CPU seconds in the measured phase.
    pub cpu_process_s: f64,
    /// CPU seconds of the engine's threads only (process minus `bench-*` threads).
    pub cpu_engine_s: f64,
    /// Re-placements refused or failed.
    pub rest_failures: u64,
    /// `market_data` frames the WebSocket client read.
    pub ws_ticks: u64,
    /// Order updates the engine's committing thread wrote itself, and all order updates
    /// the client read (fills and placements).
    pub direct_updates: (u64, u64),
    /// The rate search.
    pub search: Vec<RateStep>,
    /// Echo round trips (one per millisecond) measured during the measured phase, under
    /// the same load as the engine.
    pub echo_loaded: Histogram<u64>,
    /// CPU seconds and run-queue wait seconds per thread name over the measured phase,
    /// most CPU first.
    pub cpu_threads: Vec<(String, f64, f64)>,
}

/// Adds `b`'s (name, CPU, wait) rows into `a`, most CPU first.
pub fn merge_threads(a: &mut Vec<(String, f64, f64)>, b: &[(String, f64, f64)]) {
    for (n, c, w) in b {
        match a.iter_mut().find(|(m, _, _)| m == n) {
            Some((_, c0, w0)) => {
                *c0 += c;
                *w0 += w;
            }
            None => a.push((n.clone(), *c, *w)),
        }
    }
    a.sort_by(|x, y| y.1.total_cmp(&x.1));
}

impl LiveResult {
    /// Folds a later round of the same variant into this one: histograms and counts add
    /// up, the rate search is the round's that ran one.
    pub fn merge(&mut self, b: LiveResult) -> anyhow::Result<()> {
        for ((_, h), (_, g)) in self.hops.iter_mut().zip(&b.hops) {
            h.add(g)?;
        }
        self.wire_to_wire.add(&b.wire_to_wire)?;
        self.fill_to_client.add(&b.fill_to_client)?;
        self.intended_to_fill.add(&b.intended_to_fill)?;
        self.sender_lag.add(&b.sender_lag)?;
        self.rest.add(&b.rest)?;
        self.echo_loaded.add(&b.echo_loaded)?;
        self.filled_crossings.extend(&b.filled_crossings);
        self.main.sent += b.main.sent;
        self.main.crossings += b.main.crossings;
        self.main.max_lag_ns = self.main.max_lag_ns.max(b.main.max_lag_ns);
        self.main.end_lag_ns = self.main.end_lag_ns.max(b.main.end_lag_ns);
        self.main_received += b.main_received;
        self.cpu_process_s += b.cpu_process_s;
        self.cpu_engine_s += b.cpu_engine_s;
        self.rest_failures += b.rest_failures;
        self.ws_ticks += b.ws_ticks;
        self.direct_updates.0 += b.direct_updates.0;
        self.direct_updates.1 += b.direct_updates.1;
        merge_threads(&mut self.cpu_threads, &b.cpu_threads);
        if !b.search.is_empty() {
            self.search = b.search;
        }
        Ok(())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Places one CNC buy LIMIT through REST; returns (round trip ns, accepted).
fn place(agent: &ureq::Agent, url: &str, symbol: usize, price: f64) -> (u64, bool) {
    let body = json!({"apikey": KEY, "strategy": "bench", "symbol": name(symbol),
        "exchange": "NSE", "action": "BUY", "quantity": 1, "pricetype": "LIMIT",
        "product": "CNC", "price": price});
    let t = mono_now_ns();
    let ok = match agent.post(url).send_json(&body) {
        Ok(mut r) => r.body_mut().read_to_string().is_ok_and(|s| s.contains("\"success\"")),
        Err(_) => false,
    };
    (mono_now_ns() - t, ok)
}

/// Re-places each filled order ((symbol, time its fill was read) from `rx`) until `rx`
/// closes, each once [`Crossings::may_replace`] says the new order will rest instead of
/// filling at once; `place(symbol)` places it. Shared by the in-process and relay benches.
pub fn replace_loop(
    rx: &Receiver<(usize, u64)>,
    crossings: &Crossings,
    guard: Duration,
    mut place: impl FnMut(usize),
) {
    let mut due: std::collections::VecDeque<(usize, u64)> = Default::default();
    let guard = guard.as_nanos() as u64;
    let mut open = true;
    while open || !due.is_empty() {
        match rx.recv_timeout(Duration::from_millis(1)) {
            Ok(fill) => due.push_back(fill),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(_) => open = false,
        }
        while let Some(&(symbol, read)) = due.front() {
            if open && !crossings.may_replace(symbol, read, guard, mono_now_ns()) {
                break;
            }
            due.pop_front();
            place(symbol);
        }
    }
}

/// The REST re-placer thread of the live run: [`replace_loop`] timing each placement.
fn replacer(
    url: String,
    rx: Receiver<(usize, u64)>,
    crossings: Arc<Crossings>,
    guard: Duration,
) -> std::io::Result<JoinHandle<(Histogram<u64>, u64)>> {
    std::thread::Builder::new().name("bench-rest".into()).spawn(move || {
        let agent = agent();
        let mut h = new_ns();
        let mut failures = 0;
        replace_loop(&rx, &crossings, guard, |symbol| {
            let (ns, ok) = place(&agent, &url, symbol, LIMIT.to_f64());
            h.saturating_record(ns.max(1));
            failures += u64::from(!ok);
        });
        (h, failures)
    })
}

struct WsStats {
    /// (symbol, read time) of every fill of a resting order.
    reads: Vec<(u32, u64)>,
    ticks: u64,
    updates: u64,
}

/// The WebSocket client: authenticates, subscribes to orders and `ticks` symbols'
/// quotes, then reads until `stop`, noting when each fill was read (paired with its
/// crossing after the phase, [`pair_reads`]) and asking for its re-placement.
fn ws_client(
    addr: SocketAddr,
    ticks: usize,
    replace: Sender<(usize, u64)>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<WsStats>> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/"), stream)?;
    ws.send(Message::text(json!({"action": "authenticate", "api_key": KEY}).to_string()))?;
    ws.send(Message::text(json!({"action": "subscribe_orders"}).to_string()))?;
    if ticks > 0 {
        let symbols: Vec<Value> =
            (0..ticks).map(|s| json!({"symbol": name(s), "exchange": "NSE"})).collect();
        ws.send(Message::text(
            json!({"action": "subscribe", "symbols": symbols, "mode": 1}).to_string(),
        ))?;
    }
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(50)))?;
    Ok(std::thread::Builder::new().name("bench-ws".into()).spawn(move || {
        let mut s = WsStats { reads: Vec::new(), ticks: 0, updates: 0 };
        // Orders seen resting: only their fills were caused by a crossing frame (an order
        // filled at placement never rests).
        let mut resting = std::collections::HashSet::new();
        while !stop.load(Ordering::Acquire) {
            let text = match read_text(&mut ws) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(()) => break,
            };
            let now = mono_now_ns();
            if text.contains("\"market_data\"") {
                s.ticks += 1;
                continue;
            }
            if !text.contains("\"order_update\"") {
                continue;
            }
            s.updates += 1;
            let Some((symbol, rested)) = parse_order_update(&text, &mut resting) else {
                continue;
            };
            if rested {
                s.reads.push((symbol as u32, now));
            }
            let _ = replace.send((symbol, now));
        }
        let _ = ws.close(None);
        s
    })?)
}

/// One text frame from a client socket that has a read timeout: `Ok(None)` when the
/// timeout passed or the frame was not text, `Err` when the connection is gone.
pub(crate) fn read_text(
    ws: &mut tungstenite::WebSocket<TcpStream>,
) -> Result<Option<tungstenite::Utf8Bytes>, ()> {
    match ws.read() {
        Ok(Message::Text(t)) => Ok(Some(t)),
        Ok(_) => Ok(None),
        Err(tungstenite::Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(_) => Err(()),
    }
}

/// Reads one `order_update` frame for the wire-to-wire measurement, shared by the
/// in-process and the relay benches so both count a fill the same way. An `open` order is
/// remembered as resting; a `complete` one returns its symbol (to be re-placed) and
/// whether it had rested (only then did a crossing frame fill it). Other frames: `None`.
pub(crate) fn parse_order_update(
    text: &str,
    resting: &mut std::collections::HashSet<String>,
) -> Option<(usize, bool)> {
    let v = serde_json::from_str::<Value>(text).ok()?;
    let id = v["orderid"].as_str().unwrap_or_default().to_owned();
    match v["order_status"].as_str() {
        Some("open") => {
            resting.insert(id);
            return None;
        }
        Some("complete") => {}
        _ => return None,
    }
    let symbol =
        v["symbol"].as_str().and_then(|n| n.get(4..)).and_then(|n| n.parse::<usize>().ok())?;
    Some((symbol, resting.remove(&id)))
}

/// Each symbol's crossing times, ascending, from a phase's history.
fn by_symbol(crossings: &[(u32, u64)]) -> std::collections::HashMap<u32, Vec<u64>> {
    let mut by: std::collections::HashMap<u32, Vec<u64>> = Default::default();
    for &(s, t) in crossings {
        by.entry(s).or_default().push(t);
    }
    by
}

/// The latest of `times` (ascending) not after `t`.
fn latest(times: Option<&Vec<u64>>, t: u64) -> Option<u64> {
    let times = times?;
    let k = times.partition_point(|&c| c <= t);
    k.checked_sub(1).map(|k| times[k])
}

/// The client's fills paired with the crossings that caused them.
#[derive(Debug)]
pub struct PairedReads {
    /// Crossing intended send -> `order_update` read.
    pub w2w: Histogram<u64>,
    /// The crossings that filled an order.
    pub filled: Vec<u64>,
    /// (symbol, crossing, read time) of each, for [`fill_to_client`].
    pub reads: Vec<(u32, u64, u64)>,
}

/// Wire-to-wire from the client's reads of resting fills ((symbol, read time)): each paired
/// with the latest crossing of its symbol before it (crossings of one symbol are seconds
/// apart).
pub fn pair_reads(crossings: &[(u32, u64)], reads: &[(u32, u64)]) -> PairedReads {
    let by = by_symbol(crossings);
    let mut p = PairedReads { w2w: new_ns(), filled: Vec::new(), reads: Vec::new() };
    for &(symbol, read) in reads {
        if let Some(crossed) = latest(by.get(&symbol), read) {
            p.w2w.saturating_record((read - crossed).max(1));
            p.filled.push(crossed);
            p.reads.push((symbol, crossed, read));
        }
    }
    p
}

/// The engine's histograms once everything recorded so far has been handed over: the
/// journal stage hands over on a batch end after the reader merged the previous set, and
/// an idle engine's next batch is its timer event (every second).
fn settled_latency(handle: &tickfill::engine::EngineHandle) -> tickfill::latency::StageHistograms {
    let _ = handle.latency.snapshot();
    std::thread::sleep(Duration::from_millis(1_300).max(tickfill::latency::PUBLISH_EVERY * 2));
    handle.latency.snapshot()
}

/// Intended send -> fill: each fill paired with the latest crossing of its symbol whose
/// intended time is not after the fill (crossings of one symbol are seconds apart).
pub fn pair_fills(
    crossings: &[(u32, u64)],
    fills: &[tickfill::latency::FillTime],
) -> Histogram<u64> {
    let by = by_symbol(crossings);
    let mut h = new_ns();
    for f in fills {
        if let Some(crossed) = latest(by.get(&f.symbol), f.exec_ns) {
            h.saturating_record((f.exec_ns - crossed).max(1));
        }
    }
    h
}

/// Fill decided -> `order_update` read: each client read (symbol, crossing, read time)
/// paired with the first fill of its symbol at or after the crossing.
pub fn fill_to_client(
    reads: &[(u32, u64, u64)],
    fills: &[tickfill::latency::FillTime],
) -> Histogram<u64> {
    let mut by_symbol: std::collections::HashMap<u32, Vec<u64>> = Default::default();
    for f in fills {
        by_symbol.entry(f.symbol).or_default().push(f.exec_ns);
    }
    for v in by_symbol.values_mut() {
        v.sort_unstable();
    }
    let mut h = new_ns();
    for &(symbol, crossed, read) in reads {
        let Some(times) = by_symbol.get(&symbol) else { continue };
        let k = times.partition_point(|&t| t < crossed);
        if let Some(&fill) = times.get(k).filter(|&&t| t <= read) {
            h.saturating_record((read - fill).max(1));
        }
    }
    h
}

/// Waits (polling every 50 us) until the journal has passed `seq`; returns when
/// (monotonic ns), or `None` after `limit`.
fn caught_up(health: &Health, seq: u64, limit: Duration) -> Option<u64> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if health.durable_seq.load(Ordering::Acquire) >= seq {
            return Some(mono_now_ns());
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    None
}

/// Waits until the journal stops advancing (nothing in flight), at most `limit`.
fn drain(health: &Health, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut last = health.durable_seq.load(Ordering::Acquire);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(150));
        let now = health.durable_seq.load(Ordering::Acquire);
        if now == last {
            return;
        }
        last = now;
    }
}

/// The sender kept its schedule when it finished within 10 ms or 1% of the step of its
/// intended end (a momentary stall of a shared machine is latency, not a lost rate).
pub fn max_end_lag(step_seconds: f64) -> u64 {
    ((step_seconds * 1e9 / 100.0) as u64).max(10_000_000)
}

fn frames(rate: u64, seconds: f64) -> u64 {
    ((rate as f64 * seconds) as u64).max(1)
}

/// Runs the live measurement with `bar` showing progress.
pub fn run(cfg: &LiveConfig, bar: &ProgressBar) -> anyhow::Result<LiveResult> {
    // Confine this thread first, so every thread of the run (the load generator too)
    // starts on the housekeeping cores; restored afterwards for the next run.
    let allowed = tickfill::ring::cores::allowed();
    if let Some(l) = &cfg.cores {
        tickfill::ring::cores::confine_current(&l.housekeeping);
    }
    let r = run_confined(cfg, bar);
    tickfill::ring::cores::confine_current(&allowed);
    r
}

fn run_confined(cfg: &LiveConfig, bar: &ProgressBar) -> anyhow::Result<LiveResult> {
    let dir = TempDir::new("live")?;
    let upstream = super::loadgen::start(cfg, FEED_KEY)?;
    let mut journal = JournalConfig::new(dir.path());
    journal.segment_bytes = 256 << 20;
    let mut config = EngineConfig::new(journal);
    config.instruments = universe(cfg.symbols);
    config.exec = exec_config();
    config.pipeline = cfg.pipeline.clone();
    config.feed = FeedConfig::Upstream { url: upstream.url(), api_key: FEED_KEY.into() };
    config.symbols_per_connection = cfg.symbols.max(1000);
    config.feed_rcvbuf = cfg.socket_buffer;
    config.watchdog.fallback = false;
    config.cores = cfg.cores.clone();
    let mut engine = Engine::start(config).context("starting the engine")?;
    let handle = engine.handle();
    let updates = engine.take_updates().context("order-update reader")?;
    let keys = KeyStore::from_key(KEY).map_err(|e| anyhow!("bench key: {e}"))?;
    let ws = WsServer::start(
        WsConfig {
            addr: "127.0.0.1:0".parse()?,
            direct_updates: cfg.ws_direct,
            ..WsConfig::default()
        },
        handle.clone(),
        updates,
        keys.clone(),
    )?;
    let api = ApiServer::start(
        ApiConfig {
            addr: "127.0.0.1:0".parse()?,
            order_rate_per_sec: 0,
            other_rate_per_sec: 0,
            ws_port: ws.local_addr().port(),
            ..ApiConfig::default()
        },
        handle.clone(),
        keys,
    )?;
    let url = format!("http://{}/api/v1/placeorder", api.local_addr());

    let (replace_tx, replace_rx) = crossbeam_channel::unbounded();
    // Time for the engine to read the walk frame after the crossing.
    let guard = Duration::from_millis(1);
    let replacer = replacer(url.clone(), replace_rx, Arc::clone(&upstream.crossings), guard)?;
    let stop = Arc::new(AtomicBool::new(false));
    let client = ws_client(
        ws.local_addr(),
        cfg.ws_tick_symbols.min(cfg.symbols),
        replace_tx,
        Arc::clone(&stop),
    )?;
    std::thread::sleep(Duration::from_millis(200));

    // Resting orders through REST.
    bar.set_message("placing resting orders through REST");
    bar.set_length(cfg.orders as u64);
    bar.set_position(0);
    let agent = agent();
    let mut rest = new_ns();
    for i in 0..cfg.orders {
        let level = (i / cfg.symbols) as f64;
        let (ns, ok) = place(&agent, &url, i % cfg.symbols, LIMIT.to_f64() - 0.05 * level);
        anyhow::ensure!(ok, "the engine refused resting order {i} (see its log)");
        rest.saturating_record(ns.max(1));
        bar.inc(1);
    }
    upstream.wait_subscribed(cfg.symbols, Duration::from_secs(15))?;

    std::thread::sleep(Duration::from_millis(200));
    let health = Arc::clone(&handle.health);
    let phase = |p: Phase, msg: &str| -> anyhow::Result<PhaseResult> {
        bar.set_message(msg.to_owned());
        bar.set_length(p.frames);
        bar.set_position(0);
        let started = Instant::now();
        let limit = Duration::from_secs_f64(p.frames as f64 / p.rate as f64 + 60.0);
        let r = upstream.run(p, limit, &|| {
            let done = started.elapsed().as_secs_f64() * p.rate as f64;
            bar.set_position((done as u64).min(p.frames));
        });
        bar.set_position(p.frames);
        r.context("the upstream connection closed or overran during a phase")
    };

    // Warm-up, then the measured phase.
    phase(Phase { rate: cfg.rate, frames: frames(cfg.rate, 1.0), cross_every: 0 }, "warm-up")?;
    drain(&health, Duration::from_secs(5));
    let before = settled_latency(&handle);
    let _ = handle.latency.take_fills();
    let _ = upstream.crossings.take_history();
    let per_symbol = cfg.rate as f64 / cfg.symbols as f64;
    let cross_every = ((per_symbol * cfg.cross_period.as_secs_f64()).round() as u64).max(2);
    let received0 = health.feed.stream_ticks.load(Ordering::Acquire);
    let echo_stop = Arc::new(AtomicBool::new(false));
    let echo = {
        let stop = Arc::clone(&echo_stop);
        let samples = frames(1_000, cfg.seconds + 5.0);
        std::thread::Builder::new().name("bench-echo-client".into()).spawn(move || {
            super::baselines::echo_rtt_paced(samples, 400, Duration::from_millis(1), &stop)
        })?
    };
    let cpu0 = CpuTimes::now();
    let loadgen0 = upstream.pid().and_then(pid_cpu_seconds);
    let main = phase(
        Phase { rate: cfg.rate, frames: frames(cfg.rate, cfg.seconds), cross_every },
        "measured phase: open-loop ticks with fills",
    );
    echo_stop.store(true, Ordering::Release);
    let echo_loaded =
        echo.join().map_err(|_| anyhow!("the echo client panicked"))?.context("echo under load")?;
    let main = main?;
    drain(&health, Duration::from_secs(10));
    let cpu1 = CpuTimes::now();
    let mut cpu_threads = cpu0.threads_since(&cpu1);
    // A load generator process is not among this process's threads: its own row.
    if let (Some(a), Some(b)) = (loadgen0, upstream.pid().and_then(pid_cpu_seconds)) {
        merge_threads(&mut cpu_threads, &[("loadgen process".to_owned(), b - a, 0.0)]);
    }
    let main_received = health.feed.stream_ticks.load(Ordering::Acquire) - received0;
    let after = settled_latency(&handle);
    let sender_lag = upstream.lag.lock().map(|h| h.clone()).unwrap_or_else(|_| new_ns());
    let fills = handle.latency.take_fills();
    let history = upstream.crossings.take_history();
    let intended_to_fill = pair_fills(&history, &fills);
    stop.store(true, Ordering::Release);
    let ws_stats = client.join().map_err(|_| anyhow!("the WebSocket client panicked"))?;
    let paired = pair_reads(&history, &ws_stats.reads);
    let fill_to_client = fill_to_client(&paired.reads, &fills);
    let (replaced, rest_failures) =
        replacer.join().map_err(|_| anyhow!("the REST re-placer panicked"))?;
    rest.add(&replaced)?;
    let hops = HOPS
        .iter()
        .zip(after.hops.iter().zip(&before.hops))
        .map(|(name, (a, b))| {
            let mut h = a.clone();
            let _ = h.subtract(b);
            (*name, h)
        })
        .collect();

    // The sustainable-rate search: no fills, nothing but ticks.
    let mut search = Vec::new();
    for &rate in &cfg.search_rates {
        let received0 = health.feed.stream_ticks.load(Ordering::Acquire);
        let journaled0 = health.durable_seq.load(Ordering::Acquire);
        let n = frames(rate, cfg.search_seconds);
        let cpu_start = CpuTimes::now();
        let r = phase(Phase { rate, frames: n, cross_every: 0 }, &format!("rate search {rate}/s"))?;
        let last_due =
            r.start_ns + (n.saturating_sub(1) as u128 * 1_000_000_000 / rate as u128) as u64;
        let engine_lag_ns = caught_up(&health, journaled0 + n, Duration::from_secs(10))
            .map_or(u64::MAX, |t| t.saturating_sub(last_due));
        let engine_cpu_s = cpu_start.engine_since(&CpuTimes::now());
        drain(&health, Duration::from_secs(10));
        let received = health.feed.stream_ticks.load(Ordering::Acquire) - received0;
        let journaled = health.durable_seq.load(Ordering::Acquire) - journaled0;
        let ok = r.sent == n
            && received == n
            && journaled >= n
            && r.end_lag_ns <= max_end_lag(cfg.search_seconds)
            && engine_lag_ns <= max_end_lag(cfg.search_seconds);
        search.push(RateStep {
            rate,
            sent: r.sent,
            received,
            journaled,
            max_lag_ns: r.max_lag_ns,
            end_lag_ns: r.end_lag_ns,
            engine_lag_ns,
            engine_cpu_s,
            ok,
        });
        if !ok {
            break;
        }
    }

    let direct = ws.stats().direct_updates.load(Ordering::Relaxed);
    ws.shutdown();
    api.shutdown();
    drop(handle);
    engine.shutdown();
    upstream.stop();
    Ok(LiveResult {
        hops,
        wire_to_wire: paired.w2w,
        fill_to_client,
        rest,
        filled_crossings: paired.filled,
        main,
        main_received,
        cpu_process_s: cpu1.process - cpu0.process,
        cpu_engine_s: cpu0.engine_since(&cpu1),
        cpu_threads,
        intended_to_fill,
        sender_lag,
        echo_loaded,
        rest_failures,
        ws_ticks: ws_stats.ticks,
        direct_updates: (direct, ws_stats.updates),
        search,
    })
}
