//! The SDK journey (`tests/sdk/journey.py`) against `tickfill serve --feed ws://...
//! --upstream-rest ...` pointed at the scripted OpenAlgo upstream of `feed_support`: the
//! instrument master is downloaded from it, market data (history, intervals, margin,
//! telegram) is forwarded to it, quotes are streamed and polled from it.
//!
//! Runs the real binary and OpenAlgo's Python SDK from the venv `tools/serve-test`
//! creates (`target/sdk-venv`); without that venv the test says so and passes nothing
//! else (set `TICKFILL_REQUIRE_SDK=1` to make a missing venv a failure).

mod feed_support;
mod util;

use feed_support::{KEY as UPSTREAM_KEY, Rest, Upstream};
use serde_json::{Value, json};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tickfill::instruments::format_expiry;
use tickfill::refdata::{today_ist, universe::default_universe_on};

const CLIENT_KEY: &str = "journey-client-key-0123456789abcdef";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn sdk_journey_against_the_scripted_upstream() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("TICKFILL_REQUIRE_SDK").is_none(),
            "no SDK venv at {}",
            python.display()
        );
        eprintln!(
            "skipped: no OpenAlgo SDK venv at {} (tools/serve-test creates it)",
            python.display()
        );
        return;
    }
    // The upstream's master and prices: tickfill's own generated universe, in OpenAlgo's
    // master columns (no prev_close: that comes from the quotes).
    let master = default_universe_on(today_ist()).unwrap();
    let rest = Rest::start();
    let upstream = Upstream::start(0);
    let mut rows = Vec::with_capacity(master.len());
    for i in master.iter() {
        rows.push(json!({
            "symbol": i.symbol, "brsymbol": i.symbol, "name": i.name, "exchange": i.exchange.as_str(),
            "brexchange": i.exchange.as_str(), "token": i.token,
            "expiry": i.expiry.map(format_expiry).unwrap_or_default(),
            "strike": i.strike.map_or(-1.0, |p| p.to_f64()), "lotsize": i.lot_size,
            "instrumenttype": i.instrument_type, "tick_size": i.tick_size.to_f64(),
        }));
        if let Some(p) = i.prev_close {
            let key = format!("{}:{}", i.exchange.as_str(), i.symbol);
            rest.set(&key, p.to_f64());
            upstream.set_price(&key, p.to_f64());
        }
    }
    *rest.quotes.master.lock().unwrap() = Some(rows);
    upstream.stream_every(Duration::from_millis(200));

    let data = tempfile::tempdir().unwrap();
    let (http, ws) = (free_port(), free_port());
    let log_path = data.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .args(["serve", "--api-key", CLIENT_KEY, "--topology", "fused", "--idle", "backoff"])
        .arg("--data-dir")
        .arg(data.path().join("dir"))
        .args(["--http", &format!("127.0.0.1:{http}"), "--ws", &format!("127.0.0.1:{ws}")])
        .args([
            "--feed",
            &upstream.url(),
            "--feed-api-key",
            UPSTREAM_KEY,
            "--upstream-rest",
            &rest.url,
        ])
        .args(["--stale-after", "2s", "--health-interval", "500ms", "--poll-interval", "500ms"])
        .args(["--order-rate", "100", "--other-rate", "500"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("tickfill serve starts");
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !read_log().contains("ready") {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("serve did not start:\n{}", read_log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(read_log().contains("downloaded from the upstream"), "{}", read_log());

    let mut sdk = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/journey.py"))
        .args([
            format!("http://127.0.0.1:{http}"),
            format!("ws://127.0.0.1:{ws}"),
            CLIENT_KEY.to_string(),
        ])
        .env("TICKFILL_JOURNEY_UPSTREAM", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut out = String::new();
    sdk.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = sdk.wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let failures: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(status.success() && failures.is_empty(), "{failures:#?}\n{out}\n{}", read_log());
    assert!(out.contains(" passed, 0 failed"), "{out}");
    // The forwarded endpoints reached the upstream.
    let asked: Value = json!(rest.requests());
    assert!(asked.as_u64().unwrap() > 10, "{asked}");
    eprintln!("{}", out.lines().last().unwrap_or(""));
}
