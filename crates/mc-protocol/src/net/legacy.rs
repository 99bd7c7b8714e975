//! legacy client and responder (being written).
