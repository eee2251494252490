//! `tickfill bench --relay`: the relay path (upstream -> `tickfill relay` -> JetStream ->
//! `tickfill serve --feed nats://`) measured against the direct feed (upstream -> `tickfill
//! serve --feed ws://`) in one run, with the same workload, one path after the other.
//!
//! Every component is its own process, as in a deployment: `nats-server` (from
//! `tools/nats-server`), `tickfill relay` and `tickfill serve` are children of the bench,
//! so the CPU and memory of each are read from its own `/proc/<pid>`. The loopback
//! [`Upstream`] (open loop, intended send times) feeds both paths; the bench places one
//! resting CNC buy per symbol through the engine's REST API and reads its order updates on
//! its WebSocket API. Tick-to-fill here is therefore wire-to-wire: from the crossing
//! frame's intended send time to the `order_update` (complete) read by the client, the
//! only fill time visible outside an engine process; both paths are measured the same way.
//!
//! # Known limitations
//! Linux only (`/proc`). Everything shares the machine; on 2 cores the relay, the
//! server, the engine and the load generator compete, which the report states with the
//! load average.

#![forbid(unsafe_code)]

use super::TempDir;
use super::hist::{self, Percentiles, fmt_us, new_ns};
use super::live::{max_end_lag, parse_order_update, read_text, replace_loop};
use super::report::{Machine, machine_rows};
use super::resources::{name, pid_cpu_seconds, pid_rss_bytes};
use super::upstream::{Crossings, LIMIT, Phase, PhaseResult, Upstream};
use anyhow::{Context, anyhow, bail};
use crossbeam_channel::Receiver;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::BufRead;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tickfill::clock::mono_now_ns;
use tungstenite::Message;

/// The engines' REST and WebSocket key.
const KEY: &str = "bench-api-key-0123456789abcdef";
/// The key the loopback upstream expects (from an engine or the relay).
const FEED_KEY: &str = "bench-feed-key-0123456789abcdef";
/// A rate step passes only if the engine had every frame of it within this of the last
/// frame's intended send time.
const CATCH_UP: Duration = Duration::from_millis(100);

/// What the relay mode runs.
#[derive(Debug, Clone)]
pub struct RelayBenchConfig {
    /// Symbols fed (one resting order each).
    pub symbols: usize,
    /// Ticks per second of the measured phase.
    pub rate: u64,
    /// Seconds of the measured phase.
    pub seconds: f64,
    /// Time between two crossings of one symbol.
    pub cross_period: Duration,
    /// Rates of the throughput search, ascending (stops at the first failure).
    pub search_rates: Vec<u64>,
    /// Seconds of each search step.
    pub search_seconds: f64,
    /// The `tickfill` binary the children run.
    pub exe: PathBuf,
    /// The `nats-server` binary.
    pub nats_server: PathBuf,
    /// Quick (smoke test) counts.
    pub quick: bool,
    /// The command line, as typed.
    pub command: String,
}

/// CPU and memory of one process over the measured phase.
#[derive(Debug, Clone)]
pub struct ProcUsage {
    /// `nats-server`, `relay` or `engine`.
    pub name: &'static str,
    /// CPU seconds used during the measured phase.
    pub cpu_s: f64,
    /// `RssAnon` at the end of the measured phase, bytes.
    pub rss_bytes: u64,
}

