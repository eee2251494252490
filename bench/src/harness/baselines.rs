//! The baselines measured in the same run: the loopback WebSocket floor (a plain
//! tungstenite echo), the same four stages joined by crossbeam channels (the design a
//! Rust user would write) against the ring, and a polling engine that checks orders every
//! interval (the design the seed replaced).

#![forbid(unsafe_code)]

use super::hist::new_ns;
use super::resources::{exec_config, universe};
use hdrhistogram::Histogram;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tickfill::clock::mono_now_ns;
use tickfill::engine::standalone::{self, Stages};
use tickfill::event::{
    Command, CommandKind, Event, Header, Input, OrderRequest, StageOutput, Tick,
};
use tickfill::exec::Exec;
use tickfill::health::Health;
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Pipeline, Topology};
use tickfill::types::{Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag};
use tungstenite::Message;

/// Round trips of a `payload`-byte text message through a tungstenite echo server on
/// loopback (both ends in this process, TCP_NODELAY), one at a time.
pub fn echo_rtt(samples: u64, payload: usize) -> anyhow::Result<Histogram<u64>> {
    echo(samples, payload, Duration::ZERO, None)
}

/// Echo round trips one every `interval` until `stop` (at most `samples`): the floor
/// measured *under the same load* as the engine, when run beside the live phase.
pub fn echo_rtt_paced(
    samples: u64,
    payload: usize,
    interval: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<Histogram<u64>> {
    echo(samples, payload, interval, Some(stop))
}

fn echo(
    samples: u64,
    payload: usize,
    interval: Duration,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> anyhow::Result<Histogram<u64>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = std::thread::Builder::new().name("bench-echo".into()).spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let _ = stream.set_nodelay(true);
        let Ok(mut ws) = tungstenite::accept(stream) else { return };
        while let Ok(m) = ws.read() {
            if m.is_close() || ws.send(m).is_err() {
                break;
            }
        }
    })?;
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/"), stream)?;
    let text: String = "x".repeat(payload);
    let mut h = new_ns();
    for i in 0..samples + samples / 10 {
        if stop.is_some_and(|s| s.load(Ordering::Acquire)) {
            break;
        }
        if !interval.is_zero() {
            std::thread::sleep(interval);
        }
        let t = mono_now_ns();
        ws.send(Message::text(text.clone()))?;
        loop {
            if ws.read()?.is_text() {
                break;
            }
        }
        // The first tenth warms the path up and is not recorded.
        if i >= samples / 10 {
            h.saturating_record((mono_now_ns() - t).max(1));
        }
    }
    let _ = ws.close(None);
    let _ = ws.flush();
    drop(ws);
    let _ = server.join();
    Ok(h)
}

/// The delay a polling engine adds: for each crossing (monotonic ns), the time to the
/// next poll of a poller that checks every `interval` from `first_poll`.
pub fn polling_delay(crossings: &[u64], first_poll: u64, interval: Duration) -> Histogram<u64> {
    let every = interval.as_nanos() as u64;
    let mut h = new_ns();
    for &c in crossings {
        let since = c.saturating_sub(first_poll);
        h.saturating_record((every - since % every).max(1));
    }
    h
}

/// Events per second through the four stages, ring (`topology`) against crossbeam.
#[derive(Debug, Clone, Copy)]
pub struct StagesThroughput {
    /// The ring, events/s.
    pub ring: f64,
    /// Four threads joined by bounded crossbeam channels, events/s.
    pub crossbeam: f64,
}

const SYMBOLS: usize = 1_000;
const ORDERS: usize = 10_000;

fn event(seq: u64, input: Input) -> Event {
    let t0 = tickfill::clock::ist_to_epoch_ns(2026, 11, 26, 10, 0);
    Event {
        header: Header { seq: Seq(seq), time_ns: t0 + seq as i64, recv_ns: 0, stream_seq: 0 },
        input,
    }
}

