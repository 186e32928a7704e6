//! Reliability: each test reproduces an attack a hostile client (or a slow
//! or dead peer) can make, against `examples/echo_server` or the library,
//! and shows it no longer hurts. RELIABILITY.md lists every limit and
//! default these tests pin down.

mod edge;
#[path = "../support/examples.rs"]
mod examples;
mod h2;
#[path = "../support/listening.rs"]
mod listening;
mod pingpong;
mod soak;
