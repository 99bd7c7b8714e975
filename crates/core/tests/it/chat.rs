//! ChatService flows.
