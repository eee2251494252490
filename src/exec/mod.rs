//! Stage 1, execution (being written).
#![forbid(unsafe_code)]
