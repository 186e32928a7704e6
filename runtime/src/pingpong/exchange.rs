//! One ping-pong exchange on one connection: encode the request frame,
//! write it, read the reply, and decode it into the wire Result or a status
//! (application exception, business error, transport failure).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tonic::{Response, Status};

use super::client::PingPongClient;
use super::exception::ApplicationException;
use super::pool::{io_error_text, read_reply, Pool};
use super::retry::Stage;
use crate::codec::Protocol;
use crate::metainfo::MetaInfo;
use crate::method::{ThriftArgs, ThriftResult};
use crate::observe::{CallObserver, Direction};
use crate::timeout::to_rpc_timeout;
use crate::transport::{
    encode_frame, read_any_header, write_compact_header, write_message_header, Framing,
    MessageHeader, MessageType, INT_KEY_MSG_TYPE, INT_KEY_RPC_TIMEOUT, INT_KEY_TO_METHOD,
    INT_KEY_TO_SERVICE,
};
use crate::BizStatusError;

impl PingPongClient {
    /// One attempt on `pool`, bounded by the call's deadline.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn attempt<R: ThriftResult>(
        &self,
        pool: &Pool,
        frame: &[u8],
        method: &'static str,
        seq_id: i32,
        oneway: bool,
        deadline: Option<tokio::time::Instant>,
        observer: Option<&Arc<CallObserver>>,
    ) -> Result<Response<R>, (Status, Stage)> {
        let attempt = self.attempt_inner::<R>(pool, frame, method, seq_id, oneway, observer);
        match deadline {
            Some(d) => tokio::time::timeout_at(d, attempt)
                .await
                .unwrap_or_else(|_| {
                    Err((
                        Status::deadline_exceeded(format!(
                            "`{method}` to {} passed its deadline",
                            pool.addr
                        )),
                        Stage::Sent,
                    ))
                }),
            None => attempt.await,
        }
    }

    async fn attempt_inner<R: ThriftResult>(
        &self,
        pool: &Pool,
        frame: &[u8],
        method: &'static str,
        seq_id: i32,
        oneway: bool,
        observer: Option<&Arc<CallObserver>>,
    ) -> Result<Response<R>, (Status, Stage)> {
        let options = &self.inner.options;
        let addr = pool.addr.as_str();
        let sent = |s: Status| (s, Stage::Sent);
        let _permit = pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| (Status::unavailable("the client is closed"), Stage::Local))?;
        let mut conn = pool
            .checkout(options)
            .await
            .map_err(|s| (s, Stage::Connect))?;
        // Flushed: TLS may hold a record back until then.
        let send = async {
            conn.stream.write_all(frame).await?;
            conn.stream.flush().await
        };
        let write = tokio::time::timeout(options.write_timeout, send);
        match write.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err((
                    Status::unavailable(format!("sending to {addr} failed: {}", io_error_text(&e))),
                    Stage::Write,
                ))
            }
            Err(_) => {
                return Err((
                    Status::deadline_exceeded(format!(
                        "sending `{method}` to {addr} took longer than the write timeout of {:?}",
                        options.write_timeout
                    )),
                    Stage::Write,
                ))
            }
        }
        if oneway {
            pool.checkin(conn, options.idle_timeout);
            // A oneway method is `void`: an empty Result struct decodes to `()`.
            let mut empty = Bytes::from_static(&[0]);
            let r = Protocol::Binary
                .decode::<R>(&mut empty)
                .map_err(|e| sent(Status::internal(e.to_string())))?;
            return Ok(Response::new(r));
        }
        let read = read_reply(&mut conn, addr, options.max_frame_size);
        let reply = tokio::time::timeout(options.read_timeout, read)
            .await
            .map_err(|_| {
                sent(Status::deadline_exceeded(format!(
                    "no reply to `{method}` from {addr} within the read timeout of {:?}",
                    options.read_timeout
                )))
            })?
            .map_err(sent)?;
        let (msg, protocol, mut body) = read_any_header(&reply.message)
            .map_err(|e| sent(Status::internal(format!("bad reply from {addr}: {e}"))))?;
        // Hooks see the size of the Result payload (as for gRPC).
        let reply_size = body.len();
        // The recv hook sees the decoded Result of a reply, `()` otherwise.
        let untyped_hook = || match observer {
            Some(o) => o
                .message(Direction::Recv, &(), reply_size)
                .map_err(|s| (s, Stage::Local)),
            None => Ok(()),
        };
        if msg.message_type == MessageType::Exception && (msg.seq_id == 0 || msg.name.is_empty()) {
            untyped_hook()?;
            // A server that could not read our request at all (Apache Thrift
            // servers answer PROTOCOL_ERROR with no name and seqid 0): report
            // its exception, and do not reuse the connection.
            let e = ApplicationException::decode_in(protocol, body).map_err(|e| {
                sent(Status::internal(format!(
                    "could not decode the exception from {addr}: {e}"
                )))
            })?;
            return Err(sent(e.into_status()));
        }
        // A multiplexing server answers with the bare method name (Apache
        // Thrift's TMultiplexedProcessor) or the name as sent.
        let same_name = msg.name == method
            || (options.multiplexed
                && msg
                    .name
                    .strip_suffix(method)
                    .and_then(|s| s.strip_suffix(':'))
                    == Some(self.inner.service));
        if msg.seq_id != seq_id || !same_name {
            untyped_hook()?;
            // The connection is out of step: do not reuse it.
            return Err(sent(Status::internal(format!(
                "reply out of order from {addr}: expected `{method}` #{seq_id}, got `{}` #{}",
                msg.name, msg.seq_id
            ))));
        }
        pool.checkin(conn, options.idle_timeout);
        let mut response_ext = http::Extensions::new();
        if let Some(h) = reply.header {
            if let Some(biz) = BizStatusError::from_ttheader(&h) {
                untyped_hook()?;
                return Err(sent(biz.into_status()));
            }
            if let Some(m) = MetaInfo::from_ttheader(&h) {
                response_ext.insert(m);
            }
            response_ext.insert(h);
        }
        match msg.message_type {
            MessageType::Reply => {
                let result = protocol.decode::<R>(&mut body).map_err(|e| {
                    sent(Status::internal(format!(
                        "could not decode the result of `{method}`: {e}"
                    )))
                })?;
                // The recv hook sees the Result (declared exceptions included).
                if let Some(o) = observer {
                    o.message(Direction::Recv, &result, reply_size)
                        .map_err(|s| (s, Stage::Local))?;
                }
                Ok(Response::from_parts(
                    tonic::metadata::MetadataMap::new(),
                    result,
                    response_ext,
                ))
            }
            MessageType::Exception => {
                untyped_hook()?;
                let e = ApplicationException::decode_in(protocol, body).map_err(|e| {
                    sent(Status::internal(format!(
                        "could not decode the exception of `{method}`: {e}"
                    )))
                })?;
                // Framed/Buffered have no header: a business error comes as
                // an exception in the text form (TTHeader uses its keys).
                if !matches!(options.framing, Framing::TTHeader { .. } | Framing::THeader) {
                    if let Some(biz) = BizStatusError::from_framed_exception(&e) {
                        return Err(sent(biz.into_status()));
                    }
                }
                Err(sent(e.into_status()))
            }
            other => {
                untyped_hook()?;
                Err(sent(Status::internal(format!(
                    "unexpected {other:?} message in reply to `{method}`"
                ))))
            }
        }
    }

    pub(super) fn encode_request<A: ThriftArgs>(
        &self,
        method: &'static str,
        args: &A,
        seq_id: i32,
        oneway: bool,
        timeout: Option<Duration>,
        extensions: &http::Extensions,
    ) -> Result<(BytesMut, usize), String> {
        let message_type = if oneway {
            MessageType::Oneway
        } else {
            MessageType::Call
        };
        let options = &self.inner.options;
        let mut message = BytesMut::new();
        let name = if options.multiplexed {
            format!("{}:{method}", self.inner.service).into()
        } else {
            method.into()
        };
        let header = MessageHeader {
            name,
            message_type,
            seq_id,
        };
        match options.protocol {
            Protocol::Binary => write_message_header(&mut message, &header),
            Protocol::Compact => write_compact_header(&mut message, &header),
        }
        let header_len = message.len();
        options
            .protocol
            .encode(args, &mut message)
            .map_err(|e| format!("could not encode the arguments of `{method}`: {e}"))?;
        // Apache's THeader carries only the string keys of this header.
        let header = match self.inner.options.framing {
            Framing::TTHeader { .. } | Framing::THeader => {
                let mut h = MetaInfo::request_header(extensions);
                h.seq_id = seq_id;
                h.protocol_id = options.protocol.header_id();
                h.set_string("isn", self.inner.service);
                h.set_int(INT_KEY_TO_SERVICE, self.inner.service);
                h.set_int(INT_KEY_TO_METHOD, method);
                h.set_int(INT_KEY_MSG_TYPE, message_type.digit());
                if let Some(t) = timeout {
                    h.set_int(INT_KEY_RPC_TIMEOUT, to_rpc_timeout(t));
                }
                Some(h)
            }
            _ => None,
        };
        let mut frame = BytesMut::with_capacity(message.len() + 64);
        encode_frame(
            &mut frame,
            self.inner.options.framing,
            header.as_ref(),
            &message,
        )
        .map_err(|e| e.to_string())?;
        Ok((frame, message.len() - header_len))
    }
}
