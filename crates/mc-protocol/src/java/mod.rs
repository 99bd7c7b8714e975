//! Java Server List Ping (being written).
