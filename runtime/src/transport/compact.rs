//! The Thrift Compact message header, and finding the end of a Buffered
//! Compact message.
//!
//! ```text
//!  82 | (type << 5 | 1) | varint seqid | varint name length | name | body struct
//! ```

use bytes::{Bytes, BytesMut};
use pilota::thrift::{TInputProtocol, TMessageType, TOutputProtocol, TType};

use super::{FrameError, MessageHeader, MessageType};
use crate::codec::{CompactInput, CompactOutput, Protocol, TMessageIdentifier};

/// Reads a Compact message header from the front of `message`, returning
/// it and the body (sharing `message`'s memory).
pub(crate) fn read_header(message: &Bytes) -> Result<(MessageHeader, Bytes), FrameError> {
    let mut rest = message.clone();
    let id = CompactInput::new(&mut rest)
        .read_message_begin()
        .map_err(|e| FrameError::new(format!("bad compact message header: {e}")))?;
    let message_type = match id.message_type {
        TMessageType::Call => MessageType::Call,
        TMessageType::Reply => MessageType::Reply,
        TMessageType::Exception => MessageType::Exception,
        TMessageType::OneWay => MessageType::Oneway,
    };
    let header = MessageHeader {
        name: id.name,
        message_type,
        seq_id: id.sequence_number,
    };
    Ok((header, rest))
}

/// Appends `header` as a Compact message header to `dst`.
pub(crate) fn write_header(dst: &mut BytesMut, header: &MessageHeader) {
    let message_type = match header.message_type {
        MessageType::Call => TMessageType::Call,
        MessageType::Reply => TMessageType::Reply,
        MessageType::Exception => TMessageType::Exception,
        MessageType::Oneway => TMessageType::OneWay,
    };
    let id = TMessageIdentifier::new(header.name.clone(), message_type, header.seq_id);
    // A BytesMut grows as needed; only a name of 2 GiB could fail, and it
    // cannot be framed anyway.
    let _ = CompactOutput::new(dst).write_message_begin(&id);
}

/// Reads the message header of either protocol, telling which it was.
pub(crate) fn read_any_header(
    message: &Bytes,
) -> Result<(MessageHeader, Protocol, Bytes), FrameError> {
    match message.first().copied().and_then(Protocol::of_message) {
        Some(Protocol::Compact) => {
            let (h, body) = read_header(message)?;
            Ok((h, Protocol::Compact, body))
        }
        _ => {
            let (h, body) = super::read_message_header(message)?;
            Ok((h, Protocol::Binary, body))
        }
    }
}

/// Where measuring a Buffered Compact message stopped.
pub(crate) enum Measured {
    /// The message is this many bytes long.
    Complete(usize),
    /// The buffer must hold at least this many bytes before it can be.
    Incomplete(usize),
    /// The bytes are not a Compact message.
    Invalid(String),
}

/// Measures the Compact message at the front of `buf` by walking its
/// header and body (bounds-checked and depth-limited as any decode).
pub(crate) fn measure(buf: &[u8]) -> Measured {
    let mut rest = buf;
    let mut p = CompactInput::new(&mut rest);
    let walked = p
        .read_message_begin()
        .and_then(|_| p.skip(TType::Struct).map(|_| ()));
    match walked {
        Ok(()) => {
            let left = p.buf().len();
            Measured::Complete(buf.len() - left)
        }
        Err(e) => match p.short_by() {
            0 => Measured::Invalid(format!("bad compact message: {e}")),
            n => Measured::Incomplete(buf.len().saturating_add(n)),
        },
    }
}
