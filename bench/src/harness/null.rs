//! The null engine: the same open-loop upstream and the same echo client as the live run,
//! but the frames are read by a plain tungstenite client and dropped. What it measures
//! (intended send -> frame read, the sender's lag, the echo round trip) is the load
//! generator's and the loopback's own share of every engine figure, under the same
//! background load, so the report can say how much of a latency is the harness. The
//! reader reads as the engine's hot thread does: the same capped receive buffer, 16 KiB reads, polling its non-blocking
//! socket for the busy-poll window after the last frame, then blocking.

#![forbid(unsafe_code)]

use super::hist::new_ns;
use super::live::LiveConfig;
use super::resources::{CpuTimes, name};
use super::upstream::Phase;
use anyhow::{Context, anyhow};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tickfill::clock::mono_now_ns;
use tungstenite::Message;

const FEED_KEY: &str = "bench-null-key-0123456789abcdef";

/// What the null engine measured.
#[derive(Debug)]
pub struct NullResult {
    /// Each measured frame: intended send -> read by the null reader.
    pub read_lag: Histogram<u64>,
    /// The sender's per-frame lag behind schedule.
    pub sender_lag: Histogram<u64>,
    /// Echo round trips (one per millisecond) during the measured phase.
    pub echo_loaded: Histogram<u64>,
    /// Frames sent and read in the measured phase.
    pub sent: u64,
    /// Frames the reader read in the measured phase.
    pub read: u64,
    /// CPU seconds and run-queue wait per thread name over the measured phase.
    pub cpu_threads: Vec<(String, f64, f64)>,
}

impl NullResult {
    /// Folds a later round into this one.
    pub fn merge(&mut self, b: NullResult) -> anyhow::Result<()> {
        self.read_lag.add(&b.read_lag)?;
        self.sender_lag.add(&b.sender_lag)?;
        self.echo_loaded.add(&b.echo_loaded)?;
        self.sent += b.sent;
        self.read += b.read;
        super::live::merge_threads(&mut self.cpu_threads, &b.cpu_threads);
        Ok(())
    }
}

/// Runs the null engine with the live run's rate, symbols and length.
pub fn run(cfg: &LiveConfig, bar: &ProgressBar) -> anyhow::Result<NullResult> {
    let allowed = tickfill::ring::cores::allowed();
    if let Some(l) = &cfg.cores {
        tickfill::ring::cores::confine_current(&l.housekeeping);
    }
    let r = run_confined(cfg, bar);
    tickfill::ring::cores::confine_current(&allowed);
    r
}

fn run_confined(cfg: &LiveConfig, bar: &ProgressBar) -> anyhow::Result<NullResult> {
    let names: Vec<String> = (0..cfg.symbols).map(name).collect();
    let upstream = super::loadgen::start(cfg, FEED_KEY)?;
    let warm = ((cfg.rate as f64) as u64).max(1);
    let measured = ((cfg.rate as f64 * cfg.seconds) as u64).max(1);
    let total = warm + measured;
    let stream = TcpStream::connect(upstream.url().trim_start_matches("ws://"))?;
    stream.set_nodelay(true)?;
    // The engine's receive buffer, as the live run sets it on the engine's socket.
    if let Some(bytes) = cfg.socket_buffer {
        rustix::net::sockopt::set_socket_recv_buffer_size(&stream, bytes as usize)?;
    }
    // The engine's own read settings: 16 KiB reads.
    let ws_config = tungstenite::protocol::WebSocketConfig::default().read_buffer_size(16 << 10);
    let (mut ws, _) =
        tungstenite::client::client_with_config(upstream.url(), stream, Some(ws_config))?;
    ws.send(Message::text(json!({"action": "authenticate", "api_key": FEED_KEY}).to_string()))?;
    let symbols: Vec<Value> =
        names.iter().map(|n| json!({"symbol": n, "exchange": "NSE"})).collect();
    ws.send(Message::text(
        json!({"action": "subscribe", "symbols": symbols, "mode": 2}).to_string(),
    ))?;
    // The engine's hot thread's idle policy: poll the non-blocking socket for the busy-poll
    // window after the last frame, then block (here: a blocking read with a timeout).
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(50)))?;
    let busy_poll = cfg.pipeline.busy_poll;
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, count) = (Arc::clone(&stop), Arc::clone(&count));
        std::thread::Builder::new().name("bench-null".into()).spawn(move || {
            // Read times of every market_data frame, in order (frame k of the run).
            let mut times: Vec<u64> = Vec::with_capacity(total as usize);
            let mut last_input = Instant::now();
            let mut polling = false;
            while !stop.load(Ordering::Acquire) {
                let spin = last_input.elapsed() < busy_poll;
                if spin != polling {
                    polling = spin;
                    if ws.get_ref().set_nonblocking(spin).is_err() {
                        break;
                    }
                }
                match ws.read() {
                    Ok(Message::Text(t)) => {
                        let now = mono_now_ns();
                        last_input = Instant::now();
                        if t.as_str().contains("\"market_data\"") {
                            times.push(now);
                            count.fetch_add(1, Ordering::Release);
                        }
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        std::hint::spin_loop();
                    }
                    Err(_) => break,
                }
            }
            times
        })?
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while upstream.subscribed() < cfg.symbols && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::ensure!(upstream.subscribed() >= cfg.symbols, "the null reader did not subscribe");
    let run_phase = |p: Phase| -> anyhow::Result<super::upstream::PhaseResult> {
        bar.set_length(p.frames);
        bar.set_position(0);
        let limit = Duration::from_secs_f64(p.frames as f64 / p.rate as f64 + 60.0);
        upstream.run(p, limit, &|| {}).context("the null reader's connection closed")
    };
    run_phase(Phase { rate: cfg.rate, frames: warm, cross_every: 0 })?;
    let echo_stop = Arc::new(AtomicBool::new(false));
    let echo = {
        let stop = Arc::clone(&echo_stop);
        let samples = ((cfg.seconds + 5.0) * 1_000.0) as u64;
        std::thread::Builder::new().name("bench-echo-client".into()).spawn(move || {
            super::baselines::echo_rtt_paced(samples, 400, Duration::from_millis(1), &stop)
        })?
    };
    let cpu0 = CpuTimes::now();
    let main = run_phase(Phase { rate: cfg.rate, frames: measured, cross_every: 0 });
    echo_stop.store(true, Ordering::Release);
    let echo_loaded =
        echo.join().map_err(|_| anyhow!("the echo client panicked"))?.context("echo under load")?;
    let main = main?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while count.load(Ordering::Acquire) < warm + main.sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let cpu1 = CpuTimes::now();
    stop.store(true, Ordering::Release);
    let times = reader.join().map_err(|_| anyhow!("the null reader panicked"))?;
    let sender_lag = upstream.lag.lock().map(|h| h.clone()).unwrap_or_else(|_| new_ns());
    upstream.stop();
    let rate = cfg.rate.max(1) as u128;
    let mut read_lag = new_ns();
    let measured_times = times.get(warm as usize..).unwrap_or_default();
    for (k, &t) in measured_times.iter().enumerate() {
        let intended = main.start_ns + (k as u128 * 1_000_000_000 / rate) as u64;
        read_lag.saturating_record(t.saturating_sub(intended).max(1));
    }
    Ok(NullResult {
        read_lag,
        sender_lag,
        echo_loaded,
        sent: main.sent,
        read: measured_times.len() as u64,
        cpu_threads: cpu0.threads_since(&cpu1),
    })
}
