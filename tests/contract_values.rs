//! Decimal contract values through the real binary: `tickfill serve` on the default
//! universe (Delta Exchange's BTCUSDFUT is 0.001 BTC a contract), fed by the scripted
//! OpenAlgo upstream of `feed_support` over loopback. Buys 10 contracts, moves the price
//! 100 USD (1 USD of P&L, not 1000), checks positionbook and funds, closes, refuses a
//! fractional quantity, then kills it (-9) and replays the journal to the same digest
//! (contract values come from the master, not the journal).

mod api_util;
mod feed_support;
mod util;

use api_util::{free_port, post_api, short_agent};
use feed_support::{KEY as UPSTREAM_KEY, Upstream, wait_for};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const KEY: &str = "contract-values-key-0123456789abcd";

struct Serve {
    child: Child,
    base: String,
    log: PathBuf,
}

fn serve(data: &Path, upstream: &Upstream, log: &Path) -> Serve {
    let (http, ws) = (free_port(), free_port());
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args(["--api-key", KEY, "--topology", "fused", "--idle", "backoff"])
        .args(["--http", &format!("127.0.0.1:{http}"), "--ws", &format!("127.0.0.1:{ws}")])
        .args(["--feed", &upstream.url(), "--feed-api-key", UPSTREAM_KEY])
        .args(["--order-rate", "1000", "--other-rate", "1000"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("tickfill serve starts");
    let mut s = Serve { child, base: format!("http://127.0.0.1:{http}"), log: log.to_owned() };
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

    fn call(&self, endpoint: &str, mut body: Value) -> Value {
        body["apikey"] = json!(KEY);
        post_api(&short_agent(), &self.base, endpoint, &body).expect("a JSON reply")
    }

    fn api(&self, endpoint: &str, body: Value) -> Value {
        let v = self.call(endpoint, body);
        assert_eq!(v["status"], "success", "{endpoint}: {v}");
        v
    }

    fn order(&self, action: &str, qty: &str) -> Value {
        self.call(
            "placeorder",
            json!({"strategy": "cv", "symbol": "BTCUSDFUT", "exchange": "CRYPTO",
                   "action": action, "quantity": qty, "pricetype": "MARKET", "product": "NRML"}),
        )
    }

    /// Waits until the engine has taken in a BTCUSDFUT tick with this LTP.
    fn wait_ltp(&self, ltp: f64) {
        wait_for("the tick to reach the engine", Duration::from_secs(20), || {
            let v = self.call("quotes", json!({"symbol": "BTCUSDFUT", "exchange": "CRYPTO"}));
            (v["data"]["ltp"].as_f64().unwrap_or(0.0) - ltp).abs() < 1e-9
        });
    }

    /// Waits until the positionbook's BTCUSDFUT row shows this LTP (MTM has marked it).
    fn position_at(&self, ltp: f64) -> Value {
        let mut row = Value::Null;
        wait_for("MTM to mark the position", Duration::from_secs(20), || {
            let v = self.api("positionbook", json!({}));
            row = v["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["symbol"] == "BTCUSDFUT")
                .cloned()
                .unwrap_or(Value::Null);
            (row["ltp"].as_f64().unwrap_or(0.0) - ltp).abs() < 1e-9
        });
        row
    }

    fn digest(&self) -> String {
        let mut r = short_agent()
            .get(format!("{}/health", self.base))
            .header("X-API-KEY", KEY)
            .call()
            .expect("health");
        let v: Value = r.body_mut().read_json().expect("JSON");
        v["engine"]["state_digest"].as_str().expect("a digest").to_owned()
    }
}

/// A BTCUSDFUT quote frame whose touch is the LTP (so a MARKET order fills at `ltp`
/// whichever price the fill model takes).
fn btc_frame(ltp: f64) -> String {
    json!({"type": "market_data", "symbol": "BTCUSDFUT", "exchange": "CRYPTO", "mode": 2,
           "data": {"ltp": ltp, "ltt": 1, "timestamp": 1, "open": ltp, "high": ltp + 500.0,
                    "low": ltp - 500.0, "close": ltp, "bid_price": ltp, "ask_price": ltp}})
    .to_string()
}

fn num(v: &Value, field: &str) -> f64 {
    v[field].as_f64().unwrap_or_else(|| panic!("{field} is a number in {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn btcusdfut_pnl_and_margin_scale_by_its_decimal_contract_value_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let upstream = Upstream::start(0);
    let mut s = serve(&data, &upstream, &dir.path().join("serve.log"));
    wait_for("the engine to authenticate upstream", Duration::from_secs(20), || {
        upstream.auths() >= 1
    });

    // The master serves the contract value as OpenAlgo shapes it.
    let sym = s.api("symbol", json!({"symbol": "BTCUSDFUT", "exchange": "CRYPTO"}));
    assert_eq!(sym["data"]["contract_value"].as_f64(), Some(0.001), "{sym}");
    assert_eq!(sym["data"]["lotsize"].as_i64(), Some(1), "{sym}");
    let found = s.api("search", json!({"query": "ETHUSDFUT", "exchange": "CRYPTO"}));
    assert_eq!(found["data"][0]["contract_value"].as_f64(), Some(0.01), "{found}");

    upstream.push(btc_frame(95_000.0));
    s.wait_ltp(95_000.0);
    let start = num(&s.api("funds", json!({}))["data"], "availablecash");

    // Whole contracts only: 0.5 is refused naming the field, and nothing is placed.
    let half = s.order("BUY", "0.5");
    assert_eq!(half["status"], "error", "{half}");
    assert!(half["message"].as_str().unwrap().contains("quantity"), "{half}");

    // BUY 10 at 95,000: margin 10 x 95,000 x 0.001 / 10 (futures leverage) = 95.
    let buy = s.order("BUY", "10");
    assert_eq!(buy["status"], "success", "{buy}");
    let p = s.position_at(95_000.0);
    assert_eq!(p["quantity"].as_i64(), Some(10), "{p}");
    assert!(close(num(&p, "average_price"), 95_000.0), "{p}");
    assert!(close(num(&p, "lot_size"), 0.001), "lot_size is the contract value: {p}");
    let f = s.api("funds", json!({}))["data"].clone();
    assert!(close(num(&f, "utiliseddebits"), 95.0), "{f}");
    assert!(close(num(&f, "availablecash"), start - 95.0), "{f}");

    // The price moves 100 USD: 10 x 0.001 x 100 = 1 USD of P&L (1000 with a whole coin).
    upstream.push(btc_frame(95_100.0));
    let p = s.position_at(95_100.0);
    assert!(close(num(&p, "pnl"), 1.0), "{p}");
    assert!(close(num(&p, "unrealized_pnl"), 1.0), "{p}");
    // pnl / |avg x qty x cv| = 1 / 950 = 0.105 %.
    assert!(close(num(&p, "pnlpercent"), 0.11), "{p}");
    let f = s.api("funds", json!({}))["data"].clone();
    assert!(close(num(&f, "m2munrealized"), 1.0), "{f}");

    // Close at 95,100: 1 USD realized, the margin back, cash up by exactly 1.
    let sell = s.order("SELL", "10");
    assert_eq!(sell["status"], "success", "{sell}");
    let mut f = Value::Null;
    wait_for("the close to reach funds", Duration::from_secs(20), || {
        f = s.api("funds", json!({}))["data"].clone();
        close(num(&f, "utiliseddebits"), 0.0)
    });
    assert!(close(num(&f, "m2mrealized"), 1.0), "{f}");
    assert!(close(num(&f, "availablecash"), start + 1.0), "{f}");
    let book = s.api("positionbook", json!({}));
    let p = book["data"].as_array().unwrap().iter().find(|p| p["symbol"] == "BTCUSDFUT").unwrap();
    assert_eq!(p["quantity"].as_i64(), Some(0), "{book}");
    assert!(close(num(p, "today_realized_pnl"), 1.0), "{book}");

    // kill -9 and replay: the same state, contract values taken from the master again.
    let live = s.digest();
    let _ = s.child.kill();
    let _ = s.child.wait();
    let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .arg("replay")
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("replay runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let replayed = text
        .lines()
        .find_map(|l| l.strip_prefix("state digest: "))
        .unwrap_or_else(|| panic!("no digest in {text}"))
        .trim()
        .to_owned();
    assert_eq!(replayed, live);
}
