//! mcstat core: domain types, ports and services shared by every frontend.
//!
//! Not written yet: this crate is filled by the "Core and adapters" issue. It is
//! deliberately empty rather than a stub that pretends to work.
