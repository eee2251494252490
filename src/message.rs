//! [`Msg`]: a short text held inline, so replies, refusals and order updates carry their
//! message through the ring without allocating; build one with [`msg!`](crate::msg).
//!
//! Its own module (not `event`) so that views and errors can name it without depending on
//! the ring's event types.

#![forbid(unsafe_code)]

use std::fmt::{self, Write as _};

/// A short message held inline, so replies and order updates never allocate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Msg {
    len: u8,
    bytes: [u8; Msg::CAPACITY],
}

impl Msg {
    /// Longest message kept, in bytes; longer text is cut at a character boundary.
    pub const CAPACITY: usize = 160;
    /// The empty message.
    pub const EMPTY: Msg = Msg { len: 0, bytes: [0; Msg::CAPACITY] };

    /// Formats into a message (truncating), without allocating.
    pub fn format(args: fmt::Arguments<'_>) -> Msg {
        let mut m = Msg::EMPTY;
        let _ = m.write_fmt(args);
        m
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Write for Msg {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = Msg::CAPACITY - usize::from(self.len);
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let start = usize::from(self.len);
        self.bytes[start..start + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n as u8;
        Ok(())
    }
}

impl Default for Msg {
    fn default() -> Self {
        Msg::EMPTY
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `msg!("...", args)` builds a [`Msg`] without allocating.
#[macro_export]
macro_rules! msg {
    ($($arg:tt)*) => { $crate::message::Msg::format(format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_formats_inline_and_truncates_on_char_boundary() {
        let m = msg!("Quantity must be in multiples of lot size {}", 75);
        assert_eq!(m.as_str(), "Quantity must be in multiples of lot size 75");
        let long = "é".repeat(200);
        let m = msg!("{long}");
        assert!(m.as_str().len() <= Msg::CAPACITY);
        assert!(m.as_str().chars().all(|c| c == 'é'));
    }
}