/// One step of the throughput search.
#[derive(Debug, Clone)]
pub struct Step {
    /// Ticks per second asked.
    pub rate: u64,
    /// Frames sent.
    pub sent: u64,
    /// Ticks the engine received.
    pub received: u64,
    /// Sender's lag at its last frame, ns.
    pub end_lag_ns: u64,
    /// From the last frame's intended send time to the engine having every frame, ns
    /// (`u64::MAX` if it never had them all).
    pub engine_lag_ns: u64,
    /// All delivered, sender on schedule, engine caught up within [`CATCH_UP`].
    pub ok: bool,
    /// CPU seconds of each process of the path over the step (send until caught up).
    pub cpu: Vec<(&'static str, f64)>,
    /// Wall seconds of the step (send until caught up or given up).
    pub wall_s: f64,
}

/// One path's measurements.
#[derive(Debug)]
pub struct PathResult {
    /// `direct` or `relay`.
    pub label: &'static str,
    /// Crossing intended send -> `order_update` (complete) read.
    pub wire_to_wire: Histogram<u64>,
    /// The measured phase's sender.
    pub main: PhaseResult,
    /// Ticks the engine received in the measured phase.
    pub received: u64,
    /// Wall seconds over which `usage` was taken.
    pub wall_s: f64,
    /// CPU and memory of each process of the path.
    pub usage: Vec<ProcUsage>,
    /// The throughput search.
    pub search: Vec<Step>,
    /// JetStream store size on disk after the path (relay only), bytes.
    pub store_bytes: Option<u64>,
    /// Messages in `TICKS` published by the relay over the whole path (relay only).
    pub published: Option<u64>,
}

/// A child process with its output collected (the tail for errors, lines for waiting).
struct Child {
    name: &'static str,
    child: std::process::Child,
    lines: Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Child {
    fn spawn(name: &'static str, cmd: &mut Command) -> anyhow::Result<Child> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", cmd.get_program()))?;
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = crossbeam_channel::unbounded();
        let out = child.stdout.take().map(|o| Box::new(o) as Box<dyn std::io::Read + Send>);
        let err = child.stderr.take().map(|e| Box::new(e) as Box<dyn std::io::Read + Send>);
        for stream in [out, err].into_iter().flatten() {
            let (tx, log) = (tx.clone(), Arc::clone(&log));
            std::thread::Builder::new().name("bench-child-log".into()).spawn(move || {
                for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Ok(mut l) = log.lock() {
                        if l.len() > 16_000 {
                            l.drain(..8_000);
                        }
                        l.push_str(&line);
                        l.push('\n');
                    }
                    let _ = tx.send(line);
                }
            })?;
        }
        Ok(Child { name, child, lines, log })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn tail(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits for an output line containing `needle`.
    fn wait_line(&self, needle: &str, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(l) if l.contains(needle) => return Ok(()),
                Ok(_) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(_) => break,
            }
        }
        bail!("{} did not print {needle:?} within {within:?}:\n{}", self.name, self.tail())
    }

