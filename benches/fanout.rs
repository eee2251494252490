//! Workload: market-data fanout from the engine to 100 and to 1,000 connected WebSocket
//! clients, each subscribed (LTP) to the same symbol over loopback. One tick is injected
//! every 5 ms; for each tick the time from injection to its arrival at the LAST client is
//! recorded (HdrHistogram, p50 / p99 / p99.9 / max), plus the share of (client, tick) pairs
//! delivered (conflation may legitimately skip a tick for a slow client).
//!
//! Run: `cargo bench --bench fanout` (plain main, not criterion: it reports percentiles).

use hdrhistogram::Histogram;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tickfill::auth::KeyStore;
use tickfill::clock::mono_now_ns;
use tickfill::engine::{Engine, EngineConfig};
use tickfill::event::Tick;
use tickfill::journal::JournalConfig;
use tickfill::ring::Topology;
use tickfill::types::{Exchange, Price};
use tickfill::ws::{WsConfig, WsServer};
use tungstenite::{Message, WebSocket};

const KEY: &str = "fanout-bench-key-0123456789";
const TICKS: i64 = 200;

fn client(addr: std::net::SocketAddr) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/"), stream).expect("handshake");
    let send = |ws: &mut WebSocket<TcpStream>, v: serde_json::Value| {
        ws.send(Message::text(v.to_string())).expect("send");
    };
    send(&mut ws, serde_json::json!({"action":"authenticate","api_key":KEY}));
    send(
        &mut ws,
        serde_json::json!({"action":"subscribe","symbol":"SBIN","exchange":"NSE","mode":1}),
    );
    ws
}

fn run(clients: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EngineConfig::new(JournalConfig::new(dir.path()));
    config.pipeline.topology = Topology::Fused;
    let mut engine = Engine::start(config).expect("engine");
    let handle = engine.handle();
    let updates = engine.take_updates().expect("updates");
    let keys = KeyStore::from_key(KEY).expect("key");
    let ws_config = WsConfig {
        addr: "127.0.0.1:0".parse().expect("addr"),
        max_subscriptions: 10,
        ..WsConfig::default()
    };
    let server = WsServer::start(ws_config, handle.clone(), updates, keys).expect("ws server");
    let addr = server.local_addr();
    let sbin = handle.instruments.lookup(Exchange::Nse, "SBIN").expect("SBIN");

    // arrivals[tick] = latest arrival (mono ns) over clients, and how many clients got it.
    let arrivals = Arc::new(Mutex::new(vec![(0u64, 0usize); TICKS as usize]));
    let mut threads = Vec::new();
    for _ in 0..clients {
        let mut ws = client(addr);
        let arrivals = Arc::clone(&arrivals);
        ws.get_ref().set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
        threads.push(std::thread::spawn(move || {
            while let Ok(msg) = ws.read() {
                let Message::Text(text) = msg else { continue };
                let now = mono_now_ns();
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if v["type"] != "market_data" {
                    continue;
                }
                // Tick i carries ltp = 1000 + i rupees.
                let i = v["data"]["ltp"].as_f64().unwrap_or(0.0) as i64 - 1000;
                if (0..TICKS).contains(&i) {
                    let mut a = arrivals.lock().expect("lock");
                    let slot = &mut a[i as usize];
                    slot.0 = slot.0.max(now);
                    slot.1 += 1;
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(500 + clients as u64)); // subscriptions settle
    let mut sent = Vec::with_capacity(TICKS as usize);
    let start = Instant::now();
    for i in 0..TICKS {
        let due = start + Duration::from_millis(5 * i as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let tick = Tick {
            symbol: sbin,
            ltp: Price((1000 + i) * Price::SCALE),
            mode: 1,
            ..Tick::default()
        };
        let t = mono_now_ns();
        handle.send_tick(tick, t).expect("engine running");
        sent.push(t);
    }
    for t in threads {
        let _ = t.join();
    }
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
    let a = arrivals.lock().expect("lock");
    let mut delivered = 0usize;
    for (i, &(last, n)) in a.iter().enumerate() {
        delivered += n;
        if n == clients {
            h.saturating_record(last.saturating_sub(sent[i]).max(1));
        }
    }
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "fanout to {clients:>5} clients: ticks reaching every client {:>3}/{TICKS}; (client,tick) delivered {:.1}%; \
         last-client latency p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us",
        h.len(),
        100.0 * delivered as f64 / (clients as f64 * TICKS as f64),
        us(0.5),
        us(0.99),
        us(0.999),
        h.max() as f64 / 1000.0
    );
    server.shutdown();
    drop(handle);
    engine.shutdown();
}

fn main() {
    // `cargo test --benches` / `cargo bench -- --test` run benches as smoke tests: keep it tiny.
    let smoke = std::env::args().any(|a| a == "--test");
    for clients in if smoke { vec![5] } else { vec![100, 1000] } {
        run(clients);
    }
}
