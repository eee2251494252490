//! Stage 4, the journal (being written).
