//! `tickfill sim` as a process: it prints its addresses, serves the feed with the flags
//! given (`--paused` here), and stops cleanly on SIGTERM.

mod sim_util;

use serde_json::json;
use sim_util::{Client, get, post_json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn addr_after(line: &str, scheme: &str) -> SocketAddr {
    let at = line.find(scheme).expect("scheme in the line") + scheme.len();
    line[at..].split_whitespace().next().unwrap().parse().expect("an address")
}

#[test]
fn sim_subcommand_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .args(["sim", "--ws", "127.0.0.1:0", "--rest", "127.0.0.1:0", "--api-key", "k1"])
        .args(["--seed", "3", "--rate", "1000", "--symbols", "5000", "--paused"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tickfill sim");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    let (ws, rest) = (addr_after(&first, "ws://"), addr_after(&first, "http://"));

    let (code, st) = get(rest, "/sim/status");
    assert_eq!(code, 200);
    assert_eq!(st["paused"], true);
    assert_eq!(st["symbols"], 5000, "{st}");
    let mut c = Client::connect(ws);
    let r = c.request(json!({"action": "auth", "api_key": "k1"}));
    assert_eq!(r["status"], "success", "{r}");
    let r = c.request(json!({"action": "subscribe", "symbol": "SIM00007", "exchange": "NSE",
        "mode": 1}));
    assert_eq!(r["status"], "success", "{r}");
    assert!(c.until_quiet(Duration::from_millis(300)), "paused: no frames");
    post_json(rest, "/sim/control", json!({"apikey": "k1", "action": "resume"}));
    assert_eq!(c.frame_for("SIM00007")["mode"], 1);

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(status.unwrap().success());
    let end = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < end, "tickfill sim did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success());
    let rest_of_output: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest_of_output.iter().any(|l| l.contains("stopped after")), "{rest_of_output:?}");
}
