//! bedrock (being written).
