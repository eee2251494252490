//! Record framing over a byte region, and the scan that classifies how a region ends.
//!
//! ```text
//! record := len:u32 crc:u32 seq:u64 payload[len]      (little-endian)
//! crc    := CRC32C(seq bytes ++ payload)
//! ```
//!
//! Records follow each other with no padding; the space after the last record is zero.
//! A scan walks a region and ends in one of three ways ([`Tail`]):
//! - **clean**: only zero bytes after the last good record;
//! - **torn**: a bad record (length out of range, CRC mismatch, cut short) with no valid
//!   record anywhere after it: a write the process did not finish;
//! - **damaged**: a bad record followed by a valid one, or a record whose sequence does not
//!   increase: the middle of the journal is corrupt.
//!
//! # Invariants
//! - A record's `len` is in `1..=MAX_PAYLOAD`; an all-zero header is never a record.
//! - Sequences strictly increase. Gaps are allowed: queries and snapshot requests take a
//!   sequence number but are not journaled.
//!
//! # Performance
//! Writing is two copies and one CRC. The search for a valid record after a bad one checks
//! every byte offset, but a candidate is rejected by its length in most cases, and the
//! search stops at the last non-zero byte.

#![forbid(unsafe_code)]

use crate::types::Seq;

/// Bytes before the payload: length, CRC, sequence.
pub const HEADER: usize = 16;

/// The largest payload a record may carry; larger lengths mark a bad record.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// The bytes a record with `payload_len` payload bytes occupies.
#[inline]
pub const fn framed_len(payload_len: usize) -> usize {
    HEADER + payload_len
}

/// The CRC32C a record stores: over the sequence's bytes, then the payload.
#[inline]
pub fn checksum(seq: Seq, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&seq.0.to_le_bytes()), payload)
}

/// [`checksum`] of a framed record, whose sequence and payload are contiguous
/// (`framed[8..]`): one CRC call per record, which matters for records of a few dozen
/// bytes, where the call's setup costs about as much as the bytes.
#[inline]
fn checksum_framed(framed: &[u8]) -> u32 {
    crc32c::crc32c(&framed[8..])
}

/// Writes one record at the start of `dst`; returns the bytes written, or `None` (writing
/// nothing) when `dst` is too small or the payload is empty or over [`MAX_PAYLOAD`].
#[inline]
pub fn write(dst: &mut [u8], seq: Seq, payload: &[u8]) -> Option<usize> {
    let n = framed_len(payload.len());
    if payload.is_empty() || payload.len() > MAX_PAYLOAD || dst.len() < n {
        return None;
    }
    dst[8..16].copy_from_slice(&seq.0.to_le_bytes());
    dst[HEADER..n].copy_from_slice(payload);
    let crc = checksum_framed(&dst[..n]);
    dst[4..8].copy_from_slice(&crc.to_le_bytes());
    // The length goes last: until it is written the record reads as zero space.
    dst[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    Some(n)
}

/// One valid record found in a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record in the region.
    pub offset: usize,
    /// Its sequence.
    pub seq: Seq,
    /// Its payload.
    pub payload: &'a [u8],
}

impl Record<'_> {
    /// The bytes the record occupies.
    pub fn framed_len(&self) -> usize {
        framed_len(self.payload.len())
    }
}

/// Reads the record at `offset` if it is well formed and its CRC matches.
pub fn read_at(region: &[u8], offset: usize) -> Option<Record<'_>> {
    let header = region.get(offset..offset.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    if len == 0 || len > MAX_PAYLOAD {
        return None;
    }
    let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
    let seq = Seq(u64::from_le_bytes(header[8..16].try_into().ok()?));
    let start = offset + HEADER;
    let payload = region.get(start..start.checked_add(len)?)?;
    let framed = &region[offset..start + len];
    (checksum_framed(framed) == crc).then_some(Record { offset, seq, payload })
}

/// Why the middle of a region is damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A record with a bad length or CRC, followed by a valid record.
    BadRecord {
        /// Where the next valid record starts.
        next_valid: usize,
    },
    /// A valid record whose sequence is not above the one before it.
    SeqNotIncreasing {
        /// The sequence before.
        prev: Seq,
        /// The sequence found.
        found: Seq,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::BadRecord { next_valid } => {
                write!(f, "bad record (length or CRC) before a valid record at {next_valid}")
            }
            Problem::SeqNotIncreasing { prev, found } => {
                write!(f, "sequence {} follows {}: not increasing", found.0, prev.0)
            }
        }
    }
}

/// How a region ends after its last good record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// Only zero bytes follow.
    Clean,
    /// An unfinished write: `bytes` bytes from `offset` (to the last non-zero byte) are not
    /// a valid record and nothing valid follows them.
    Torn {
        /// Where the bad bytes start (the end of the good records).
        offset: usize,
        /// How many bytes are bad (up to and including the last non-zero byte).
        bytes: usize,
    },
    /// Corruption with valid data after it.
    Damaged {
        /// Where the bad record starts (the end of the good records).
        offset: usize,
        /// What is wrong.
        problem: Problem,
    },
}

