//! File-backed tests of the journal: open, append, rotate, recover, replay, snapshots.
//! Every test maps files, so none runs under Miri (the slice logic is tested in `record`).

use super::*;
use crate::event::{Command, CommandKind, Header, Input, Ticket};
use crate::types::Tag;
use std::path::Path;

/// Small segments (64 KiB) so rotation happens within a few hundred events.
const SMALL: u64 = 64 * 1024;

fn config(dir: &Path, sync: SyncLevel) -> JournalConfig {
    JournalConfig { segment_bytes: SMALL, sync, ..JournalConfig::new(dir) }
}

/// Event `i` (seq `i + 1`, with gaps every 7th), cycling through every sample shape; the
/// last byte of each payload is non-zero (a CancelAll tag ends every seventh).
fn event(i: u64) -> Event {
    let samples = codec::tests::samples();
    let mut e = samples[(i % samples.len() as u64) as usize];
    e.header = Header {
        seq: Seq(1 + i + i / 7),
        time_ns: 1_700_000_000_000_000_000 + i as i64,
        recv_ns: 0,
        stream_seq: 0,
    };
    e
}

/// An event whose encoding ends with a non-zero byte, so cutting its end always changes it.
fn tagged_event(seq: u64) -> Event {
    Event {
        header: Header { seq: Seq(seq), time_ns: 42, recv_ns: 0, stream_seq: 0 },
        input: Input::Command(Command {
            ticket: Ticket(seq),
            kind: CommandKind::CancelAll { strategy: Tag::new("tail").unwrap() },
        }),
    }
}

fn write_events(cfg: &JournalConfig, events: &[Event]) -> Journal {
    let (mut j, _) = Journal::open(cfg).unwrap();
    for e in events {
        j.append(e).unwrap();
    }
    j.commit().unwrap();
    j
}

fn read_all(dir: &Path) -> Vec<Event> {
    read_events(dir, None).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
}

fn segments(dir: &Path) -> Vec<String> {
    segment::list(dir)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect()
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn append_reopen_and_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SyncLevel::None);
    let events: Vec<Event> = (0..100).map(event).collect();
    let j = write_events(&cfg, &events);
    assert_eq!(j.records(), 100);
    assert_eq!(j.last_seq(), Some(events[99].header.seq));
    drop(j);
    let (j, report) = Journal::open(&cfg).unwrap();
    assert_eq!(report.records, 100);
    assert_eq!(report.last_seq, Some(events[99].header.seq));
    assert_eq!((report.torn_tail, report.damage), (None, None));
    assert_eq!(j.records(), 100);
    assert_eq!(read_all(dir.path()), events);
    // `after` skips what a snapshot already covers.
    let after = events[49].header.seq;
    let tail: Vec<Event> =
        read_events(dir.path(), Some(after)).unwrap().map(Result::unwrap).collect();
    assert_eq!(tail, events[50..]);
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_new_dir_is_created_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a/b");
    assert_eq!(read_events(&sub, None).unwrap().count(), 0);
    let (j, report) = Journal::open(&config(&sub, SyncLevel::None)).unwrap();
    assert_eq!((report.records, report.last_seq), (0, None));
    assert_eq!(j.current_segment(), "journal-00000001.seg");
    assert_eq!(read_all(&sub), vec![]);
    assert_eq!(report.to_string(), "journal: 0 records, empty");
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn rotation_spans_several_segments_and_reopen_continues() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SyncLevel::Msync);
    let events: Vec<Event> = (0..8_000).map(event).collect();
    let j = write_events(&cfg, &events[..6_000]);
    let before = j.current_segment().to_string();
    drop(j);
    assert!(segments(dir.path()).len() >= 3, "{:?}", segments(dir.path()));
    let j = write_events(&cfg, &events[6_000..]);
    assert!(j.current_segment() >= before.as_str());
    assert_eq!(j.records(), 8_000);
    drop(j);
    assert_eq!(read_all(dir.path()), events);
    for name in segments(dir.path()) {
        let len = std::fs::metadata(dir.path().join(&name)).unwrap().len();
        assert_eq!(len, SMALL, "{name}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn appends_must_increase_and_be_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap();
    j.append(&tagged_event(5)).unwrap();
    assert!(matches!(
        j.append(&tagged_event(5)),
        Err(JournalError::SeqNotIncreasing { seq: 5, last: 5 })
    ));
    let query =
        Event { input: Input::Snapshot, header: Header { seq: Seq(6), ..Header::default() } };
    assert!(matches!(j.append(&query), Err(JournalError::Codec(CodecError::NotJournaled { .. }))));
    assert_eq!(j.records(), 1);
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn sync_levels_all_work() {
    for level in ["none", "msync", "fsync"] {
        let sync: SyncLevel = level.parse().unwrap();
        assert_eq!(sync.to_string(), level);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), sync);
        let events: Vec<Event> = (0..600).map(event).collect();
        let (mut j, _) = Journal::open(&cfg).unwrap();
        for batch in events.chunks(50) {
            for e in batch {
                j.append(e).unwrap();
            }
            j.commit().unwrap();
        }
        j.commit().unwrap();
        drop(j);
        assert_eq!(read_all(dir.path()), events, "{level}");
    }
    assert!("fdatasync".parse::<SyncLevel>().is_err());
    assert_eq!(" MSYNC ".parse::<SyncLevel>(), Ok(SyncLevel::Msync));
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn too_small_segments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), SyncLevel::None);
    cfg.segment_bytes = 100;
    assert!(matches!(Journal::open(&cfg), Err(JournalError::SegmentTooSmall { .. })));
}

