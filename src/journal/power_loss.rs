//! Power loss at every sync level: pages past each segment's sync mark are dropped, cut
//! short or kept at random (the page cache writes back in any order), the newest segment's
//! directory entry may be lost if no commit followed its creation, and the header page
//! may carry any earlier sync mark. Recovery must then start (a torn tail, never damage),
//! keep every record below a sync mark (at `msync` and `fsync`: every acknowledged one)
//! and keep nothing but a prefix of what was written.

use super::*;
use crate::event::Event;
use std::collections::HashMap;

const PAGE: usize = 4096;
const SEGMENT: u64 = 64 * 1024;

/// xorshift64*: a seeded generator, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn event(i: u64) -> Event {
    let samples = codec::tests::samples();
    let mut e = samples[(i % samples.len() as u64) as usize];
    e.header.seq = Seq(i + 1);
    e.header.time_ns = 1_700_000_000_000_000_000 + i as i64;
    e
}

struct Written {
    events: Vec<Event>,
    /// Per record: (segment name, start, end) as file offsets.
    spans: Vec<(String, u64, u64)>,
    /// Records appended before the last successful commit (acknowledged).
    acked: usize,
    /// Per segment: every sync mark it showed after a commit.
    marks: HashMap<String, Vec<u64>>,
    /// A rotation happened after the last commit.
    rotated_since_commit: bool,
}

/// Appends events in batches of 1-20, committing after each, and stops ("crashes") at a
/// random point, possibly mid-batch.
fn write(dir: &Path, level: SyncLevel, rng: &mut Rng) -> Written {
    let cfg = JournalConfig { segment_bytes: SEGMENT, sync: level, ..JournalConfig::new(dir) };
    let (mut j, _) = Journal::open(&cfg).unwrap();
    let total = 300 + rng.below(700);
    let mut w = Written {
        events: Vec::new(),
        spans: Vec::new(),
        acked: 0,
        marks: HashMap::new(),
        rotated_since_commit: false,
    };
    let mut i = 0;
    while i < total {
        let batch = 1 + rng.below(20);
        for _ in 0..batch.min(total - i) {
            let e = event(i);
            let (before_seg, before) = (j.current_segment().to_string(), j.writer.pos() as u64);
            j.append(&e).unwrap();
            let seg = j.current_segment().to_string();
            let start = if seg == before_seg { before } else { segment::HEADER as u64 };
            w.rotated_since_commit |= seg != before_seg;
            w.spans.push((seg, start, j.writer.pos() as u64));
            w.events.push(e);
            i += 1;
        }
        // The last batch is never committed: the crash comes before its sync.
        if i < total {
            j.commit().unwrap();
            w.acked = w.events.len();
            w.rotated_since_commit = false;
            let mark = j.sync_mark().unwrap();
            w.marks.entry(j.current_segment().to_string()).or_default().push(mark);
        }
    }
    j.crash();
    w
}

fn mark_of(bytes: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(bytes[12..16].try_into().unwrap()))
}

/// What the disk may hold after a power loss, given what the page cache held.
fn lose_pages(dir: &Path, w: &Written, rng: &mut Rng) {
    let listed = segment::list(dir).unwrap();
    if w.rotated_since_commit && rng.below(2) == 0 {
        // The newest segment's directory entry was never synced.
        std::fs::remove_file(&listed.last().unwrap().1).unwrap();
    }
    for (_, path) in segment::list(dir).unwrap() {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let mut bytes = std::fs::read(&path).unwrap();
        let synced = mark_of(&bytes) as usize;
        for p in 0..bytes.len() / PAGE {
            let (lo, hi) = (p * PAGE, (p + 1) * PAGE);
            if hi <= synced {
                continue;
            }
            let from = lo.max(synced);
            match rng.below(3) {
                0 => {}
                1 => bytes[from..hi].fill(0),
                _ => {
                    let cut = from + rng.below((hi - from) as u64) as usize;
                    bytes[cut..hi].fill(0);
                }
            }
        }
        if synced == segment::HEADER && rng.below(2) == 0 {
            // Never synced: the header page itself may be missing.
            bytes[..PAGE].fill(0);
        } else {
            // The header page may have been written back with any earlier mark.
            let mut marks = vec![segment::HEADER as u64];
            marks.extend(
                w.marks.get(&name).into_iter().flatten().filter(|&&m| m as usize <= synced),
            );
            let m = marks[rng.below(marks.len() as u64) as usize] as u32;
            bytes[12..16].copy_from_slice(&m.to_le_bytes());
        }
        std::fs::write(&path, &bytes).unwrap();
    }
}

#[test]
#[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
fn lost_unsynced_pages_are_a_torn_tail_at_every_sync_level() {
    let seeds: u64 = if cfg!(debug_assertions) { 12 } else { 200 };
    for level in [SyncLevel::None, SyncLevel::Msync, SyncLevel::Fsync] {
        let mut torn = 0;
        for seed in 1..=seeds {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) + level as u64);
            let dir = tempfile::tempdir().unwrap();
            let w = write(dir.path(), level, &mut rng);
            // Every record wholly below its segment's mark as the page cache held it must
            // survive; at msync and fsync that is every acknowledged record.
            let marks: HashMap<String, u64> = segment::list(dir.path())
                .unwrap()
                .into_iter()
                .map(|(i, p)| (segment::file_name(i), mark_of(&std::fs::read(p).unwrap())))
                .collect();
            let durable = w.spans.iter().take_while(|(s, _, end)| *end <= marks[s]).count();
            if level != SyncLevel::None {
                assert!(durable >= w.acked, "{level} seed {seed}: {durable} < {}", w.acked);
            }
            lose_pages(dir.path(), &w, &mut rng);
            let read: Vec<Event> = read_events(dir.path(), None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{level} seed {seed}: reader: {e}"));
            let cfg = JournalConfig::new(dir.path());
            let (j, report) = Journal::open(&cfg)
                .unwrap_or_else(|e| panic!("{level} seed {seed}: refused to start: {e}"));
            let kept = report.records as usize;
            assert!(kept >= durable, "{level} seed {seed}: kept {kept} of {durable} durable");
            assert_eq!(read, w.events[..kept], "{level} seed {seed}: not a prefix");
            if kept < w.events.len() {
                torn += usize::from(report.torn_tail.is_some());
            }
            drop(j);
            // Repaired: a second open is clean and keeps the same records.
            let (_, again) = Journal::open(&cfg).unwrap();
            assert_eq!((again.records, again.torn_tail), (kept as u64, None), "{level} {seed}");
        }
        assert!(torn > 0, "{level}: no trial lost anything; the test tests nothing");
    }
}