    fn cpu(&self) -> f64 {
        pid_cpu_seconds(self.pid()).unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The synthetic universe (as [`super::resources::universe`]) as a CSV file the children load.
fn write_universe(dir: &Path, symbols: usize) -> anyhow::Result<PathBuf> {
    let mut csv = String::from("symbol,exchange,lotsize,tick_size,instrumenttype,prev_close\n");
    for i in 0..symbols {
        let _ = writeln!(csv, "{},NSE,1,0.05,EQ,1000", name(i));
    }
    let p = dir.join("instruments.csv");
    std::fs::write(&p, csv)?;
    Ok(p)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A running `tickfill serve`.
struct Engine {
    proc: Child,
    http: String,
    ws: SocketAddr,
}

impl Engine {
    fn start(
        cfg: &RelayBenchConfig,
        dir: &Path,
        csv: &Path,
        feed: &[&str],
    ) -> anyhow::Result<Self> {
        let (http, ws) = (free_port()?, free_port()?);
        let mut cmd = Command::new(&cfg.exe);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir)
            .arg("--instruments")
            .arg(csv)
            .args(["--api-key", KEY, "--fallback", "false", "--order-rate", "0"])
            .args(["--other-rate", "0", "--http", &format!("127.0.0.1:{http}")])
            .args(["--ws", &format!("127.0.0.1:{ws}")])
            .args(feed);
        let proc = Child::spawn("engine", &mut cmd)?;
        proc.wait_line("ready", Duration::from_secs(60))?;
        Ok(Engine {
            proc,
            http: format!("http://127.0.0.1:{http}"),
            ws: format!("127.0.0.1:{ws}").parse()?,
        })
    }

    /// Ticks the engine's feed has received (`/health` `feed.ticks`).
    fn ticks(&self, agent: &ureq::Agent) -> anyhow::Result<u64> {
        let mut r = agent.get(format!("{}/health?apikey={KEY}", self.http)).call()?;
        let v: Value = r.body_mut().read_json()?;
        v["feed"]["ticks"].as_u64().ok_or_else(|| anyhow!("/health has no feed.ticks: {v}"))
    }

    /// Polls until the engine has `target` ticks; returns when (monotonic ns), `None`
    /// after `limit`.
    fn reach(&self, agent: &ureq::Agent, target: u64, limit: Duration) -> Option<u64> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.ticks(agent).is_ok_and(|t| t >= target) {
                return Some(mono_now_ns());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// Waits until the tick count stops moving (nothing in flight), at most `limit`.
    fn settle(&self, agent: &ureq::Agent, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        let mut last = self.ticks(agent).unwrap_or(0);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.ticks(agent).unwrap_or(last);
            if now == last {
                break;
            }
            last = now;
        }
        last
    }
}

/// Places one CNC buy LIMIT at [`LIMIT`]; whether it was accepted.
fn place(agent: &ureq::Agent, base: &str, symbol: usize) -> bool {
    let body = json!({"apikey": KEY, "strategy": "bench", "symbol": name(symbol),
        "exchange": "NSE", "action": "BUY", "quantity": 1, "pricetype": "LIMIT",
        "product": "CNC", "price": LIMIT.to_f64()});
    match agent.post(format!("{base}/api/v1/placeorder")).send_json(&body) {
        Ok(mut r) => r.body_mut().read_to_string().is_ok_and(|s| s.contains("\"success\"")),
        Err(_) => false,
    }
}

/// The WebSocket client and the re-placer: every fill of a resting order is timed from
/// its symbol's latest crossing, and the order placed again once a walk frame has moved
/// the price back above the limit and `guard` has passed (so it rests, not fills at once).
fn fill_loop(
    engine: &Engine,
    crossings: Arc<Crossings>,
    guard: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<(Histogram<u64>, u64)>> {
    let stream = TcpStream::connect(engine.ws)?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tungstenite::client(format!("ws://{}/", engine.ws), stream)?;
    ws.send(Message::text(json!({"action": "authenticate", "api_key": KEY}).to_string()))?;
    ws.send(Message::text(json!({"action": "subscribe_orders"}).to_string()))?;
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(20)))?;
    let base = engine.http.clone();
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, u64)>();
    let rest_crossings = Arc::clone(&crossings);
    let replacer = std::thread::Builder::new().name("bench-rest".into()).spawn(move || {
        let agent = agent();
        let mut failures = 0u64;
        replace_loop(&rx, &rest_crossings, guard, |s| {
            failures += u64::from(!place(&agent, &base, s));
        });
        failures
    })?;
    Ok(std::thread::Builder::new().name("bench-ws".into()).spawn(move || {
        let mut w2w = new_ns();
        let mut resting = std::collections::HashSet::new();
        while !stop.load(Ordering::Acquire) {
            let text = match read_text(&mut ws) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(()) => break,
            };
            let now = mono_now_ns();
            if !text.contains("\"order_update\"") {
                continue;
            }
            let Some((symbol, rested)) = parse_order_update(&text, &mut resting) else {
                continue;
            };
            // The sender is a thread of this process: its latest crossing is known here.
            let crossed = crossings.last(symbol);
            if rested && crossed > 0 && crossed <= now {
                w2w.saturating_record((now - crossed).max(1));
            }
            let _ = tx.send((symbol, now));
        }
        let _ = ws.close(None);
        drop(tx);
        let failures = replacer.join().unwrap_or(u64::MAX);
        (w2w, failures)
    })?)
}

fn frames(rate: u64, seconds: f64) -> u64 {
    ((rate as f64 * seconds) as u64).max(1)
}

