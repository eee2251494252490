//! A small deterministic digest for state comparisons (replay determinism checks).

#![forbid(unsafe_code)]

/// FNV-1a, 64-bit. Not cryptographic; stable across runs and platforms.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Combines two digests order-sensitively.
pub fn combine(a: u64, b: u64) -> u64 {
    fnv1a(&[a.to_le_bytes(), b.to_le_bytes()].concat())
}
