//! The four stage adapters: each wraps its stage's state and implements
//! [`Stage`](crate::ring::Stage) for the ring: stamping times, answering the queries it
//! owns, writing its part of snapshots.

#![forbid(unsafe_code)]

use crate::clock::mono_now_ns;
use crate::engine::reply::{CommandOutcome, ReplyRouter, Response};
use crate::event::{Event, Input, QueryKind, RejectStatus, Reply, StageOutput, Ticket};
use crate::exec::Exec;
use crate::fanout::Fanout;
use crate::fanout::updates::UpdateSignal;
use crate::health::{Halt, Health};
use crate::interest::Interest;
use crate::journal::Journal;
use crate::journal::codec::HaltRecord;
use crate::latency::{FILL_LOG, FillTime, PUBLISH_EVERY, SharedLatency, StageHistograms};
use crate::msg;
use crate::mtm::Mtm;
use crate::ring::Stage;
use crate::types::Seq;
use crate::views::QueryReply;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Splits snapshot bytes into execution's and MTM's parts: `[u64 LE exec_len][exec][mtm]`.
pub fn split_snapshot(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let len = usize::try_from(len).ok()?;
    let rest = &bytes[8..];
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// What the four stages are built from: their state (recovered, or fresh in benches and
/// tests) and the handles they share with the rest of the engine.
#[derive(Debug)]
pub struct StageParts {
    /// Execution state.
    pub exec: Exec,
    /// MTM state.
    pub mtm: Mtm,
    /// The journal, open for appending.
    pub journal: Journal,
    /// Where snapshots go.
    pub data_dir: PathBuf,
    /// The latest quote per symbol, written by fanout.
    pub board: Arc<crate::fanout::quotes::QuoteBoard>,
    /// Order updates to the WebSocket server.
    pub updates: crate::fanout::updates::UpdateSender,
    /// Wakes the order-update reader after a commit.
    pub update_signal: Arc<UpdateSignal>,
    /// Reply waiters.
    pub router: Arc<ReplyRouter>,
    /// Health, shared.
    pub health: Arc<Health>,
    /// Published latency histograms.
    pub latency: Arc<SharedLatency>,
    /// Which symbols need quotes.
    pub interest: Arc<Interest>,
    /// Every subscribed tick, in order, to the WebSocket server (`None`: conflated
    /// quotes from the board only, as in benches that have no WebSocket clients).
    pub ticks: Option<crate::fanout::ticks::TickSender>,
}

/// The four stages in ring order, wired from their parts: the one place this is done
/// (the engine, the harness's baselines, the benches and the tests all call it).
pub fn wire(p: StageParts) -> (ExecStage, MtmStage, FanoutStage, JournalStage) {
    (
        ExecStage::new(p.exec, Arc::clone(&p.health), p.interest),
        MtmStage { mtm: p.mtm },
        FanoutStage {
            fanout: match p.ticks {
                Some(ticks) => Fanout::new(p.board, p.updates).with_ticks(ticks),
                None => Fanout::new(p.board, p.updates),
            },
        },
        JournalStage::new(p.journal, p.data_dir, p.router, p.health, p.latency, p.update_signal),
    )
}

const REFUSED: &str = "the engine refuses new orders after an internal failure; see /health";

/// Stage 1 on the ring.
#[derive(Debug)]
pub struct ExecStage {
    /// Execution state.
    pub exec: Exec,
    health: Arc<Health>,
    interest: Arc<Interest>,
}

impl ExecStage {
    /// Wraps execution; publishes which symbols it needs quotes for into `interest`.
    pub fn new(exec: Exec, health: Arc<Health>, interest: Arc<Interest>) -> ExecStage {
        for s in exec.symbols_needing_quotes() {
            interest.set_engine(s, true);
        }
        ExecStage { exec, health, interest }
    }

    /// Tells the feed which of the symbols this event touched still need quotes.
    #[inline]
    fn publish_interest(&self, out: &StageOutput) {
        for s in
            out.updates.iter().map(|u| u.order.symbol).chain(out.positions.iter().map(|p| p.symbol))
        {
            self.interest.set_engine(s, self.exec.needs_quotes(s));
        }
    }
}

impl Stage for ExecStage {
    const NAME: &'static str = "execution";

    #[inline]
    fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        match &event.input {
            Input::Command(_) if self.health.refusing_orders() => {
                out.reply = Reply::Rejected {
                    status: RejectStatus::Unavailable,
                    message: msg!("{REFUSED}"),
                };
            }
            Input::Query(q) => {
                out.answer = self.exec.answer(&q.kind);
                if q.kind == QueryKind::StateHash {
                    out.digest = self.exec.digest();
                }
            }
            Input::Snapshot => {
                let s = self.exec.snapshot();
                out.snapshot.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.snapshot.extend_from_slice(&s);
            }
            _ => {
                super::fault::check(Self::NAME, event);
                self.exec.apply(event, out);
                self.publish_interest(out);
            }
        }
        out.times.exec_ns = mono_now_ns();
    }

    fn on_event_after_failure(&mut self, event: &Event, out: &mut StageOutput, why: &str) {
        // What a panicking `apply` wrote before it panicked is not published.
        out.updates.clear();
        out.positions.clear();
        out.funds_changed = false;
        match &event.input {
            Input::Command(_) => {
                out.reply = Reply::Rejected {
                    status: RejectStatus::Unavailable,
                    message: msg!("{REFUSED}"),
                };
            }
            Input::Query(q) if !matches!(q.kind, QueryKind::PositionBook | QueryKind::Funds) => {
                out.answer = Some(QueryReply::Unavailable(why.to_string()));
            }
            _ => {}
        }
        out.times.exec_ns = mono_now_ns();
    }
}

