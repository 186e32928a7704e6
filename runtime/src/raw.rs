//! Calls without generated code: a Thrift struct carried as its encoded bytes.

use bytes::{Buf, Bytes};
use pilota::thrift::{
    new_protocol_exception, Message, ProtocolExceptionKind, TAsyncInputProtocol, TInputProtocol,
    TLengthProtocol, TOutputProtocol, TType, ThriftException,
};
use tonic::Status;

use crate::codec::async_decode::decode_async_via_binary;
use crate::method::{ThriftArgs, ThriftResult};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// One Thrift struct as its encoded Thrift Binary bytes, from its first
/// field header to its stop byte: the Args and Result type of calls made
/// without generated code.
///
/// Encoding writes the bytes as they are (they are not checked: a peer
/// rejects a malformed struct). Decoding checks the struct as the bounded
/// decoders of generated types do (lengths, depth, types) and keeps its
/// bytes; it needs the input in one contiguous buffer, which every
/// tonic-thrift transport provides.
///
/// A generic client (one that learns an IDL at run time, such as a JSON
/// gateway or a command-line caller) encodes a method's Args struct itself
/// and wants the Result struct back as bytes. [`RawStruct`] is that struct:
/// it is both the Args and the Result type of a call, on both clients:
///
/// - gRPC: [`GrpcClient::unary`](crate::grpc::GrpcClient::unary)`::<RawStruct, RawStruct>(request, "/pkg.Service/Method")`;
/// - ping-pong: [`PingPongClient::call`](crate::pingpong::PingPongClient::call)`::<RawStruct, RawStruct>("Method", request, oneway)`.
///
/// The reply is the whole Result struct (`{0: success, 1: exception, ...}`)
/// as Thrift Binary bytes; declared exceptions stay inside it, and
/// transport failures, application exceptions and business errors arrive as
/// the call's `Status`, as for generated clients.
///
/// ```
/// use bytes::BytesMut;
/// use tonic_thrift::codec::{BinaryInput, BinaryOutput};
/// use tonic_thrift::{Message, OneArg, RawStruct};
///
/// // An Args struct `{1: i64}` encoded by hand (or by a generic encoder) ...
/// let mut buf = BytesMut::new();
/// OneArg::<i64, 1>(42).encode(&mut BinaryOutput::new(&mut buf)).unwrap();
/// let raw = RawStruct(buf.freeze());
/// // ... travels as is, and a received struct is kept byte for byte.
/// let mut wire = raw.0.clone();
/// let back = RawStruct::decode(&mut BinaryInput::new(&mut wire)).unwrap();
/// assert_eq!(back, raw);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawStruct(pub Bytes);

impl Message for RawStruct {
    fn encode<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        p.write_bytes_without_len(self.0.clone())
    }

    fn decode<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        // Measure the struct by skipping it (bounded and depth-limited),
        // then keep the bytes it covered.
        let rest = Bytes::copy_from_slice(p.buf().chunk());
        let len = p.skip(TType::Struct)?;
        if len > rest.len() {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::InvalidData,
                "a raw struct must be read from one contiguous buffer",
            ));
        }
        Ok(RawStruct(rest.slice(..len)))
    }

    #[allow(refining_impl_trait)]
    fn decode_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> BoxFuture<'_, Result<Self, ThriftException>> {
        decode_async_via_binary(p)
    }

    fn size<P: TLengthProtocol>(&self, _p: &mut P) -> usize {
        self.0.len()
    }
}

impl ThriftArgs for RawStruct {
    type Input = RawStruct;

    fn from_input(input: RawStruct) -> Self {
        input
    }

    fn into_input(self) -> RawStruct {
        self
    }
}

impl ThriftResult for RawStruct {
    type Ok = RawStruct;
    type Err = Status;

    fn from_outcome(outcome: Result<RawStruct, Status>) -> Result<Self, Status> {
        outcome
    }

    fn into_outcome(self) -> Result<RawStruct, Status> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BinaryInput;

    #[test]
    fn a_truncated_struct_is_an_error() {
        // Field 1, i64, but only 3 of its 8 bytes.
        let mut wire = Bytes::from_static(&[10, 0, 1, 0, 0, 0]);
        assert!(RawStruct::decode(&mut BinaryInput::new(&mut wire)).is_err());
    }

    #[test]
    fn only_the_struct_is_kept() {
        // `{1: i32 7}` then bytes that belong to something else.
        let mut wire = Bytes::from_static(&[8, 0, 1, 0, 0, 0, 7, 0, 0xAA, 0xBB]);
        let raw = RawStruct::decode(&mut BinaryInput::new(&mut wire)).unwrap();
        assert_eq!(&raw.0[..], &[8, 0, 1, 0, 0, 0, 7, 0]);
        assert_eq!(&wire[..], &[0xAA, 0xBB]);
    }
}
