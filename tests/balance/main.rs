//! Client-side load balancing: the balancers on their own, discovery,
//! balancing, circuit breaking and retries end to end on both transports,
//! and the balancing example.
//!
//! One test binary; each file is a module. `support` is their shared test
//! server.

mod support;

mod discovery;
mod example;
mod lb;
mod registry;
mod transports;