/// Runs one path: resting orders, warm-up, the measured phase with fills, the search.
fn measure(
    label: &'static str,
    cfg: &RelayBenchConfig,
    upstream: &Upstream,
    engine: &Engine,
    procs: &[&Child],
) -> anyhow::Result<PathResult> {
    let agent = agent();
    let stop = Arc::new(AtomicBool::new(false));
    let guard = Duration::from_millis(20);
    let client = fill_loop(engine, Arc::clone(&upstream.crossings), guard, Arc::clone(&stop))?;
    for s in 0..cfg.symbols {
        anyhow::ensure!(place(&agent, &engine.http, s), "{label}: the engine refused order {s}");
    }
    upstream
        .wait_subscribed(cfg.symbols, Duration::from_secs(30))
        .with_context(|| label.to_owned())?;
    let run = |p: Phase| -> anyhow::Result<PhaseResult> {
        let limit = Duration::from_secs_f64(p.frames as f64 / p.rate as f64 + 60.0);
        upstream.run(p, limit, &|| {}).with_context(|| format!("{label}: upstream phase failed"))
    };
    eprintln!("tickfill bench --relay: {label}: warm-up");
    run(Phase { rate: cfg.rate, frames: frames(cfg.rate, 1.0), cross_every: 0 })?;
    let start_ticks = engine.settle(&agent, Duration::from_secs(20));
    anyhow::ensure!(start_ticks > 0, "{label}: the engine received no tick in the warm-up");
    let _ = upstream.crossings.take_history();
    let per_symbol = cfg.rate as f64 / cfg.symbols as f64;
    let cross_every = ((per_symbol * cfg.cross_period.as_secs_f64()).round() as u64).max(2);
    let cpu0: Vec<f64> = procs.iter().map(|p| p.cpu()).collect();
    let t0 = Instant::now();
    eprintln!("tickfill bench --relay: {label}: measured phase");
    let main = run(Phase { rate: cfg.rate, frames: frames(cfg.rate, cfg.seconds), cross_every })?;
    let _ = engine.reach(&agent, start_ticks + main.sent, Duration::from_secs(30));
    let wall_s = t0.elapsed().as_secs_f64();
    let usage = procs
        .iter()
        .zip(&cpu0)
        .map(|(p, c0)| ProcUsage {
            name: p.name,
            cpu_s: (p.cpu() - c0).max(0.0),
            rss_bytes: pid_rss_bytes(p.pid()).unwrap_or(0),
        })
        .collect();
    let received = engine.ticks(&agent)? - start_ticks;
    // The last fills' updates, then the client stops.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Release);
    let (wire_to_wire, failures) =
        client.join().map_err(|_| anyhow!("{label}: the WebSocket client panicked"))?;
    anyhow::ensure!(failures == 0, "{label}: {failures} re-placements failed");

    let mut search = Vec::new();
    // A failed step is tried once more before the search stops: a momentary stall of a
    // shared machine is not the path's limit (both attempts are reported).
    let attempts = cfg.search_rates.iter().flat_map(|&r| [r, r]);
    let mut failed_once = None;
    for rate in attempts {
        if search.last().is_some_and(|s: &Step| s.rate == rate && s.ok) {
            continue;
        }
        if failed_once.is_some_and(|r| r != rate) {
            break;
        }
        eprintln!("tickfill bench --relay: {label}: throughput step {rate} ticks/s");
        let before = engine.settle(&agent, Duration::from_secs(10));
        let n = frames(rate, cfg.search_seconds);
        let cpu0: Vec<f64> = procs.iter().map(|p| p.cpu()).collect();
        let t0 = Instant::now();
        let r = run(Phase { rate, frames: n, cross_every: 0 })?;
        let last_due =
            r.start_ns + (n.saturating_sub(1) as u128 * 1_000_000_000 / rate as u128) as u64;
        let engine_lag_ns = engine
            .reach(&agent, before + n, Duration::from_secs(10))
            .map_or(u64::MAX, |t| t.saturating_sub(last_due));
        let wall_s = t0.elapsed().as_secs_f64();
        let cpu =
            procs.iter().zip(&cpu0).map(|(p, c0)| (p.name, (p.cpu() - c0).max(0.0))).collect();
        let got = engine.settle(&agent, Duration::from_secs(5)) - before;
        let ok = r.sent == n
            && got == n
            && r.end_lag_ns <= max_end_lag(cfg.search_seconds)
            && engine_lag_ns <= CATCH_UP.as_nanos() as u64;
        search.push(Step {
            rate,
            sent: r.sent,
            received: got,
            end_lag_ns: r.end_lag_ns,
            engine_lag_ns,
            ok,
            cpu,
            wall_s,
        });
        if !ok {
            if failed_once == Some(rate) {
                break;
            }
            failed_once = Some(rate);
        } else {
            failed_once = None;
        }
    }
    Ok(PathResult {
        label,
        wire_to_wire,
        main,
        received,
        wall_s,
        usage,
        search,
        store_bytes: None,
        published: None,
    })
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// The direct path: an engine fed by the upstream itself.
fn direct(cfg: &RelayBenchConfig, tmp: &Path, csv: &Path) -> anyhow::Result<PathResult> {
    let names: Vec<String> = (0..cfg.symbols).map(name).collect();
    let upstream =
        Upstream::start(&names, FEED_KEY, None, None).context("starting the loopback upstream")?;
    let url = upstream.url();
    let engine = Engine::start(
        cfg,
        &tmp.join("direct-engine"),
        csv,
        &["--feed", &url, "--feed-api-key", FEED_KEY],
    )?;
    let r = measure("direct", cfg, &upstream, &engine, &[&engine.proc]);
    drop(engine);
    upstream.stop();
    r
}

/// The relay path: upstream -> relay -> JetStream -> engine.
fn relayed(cfg: &RelayBenchConfig, tmp: &Path, csv: &Path) -> anyhow::Result<PathResult> {
    let names: Vec<String> = (0..cfg.symbols).map(name).collect();
    let upstream =
        Upstream::start(&names, FEED_KEY, None, None).context("starting the loopback upstream")?;
    let port = free_port()?;
    let store = tmp.join("jetstream");
    let nats = Child::spawn(
        "nats-server",
        Command::new(&cfg.nats_server)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()])
            .arg("-sd")
            .arg(&store),
    )?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "nats-server did not listen:\n{}", nats.tail());
        std::thread::sleep(Duration::from_millis(50));
    }
    let nats_url = format!("nats://127.0.0.1:{port}");
    let symbols: Vec<String> = names.iter().map(|n| format!("NSE:{n}")).collect();
    let relay = Child::spawn(
        "relay",
        Command::new(&cfg.exe)
            .args(["relay", "--nats", &nats_url, "--feed", &upstream.url()])
            .args(["--feed-api-key", FEED_KEY, "--status-every", "0"])
            .arg("--instruments")
            .arg(csv)
            .arg("--symbols")
            .arg(symbols.join(",")),
    )?;
    relay.wait_line("ready", Duration::from_secs(60))?;
    let engine = Engine::start(
        cfg,
        &tmp.join("relay-engine"),
        csv,
        &["--feed", &nats_url, "--account", "bench"],
    )?;
    let mut r = measure("relay", cfg, &upstream, &engine, &[&nats, &relay, &engine.proc])?;
    r.store_bytes = Some(dir_bytes(&store));
    drop(engine);
    // The relay prints what it published when it stops (SIGTERM).
    let _ = Command::new("kill").args(["-TERM", &relay.pid().to_string()]).status();
    let published = relay.wait_line("stopped after publishing", Duration::from_secs(10)).ok().and(
        relay.tail().lines().rev().find_map(|l| {
            l.split("publishing ").nth(1)?.split_whitespace().next()?.parse::<u64>().ok()
        }),
    );
    r.published = published;
    drop(relay);
    drop(nats);
    upstream.stop();
    Ok(r)
}

