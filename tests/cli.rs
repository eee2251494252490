//! The real binary: the demo runs end to end, `replay` verifies what it journaled, and
//! every order acknowledged before a `kill -9` is in the journal afterwards.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tickfill"))
}

fn replay(dir: &std::path::Path) -> String {
    let out = bin().args(["replay", "--data-dir"]).arg(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "replay failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

fn orders_in(replay_output: &str) -> usize {
    let line = replay_output.lines().find(|l| l.starts_with("orders: ")).expect("orders line");
    line["orders: ".len()..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn demo_runs_and_replay_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["demo", "--seconds", "1", "--rate", "5000", "--orders", "20", "--topology", "fused"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("placed 20 resting LIMIT orders"), "{text}");
    assert!(text.contains("received_to_execution"), "latency table printed: {text}");
    let r = replay(dir.path());
    assert_eq!(orders_in(&r), 20, "{r}");
    assert!(r.contains("state digest"), "{r}");
}

#[test]
fn acknowledged_orders_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "demo",
            "--seconds",
            "60",
            "--rate",
            "2000",
            "--orders",
            "30",
            "--topology",
            "fused",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = None;
    // The pipe stays open until the kill: a closed stdout would make the demo's next print
    // fail and the process exit, releasing the data dir before the second engine tries it.
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("placed ") {
            acked = rest.split_whitespace().next().map(|n| n.parse::<usize>().unwrap());
            break;
        }
    }
    // A second engine on the same data dir is refused, naming the running one.
    let second = bin()
        .args(["demo", "--seconds", "1", "--topology", "fused"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("in use by another tickfill process (pid {})", child.id())),
        "{err}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    drop(lines);
    child.wait().unwrap();
    let acked = acked.expect("the demo acknowledged its orders");
    let r = replay(dir.path());
    assert!(orders_in(&r) >= acked, "acknowledged {acked}, journal has: {r}");
}

#[test]
fn bad_options_are_clear_errors() {
    let out = bin().args(["demo", "--topology", "sideways"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--topology must be auto, inline, fused or pipelined"), "{err}");
    let out = bin().args(["serve", "--square-off", "NSE=25:00"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--square-off takes EXCHANGE=HH:MM"), "{err}");
    let out = bin().args(["serve", "--capital=-5"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--capital must be a positive"));
    let out = bin().args(["replay", "--data-dir", "/nonexistent/tickfill"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}
