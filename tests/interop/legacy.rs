//! legacy interop tests (being written).
