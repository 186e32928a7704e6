//! Ready-made middleware layers for the call stack (see [`crate::call`]).
//! Install them with `XxxServer::layer` (server) or the client options.

mod rate_limit;

pub use rate_limit::{RateLimit, RateLimitLayer};
