//! Integration tests of the core services, with mocks of the ports (they panic on any
//! call they were not told to expect) and a manual clock.

mod chart;
mod chat;
mod lookup;
mod support;
mod watch;
