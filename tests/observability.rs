//! Observability of the real binary: its logs as a log shipper reads them (`--log-format
//! json` on stderr, `RUST_LOG` levels) and its `/metrics` as Prometheus scrapes them.

mod api_util;
mod serve_support;

use api_util::{cnc, post_api, serve_command, short_agent};
use serde_json::Value;
use serve_support::Served;

const KEY: &str = "observability-key-0123456789abcdef012345";

/// `serve` (sim feed at a small rate) with these extra arguments and `RUST_LOG`.
fn serve(rust_log: &str, args: &[&str]) -> (Served, String) {
    let dir = tempfile::tempdir().unwrap();
    let (mut cmd, ports) = serve_command(dir.path(), KEY, 50);
    cmd.args(args).env("RUST_LOG", rust_log).env_remove("TICKFILL_LOG_FORMAT");
    let served = Served::start(cmd);
    // The data dir lives as long as the process needs it: leaked on purpose (a temp dir
    // removed under a running engine would fail its journal, not this test).
    std::mem::forget(dir);
    (served, format!("http://127.0.0.1:{}", ports.http))
}

/// Places a resting CNC buy of INFY at 1.00 and returns its order id.
fn place_resting(base: &str) -> String {
    let mut body = cnc("INFY", "BUY", 1, "LIMIT", 1.0);
    body["apikey"] = KEY.into();
    let v = post_api(&short_agent(), base, "placeorder", &body).expect("placeorder reply");
    assert_eq!(v["status"], "success", "{v}");
    v["orderid"].as_str().expect("orderid").to_owned()
}

fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"))
}

#[test]
fn json_logs_parse_and_carry_the_order_fields() {
    let (mut s, base) = serve("info,tickfill::api=debug", &["--log-format", "json"]);
    let id = place_resting(&base);
    let line = s.wait_line("\"order: placed\" for the order", |l| {
        json_line(l)["order_id"].as_str() == Some(id.as_str())
    });
    let event = json_line(&line);
    assert_eq!(event["message"], "order: placed", "{event}");
    assert_eq!(event["level"], "DEBUG", "{event}");
    assert_eq!(event["target"], "tickfill::api::orders", "{event}");
    assert_eq!(event["symbol"], "INFY", "{event}");
    assert!(event["seq"].as_u64().is_some_and(|s| s > 0), "seq is a number: {event}");
    assert!(event["timestamp"].is_string(), "{event}");
    // Every line written so far is JSON with a level and a message: nothing else is mixed
    // into stderr (the startup banner stays on stdout).
    for l in &s.lines {
        let v = json_line(l);
        assert!(v["level"].is_string() && v["message"].is_string(), "{l}");
    }
    assert!(s.banner.iter().any(|l| l.contains("REST API")), "banner on stdout: {:?}", s.banner);
}

#[test]
fn rust_log_filters_a_level_out() {
    // info: the order's debug event is filtered out. The witness is a warn event the test
    // causes after the order: the failed-authentication guard (one failure allowed) refusing
    // the address. Lines arrive in the order they were written, so the order event, had it
    // passed the filter, would be before the witness.
    let (mut s, base) = serve("info", &["--log-format", "json", "--auth-failures", "1"]);
    let id = place_resting(&base);
    let agent = short_agent();
    let wrong = serde_json::json!({"apikey": "not-the-key-0123456789abcdef0123456789"});
    for _ in 0..2 {
        let _ = post_api(&agent, &base, "funds", &wrong);
    }
    let witness = s.wait_line("from the failed-authentication guard", |l| {
        json_line(l)["message"].as_str().is_some_and(|m| m.contains("failed authentications"))
    });
    assert_eq!(json_line(&witness)["level"], "WARN", "{witness}");
    assert_eq!(json_line(&witness)["failures"], 1, "{witness}");
    for l in &s.lines {
        let v = json_line(l);
        assert_ne!(v["level"], "DEBUG", "RUST_LOG=info lets a debug event through: {l}");
        assert!(!l.contains(&id), "the order's debug event passed RUST_LOG=info: {l}");
    }
}
