//! Backpressure with a clear answer (issue 14 item 2), on the real binary: with every
//! journal commit made slow (`TICKFILL_INJECT_SLOW_COMMIT_MS`) and a small ring, a burst of
//! REST orders backs the pipeline up; what the sequencer cannot take within the admission
//! deadline (1 s) is refused promptly with 503 "engine busy" instead of hanging, `/health`
//! reports "degraded" while it lasts and "ok" after, `/metrics` shows the refusals and the
//! slow commits, and a restart holds exactly the orders that got 200 (none of the 503s).

mod api_util;

use api_util::common::wait_until;
use api_util::{Served, cnc, rest_agent, spawn_serve};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const KEY: &str = "backpressure-key-0123456789abcdef01234567";
/// Concurrent clients in the burst: more than the ring (16 slots) and one slow batch hold.
const CLIENTS: usize = 48;
/// The injected commit delay: longer than the 1 s admission deadline, and short enough
/// that the orders the sequencer did take are answered well within the 10 s reply timeout.
const SLOW_COMMIT_MS: &str = "1500";

/// `serve` on `dir` with a 16-slot ring, no simulated ticks; `slow` injects the slow commit.
fn serve(dir: &std::path::Path, slow: bool) -> Served {
    spawn_serve(dir, KEY, 0, |c| {
        c.env_remove(tickfill::fault::SLOW_COMMIT_VAR);
        c.env_remove(tickfill::fault::VAR);
        c.args(["--ring-size", "16"]);
        if slow {
            c.env(tickfill::fault::SLOW_COMMIT_VAR, SLOW_COMMIT_MS);
        }
    })
}

/// Places a resting LIMIT buy (no ticks: never fills) tagged `strategy`: status, body and
/// how long the answer took.
fn place(base: &str, strategy: &str) -> (u16, Value, Duration) {
    let mut body = cnc("SBIN", "BUY", 1, "LIMIT", 700.0);
    body["apikey"] = json!(KEY);
    body["strategy"] = json!(strategy);
    let agent = rest_agent(Duration::from_secs(60));
    let started = Instant::now();
    let mut r = agent.post(format!("{base}/api/v1/placeorder")).send_json(&body).unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_json().unwrap(), started.elapsed())
}

/// The orderbook: order id to strategy tag.
fn orderbook(base: &str) -> BTreeSet<(String, String)> {
    let agent = rest_agent(Duration::from_secs(60));
    let mut r =
        agent.post(format!("{base}/api/v1/orderbook")).send_json(json!({"apikey": KEY})).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.body_mut().read_json().unwrap();
    v["data"]["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| {
            let id = o["orderid"].as_str().unwrap().to_owned();
            (id, o["strategy"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// `/health` without the key: its status label ("ok", "degraded", "unhealthy").
fn health_status(base: &str) -> String {
    let mut r = rest_agent(Duration::from_secs(60)).get(format!("{base}/health")).call().unwrap();
    let v: Value = r.body_mut().read_json().unwrap();
    v["status"].as_str().unwrap_or_default().to_owned()
}

/// `/metrics`: the value of the sample line starting with `name` (labels included).
fn metric(base: &str, name: &str) -> f64 {
    let mut r = rest_agent(Duration::from_secs(60)).get(format!("{base}/metrics")).call().unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_slow_journal_gets_prompt_503_engine_busy_degraded_health_and_loses_no_acknowledged_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path(), true);
    let base = s.base.clone();
    // One order alone: the ring is empty, so the sequencer takes it at once and it waits
    // for its (slow) commit: 200, not busy.
    let (status, v, _) = place(&base, "alone");
    assert_eq!(status, 200, "a lone order on a slow journal is accepted: {v}");
    let mut acked = BTreeSet::from([(v["orderid"].as_str().unwrap().to_owned(), "alone".into())]);
    assert_eq!(health_status(&base), "ok");
    let commits_over_1s_before = metric(&base, "tickfill_journal_commit_duration_seconds_count")
        - metric(&base, "tickfill_journal_commit_duration_seconds_bucket{le=\"1.0\"}");
    assert!(commits_over_1s_before >= 1.0, "the slow commit is in the histogram");

    // /health polled through the burst (status only, no engine query).
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (base, done) = (base.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !done.load(Ordering::Acquire) {
                seen.insert(health_status(&base));
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        })
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                let tag = format!("c{i}");
                let (status, v, took) = place(&base, &tag);
                (tag, status, v, took)
            })
        })
        .collect();
    let answers: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    done.store(true, Ordering::Release);
    let health_seen = poller.join().unwrap();

    let mut busy = Vec::new();
    let mut ok_took = Vec::new();
    for (tag, status, v, took) in &answers {
        match status {
            200 => {
                acked.insert((v["orderid"].as_str().unwrap().to_owned(), tag.clone()));
                ok_took.push(*took);
            }
            503 => {
                let msg = v["message"].as_str().unwrap_or_default();
                assert!(msg.starts_with("engine busy"), "a 503 other than engine busy: {v}");
                assert_eq!(v["status"], "error", "OpenAlgo's error shape: {v}");
                busy.push(*took);
            }
            other => panic!("{tag}: unexpected status {other}: {v}"),
        }
    }
    let max = |d: &[Duration]| d.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{CLIENTS} clients: {} acknowledged (slowest {:?}), {} refused busy (slowest {:?}); \
         /health seen: {health_seen:?}",
        ok_took.len(),
        max(&ok_took),
        busy.len(),
        max(&busy),
    );
    assert!(!busy.is_empty(), "the burst backed the pipeline up: some requests were refused busy");
    assert!(!ok_took.is_empty(), "the orders the sequencer took were acknowledged");
    // Refused by the admission deadline (1 s), not by the 10 s reply timeout: the message
    // says so above; here, no refusal waited anywhere near the reply timeout.
    assert!(max(&busy) < Duration::from_secs(10), "a busy refusal hung: {:?}", max(&busy));
    assert!(health_seen.contains("degraded"), "/health never said degraded: {health_seen:?}");
    assert!(!health_seen.contains("unhealthy"), "busy is not a failure: {health_seen:?}");

    // After the burst: healthy again, and the refusals and slow commits are in /metrics.
    wait_until("/health back to ok", Duration::from_secs(60), Duration::from_millis(50), || {
        health_status(&base) == "ok"
    });
    assert_eq!(metric(&base, "tickfill_engine_busy_refusals_total"), busy.len() as f64);
    let commits_over_1s = metric(&base, "tickfill_journal_commit_duration_seconds_count")
        - metric(&base, "tickfill_journal_commit_duration_seconds_bucket{le=\"1.0\"}");
    assert!(commits_over_1s > commits_over_1s_before, "the burst's slow commits are counted");
    let (status, v, _) = place(&base, "after");
    assert_eq!(status, 200, "orders are accepted after the burst: {v}");
    acked.insert((v["orderid"].as_str().unwrap().to_owned(), "after".into()));

    // What clients were told is what is served, and what a restart rebuilds.
    assert_eq!(orderbook(&base), acked, "the live orderbook holds exactly the 200s");
    s.kill9();
    let s = serve(dir.path(), false);
    assert_eq!(orderbook(&s.base), acked, "the restart holds every 200 and none of the 503s");
}
