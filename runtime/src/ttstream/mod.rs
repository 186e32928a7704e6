//! TTHeader Streaming ("ttstream"): Kitex's second streaming protocol,
//! served on the same port as gRPC and ping-pong, and spoken by the
//! generated clients on request ([`TtStreamChannel`]).
//!
//! # Why
//!
//! Kitex v0.16 clients generated with `kitex -streamx` open streams over
//! TTHeader Streaming by default. It is lighter than HTTP/2: no HPACK, no
//! windows, no PING; a stream costs one HEADER and one TRAILER frame each
//! way, so opening short streams and lock-step echoes are faster. A
//! [`Server`](crate::Server) recognises such a connection from its first
//! frame (a TTHeader frame with flag `0x0002`, see
//! [`detect`](crate::transport::detect)) and serves its streams with the
//! same generated services and handlers as gRPC: the handler trait does
//! not change.
//!
//! # The wire
//!
//! Every frame is one TTHeader frame ([`StreamFrame`]):
//!
//! ```text
//! u32 length | 0x1000 magic | u16 flags 0x0002 | i32 stream id | u16 header size / 4
//! 0x10 (Thrift struct) | 0 transforms | str k/v block | int k/v block | padding
//! payload
//! ```
//!
//! Int key 27 is the [`FrameType`] (`"2"` HEADER, `"3"` DATA, `"4"`
//! TRAILER, `"5"` RST, `"1"` META), int key 9 the method. Many streams share
//! a connection; ids come from the client.
//!
//! ```text
//! client                                server
//! HEADER  sid=1 {isn, RPC_TRANSIT_*} ─►  route isn + method to XxxServer
//! DATA    bare struct             ─►    request body ─► handler
//!                                 ◄─    HEADER {RPC_BACKWARD_*}
//!                                 ◄─    DATA bare struct (per response message)
//! TRAILER (half-close)            ─►    request stream ends
//!                                 ◄─    TRAILER: OK | biz-status/biz-message/biz-extra
//!                                                | TMessage EXCEPTION payload
//! RST     (cancel, deadline)      ─►    handler dropped
//! ```
//!
//! # How a stream reaches a handler
//!
//! Each stream becomes an `http::Request` to `/<package>.<Service>/<Method>`
//! whose body is fed from the stream's DATA frames (each behind a gRPC
//! length prefix), and is given to the generated service exactly as an
//! HTTP/2 stream is: same routing, codec, limits, middleware, metainfo and
//! active-call count. The request carries the marker [`TTHeaderStreaming`]
//! and the client's HEADER as a [`TTHeader`](crate::transport::TTHeader)
//! in its extensions, and [`CallInfo::transport`](crate::call::CallInfo)
//! is [`Transport::TTHeaderStreaming`](crate::call::Transport). The
//! response's messages become DATA frames and its gRPC status the TRAILER:
//! a [`BizStatusError`](crate::BizStatusError) as `biz-*` keys, any other
//! error as a `TApplicationException` (UNKNOWN_METHOD for UNIMPLEMENTED,
//! INTERNAL_ERROR otherwise), as Kitex's server sends them. Backward
//! metainfo set on the response goes in the server HEADER as
//! `RPC_BACKWARD_*` keys.
//!
//! Kitex's server answers an unknown method with no frame at all; we answer
//! HEADER plus a TRAILER whose exception names the method, and the same for
//! a method that is not streaming (TTHeader Streaming has no unary mode).
//! The answer goes out when the client sends its first message or
//! half-closes: Kitex's client turns an answer that arrives before its first
//! `Send` into a failure of that `Send`, while callers (and its own interop
//! cases) expect the error from `Recv`. A client that only waits to receive
//! hears nothing until its deadline, as from Kitex's server; at most 64
//! such streams wait per connection, beyond which the answer is immediate.
//! No deadline travels on the wire: the client cancels with RST.
//!
//! # Bounded memory: a full queue pauses the connection
//!
//! ttstream has no flow control (no windows, no credit), and Kitex's
//! receive queue is unbounded. Ours holds at most 16 batches per stream.
//! A batch is what one read of the connection brought for that stream:
//! its messages of up to 4 KiB copied together behind gRPC length
//! prefixes (at most 16 KiB, the room a batch is given; a read that brings
//! more hands over several), or one larger message, not copied. So a
//! stream holds at most 16 × max(16 KiB, the frame limit) of received
//! data. One hand-over per stream per read, instead
//! of one per message, is what lets pipelined small messages go as fast
//! as over HTTP/2. When a stream's queue is full, the connection stops
//! reading until the handler takes a batch: TCP then pushes back on the
//! client, as Kitex's writer expects. The cost is head-of-line blocking:
//! while one stream's handler is slow, the other streams of that
//! connection wait too (other connections do not). A stream whose queue
//! stays full for 10 s is ended alone (TRAILER with a RESOURCE_EXHAUSTED
//! exception) and reading resumes. Per-stream credit would avoid the
//! blocking but needs a frame Kitex clients do not speak.
//!
//! # The client: [`TtStreamChannel`]
//!
//! A generated `XxxClient` is generic over its transport, a tower service
//! taking HTTP/2-shaped gRPC requests ([`GrpcTransport`](crate::grpc::GrpcTransport)).
//! [`TtStreamChannel`] is such a transport that does what the server does,
//! in reverse, so the generated code and its method signatures stay as they
//! are:
//!
//! ```text
//! GrpcClient (codec, middleware, deadline)  ── http::Request ──►  TtStreamChannel
//!   path /echo.TestService/Echo                                   HEADER isn=TestService, method Echo,
//!   MetaInfo in the extensions                                           RPC_TRANSIT_* / RPC_PERSIST_*
//!   body: gRPC length-prefixed messages                           DATA per message, TRAILER at its end
//!                                                                 (what the body has ready goes out with
//!                                                                 the HEADER; a task sends the rest)
//! http::Response ◄── body: DATA payloads behind gRPC prefixes ◄── server DATA (bounded queue)
//!                    trailers grpc-status 0                   ◄── TRAILER (empty)
//!                    error status                             ◄── TRAILER biz-* keys │ exception; RST
//! dropped unfinished / deadline passed                        ──► RST 12007 │ 12015 (+ TRAILER if
//!                                                                 the request had not half-closed)
//! ```
//!
//! Two ways to get one:
//!
//! - [`GrpcOptions::stream_transport`](crate::grpc::GrpcOptions::stream_transport)`(StreamTransport::TTHeaderStreaming)`
//!   with the generated `connect_with`: streaming methods (bidirectional,
//!   client, server) go over a [`TtStreamChannel`] to the same address, and
//!   `unary` and ping-pong methods stay on gRPC, which Kitex serves on the
//!   same port (Kitex's own streamx client sends those over ping-pong).
//! - `XxxClient::with_options(TtStreamChannel::connect_lazy(addr, &options), options)`:
//!   ttstream alone; a `unary` or ping-pong method fails with
//!   `UNIMPLEMENTED` (TTHeader Streaming has no unary mode).
//!
//! Streams are multiplexed over [`DEFAULT_CONNECTIONS`] connections per channel
//! (see [`GrpcOptions::ttstream_connections`](crate::grpc::GrpcOptions::ttstream_connections)),
//! chosen round-robin and opened on first use; a connection that closes is
//! replaced on the next stream, and its open streams fail with
//! `UNAVAILABLE`. Stream ids come from one process-wide counter, as in
//! Kitex. The response is returned at once, without waiting for the
//! server's HEADER (which Kitex sends only with its first reply), so a
//! bidirectional caller may open the stream before sending. A server
//! HEADER's backward metainfo is not surfaced.
//!
//! **Deadlines** do not travel on the wire: the client enforces them
//! (`DEADLINE_EXCEEDED`, from opening the stream to its end) and ends the
//! stream with RST code 12015, Kitex's "stream timeout". **Cancellation**,
//! dropping the response before its end, sends RST code 12007.
//!
//! **Bounded memory**: each stream queues at most 16 received batches (as
//! on the server); a full queue pauses reading its connection (TCP then pushes back on the
//! server), and a stream whose caller leaves it full for 10 s fails alone.
//! **Writes**, on both sides: every stream of a connection encodes its
//! frames straight into one shared buffer (a DATA frame is its stream's
//! header template and the message), and one writer task takes the whole
//! buffer at a time, so the frames ready together go out in one write
//! (Kitex flushes each frame by itself). Before it writes less than
//! 64 KiB, the writer yields once to the tasks ready on its worker, so the
//! replies to the frames one read brought (one per stream) go out in one
//! write, not one each. Streams wait to add messages while 1 MiB is
//! queued (besides the batch the writer is writing, taken whole from that
//! queue); frames that end or reset a stream never wait.
//!
//! # Bad input
//!
//! A frame whose framing is broken (bad magic, no STREAMING flag, a header
//! past the frame end, a length over the frame limit, a truncated frame at
//! end of stream, a frame not complete within the server's frame timeout)
//! closes the connection with a log: nothing after it can be trusted. So
//! does a peer that reads nothing for the idle timeout while the server
//! writes. A well-framed frame that makes no sense (unknown type, DATA or
//! TRAILER or RST for no open stream, DATA after half-close) is dropped
//! with a log; a HEADER reusing an open stream id ends that stream only.

pub(crate) mod client;
mod frame;
#[cfg(test)]
mod frame_fuzz;
mod inbox;
pub(crate) mod server;
mod writer;

pub use client::{TtStreamBody, TtStreamChannel, DEFAULT_CONNECTIONS};

pub use frame::{FrameType, StreamFrame, INT_KEY_FRAME_TYPE, PROTOCOL_THRIFT_STRUCT};

/// Marker in a request's extensions: the call came over TTHeader Streaming.
///
/// ```
/// # fn f<T>(req: &tonic::Request<T>) -> bool {
/// req.extensions().get::<tonic_thrift::ttstream::TTHeaderStreaming>().is_some()
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TTHeaderStreaming;
