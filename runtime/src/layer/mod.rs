//! Ready-made middleware layers for the call stack (see [`crate::call`]).
//! Install them with `XxxServer::layer` (server) or the client options.

mod persistent;
mod rate_limit;

pub use persistent::{PersistentMetaInfo, PersistentMetaInfoLayer};
pub use rate_limit::{RateLimit, RateLimitLayer};
