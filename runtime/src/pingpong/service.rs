//! The ping-pong face of a generated service: method name + Args bytes in,
//! Result bytes (or a `TApplicationException`) out.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pilota::thrift::Message;
use tonic::Status;

use super::exception::{ApplicationException, ExceptionKind};
use crate::call::{invoke_unary, CallInfo, CallKind, Transport};
use crate::codec::Protocol;
use crate::metainfo::MetaInfo;
use crate::method::{ThriftArgs, ThriftResult};
use crate::observe::Direction;
use crate::server::config::ServiceConfig;
use crate::transport::Framing;
use crate::transport::TTHeader;
use crate::BizStatusError;

/// A boxed future of a reply.
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// What the server knows about one ping-pong call besides its arguments.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The request's TTHeader (absent for Framed and Buffered).
    pub header: Option<TTHeader>,
    /// How long the caller waits (TTHeader RPC timeout, int key 12).
    pub timeout: Option<Duration>,
    /// The caller's address.
    pub peer: Option<SocketAddr>,
    /// The caller's verified TLS certificates (mTLS, feature `tls`), put in
    /// the handler's request extensions.
    pub peer_certs: Option<crate::server::connection::PeerCerts>,
    /// How the request was framed (TTHeader, Framed or Buffered).
    pub framing: Option<crate::transport::Framing>,
    /// The request was a ONEWAY message (no reply is sent).
    pub oneway: bool,
    /// The Thrift protocol of the request (the reply uses the same).
    pub protocol: Protocol,
}

/// The outcome of a ping-pong call, ready to be framed.
#[derive(Debug)]
pub enum Reply {
    /// An encoded Result struct, and the backward metainfo the handler set.
    Result(Bytes, Option<MetaInfo>),
    /// A business status error: TTHeader carries it in the reply header,
    /// Framed and Buffered as a `TApplicationException`.
    Biz(BizStatusError),
    /// A `TApplicationException`.
    Exception(ApplicationException),
    /// Nothing (a `oneway` call).
    None,
}

/// How a method is called over ping-pong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// A call that gets a reply.
    Call,
    /// A `oneway` call: no reply.
    Oneway,
    /// A streaming method: only reachable over gRPC.
    Streaming,
}

/// A service callable over TTHeader, Framed and Buffered. Generated
/// `XxxServer` types implement it.
pub trait PingPongService: Send + Sync + 'static {
    /// The service name (without package), as TTHeader's `isn` carries it.
    fn service_name(&self) -> &'static str;

    /// How `method` (its IDL name) is called, or `None` if the service lacks it.
    fn method_kind(&self, method: &str) -> Option<MethodKind>;

    /// Calls `method` with the encoded Args struct `args`.
    fn call(&self, method: &str, args: Bytes, ctx: CallContext) -> ReplyFuture;
}

/// Runs one Args/Result method: decodes the arguments, calls the handler
/// through the service's middleware with the caller's deadline, and encodes
/// its outcome.
pub fn call<A, R, H, F>(
    cfg: &ServiceConfig,
    service: &'static str,
    method: &'static str,
    mut args: Bytes,
    ctx: CallContext,
    handler: H,
) -> ReplyFuture
where
    A: ThriftArgs,
    R: ThriftResult,
    H: FnOnce(tonic::Request<A::Input>) -> F + Send + 'static,
    F: Future<Output = Result<tonic::Response<R::Ok>, R::Err>> + Send + 'static,
{
    let size = args.len();
    let limit = cfg.max_decoding_message_size();
    if size > limit {
        // The same limit as over gRPC; the frame was read whole, so the
        // connection stays usable.
        let e = ApplicationException::new(
            ExceptionKind::PROTOCOL_ERROR,
            format!(
                "the arguments of `{method}` ({size} bytes) exceed the limit of {limit} bytes (max_decoding_message_size)"
            ),
        );
        return Box::pin(async move { Reply::Exception(e) });
    }
    let protocol = ctx.protocol;
    let decoded = protocol.decode::<A>(&mut args);
    let framing = ctx.framing.unwrap_or(Framing::Framed);
    let info = Arc::new(CallInfo {
        service,
        method,
        kind: if ctx.oneway {
            CallKind::Oneway
        } else {
            CallKind::Unary
        },
        transport: Transport::PingPong(framing),
        peer: ctx.peer,
    });
    let deadline = ctx.timeout.map(|t| Instant::now() + t);
    let (invoke, observer, guard) = cfg.start(info, deadline);
    Box::pin(async move {
        let _guard = guard;
        let args = match decoded {
            Ok(a) => a,
            Err(e) => {
                if let Some(o) = &observer {
                    o.set_status(tonic::Code::InvalidArgument, e.to_string());
                }
                return Reply::Exception(ApplicationException::new(
                    ExceptionKind::PROTOCOL_ERROR,
                    format!("could not decode the arguments of `{method}`: {e}"),
                ));
            }
        };
        if let Some(o) = &observer {
            if let Err(status) = o.message(Direction::Recv, &args, size) {
                o.set_status(status.code(), status.message());
                return Reply::Exception(status_exception(&status));
            }
        }
        let mut request = tonic::Request::new(args.into_input());
        if let Some(t) = ctx.timeout {
            // Visible to handlers the same way as a gRPC deadline.
            if let Ok(v) = crate::timeout::grpc_timeout_millis(t).parse() {
                request.metadata_mut().insert("grpc-timeout", v);
            }
        }
        if let Some(h) = ctx.header {
            if let Some(m) = MetaInfo::from_ttheader(&h) {
                request.extensions_mut().insert(m);
            }
            request.extensions_mut().insert(h);
        }
        request.extensions_mut().insert(framing);
        if let Some(c) = ctx.peer_certs {
            request.extensions_mut().insert(c);
        }
        let reply = match invoke_unary::<A, R, H, F>(request, invoke, handler).await {
            Ok(mut resp) => {
                let backward = resp.extensions_mut().remove::<MetaInfo>();
                encode_result(protocol, method, resp.get_ref(), backward)
            }
            Err(status) => {
                if let Some(o) = &observer {
                    o.set_status(status.code(), status.message());
                }
                return match BizStatusError::from_status(&status) {
                    Some(biz) => Reply::Biz(biz),
                    None => Reply::Exception(status_exception(&status)),
                };
            }
        };
        if let Some(o) = &observer {
            if let Reply::Result(body, _) = &reply {
                if let Err(status) = o.message(Direction::Send, &(), body.len()) {
                    o.set_status(status.code(), status.message());
                    return Reply::Exception(status_exception(&status));
                }
            }
            o.set_status(tonic::Code::Ok, "");
        }
        reply
    })
}

