//! A panicking stage makes the engine refuse new orders with a clear error while reads
//! keep working; it never hangs. The real execution, MTM and journal stages run; the
//! third stage is a fanout that panics on its 5th tick, to provoke the failure.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tickfill::engine::wiring::{StageParts, wire};
use tickfill::event::{
    Command, CommandKind, Event, Input, OrderRequest, Query, QueryKind, RejectStatus, Reply,
    StageOutput, Tick,
};
use tickfill::exec::{Exec, ExecConfig};
use tickfill::fanout::quotes::QuoteBoard;
use tickfill::health::Health;
use tickfill::instruments::InstrumentMaster;
use tickfill::journal::{Journal, JournalConfig};
use tickfill::latency::SharedLatency;
use tickfill::mtm::Mtm;
use tickfill::reply::{ReplyRouter, Response};
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Pipeline, Stage, Topology};
use tickfill::types::{Money, Price, PriceType, Product, Qty, Seq, Side, Tag};
use tickfill::views::QueryReply;

#[derive(Debug)]
struct PanicsOnFifthTick(u32);

impl Stage for PanicsOnFifthTick {
    const NAME: &'static str = "fanout";
    fn on_event(&mut self, event: &Event, _out: &mut StageOutput) {
        if let Input::Tick(_) = event.input {
            self.0 += 1;
            assert!(self.0 != 5, "injected failure on the fifth tick");
        }
    }
}

#[test]
fn a_failed_stage_refuses_orders_but_serves_reads() {
    refuses_orders_serves_reads(Topology::Fused);
}

#[test]
fn a_failed_stage_refuses_orders_but_serves_reads_inline() {
    refuses_orders_serves_reads(Topology::Inline);
}

