//! query client and responder (being written).
