//! resolve client and responder (being written).