/// Writes `n` tagged records into one segment; returns each record's (offset, end).
/// `n` tagged records at level `none`; `clean` stops cleanly (everything synced, the
/// sync mark at the end), else the journal is dropped as by `kill -9` (nothing synced
/// since the header: every record is past the sync mark).
fn tagged_journal(dir: &Path, n: u64, clean: bool) -> Vec<(u64, u64)> {
    let cfg = config(dir, SyncLevel::None);
    let (mut j, _) = Journal::open(&cfg).unwrap();
    let mut spans = Vec::new();
    for seq in 1..=n {
        let start = j.writer.pos() as u64;
        j.append(&tagged_event(seq)).unwrap();
        spans.push((start, j.writer.pos() as u64));
    }
    if clean {
        drop(j);
    } else {
        j.crash();
    }
    spans
}

fn seg1(dir: &Path) -> std::path::PathBuf {
    dir.join("journal-00000001.seg")
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_torn_tail_at_every_byte_is_repaired_and_reported() {
    let master = tempfile::tempdir().unwrap();
    let spans = tagged_journal(master.path(), 5, false);
    let pristine = std::fs::read(seg1(master.path())).unwrap();
    let (start, end) = spans[4];
    let want: Vec<Event> = (1..=4).map(tagged_event).collect();
    for k in start..end {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = pristine.clone();
        bytes[k as usize..end as usize].fill(0);
        std::fs::write(seg1(dir.path()), &bytes).unwrap();
        // The reader agrees, without touching the file.
        assert_eq!(read_all(dir.path()), want, "cut at {k}");
        assert_eq!(std::fs::read(seg1(dir.path())).unwrap(), bytes);
        let (mut j, report) = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap();
        assert_eq!((report.records, report.last_seq), (4, Some(Seq(4))), "cut at {k}");
        if k == start {
            // Nothing of the record was written: a clean end.
            assert_eq!(report.torn_tail, None);
        } else {
            let torn = report.torn_tail.clone().expect("torn tail reported");
            assert_eq!(torn.segment, "journal-00000001.seg");
            assert_eq!(torn.offset, start, "cut at {k}");
            assert!(torn.bytes >= 1 && torn.bytes <= end - start, "cut at {k}");
            assert!(report.to_string().contains("torn tail in journal-00000001.seg"));
        }
        // The torn bytes are gone from the file, the good ones untouched.
        let repaired = std::fs::read(seg1(dir.path())).unwrap();
        assert!(repaired[start as usize..].iter().all(|&b| b == 0), "cut at {k}");
        // (The header's sync mark moves to the end of the good records.)
        assert_eq!(repaired[16..start as usize], pristine[16..start as usize]);
        // Writing continues where the good records end.
        j.append(&tagged_event(9)).unwrap();
        drop(j);
        let mut expect = want.clone();
        expect.push(tagged_event(9));
        assert_eq!(read_all(dir.path()), expect, "cut at {k}");
        let (_, again) = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap();
        assert_eq!((again.records, again.torn_tail), (5, None));
    }
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_flipped_bit_in_the_middle_refuses_to_start_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let spans = tagged_journal(dir.path(), 6, true);
    let (start, end) = spans[2];
    let path = seg1(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[((start + end) / 2) as usize] ^= 0x04;
    std::fs::write(&path, &bytes).unwrap();

    let err = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap_err();
    match &err {
        JournalError::Damaged { segment, offset, .. } => {
            assert_eq!((segment.as_str(), *offset), ("journal-00000001.seg", start));
        }
        other => panic!("expected Damaged, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("journal-00000001.seg") && msg.contains(&start.to_string()), "{msg}");
    // The reader yields the good records before the damage, then the damage, then ends.
    let read: Vec<_> = read_events(dir.path(), None).unwrap().collect();
    assert!(read[..read.len() - 1].iter().all(Result::is_ok));
    assert!(matches!(read.last(), Some(Err(JournalError::Damaged { .. }))), "{read:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "refusing must not modify");

    let mut cfg = config(dir.path(), SyncLevel::None);
    cfg.accept_damaged = true;
    let (mut j, report) = Journal::open(&cfg).unwrap();
    assert_eq!((report.records, report.last_seq), (2, Some(Seq(2))));
    let damage = report.damage.clone().unwrap();
    assert_eq!((damage.segment.as_str(), damage.offset), ("journal-00000001.seg", start));
    assert_eq!(damage.set_aside, vec!["journal-00000001.seg.damaged".to_string()]);
    assert_eq!(std::fs::read(dir.path().join("journal-00000001.seg.damaged")).unwrap(), bytes);
    j.append(&tagged_event(3)).unwrap();
    drop(j);
    assert_eq!(read_all(dir.path()), (1..=3).map(tagged_event).collect::<Vec<_>>());
    let (_, clean) = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap();
    assert_eq!((clean.records, clean.damage), (3, None));

    // Damage again: the earlier copy set aside is kept, the new one gets a fresh name.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(spans[1].0 + 20) as usize] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let (_, report) = Journal::open(&cfg).unwrap();
    let damage = report.damage.unwrap();
    assert_eq!(damage.set_aside, vec!["journal-00000001.seg.damaged.1".to_string()]);
    assert_eq!(report.records, 1);
    assert!(dir.path().join("journal-00000001.seg.damaged").exists());
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn damage_in_an_earlier_segment_is_damage_not_a_tail() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SyncLevel::None);
    let events: Vec<Event> = (0..1_000).map(event).collect();
    drop(write_events(&cfg, &events));
    assert!(segments(dir.path()).len() >= 2);
    // Cut the last record of segment 1 (a torn-looking end, but segment 2 has data).
    let path = seg1(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let used = bytes.iter().rposition(|&b| b != 0).unwrap();
    bytes[used] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    match Journal::open(&cfg) {
        Err(JournalError::Damaged { segment, .. }) => assert_eq!(segment, "journal-00000001.seg"),
        other => panic!("expected Damaged, got {other:?}"),
    }
    let mut accept = cfg.clone();
    accept.accept_damaged = true;
    let (j, report) = Journal::open(&accept).unwrap();
    let damage = report.damage.unwrap();
    assert!(damage.set_aside.contains(&"journal-00000002.seg.damaged".to_string()));
    assert_eq!(segments(dir.path()), vec!["journal-00000001.seg".to_string()]);
    let kept = report.records as usize;
    assert!(kept > 0 && kept < events.len());
    assert_eq!(j.records(), kept as u64);
    drop(j);
    assert_eq!(read_all(dir.path()), events[..kept]);
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_foreign_file_named_like_a_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(seg1(dir.path()), b"hello, this is not a journal").unwrap();
    assert!(matches!(
        Journal::open(&config(dir.path(), SyncLevel::None)),
        Err(JournalError::NotASegment { .. })
    ));
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn snapshots_round_trip_prune_and_skip_corrupt_ones() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(latest_snapshot(dir.path()).unwrap(), None);
    for seq in [10u64, 20, 30, 40] {
        let path = write_snapshot(dir.path(), Seq(seq), format!("state {seq}").as_bytes()).unwrap();
        assert_eq!(path.file_name().unwrap().to_str().unwrap(), format!("snapshot-{seq:020}.snap"));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [20, 30, 40].map(|s| format!("snapshot-{s:020}.snap")));
    assert_eq!(latest_snapshot(dir.path()).unwrap(), Some((Seq(40), b"state 40".to_vec())));

    // Corrupt the newest: the older one is used and the bad one reported.
    let newest = dir.path().join(snapshot::file_name(Seq(40)));
    let mut bytes = std::fs::read(&newest).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&newest, &bytes).unwrap();
    let load = load_snapshots(dir.path()).unwrap();
    assert_eq!(load.latest, Some((Seq(30), b"state 30".to_vec())));
    assert_eq!(load.skipped.len(), 1);
    assert_eq!(load.skipped[0].path, newest);
    assert!(load.skipped[0].reason.contains("CRC"), "{}", load.skipped[0].reason);
    // Truncated, or renamed to another sequence: also skipped.
    std::fs::write(&newest, &bytes[..10]).unwrap();
    std::fs::rename(
        dir.path().join(snapshot::file_name(Seq(30))),
        dir.path().join(snapshot::file_name(Seq(35))),
    )
    .unwrap();
    let load = load_snapshots(dir.path()).unwrap();
    assert_eq!(load.latest, Some((Seq(20), b"state 20".to_vec())));
    assert_eq!(load.skipped.len(), 2);
    // An empty state is valid.
    write_snapshot(dir.path(), Seq(50), b"").unwrap();
    assert_eq!(latest_snapshot(dir.path()).unwrap(), Some((Seq(50), Vec::new())));
}

/// A tmpfs refuses a preallocation beyond its size at once (no blocks are taken), so a
/// huge segment there reproduces a full disk safely. Other filesystems would really fill
/// up, so the test runs only where /dev/shm is a tmpfs.
#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_full_disk_is_a_clear_error_at_creation_and_rotation() {
    let shm = Path::new("/dev/shm");
    match rustix::fs::statfs(shm) {
        Ok(s) if s.f_type == 0x0102_1994 => {} // TMPFS_MAGIC
        _ => {
            eprintln!("skipped: /dev/shm is not a tmpfs");
            return;
        }
    }
    let dir = tempfile::tempdir_in(shm).unwrap();
    let huge = 1u64 << 50;
    let mut cfg = config(dir.path(), SyncLevel::None);
    cfg.segment_bytes = huge;
    let err = Journal::open(&cfg).unwrap_err();
    match &err {
        JournalError::DiskFull { path, needed } => {
            assert_eq!(*path, seg1(dir.path()));
            assert_eq!(*needed, huge);
        }
        other => panic!("expected DiskFull, got {other:?}"),
    }
    assert!(err.to_string().contains("free space"), "{err}");
    assert!(segments(dir.path()).is_empty(), "no half-made segment is left");

    // At rotation: the journal keeps its full segment and what earlier commits made
    // durable; the batch that needed the next segment is rolled back and refused.
    let (mut j, _) = Journal::open(&config(dir.path(), SyncLevel::Msync)).unwrap();
    for seq in 1..=10 {
        j.append(&tagged_event(seq)).unwrap();
    }
    j.commit().unwrap();
    j.segment_bytes = huge;
    let mut seq = 10;
    let err = loop {
        seq += 1;
        if let Err(e) = j.append(&tagged_event(seq)) {
            break e;
        }
    };
    assert!(seq > 100, "the segment took only {seq} events");
    assert!(matches!(err, JournalError::DiskFull { .. }), "{err:?}");
    assert_eq!((j.records(), j.last_seq()), (10, Some(Seq(10))), "the batch is rolled back");
    j.commit().unwrap();
    assert_eq!(segments(dir.path()), vec!["journal-00000001.seg".to_string()]);
    j.crash();
    assert_eq!(read_all(dir.path()), (1..=10).map(tagged_event).collect::<Vec<_>>());
    // The rolled-back bytes read as unwritten space: a clean end, appends go on there.
    let (mut j, report) = Journal::open(&config(dir.path(), SyncLevel::Msync)).unwrap();
    assert!(report.torn_tail.is_none() && report.damage.is_none(), "{report}");
    j.append(&tagged_event(11)).unwrap();
    j.commit().unwrap();
    drop(j);
    assert_eq!(read_all(dir.path()), (1..=11).map(tagged_event).collect::<Vec<_>>());
}

/// A rotation that fails after an earlier rotation in the same batch keeps the part of
/// the batch in the older segment (synced whole first) and rolls back the rest.
#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_failed_rotation_keeps_the_batch_part_an_earlier_rotation_synced() {
    let shm = Path::new("/dev/shm");
    let dir = tempfile::tempdir_in(shm).expect("/dev/shm (a tmpfs) for a safe full disk");
    let (mut j, _) = Journal::open(&config(dir.path(), SyncLevel::Msync)).unwrap();
    j.append(&tagged_event(1)).unwrap();
    j.commit().unwrap();
    let first = j.current_segment().to_string();
    let mut seq = 1;
    while j.current_segment() == first {
        seq += 1;
        j.append(&tagged_event(seq)).unwrap();
    }
    let kept = seq; // the first record of the second segment, same batch
    j.segment_bytes = 1 << 50;
    let err = loop {
        seq += 1;
        if let Err(e) = j.append(&tagged_event(seq)) {
            break e;
        }
    };
    assert!(matches!(err, JournalError::DiskFull { .. }), "{err:?}");
    let last = j.last_seq().unwrap().0;
    assert!(last < kept, "the second segment's part is rolled back ({last} >= {kept})");
    j.commit().unwrap();
    j.crash();
    assert_eq!(read_all(dir.path()), (1..=last).map(tagged_event).collect::<Vec<_>>());
}

/// A halt record (event kind 4) is read back apart from the events.
#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_halt_record_is_kept_apart_from_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap();
    j.append(&tagged_event(1)).unwrap();
    let halt = codec::HaltRecord { seq: Seq(2), time_ns: 5, why: "stage mtm failed".into() };
    j.append_halt(&halt).unwrap();
    assert!(matches!(j.append(&tagged_event(2)), Err(JournalError::SeqNotIncreasing { .. })));
    j.append(&tagged_event(3)).unwrap();
    j.commit().unwrap();
    drop(j);
    let mut events = read_events(dir.path(), None).unwrap();
    let read: Vec<_> = events.by_ref().map(Result::unwrap).collect();
    assert_eq!(read, vec![tagged_event(1), tagged_event(3)]);
    assert_eq!(events.halts(), &[halt]);
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn append_reuses_its_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap();
    let (ptr, cap) = (j.buf.as_ptr(), j.buf.capacity());
    for i in 0..1_000 {
        j.append(&event(i)).unwrap();
    }
    assert_eq!((j.buf.as_ptr(), j.buf.capacity()), (ptr, cap));
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_record_with_a_good_crc_but_a_foreign_payload_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_events(&config(dir.path(), SyncLevel::None), &[tagged_event(1)]));
    let path = seg1(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = segment::HEADER + record::framed_len(bytes[segment::HEADER] as usize);
    record::write(&mut bytes[at..], Seq(2), &[9, 9, 9]).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let mut events = read_events(dir.path(), None).unwrap();
    assert_eq!(events.next().unwrap().unwrap(), tagged_event(1));
    match events.next() {
        Some(Err(JournalError::Undecodable { segment, offset, seq: 2, source })) => {
            assert_eq!((segment.as_str(), offset), ("journal-00000001.seg", at as u64));
            assert_eq!(source, CodecError::UnsupportedVersion { found: 9 });
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
    assert!(events.next().is_none());
}

/// A rotation inside a batch leaves the full segment to the commit: when syncing it
/// fails, the commit fails (so every command of the batch, also those written to the old
/// segment, is refused), and so does every later commit.
#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_sync_failure_in_a_rotation_fails_the_whole_batch_and_every_later_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(&config(dir.path(), SyncLevel::Msync)).unwrap();
    j.append(&event(0)).unwrap();
    j.commit().unwrap();
    j.fail_retired_sync = true;
    let first = j.current_segment().to_string();
    let mut i = 1;
    while j.current_segment() == first {
        j.append(&event(i)).unwrap();
        i += 1;
    }
    let e = j.commit().unwrap_err();
    assert!(e.to_string().contains("injected"), "{e}");
    let again = j.commit().unwrap_err();
    assert!(matches!(again, JournalError::SyncFailedEarlier(_)), "{again}");
    assert!(matches!(j.flush(), Err(JournalError::SyncFailedEarlier(_))));
}

/// A clean stop flushes at every level: the sync mark is at the end of the last record,
/// so nothing written before the stop reads as unsynced afterwards.
#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_clean_stop_flushes_and_moves_the_sync_mark_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(&config(dir.path(), SyncLevel::None)).unwrap();
    for i in 0..50 {
        j.append(&event(i)).unwrap();
    }
    j.commit().unwrap();
    assert_eq!(j.sync_mark(), Some(segment::HEADER as u64), "level none syncs nothing");
    let end = j.writer.pos() as u64;
    drop(j);
    let bytes = std::fs::read(seg1(dir.path())).unwrap();
    assert_eq!(segment::sync_mark(&bytes), Some(end));
}

/// Appends `events` from `n` one batch of 16 at a time until the current segment is past
/// half full, then waits for the helper to make the next segment; returns where it stopped.
fn fill_past_half(j: &mut Journal, events: &[Event], mut n: usize) -> usize {
    let first = j.current_segment().to_string();
    while j.writer.pos() <= j.writer.len() / 2 {
        for e in &events[n..n + 16] {
            j.append(e).unwrap();
        }
        n += 16;
        j.commit().unwrap();
        assert_eq!(j.current_segment(), first, "rotated before half full");
    }
    assert!(j.wait_for_spare(), "the helper made no spare");
    n
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn the_rotation_takes_the_segment_made_ahead_and_everything_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SyncLevel::Fsync);
    let events: Vec<Event> = (0..3_000).map(event).collect();
    let (mut j, _) = Journal::open(&cfg).unwrap();
    let n = fill_past_half(&mut j, &events, 0);
    // The spare is on disk, full size, all zero, and not a segment.
    let spare = dir.path().join(segment::spare_name(2));
    let bytes = std::fs::read(&spare).unwrap();
    assert_eq!(bytes.len() as u64, SMALL);
    assert!(bytes.iter().all(|&b| b == 0));
    assert_eq!(segments(dir.path()), vec![segment::file_name(1)]);
    assert_eq!(read_all(dir.path()), events[..n]);
    // The rotation renames it in.
    let mut m = n;
    while j.current_segment() == segment::file_name(1) {
        j.append(&events[m]).unwrap();
        m += 1;
    }
    j.commit().unwrap();
    assert_eq!(j.spares_used(), 1);
    assert!(!spare.exists());
    assert_eq!(segments(dir.path()), vec![segment::file_name(1), segment::file_name(2)]);
    // And the next one, made while segment 2 fills.
    let mut m = fill_past_half(&mut j, &events, m);
    while j.current_segment() == segment::file_name(2) {
        j.append(&events[m]).unwrap();
        m += 1;
    }
    assert_eq!(j.spares_used(), 2);
    for e in &events[m..] {
        j.append(e).unwrap();
    }
    j.commit().unwrap();
    drop(j);
    assert_eq!(read_all(dir.path()), events);
    assert!(files(dir.path()).iter().all(|f| !f.ends_with(".next")), "{:?}", files(dir.path()));
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_crash_with_a_spare_made_recovers_the_same_records_and_removes_the_spare() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SyncLevel::Msync);
    let events: Vec<Event> = (0..3_000).map(event).collect();
    let (mut j, _) = Journal::open(&cfg).unwrap();
    let n = fill_past_half(&mut j, &events, 0);
    j.crash();
    let spare = dir.path().join(segment::spare_name(2));
    assert!(spare.exists(), "a crash leaves the spare: {:?}", files(dir.path()));
    // Recovery reads the same records, ignores the spare, and removes it.
    let (mut j, report) = Journal::open(&cfg).unwrap();
    assert_eq!((report.records, report.torn_tail, report.damage), (n as u64, None, None));
    assert!(!spare.exists(), "{:?}", files(dir.path()));
    // Appending goes on across rotations (into spares made by the new helper, or not).
    for e in &events[n..] {
        j.append(e).unwrap();
    }
    j.commit().unwrap();
    drop(j);
    assert_eq!(read_all(dir.path()), events);
    assert!(segments(dir.path()).len() >= 3);
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn a_spare_of_another_size_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), SyncLevel::None);
    let events: Vec<Event> = (0..3_000).map(event).collect();
    let (mut j, _) = Journal::open(&cfg).unwrap();
    let mut m = fill_past_half(&mut j, &events, 0);
    j.set_segment_bytes(2 * SMALL);
    while j.current_segment() == segment::file_name(1) {
        j.append(&events[m]).unwrap();
        m += 1;
    }
    j.commit().unwrap();
    assert_eq!(j.spares_used(), 0);
    let len = std::fs::metadata(dir.path().join(segment::file_name(2))).unwrap().len();
    assert_eq!(len, 2 * SMALL, "the segment was made at the new size");
    assert!(!dir.path().join(segment::spare_name(2)).exists());
    drop(j);
    assert_eq!(read_all(dir.path()), events[..m]);
}
