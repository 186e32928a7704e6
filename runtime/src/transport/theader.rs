//! Apache Thrift's THeader transport (`THeaderTransport`), the sibling of
//! Kitex's TTHeader that the Apache libraries speak.
//!
//! ```text
//! u32 length (of everything after it)   u16 magic 0x0fff   u16 flags
//! u32 seqid                             u16 header size in 4-byte words
//! header: varint protocol id (0 binary, 2 compact), varint transform count,
//!         varint transform ids, info blocks (varint type; 1 = key/values:
//!         varint count, then varint-length key and value strings),
//!         zero padding to the header size
//! payload: the Thrift message (no inner Framed length)
//! ```
//!
//! How it differs from TTHeader (see `runtime/docs/thrift-world.md`): magic
//! `0x0fff` instead of `0x1000`; varints instead of fixed-width u8/u16
//! fields in the header; only string key/values (type 1), no integer keys
//! or ACL token; transforms (zlib 1, snappy 2, ...) are defined, and this
//! implementation accepts only frames without any (an error names the
//! transform otherwise); the payload never carries an inner Framed length.
//!
//! Reference: Apache Thrift `doc/specs/HeaderFormat.md`,
//! `lib/py/src/transport/THeaderTransport.py`.

use bytes::{BufMut, BytesMut};
use faststr::FastStr;

use super::framed::checked_len;
use super::ttheader::MAX_HEADER_SIZE;
use super::{be_u16, be_u32, read_length_prefix, Frame, FrameError, Framing, TTHeader};

/// Magic in bytes 4..6 of an Apache THeader frame.
pub(crate) const MAGIC: u16 = 0x0fff;
/// Info block: string key/values.
const INFO_KEY_VALUE: u64 = 1;
/// Size of the fixed part: length, magic, flags, seqid, header size.
const FIXED_SIZE: usize = 14;

/// A bounds-checked reader of the variable header.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self, what: &str) -> Result<u64, FrameError> {
        let mut value = 0u64;
        for i in 0..5 {
            let b = *self.buf.get(self.pos).ok_or_else(|| truncated(what))?;
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(FrameError::new(format!(
            "theader {what} varint is longer than 5 bytes"
        )))
    }

    fn string(&mut self, what: &str) -> Result<FastStr, FrameError> {
        let len = usize::try_from(self.varint(what)?).unwrap_or(usize::MAX);
        let end = self.pos.checked_add(len).ok_or_else(|| truncated(what))?;
        let bytes = self.buf.get(self.pos..end).ok_or_else(|| truncated(what))?;
        self.pos = end;
        Ok(FastStr::new(String::from_utf8_lossy(bytes)))
    }
}

fn truncated(what: &str) -> FrameError {
    FrameError::new(format!("theader header is truncated in its {what}"))
}

/// Parses the variable header into a [`TTHeader`] value (protocol id,
/// transforms, string key/values).
fn parse_header(buf: &[u8]) -> Result<TTHeader, FrameError> {
    let mut r = Reader { buf, pos: 0 };
    let protocol = r.varint("protocol id")?;
    let protocol_id = match protocol {
        0 | 2 => protocol as u8,
        other => {
            return Err(FrameError::new(format!(
                "unsupported theader protocol id {other} (0 binary and 2 compact are supported)"
            )))
        }
    };
    let count = r.varint("transform count")?;
    if count != 0 {
        let first = r.varint("transform ids")?;
        return Err(FrameError::new(format!(
            "theader transform {first} is not supported (send frames without transforms)"
        )));
    }
    let mut header = TTHeader {
        protocol_id,
        ..TTHeader::default()
    };
    while !r.done() {
        match r.varint("info type")? {
            // Padding: the rest of the header is zeros.
            0 => break,
            INFO_KEY_VALUE => {
                let count = r.varint("key/value count")?;
                for _ in 0..count {
                    let key = r.string("key/values")?;
                    let value = r.string("key/values")?;
                    header.strings.push((key, value));
                }
            }
            // As Apache's readers do: stop at an unknown info type.
            _ => break,
        }
    }
    Ok(header)
}

