//! address tests (being written).
