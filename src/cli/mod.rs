//! Subcommands and the options they share.

pub mod bench;
pub mod compare;
pub mod demo;
pub mod options;
pub mod print;
pub mod replay;
pub mod serve;
pub mod sim;