/// Runs both paths and writes the report under `out`; returns the report folder.
pub fn run(cfg: &RelayBenchConfig, out: &Path) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(cfg.symbols > 0 && cfg.rate > 0 && cfg.seconds > 0.0, "empty workload");
    let started = Instant::now();
    let load_start = Machine::detect().loadavg;
    let tmp = TempDir::new("relay")?;
    let csv = write_universe(tmp.path(), cfg.symbols)?;
    let direct = direct(cfg, tmp.path(), &csv)?;
    let relay = relayed(cfg, tmp.path(), &csv)?;
    let machine = Machine::detect();
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let mut name = format!("{date}-{}-relay-{}", machine.host, machine.commit);
    if cfg.quick {
        name.push_str("-quick");
    }
    let dir = out.join(&name);
    std::fs::create_dir_all(&dir)?;
    for p in [&direct, &relay] {
        let file = format!("{}_wire_to_wire", p.label);
        std::fs::write(dir.join(format!("{file}.hgrm")), hist::hgrm(&p.wire_to_wire))?;
        std::fs::write(dir.join(format!("{file}.svg")), hist::svg(&file, &p.wire_to_wire))?;
    }
    let text = summary(&name, cfg, &machine, &load_start, started.elapsed(), &direct, &relay);
    std::fs::write(dir.join("summary.md"), text)?;
    index(out, &name, cfg, &direct, &relay)?;
    Ok(dir)
}

