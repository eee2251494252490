//! The ring: slots, the stage chain, topologies and idle strategies.
//!
//! ```text
//!  producer (sequencer) --publish--> [ slot | slot | slot | ... ]  (disruptor, single producer)
//!                                        |
//!        inline:     the producer's own thread drains the ring through the four stages
//!        fused:      one thread: execution -> MTM -> fanout -> journal, per event
//!        pipelined:  four pinned threads chained by sequence barriers (and_then)
//! ```

pub mod channels;
pub mod cores;
pub mod idle;
pub mod packed;
pub mod pipeline;
pub mod slot;
pub mod stage;

pub use idle::IdleStrategy;
pub use pipeline::{Pipeline, Publisher, Topology};
pub use slot::Slot;
pub use stage::Stage;
