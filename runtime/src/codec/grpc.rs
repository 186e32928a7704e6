//! A [`tonic::codec::Codec`] that carries Thrift Binary messages.
//!
//! Each gRPC message is one Thrift struct in the Binary protocol, with no
//! Thrift message header: the bare request/response struct for streaming
//! methods, the Args/Result wrapper structs for `unary` and ping-pong methods
//! (that choice is made by the generated code, which picks the type).
//!
//! Decoding reads from tonic's buffer without copying (`copy_to_bytes` splits
//! it) through the bounds-checked [`BinaryInput`]; encoding writes straight
//! into tonic's buffer through [`BinaryOutput`].

use std::marker::PhantomData;

use bytes::Buf;
use pilota::thrift::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

use super::{BinaryInput, BinaryOutput};

/// The Thrift Binary codec: encodes `E`, decodes `D`.
#[derive(Debug)]
pub struct ThriftCodec<E, D>(PhantomData<fn(E) -> D>);

impl<E, D> Default for ThriftCodec<E, D> {
    fn default() -> Self {
        ThriftCodec(PhantomData)
    }
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
        ThriftEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        ThriftDecoder(PhantomData)
    }
}

/// Encodes one Thrift struct per gRPC message.
#[derive(Debug)]
pub struct ThriftEncoder<E>(PhantomData<fn(E)>);

impl<E: Message> Encoder for ThriftEncoder<E> {
    type Item = E;
    type Error = Status;

    fn encode(&mut self, item: E, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(&mut BinaryOutput::new(dst))
            .map_err(|e| Status::internal(format!("failed to encode Thrift message: {e}")))
    }
}

/// Decodes one Thrift struct per gRPC message.
#[derive(Debug)]
pub struct ThriftDecoder<D>(PhantomData<fn() -> D>);

impl<D: Message> Decoder for ThriftDecoder<D> {
    type Item = D;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<D>, Status> {
        let mut bytes = src.copy_to_bytes(src.remaining());
        let msg = D::decode(&mut BinaryInput::new(&mut bytes)).map_err(|e| {
            Status::invalid_argument(format!("could not decode the Thrift message: {e}"))
        })?;
        Ok(Some(msg))
    }
}
