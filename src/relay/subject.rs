//! Subject names: `ticks.<EXCHANGE>.<SYMBOL>`, `events.<account>.orders|trades`.
//!
//! A NATS subject token may not hold `.`, `*`, `>` or whitespace, and OpenAlgo symbols
//! and account names are not restricted that way, so every byte outside
//! `[A-Za-z0-9_&-]` is written `%XX` (uppercase hex), `%` included: the mapping is
//! reversible and plain symbols (`SBIN`, `M&M`, `BAJAJ-AUTO`) keep their name.

#![forbid(unsafe_code)]

/// The prefix of every tick subject.
pub const TICKS_PREFIX: &str = "ticks";

/// A token for `name`: plain bytes kept, the rest `%XX`.
pub fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'&' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The name a token was made from; `None` when it is not one [`escape`] writes.
pub fn unescape(token: &str) -> Option<String> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = token.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `ticks.<EXCHANGE>.<SYMBOL>`.
pub fn tick_subject(exchange: &str, symbol: &str) -> String {
    format!("{TICKS_PREFIX}.{}.{}", escape(exchange), escape(symbol))
}

/// `(exchange, symbol)` of a tick subject; `None` for any other subject.
pub fn parse_tick_subject(subject: &str) -> Option<(String, String)> {
    let mut parts = subject.split('.');
    let (prefix, exchange, symbol) = (parts.next()?, parts.next()?, parts.next()?);
    if prefix != TICKS_PREFIX || parts.next().is_some() {
        return None;
    }
    Some((unescape(exchange)?, unescape(symbol)?))
}

/// `events.<account>.orders`.
pub fn orders_subject(account: &str) -> String {
    format!("events.{}.orders", escape(account))
}

/// `events.<account>.trades`.
pub fn trades_subject(account: &str) -> String {
    format!("events.{}.trades", escape(account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_round_trip_through_subjects() {
        for (ex, sym) in [
            ("NSE", "SBIN"),
            ("NSE", "M&M"),
            ("NSE", "BAJAJ-AUTO"),
            ("NSE_INDEX", "NIFTY 50"),
            ("NFO", "NIFTY28NOV2524000CE"),
            ("BSE", "A.B*C>D%"),
            ("MCX", "ünï"),
        ] {
            let s = tick_subject(ex, sym);
            assert_eq!(s.split('.').count(), 3, "{s}");
            assert!(!s.contains(['*', '>', ' ']), "{s}");
            assert_eq!(parse_tick_subject(&s), Some((ex.to_owned(), sym.to_owned())), "{s}");
        }
        assert_eq!(tick_subject("NSE", "SBIN"), "ticks.NSE.SBIN");
    }

    #[test]
    fn other_subjects_are_not_ticks() {
        for s in ["events.a.orders", "ticks.NSE", "ticks.NSE.SBIN.x", "ticks.NSE.%G1", ""] {
            assert_eq!(parse_tick_subject(s), None, "{s}");
        }
    }
}
