//! The fill models through the real binary: `tickfill serve --fill-model ...` fed by the
//! scripted OpenAlgo upstream of `feed_support` over loopback, driven over REST and
//! watched over its WebSocket; then killed (-9), replayed with `tickfill replay` and
//! restarted, which must rebuild the same fills and the same state digest.

mod api_util;
mod feed_support;
mod util;
mod ws_support;

use api_util::{free_port, post_api, short_agent};
use feed_support::{KEY as UPSTREAM_KEY, Upstream, wait_for};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use ws_support::Client;

const KEY: &str = "fill-models-key-0123456789abcdef";

/// A running `tickfill serve` and what it was started with.
struct Serve {
    child: Child,
    base: String,
    ws: u16,
    log: PathBuf,
}

/// One instrument, tick 0.05.
fn instruments(dir: &Path) -> PathBuf {
    let p = dir.join("instruments.csv");
    std::fs::write(&p, "symbol,exchange,lotsize,tick_size,instrumenttype\nSBIN,NSE,1,0.05,EQ\n")
        .unwrap();
    p
}

/// The fill-model options and the storage they go with (serve and replay take both).
fn exec_args(data: &Path, csv: &Path, model: &[&str]) -> Vec<String> {
    let mut a = vec![
        "--data-dir".to_string(),
        data.display().to_string(),
        "--instruments".to_string(),
        csv.display().to_string(),
        // MIS at any hour: these tests must not depend on the time of day they run at.
        "--square-off".to_string(),
        "NSE=off".to_string(),
    ];
    a.extend(model.iter().map(|s| s.to_string()));
    a
}