fn refuses_orders_serves_reads(topology: Topology) {
    let dir = tempfile::tempdir().unwrap();
    let master = Arc::new(InstrumentMaster::default_universe());
    let sbin = master.lookup(tickfill::types::Exchange::Nse, "SBIN").unwrap();
    let health = Arc::new(Health::new());
    let router = Arc::new(ReplyRouter::new());
    let exec = Exec::new(ExecConfig::default(), Arc::clone(&master));
    let mtm = Mtm::new(master.len(), exec.funds());
    let (journal, _) = Journal::open(&JournalConfig::new(dir.path())).unwrap();
    let (updates, update_reader) = tickfill::fanout::updates::channel(64, Arc::clone(&health));
    // The engine's own wiring, with the real fanout swapped for one that panics.
    let (exec_stage, mtm_stage, _fanout, journal_stage) = wire(StageParts {
        exec,
        mtm,
        journal,
        data_dir: dir.path().to_path_buf(),
        board: Arc::new(QuoteBoard::new(master.len())),
        updates,
        update_signal: update_reader.signal(),
        router: Arc::clone(&router),
        health: Arc::clone(&health),
        latency: Arc::new(SharedLatency::default()),
        interest: Arc::new(tickfill::interest::Interest::new(master.len())),
        ticks: None,
    });
    let stages = (exec_stage, mtm_stage, PanicsOnFifthTick(0), journal_stage);
    let config = PipelineConfig {
        ring_size: 64,
        topology,
        idle: IdleStrategy::Backoff,
        ..PipelineConfig::default()
    };
    let (mut publisher, running) =
        Pipeline::start(&config, Seq(1), stages, Arc::clone(&health)).unwrap();
    let now = tickfill::clock::ist_to_epoch_ns(2026, 11, 26, 10, 0);
    let tick = Tick { symbol: sbin, ltp: Price::from_f64(812.5).unwrap(), ..Tick::default() };
    for _ in 0..6 {
        publisher.publish(Input::Tick(tick), now, 0);
    }
    let order = OrderRequest {
        symbol: sbin,
        side: Side::Buy,
        qty: Qty(1),
        price_type: PriceType::Market,
        product: Product::Mis,
        price: Price::ZERO,
        trigger: Price::ZERO,
        disclosed: Qty::ZERO,
        strategy: Tag::EMPTY,
    };
    let (t1, rx1) = router.register().expect("a free reply cell");
    publisher.publish(
        Input::Command(Command { ticket: t1, kind: CommandKind::Place(order) }),
        now,
        0,
    );
    let (t2, rx2) = router.register().expect("a free reply cell");
    publisher.publish(Input::Query(Query { ticket: t2, kind: QueryKind::Funds }), now, 0);
    // Inline: this thread runs the stages (a no-op with a stage thread).
    publisher.drain();

    match rx1.recv_timeout(Duration::from_secs(10)).expect("a reply, not a hang") {
        Response::Command(c) => match c.reply {
            Reply::Rejected { status, message } => {
                assert_eq!(status, RejectStatus::Unavailable);
                assert!(message.as_str().contains("refuses new orders"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        },
        other => panic!("{other:?}"),
    }
    match rx2.recv_timeout(Duration::from_secs(10)).expect("reads keep working") {
        Response::Query(QueryReply::Funds(f)) => assert_eq!(f.used_margin, Money::ZERO),
        other => panic!("{other:?}"),
    }
    assert!(health.refusing_orders());
    assert!(health.reason().unwrap().contains("stage fanout failed at seq 5"));
    assert!(health.durable_seq.load(Ordering::Acquire) >= 7);
    drop(publisher);
    let start = Instant::now();
    running.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
}

// ---- The real binary: what clients were told after a halt is what a restart rebuilds ----

mod api_util;

use api_util::{Served, cnc, post_api, short_agent, spawn_serve};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const KEY: &str = "stage-failure-key-0123456789abcdef0123456";

/// `serve` on `dir` without a simulated feed; with `panic` = `Some("STAGE")`, that stage
/// panics on any order whose strategy is "poison" (`TICKFILL_INJECT_PANIC`).
fn serve(dir: &std::path::Path, panic: Option<&str>) -> Served {
    spawn_serve(dir, KEY, 0, |c| {
        c.env_remove(tickfill::fault::VAR);
        if let Some(stage) = panic {
            c.env(tickfill::fault::VAR, format!("{stage}:poison"));
        }
    })
}

/// Places a resting LIMIT buy (never fills: no ticks) with `strategy`: the status and body.
fn place(s: &Served, strategy: &str) -> (u16, Value) {
    let mut body = cnc("SBIN", "BUY", 1, "LIMIT", 700.0);
    body["apikey"] = json!(KEY);
    body["strategy"] = json!(strategy);
    let agent = api_util::rest_agent(Duration::from_secs(30));
    let mut r = agent.post(format!("{}/api/v1/placeorder", s.base)).send_json(&body).unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap())
}

fn acked(s: &Served, strategy: &str) -> String {
    let (status, v) = place(s, strategy);
    assert_eq!(status, 200, "{v}");
    v["orderid"].as_str().unwrap().to_owned()
}

fn refused(s: &Served, strategy: &str) {
    let (status, v) = place(s, strategy);
    assert_eq!(status, 503, "the order was not refused: {v}");
}

/// The orderbook's ids, or the error status and body when reads are refused.
fn orderbook(s: &Served) -> Result<BTreeSet<String>, (u16, Value)> {
    let agent = api_util::rest_agent(Duration::from_secs(30));
    let mut r = agent
        .post(format!("{}/api/v1/orderbook", s.base))
        .send_json(json!({"apikey": KEY}))
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.body_mut().read_json().unwrap();
    if status != 200 {
        return Err((status, v));
    }
    Ok(v["data"]["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["orderid"].as_str().unwrap().to_owned())
        .collect())
}

/// `/health` with the key: the HTTP status and the body.
fn health(s: &Served) -> (u16, Value) {
    let agent = api_util::rest_agent(Duration::from_secs(30));
    let mut r = agent.get(format!("{}/health?apikey={KEY}", s.base)).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap())
}

fn ids(list: &[&String]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).clone()).collect()
}

/// Fanout holds no state replay rebuilds: after its panic the state stays journaled and
/// readable; only orders are refused, and a refused order is not journaled, so the
/// restart (no fault) holds exactly the acknowledged orders. Before this rule the refused
/// order was journaled and replay accepted it.
#[test]
fn after_a_fanout_halt_reads_go_on_and_the_restart_holds_exactly_the_acknowledged_orders() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path(), Some("fanout"));
    let a = acked(&s, "plain");
    // Execution and MTM accept it, fanout panics on it: the state holds it, so it is
    // acknowledged (and journaled).
    let x = acked(&s, "poison");
    refused(&s, "plain");
    let (status, h) = health(&s);
    assert_eq!(status, 503, "{h}");
    assert!(h["engine"]["reason"].as_str().unwrap().contains("stage fanout failed"), "{h}");
    assert_eq!(orderbook(&s).expect("reads go on after a fanout halt"), ids(&[&a, &x]));
    s.kill9();

    let s = serve(dir.path(), None);
    assert_eq!(orderbook(&s).unwrap(), ids(&[&a, &x]), "the restart holds what clients were told");
    let (status, h) = health(&s);
    assert_eq!(status, 200, "the restarted engine is healthy: {h}");
    let halts = h["engine"]["recovery"]["earlier_halts"].as_array().unwrap();
    assert_eq!(halts.len(), 1, "{h}");
    assert!(halts[0].as_str().unwrap().contains("stage fanout failed"), "{h}");
    assert!(
        s.stdout.iter().any(|l| l.contains("an earlier run halted at seq")),
        "the recovery line names the halt: {:?}",
        s.stdout
    );
}

