//! How many frames per second one client receives from the simulator. Prints the figure;
//! never asserts on time (the machine is shared).

mod sim_util;

use serde_json::json;
use sim_util::{Client, sim};
use std::time::{Duration, Instant};

#[test]
fn one_client_throughput_is_printed() {
    // Release builds (`cargo test --release --test sim_throughput -- --nocapture`) show
    // what the simulator can do; debug builds mostly measure serde_json without
    // optimisation.
    let rate = 1_000_000;
    let s = sim(rate, 11);
    let mut c = Client::authed(s.ws_addr());
    let symbols: Vec<_> = s
        .instruments()
        .iter()
        .filter(|i| i.prev_close.is_some())
        .take(100)
        .map(|i| json!({"symbol": i.symbol, "exchange": i.exchange.as_str()}))
        .collect();
    let r = c.request(json!({"action": "subscribe", "mode": 2, "symbols": symbols}));
    assert_eq!(r["status"], "success", "{r}");
    let start = Instant::now();
    let frames = c.count_frames(Duration::from_secs(2));
    let secs = start.elapsed().as_secs_f64();
    let status = s.status();
    println!(
        "sim throughput: one client received {:.0} Quote frames/s (configured {rate}/s over 100 symbols; {} generated, {} sent, {} dropped)",
        frames as f64 / secs,
        status.ticks_generated,
        status.ticks_sent,
        status.frames_dropped
    );
    assert!(frames > 0);
    s.stop();
}
