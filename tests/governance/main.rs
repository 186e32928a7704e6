//! Service governance, item by item: timeouts and deadlines, middleware,
//! metainfo, business errors, tracing, limits and graceful shutdown.
//!
//! One test binary; each file is a module. `support` is their shared
//! handler, servers and clients.

mod support;

mod bizerror;
mod limits;
mod metainfo;
mod middleware;
mod shutdown;
mod timeouts;
mod tracer;
