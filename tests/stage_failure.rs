//! A panicking stage makes the engine refuse new orders with a clear error while reads
//! keep working; it never hangs. The real execution, MTM and journal stages run; the
//! third stage is a fanout that panics on its 5th tick, to provoke the failure.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tickfill::engine::reply::{ReplyRouter, Response};
use tickfill::engine::stages::{ExecStage, JournalStage, MtmStage};
use tickfill::event::{
    Command, CommandKind, Event, Input, OrderRequest, Query, QueryKind, RejectStatus, Reply,
    StageOutput, Tick,
};
use tickfill::exec::{Exec, ExecConfig};
use tickfill::health::Health;
use tickfill::instruments::InstrumentMaster;
use tickfill::journal::{Journal, JournalConfig};
use tickfill::latency::SharedLatency;
use tickfill::mtm::Mtm;
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Pipeline, Stage, Topology};
use tickfill::types::{Price, PriceType, Product, Qty, Seq, Side, Tag};
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
    let stages = (
        ExecStage::new(
            exec,
            Arc::clone(&health),
            Arc::new(tickfill::interest::Interest::new(master.len())),
        ),
        MtmStage { mtm },
        PanicsOnFifthTick(0),
        JournalStage::new(
            journal,
            dir.path().to_path_buf(),
            Arc::clone(&router),
            Arc::clone(&health),
            Arc::new(SharedLatency::default()),
            Default::default(),
        ),
    );
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
    let (t1, rx1) = router.register();
    publisher.publish(
        Input::Command(Command { ticket: t1, kind: CommandKind::Place(order) }),
        now,
        0,
    );
    let (t2, rx2) = router.register();
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
        Response::Query(QueryReply::Funds(f)) => assert_eq!(f.used_margin, Price::ZERO),
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
