//! address (being written).
