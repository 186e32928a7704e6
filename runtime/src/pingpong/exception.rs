//! `TApplicationException`: how a Thrift server reports a failure that is
//! not a declared exception (unknown method, undecodable arguments, handler
//! error).

use std::fmt;

use bytes::{Bytes, BytesMut};
use faststr::FastStr;
use pilota::thrift::{TInputProtocol, TOutputProtocol, TStructIdentifier, TType};

use crate::codec::{BinaryInput, BinaryOutput, CompactInput, CompactOutput, Protocol};

/// The type of a [`ApplicationException`] (field 2 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionKind(pub i32);

impl ExceptionKind {
    /// Unknown error.
    pub const UNKNOWN: Self = Self(0);
    /// The method does not exist.
    pub const UNKNOWN_METHOD: Self = Self(1);
    /// The message type was not CALL / ONEWAY (server) or REPLY / EXCEPTION (client).
    pub const INVALID_MESSAGE_TYPE: Self = Self(2);
    /// The reply names another method.
    pub const WRONG_METHOD_NAME: Self = Self(3);
    /// The reply carries another sequence id.
    pub const BAD_SEQUENCE_ID: Self = Self(4);
    /// The reply holds no result.
    pub const MISSING_RESULT: Self = Self(5);
    /// The handler failed.
    pub const INTERNAL_ERROR: Self = Self(6);
    /// The message could not be decoded.
    pub const PROTOCOL_ERROR: Self = Self(7);
    /// A THeader transform the peer does not know (Apache Thrift).
    pub const INVALID_TRANSFORM: Self = Self(8);
    /// A THeader protocol id the peer does not know (Apache Thrift).
    pub const INVALID_PROTOCOL: Self = Self(9);
    /// A client type (framing) the server does not allow (Apache Thrift).
    pub const UNSUPPORTED_CLIENT_TYPE: Self = Self(10);

    fn name(self) -> &'static str {
        match self.0 {
            0 => "UNKNOWN",
            1 => "UNKNOWN_METHOD",
            2 => "INVALID_MESSAGE_TYPE",
            3 => "WRONG_METHOD_NAME",
            4 => "BAD_SEQUENCE_ID",
            5 => "MISSING_RESULT",
            6 => "INTERNAL_ERROR",
            7 => "PROTOCOL_ERROR",
            8 => "INVALID_TRANSFORM",
            9 => "INVALID_PROTOCOL",
            10 => "UNSUPPORTED_CLIENT_TYPE",
            _ => "OTHER",
        }
    }
}

/// A Thrift `TApplicationException`: `{1: string message, 2: i32 type}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationException {
    /// What went wrong.
    pub kind: ExceptionKind,
    /// The peer's explanation.
    pub message: FastStr,
}

impl ApplicationException {
    /// An exception of `kind` saying `message`.
    pub fn new(kind: ExceptionKind, message: impl Into<FastStr>) -> Self {
        ApplicationException {
            kind,
            message: message.into(),
        }
    }

    /// Encodes the exception struct in Thrift Binary.
    pub fn encode(&self) -> Bytes {
        self.encode_in(Protocol::Binary)
    }

    /// Encodes the exception struct in `protocol`.
    pub fn encode_in(&self, protocol: Protocol) -> Bytes {
        let mut buf = BytesMut::with_capacity(16 + self.message.len());
        match protocol {
            Protocol::Binary => self.write(&mut BinaryOutput::new(&mut buf)),
            Protocol::Compact => self.write(&mut CompactOutput::new(&mut buf)),
        }
        buf.freeze()
    }

    fn write<P: TOutputProtocol>(&self, p: &mut P) {
        // Writing to a BytesMut cannot fail except on lengths above i32::MAX,
        // which a message cannot reach here; ignore the impossible error.
        let _ = (|| {
            p.write_struct_begin(&TStructIdentifier {
                name: "TApplicationException",
            })?;
            p.write_field_begin(TType::Binary, 1)?;
            p.write_faststr(self.message.clone())?;
            p.write_field_end()?;
            p.write_field_begin(TType::I32, 2)?;
            p.write_i32(self.kind.0)?;
            p.write_field_end()?;
            p.write_field_stop()?;
            p.write_struct_end()
        })();
    }

    /// Decodes the exception struct (Thrift Binary), skipping unknown fields.
    pub fn decode(body: Bytes) -> Result<Self, pilota::thrift::ThriftException> {
        Self::decode_in(Protocol::Binary, body)
    }

    /// Decodes the exception struct in `protocol`, skipping unknown fields.
    pub fn decode_in(
        protocol: Protocol,
        mut body: Bytes,
    ) -> Result<Self, pilota::thrift::ThriftException> {
        match protocol {
            Protocol::Binary => Self::read(&mut BinaryInput::new(&mut body)),
            Protocol::Compact => Self::read(&mut CompactInput::new(&mut body)),
        }
    }

    fn read<P: TInputProtocol>(p: &mut P) -> Result<Self, pilota::thrift::ThriftException> {
        let mut out = ApplicationException::new(ExceptionKind::UNKNOWN, "");
        p.read_struct_begin()?;
        loop {
            let f = p.read_field_begin()?;
            match (f.field_type, f.id) {
                (TType::Stop, _) => break,
                (TType::Binary, Some(1)) => out.message = p.read_faststr()?,
                (TType::I32, Some(2)) => out.kind = ExceptionKind(p.read_i32()?),
                (t, _) => {
                    p.skip(t)?;
                }
            }
            p.read_field_end()?;
        }
        p.read_struct_end()?;
        Ok(out)
    }

    /// The gRPC status a caller sees for this exception; the exception
    /// itself is kept as the status's source (see [`application_exception`]).
    pub fn into_status(self) -> tonic::Status {
        let code = match self.kind {
            ExceptionKind::UNKNOWN_METHOD => tonic::Code::Unimplemented,
            ExceptionKind::PROTOCOL_ERROR | ExceptionKind::INVALID_MESSAGE_TYPE => {
                tonic::Code::Internal
            }
            _ => tonic::Code::Unknown,
        };
        let mut status = tonic::Status::new(code, self.to_string());
        status.set_source(std::sync::Arc::new(self));
        status
    }
}

/// The [`ApplicationException`] behind a status returned by a ping-pong
/// client, if that is what the server answered.
pub fn application_exception(status: &tonic::Status) -> Option<&ApplicationException> {
    std::error::Error::source(status).and_then(|e| e.downcast_ref::<ApplicationException>())
}

impl fmt::Display for ApplicationException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "thrift application exception {} ({}): {}",
            self.kind.name(),
            self.kind.0,
            self.message
        )
    }
}

impl std::error::Error for ApplicationException {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_status() {
        let e = ApplicationException::new(ExceptionKind::UNKNOWN_METHOD, "unknown method `X`");
        let back = ApplicationException::decode(e.encode()).unwrap();
        assert_eq!(back, e);
        let status = back.into_status();
        assert_eq!(status.code(), tonic::Code::Unimplemented);
        assert!(status.message().contains("unknown method `X`"));
        assert_eq!(
            application_exception(&status).map(|e| e.kind),
            Some(ExceptionKind::UNKNOWN_METHOD)
        );
    }
}
