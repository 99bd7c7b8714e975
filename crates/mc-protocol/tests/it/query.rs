//! query tests (being written).
