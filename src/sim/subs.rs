//! Which connections want which symbols, in which modes: the server's index over every
//! session's subscriptions, laid out for the pacer (a dense list of active symbols it
//! walks round-robin, each with its subscribers).

#![forbid(unsafe_code)]

use super::session::WalkerIndex;
use std::collections::HashMap;

/// A connection's slot number in the server.
pub type ConnId = usize;

/// One symbol that at least one connection subscribes to.
#[derive(Debug)]
pub struct Active {
    /// The symbol.
    pub walker: WalkerIndex,
    /// Each subscriber and its mode bits (bit `m - 1` for mode `m`).
    pub subscribers: Vec<(ConnId, u8)>,
}

/// The index.
#[derive(Debug, Default)]
pub struct SubIndex {
    active: Vec<Active>,
    position: HashMap<WalkerIndex, usize>,
}

impl SubIndex {
    /// Sets `conn`'s modes for `walker` (0 removes it); a symbol with no subscribers left
    /// leaves the active list.
    pub fn set(&mut self, walker: WalkerIndex, conn: ConnId, modes: u8) {
        let at = match self.position.get(&walker) {
            Some(&at) => at,
            None if modes == 0 => return,
            None => {
                self.active.push(Active { walker, subscribers: Vec::new() });
                self.position.insert(walker, self.active.len() - 1);
                self.active.len() - 1
            }
        };
        let subs = &mut self.active[at].subscribers;
        match (subs.iter().position(|(c, _)| *c == conn), modes) {
            (Some(i), 0) => {
                subs.swap_remove(i);
            }
            (Some(i), m) => subs[i].1 = m,
            (None, 0) => {}
            (None, m) => subs.push((conn, m)),
        }
        if subs.is_empty() {
            self.position.remove(&walker);
            self.active.swap_remove(at);
            if let Some(moved) = self.active.get(at) {
                self.position.insert(moved.walker, at);
            }
        }
    }

    /// The active symbols.
    pub fn active(&self) -> &[Active] {
        &self.active
    }

    /// The subscribers of one symbol.
    pub fn subscribers(&self, walker: WalkerIndex) -> &[(ConnId, u8)] {
        self.position.get(&walker).map_or(&[], |&at| &self.active[at].subscribers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_enter_and_leave_with_their_subscribers() {
        let mut x = SubIndex::default();
        x.set(5, 1, 0b001);
        x.set(6, 1, 0b010);
        x.set(5, 2, 0b100);
        assert_eq!(x.active().len(), 2);
        assert_eq!(x.subscribers(5), &[(1, 0b001), (2, 0b100)]);
        x.set(5, 1, 0);
        x.set(5, 2, 0);
        assert_eq!(x.active().len(), 1);
        assert_eq!(x.subscribers(6), &[(1, 0b010)]);
        assert!(x.subscribers(5).is_empty());
        x.set(6, 1, 0b011);
        assert_eq!(x.subscribers(6), &[(1, 0b011)]);
        x.set(7, 3, 0);
        assert_eq!(x.active().len(), 1);
    }
}