fn encode_result<R: Message>(
    protocol: Protocol,
    method: &str,
    r: &R,
    backward: Option<MetaInfo>,
) -> Reply {
    let mut buf = BytesMut::new();
    match protocol.encode(r, &mut buf) {
        Ok(()) => Reply::Result(buf.freeze(), backward),
        Err(e) => Reply::Exception(ApplicationException::new(
            ExceptionKind::INTERNAL_ERROR,
            format!("could not encode the result of `{method}`: {e}"),
        )),
    }
}

/// A handler's error status as the `TApplicationException` a ping-pong
/// caller gets: INTERNAL_ERROR carrying the status message.
pub(crate) fn status_exception(status: &Status) -> ApplicationException {
    let kind = match status.code() {
        tonic::Code::Unimplemented => ExceptionKind::UNKNOWN_METHOD,
        _ => ExceptionKind::INTERNAL_ERROR,
    };
    let message = status.message();
    // Framed and Buffered carry business errors as exception text that
    // starts with the business-error form; a plain status whose text starts
    // that way is quoted so that no handler-controlled text can pass for one.
    let message = if crate::status::looks_like_framed_biz(message) {
        format!("status message: {message}")
    } else {
        message.to_string()
    };
    ApplicationException::new(kind, message)
}

/// The reply for a method the service does not have. The method name is
/// the caller's: it is shortened to 128 bytes.
pub fn unknown_method(service: &str, method: &str) -> ApplicationException {
    ApplicationException::new(
        ExceptionKind::UNKNOWN_METHOD,
        format!(
            "unknown method `{}` of service `{}`",
            echoed(method),
            echoed(service)
        ),
    )
}

/// The most bytes of a peer-supplied name (method, service) repeated in an
/// error message; longer names are cut on a character boundary and end
/// with `…`.
pub(crate) const MAX_ECHOED_NAME: usize = 128;

/// A peer-supplied name as error messages repeat it: at most
/// [`MAX_ECHOED_NAME`] bytes of it, then `…` if it was longer.
pub(crate) fn echoed(name: &str) -> std::borrow::Cow<'_, str> {
    if name.len() <= MAX_ECHOED_NAME {
        return name.into();
    }
    let mut end = MAX_ECHOED_NAME;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &name[..end]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_on_a_char_boundary() {
        assert_eq!(echoed("Echo"), "Echo");
        let exact = "a".repeat(MAX_ECHOED_NAME);
        assert_eq!(echoed(&exact), exact);
        let long = "a".repeat(MAX_ECHOED_NAME + 1);
        assert_eq!(echoed(&long), format!("{exact}…"));
        // A 3-byte character straddling the cut is left out whole.
        let multi = format!("{}€€", "a".repeat(MAX_ECHOED_NAME - 1));
        assert_eq!(
            echoed(&multi),
            format!("{}…", "a".repeat(MAX_ECHOED_NAME - 1))
        );
        let e = unknown_method("S", &"m".repeat(1 << 20));
        assert!(e.message.len() < 200, "{}", e.message);
    }
}
