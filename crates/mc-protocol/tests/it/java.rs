//! java tests (being written).
