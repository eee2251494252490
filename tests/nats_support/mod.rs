//! Helpers for the NATS tests: a real `nats-server` (installed by `tools/nats-server`) on
//! loopback with a temp store, and the real `tickfill relay` / `tickfill serve` binaries
//! as child processes, each waited for on the facts they print.

#![allow(dead_code, reason = "each test binary uses a subset")]

use crate::api_util::{free_port, serve_command, short_agent};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tickfill::event::{Event, Tick};

pub const KEY: &str = "nats-test-key-0123456789abcdef0123456789";

/// The nats-server binary, installed when missing; `None` (after a loud message) when it
/// cannot be installed here.
pub fn nats_binary() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/nats-server");
    match Command::new(&script).output() {
        Ok(o) if o.status.success() => {
            Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_owned()))
        }
        other => {
            eprintln!(
                "\n\n*** SKIPPED: nats-server could not be installed by tools/nats-server: \
                 {other:?} ***\n\n"
            );
            None
        }
    }
}

/// A child process whose output lines are collected as they come.
pub struct Proc {
    pub child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn a child");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        for (pipe, sink) in [
            (Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, &out),
            (Box::new(child.stderr.take().unwrap()), &err),
        ] {
            let sink = Arc::clone(sink);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Proc { child, out, err }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.out.lock().unwrap().join("\n"),
            self.err.lock().unwrap().join("\n")
        )
    }

    /// The first line (stdout or stderr) containing `needle`, waiting up to `within`.
    pub fn line(&mut self, needle: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let found = self
                .out
                .lock()
                .unwrap()
                .iter()
                .chain(self.err.lock().unwrap().iter())
                .find(|l| l.contains(needle))
                .cloned();
            if found.is_some() {
                return found;
            }
            if Instant::now() >= deadline || self.child.try_wait().unwrap().is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}: {}", self.output());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("did not stop within 30 s: {}", self.output());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A single JetStream server on loopback with a temp store.
pub struct Nats {
    pub proc: Option<Proc>,
    pub url: String,
    _store: Option<tempfile::TempDir>,
}

/// Starts one server (retrying on fresh ports if one was taken); `None` when the binary
/// cannot be installed (the caller returns: the test is skipped, loudly).
pub fn nats() -> Option<Nats> {
    let bin = nats_binary()?;
    for _ in 0..5 {
        let store = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()]).arg("-sd").arg(store.path());
        let mut proc = Proc::spawn(cmd);
        if proc.line("Server is ready", Duration::from_secs(20)).is_some() {
            let url = format!("nats://127.0.0.1:{port}");
            return Some(Nats { proc: Some(proc), url, _store: Some(store) });
        }
        eprintln!("nats-server did not start, retrying: {}", proc.output());
    }
    panic!("nats-server did not start on five fresh ports");
}

/// A 3-node JetStream cluster on loopback: one [`Nats`] per node, and the URL of all.
pub struct Cluster {
    pub nodes: Vec<Nats>,
    /// `nats://A,nats://B,nats://C` (what relays and engines are given).
    pub url: String,
}

impl Cluster {
    /// A view for helpers taking one server: every node's URL.
    pub fn all(&self) -> Nats {
        Nats { proc: None, url: self.url.clone(), _store: None }
    }
}