/// The result of scanning a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// The end of the last good record (where the next record would go).
    pub end: usize,
    /// Good records.
    pub records: u64,
    /// The first good record's sequence.
    pub first_seq: Option<Seq>,
    /// The last good record's sequence.
    pub last_seq: Option<Seq>,
    /// How the region ends.
    pub tail: Tail,
    /// One past the last non-zero byte of the region (0 when all zero).
    pub used: usize,
}

/// The offset of the first valid record at or after `from`, searching only up to `used`
/// (one past the last non-zero byte).
pub fn next_valid(region: &[u8], from: usize, used: usize) -> Option<usize> {
    (from..used).find(|&q| read_at(region, q).is_some())
}

/// One past the last non-zero byte of `region` (0 when all zero). Preallocated segments
/// are mostly zero at the end, so this compares 64-byte blocks (which the compiler
/// vectorises) before finding the byte.
pub fn used_len(region: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let whole = region.len() - region.len() % BLOCK;
    let tail = &region[whole..];
    if let Some(i) = tail.iter().rposition(|&b| b != 0) {
        return whole + i + 1;
    }
    let mut blocks = region[..whole].chunks_exact(BLOCK);
    match blocks.rposition(|b| b.iter().fold(0u8, |acc, &x| acc | x) != 0) {
        Some(k) => {
            let block = &region[k * BLOCK..(k + 1) * BLOCK];
            k * BLOCK + block.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
        }
        None => 0,
    }
}

/// Walks `region` from its start; `prev` is the last sequence before the region (from an
/// earlier segment), if any.
pub fn scan(region: &[u8], prev: Option<Seq>) -> Scan {
    let used = used_len(region);
    let mut s =
        Scan { end: 0, records: 0, first_seq: None, last_seq: None, tail: Tail::Clean, used };
    let mut last = prev;
    let mut p = 0;
    while p < used {
        match read_at(region, p) {
            Some(r) => {
                if let Some(prev) = last.filter(|&q| r.seq <= q) {
                    let problem = Problem::SeqNotIncreasing { prev, found: r.seq };
                    s.tail = Tail::Damaged { offset: p, problem };
                    return s;
                }
                s.first_seq.get_or_insert(r.seq);
                s.last_seq = Some(r.seq);
                last = Some(r.seq);
                s.records += 1;
                p += r.framed_len();
                s.end = p;
            }
            None => {
                s.tail = match next_valid(region, p + 1, used) {
                    Some(next_valid) => {
                        Tail::Damaged { offset: p, problem: Problem::BadRecord { next_valid } }
                    }
                    None => Tail::Torn { offset: p, bytes: used - p },
                };
                return s;
            }
        }
    }
    s
}

/// Iterates the good records of `region` up to `end` (a [`Scan::end`] of these same
/// bytes).
pub fn records(region: &[u8], end: usize) -> Records<'_> {
    records_from(&region[..end.min(region.len())], 0)
}

/// Iterates the records of `region` (already cut at a [`Scan::end`]) from offset `pos`, a
/// record boundary.
pub fn records_from(region: &[u8], pos: usize) -> Records<'_> {
    Records { region, pos }
}

/// Iterator over records already validated by [`scan`] in the same bytes: it follows the
/// framing and does not compute the CRC again (recovery reads each record once). On bytes
/// that were not scanned it still never reads out of bounds; it stops at the first record
/// whose framing does not fit.
#[derive(Debug)]
pub struct Records<'a> {
    region: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let offset = self.pos;
        let header = self.region.get(offset..offset.checked_add(HEADER)?)?;
        let len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
        if len == 0 || len > MAX_PAYLOAD {
            return None;
        }
        let seq = Seq(u64::from_le_bytes(header[8..16].try_into().ok()?));
        let start = offset + HEADER;
        let payload = self.region.get(start..start.checked_add(len)?)?;
        self.pos = start + len;
        Some(Record { offset, seq, payload })
    }
}

/// Pure slice code: these tests run under Miri.
#[cfg(test)]
mod tests {
    use super::*;

    /// Writes records with sequences `seqs` and distinct non-zero payloads; returns the
    /// region and each record's offset.
    fn region_with(seqs: &[u64], size: usize) -> (Vec<u8>, Vec<usize>) {
        let mut region = vec![0u8; size];
        let mut offsets = Vec::new();
        let mut p = 0;
        for (i, &s) in seqs.iter().enumerate() {
            let payload: Vec<u8> = (0..5 + i).map(|k| (k + i + 1) as u8 | 1).collect();
            offsets.push(p);
            p += write(&mut region[p..], Seq(s), &payload).unwrap();
        }
        (region, offsets)
    }

