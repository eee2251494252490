//! Spec-like helpers for the REST tests: a real engine on a temp data dir (fused topology,
//! backoff idle) behind a real `ApiServer` on a loopback port 0, driven by a real HTTP
//! client (ureq) over the socket.

#![allow(dead_code, reason = "each test binary uses a subset")]

#[allow(
    clippy::duplicate_mod,
    reason = "every helper family includes the shared module; a test using two loads it twice"
)]
#[path = "../common/mod.rs"]
pub mod common;

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tickfill::api::{ApiConfig, ApiServer};
use tickfill::auth::KeyStore;
use tickfill::clock::mono_now_ns;
use tickfill::engine::{Engine, EngineConfig, EngineHandle};
use tickfill::event::Tick;
use tickfill::types::{Exchange, Price, SymbolId};
use tickfill::watchdog::WatchdogConfig;

/// The key every test server accepts.
pub const KEY: &str = "test-api-key-0123456789abcdef";

/// Every REST endpoint under `/api/v1/`.
pub const ENDPOINTS: [&str; 20] = [
    "placeorder",
    "placesmartorder",
    "modifyorder",
    "cancelorder",
    "cancelallorder",
    "closeposition",
    "orderbook",
    "tradebook",
    "positionbook",
    "funds",
    "orderstatus",
    "openposition",
    "quotes",
    "multiquotes",
    "depth",
    "ping",
    "analyzer",
    "latency",
    "holdings",
    "sandbox/reset",
];

/// An engine config for tests: see [`common::engine_config`].
pub fn engine_config(dir: &Path) -> EngineConfig {
    common::engine_config(dir)
}

/// Test API config: port 0, generous limits unless a test lowers them.
pub fn api_config() -> ApiConfig {
    ApiConfig {
        addr: "127.0.0.1:0".parse().expect("addr"),
        order_rate_per_sec: 1000,
        other_rate_per_sec: 1000,
        ..ApiConfig::default()
    }
}

/// An engine and a server over it.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub engine: Option<Engine>,
    pub server: Option<ApiServer>,
    pub base: String,
    pub agent: ureq::Agent,
    pub config: ApiConfig,
    /// The engine's watchdog settings (the default unless a test sets them).
    pub watchdog: WatchdogConfig,
}

fn agent() -> ureq::Agent {
    rest_agent(Duration::from_secs(30))
}

/// An HTTP client that returns error statuses as replies, with a deadline per request.
pub fn rest_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// A client with a 10 s deadline per request, for a server a test may kill at any moment.
pub fn short_agent() -> ureq::Agent {
    rest_agent(Duration::from_secs(10))
}

/// POSTs `body` to `{base}/api/v1/{endpoint}`; `None` when the request or its JSON fails
/// (a server being killed, say).
pub fn post_api(agent: &ureq::Agent, base: &str, endpoint: &str, body: &Value) -> Option<Value> {
    let mut r = agent.post(format!("{base}/api/v1/{endpoint}")).send_json(body).ok()?;
    r.body_mut().read_json::<Value>().ok()
}

/// The order ids in the orderbook of the server at `base`.
pub fn orderbook_ids(base: &str, key: &str) -> BTreeSet<String> {
    orderbook_ids_within(base, key, Duration::from_secs(10))
}

