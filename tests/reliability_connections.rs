//! Connection limits over real loopback sockets: the REST cap answers 503 and the
//! WebSocket cap closes with 1013, an idle kept-alive REST connection is closed after the
//! idle timeout, and a server out of file descriptors keeps answering queued connections
//! instead of leaving them waiting (the real binary under a low `ulimit -n`).

mod api_util;
mod ws_support;

use api_util::{Harness, KEY, api_config};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use ws_support::{Client, Ended, rig_with, wait_for};

/// One keep-alive request on `s`; the reply's status line and body.
fn request(s: &mut TcpStream, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = String::new();
    // The replies here are small: read until the body's declared length is in.
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the reply: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some((head, body)) = got.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|n| body.len() >= n) {
                return got;
            }
        }
    }
}

#[test]
fn rest_connections_over_the_cap_get_503_and_are_served_once_one_closes() {
    let mut config = api_config();
    config.max_connections = 3;
    let h = Harness::start_with(config);
    let addr = h.server.as_ref().unwrap().local_addr();
    let mut open: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            // A served request proves the server counted this connection.
            assert!(request(&mut s, "/metrics").starts_with("HTTP/1.1 200"));
            s
        })
        .collect();
    let mut fourth = TcpStream::connect(addr).unwrap();
    fourth.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reply = String::new();
    let _ = fourth.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(reply.contains("\"status\":\"error\"") && reply.contains("limit"), "{reply}");
    drop(open.pop());
    // The closed one's slot comes free once the server sees the close.
    wait_for(
        || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            request(&mut s, "/metrics").starts_with("HTTP/1.1 200")
        },
        "a slot after a close",
    );
    drop(open);
    // (Retries in the wait above may have been refused too.)
    let refused = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("tickfill_http_connections_refused_total "))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    wait_for(|| refused(&h.get("/metrics").2).is_some_and(|n| n >= 1), "the refusal in /metrics");
}

#[test]
fn an_idle_kept_alive_rest_connection_is_closed_after_the_idle_timeout() {
    let mut config = api_config();
    config.idle_timeout = Duration::from_secs(1);
    let h = Harness::start_with(config);
    let addr = h.server.as_ref().unwrap().local_addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(request(&mut s, &format!("/health?apikey={KEY}")).starts_with("HTTP/1.1 200"));
    let idle = Instant::now();
    let mut rest = Vec::new();
    let n = s.read_to_end(&mut rest).expect("closed by the server, not timed out");
    let waited = idle.elapsed();
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&rest));
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn websocket_connections_over_the_cap_are_closed_with_1013() {
    let rig = rig_with(|c| c.max_connections = 2);
    let mut a = rig.authed();
    let _b = rig.authed();
    let mut c = Client::connect(rig.addr);
    match c.next() {
        Err(Ended::Closed(Some((code, reason)))) => {
            assert_eq!(code, 1013, "{reason}");
            assert!(reason.contains("connection limit"), "{reason}");
        }
        other => panic!("expected a 1013 close, got {other:?}"),
    }
    let stats = rig.stats();
    wait_for(
        || stats.capacity_refusals.load(std::sync::atomic::Ordering::Relaxed) == 1,
        "the refusal counted",
    );
    assert_eq!(a.ask(json!({"action": "ping"}))["type"], "pong", "served ones are untouched");
    drop(a);
    // A slot frees when a served client leaves.
    wait_for(
        || {
            let mut d = Client::connect(rig.addr);
            d.send(json!({"action": "authenticate", "api_key": ws_support::KEY}));
            d.next().is_ok_and(|v| v["status"] == "success")
        },
        "a slot after a client left",
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What one WebSocket client got: served (authenticated), refused (closed or reset), or
/// nothing at all within the timeout (left waiting: the failure this test is about).
#[derive(Debug)]
enum Got {
    /// Kept open (holding the server's descriptor) until the test lets go.
    Served(#[allow(dead_code, reason = "held, not read")] Box<tungstenite::WebSocket<TcpStream>>),
    Refused(String),
    Hung,
}

fn try_client(addr: SocketAddr) -> Got {
    // Generous timeouts: a loaded CI machine must not turn a slow answer into "hung";
    // the failure this catches is waiting forever.
    let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_secs(20)) else {
        return Got::Refused("connect".into());
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let hung = |e: &std::io::Error| {
        matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
    };
    let mut ws = match tungstenite::client(format!("ws://{addr}/"), s) {
        Ok((ws, _)) => ws,
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Io(e))) if hung(&e) => {
            return Got::Hung;
        }
        // A read timeout in the middle of the handshake.
        Err(tungstenite::HandshakeError::Interrupted(_)) => return Got::Hung,
        Err(e) => return Got::Refused(format!("handshake: {e}")),
    };
    let auth = json!({"action": "authenticate", "api_key": KEY}).to_string();
    if let Err(e) = ws.send(tungstenite::Message::text(auth)) {
        return Got::Refused(format!("send: {e}"));
    }
    match ws.read() {
        Ok(tungstenite::Message::Text(t)) if t.contains("success") => Got::Served(Box::new(ws)),
        Err(tungstenite::Error::Io(e)) if hung(&e) => Got::Hung,
        other => Got::Refused(format!("auth: {other:?}")),
    }
}

impl PartialEq for Got {
    fn eq(&self, other: &Got) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

#[test]
fn out_of_file_descriptors_queued_websocket_clients_are_answered_not_left_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let (http, ws) = (free_port(), free_port());
    let (sim_ws, sim_rest) = (free_port(), free_port());
    let script = format!(
        "ulimit -n 96 && exec \"$0\" serve --data-dir {} --api-key {KEY} --topology fused \
         --idle backoff --http 127.0.0.1:{http} --ws 127.0.0.1:{ws} --sim-ws 127.0.0.1:{sim_ws} \
         --sim-rest 127.0.0.1:{sim_rest} --sim-rate 10",
        dir.path().display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_tickfill")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut ready = false;
    for line in out.lines().map_while(Result::ok) {
        if line.contains("ready") {
            ready = true;
            break;
        }
    }
    assert!(ready, "serve did not start");
    let addr: SocketAddr = format!("127.0.0.1:{ws}").parse().unwrap();
    // Far more clients than descriptors: the server runs out part way through.
    let clients: Vec<std::thread::JoinHandle<Got>> =
        (0..150).map(|_| std::thread::spawn(move || try_client(addr))).collect();
    let got: Vec<Got> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    let served = got.iter().filter(|g| matches!(g, Got::Served(_))).count();
    let refused = got.iter().filter(|g| matches!(g, Got::Refused(_))).count();
    if let Some(Got::Refused(why)) = got.iter().find(|g| matches!(g, Got::Refused(_))) {
        println!("a refusal: {why}");
    }
    let hung = got.iter().filter(|g| **g == Got::Hung).count();
    println!(
        "150 clients at ulimit -n 96: {served} served, {refused} refused, {hung} left waiting"
    );
    assert!(served > 0 && refused > 0, "served {served}, refused {refused}, hung {hung}");
    assert_eq!(hung, 0, "clients left waiting in the listen queue");
    drop(got);
    // Descriptors come back: a new client is served.
    wait_for(
        || matches!(try_client(addr), Got::Served(_)),
        "a client served after the others left",
    );
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    assert!(err.contains("file descriptor limit 96"), "the shortfall is named: {err}");
}
