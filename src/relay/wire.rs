//! The payload of a message on `ticks.<EXCHANGE>.<SYMBOL>`: one journal event of kind
//! Tick in the journal's own compact encoding ([`crate::journal::codec`]), so the relay
//! writes and the engines read a layout that is versioned, fuzzed and bounds-checked
//! already. The event's `seq` is the relay's own sequence (diagnostics only) and its
//! `time_ns` the relay's wall time: engines journal the tick with that time, so every
//! engine reading the stream applies the same tick at the same event time.
//!
//! The tick's `symbol` id is the relay's; an engine re-interns it from the subject
//! (`EXCHANGE`, `SYMBOL`) in its own master, since two masters may number differently.

#![forbid(unsafe_code)]

use crate::event::{Event, Header, Input, Tick};
use crate::journal::codec::{self, CodecError};
use crate::types::Seq;

/// Why a payload is not a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes do not decode: the message is corrupt or written by a newer relay
    /// (upgrade the engine).
    #[error("tick payload does not decode: {0}")]
    Codec(#[from] CodecError),
    /// A well-formed event that is not a tick: not something a relay writes.
    #[error("payload is a journal event but not a tick")]
    NotATick,
}

/// Appends the payload for `tick`, sequenced `seq` by the relay at `time_ns`.
pub fn encode(tick: &Tick, seq: Seq, time_ns: i64, buf: &mut Vec<u8>) {
    let event = Event {
        header: Header { seq, time_ns, recv_ns: 0, stream_seq: 0 },
        input: Input::Tick(*tick),
    };
    // A tick always encodes (only non-journaled inputs are refused).
    let encoded = codec::encode(&event, buf);
    debug_assert!(encoded.is_ok());
}

/// The tick and the relay's time in a payload.
pub fn decode(bytes: &[u8]) -> Result<(Tick, i64), WireError> {
    let event = codec::decode(bytes)?;
    match event.input {
        Input::Tick(t) => Ok((t, event.header.time_ns)),
        _ => Err(WireError::NotATick),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Price, SymbolId};

    #[test]
    fn a_tick_round_trips_and_anything_else_is_refused() {
        let tick = Tick { symbol: SymbolId(7), ltp: Price(812_5000), mode: 2, ..Tick::default() };
        let mut buf = Vec::new();
        encode(&tick, Seq(3), 1_700_000_000_123, &mut buf);
        assert_eq!(decode(&buf), Ok((tick, 1_700_000_000_123)));
        assert!(matches!(decode(&buf[..buf.len() - 1]), Err(WireError::Codec(_))));
        let timer = Event { input: Input::Timer, ..Event::default() };
        let mut t = Vec::new();
        codec::encode(&timer, &mut t).unwrap();
        assert_eq!(decode(&t), Err(WireError::NotATick));
    }
}
