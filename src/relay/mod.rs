//! Beyond one host: a market-data relay and many engines on NATS JetStream.
//!
//! ```text
//!  broker feed -> tickfill relay -> JetStream stream TICKS (ticks.<EXCHANGE>.<SYMBOL>)
//!                                      |                 |
//!                       tickfill serve --feed nats://   ...  (one per account)
//!                                      |
//!                       JetStream stream EVENTS (events.<account>.orders|trades)
//! ```
//!
//! - The relay is the only process that talks to the broker: broker limits on
//!   connections and symbols are paid once. It subscribes upstream to what the engines
//!   announce on `tickfill.interest` ([`interest`]), plus a static list.
//! - Each tick is one message in `TICKS`, its payload the journal's own tick encoding
//!   ([`wire`]). An engine consumes the subjects it needs with an ordered consumer and
//!   hands each tick to its sequencer's intake ([`crate::sequencer::nats`]): the hot
//!   thread stays the single producer of its ring. The journal records each tick's stream
//!   sequence ([`crate::event::Header::stream_seq`]), so a restart resumes right after
//!   the last tick it applied, with no gap and no duplicate, and replay needs no broker.
//!
//! # Known limitations
//! - The relay must use the same instrument master as its engines for every symbol an
//!   engine wants (names are matched; the relay skips and counts names it does not know).

#![forbid(unsafe_code)]

pub mod events;
pub mod interest;
pub mod run;
pub mod stage;
pub mod stream;
pub mod subject;
pub mod wire;

pub use run::{Relay, RelayConfig, RelayStats};
pub use stream::Retention;
