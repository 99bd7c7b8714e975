//! legacy tests (being written).
