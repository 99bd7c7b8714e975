//! query interop tests (being written).
