//! Subcommands and the options they share.

pub mod bench;
pub mod compare;
pub mod demo;
pub mod logging;
pub mod options;
pub mod print;
pub mod relay;
pub mod replay;
pub mod serve;
pub mod sim;
