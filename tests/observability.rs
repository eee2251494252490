//! Observability of the real binary: its logs as a log shipper reads them (`--log-format
//! json` on stderr, `RUST_LOG` levels) and its `/metrics` as Prometheus scrapes them.

mod api_util;
mod serve_support;

use api_util::{cnc, post_api, serve_command, short_agent};
use openmetrics_parser::openmetrics::parse_openmetrics;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
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

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// GETs `/metrics` and parses it with an OpenMetrics parser (which rejects what Prometheus
/// would: bad names, a counter without `_total`, histogram buckets out of order, no EOF).
fn scrape(base: &str) -> (String, Exposition) {
    let mut r = short_agent().get(format!("{base}/metrics")).call().expect("GET /metrics");
    assert_eq!(r.status(), 200);
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(ct.starts_with("application/openmetrics-text; version=1.0.0"), "{ct}");
    let text = r.body_mut().read_to_string().expect("metrics body");
    let parsed = parse_openmetrics(&text).unwrap_or_else(|e| panic!("{e:?} in:\n{text}"));
    (text, parsed)
}

/// The sample of family `name` with these label values (in the family's label order).
fn sample<'a>(m: &'a Exposition, name: &str, labels: &[&str]) -> Option<&'a OpenMetricsValue> {
    let values: Vec<String> = labels.iter().map(|s| (*s).to_owned()).collect();
    m.families.get(name)?.get_sample_by_label_values(&values).map(|s| &s.value)
}

fn counter(m: &Exposition, name: &str, labels: &[&str]) -> f64 {
    match sample(m, name, labels) {
        Some(OpenMetricsValue::Counter(c)) => c.value.as_f64(),
        None => 0.0,
        other => panic!("{name}{labels:?} is not a counter: {other:?}"),
    }
}

fn histogram(m: &Exposition, name: &str, labels: &[&str]) -> openmetrics_parser::HistogramValue {
    match sample(m, name, labels) {
        Some(OpenMetricsValue::Histogram(h)) => h.clone(),
        other => panic!("{name}{labels:?} is not a histogram: {other:?}"),
    }
}

#[test]
fn metrics_parse_as_openmetrics_and_count_an_order() {
    let (_s, base) = serve("warn", &[]);
    let (_, before) = scrape(&base);
    let accepted = counter(&before, "tickfill_orders", &["accepted"]);
    let placed_ok = counter(&before, "tickfill_http_responses", &["placeorder", "200"]);
    place_resting(&base);
    let (text, after) = scrape(&base);
    assert_eq!(counter(&after, "tickfill_orders", &["accepted"]), accepted + 1.0, "{text}");
    assert_eq!(
        counter(&after, "tickfill_http_responses", &["placeorder", "200"]),
        placed_ok + 1.0,
        "{text}"
    );
    // The request was timed: a histogram in seconds, per endpoint.
    let family = &after.families["tickfill_http_request_duration_seconds"];
    assert_eq!(family.family_type, OpenMetricsType::Histogram);
    let placed = histogram(&after, "tickfill_http_request_duration_seconds", &["placeorder"]);
    assert!(placed.count.is_some_and(|c| c >= 1), "{placed:?}");
    assert!(placed.sum.is_some_and(|s| s.as_f64() > 0.0), "{placed:?}");
    // The stage latencies: real histograms in seconds, the same buckets for every hop (so
    // instances and hops can be summed by `le`), from sub-microsecond to seconds.
    let hops = &after.families["tickfill_stage_latency_seconds"];
    assert_eq!(hops.family_type, OpenMetricsType::Histogram);
    let journal = histogram(&after, "tickfill_stage_latency_seconds", &["received_to_journal"]);
    let bounds: Vec<f64> = journal.buckets.iter().map(|b| b.upper_bound).collect();
    assert_eq!(bounds.first(), Some(&250e-9), "{bounds:?}");
    assert!(bounds.contains(&1e-6) && bounds.contains(&1.0), "{bounds:?}");
    assert_eq!(bounds.last(), Some(&f64::INFINITY), "{bounds:?}");
    for hop in ["received_to_execution", "tick_to_fill"] {
        let h = histogram(&after, "tickfill_stage_latency_seconds", &[hop]);
        let b: Vec<f64> = h.buckets.iter().map(|b| b.upper_bound).collect();
        assert_eq!(b, bounds, "{hop}");
    }
    // The order went through the journal: a sample once the hot thread has published its
    // histograms (it does so every 200 ms, off the per-event path), counted in +Inf.
    let deadline = std::time::Instant::now() + serve_support::PATIENCE;
    let journal = loop {
        let (_, m) = scrape(&base);
        let h = histogram(&m, "tickfill_stage_latency_seconds", &["received_to_journal"]);
        if h.count.is_some_and(|c| c >= 1) || std::time::Instant::now() > deadline {
            break h;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let n = journal.count.expect("count");
    assert!(n >= 1, "no journal latency sample: {journal:?}");
    assert_eq!(journal.buckets.last().map(|b| b.count.as_f64()), Some(n as f64));
    assert!(journal.sum.is_some_and(|s| s.as_f64() > 0.0), "{journal:?}");
    // The journal's disk in bytes (its segments are preallocated, so never 0 once open).
    match sample(&after, "tickfill_journal_disk_bytes", &[]) {
        Some(OpenMetricsValue::Gauge(g)) => assert!(g.as_f64() > 0.0, "{g:?}"),
        other => panic!("tickfill_journal_disk_bytes is not a gauge: {other:?}"),
    }
    // Base units: no millisecond or nanosecond names are left.
    for name in after.families.keys() {
        assert!(name.starts_with("tickfill_"), "{name}");
        assert!(!name.ends_with("_ms") && !name.ends_with("_ns"), "{name}");
    }
}
