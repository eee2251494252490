//! tickfill: a low-latency paper-trading execution engine, compatible with OpenAlgo's
//! sandbox ("analyze mode").
#![deny(missing_docs)]

pub mod clock;
pub mod event;
pub mod exec;
pub mod instruments;
pub mod intern;
pub mod journal;
pub mod types;
pub mod views;
