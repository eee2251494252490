//! The NATS options' errors, from the real binary (no nats-server needed): each names the
//! option and the fix, and nothing starts.

use std::process::Command;

fn fails(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(err.contains(needle), "{args:?}: {err:?} does not say {needle:?}");
}

fn relay_fails(args: &[&str], needle: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .args(["relay", "--feed", "ws://127.0.0.1:1", "--feed-api-key", "k"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(err.contains(needle), "{args:?}: {err:?} does not say {needle:?}");
}

#[test]
fn bad_nats_options_are_refused_with_the_fix() {
    fails(&["serve", "--feed", "nats://nohost"], "must look like nats://HOST:PORT");
    fails(
        &["serve", "--feed", "nats://a:1", "--nats-start", "old"],
        "--nats-start takes all or new",
    );
    fails(&["serve", "--feed", "nats://a:1", "--account", " "], "--account must not be empty");
    relay_fails(&["--nats", "http://x:1"], "must look like nats://HOST:PORT");
    relay_fails(&["--replicas", "0"], "--replicas must be from 1 to 5");
    relay_fails(&["--symbols", "SBIN", "--nats", "nats://127.0.0.1:1"], "EXCHANGE:SYMBOL");
    relay_fails(
        &["--symbols", "NSE:NOSUCH", "--nats", "nats://127.0.0.1:1"],
        "not in the instrument master",
    );
    relay_fails(&["--nats", "nats://127.0.0.1:1"], "cannot reach NATS at nats://127.0.0.1:1");
}
