//! The strict Thrift Binary message header.
//!
//! `i32 (0x8001_0000 | type)`, `string name` (i32 length + UTF-8 bytes),
//! `i32 seqid`, then the body.

use bytes::{BufMut, Bytes, BytesMut};
use faststr::FastStr;

use super::{be_u32, FrameError};

/// Version marker of a strict message header (top 16 bits).
const VERSION_1: u32 = 0x8001_0000;
/// Mask selecting the version bits of a strict message header.
const VERSION_MASK: u32 = 0xffff_0000;

/// The type of a Thrift message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A call expecting a reply.
    Call = 1,
    /// The reply to a call (its body is the Result struct).
    Reply = 2,
    /// A failed call (its body is a `TApplicationException`).
    Exception = 3,
    /// A call expecting no reply.
    Oneway = 4,
}

impl MessageType {
    /// The message type with wire value `value`, if any.
    pub(crate) fn from_wire(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Call),
            2 => Some(Self::Reply),
            3 => Some(Self::Exception),
            4 => Some(Self::Oneway),
            _ => None,
        }
    }

    /// The wire value as the decimal digit TTHeader's message-type key
    /// carries (as Kitex writes it).
    pub(crate) fn digit(self) -> &'static str {
        match self {
            Self::Call => "1",
            Self::Reply => "2",
            Self::Exception => "3",
            Self::Oneway => "4",
        }
    }
}

/// A strict Thrift Binary message header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// The method name.
    pub name: FastStr,
    /// The message type.
    pub message_type: MessageType,
    /// The sequence id matching a reply to its call.
    pub seq_id: i32,
}

/// Reads the strict message header from the front of `message`, returning it
/// and the body (the rest of `message`, sharing its memory).
///
/// Errors on a non-strict (old-style) header ("non-strict thrift message
/// header is not supported"), a bad version or message type, a negative or
/// truncated name, a name that is not UTF-8, or a header cut short.
pub fn read_message_header(message: &Bytes) -> Result<(MessageHeader, Bytes), FrameError> {
    let truncated = || {
        FrameError::new(format!(
            "thrift message header is truncated ({} bytes)",
            message.len()
        ))
    };
    let word = be_u32(message, 0).ok_or_else(truncated)?;
    if word & 0x8000_0000 == 0 {
        return Err(FrameError::new(
            "non-strict thrift message header is not supported",
        ));
    }
    if word & VERSION_MASK != VERSION_1 {
        return Err(FrameError::new(format!(
            "bad thrift message version 0x{:04x}",
            word >> 16
        )));
    }
    // As in Apache Thrift, the type is the low byte; bits 8..16 are unused.
    let type_byte = (word & 0xff) as u8;
    let message_type = MessageType::from_wire(type_byte)
        .ok_or_else(|| FrameError::new(format!("unknown thrift message type {type_byte}")))?;
    let raw_len = i32::from_be_bytes(be_u32(message, 4).ok_or_else(truncated)?.to_be_bytes());
    let name_len = usize::try_from(raw_len)
        .map_err(|_| FrameError::new(format!("negative thrift message name length {raw_len}")))?;
    let name_end = name_len.checked_add(8).ok_or_else(truncated)?;
    let seq_end = name_end.checked_add(4).ok_or_else(truncated)?;
    let seq_id = be_u32(message, name_end).ok_or_else(truncated)?;
    if seq_end > message.len() {
        return Err(truncated());
    }
    let name = FastStr::from_bytes(message.slice(8..name_end))
        .map_err(|_| FrameError::new("thrift message name is not valid utf-8"))?;
    let header = MessageHeader {
        name,
        message_type,
        seq_id: i32::from_be_bytes(seq_id.to_be_bytes()),
    };
    Ok((header, message.slice(seq_end..)))
}