/// Stage 2 on the ring.
#[derive(Debug)]
pub struct MtmStage {
    /// Valuations.
    pub mtm: Mtm,
}

impl Stage for MtmStage {
    const NAME: &'static str = "mtm";

    #[inline]
    fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        match &event.input {
            Input::Query(q) => match q.kind {
                QueryKind::StateHash => {
                    let d = crate::digest::combine(out.digest, self.mtm.digest());
                    out.answer = Some(QueryReply::StateHash(d));
                }
                kind => {
                    if let Some(a) = self.mtm.answer(&kind) {
                        out.answer = Some(a);
                    }
                }
            },
            Input::Snapshot => {
                let s = self.mtm.snapshot();
                out.snapshot.extend_from_slice(&s);
            }
            _ => {
                super::fault::check(Self::NAME, event);
                self.mtm.apply(event, out);
            }
        }
        out.times.mtm_ns = mono_now_ns();
    }

    fn on_event_after_failure(&mut self, event: &Event, out: &mut StageOutput, why: &str) {
        if let Input::Query(q) = &event.input {
            if matches!(q.kind, QueryKind::PositionBook | QueryKind::Funds | QueryKind::StateHash) {
                out.answer = Some(QueryReply::Unavailable(why.to_string()));
            }
        }
        if let Input::Snapshot = event.input {
            out.snapshot.clear(); // an incomplete snapshot must not be written
        }
        out.times.mtm_ns = mono_now_ns();
    }
}

/// Stage 3 on the ring.
#[derive(Debug)]
pub struct FanoutStage {
    /// Publisher of quotes and updates.
    pub fanout: Fanout,
}

impl Stage for FanoutStage {
    const NAME: &'static str = "fanout";

    #[inline]
    fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        super::fault::check(Self::NAME, event);
        self.fanout.apply(event, out);
        out.times.fanout_ns = mono_now_ns();
    }
}

/// Stage 4 on the ring: journals inputs, writes snapshots, releases replies, records latency.
///
/// # Invariants (what a client is told or shown equals what a restart rebuilds)
/// - A command refused because the engine had halted (execution's reply is
///   [`RejectStatus::Unavailable`], which execution itself never produces) changed nothing
///   and is not journaled, so replay cannot accept it.
/// - A stage panic is journaled as a halt record ([`HaltRecord`], event kind 4). When the
///   stage holds state (execution, MTM) its state is no longer what replay rebuilds, so the
///   journal **freezes**: the event it panicked on is voided (the halt record takes its
///   sequence), nothing later is journaled, later commands are refused, reads are refused
///   (`Unavailable`), and `durable_seq` stops (no order update after the halt is released).
///   A fanout panic leaves the state intact: journaling and reads go on, only orders are
///   refused, and the halt record takes the first sequence no journaled event uses.
/// - After a journal failure (append or commit) reads are refused as well: execution has
///   applied commands the journal does not hold, so what it would show is not durable.
/// - A batch's replies are released after its commit; a snapshot is written only after
///   the commit of its batch, so no snapshot holds an effect the journal lost.
/// - When a rotation cannot create the next segment, the journal keeps the batch's records
///   up to [`Journal::last_seq`] (rolled back after it) and commits them: commands up to
///   that sequence keep their reply, later ones are refused.
#[derive(Debug)]
pub struct JournalStage {
    journal: Journal,
    data_dir: PathBuf,
    router: Arc<ReplyRouter>,
    health: Arc<Health>,
    shared_latency: Arc<SharedLatency>,
    local: StageHistograms,
    /// Fills decided on ticks since the last publish (bounded by `FILL_LOG`).
    fills: Vec<FillTime>,
    last_publish: Instant,
    pending: Vec<(Ticket, Response)>,
    batch_last: Option<Seq>,
    /// The batch carries order updates: wake their reader after the commit.
    batch_updates: bool,
    update_signal: Arc<UpdateSignal>,
    failed: Option<String>,
    /// The stage panic health reported, once seen.
    halt: Option<Halt>,
    /// The halt still to be journaled (at the first sequence free for it).
    halt_unwritten: bool,
    /// Execution or MTM halted at this sequence: the journal is frozen from it on.
    frozen_at: Option<Seq>,
    /// Snapshots taken in this batch, written once the batch has committed.
    snapshots: Vec<(Seq, Vec<u8>)>,
}

