//! The simulated market: a seeded random walk over the instrument master.
//!
//! The loopback broker that serves it over the OpenAlgo protocol is the feeds issue's
//! work; this module is the price model it (and the demo and benchmarks) share.

#![forbid(unsafe_code)]

pub mod walk;
