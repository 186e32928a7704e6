//! Serving generated services: [`Server`] takes gRPC (HTTP/2) and
//! ping-pong (TTHeader, Framed, Buffered) calls on one port.
//!
//! ```text
//! accept ─▶ connection: sniff the first bytes
//!             ├─ HTTP/2 ─▶ hyper ─▶ route /pkg.Service/Method ─▶ XxxServer ─▶ dispatch (one fn per gRPC shape)
//!             └─ ping-pong framing ─▶ pingpong::serve_connection ─▶ XxxServer as PingPongService
//!                                            both ─▶ call::invoke: read hooks, middleware, deadline, handler
//! ```
//!
//! | file | what |
//! |---|---|
//! | `builder.rs` | [`Server`]: settings and their defaults, [`ThriftService`] |
//! | `serve.rs` | [`Router`]: the accept loop and graceful shutdown |
//! | `connection.rs` | protocol detection of one connection |
//! | `http2.rs` | one HTTP/2 connection: stream limits, idle timeout, routing |
//! | `config.rs` | the settings and middleware each generated `XxxServer` carries |
//! | `dispatch.rs` | one gRPC call of each shape, called by generated code |
//! | `limits.rs`, `body.rs` | connection and stream limits, the active-call count |

mod body;
mod builder;
pub(crate) mod config;
mod connection;
pub(crate) mod dispatch;
mod http2;
pub(crate) mod limits;
mod rewind;
mod serve;

pub use builder::{
    Server, ThriftService, DEFAULT_CONNECTION_WINDOW, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DECODING_MESSAGE_SIZE, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_HEADER_LIST_SIZE,
    DEFAULT_SHUTDOWN_GRACE_PERIOD, DEFAULT_STREAM_WINDOW,
};
pub use serve::Router;
