//! OpenAlgo wire shapes shared by every side that speaks them: the simulated broker and
//! the WebSocket server both write `market_data` frames; the feed reader parses them.
//! Floats exist only here, at the JSON edge.

#![forbid(unsafe_code)]

pub mod market_data;
pub mod modes;
