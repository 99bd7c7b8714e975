//! bedrock interop tests (being written).