/// The stages whose state replay rebuilds: a panic in one freezes the journal.
fn holds_state(stage: &str) -> bool {
    stage == ExecStage::NAME || stage == MtmStage::NAME
}

impl JournalStage {
    /// A journal stage appending to `journal`.
    pub fn new(
        journal: Journal,
        data_dir: PathBuf,
        router: Arc<ReplyRouter>,
        health: Arc<Health>,
        shared_latency: Arc<SharedLatency>,
        update_signal: Arc<UpdateSignal>,
    ) -> JournalStage {
        JournalStage {
            journal,
            data_dir,
            router,
            health,
            shared_latency,
            local: StageHistograms::default(),
            fills: Vec::with_capacity(FILL_LOG),
            last_publish: Instant::now(),
            pending: Vec::with_capacity(64),
            batch_last: None,
            batch_updates: false,
            update_signal,
            failed: None,
            halt: None,
            halt_unwritten: false,
            frozen_at: None,
            snapshots: Vec::new(),
        }
    }

    fn fail(&mut self, why: String) {
        tracing::error!(error = %why, "journal: failed; refusing new orders and reads until a restart");
        self.health.fail(format!("journal: {why}"));
        self.failed = Some(why);
        self.snapshots.clear();
    }

    /// Picks up a stage panic once health reports one and this event has reached it.
    #[inline]
    fn watch_for_halt(&mut self, seq: Seq) {
        if self.halt.is_some() || self.failed.is_some() || !self.health.refusing_orders() {
            return;
        }
        let Some(h) = self.health.halted() else { return };
        if h.seq > seq.0 {
            return; // an earlier stage is ahead of this one; its panic is not here yet
        }
        if holds_state(h.stage) {
            self.frozen_at = Some(Seq(h.seq));
        }
        self.halt_unwritten = true;
        self.halt = Some(h);
    }

    fn frozen(&self, seq: Seq) -> bool {
        self.frozen_at.is_some_and(|f| seq >= f)
    }

    /// Journals the halt at `seq` (a sequence no journaled event uses).
    fn write_halt(&mut self, seq: Seq, time_ns: i64) {
        let Some(h) = &self.halt else { return };
        let record = HaltRecord { seq, time_ns, why: h.why.clone() };
        self.halt_unwritten = false;
        if let Err(e) = self.journal.append_halt(&record) {
            self.append_failed(e.to_string());
        }
    }

    /// An append failed: the journal keeps the records up to its last sequence (see
    /// [`Journal::append`]); commit those, and refuse everything after them (or everything,
    /// when that commit fails too).
    fn append_failed(&mut self, why: String) {
        self.fail(why);
        let kept = self.journal.last_seq();
        let committed = self.journal.commit().is_ok();
        for (_, r) in &mut self.pending {
            match r {
                Response::Command(c) if !committed || kept.is_none_or(|k| c.seq > k) => {
                    c.reply = Reply::Rejected {
                        status: RejectStatus::Unavailable,
                        message: msg!("journal cannot write; the order was not accepted"),
                    };
                }
                Response::Query(q) => *q = QueryReply::Unavailable(reads_refused()),
                Response::Command(_) => {}
            }
        }
        if committed {
            if let Some(k) = kept {
                self.health.durable_seq.store(k.0, Ordering::Release);
                self.update_signal.notify();
            }
        }
        self.batch_last = None;
        self.batch_updates = false;
    }

    fn record_latency(&mut self, event: &Event, out: &StageOutput, now: u64) {
        let t = out.times;
        let recv = event.header.recv_ns;
        if recv == 0 || t.exec_ns == 0 {
            return;
        }
        self.local.record(0, t.exec_ns.saturating_sub(recv));
        self.local.record(1, t.mtm_ns.saturating_sub(t.exec_ns));
        self.local.record(2, t.fanout_ns.saturating_sub(t.mtm_ns));
        self.local.record(3, now.saturating_sub(t.fanout_ns));
        self.local.record(4, now.saturating_sub(recv));
        if let Input::Tick(tick) = &event.input {
            if out.updates.iter().any(|u| u.fill.is_some()) {
                self.local.record(5, t.exec_ns.saturating_sub(recv));
                if self.fills.len() < FILL_LOG {
                    self.fills.push(FillTime { symbol: tick.symbol.0, exec_ns: t.exec_ns });
                }
            }
        }
    }
}

