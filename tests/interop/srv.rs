//! srv interop tests (being written).