    #[test]
    fn write_then_scan_is_clean() {
        let (region, offsets) = region_with(&[1, 2, 5, 9], 256);
        let s = scan(&region, None);
        assert_eq!(s.tail, Tail::Clean);
        assert_eq!(s.records, 4);
        assert_eq!((s.first_seq, s.last_seq), (Some(Seq(1)), Some(Seq(9))));
        let got: Vec<_> = records(&region, s.end).map(|r| (r.offset, r.seq.0)).collect();
        assert_eq!(got, offsets.iter().copied().zip([1, 2, 5, 9]).collect::<Vec<_>>());
        assert_eq!(s.end, s.used);
    }

    #[test]
    fn the_one_call_crc_equals_the_documented_one() {
        let (region, offsets) = region_with(&[7, 8], 128);
        for &o in &offsets {
            let r = read_at(&region, o).unwrap();
            let stored = u32::from_le_bytes(region[o + 4..o + 8].try_into().unwrap());
            assert_eq!(stored, checksum(r.seq, r.payload));
        }
    }

    #[test]
    fn used_len_finds_the_last_non_zero_byte() {
        for len in [0usize, 1, 63, 64, 65, 200, 1000] {
            let mut region = vec![0u8; len];
            assert_eq!(used_len(&region), 0, "len {len}");
            for at in (0..len).step_by(if cfg!(miri) { 97 } else { 7 }) {
                region.fill(0);
                region[at] = 3;
                assert_eq!(used_len(&region), at + 1, "len {len} at {at}");
                if at > 0 {
                    region[0] = 1;
                    assert_eq!(used_len(&region), at + 1, "len {len} at {at} with a first byte");
                }
            }
        }
    }

    #[test]
    fn empty_region_and_no_room() {
        assert_eq!(scan(&[0; 64], None).tail, Tail::Clean);
        assert_eq!(scan(&[], None).records, 0);
        let mut small = [0u8; 20];
        assert_eq!(write(&mut small, Seq(1), &[1; 5]), None);
        assert_eq!(write(&mut small, Seq(1), &[]), None);
        assert_eq!(small, [0; 20]);
        assert_eq!(write(&mut small, Seq(1), &[1; 4]), Some(20));
    }

    #[test]
    fn cutting_the_last_record_anywhere_is_a_torn_tail() {
        let (clean, offsets) = region_with(&[1, 2, 3], 200);
        let last = offsets[2];
        let end = scan(&clean, None).end;
        for k in last + 1..end {
            let mut region = clean.clone();
            region[k..end].fill(0);
            let s = scan(&region, None);
            assert_eq!(s.records, 2, "cut at {k}");
            assert_eq!(s.end, last);
            assert!(matches!(s.tail, Tail::Torn { offset, .. } if offset == last), "cut at {k}");
        }
        // Cut at the record's first byte: nothing of it is left, a clean end.
        let mut region = clean.clone();
        region[last..end].fill(0);
        assert_eq!(scan(&region, None).tail, Tail::Clean);
    }

    #[test]
    fn a_bit_flip_in_the_middle_is_damage() {
        let (clean, offsets) = region_with(&[1, 2, 3, 4], 256);
        let end = scan(&clean, None).end;
        for bit in (offsets[1] * 8..offsets[2] * 8).step_by(if cfg!(miri) { 37 } else { 1 }) {
            let mut region = clean.clone();
            region[bit / 8] ^= 1 << (bit % 8);
            let s = scan(&region, None);
            assert_eq!(s.records, 1, "bit {bit}");
            assert!(
                matches!(s.tail, Tail::Damaged { offset, .. } if offset == offsets[1]),
                "bit {bit}: {:?}",
                s.tail
            );
        }
        // The last record damaged with nothing after it is a torn tail.
        let mut region = clean.clone();
        region[end - 1] ^= 0x80;
        assert!(
            matches!(scan(&region, None).tail, Tail::Torn { offset, .. } if offset == offsets[3])
        );
    }

    #[test]
    fn sequences_must_increase() {
        let (region, offsets) = region_with(&[3, 4, 4], 200);
        let s = scan(&region, None);
        let problem = Problem::SeqNotIncreasing { prev: Seq(4), found: Seq(4) };
        assert_eq!(s.tail, Tail::Damaged { offset: offsets[2], problem });
        let (region, _) = region_with(&[3], 64);
        let s = scan(&region, Some(Seq(3)));
        assert_eq!(s.records, 0);
        assert!(matches!(s.tail, Tail::Damaged { offset: 0, .. }));
    }

    #[test]
    fn garbage_never_panics() {
        let mut state = 0x1234_5678_9abc_def1u64;
        for _ in 0..if cfg!(miri) { 20 } else { 2_000 } {
            let len = (crate::journal::codec::tests::rng(&mut state) % 300) as usize;
            let mut region: Vec<u8> =
                (0..len).map(|_| crate::journal::codec::tests::rng(&mut state) as u8).collect();
            if len > 4 {
                region[0..4].copy_from_slice(&8u32.to_le_bytes());
            }
            let s = scan(&region, None);
            assert!(s.end <= region.len());
            assert_eq!(records(&region, s.end).count() as u64, s.records);
        }
    }
}