fn reads_refused() -> String {
    "the journal cannot write, so the engine may hold effects that are not durable: reads are \
     refused until a restart rebuilds the durable state"
        .to_string()
}

impl Stage for JournalStage {
    const NAME: &'static str = "journal";

    fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        let now = mono_now_ns();
        let seq = event.header.seq;
        self.record_latency(event, out, now);
        self.watch_for_halt(seq);
        let frozen = self.frozen(seq);
        // Refused for a halt: nothing changed (see the invariants).
        let refused = matches!(event.input, Input::Command(_))
            && matches!(out.reply, Reply::Rejected { status: RejectStatus::Unavailable, .. });
        if self.failed.is_none() {
            if event.input.is_journaled() && !frozen && !refused {
                if let Err(e) = self.journal.append(event) {
                    self.append_failed(e.to_string());
                }
            } else if self.halt_unwritten {
                self.write_halt(seq, event.header.time_ns);
            }
        }
        match &event.input {
            Input::Command(c) => {
                let reply = if let Some(why) = &self.failed {
                    Reply::Rejected {
                        status: RejectStatus::Unavailable,
                        message: msg!("journal cannot write ({why}); the order was not accepted"),
                    }
                } else if frozen && !refused {
                    Reply::Rejected {
                        status: RejectStatus::Unavailable,
                        message: msg!("{REFUSED}"),
                    }
                } else {
                    out.reply
                };
                let outcome = CommandOutcome { seq, reply, updates: out.updates.clone() };
                self.pending.push((c.ticket, Response::Command(outcome)));
            }
            Input::Query(q) => {
                let answer = if self.failed.is_some() {
                    QueryReply::Unavailable(reads_refused())
                } else if frozen {
                    let why = self.halt.as_ref().map_or("", |h| h.why.as_str());
                    QueryReply::Unavailable(format!(
                        "{why}: the engine's state is no longer what a restart rebuilds, so \
                         reads are refused until a restart"
                    ))
                } else {
                    out.answer.take().unwrap_or_else(|| {
                        QueryReply::Unavailable("no stage answered this query".to_string())
                    })
                };
                self.pending.push((q.ticket, Response::Query(answer)));
            }
            Input::Snapshot if !out.snapshot.is_empty() && self.failed.is_none() && !frozen => {
                self.snapshots.push((seq, std::mem::take(&mut out.snapshot)));
            }
            _ => {}
        }
        if !frozen && self.failed.is_none() {
            self.batch_last = Some(seq);
            self.batch_updates |= !out.updates.is_empty();
        }
    }

    fn on_batch_end(&mut self) {
        if self.failed.is_none() {
            // Timed per batch (a vDSO clock read, no syscall) for `/metrics`: a journal
            // that cannot keep up shows here before it shows as busy refusals.
            let started = Instant::now();
            if self.batch_last.is_some() || !self.pending.is_empty() {
                super::fault::slow_commit();
            }
            let committed = self.journal.commit();
            let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.health.journal_commits.record(took);
            if let Err(e) = committed {
                self.fail(e.to_string());
                for (_, r) in &mut self.pending {
                    match r {
                        Response::Command(c) => {
                            c.reply = Reply::Rejected {
                                status: RejectStatus::Unavailable,
                                message: msg!("journal cannot sync; the order was not accepted"),
                            };
                        }
                        Response::Query(q) => *q = QueryReply::Unavailable(reads_refused()),
                    }
                }
            } else {
                if let Some(seq) = self.batch_last.take() {
                    self.health.durable_seq.store(seq.0, Ordering::Release);
                    if std::mem::take(&mut self.batch_updates) {
                        self.update_signal.notify();
                    }
                }
                // Only now: a snapshot must never hold an effect the journal lost.
                for (seq, bytes) in self.snapshots.drain(..) {
                    if let Err(e) = crate::journal::write_snapshot(&self.data_dir, seq, &bytes) {
                        tracing::error!(seq = seq.0, error = %e, "journal: snapshot failed");
                    }
                }
            }
        }
        self.snapshots.clear();
        for (ticket, response) in self.pending.drain(..) {
            self.router.deliver(ticket, response);
        }
        // A hand-over, not a merge (see SharedLatency); tried again next period when
        // the reader has not merged the previous one yet.
        if self.last_publish.elapsed() >= PUBLISH_EVERY {
            self.shared_latency.try_publish(&mut self.local, &mut self.fills);
            self.last_publish = Instant::now();
        }
    }
}

impl Drop for JournalStage {
    fn drop(&mut self) {
        self.shared_latency.publish(&self.local, &self.fills);
        self.local.reset();
        self.fills.clear();
    }
}

#[cfg(test)]
#[path = "stage_tests.rs"]
mod tests;
