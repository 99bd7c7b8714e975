//! java client and responder (being written).
