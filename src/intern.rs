//! Symbol interning: `EXCHANGE:SYMBOL` to a dense [`SymbolId`] through a fixed-capacity
//! open-addressing table (linear probing).
//!
//! The table is sized once, from the instrument master, and never allocates afterwards;
//! after construction it is read-only, so every thread (sequencer, REST, WebSocket server)
//! shares one copy behind an `Arc` without locks.
//!
//! # Invariants
//! - `slots.len()` is a power of two and at least twice the capacity, so a probe always
//!   reaches an empty slot and chains stay short.
//! - `slots[i] == 0` is empty; otherwise it holds `id + 1`.
//!
//! # Performance
//! A lookup hashes the key bytes (FNV-1a, no allocation) and probes a few `u32` slots.

#![forbid(unsafe_code)]

use crate::types::{Exchange, SymbolId};
use thiserror::Error;

/// The longest symbol name accepted, in bytes (NFO option names are about 25).
pub const MAX_SYMBOL_LEN: usize = 48;

/// A symbol name held inline, so keys and events never allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolKey {
    exchange: Exchange,
    len: u8,
    bytes: [u8; MAX_SYMBOL_LEN],
}

impl std::fmt::Debug for SymbolKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.exchange.as_str(), self.symbol())
    }
}

impl SymbolKey {
    /// A key for `exchange` and `symbol`; `None` if the symbol is empty or too long.
    pub fn new(exchange: Exchange, symbol: &str) -> Option<SymbolKey> {
        let s = symbol.as_bytes();
        if s.is_empty() || s.len() > MAX_SYMBOL_LEN {
            return None;
        }
        let mut bytes = [0; MAX_SYMBOL_LEN];
        bytes[..s.len()].copy_from_slice(s);
        Some(SymbolKey { exchange, len: s.len() as u8, bytes })
    }

    /// The exchange.
    pub fn exchange(&self) -> Exchange {
        self.exchange
    }

    /// The symbol text.
    pub fn symbol(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    fn hash(&self) -> u64 {
        // FNV-1a over the exchange byte and the name: cheap, and good enough for short keys.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in
            std::iter::once(&(self.exchange as u8)).chain(&self.bytes[..usize::from(self.len)])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
}

/// Why a symbol could not be added.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InternError {
    /// The table holds its capacity already; size it larger at startup.
    #[error("symbol table is full ({0} symbols); raise the capacity")]
    Full(usize),
}

/// The fixed-capacity interner.
#[derive(Debug)]
pub struct SymbolTable {
    keys: Vec<SymbolKey>,
    slots: Vec<u32>,
    capacity: usize,
}

impl SymbolTable {
    /// A table for up to `capacity` symbols; all memory is reserved here.
    pub fn with_capacity(capacity: usize) -> SymbolTable {
        let slots = (capacity.max(1) * 2).next_power_of_two();
        SymbolTable { keys: Vec::with_capacity(capacity), slots: vec![0; slots], capacity }
    }

    /// Number of interned symbols.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The id of `key`, interning it if new.
    pub fn intern(&mut self, key: SymbolKey) -> Result<SymbolId, InternError> {
        let mask = self.slots.len() - 1;
        let mut i = key.hash() as usize & mask;
        loop {
            match self.slots[i] {
                0 => {
                    if self.keys.len() >= self.capacity {
                        return Err(InternError::Full(self.capacity));
                    }
                    let id = self.keys.len() as u32;
                    self.keys.push(key);
                    self.slots[i] = id + 1;
                    return Ok(SymbolId(id));
                }
                s if self.keys[(s - 1) as usize] == key => return Ok(SymbolId(s - 1)),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The id of `key`, if interned. Never allocates.
    #[inline]
    pub fn get(&self, key: &SymbolKey) -> Option<SymbolId> {
        let mask = self.slots.len() - 1;
        let mut i = key.hash() as usize & mask;
        loop {
            match self.slots[i] {
                0 => return None,
                s if self.keys[(s - 1) as usize] == *key => return Some(SymbolId(s - 1)),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Looks up by exchange and name.
    #[inline]
    pub fn lookup(&self, exchange: Exchange, symbol: &str) -> Option<SymbolId> {
        SymbolKey::new(exchange, symbol).and_then(|k| self.get(&k))
    }

    /// The key of an id.
    pub fn key(&self, id: SymbolId) -> Option<&SymbolKey> {
        self.keys.get(id.index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_densely_and_finds_again() {
        let mut t = SymbolTable::with_capacity(1000);
        let ids: Vec<_> = (0..1000)
            .map(|i| t.intern(SymbolKey::new(Exchange::Nse, &format!("S{i}")).unwrap()).unwrap())
            .collect();
        assert_eq!(ids[0], SymbolId(0));
        assert_eq!(ids[999], SymbolId(999));
        for i in 0..1000 {
            assert_eq!(t.lookup(Exchange::Nse, &format!("S{i}")), Some(SymbolId(i)));
            assert_eq!(t.lookup(Exchange::Bse, &format!("S{i}")), None);
        }
        let again = t.intern(SymbolKey::new(Exchange::Nse, "S7").unwrap()).unwrap();
        assert_eq!(again, SymbolId(7));
    }

    #[test]
    fn full_table_is_an_error_not_a_resize() {
        let mut t = SymbolTable::with_capacity(2);
        t.intern(SymbolKey::new(Exchange::Nse, "A").unwrap()).unwrap();
        t.intern(SymbolKey::new(Exchange::Nse, "B").unwrap()).unwrap();
        let e = t.intern(SymbolKey::new(Exchange::Nse, "C").unwrap()).unwrap_err();
        assert_eq!(e, InternError::Full(2));
    }

    #[test]
    fn rejects_empty_and_overlong_names() {
        assert!(SymbolKey::new(Exchange::Nse, "").is_none());
        assert!(SymbolKey::new(Exchange::Nse, &"X".repeat(MAX_SYMBOL_LEN + 1)).is_none());
    }
}