/// Appends the strict message header `header` to `dst`.
pub fn write_message_header(dst: &mut BytesMut, header: &MessageHeader) {
    let name = header.name.as_bytes();
    dst.reserve(name.len().saturating_add(12));
    dst.put_u32(VERSION_1 | header.message_type as u32);
    // A name of 2 GiB or more cannot be framed anyway; clamp rather than wrap.
    dst.put_u32(u32::try_from(name.len()).unwrap_or(u32::MAX));
    dst.extend_from_slice(name);
    dst.put_i32(header.seq_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(bytes: &[u8]) -> Bytes {
        Bytes::copy_from_slice(bytes)
    }

    #[test]
    fn reads_captured_reply() {
        let m = msg(b"\x80\x01\x00\x02\x00\x00\x00\x0cEchoPingPong\x00\x00\x00\x01\x0c\x00\x00\x0b\x00\x01\x00\x00\x00\x05hello\x00\x00");
        let (h, body) = read_message_header(&m).unwrap();
        assert_eq!(h.name, "EchoPingPong");
        assert_eq!(h.message_type, MessageType::Reply);
        assert_eq!(h.seq_id, 1);
        assert_eq!(&body[..], &m[24..]);
    }

    #[test]
    fn round_trip_all_types() {
        for (t, seq) in [
            (MessageType::Call, 0),
            (MessageType::Reply, -1),
            (MessageType::Exception, i32::MAX),
            (MessageType::Oneway, i32::MIN),
        ] {
            let h = MessageHeader {
                name: "Méthode".into(),
                message_type: t,
                seq_id: seq,
            };
            let mut dst = BytesMut::new();
            write_message_header(&mut dst, &h);
            dst.extend_from_slice(b"\x00");
            let (back, body) = read_message_header(&dst.freeze()).unwrap();
            assert_eq!(back, h);
            assert_eq!(&body[..], b"\x00");
        }
        let h = MessageHeader {
            name: "".into(),
            message_type: MessageType::Call,
            seq_id: 7,
        };
        let mut dst = BytesMut::new();
        write_message_header(&mut dst, &h);
        assert_eq!(
            &dst[..],
            b"\x80\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x07"
        );
        let (back, body) = read_message_header(&dst.freeze()).unwrap();
        assert_eq!(back, h);
        assert!(body.is_empty());
    }

    #[test]
    fn non_strict_header_is_rejected() {
        let m = msg(b"\x00\x00\x00\x04Echo\x01\x00\x00\x00\x01\x00");
        assert_eq!(
            read_message_header(&m).unwrap_err().message(),
            "non-strict thrift message header is not supported"
        );
    }

    #[test]
    fn bad_version_type_name() {
        let e = read_message_header(&msg(b"\x80\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01"))
            .unwrap_err();
        assert_eq!(e.message(), "bad thrift message version 0x8002");
        let e = read_message_header(&msg(b"\x80\x01\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01"))
            .unwrap_err();
        assert_eq!(e.message(), "unknown thrift message type 5");
        let e = read_message_header(&msg(b"\x80\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"))
            .unwrap_err();
        assert_eq!(e.message(), "unknown thrift message type 0");
        let e = read_message_header(&msg(
            b"\x80\x01\x00\x01\x00\x00\x00\x02\xff\xfe\x00\x00\x00\x01",
        ))
        .unwrap_err();
        assert_eq!(e.message(), "thrift message name is not valid utf-8");
        let e = read_message_header(&msg(b"\x80\x01\x00\x01\xff\xff\xff\xff\x00\x00\x00\x01"))
            .unwrap_err();
        assert_eq!(e.message(), "negative thrift message name length -1");
    }

    #[test]
    fn truncated_headers() {
        let full = b"\x80\x01\x00\x01\x00\x00\x00\x04Echo\x00\x00\x00\x09";
        for n in 0..full.len() {
            let e = read_message_header(&msg(&full[..n])).unwrap_err();
            assert!(e.message().contains("truncated"), "{n}: {e}");
        }
        let (h, body) = read_message_header(&msg(full)).unwrap();
        assert_eq!(h.seq_id, 9);
        assert!(body.is_empty());
        // A huge name length must not overflow or panic.
        let e = read_message_header(&msg(b"\x80\x01\x00\x01\x7f\xff\xff\xff\x00")).unwrap_err();
        assert!(e.message().contains("truncated"));
    }
}
