//! Serving generated services: the per-call dispatch used by generated
//! code, and [`Server`], which routes `/pkg.Service/Method` and
//! `/Service/Method` alike.

pub(crate) mod body;
pub(crate) mod dispatch;
pub(crate) mod invoke;
pub(crate) mod limits;
mod rewind;
mod router;

pub use body::LimitedBody;
pub use dispatch::{ServiceConfig, CONTENT_TYPE_THRIFT, DEFAULT_MAX_DECODING_MESSAGE_SIZE};
pub use invoke::ReadHook;
pub use router::{
    Router, Server, ThriftService, DEFAULT_CONNECTION_WINDOW, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_HEADER_LIST_SIZE, DEFAULT_SHUTDOWN_GRACE_PERIOD,
    DEFAULT_STREAM_WINDOW,
};
