//! Against Kitex: golden wire bytes from a real Kitex client and server, and
//! interop with the Kitex peer binaries; bad TTHeader Streaming input.
//!
//! One test binary; each file is a module.

mod golden;
mod interop;
#[path = "../support/listening.rs"]
mod listening;
mod ttstream_bad_input;