fn us(ns: u64) -> String {
    fmt_us(ns as f64 / 1000.0)
}

fn max_rate(p: &PathResult) -> u64 {
    p.search.iter().filter(|s| s.ok).map(|s| s.rate).max().unwrap_or(0)
}

/// The highest rate passed, in words.
fn passed(p: &PathResult, cfg: &RelayBenchConfig) -> String {
    match max_rate(p) {
        0 => format!("none (below {} ticks/s)", cfg.search_rates.first().copied().unwrap_or(0)),
        r => format!("{r} ticks/s"),
    }
}

fn mib(b: u64) -> String {
    format!("{:.1}", b as f64 / (1024.0 * 1024.0))
}

fn summary(
    name: &str,
    cfg: &RelayBenchConfig,
    m: &Machine,
    load_start: &str,
    elapsed: Duration,
    direct: &PathResult,
    relay: &PathResult,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# tickfill bench --relay: {name}\n");
    if cfg.quick {
        let _ = writeln!(s, "**Quick mode** (smoke test): tiny counts, not for sizing.\n");
    }
    machine_rows(&mut s, m);
    let _ = writeln!(s, "| command | `{}` |", cfg.command);
    let _ = writeln!(s, "| nats-server | `{}` |", cfg.nats_server.display());
    let _ = writeln!(s, "| load average at the start (1/5/15 min) | {load_start} |");
    let _ = writeln!(s, "| load average at the end (1/5/15 min) | {} |", m.loadavg);
    let _ = writeln!(s, "| wall time | {:.1} s |\n", elapsed.as_secs_f64());

    let _ = writeln!(s, "## Workload\n");
    let _ = writeln!(
        s,
        "Two paths, one after the other, each with fresh processes and the same workload: \
         **direct** (loopback OpenAlgo upstream -> `tickfill serve --feed ws://`) and \
         **relay** (the same upstream -> `tickfill relay` -> `nats-server -js` (file store, \
         one node) -> `tickfill serve --feed nats://`). Every component is a separate \
         process (engines with their default topology and idle strategy). {} symbols, one \
         resting CNC buy LIMIT each (placed through REST, re-placed after each fill); the \
         upstream sends open loop at {} ticks/s for {} s after a 1 s warm-up, and every \
         symbol's price crosses its order every {:?}. Tick-to-fill is wire-to-wire: from the \
         crossing frame's **intended** send time (sender lag counts, no coordinated \
         omission) to the `order_update` (complete) read by a WebSocket client of the \
         engine. Everything shares the machine's {} CPUs with the load generator and any \
         other work (see the load average).\n",
        cfg.symbols, cfg.rate, cfg.seconds, cfg.cross_period, m.cpus
    );

    let _ =
        writeln!(s, "## A/B: tick-to-fill (intended send -> order_update read), microseconds\n");
    let _ = writeln!(
        s,
        "| path | fills timed | p50 | p90 | p99 | p99.9 | max | ticks sent / received | plot |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---|---|");
    for p in [direct, relay] {
        let q = Percentiles::of(&p.wire_to_wire);
        let _ = writeln!(
            s,
            "| {l} | {} | {} | {} | {} | {} | {} | {} / {} | [hgrm]({l}_wire_to_wire.hgrm) [svg]({l}_wire_to_wire.svg) |",
            q.count,
            us(q.p50),
            us(q.p90),
            us(q.p99),
            us(q.p999),
            us(q.max),
            p.main.sent,
            p.received,
            l = p.label
        );
    }
    let (d, r) = (Percentiles::of(&direct.wire_to_wire), Percentiles::of(&relay.wire_to_wire));
    let _ = writeln!(
        s,
        "\nRelay minus direct: {} us at p50, {} us at p99 (a negative difference means the \
         relay path measured faster in this run: the difference is then within this \
         machine's run-to-run noise, not a gain).\n",
        fmt_us((r.p50 as f64 - d.p50 as f64) / 1000.0),
        fmt_us((r.p99 as f64 - d.p99 as f64) / 1000.0)
    );

    let _ = writeln!(s, "## CPU and memory per process over the measured phase\n");
    let _ = writeln!(
        s,
        "From `/proc/<pid>/stat` (utime + stime) and `/proc/<pid>/status` (`RssAnon`: heap and \
         stacks, not page cache; the JetStream file store's pages are page cache) of each \
         child, over the measured phase ({} ticks/s with fills) until the engine had every \
         tick.\n",
        cfg.rate
    );
    let _ =
        writeln!(s, "| path | process | CPU s | % of one core | CPU us per tick | RssAnon MiB |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    for p in [direct, relay] {
        let ticks = (p.received as f64).max(1.0);
        for u in &p.usage {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {:.0} | {:.1} | {} |",
                p.label,
                u.name,
                u.cpu_s,
                u.cpu_s / p.wall_s.max(1e-9) * 100.0,
                u.cpu_s * 1e6 / ticks,
                mib(u.rss_bytes)
            );
        }
    }
    if let (Some(b), Some(n)) = (relay.store_bytes, relay.published) {
        let _ = writeln!(
            s,
            "\nJetStream store on disk after the relay path: {} MiB for {} ticks published \
             ({:.0} bytes per tick, message overhead included).",
            mib(b),
            n,
            b as f64 / (n as f64).max(1.0)
        );
    }

    let _ = writeln!(s, "\n## Throughput: ticks/s each path sustains\n");
    let _ = writeln!(
        s,
        "Open loop, {} s per step, no fills, ascending until a step fails. A step passes when \
         the engine received every frame (its `/health` `feed.ticks`), the sender ended within \
         {} ms of its schedule, and the engine had the last frame within {} ms of its \
         intended send time. A failed step is run once more (a stall of the shared machine is \
         not the path's limit); the search stops when a rate fails twice. For the relay \
         path this is the whole chain: relay decode and \
         publish, JetStream store, the engine's ordered consumer.\n",
        cfg.search_seconds,
        max_end_lag(cfg.search_seconds) / 1_000_000,
        CATCH_UP.as_millis()
    );
    let _ = writeln!(
        s,
        "| path | rate /s | sent | received | sender end lag us | engine lag us | pass | \
         CPU % of one core (CPU us per tick) per process |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|---|");
    for p in [direct, relay] {
        for st in &p.search {
            let cpu: Vec<String> = st
                .cpu
                .iter()
                .map(|(n, c)| {
                    format!(
                        "{n} {:.0}% ({:.1})",
                        c / st.wall_s.max(1e-9) * 100.0,
                        c * 1e6 / (st.received as f64).max(1.0)
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                p.label,
                st.rate,
                st.sent,
                st.received,
                us(st.end_lag_ns),
                if st.engine_lag_ns == u64::MAX { "never".into() } else { us(st.engine_lag_ns) },
                if st.ok { "yes" } else { "**no**" },
                cpu.join(", ")
            );
        }
    }
    let _ = writeln!(
        s,
        "\nHighest step passed: direct **{}**, relay **{}**{}.",
        passed(direct, cfg),
        passed(relay, cfg),
        if relay.search.last().is_some_and(|x| x.ok && Some(&x.rate) == cfg.search_rates.last()) {
            " (every step passed: the limit is higher)"
        } else {
            ""
        }
    );
    s
}

/// Appends the run's row to `out/README.md`.
fn index(
    out: &Path,
    name: &str,
    cfg: &RelayBenchConfig,
    direct: &PathResult,
    relay: &PathResult,
) -> anyhow::Result<()> {
    let path = out.join("README.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Latency reports\n\n| run | what | command |\n|---|---|---|\n".to_owned()
    });
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let (d, r) = (Percentiles::of(&direct.wire_to_wire), Percentiles::of(&relay.wire_to_wire));
    let _ = writeln!(
        text,
        "| [{name}]({name}/summary.md) | tickfill bench --relay: tick-to-fill (wire) p50 direct {} us / relay {} us, p99 {} / {} us; relay path sustained {} ticks/s | `{}` |",
        us(d.p50),
        us(r.p50),
        us(d.p99),
        us(r.p99),
        max_rate(relay),
        cfg.command
    );
    std::fs::write(path, text)?;
    Ok(())
}

