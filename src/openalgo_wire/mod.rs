//! OpenAlgo's market-data wire shapes, shared by every side that speaks them: the
//! simulated broker and the WebSocket server both write `market_data` frames; the feed
//! reader parses them. Floats exist only here, at the JSON edge. (The WebSocket server's
//! client messages, subscribe and authenticate, are [`crate::ws::client_protocol`].)

#![forbid(unsafe_code)]

pub mod market_data;
pub mod modes;
