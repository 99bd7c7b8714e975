//! bedrock client and responder (being written).