fn serve(args: &[String], upstream: &Upstream, log: &Path) -> Serve {
    let (http, ws) = (free_port(), free_port());
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .arg("serve")
        .args(args)
        .args(["--api-key", KEY, "--topology", "fused", "--idle", "backoff"])
        .args(["--http", &format!("127.0.0.1:{http}"), "--ws", &format!("127.0.0.1:{ws}")])
        .args(["--feed", &upstream.url(), "--feed-api-key", UPSTREAM_KEY])
        .args(["--order-rate", "1000", "--other-rate", "1000"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("tickfill serve starts");
    let mut s = Serve { child, base: format!("http://127.0.0.1:{http}"), ws, log: log.to_owned() };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s.log_text().contains("ready") {
        if Instant::now() > deadline || s.child.try_wait().unwrap().is_some() {
            let _ = s.child.kill();
            panic!("serve did not start:\n{}", s.log_text());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

impl Serve {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn api(&self, endpoint: &str, mut body: Value) -> Value {
        body["apikey"] = json!(KEY);
        let v = post_api(&short_agent(), &self.base, endpoint, &body).expect("a JSON reply");
        assert_eq!(v["status"], "success", "{endpoint}: {v}");
        v
    }

    fn place(&self, action: &str, qty: i64, pricetype: &str, price: f64) -> String {
        let v = self.api(
            "placeorder",
            json!({"strategy": "fills", "symbol": "SBIN", "exchange": "NSE", "action": action,
                   "quantity": qty.to_string(), "pricetype": pricetype, "product": "MIS",
                   "price": price.to_string()}),
        );
        v["orderid"].as_str().expect("an order id").to_owned()
    }

    fn order(&self, id: &str) -> Value {
        let v = self.api("orderbook", json!({}));
        v["data"]["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["orderid"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("order {id} in {v}"))
    }

    fn trades_of(&self, id: &str) -> Vec<(i64, f64)> {
        let v = self.api("tradebook", json!({}));
        let mut t: Vec<(i64, f64)> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["orderid"] == id)
            .map(|t| (t["quantity"].as_i64().unwrap(), t["price"].as_f64().unwrap()))
            .collect();
        t.sort_by(|a, b| a.1.total_cmp(&b.1));
        t
    }

    /// The engine's state digest, from `/health` with the key.
    fn digest(&self) -> String {
        let mut r = short_agent()
            .get(format!("{}/health", self.base))
            .header("X-API-KEY", KEY)
            .call()
            .expect("health");
        let v: Value = r.body_mut().read_json().expect("JSON");
        v["engine"]["state_digest"].as_str().expect("a digest").to_owned()
    }

    /// Waits until the engine has taken in a tick with this LTP (the quote board is
    /// written after execution has seen the tick).
    fn wait_ltp(&self, ltp: f64) {
        wait_for("the tick to reach the engine", Duration::from_secs(20), || {
            let v = post_api(
                &short_agent(),
                &self.base,
                "quotes",
                &json!({"apikey": KEY, "symbol": "SBIN", "exchange": "NSE"}),
            );
            v.is_some_and(|v| (v["data"]["ltp"].as_f64().unwrap_or(0.0) - ltp).abs() < 1e-9)
        });
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn ws_client(&self) -> Client {
        let mut c = Client::connect(format!("127.0.0.1:{}", self.ws).parse().unwrap());
        let r = c.ask(json!({"action": "authenticate", "api_key": KEY}));
        assert_eq!(r["status"], "success", "{r}");
        let r = c.ask(json!({"action": "subscribe_orders"}));
        assert_eq!(r["status"], "success", "{r}");
        c
    }
}

/// `tickfill replay` over the data dir: its printed state digest.
fn replay_digest(args: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .arg("replay")
        .args(args)
        .output()
        .expect("replay runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    text.lines()
        .find_map(|l| l.strip_prefix("state digest: "))
        .unwrap_or_else(|| panic!("no digest in {text}"))
        .trim()
        .to_owned()
}

/// A depth frame (mode 3) for NSE:SBIN with day volume and explicit levels.
fn book_frame(ltp: f64, volume: i64, bids: &[(f64, i64)], asks: &[(f64, i64)]) -> String {
    let side = |l: &[(f64, i64)]| -> Vec<Value> {
        l.iter().map(|&(p, q)| json!({"price": p, "quantity": q, "orders": 1})).collect()
    };
    json!({"type": "market_data", "symbol": "SBIN", "exchange": "NSE", "mode": 3,
           "data": {"ltp": ltp, "ltt": volume, "timestamp": 1, "open": 790.0, "high": 900.0,
                    "low": 700.0, "close": 795.0, "volume": volume,
                    "depth": {"buy": side(bids), "sell": side(asks)}}})
    .to_string()
}

/// A quote frame (mode 2) for NSE:SBIN with a touch.
fn quote_frame(ltp: f64, bid: f64, ask: f64) -> String {
    json!({"type": "market_data", "symbol": "SBIN", "exchange": "NSE", "mode": 2,
           "data": {"ltp": ltp, "ltt": 1, "timestamp": 1, "open": 790.0, "high": 900.0,
                    "low": 700.0, "close": 795.0, "bid_price": bid, "ask_price": ask}})
    .to_string()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// The `order_update` frames of one order, read until one has `filled` units filled.
fn updates_until(c: &mut Client, id: &str, filled: i64) -> Vec<(String, i64, i64, f64)> {
    let mut seen = Vec::new();
    loop {
        let u =
            c.recv_until("an order update", |v| v["type"] == "order_update" && v["orderid"] == id);
        let row = (
            u["order_status"].as_str().unwrap().to_owned(),
            u["filled_quantity"].as_i64().unwrap(),
            u["pending_quantity"].as_i64().unwrap(),
            u["average_price"].as_f64().unwrap(),
        );
        let done = row.1 == filled;
        seen.push(row);
        if done {
            return seen;
        }
    }
}

#[test]
fn depth_fills_part_of_an_order_per_level_then_the_rest_from_traded_volume_and_replays_it() {
    let dir = tempfile::tempdir().unwrap();
    let csv = instruments(dir.path());
    let args = exec_args(&dir.path().join("data"), &csv, &["--fill-model", "depth"]);
    let upstream = Upstream::start(0);
    let s = serve(&args, &upstream, &dir.path().join("serve.log"));
    wait_for("the engine to authenticate upstream", Duration::from_secs(20), || {
        upstream.auths() >= 1
    });
    let bids = [(799.95, 100), (799.90, 200)];
    upstream.push(book_frame(800.0, 1_000, &bids, &[(800.05, 100), (800.10, 200), (800.15, 300)]));
    s.wait_ltp(800.0);
    let mut ws = s.ws_client();

    // BUY 500 LIMIT 800.10: takes 100 at 800.05 and 200 at 800.10; 200 rest at 800.10.
    let id = s.place("BUY", 500, "LIMIT", 800.10);
    let o = s.order(&id);
    assert_eq!(o["order_status"], "open", "OpenAlgo has no partial status: {o}");
    assert_eq!(
        (o["filled_quantity"].as_i64(), o["pending_quantity"].as_i64()),
        (Some(300), Some(200))
    );
    // Volume-weighted: (100 x 800.05 + 200 x 800.10) / 300 = 800.0833, shown with two
    // decimals as every price on the API.
    assert!(close(o["average_price"].as_f64().unwrap(), 800.08), "{o}");
    assert_eq!(s.trades_of(&id), [(100, 800.05), (200, 800.10)]);
    let ups = updates_until(&mut ws, &id, 300);
    assert_eq!(
        ups.iter().map(|u| (u.0.as_str(), u.1, u.2)).collect::<Vec<_>>(),
        [("open", 0, 500), ("open", 100, 400), ("open", 300, 200)],
        "one order update per fill"
    );
    let pos = s.api("positionbook", json!({}));
    let p = &pos["data"][0];
    assert_eq!(p["quantity"].as_i64(), Some(300), "{pos}");
    assert!(close(p["average_price"].as_f64().unwrap(), 800.08), "{pos}");
    // Margin: 500 x 800.10 / 5 blocked at placement; the filled 300's share moved to the
    // position, the rest still on the order: 80,010.00 in use either way.
    let f = s.api("funds", json!({}));
    assert!(close(f["data"]["utiliseddebits"].as_f64().unwrap(), 80_010.0), "{f}");

    // 500 traded at 800.10 with nobody visible ahead: the resting 200 fill at 800.10.
    upstream.push(book_frame(800.10, 1_500, &[(800.05, 50)], &[(800.15, 300)]));
    let ups = updates_until(&mut ws, &id, 500);
    assert_eq!(ups.last().map(|u| (u.0.as_str(), u.2)), Some(("complete", 0)));
    assert!(close(ups.last().unwrap().3, 800.09), "(100 x 800.05 + 400 x 800.10) / 500");
    assert_eq!(s.trades_of(&id), [(100, 800.05), (200, 800.10), (200, 800.10)]);
    let book_before = s.order(&id);
    let live = s.digest();
    s.kill();

    assert_eq!(replay_digest(&args), live, "the journal replays to the same state");
    let s = serve(&args, &upstream, &dir.path().join("serve2.log"));
    assert_eq!(s.digest(), live, "a restart rebuilds the same state");
    assert_eq!(s.order(&id), book_before);
    s.kill();

    // The recorded stream through every model (`tickfill compare --from`).
    let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .args(["compare", "--from"])
        .arg(dir.path().join("data"))
        .arg("--instruments")
        .arg(&csv)
        .args(["--every", "1", "--qty", "50"])
        .output()
        .expect("compare runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("recorded ticks from") && text.contains("NSE:SBIN"), "{text}");
    for model in ["openalgo", "touch", "depth"] {
        let row = text.lines().find(|l| l.starts_with(&format!("| {model} |"))).expect("a row");
        let orders: u64 = row.split('|').nth(2).unwrap().trim().parse().unwrap();
        assert!(orders >= 4, "two recorded ticks, two orders after each: {row}");
    }
}

#[test]
fn touch_with_probabilities_on_replays_every_draw() {
    let dir = tempfile::tempdir().unwrap();
    let csv = instruments(dir.path());
    let model = [
        "--fill-model",
        "touch",
        "--fill-touch-probability",
        "0.5",
        "--fill-slippage-probability",
        "0.5",
        "--fill-seed",
        "7",
    ];
    let args = exec_args(&dir.path().join("data"), &csv, &model);
    let upstream = Upstream::start(0);
    let s = serve(&args, &upstream, &dir.path().join("serve.log"));
    wait_for("the engine to authenticate upstream", Duration::from_secs(20), || {
        upstream.auths() >= 1
    });
    upstream.push(quote_frame(800.0, 799.95, 800.05));
    s.wait_ltp(800.0);
    // Eight MARKET buys: each pays the ask (800.05) or, slipped a tick, 800.10.
    let ids: Vec<String> = (0..8).map(|_| s.place("BUY", 1, "MARKET", 0.0)).collect();
    let prices: Vec<f64> = ids.iter().map(|id| s.trades_of(id)[0].1).collect();
    assert!(prices.iter().all(|&p| close(p, 800.05) || close(p, 800.10)), "{prices:?}");
    assert!(
        prices.iter().any(|&p| close(p, 800.05)) && prices.iter().any(|&p| close(p, 800.10)),
        "seed 7 slips some and not others: {prices:?}"
    );
    // Six resting SELL limits at 800.50; one tick touches the price (LTP 800.50, bid
    // below): each fills with probability 0.5.
    let resting: Vec<String> = (0..6).map(|_| s.place("SELL", 1, "LIMIT", 800.50)).collect();
    upstream.push(quote_frame(800.50, 800.45, 800.55));
    s.wait_ltp(800.50);
    let complete =
        |s: &Serve| resting.iter().filter(|id| s.order(id)["order_status"] == "complete").count();
    let touched = complete(&s);
    assert!(0 < touched && touched < resting.len(), "seed 7 fills some on the touch: {touched}");
    // A trade through the limit fills the rest, at the limit.
    upstream.push(quote_frame(800.55, 800.50, 800.60));
    s.wait_ltp(800.55);
    assert_eq!(complete(&s), resting.len());
    assert!(resting.iter().all(|id| s.trades_of(id) == [(1, 800.50)]));
    let live = s.digest();
    s.kill();

    assert_eq!(replay_digest(&args), live, "replay draws the same numbers");
    let s = serve(&args, &upstream, &dir.path().join("serve2.log"));
    assert_eq!(s.digest(), live);
    assert_eq!(complete(&s), resting.len());
    let again: Vec<f64> = ids.iter().map(|id| s.trades_of(id)[0].1).collect();
    assert_eq!(again, prices);
    s.kill();
}

/// Seconds since midnight of an API timestamp (`YYYY-MM-DD HH:MM:SS`, IST).
fn seconds_of(ts: &Value) -> i64 {
    let t = ts.as_str().expect("a timestamp");
    let hms: Vec<i64> = t[11..].split(':').map(|x| x.parse().unwrap()).collect();
    hms[0] * 3600 + hms[1] * 60 + hms[2]
}

#[test]
fn venue_latency_delays_fills_in_event_time_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let csv = instruments(dir.path());
    let model =
        ["--fill-model", "touch", "--venue-latency", "2s", "--venue-latency-jitter", "500ms"];
    let args = exec_args(&dir.path().join("data"), &csv, &model);
    let upstream = Upstream::start(0);
    let s = serve(&args, &upstream, &dir.path().join("serve.log"));
    wait_for("the engine to authenticate upstream", Duration::from_secs(20), || {
        upstream.auths() >= 1
    });
    upstream.push(quote_frame(800.0, 799.95, 800.05));
    s.wait_ltp(800.0);
    let mut ws = s.ws_client();
    let id = s.place("BUY", 3, "MARKET", 0.0);
    // Accepted at once (open, nothing filled), complete only once it reached the venue:
    // the engine's one-second timer events carry event time past the delay.
    let ups = updates_until(&mut ws, &id, 3);
    assert_eq!(ups.first().map(|u| (u.0.as_str(), u.1)), Some(("open", 0)));
    assert_eq!(ups.last().map(|u| u.0.as_str()), Some("complete"));
    let o = s.order(&id);
    let trade = s.api("tradebook", json!({}))["data"][0].clone();
    let waited = seconds_of(&trade["timestamp"]) - seconds_of(&o["timestamp"]);
    assert!(waited >= 1, "a 2 s latency shows in event time: {o} {trade}");
    assert!(close(trade["price"].as_f64().unwrap(), 800.05), "{trade}");
    let live = s.digest();
    s.kill();
    assert_eq!(replay_digest(&args), live, "the delay and its jitter draw replay");
}

#[test]
fn compare_tabulates_every_model_the_same_way_twice() {
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
            .args(["compare", "--ticks", "3000", "--fill-slippage-probability", "0.3"])
            .output()
            .expect("compare runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run();
    assert_eq!(run(), text, "the same stream, strategy and seed give the same table");
    // | model | orders | fills | filled qty | avg slippage | realized | unrealized | P&L |
    let row = |model: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("| {model} |")))
            .unwrap_or_else(|| panic!("no {model} row in {text}"));
        line.split('|').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()
    };
    let (openalgo, depth) = (row("openalgo"), row("depth"));
    row("touch");
    assert_eq!(openalgo[1], depth[1], "the same orders go to every model");
    let slip = |r: &[String]| r[4].parse::<f64>().unwrap();
    assert!(slip(&depth) > slip(&openalgo), "walking the book costs more than the touch: {text}");
    let fills = |r: &[String]| r[2].parse::<u64>().unwrap();
    assert!(fills(&depth) > fills(&openalgo), "depth fills in parts: {text}");

    // --plot writes the cumulative P&L of every model next to the same table; each
    // curve's legend carries the P&L it ends at, which is the table's.
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("pnl.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .args(["compare", "--ticks", "3000", "--fill-slippage-probability", "0.3", "--plot"])
        .arg(&svg)
        .output()
        .expect("compare runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let with_plot = String::from_utf8(out.stdout).unwrap();
    assert!(with_plot.starts_with(&text), "the same table: {with_plot}");
    let plot = std::fs::read_to_string(&svg).expect("the plot is written");
    assert!(plot.starts_with("<svg") && plot.trim_end().ends_with("</svg>"), "{plot}");
    assert_eq!(plot.matches("<polyline").count(), 3, "one curve per model: {plot}");
    for r in [&openalgo, &depth, &row("touch")] {
        let legend = format!(">{} (end: {})</text>", r[0], r[7]);
        assert!(plot.contains(&legend), "{legend} in {plot}");
    }
}

#[test]
fn bad_fill_options_are_clear_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
            .args(["replay", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .expect("replay runs");
        assert!(!out.status.success(), "{args:?} must be refused");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(run(&["--fill-model", "queue"]).contains("--fill-model"));
    assert!(run(&["--fill-depth-levels", "9"]).contains("--fill-depth-levels"));
    assert!(run(&["--fill-slippage-probability", "2"]).contains("probability"));
    assert!(run(&["--venue-latency", "soon"]).contains("venue latency"));
    assert!(run(&["--fill-model-for", "x"]).contains("--fill-model-for"));
    let five = "a=touch,b=touch,c=depth,d=depth,e=openalgo";
    assert!(run(&["--fill-model-for", five]).contains("at most 4"));
}

/// `tickfill replay` over the data dir: its printed state digest and its stderr.
fn replay_with_stderr(args: &[String]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .arg("replay")
        .args(args)
        .output()
        .expect("replay runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{text}{err}");
    let digest = text
        .lines()
        .find_map(|l| l.strip_prefix("state digest: "))
        .unwrap_or_else(|| panic!("no digest in {text}"))
        .trim()
        .to_owned();
    (digest, err)
}

#[test]
fn fill_settings_are_journaled_so_a_restart_with_other_flags_keeps_the_fills_made() {
    let dir = tempfile::tempdir().unwrap();
    let csv = instruments(dir.path());
    let data = dir.path().join("data");
    let depth = exec_args(&data, &csv, &["--fill-model", "depth", "--fill-seed", "7"]);
    let plain = exec_args(&data, &csv, &[]);
    let upstream = Upstream::start(0);
    let s = serve(&depth, &upstream, &dir.path().join("serve.log"));
    wait_for("the engine to authenticate upstream", Duration::from_secs(20), || {
        upstream.auths() >= 1
    });
    let asks = [(800.05, 100), (800.10, 200), (800.15, 300)];
    upstream.push(book_frame(800.0, 1_000, &[(799.95, 100)], &asks));
    s.wait_ltp(800.0);
    // Under depth: 300 of 500 fill on two levels, 200 rest at 800.10.
    let id = s.place("BUY", 500, "LIMIT", 800.10);
    assert_eq!(s.trades_of(&id), [(100, 800.05), (200, 800.10)]);
    let book_before = s.order(&id);
    assert_eq!(book_before["pending_quantity"].as_i64(), Some(200), "{book_before}");
    let live = s.digest();
    s.kill();

    // No fill flags (openalgo would have filled all 500 at once): the journal's depth wins.
    let (digest, err) = replay_with_stderr(&plain);
    assert_eq!(digest, live, "the journal replays to the live fills whatever the flags");
    assert!(err.contains("the journal's fill settings win"), "{err}");
    let (digest, err) = replay_with_stderr(&depth);
    assert_eq!(digest, live);
    assert!(!err.contains("win"), "the flags agree with the journal: {err}");

    // Restarted with the default flags: the fills made stay, the new model from now on.
    let s = serve(&plain, &upstream, &dir.path().join("serve2.log"));
    let log = s.log_text();
    assert!(
        log.contains("fill settings changed") && log.contains("--fill-model openalgo"),
        "{log}"
    );
    assert_eq!(s.order(&id), book_before, "recovery rebuilt the depth fills");
    assert_eq!(s.trades_of(&id), [(100, 800.05), (200, 800.10)]);
    wait_for("the engine to authenticate upstream again", Duration::from_secs(20), || {
        upstream.auths() >= 2
    });
    // LTP at the limit, the day volume unchanged (nothing traded) and the best ask above
    // the limit: depth would keep the 200 waiting in the queue (depth.rs fills a resting
    // limit only from traded volume or a trade through); openalgo fills them at once.
    let at_limit = book_frame(800.10, 1_000, &[(800.05, 50)], &[(800.15, 300)]);
    wait_for("the rest to fill under openalgo", Duration::from_secs(20), || {
        upstream.push(at_limit.clone());
        s.order(&id)["order_status"] == "complete"
    });
    assert_eq!(s.trades_of(&id), [(100, 800.05), (200, 800.10), (200, 800.10)]);
    // The loop may have pushed more copies than it needed; a last frame with its own LTP
    // is the witness that every one before it is applied (and journaled) before the
    // digest is taken, so the replay below reads the same events the digest covers.
    upstream.push(book_frame(800.20, 1_000, &[(800.15, 50)], &[(800.25, 300)]));
    s.wait_ltp(800.20);
    let after = s.digest();
    s.kill();

    // The journal now holds both settings, each from its own point on.
    let (digest, err) = replay_with_stderr(&plain);
    assert_eq!(digest, after, "replay reproduces both halves with no fill flags");
    assert!(!err.contains("win"), "openalgo is in effect at the end: {err}");
    let (digest, err) = replay_with_stderr(&depth);
    assert_eq!(digest, after, "and with the first run's flags");
    assert!(err.contains("the journal's fill settings win"), "{err}");
    let s = serve(&depth, &upstream, &dir.path().join("serve3.log"));
    assert!(s.log_text().contains("fill settings changed"));
    assert_eq!(s.trades_of(&id), [(100, 800.05), (200, 800.10), (200, 800.10)]);
    s.kill();
}

/// `tickfill serve --fill-model depth` on its own simulated broker, no upstream broker:
/// `/sim/control {"action":"liquidity"}` thins SBIN's book to a twentieth, and a MARKET
/// BUY larger than the five visible ask levels fills in parts, one trade per level at
/// consecutive ask prices, the rest open until later books fill it.
#[test]
fn depth_against_a_thinned_simulator_book_fills_a_market_order_across_levels() {
    let dir = tempfile::tempdir().unwrap();
    let served = api_util::spawn_serve(dir.path(), KEY, 20, |c| {
        c.args(["--fill-model", "depth", "--square-off", "NSE=off"]);
    });
    let control = |body: Value| {
        let url = format!("http://127.0.0.1:{}/sim/control", served.ports.sim_rest);
        let mut r = short_agent().post(url).send_json(body).expect("sim control");
        (r.status().as_u16(), r.body_mut().read_json::<Value>().expect("json"))
    };
    // Bad factors are refused by field.
    let (status, v) = control(json!({"apikey": KEY, "action": "liquidity", "factor": 0}));
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().starts_with("factor: "), "{v}");
    let (status, v) = control(json!({"apikey": KEY, "action": "liquidity",
                                     "exchange": "NSE", "symbol": "SBIN", "factor": 0.05}));
    assert_eq!(status, 200, "{v}");

    // A depth subscription makes the engine subscribe SBIN upstream in depth mode; wait
    // for a book the thinning produced (every level a few dozen shares at most: the normal
    // book has hundreds at the touch alone).
    let mut ws = Client::connect(format!("127.0.0.1:{}", served.ports.ws).parse().unwrap());
    let r = ws.ask(json!({"action": "authenticate", "api_key": KEY}));
    assert_eq!(r["status"], "success", "{r}");
    let r = ws.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 3}));
    assert_eq!(r["status"], "success", "{r}");
    let asks = |v: &Value| -> Vec<i64> {
        v["data"]["depth"]["sell"]
            .as_array()
            .map(|l| l.iter().filter_map(|x| x["quantity"].as_i64()).collect())
            .unwrap_or_default()
    };
    let thin_limit = 800; // 0.05 x 625 lots x (1+2+3+4+5) x 1.5, rounded up
    let frame = ws.recv_until("a thinned SBIN book", |v| {
        let a = asks(v);
        v["type"] == "market_data" && a.len() == 5 && a.iter().sum::<i64>() < thin_limit
    });
    let sizes = asks(&frame);
    assert!(sizes.iter().all(|&q| q >= 1), "a lot a level at least: {frame}");
    // Freeze the book: no more ticks, so the order meets one book and keeps a remainder.
    let (status, v) = control(json!({"apikey": KEY, "action": "pause"}));
    assert_eq!(status, 200, "{v}");

    let qty = 2_000;
    let placed = post_api(
        &short_agent(),
        &served.base,
        "placeorder",
        &json!({"apikey": KEY, "strategy": "thin", "symbol": "SBIN", "exchange": "NSE",
                "action": "BUY", "quantity": qty.to_string(), "pricetype": "MARKET",
                "product": "MIS"}),
    )
    .expect("a reply");
    assert_eq!(placed["status"], "success", "{placed}");
    let id = placed["orderid"].as_str().unwrap().to_owned();
    let book = post_api(&short_agent(), &served.base, "orderbook", &json!({"apikey": KEY}))
        .expect("orderbook");
    let o = book["data"]["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["orderid"] == id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("order {id} in {book}"));
    let filled = o["filled_quantity"].as_i64().unwrap();
    assert_eq!(o["order_status"], "open", "the thin book cannot fill 2,000: {o}");
    assert!(filled > 0 && filled < thin_limit, "{o}");
    assert_eq!(o["pending_quantity"].as_i64(), Some(qty - filled), "{o}");
    let tb = post_api(&short_agent(), &served.base, "tradebook", &json!({"apikey": KEY}))
        .expect("tradebook");
    let mut trades: Vec<(i64, f64)> = tb["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["orderid"] == id.as_str())
        .map(|t| (t["quantity"].as_i64().unwrap(), t["price"].as_f64().unwrap()))
        .collect();
    trades.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(trades.len(), 5, "one trade per visible level: {trades:?}");
    assert_eq!(trades.iter().map(|t| t.0).sum::<i64>(), filled, "{trades:?}");
    for pair in trades.windows(2) {
        assert!(close(pair[1].1 - pair[0].1, 0.05), "consecutive ask levels: {trades:?}");
    }

    // Resumed, later (thin) books fill the rest.
    let (status, v) = control(json!({"apikey": KEY, "action": "resume"}));
    assert_eq!(status, 200, "{v}");
    wait_for("the MARKET remainder to fill", Duration::from_secs(30), || {
        let b = post_api(&short_agent(), &served.base, "orderbook", &json!({"apikey": KEY}));
        b.is_some_and(|b| {
            b["data"]["orders"].as_array().is_some_and(|os| {
                os.iter().any(|o| o["orderid"] == id.as_str() && o["order_status"] == "complete")
            })
        })
    });
}