fn tick(i: u64) -> Input {
    // Inside every book's spread: 999.96 ..= 1000.04, so nothing fills.
    let ltp = 1000_0000 + (i % 9) as i64 * 100 - 400;
    Input::Tick(Tick {
        symbol: SymbolId((i % SYMBOLS as u64) as u32),
        ltp: Price(ltp),
        bid: Price(ltp - 500),
        ask: Price(ltp + 500),
        ..Tick::default()
    })
}

/// The four stages over 1,000 symbols with 10,000 resting orders, as benches/pipeline.rs
/// builds them; returns them, the health, and the next sequence.
fn stages(dir: &Path) -> anyhow::Result<(Stages, Arc<Health>, u64)> {
    let master = universe(SYMBOLS);
    let mut exec = Exec::new(exec_config(), Arc::clone(&master));
    let mut out = StageOutput::new();
    let mut seq = 1;
    for s in 0..SYMBOLS as u64 {
        out.clear();
        exec.apply(&event(seq, tick(s * 9 + 4)), &mut out);
        seq += 1;
    }
    for i in 0..ORDERS {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let away = 500 * (1 + (i / SYMBOLS) as i64 % 50);
        let price = if side == Side::Buy { 1000_0000 - away } else { 1000_0000 + away };
        let kind = CommandKind::Place(OrderRequest {
            symbol: SymbolId((i % SYMBOLS) as u32),
            side,
            qty: Qty(1),
            price_type: PriceType::Limit,
            product: Product::Mis,
            price: Price(price),
            trigger: Price::ZERO,
            disclosed: Qty::ZERO,
            strategy: Tag::EMPTY,
        });
        out.clear();
        exec.apply(
            &event(seq, Input::Command(Command { ticket: Default::default(), kind })),
            &mut out,
        );
        seq += 1;
    }
    let (stages, health) = standalone::stages(exec, master.len(), dir)?;
    Ok((stages, health, seq))
}

fn wait_durable(health: &Health, last: u64) {
    while health.durable_seq.load(Ordering::Acquire) < last {
        std::thread::yield_now();
    }
}

/// Pushes `events` ticks through the ring (`topology`, `idle`) and through crossbeam
/// channels, each from a fresh temp journal under `dir`.
pub fn stages_throughput(
    events: u64,
    topology: Topology,
    idle: IdleStrategy,
    dir: &Path,
) -> anyhow::Result<StagesThroughput> {
    let ring = {
        let d = dir.join("ring");
        std::fs::create_dir_all(&d)?;
        let (s, health, first) = stages(&d)?;
        let config =
            PipelineConfig { ring_size: 1 << 14, topology, idle, ..PipelineConfig::default() };
        let (mut publisher, running) =
            Pipeline::start(&config, Seq(first), s, Arc::clone(&health))?;
        let t0 = tickfill::clock::ist_to_epoch_ns(2026, 11, 26, 10, 0);
        let started = Instant::now();
        for i in 0..events {
            publisher.publish(tick(i), t0 + i as i64, 0);
        }
        // Inline: this thread runs the stages (a no-op with stage threads).
        publisher.drain();
        wait_durable(&health, publisher.next_seq().0 - 1);
        let rate = events as f64 / started.elapsed().as_secs_f64();
        drop(publisher);
        let _ = running.join();
        rate
    };
    let crossbeam = {
        let d = dir.join("crossbeam");
        std::fs::create_dir_all(&d)?;
        let (stages4, health, first) = stages(&d)?;
        let baseline = tickfill::ring::channels::ChannelStages::start(stages4, 1 << 14);
        let started = Instant::now();
        let mut seq = first;
        for i in 0..events {
            baseline.input.send((event(seq, tick(i)), StageOutput::new()))?;
            seq += 1;
        }
        wait_durable(&health, seq - 1);
        let rate = events as f64 / started.elapsed().as_secs_f64();
        baseline.join();
        rate
    };
    Ok(StagesThroughput { ring, crossbeam })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_delay_is_the_time_to_the_next_poll() {
        let h = polling_delay(&[1_000, 2_500, 9_999], 0, Duration::from_nanos(1_000));
        assert_eq!(h.len(), 3);
        assert_eq!(h.max(), 1_000);
        assert_eq!(h.min(), 1);
    }
}