/// The `tickfill` binary the relay mode runs as children: the one built beside this
/// executable (`cargo build --release --workspace` puts both in `target/release`).
fn engine_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let engine = exe.with_file_name("tickfill");
    anyhow::ensure!(
        engine.is_file(),
        "--relay runs the engine binary {} beside this one, which is missing: build both with \
         `cargo build --release --workspace`",
        engine.display()
    );
    Ok(engine)
}

/// The `nats-server` binary: `TICKFILL_NATS_SERVER`, else what `tools/nats-server` (run
/// from the current directory, the repository) prints, installing it if needed.
pub fn find_nats_server() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("TICKFILL_NATS_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let out = Command::new("tools/nats-server").output().context(
        "running tools/nats-server (run the bench from the repository, or set TICKFILL_NATS_SERVER)",
    )?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || path.is_empty() {
        bail!(
            "tools/nats-server could not install nats-server: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(PathBuf::from(path))
}

/// The relay mode of `tickfill bench`: fills in defaults (quick or full), runs, writes the
/// report under `out` (a temp dir for quick runs without `--out`) and prints the summary.
pub fn bench(
    quick: bool,
    out: Option<PathBuf>,
    symbols: Option<usize>,
    rate: Option<u64>,
    seconds: Option<f64>,
    command: String,
) -> anyhow::Result<()> {
    let cfg = RelayBenchConfig {
        symbols: symbols.unwrap_or(if quick { 10 } else { 100 }),
        rate: rate.unwrap_or(if quick { 500 } else { 5_000 }),
        seconds: seconds.unwrap_or(if quick { 2.0 } else { 20.0 }),
        cross_period: Duration::from_millis(if quick { 200 } else { 1_000 }),
        search_rates: if quick { vec![1_000] } else { vec![5_000, 10_000, 20_000, 40_000, 80_000] },
        search_seconds: if quick { 1.0 } else { 2.0 },
        exe: engine_binary()?,
        nats_server: find_nats_server()?,
        quick,
        command,
    };
    if cfg.symbols == 0 || cfg.symbols > 10_000 || cfg.rate == 0 || cfg.seconds <= 0.0 {
        bail!("--relay: --symbols must be 1..=10000, --rate and --seconds positive");
    }
    let out = match out {
        Some(o) => o,
        None if quick => {
            let t = TempDir::new("relay-report")?;
            let p = t.path().to_path_buf();
            std::mem::forget(t);
            p
        }
        None => PathBuf::from("latency-reports"),
    };
    eprintln!(
        "tickfill bench --relay: {} symbols, {} ticks/s for {} s, direct then relay",
        cfg.symbols, cfg.rate, cfg.seconds
    );
    let dir = run(&cfg, &out)?;
    println!("tickfill bench: report {}", dir.display());
    print!("{}", std::fs::read_to_string(dir.join("summary.md")).unwrap_or_default());
    Ok(())
}
