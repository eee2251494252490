//! The journal's record framing (scan / read_at / records) and payload codec, plus the
//! torn/damaged verdict of `record::scan` checked against a model.
//!
//! Model input: `[op, count, pos_lo, pos_hi, payload bytes...]`. `count % 16 + 1` records
//! with increasing sequences are written into a region (payloads cut from the rest of the
//! input), then `op % 3` picks: nothing (clean, every record kept), a cut at `pos` (every
//! byte from there zeroed: the records wholly before it kept; a torn tail when the cut
//! falls inside a record, clean at a boundary or when what is left of the record is zero;
//! damage only where the cut record's payload
//! holds a well-formed record), or a changed byte at `pos` (the records
//! before the one it lands in kept; a bad record there: damage when a later record is
//! intact, else a torn tail or, should the payload happen to hold a well-formed record,
//! damage pointing at a position that does read as a record).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tickfill::journal::{codec, record};
use tickfill::types::Seq;

fn model(data: &[u8]) {
    let [op, count, lo, hi, pool @ ..] = data else { return };
    let n = usize::from(*count % 16) + 1;
    let chunk = (pool.len() / n).max(1);
    let mut region = vec![0u8; 16 * 1024 + n * (record::HEADER + chunk + 8)];
    let mut starts = Vec::new();
    let mut at = 0;
    for i in 0..n {
        let from = (i * chunk).min(pool.len());
        let mut payload = pool[from..(from + chunk).min(pool.len())].to_vec();
        if payload.is_empty() {
            payload.push(i as u8 + 1);
        }
        // A non-zero last byte, so a cut anywhere inside the record changes it.
        *payload.last_mut().unwrap() |= 1;
        starts.push(at);
        at += record::write(&mut region[at..], Seq(10 + 3 * i as u64), &payload).unwrap();
    }
    starts.push(at);
    let end = at;
    let pos = usize::from(u16::from_le_bytes([*lo, *hi])) % end.max(1);
    let within = |p: usize| starts.iter().rposition(|&s| s <= p).unwrap();
    match op % 3 {
        0 => {
            let s = record::scan(&region, None);
            assert_eq!((s.end, s.records, s.tail), (end, n as u64, record::Tail::Clean));
        }
        1 => {
            region[pos..].fill(0);
            let s = record::scan(&region, None);
            let j = within(pos);
            assert_eq!((s.end, s.records), (starts[j], j as u64), "cut at {pos}");
            if region[starts[j]..pos].iter().all(|&b| b == 0) {
                // At a boundary, or the cut record's surviving bytes are all zero: nothing
                // of it reached the region, which reads as unwritten space.
                assert_eq!(s.tail, record::Tail::Clean, "cut at {pos}, nothing of record {j} left");
            } else {
                // A torn tail, or, should the cut record's payload happen to hold a
                // well-formed record, damage pointing at a position that reads as one.
                match s.tail {
                    record::Tail::Torn { offset, .. } => assert_eq!(offset, starts[j]),
                    record::Tail::Damaged {
                        offset,
                        problem: record::Problem::BadRecord { next_valid },
                    } => {
                        assert_eq!(offset, starts[j]);
                        assert!(
                            next_valid > offset && record::read_at(&region, next_valid).is_some()
                        );
                    }
                    other => panic!("cut at {pos} in record {j}: {other:?}"),
                }
            }
        }
        _ => {
            region[pos] ^= 0x5a;
            let s = record::scan(&region, None);
            let j = within(pos);
            assert_eq!((s.end, s.records), (starts[j], j as u64), "flip at {pos}");
            match s.tail {
                record::Tail::Damaged {
                    offset,
                    problem: record::Problem::BadRecord { next_valid },
                } => {
                    assert_eq!(offset, starts[j]);
                    assert!(next_valid > offset && record::read_at(&region, next_valid).is_some());
                }
                record::Tail::Torn { offset, .. } => {
                    assert_eq!(offset, starts[j]);
                    assert_eq!(j, n - 1, "a torn tail although record {} is intact", j + 1);
                }
                other => panic!("flip at {pos} in record {j}: {other:?}"),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    model(data);
    // The whole input as one payload.
    if let Ok(event) = codec::decode(data) {
        // What decodes must re-encode and decode to the same event.
        let mut buf = Vec::new();
        codec::encode(&event, &mut buf).expect("a decoded event re-encodes");
        let again = codec::decode(&buf).expect("a re-encoded event decodes");
        assert_eq!(format!("{event:?}"), format!("{again:?}"));
    }
    // The whole input as a segment region.
    let prev = data.first().map(|&b| Seq(u64::from(b)));
    let scan = record::scan(data, prev);
    assert!(scan.end <= data.len());
    for r in record::records(data, scan.end) {
        let _ = codec::decode(r.payload);
    }
    let _ = record::read_at(data, data.len() / 2);
});