/// Decodes one Apache THeader frame (magic already seen at bytes 4..6).
pub(crate) fn decode(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
    let Some(total) = read_length_prefix(buf, max_frame)? else {
        return Ok(None);
    };
    if total < FIXED_SIZE {
        return Err(FrameError::new(format!(
            "theader frame of {total} bytes is shorter than its {FIXED_SIZE}-byte fixed header"
        )));
    }
    let (Some(flags), Some(seq_id), Some(words)) =
        (be_u16(buf, 6), be_u32(buf, 8), be_u16(buf, 12))
    else {
        return Ok(None);
    };
    let header_size = usize::from(words) * 4;
    let payload_start = FIXED_SIZE + header_size;
    if header_size == 0 || payload_start > total {
        return Err(FrameError::new(format!(
            "theader header size {header_size} does not fit the {total}-byte frame"
        )));
    }
    let Some(header_bytes) = buf.get(FIXED_SIZE..payload_start) else {
        return Ok(None);
    };
    if buf.len() < total {
        return Ok(None);
    }
    let mut header = parse_header(header_bytes)?;
    let payload = &buf[payload_start..total];
    let first = crate::codec::Protocol::of_message(payload.first().copied().unwrap_or(0));
    let expected = match header.protocol_id {
        2 => crate::codec::Protocol::Compact,
        _ => crate::codec::Protocol::Binary,
    };
    if first != Some(expected) {
        return Err(FrameError::new(format!(
            "theader payload is not a thrift message of its protocol id {} (first bytes {})",
            header.protocol_id,
            super::hex_prefix(payload, 6)
        )));
    }
    header.flags = flags;
    header.seq_id = i32::from_be_bytes(seq_id.to_be_bytes());
    let mut frame = buf.split_to(total).freeze();
    let message = frame.split_off(payload_start);
    Ok(Some(Frame {
        framing: Framing::THeader,
        header: Some(header),
        message,
    }))
}

fn put_varint(dst: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        dst.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    dst.put_u8(v as u8);
}

/// Appends one Apache THeader frame carrying `message`. Of `header`, the
/// flags, seq id, protocol id and string key/values are written (THeader
/// has no integer keys or ACL token); transforms are refused.
pub(crate) fn encode(
    dst: &mut BytesMut,
    header: &TTHeader,
    message: &[u8],
) -> Result<(), FrameError> {
    if !header.transforms.is_empty() {
        return Err(FrameError::new("theader transforms are not supported"));
    }
    let mut info = BytesMut::new();
    put_varint(&mut info, u64::from(header.protocol_id));
    put_varint(&mut info, 0);
    if !header.strings.is_empty() {
        put_varint(&mut info, INFO_KEY_VALUE);
        put_varint(&mut info, header.strings.len() as u64);
        for (k, v) in &header.strings {
            put_varint(&mut info, k.len() as u64);
            info.extend_from_slice(k.as_bytes());
            put_varint(&mut info, v.len() as u64);
            info.extend_from_slice(v.as_bytes());
        }
    }
    let padded = info.len().div_ceil(4) * 4;
    if padded > MAX_HEADER_SIZE {
        return Err(FrameError::new(format!(
            "theader header of {padded} bytes exceeds the maximum of {MAX_HEADER_SIZE} bytes"
        )));
    }
    let total = checked_len((FIXED_SIZE - 4) + padded + message.len())?;
    dst.reserve(FIXED_SIZE + padded + message.len());
    dst.put_u32(total);
    dst.put_u16(MAGIC);
    dst.put_u16(header.flags);
    dst.put_i32(header.seq_id);
    dst.put_u16(u16::try_from(padded / 4).unwrap_or(u16::MAX));
    dst.extend_from_slice(&info);
    dst.put_bytes(0, padded - info.len());
    dst.extend_from_slice(message);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{decode_frame, encode_frame, FrameKind};
    use super::*;

    /// A THeader CALL written by Apache Thrift 0.16's Python
    /// `THeaderTransport` (binary protocol, one key/value `k`=`v`):
    /// `testI32(7)`, seq id 0.
    const PYTHON_CALL: &str = "0000002d0fff000000000000000200000101016b0176800100010000000774657374493332000000000800010000000700";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn decodes_a_python_frame_and_reencodes_it_byte_for_byte() {
        let wire = hex(PYTHON_CALL);
        let mut buf = BytesMut::from(&wire[..]);
        let frame = decode_frame(&mut buf, FrameKind::TTHeader, 1 << 20)
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        assert_eq!(frame.framing, Framing::THeader);
        let h = frame.header.clone().unwrap();
        assert_eq!((h.protocol_id, h.seq_id, h.flags), (0, 0, 0));
        assert_eq!(h.string("k"), Some("v"));
        assert_eq!(&frame.message[..4], b"\x80\x01\x00\x01");
        let mut out = BytesMut::new();
        encode_frame(&mut out, Framing::THeader, Some(&h), &frame.message).unwrap();
        assert_eq!(&out[..], &wire[..]);
    }

    #[test]
    fn every_prefix_waits_and_transforms_are_refused() {
        let wire = hex(PYTHON_CALL);
        for n in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..n]);
            assert!(decode_frame(&mut buf, FrameKind::TTHeader, 1 << 20)
                .unwrap()
                .is_none());
        }
        let mut zlib = wire.clone();
        zlib[15] = 1; // one transform...
        zlib[16] = 1; // ...zlib
        let mut buf = BytesMut::from(&zlib[..]);
        let e = decode_frame(&mut buf, FrameKind::TTHeader, 1 << 20).unwrap_err();
        assert!(e.message().contains("transform 1"), "{e}");
        let mut bad = wire.clone();
        bad[14] = 5;
        let mut buf = BytesMut::from(&bad[..]);
        let e = decode_frame(&mut buf, FrameKind::TTHeader, 1 << 20).unwrap_err();
        assert!(e.message().contains("protocol id 5"), "{e}");
    }
}