/// Starts three nodes routed to each other and waits until JetStream in the cluster
/// accepts a stream with three replicas (its meta leader is elected).
pub fn cluster() -> Option<Cluster> {
    let bin = nats_binary()?;
    let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let route: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let routes =
        route.iter().map(|p| format!("nats://127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
    let mut nodes = Vec::new();
    for i in 0..3 {
        let store = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(&bin);
        cmd.args(["-js", "-n", &format!("node{i}"), "-a", "127.0.0.1"])
            .args(["-p", &client[i].to_string(), "--cluster_name", "tickfill"])
            .args(["--cluster", &format!("nats://127.0.0.1:{}", route[i]), "--routes", &routes])
            .arg("-sd")
            .arg(store.path());
        let mut proc = Proc::spawn(cmd);
        assert!(
            proc.line("Server is ready", Duration::from_secs(20)).is_some(),
            "{}",
            proc.output()
        );
        nodes.push(Nats {
            proc: Some(proc),
            url: format!("nats://127.0.0.1:{}", client[i]),
            _store: Some(store),
        });
    }
    let url = nodes.iter().map(|n| n.url.clone()).collect::<Vec<_>>().join(",");
    let servers: Vec<String> = url.split(',').map(str::to_owned).collect();
    block_on(async {
        let client = async_nats::connect(servers).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let retention = tickfill::relay::Retention { replicas: 3, ..Default::default() };
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(e) = tickfill::relay::stream::ensure_ticks(&js, &retention).await {
            assert!(Instant::now() < deadline, "the cluster never took a 3-replica stream: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    Some(Cluster { nodes, url })
}

/// `tickfill sim` alone at `rate` ticks/s: returns it, its WebSocket URL and REST base.
pub fn sim(rate: u64) -> (Proc, String, String) {
    for _ in 0..5 {
        let (ws, rest) = (free_port(), free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickfill"));
        cmd.args(["sim", "--rate", &rate.to_string()])
            .args(["--ws", &format!("127.0.0.1:{ws}")])
            .args(["--rest", &format!("127.0.0.1:{rest}")]);
        let mut p = Proc::spawn(cmd);
        if p.line("control with", Duration::from_secs(30)).is_some() {
            return (p, format!("ws://127.0.0.1:{ws}"), format!("http://127.0.0.1:{rest}"));
        }
        let out = p.output();
        assert!(out.contains("in use"), "sim did not start: {out}");
    }
    panic!("sim did not start: ports kept being taken");
}

/// `tickfill relay` reading the broker feed at `feed` (a `tickfill sim`).
pub fn relay_on(nats: &Nats, feed: &str, symbols: &str) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickfill"));
    cmd.args(["relay", "--nats", &nats.url, "--symbols", symbols, "--status-every", "0"]).args([
        "--feed",
        feed,
        "--feed-api-key",
        "sim-key",
    ]);
    let mut p = Proc::spawn(cmd);
    assert!(p.line("ready", Duration::from_secs(30)).is_some(), "relay: {}", p.output());
    p
}

/// `tickfill relay` with its simulator at `rate` ticks/s, `symbols` always subscribed;
/// returns it and the simulator's REST base.
pub fn relay(nats: &Nats, rate: u64, symbols: &str) -> (Proc, String) {
    relay_with(nats, rate, symbols, &[])
}

/// [`relay`] with `extra` options.
pub fn relay_with(nats: &Nats, rate: u64, symbols: &str, extra: &[&str]) -> (Proc, String) {
    for _ in 0..5 {
        let (ws, rest) = (free_port(), free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickfill"));
        cmd.args(["relay", "--nats", &nats.url, "--symbols", symbols, "--status-every", "0"])
            .args(["--sim-ws", &format!("127.0.0.1:{ws}")])
            .args(["--sim-rest", &format!("127.0.0.1:{rest}")])
            .args(["--sim-rate", &rate.to_string()])
            .args(extra);
        let mut p = Proc::spawn(cmd);
        if p.line("ready", Duration::from_secs(30)).is_some() {
            return (p, format!("http://127.0.0.1:{rest}"));
        }
        let out = p.output();
        assert!(out.contains("in use"), "relay did not start: {out}");
    }
    panic!("relay did not start: ports kept being taken");
}

/// An engine (`serve --feed nats://`, fused, backoff) on `dir` as `account`, reading the
/// stream from its start; returns it and its REST base.
pub fn engine(nats: &Nats, dir: &Path, account: &str, sim_rest: &str) -> (Proc, String) {
    engine_with(nats, dir, account, sim_rest, &[])
}

/// [`engine`] with `extra` options.
pub fn engine_with(
    nats: &Nats,
    dir: &Path,
    account: &str,
    sim_rest: &str,
    extra: &[&str],
) -> (Proc, String) {
    for _ in 0..5 {
        let (mut cmd, ports) = serve_command(dir, KEY, 0);
        cmd.args(extra);
        cmd.args(["--feed", &nats.url, "--account", account, "--nats-start", "all"])
            .args(["--upstream-rest", sim_rest, "--feed-api-key", "sim-key"])
            .args(["--nats-announce-every", "500ms"]);
        let mut p = Proc::spawn(cmd);
        if p.line("ready", Duration::from_secs(30)).is_some() {
            return (p, format!("http://127.0.0.1:{}", ports.http));
        }
        let out = p.output();
        assert!(out.contains("in use"), "engine did not start: {out}");
    }
    panic!("engine did not start: ports kept being taken");
}

/// Places a resting BUY LIMIT far below the market: the engine then wants the symbol.
pub fn want(base: &str, symbol: &str) -> String {
    let body = json!({"apikey": KEY, "strategy": "nats", "symbol": symbol, "exchange": "NSE",
        "action": "BUY", "quantity": "1", "pricetype": "LIMIT", "product": "CNC", "price": "1"});
    let v =
        crate::api_util::post_api(&short_agent(), base, "placeorder", &body).expect("placeorder");
    assert_eq!(v["status"], "success", "{v}");
    v["orderid"].as_str().unwrap().to_owned()
}

/// `/health` of the engine at `base`.
pub fn health(base: &str) -> Value {
    let mut r = short_agent().get(format!("{base}/health?apikey={KEY}")).call().expect("health");
    r.body_mut().read_json::<Value>().expect("health JSON")
}

/// Stream ticks the engine at `base` received since it started.
pub fn ticks(base: &str) -> u64 {
    health(base)["feed"]["ticks"].as_u64().unwrap_or(0)
}

/// Polls `fact` until it holds (true) or `within` passes (false).
pub fn wait_until(within: Duration, mut fact: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !fact() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Waits for `fact`, polling; panics with `what` after `within`.
pub fn wait_for(what: &str, within: Duration, mut fact: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !fact() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `TICKS` stream's last sequence (0 when it has none or does not exist yet).
pub fn last_seq(nats: &Nats) -> u64 {
    block_on(async {
        let client = async_nats::connect(servers(&nats.url)).await.unwrap();
        let js = async_nats::jetstream::new(client);
        match js.get_stream("TICKS").await {
            // 0 while a cluster elects a new stream leader: callers wait on it.
            Ok(mut s) => s.info().await.map_or(0, |i| i.state.last_sequence),
            Err(_) => 0,
        }
    })
}

/// What `TICKS` holds on `subject`, read back from the server one message at a time:
/// (stream sequence, relay time, tick) as an engine should journal them.
pub fn stream_ticks_on(nats: &Nats, subject: &str) -> Vec<(u64, i64, Tick)> {
    block_on(async {
        let client = async_nats::connect(servers(&nats.url)).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream("TICKS").await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            let m = stream.get_raw_message(seq).await.unwrap();
            if m.subject.as_str() == subject {
                let (tick, time) = tickfill::relay::wire::decode(&m.payload).unwrap();
                out.push((seq, time, tick));
            }
        }
        out
    })
}

fn servers(url: &str) -> Vec<String> {
    url.split(',').map(str::to_owned).collect()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Every stream tick an engine journaled in `dir`: (stream sequence, relay time, tick).
pub fn journaled_stream_ticks(dir: &Path) -> Vec<(u64, i64, Tick)> {
    let mut events = tickfill::journal::read_events(dir, None).unwrap();
    let mut e = Event::default();
    let mut out = Vec::new();
    while events.next_into(&mut e).unwrap() {
        if let tickfill::event::Input::Tick(t) = e.input {
            if e.header.stream_seq != 0 {
                out.push((e.header.stream_seq, e.header.time_ns, t));
            }
        }
    }
    out
}

/// A digest of what an engine applied from the stream: every stream tick with its
/// sequence and time, in journal order (FNV-1a of their journal encoding, the engine's
/// own sequence left out since timers interleave differently per engine).
pub fn stream_digest(ticks: &[(u64, i64, Tick)]) -> u64 {
    let mut bytes = Vec::new();
    for (seq, time, t) in ticks {
        let e = Event {
            header: tickfill::event::Header {
                seq: tickfill::types::Seq(1),
                time_ns: *time,
                recv_ns: 0,
                stream_seq: *seq,
            },
            input: tickfill::event::Input::Tick(*t),
        };
        tickfill::journal::codec::encode(&e, &mut bytes).unwrap();
    }
    tickfill::digest::fnv1a(&bytes)
}

/// The JSON messages in `EVENTS` on `subject` (wildcards allowed), read from the start
/// until `enough` holds for them or `within` passes.
pub fn events_until(
    nats: &Nats,
    subject: &str,
    within: Duration,
    enough: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    use futures_util::StreamExt;
    block_on(async {
        let client = async_nats::connect(servers(&nats.url)).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let deadline = tokio::time::Instant::now() + within;
        let stream = loop {
            match js.get_stream("EVENTS").await {
                Ok(s) => break s,
                Err(e) => {
                    if tokio::time::Instant::now() >= deadline {
                        eprintln!("no EVENTS stream: {e}");
                        return Vec::new();
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let config = async_nats::jetstream::consumer::pull::OrderedConfig {
            filter_subject: subject.to_owned(),
            ..Default::default()
        };
        let mut messages = stream.create_consumer(config).await.unwrap().messages().await.unwrap();
        let mut seen = Vec::new();
        while !enough(&seen) {
            match tokio::time::timeout_at(deadline, messages.next()).await {
                Ok(Some(Ok(m))) => {
                    let v: Value = serde_json::from_slice(&m.payload).expect("JSON event");
                    seen.push((m.subject.to_string(), v));
                }
                Ok(other) => panic!("EVENTS consumer ended: {other:?}"),
                Err(_) => break,
            }
        }
        seen
    })
}
