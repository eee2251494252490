//! The journal stage's batch rules against a real journal on a real (full) tmpfs: a
//! rotation that cannot create the next segment refuses the batch's commands, and a
//! snapshot taken in a batch that did not commit is never written.

use super::*;
use crate::event::{Command, CommandKind, Header, Reply, Tick};
use crate::journal::{JournalConfig, SyncLevel};
use crate::types::{OrderId, Price, SymbolId, Tag};

fn event(seq: u64, input: Input) -> Event {
    Event {
        header: Header { seq: Seq(seq), time_ns: 1_000 + seq as i64, recv_ns: 0, stream_seq: 0 },
        input,
    }
}

fn command(router: &ReplyRouter) -> (Input, crossbeam_channel::Receiver<Response>) {
    let (ticket, rx) = router.register().expect("a free reply cell");
    let kind = CommandKind::CancelAll { strategy: Tag::new("s").unwrap() };
    (Input::Command(Command { ticket, kind }), rx)
}

fn reply(rx: &crossbeam_channel::Receiver<Response>) -> Reply {
    match rx.try_recv().expect("the reply is released at the batch end") {
        Response::Command(c) => c.reply,
        other => panic!("{other:?}"),
    }
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_rotation_that_cannot_create_a_segment_refuses_the_batch_and_writes_no_snapshot() {
    let dir = tempfile::tempdir_in("/dev/shm").expect("/dev/shm (a tmpfs) for a safe full disk");
    let config = JournalConfig {
        segment_bytes: JournalConfig::MIN_SEGMENT_BYTES,
        sync: SyncLevel::Msync,
        ..JournalConfig::new(dir.path())
    };
    let (journal, _) = Journal::open(&config).unwrap();
    let router = Arc::new(ReplyRouter::new());
    let health = Arc::new(Health::new());
    let mut stage = JournalStage::new(
        journal,
        dir.path().to_path_buf(),
        Arc::clone(&router),
        Arc::clone(&health),
        Arc::new(SharedLatency::default()),
        Arc::default(),
    );
    let mut out = StageOutput::new();
    // Batch 1 commits: its command is acknowledged.
    let (input, acked) = command(&router);
    out.reply = Reply::Placed(OrderId(1));
    stage.on_event(&event(1, input), &mut out);
    stage.on_batch_end();
    assert_eq!(reply(&acked), Reply::Placed(OrderId(1)));

    // Batch 2: a command, a snapshot, then ticks until the segment is full and the next
    // one cannot be made (a 1 PiB segment on a tmpfs).
    stage.journal.set_segment_bytes(1 << 50);
    let (input, refused) = command(&router);
    out.clear();
    out.reply = Reply::Placed(OrderId(2));
    stage.on_event(&event(2, input), &mut out);
    out.clear();
    out.snapshot.extend_from_slice(b"state that holds order 2");
    stage.on_event(&event(3, Input::Snapshot), &mut out);
    let tick = Tick { symbol: SymbolId(0), ltp: Price(812), ..Tick::default() };
    let mut seq = 3;
    while !health.refusing_orders() {
        seq += 1;
        assert!(seq < 100_000, "the journal never filled its segment");
        out.clear();
        stage.on_event(&event(seq, Input::Tick(tick)), &mut out);
    }
    let (input, after) = command(&router);
    out.clear();
    out.reply = Reply::Placed(OrderId(3));
    stage.on_event(&event(seq + 1, input), &mut out);
    stage.on_batch_end();

    for (rx, what) in [(&refused, "the batch's earlier command"), (&after, "a later command")] {
        match reply(rx) {
            Reply::Rejected { status: RejectStatus::Unavailable, message } => {
                assert!(message.as_str().contains("journal cannot write"), "{what}: {message}");
            }
            other => panic!("{what} was not refused: {other:?}"),
        }
    }
    assert!(health.reason().unwrap().contains("disk full"), "{:?}", health.reason());
    assert_eq!(health.durable_seq.load(Ordering::Acquire), 1);
    assert!(
        crate::journal::snapshot::list(dir.path()).unwrap().is_empty(),
        "a snapshot of a batch that did not commit was written"
    );
    drop(stage);
    let kept: Vec<_> = crate::journal::read_events(dir.path(), None)
        .unwrap()
        .map(|e| e.unwrap().header.seq.0)
        .collect();
    assert_eq!(kept, vec![1], "the journal holds exactly the acknowledged command");
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_snapshot_is_written_after_its_batch_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(&JournalConfig::new(dir.path())).unwrap();
    let router = Arc::new(ReplyRouter::new());
    let mut stage = JournalStage::new(
        journal,
        dir.path().to_path_buf(),
        router,
        Arc::new(Health::new()),
        Arc::new(SharedLatency::default()),
        Arc::default(),
    );
    let mut out = StageOutput::new();
    stage.on_event(&event(1, Input::Timer), &mut out);
    out.snapshot.extend_from_slice(b"state");
    stage.on_event(&event(2, Input::Snapshot), &mut out);
    assert!(crate::journal::snapshot::list(dir.path()).unwrap().is_empty(), "before the commit");
    stage.on_batch_end();
    let written = crate::journal::snapshot::list(dir.path()).unwrap();
    assert_eq!(written.iter().map(|(s, _)| s.0).collect::<Vec<_>>(), vec![2]);
}
