//! [`Protocol`]: which Thrift protocol encodes a ping-pong message body.

use bytes::{Bytes, BytesMut};
use pilota::thrift::{Message, ThriftException};

use super::{BinaryInput, BinaryOutput, CompactInput, CompactOutput};

/// The Thrift protocol of ping-pong messages: how the message header and
/// the Args / Result structs are encoded. The framing
/// ([`Framing`](crate::transport::Framing)) is chosen separately; a server
/// accepts both protocols on the same port and answers in the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// Thrift Binary (`TBinaryProtocol`, strict header `80 01`); what Kitex
    /// speaks, and the default.
    #[default]
    Binary,
    /// Thrift Compact (`TCompactProtocol`, header `82`): varints, field id
    /// deltas, little-endian doubles.
    Compact,
}

impl Protocol {
    /// First byte of every Compact message.
    pub const COMPACT_ID: u8 = super::compact_input::PROTOCOL_ID;

    /// The protocol id a TTHeader / THeader carries for it (0 binary,
    /// 2 compact).
    pub fn header_id(self) -> u8 {
        match self {
            Protocol::Binary => 0,
            Protocol::Compact => 2,
        }
    }

    /// The protocol of a message from its first byte (`0x80` binary,
    /// `0x82` compact).
    pub fn of_message(first: u8) -> Option<Self> {
        match first {
            0x80 => Some(Protocol::Binary),
            super::compact_input::PROTOCOL_ID => Some(Protocol::Compact),
            _ => None,
        }
    }

    /// Encodes `message` (a struct) in this protocol, appending to `buf`.
    pub fn encode<M: Message>(
        self,
        message: &M,
        buf: &mut BytesMut,
    ) -> Result<(), ThriftException> {
        // Room for the whole struct at once, not grown field by field.
        buf.reserve(self.encoded_size(message));
        match self {
            Protocol::Binary => message.encode(&mut BinaryOutput::new(buf)),
            Protocol::Compact => message.encode(&mut CompactOutput::new(buf)),
        }
    }

    /// The encoded size of `message` (a struct) in this protocol.
    pub(crate) fn encoded_size<M: Message>(self, message: &M) -> usize {
        let mut nothing = BytesMut::new();
        match self {
            Protocol::Binary => message.size(&mut BinaryOutput::new(&mut nothing)),
            Protocol::Compact => message.size(&mut CompactOutput::new(&mut nothing)),
        }
    }

    /// Decodes a struct `M` from the front of `buf` in this protocol.
    pub fn decode<M: Message>(self, buf: &mut Bytes) -> Result<M, ThriftException> {
        match self {
            Protocol::Binary => M::decode(&mut BinaryInput::new(buf)),
            Protocol::Compact => M::decode(&mut CompactInput::new(buf)),
        }
    }
}
