//! java interop tests (being written).