/// Execution or MTM panicking leaves a state replay would not rebuild: the engine
/// freezes (the order it panicked on and every later one refused, reads refused), and the
/// restart (no fault) holds exactly the orders acknowledged before the halt.
#[test]
fn after_an_execution_or_mtm_halt_the_restart_holds_exactly_what_clients_were_told() {
    for stage in ["execution", "mtm"] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = serve(dir.path(), Some(stage));
        let a = acked(&s, "plain");
        refused(&s, "poison");
        refused(&s, "plain");
        let (status, v) = orderbook(&s).expect_err("reads are refused after the halt");
        assert_eq!(status, 503, "{stage}: {v}");
        let (status, h) = health(&s);
        assert_eq!(status, 503, "{h}");
        assert!(
            h["engine"]["reason"].as_str().unwrap().contains(&format!("stage {stage} failed")),
            "{h}"
        );
        s.kill9();

        let s = serve(dir.path(), None);
        assert_eq!(orderbook(&s).unwrap(), ids(&[&a]), "{stage}: refused orders came back");
        let (status, h) = health(&s);
        assert_eq!(status, 200, "{stage}: {h}");
        let halts = h["engine"]["recovery"]["earlier_halts"].as_array().unwrap();
        assert_eq!(halts.len(), 1, "{stage}: {h}");
        // New orders are taken again.
        let b = acked(&s, "plain");
        assert_eq!(orderbook(&s).unwrap(), ids(&[&a, &b]));
    }
}

/// A journaled input that panics a stage on replay (a build whose execution panics on an
/// order an earlier build acknowledged) is quarantined: the engine starts, says so on
/// stderr and in /health, takes orders, and the input stays out on every later restart.
/// The orders are told apart by quantity: order ids are allocated in sequence, so the
/// orders after a quarantined placement get the ids one lower on restart (a documented
/// cost of the quarantine, see RELIABILITY.md).
#[test]
fn a_journaled_input_that_panics_replay_is_quarantined_and_the_engine_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path(), None);
    let a = place_qty(&s, "plain", 1);
    place_qty(&s, "poison", 2);
    place_qty(&s, "plain", 3);
    s.kill9();

    let mut s = serve(dir.path(), Some("execution"));
    assert!(
        s.stderr_text().contains("QUARANTINED the journaled input at seq"),
        "stderr: {}",
        s.stderr_text()
    );
    let (status, h) = health(&s);
    assert_eq!(status, 200, "the engine goes on: {h}");
    let quarantined = h["engine"]["recovery"]["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), 1, "{h}");
    assert!(quarantined[0].as_str().unwrap().contains("injected panic"), "{h}");
    assert_eq!(quantities(&s), vec![(a.clone(), 1), (String::new(), 3)], "the poison order is out");
    place_qty(&s, "plain", 4);
    s.sigterm();

    // The quarantine is kept: without the fault the input still stays out.
    let s = serve(dir.path(), None);
    assert_eq!(quantities(&s), vec![(a, 1), (String::new(), 3), (String::new(), 4)]);
    let file = std::fs::read_to_string(dir.path().join("quarantine")).unwrap();
    assert_eq!(file.lines().count(), 1, "{file}");
}

fn place_qty(s: &Served, strategy: &str, qty: i64) -> String {
    let mut body = cnc("SBIN", "BUY", qty, "LIMIT", 700.0);
    body["apikey"] = json!(KEY);
    body["strategy"] = json!(strategy);
    let v = post_api(&short_agent(), &s.base, "placeorder", &body).expect("placeorder");
    assert_eq!(v["status"], "success", "{v}");
    v["orderid"].as_str().unwrap().to_owned()
}

/// The orderbook as (id, quantity) in placement order, the id kept for the first order
/// only (the one before the quarantined input keeps its id).
fn quantities(s: &Served) -> Vec<(String, i64)> {
    let v = post_api(&short_agent(), &s.base, "orderbook", &json!({"apikey": KEY})).unwrap();
    let mut rows: Vec<(String, i64)> = v["data"]["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| (o["orderid"].as_str().unwrap().to_owned(), o["quantity"].as_i64().unwrap()))
        .collect();
    rows.sort();
    for row in rows.iter_mut().skip(1) {
        row.0.clear();
    }
    rows
}
