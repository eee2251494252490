//! The simulator's clock drives the engine's trading day through the feed, over real
//! HTTP against the real binary: a CNC buy, then `POST /sim/control {"action":"set_clock"}`
//! to 09:20 IST the next day; the simulator's ticks carry that time, the engine's event
//! clock follows them (`serve --event-clock auto` with the simulator), its 00:00 boundary
//! settles the buy into holdings, and a kill -9 and restart keep both the holding and the
//! moved clock (event time resumes from the journal, never back to the wall clock, and
//! the restarted simulator's clock continues from it).

mod api_util;

use api_util::{ServePorts, post_api, serve_command, short_agent};
use chrono::{Days, NaiveDate};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "sim-clock-key-0123456789abcdef0123456789";

/// `serve` on `dir`, once it printed "ready" (a start whose port was taken meanwhile is
/// retried on fresh ports).
fn start(dir: &Path) -> (Child, ServePorts) {
    for _ in 0..5 {
        let (mut cmd, ports) = serve_command(dir, KEY, 200);
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn serve");
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            BufReader::new(err).lines().map_while(Result::ok).collect::<Vec<_>>().join("\n")
        });
        let mut lines = BufReader::new(out).lines().map_while(Result::ok);
        if lines.any(|l| l.contains("ready")) {
            // Keep draining stdout so serve never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, ports);
        }
        let _ = child.wait();
        let errors = errors.join().unwrap_or_default();
        assert!(errors.contains("in use"), "serve did not start:\n{errors}");
    }
    panic!("serve did not start: ports kept being taken");
}

fn api(ports: &ServePorts, endpoint: &str, mut body: Value) -> Value {
    body["apikey"] = json!(KEY);
    let base = format!("http://127.0.0.1:{}", ports.http);
    post_api(&short_agent(), &base, endpoint, &body).unwrap_or_else(|| panic!("{endpoint}"))
}

fn control(ports: &ServePorts, body: Value) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{}/sim/control", ports.sim_rest);
    let mut r = short_agent().post(url).send_json(body).expect("sim control");
    (r.status().as_u16(), r.body_mut().read_json().expect("json"))
}

/// Polls `f` until it gives a value (30 s at most: a fact, not a duration, ends the wait).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Places a MARKET BUY of SBIN and returns the IST date of its timestamp (event time).
fn buy(ports: &ServePorts, product: &str, qty: i64) -> NaiveDate {
    let r = api(
        ports,
        "placeorder",
        json!({"strategy": "clock", "symbol": "SBIN", "exchange": "NSE", "action": "BUY",
               "quantity": qty, "pricetype": "MARKET", "product": product}),
    );
    let id = r["orderid"].as_str().unwrap_or_else(|| panic!("placed: {r}")).to_string();
    let st = api(ports, "orderstatus", json!({"orderid": id, "strategy": "clock"}));
    assert_eq!(st["data"]["order_status"], "complete", "{st}");
    let ts = st["data"]["timestamp"].as_str().expect("timestamp");
    NaiveDate::parse_from_str(&ts[..10], "%Y-%m-%d").expect("an IST date")
}

fn holdings(ports: &ServePorts) -> Vec<Value> {
    let h = api(ports, "holdings", json!({}));
    h["data"]["holdings"].as_array().cloned().unwrap_or_else(|| panic!("holdings: {h}"))
}

#[test]
fn moving_the_simulators_clock_past_midnight_settles_cnc_into_holdings() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, ports) = start(dir.path());
    wait_for("an SBIN quote", || {
        let q = api(&ports, "quotes", json!({"symbol": "SBIN", "exchange": "NSE"}));
        (q["status"] == "success").then_some(())
    });
    let today = buy(&ports, "CNC", 10);
    // Not settled yet: the witness that the holding appears only after the clock moves.
    assert!(holdings(&ports).is_empty());

    // The clock only moves forward, and says so by field.
    let (status, v) = control(
        &ports,
        json!({"apikey": KEY, "action": "set_clock", "time": "2001-01-01 09:15:00"}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().starts_with("time: "), "{v}");
    let (status, v) =
        control(&ports, json!({"apikey": KEY, "action": "set_clock", "time": "soon"}));
    assert_eq!(status, 400, "{v}");
    let (status, _) = control(&ports, json!({"apikey": "wrong", "action": "set_clock", "time": 1}));
    assert_eq!(status, 403);

    // 09:20 IST on the next day: past 00:00 (settlement) and 03:00 (a new session), and
    // past 09:00, so MIS orders are accepted again.
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap();
    let at = format!("{} 09:20:00", tomorrow.format("%Y-%m-%d"));
    let (status, v) = control(&ports, json!({"apikey": KEY, "action": "set_clock", "time": at}));
    assert_eq!(status, 200, "{v}");
    assert!(v["sim"]["clock"].as_str().unwrap() >= at.as_str(), "{v}");

    let rows = wait_for("the CNC buy to settle into holdings", || {
        let rows = holdings(&ports);
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(rows.len(), 1, "{rows:?}");
    let h = &rows[0];
    assert_eq!(
        (&h["symbol"], &h["product"], &h["quantity"]),
        (&json!("SBIN"), &json!("CNC"), &json!(10))
    );
    assert_eq!(h["settlement_date"], tomorrow.format("%Y-%m-%d").to_string(), "{h}");
    // The position row went away with the settlement, and the new session's books are empty.
    let p = api(&ports, "positionbook", json!({}));
    let open_cnc = |p: &Value| {
        p["data"].as_array().unwrap().iter().any(|r| r["product"] == "CNC" && r["quantity"] != 0)
    };
    assert!(!open_cnc(&p), "{p}");
    let books = api(&ports, "orderbook", json!({}));
    assert_eq!(books["data"]["orders"], json!([]), "{books}");
    // Orders now live on the simulated day.
    assert_eq!(buy(&ports, "MIS", 1), tomorrow);

    // kill -9 and restart: the holding is journaled, and event time resumes from the
    // journal (the restarted simulator's clock is back on the wall clock).
    serve.kill().unwrap();
    serve.wait().unwrap();
    let (mut serve, ports) = start(dir.path());
    let rows = holdings(&ports);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["quantity"], 10);
    wait_for("an SBIN quote after the restart", || {
        let q = api(&ports, "quotes", json!({"symbol": "SBIN", "exchange": "NSE"}));
        (q["status"] == "success").then_some(())
    });
    assert_eq!(buy(&ports, "MIS", 1), tomorrow, "event time never goes back");
    // The restarted simulator's clock continues from the engine's, not from the wall.
    let url = format!("http://127.0.0.1:{}/sim/status", ports.sim_rest);
    let st: Value = short_agent().get(url).call().unwrap().body_mut().read_json().unwrap();
    let day = tomorrow.format("%Y-%m-%d").to_string();
    assert!(st["clock"].as_str().unwrap().starts_with(&day), "{st}");
    serve.kill().unwrap();
    serve.wait().unwrap();
}
