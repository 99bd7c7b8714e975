//! bedrock tests (being written).
