//! A [`tonic::codec::Codec`] that carries Thrift Binary messages.
//!
//! Each gRPC message is one Thrift struct in the Binary protocol, with no
//! Thrift message header: the bare request/response struct for streaming
//! methods, the Args/Result wrapper structs for `unary` and ping-pong methods
//! (that choice is made by the generated code, which picks the type).
//!
//! Decoding reads from tonic's buffer without copying (`copy_to_bytes` splits
//! it) through the bounds-checked [`BinaryInput`]; encoding writes straight
//! into tonic's buffer through [`BinaryOutput`]. When a call is observed
//! (message hooks, tracers, `tracing`), each message is reported with its
//! encoded size; otherwise nothing else happens per message.

use std::marker::PhantomData;
use std::sync::Arc;

use bytes::{Buf, BufMut};
use pilota::thrift::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

use super::{BinaryInput, BinaryOutput, ZERO_COPY_THRESHOLD};
use crate::observe::{CallObserver, Direction};

/// The content-type of Thrift over gRPC, as Kitex sends and expects it.
pub(crate) const CONTENT_TYPE_THRIFT: &str = "application/grpc+thrift";

/// The Thrift Binary codec: encodes `E`, decodes `D`.
#[derive(Debug)]
pub struct ThriftCodec<E, D> {
    send: Option<Arc<CallObserver>>,
    recv: Option<Arc<CallObserver>>,
    _types: PhantomData<fn(E) -> D>,
}

impl<E, D> Default for ThriftCodec<E, D> {
    fn default() -> Self {
        ThriftCodec {
            send: None,
            recv: None,
            _types: PhantomData,
        }
    }
}

impl<E, D> ThriftCodec<E, D> {
    /// A codec that reports every message sent and received to `observer`.
    pub(crate) fn observed(observer: Option<Arc<CallObserver>>) -> Self {
        ThriftCodec {
            send: observer.clone(),
            recv: observer,
            _types: PhantomData,
        }
    }

    /// A codec that reports only received messages (the server reports what
    /// it sends before encoding, so a hook's status reaches the peer as is).
    pub(crate) fn observed_recv(observer: Option<Arc<CallObserver>>) -> Self {
        ThriftCodec {
            send: None,
            recv: observer,
            _types: PhantomData,
        }
    }
}

/// The encoded size of a message in the Thrift Binary protocol.
pub(crate) fn encoded_size<M: Message>(message: &M) -> usize {
    super::Protocol::Binary.encoded_size(message)
}

impl<E, D> Codec for ThriftCodec<E, D>
where
    E: Message + 'static,
    D: Message + 'static,
{
    type Encode = E;
    type Decode = D;
    type Encoder = ThriftEncoder<E>;
    type Decoder = ThriftDecoder<D>;

    fn encoder(&mut self) -> Self::Encoder {
        ThriftEncoder {
            observer: self.send.clone(),
            _types: PhantomData,
        }
    }

    fn decoder(&mut self) -> Self::Decoder {
        ThriftDecoder {
            observer: self.recv.clone(),
            _types: PhantomData,
        }
    }
}

/// Encodes one Thrift struct per gRPC message.
#[derive(Debug)]
pub struct ThriftEncoder<E> {
    observer: Option<Arc<CallObserver>>,
    _types: PhantomData<fn(E)>,
}

/// Initial size of tonic's per-stream decode buffer: small, so idle streams
/// cost little (an idle stream keeps it); it grows to the first DATA frame
/// and is reused from then on.
const STREAM_BUFFER_SIZE: usize = 512;

/// Initial size of tonic's per-stream encode buffer (an eighth of tonic's
/// default). An idle stream keeps it, so it is most of what an idle stream
/// costs; a busy stream doubles it a few more times per batch, which costs
/// less than the noise of the small-message benchmarks.
const ENCODE_BUFFER_SIZE: usize = 1024;

/// How much encoded data tonic gathers before yielding it to the transport.
const YIELD_THRESHOLD: usize = 32 * 1024;

impl<E: Message + 'static> Encoder for ThriftEncoder<E> {
    type Item = E;
    type Error = Status;

    fn buffer_settings(&self) -> tonic::codec::BufferSettings {
        tonic::codec::BufferSettings::new(ENCODE_BUFFER_SIZE, YIELD_THRESHOLD)
    }

    fn encode(&mut self, item: E, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // Room for the whole message at once: grown piece by piece, a large
        // message would be copied at each doubling, and the last doublings
        // land on fresh pages (glibc maps 128 KiB and more by itself).
        dst.reserve(encoded_size(&item));
        let before = dst.remaining_mut();
        item.encode(&mut BinaryOutput::new(dst))
            .map_err(|e| Status::internal(format!("failed to encode Thrift message: {e}")))?;
        if let Some(o) = &self.observer {
            let size = before.saturating_sub(dst.remaining_mut());
            o.message(Direction::Send, &item, size)?;
        }
        Ok(())
    }
}

/// Decodes one Thrift struct per gRPC message.
#[derive(Debug)]
pub struct ThriftDecoder<D> {
    observer: Option<Arc<CallObserver>>,
    _types: PhantomData<fn() -> D>,
}

impl<D: Message + 'static> Decoder for ThriftDecoder<D> {
    type Item = D;
    type Error = Status;

    fn buffer_settings(&self) -> tonic::codec::BufferSettings {
        tonic::codec::BufferSettings::new(STREAM_BUFFER_SIZE, YIELD_THRESHOLD)
    }

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<D>, Status> {
        let size = src.remaining();
        let decoded = if size < ZERO_COPY_THRESHOLD && src.chunk().len() >= size {
            // Small message: read it in place. Nothing in it is long enough
            // to be shared, so no buffer is split or reference-counted.
            let mut slice: &[u8] = &src.chunk()[..size];
            let decoded = D::decode(&mut BinaryInput::new(&mut slice));
            src.advance(size);
            decoded
        } else {
            let mut bytes = src.copy_to_bytes(size);
            D::decode(&mut BinaryInput::new(&mut bytes))
        };
        let msg = decoded.map_err(|e| {
            Status::invalid_argument(format!("could not decode the Thrift message: {e}"))
        })?;
        if let Some(o) = &self.observer {
            o.message(Direction::Recv, &msg, size)?;
        }
        Ok(Some(msg))
    }
}