/// [`orderbook_ids`] with a reply timeout and no cap on the reply's size: a soak's book of
/// 35,000 orders is more than ureq's default 10 MB JSON limit (a 30-minute soak failed
/// its last check on that limit) and takes the debug build seconds on a loaded machine.
pub fn orderbook_ids_within(base: &str, key: &str, timeout: Duration) -> BTreeSet<String> {
    let url = format!("{base}/api/v1/orderbook");
    let mut r = rest_agent(timeout).post(url).send_json(json!({"apikey": key})).expect("orderbook");
    let v: Value = r.body_mut().with_config().limit(u64::MAX).read_json().expect("orderbook JSON");
    v["data"]["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["orderid"].as_str().map(str::to_owned))
        .collect()
}

/// A loopback port that was free a moment ago (bound to port 0 and let go).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The environment variable `name` as a number, or `default` when unset or not a number.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Harness {
    /// Starts with the test config.
    pub fn start() -> Harness {
        Harness::start_with(api_config())
    }

    /// Starts with a given API config.
    pub fn start_with(config: ApiConfig) -> Harness {
        Harness::start_with_watchdog(config, WatchdogConfig::default())
    }

    /// Starts with a given API config and watchdog settings (an upstream REST server).
    pub fn start_with_watchdog(config: ApiConfig, watchdog: WatchdogConfig) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut h = Harness {
            dir,
            engine: None,
            server: None,
            base: String::new(),
            agent: agent(),
            config,
            watchdog,
        };
        h.boot();
        h
    }

    fn boot(&mut self) {
        let mut c = engine_config(self.dir.path());
        c.watchdog = self.watchdog.clone();
        let engine = Engine::start(c).expect("engine starts");
        let keys = KeyStore::from_key(KEY).expect("key");
        let server =
            ApiServer::start(self.config.clone(), engine.handle(), keys).expect("server starts");
        self.base = format!("http://{}", server.local_addr());
        self.engine = Some(engine);
        self.server = Some(server);
    }

    /// Stops the server, then the engine, and starts both again on the same data dir.
    pub fn restart(&mut self) {
        self.stop();
        self.agent = agent();
        self.boot();
    }

    /// Stops the server, then the engine.
    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
        if let Some(e) = self.engine.take() {
            e.shutdown();
        }
    }

    pub fn handle(&self) -> EngineHandle {
        self.engine.as_ref().expect("running").handle()
    }

    /// The `n`th expiry (0 = nearest) the server lists for `name`'s futures or options
    /// on `exchange`, as `expiry` answers it (`DD-MMM-YY`).
    pub fn expiry(&self, name: &str, exchange: &str, kind: &str, n: usize) -> String {
        let v = self.ok_plain(
            "expiry",
            json!({"symbol": name, "exchange": exchange, "instrumenttype": kind}),
        );
        v["data"][n].as_str().unwrap_or_else(|| panic!("no expiry {n} for {name}: {v}")).into()
    }

    /// The symbol of the nearest `name` future on `exchange` the server lists
    /// (`NAME+DDMMMYY+FUT`), so no test names a contract that will expire.
    pub fn near_future(&self, name: &str, exchange: &str) -> String {
        format!("{name}{}FUT", self.expiry(name, exchange, "futures", 0).replace('-', ""))
    }

    /// Like [`Harness::api`], expecting 200 and `"status":"success"` (no `mode` check:
    /// the reference endpoints carry none).
    pub fn ok_plain(&self, endpoint: &str, body: Value) -> Value {
        let (status, v) = self.api(endpoint, body);
        assert_eq!(status, 200, "{endpoint}: {v}");
        assert_eq!(v["status"], "success", "{endpoint}: {v}");
        v
    }

    pub fn sym(&self, exchange: &str, symbol: &str) -> SymbolId {
        let ex = Exchange::parse(exchange).expect("exchange");
        self.handle().instruments.lookup(ex, symbol).expect("symbol in the default universe")
    }

    /// Publishes a tick with a 1.00 spread and day range around `ltp`, then waits until
    /// the ring has passed it (a query is answered after every earlier event).
    pub fn tick(&self, exchange: &str, symbol: &str, ltp: f64) {
        let p = Price::from_f64(ltp).expect("price");
        let t = Tick {
            symbol: self.sym(exchange, symbol),
            ltp: p,
            bid: Price(p.0 - 5_000),
            ask: Price(p.0 + 5_000),
            bid_qty: 100,
            ask_qty: 200,
            volume: 12_345,
            mode: 2,
            ..Tick::default()
        };
        let h = self.handle();
        h.send_tick(t, mono_now_ns()).expect("engine running");
        h.query(tickfill::event::QueryKind::Funds).expect("sync");
    }

    /// POSTs raw bytes to a path; returns status and body text.
    pub fn post_raw(&self, path: &str, body: &[u8]) -> (u16, String) {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)
            .expect("request");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().expect("body"))
    }

    /// POSTs a JSON value to `/api/v1/<endpoint>`; returns status and parsed body.
    pub fn call(&self, endpoint: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).expect("json");
        let (status, text) = self.post_raw(&format!("/api/v1/{endpoint}"), &bytes);
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, v)
    }

    /// Like [`Harness::call`] with `apikey` added.
    pub fn api(&self, endpoint: &str, mut body: Value) -> (u16, Value) {
        body["apikey"] = json!(KEY);
        self.call(endpoint, &body)
    }

    /// Like [`Harness::api`], expecting 200 and `"status":"success"`.
    pub fn ok(&self, endpoint: &str, body: Value) -> Value {
        let (status, v) = self.api(endpoint, body);
        assert_eq!(status, 200, "{endpoint}: {v}");
        assert_eq!(v["status"], "success", "{endpoint}: {v}");
        assert_eq!(v["mode"], "analyze", "{endpoint}: {v}");
        v
    }

    /// Places an order from a JSON body and returns its id.
    pub fn place(&self, body: Value) -> String {
        let v = self.ok("placeorder", body);
        let id = v["orderid"].as_str().expect("orderid").to_owned();
        assert_eq!(id.len(), 14, "{v}");
        id
    }

    /// GET; returns status, content type and body.
    pub fn get(&self, path: &str) -> (u16, String, String) {
        let mut r = self.agent.get(format!("{}{path}", self.base)).call().expect("request");
        let ct =
            r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        (r.status().as_u16(), ct, r.body_mut().read_to_string().expect("body"))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CNC equity order body (valid at any hour of the day).
pub fn cnc(symbol: &str, action: &str, qty: i64, pricetype: &str, price: f64) -> Value {
    json!({
        "strategy": "test", "symbol": symbol, "exchange": "NSE", "action": action,
        "quantity": qty, "pricetype": pricetype, "product": "CNC", "price": price,
    })
}

/// Asserts an error reply: status, `"status":"error"`, and a message containing `needle`.
pub fn assert_error(got: &(u16, Value), status: u16, needle: &str) {
    let (s, v) = got;
    assert_eq!(*s, status, "{v}");
    assert_eq!(v["status"], "error", "{v}");
    let m = v["message"].as_str().unwrap_or_else(|| panic!("message is a string: {v}"));
    assert!(m.contains(needle), "message {m:?} lacks {needle:?}");
}

/// Asserts that every amount of a `funds` reply's `data` is a JSON number (as OpenAlgo's
/// sandbox sends them).
pub fn assert_funds_are_numbers(f: &Value) {
    for k in [
        "availablecash",
        "collateral",
        "m2munrealized",
        "m2mrealized",
        "utiliseddebits",
        "grossexposure",
        "totalpnl",
        "today_realized_pnl",
        "total_realized_pnl",
    ] {
        assert!(f[k].is_number(), "funds.{k} is a number (OpenAlgo's sandbox): {f}");
    }
}

/// True for an IST timestamp as OpenAlgo writes them: `YYYY-MM-DD HH:MM:SS`.
pub fn is_ist_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// The loopback ports a [`serve_command`] was given.
pub struct ServePorts {
    pub http: u16,
    pub ws: u16,
    pub sim_ws: u16,
    pub sim_rest: u16,
}

/// `tickfill serve` (the real binary) on `dir` with key `key`: fused, backoff, its simulated
/// broker at `sim_rate` ticks/s, order and other rates of 1,000/s, on four ports that were
/// free a moment ago. The caller adds its own options and the stdio, and spawns it.
pub fn serve_command(dir: &Path, key: &str, sim_rate: u64) -> (Command, ServePorts) {
    let ports = ServePorts {
        http: free_port(),
        ws: free_port(),
        sim_ws: free_port(),
        sim_rest: free_port(),
    };
    let mut c = Command::new(env!("CARGO_BIN_EXE_tickfill"));
    c.arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args(["--api-key", key, "--topology", "fused", "--idle", "backoff"])
        .args(["--http", &format!("127.0.0.1:{}", ports.http)])
        .args(["--ws", &format!("127.0.0.1:{}", ports.ws)])
        .args(["--sim-ws", &format!("127.0.0.1:{}", ports.sim_ws)])
        .args(["--sim-rest", &format!("127.0.0.1:{}", ports.sim_rest)])
        .args(["--sim-rate", &sim_rate.to_string()])
        .args(["--order-rate", "1000", "--other-rate", "1000"]);
    (c, ports)
}

/// A running `tickfill serve` (the real binary) started by [`spawn_serve`].
pub struct Served {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT` of its REST API.
    pub base: String,
    pub ports: ServePorts,
    /// Its stderr so far, line by line (read by a thread until it exits).
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Its stdout lines up to "ready".
    pub stdout: Vec<String>,
}

impl Served {
    /// `kill -9`, and reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit (20 s at most, then `kill -9`).
    pub fn sigterm(&mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill9();
    }

    /// Its stderr so far, joined.
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill9();
        }
    }
}

/// Starts [`serve_command`] (after `configure` adds its options and environment) and waits
/// for "ready" (60 s at most). The ports come from binding port 0 and letting go, so
/// another process can take one in between: a start that fails with "in use" is retried
/// on fresh ports. Panics with serve's output on any other failure.
pub fn spawn_serve(
    dir: &Path,
    key: &str,
    sim_rate: u64,
    configure: impl Fn(&mut Command),
) -> Served {
    for _ in 0..5 {
        match try_spawn_serve(dir, key, sim_rate, &configure) {
            Ok(served) => return served,
            Err(output) if output.contains("in use") => {
                eprintln!("a port was taken before serve bound it; retrying: {output}");
            }
            Err(output) => panic!("serve did not start:\n{output}"),
        }
    }
    panic!("serve did not start: ports kept being taken");
}

fn try_spawn_serve(
    dir: &Path,
    key: &str,
    sim_rate: u64,
    configure: &impl Fn(&mut Command),
) -> Result<Served, String> {
    use std::io::{BufRead, BufReader};
    let (mut serve, ports) = serve_command(dir, key, sim_rate);
    configure(&mut serve);
    let mut child = serve
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&stderr);
    let stderr_thread = std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(out).lines();
        for line in reader.by_ref().map_while(Result::ok) {
            let ready = line.contains("ready");
            lines.push(line);
            if ready {
                let _ = tx.send(Ok(lines));
                // Keep draining, so serve never blocks on a full pipe.
                for _ in reader.by_ref() {}
                return;
            }
        }
        let _ = tx.send(Err(lines.join("\n")));
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(stdout)) => Ok(Served {
            child,
            base: format!("http://127.0.0.1:{}", ports.http),
            ports,
            stderr,
            stdout,
        }),
        other => {
            let _ = child.kill();
            let _ = child.wait();
            let _ = stderr_thread.join(); // the pipe ends with the process
            let err = stderr.lock().unwrap().join("\n");
            Err(format!("stdout: {other:?}\nstderr: {err}"))
        }
    }
}
