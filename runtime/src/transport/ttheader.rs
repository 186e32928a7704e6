//! TTHeader: Kitex's default ping-pong framing.
//!
//! ```text
//! u32 length (of everything after it)   u16 magic 0x1000   u16 flags
//! u32 seqid                             u16 header size in 4-byte words
//! header: u8 protocol id, u8 transform count, transform ids (u8 each),
//!         info blocks (0x01 string k/v, 0x10 int k/v, 0x11 ACL token),
//!         zero padding to the header size
//! payload: [u32 inner Framed length] strict Thrift message
//! ```
//!
//! Reference: `protocol/ttheader/` in `github.com/cloudwego/gopkg`.

use bytes::{BufMut, BytesMut};
use faststr::FastStr;

use super::framed::checked_len;
use super::{be_u16, be_u32, hex_prefix, read_length_prefix, Frame, FrameError, Framing};

/// Int key: the callee's service name.
pub(crate) const INT_KEY_TO_SERVICE: u16 = 6;
/// Int key: the called method.
pub(crate) const INT_KEY_TO_METHOD: u16 = 9;
/// Int key: the call's timeout in milliseconds (its deadline).
pub(crate) const INT_KEY_RPC_TIMEOUT: u16 = 12;
/// Int key: the message type (`"1"` call, `"2"` reply, `"3"` exception).
pub(crate) const INT_KEY_MSG_TYPE: u16 = 22;

/// Magic in bytes 4..6 of a TTHeader frame.
pub(crate) const MAGIC: u16 = 0x1000;
/// Flag of a TTHeader Streaming frame.
pub(crate) const FLAG_STREAMING: u16 = 0x0002;
/// Size of the fixed part: length, magic, flags, seqid, header size.
pub(crate) const FIXED_SIZE: usize = 14;
/// Info block ids.
const INFO_PADDING: u8 = 0x00;
const INFO_KEY_VALUE: u8 = 0x01;
const INFO_INT_KEY_VALUE: u8 = 0x10;
const INFO_ACL_TOKEN: u8 = 0x11;
/// Protocol id of Thrift Binary.
const PROTOCOL_THRIFT_BINARY: u8 = 0;
/// Protocol id of Thrift Compact.
const PROTOCOL_THRIFT_COMPACT: u8 = 2;
/// First byte of a Thrift Compact message.
const PROTOCOL_COMPACT_FIRST_BYTE: u8 = crate::codec::Protocol::COMPACT_ID;
/// Largest header size the u16 word count can express.
pub(crate) const MAX_HEADER_SIZE: usize = 4 * u16::MAX as usize;

/// The header of a TTHeader frame.
///
/// Key/values keep their wire order; duplicate keys are kept as received and
/// the lookups return the last one (as Kitex's map-based decoder would).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TTHeader {
    /// Header flags (`0x0002` marks TTHeader Streaming).
    pub flags: u16,
    /// Sequence id (Kitex sets it to the message's seq id).
    pub seq_id: i32,
    /// Payload protocol id: 0 Thrift Binary, 2 Thrift Compact (the two
    /// decoded).
    pub protocol_id: u8,
    /// Transform ids, one byte each as Kitex writes them (Kitex sends none
    /// and applies none).
    pub transforms: Vec<u8>,
    /// String key/values (info block `0x01`), in wire order, unknown keys
    /// kept.
    pub strings: Vec<(FastStr, FastStr)>,
    /// Integer-keyed values (info block `0x10`), in wire order.
    pub ints: Vec<(u16, FastStr)>,
    /// ACL token (info block `0x11`).
    pub acl_token: Option<FastStr>,
}

impl TTHeader {
    /// The value of string key `key`, if present.
    pub fn string(&self, key: &str) -> Option<&str> {
        self.strings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of integer key `key`, if present.
    pub fn int(&self, key: u16) -> Option<&str> {
        self.ints
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets string key `key` to `value`, replacing an existing value in
    /// place (and dropping later duplicates) or appending a new key.
    pub fn set_string(&mut self, key: impl Into<FastStr>, value: impl Into<FastStr>) {
        let key = key.into();
        let value = value.into();
        let mut found = false;
        self.strings.retain_mut(|(k, v)| {
            if *k != key {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            *v = value.clone();
            true
        });
        if !found {
            self.strings.push((key, value));
        }
    }

    /// Sets integer key `key` to `value`, replacing an existing value in
    /// place (and dropping later duplicates) or appending a new key.
    pub fn set_int(&mut self, key: u16, value: impl Into<FastStr>) {
        let value = value.into();
        let mut found = false;
        self.ints.retain_mut(|(k, v)| {
            if *k != key {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            *v = value.clone();
            true
        });
        if !found {
            self.ints.push((key, value));
        }
    }
}

/// Decodes one TTHeader frame from the front of `buf` (see
/// [`decode_frame`](super::decode_frame)).
pub(crate) fn decode(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
    let Some(total) = read_length_prefix(buf, max_frame)? else {
        return Ok(None);
    };
    if total < FIXED_SIZE {
        return Err(FrameError::new(format!(
            "ttheader frame of {total} bytes is shorter than its {FIXED_SIZE}-byte fixed header"
        )));
    }
    if let Some(magic) = be_u16(buf, 4) {
        if magic == super::theader::MAGIC {
            return super::theader::decode(buf, max_frame);
        }
        if magic != MAGIC {
            return Err(FrameError::new(format!(
                "bad ttheader magic 0x{magic:04x} (first bytes {})",
                hex_prefix(buf, 8)
            )));
        }
    }
    let flags = be_u16(buf, 6);
    if let Some(flags) = flags {
        if flags & FLAG_STREAMING != 0 {
            return Err(FrameError::new(
                "ttheader streaming frames are not supported",
            ));
        }
    }
    let (Some(flags), Some(seq_id), Some(words)) = (flags, be_u32(buf, 8), be_u16(buf, 12)) else {
        return Ok(None);
    };
    let header_size = usize::from(words) * 4;
    if header_size == 0 {
        return Err(FrameError::new("ttheader header size 0 is invalid"));
    }
    let payload_start = FIXED_SIZE + header_size;
    if payload_start > total {
        return Err(FrameError::new(format!(
            "ttheader header size {header_size} points past the end of the {total}-byte frame"
        )));
    }
    let (Some(header_bytes), Some(payload)) = (
        buf.get(FIXED_SIZE..payload_start),
        buf.get(payload_start..total),
    ) else {
        return Ok(None);
    };
    let mut header = parse_header(header_bytes)?;
    header.flags = flags;
    header.seq_id = i32::from_be_bytes(seq_id.to_be_bytes());
    let (inner_framed, message_start) = payload_kind(payload, header.protocol_id)?;
    let message_start = payload_start + message_start;

    let mut frame = buf.split_to(total).freeze();
    let message = frame.split_off(message_start);
    Ok(Some(Frame {
        framing: Framing::TTHeader { inner_framed },
        header: Some(header),
        message,
    }))
}

/// Tells whether `payload` carries the inner Framed length, returning the
/// offset of the Thrift message in it.
///
/// The message must be in the protocol the header names: `80 01` for
/// Thrift Binary (0), `82` and version 1 for Thrift Compact (2).
fn payload_kind(payload: &[u8], protocol_id: u8) -> Result<(bool, usize), FrameError> {
    let strict = |at: usize| match (payload.get(at), payload.get(at.saturating_add(1))) {
        (Some(0x80), Some(0x01)) => protocol_id == PROTOCOL_THRIFT_BINARY,
        (Some(&0x82), Some(b)) => protocol_id == PROTOCOL_THRIFT_COMPACT && b & 0x1f == 1,
        _ => false,
    };
    if strict(0) {
        return Ok((false, 0));
    }
    if let Some(inner) = be_u32(payload, 0) {
        let rest = payload.len().saturating_sub(4);
        if usize::try_from(inner).ok() == Some(rest) && strict(4) {
            return Ok((true, 4));
        }
    }
    Err(FrameError::new(format!(
        "ttheader payload is neither a framed nor an unframed thrift message of its protocol id {protocol_id} (first bytes {})",
        if payload.is_empty() {
            "none".to_owned()
        } else {
            hex_prefix(payload, 6)
        }
    )))
}

/// A bounds-checked reader over the variable part of a TTHeader.
struct HeaderReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl HeaderReader<'_> {
    fn truncated(what: &str) -> FrameError {
        FrameError::new(format!("ttheader header ends inside its {what}"))
    }

    /// Bytes not read yet.
    fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn u8(&mut self) -> Option<u8> {
        let b = self.buf.get(self.pos).copied()?;
        self.pos += 1;
        Some(b)
    }

    fn u16(&mut self, what: &str) -> Result<u16, FrameError> {
        let v = be_u16(self.buf, self.pos).ok_or_else(|| Self::truncated(what))?;
        self.pos += 2;
        Ok(v)
    }

    fn bytes(&mut self, n: usize, what: &str) -> Result<&[u8], FrameError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| Self::truncated(what))?;
        let b = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| Self::truncated(what))?;
        self.pos = end;
        Ok(b)
    }

    /// Reads a u16-length-prefixed string (invalid UTF-8 is replaced, as the
    /// header carries Go strings, which need not be UTF-8).
    fn string(&mut self, what: &str) -> Result<FastStr, FrameError> {
        let len = usize::from(self.u16(what)?);
        let bytes = self.bytes(len, what)?;
        Ok(match crate::codec::utf8::check(bytes) {
            Ok(s) => crate::codec::utf8::copied(s),
            Err(_) => FastStr::from_string(String::from_utf8_lossy(bytes).into_owned()),
        })
    }
}

/// Parses the variable header (protocol id, transforms, info blocks,
/// padding). `flags` and `seq_id` are left at their defaults.
fn parse_header(buf: &[u8]) -> Result<TTHeader, FrameError> {
    match buf.first() {
        Some(&PROTOCOL_THRIFT_COMPACT) => parse_header_for(buf, PROTOCOL_THRIFT_COMPACT),
        _ => parse_header_for(buf, PROTOCOL_THRIFT_BINARY),
    }
}

/// [`parse_header`] for frames whose protocol id must be `protocol`
/// (TTHeader Streaming uses 0x10, Thrift struct).
pub(crate) fn parse_header_for(buf: &[u8], protocol: u8) -> Result<TTHeader, FrameError> {
    let mut r = HeaderReader { buf, pos: 0 };
    let mut header = TTHeader {
        protocol_id: r
            .u8()
            .ok_or_else(|| HeaderReader::truncated("protocol id"))?,
        ..TTHeader::default()
    };
    if header.protocol_id != protocol {
        return Err(FrameError::new(format!(
            "unknown ttheader protocol id {}",
            header.protocol_id
        )));
    }
    let transforms = r
        .u8()
        .ok_or_else(|| HeaderReader::truncated("transform count"))?;
    header.transforms = r.bytes(usize::from(transforms), "transform ids")?.to_vec();
    while let Some(info) = r.u8() {
        match info {
            INFO_PADDING => {}
            INFO_KEY_VALUE => {
                let what = "string key/values";
                let count = r.u16(what)?;
                // Room for what the count claims, within what the bytes
                // left could hold (each pair takes at least 4).
                header.strings.reserve(usize::from(count).min(r.left() / 4));
                for _ in 0..count {
                    let key = r.string(what)?;
                    let value = r.string(what)?;
                    header.strings.push((key, value));
                }
            }
            INFO_INT_KEY_VALUE => {
                let what = "int key/values";
                let count = r.u16(what)?;
                // Each pair takes at least 4 bytes (key, value length).
                header.ints.reserve(usize::from(count).min(r.left() / 4));
                for _ in 0..count {
                    let key = r.u16(what)?;
                    let value = r.string(what)?;
                    header.ints.push((key, value));
                }
            }
            INFO_ACL_TOKEN => header.acl_token = Some(r.string("acl token")?),
            other => {
                return Err(FrameError::new(format!(
                    "unknown ttheader info id 0x{other:02x}"
                )))
            }
        }
    }
    Ok(header)
}

/// The value of int key `key` in a variable header, found without
/// building a [`TTHeader`] (no allocation). The header is checked as
/// [`parse_header_for`] checks it, so both refuse the same bytes.
pub(crate) fn scan_int_key(
    buf: &[u8],
    protocol: u8,
    key: u16,
) -> Result<Option<&[u8]>, FrameError> {
    let mut r = HeaderReader { buf, pos: 0 };
    let protocol_id = r
        .u8()
        .ok_or_else(|| HeaderReader::truncated("protocol id"))?;
    if protocol_id != protocol {
        return Err(FrameError::new(format!(
            "unknown ttheader protocol id {protocol_id}"
        )));
    }
    let transforms = r
        .u8()
        .ok_or_else(|| HeaderReader::truncated("transform count"))?;
    r.bytes(usize::from(transforms), "transform ids")?;
    let mut found = None;
    while let Some(info) = r.u8() {
        let what = match info {
            INFO_PADDING => continue,
            INFO_KEY_VALUE => "string key/values",
            INFO_INT_KEY_VALUE => "int key/values",
            INFO_ACL_TOKEN => {
                let len = r.u16("acl token")?;
                r.bytes(usize::from(len), "acl token")?;
                continue;
            }
            other => {
                return Err(FrameError::new(format!(
                    "unknown ttheader info id 0x{other:02x}"
                )))
            }
        };
        for _ in 0..r.u16(what)? {
            let k = if info == INFO_INT_KEY_VALUE {
                Some(r.u16(what)?)
            } else {
                let len = r.u16(what)?;
                r.bytes(usize::from(len), what)?;
                None
            };
            let len = r.u16(what)?;
            let start = r.pos;
            r.bytes(usize::from(len), what)?;
            if k == Some(key) {
                found = Some(start..r.pos);
            }
        }
    }
    Ok(found.and_then(|at| buf.get(at)))
}

/// Converts a key/value count to its u16 field.
fn count_u16(n: usize, what: &str) -> Result<u16, FrameError> {
    u16::try_from(n).map_err(|_| {
        FrameError::new(format!(
            "ttheader cannot carry {n} {what} (at most {})",
            u16::MAX
        ))
    })
}

/// Size of a u16-length-prefixed string, checking that its length fits.
fn string_size(s: &str) -> Result<usize, FrameError> {
    if s.len() > usize::from(u16::MAX) {
        return Err(FrameError::new(format!(
            "ttheader key or value of {} bytes is longer than {} bytes",
            s.len(),
            u16::MAX
        )));
    }
    Ok(2 + s.len())
}

/// Size of the variable header without padding, checking every field fits.
fn header_size(h: &TTHeader) -> Result<usize, FrameError> {
    if h.transforms.len() > usize::from(u8::MAX) {
        return Err(FrameError::new(format!(
            "ttheader cannot carry {} transforms (at most 255)",
            h.transforms.len()
        )));
    }
    // Every term below is bounded (u16 counts of u16-long strings), so the
    // sums stay far below usize::MAX; saturating keeps that obvious.
    let mut size = 2 + h.transforms.len();
    if let Some(token) = &h.acl_token {
        size = size.saturating_add(1 + string_size(token)?);
    }
    if !h.strings.is_empty() {
        count_u16(h.strings.len(), "string key/values")?;
        size = size.saturating_add(3);
        for (k, v) in &h.strings {
            size = size.saturating_add(string_size(k)?.saturating_add(string_size(v)?));
        }
    }
    if !h.ints.is_empty() {
        count_u16(h.ints.len(), "int key/values")?;
        size = size.saturating_add(3);
        for (_, v) in &h.ints {
            size = size.saturating_add(2 + string_size(v)?);
        }
    }
    Ok(size)
}

/// Appends a u16-length-prefixed string (length already checked).
fn put_string(dst: &mut BytesMut, s: &str) {
    dst.put_u16(u16::try_from(s.len()).unwrap_or(u16::MAX));
    dst.extend_from_slice(s.as_bytes());
}

/// The seq id of a strict message header at the front of `message`, if any.
fn message_seq_id(message: &[u8]) -> Option<i32> {
    if message.first() == Some(&PROTOCOL_COMPACT_FIRST_BYTE) {
        let (h, _) = super::compact::read_header(&bytes::Bytes::copy_from_slice(message)).ok()?;
        return Some(h.seq_id);
    }
    if be_u32(message, 0)? & 0x8000_0000 == 0 {
        return None;
    }
    let name_len = usize::try_from(be_u32(message, 4)?).ok()?;
    let seq = be_u32(message, name_len.checked_add(8)?)?;
    Some(i32::from_be_bytes(seq.to_be_bytes()))
}

/// The header of a frame sent without one: no flags or key/values; the
/// message's protocol and seq id.
pub(crate) fn default_for(message: &[u8]) -> TTHeader {
    TTHeader {
        seq_id: message_seq_id(message).unwrap_or(0),
        protocol_id: if message.first() == Some(&PROTOCOL_COMPACT_FIRST_BYTE) {
            PROTOCOL_THRIFT_COMPACT
        } else {
            PROTOCOL_THRIFT_BINARY
        },
        ..TTHeader::default()
    }
}

/// Appends one TTHeader frame carrying `message` to `dst` (see
/// [`encode_frame`](super::encode_frame)).
pub(crate) fn encode(
    dst: &mut BytesMut,
    header: Option<&TTHeader>,
    inner_framed: bool,
    message: &[u8],
) -> Result<(), FrameError> {
    let default;
    let header = match header {
        Some(h) => h,
        None => {
            default = default_for(message);
            &default
        }
    };
    let unpadded = header_size(header)?;
    let padded = unpadded.div_ceil(4).saturating_mul(4);
    if padded > MAX_HEADER_SIZE {
        return Err(FrameError::new(format!(
            "ttheader header of {padded} bytes exceeds the maximum of {MAX_HEADER_SIZE} bytes"
        )));
    }
    let words = u16::try_from(padded / 4).unwrap_or(u16::MAX);
    let inner_len = if inner_framed {
        Some(checked_len(message.len())?)
    } else {
        None
    };
    let payload = message
        .len()
        .saturating_add(if inner_framed { 4 } else { 0 });
    let total = (FIXED_SIZE - 4)
        .saturating_add(padded)
        .saturating_add(payload);
    let total = checked_len(total)?;

    dst.reserve(payload.saturating_add(padded).saturating_add(FIXED_SIZE));
    dst.put_u32(total);
    dst.put_u16(MAGIC);
    dst.put_u16(header.flags);
    dst.put_i32(header.seq_id);
    dst.put_u16(words);
    dst.put_u8(header.protocol_id);
    dst.put_u8(u8::try_from(header.transforms.len()).unwrap_or(u8::MAX));
    dst.extend_from_slice(&header.transforms);
    if let Some(token) = &header.acl_token {
        dst.put_u8(INFO_ACL_TOKEN);
        put_string(dst, token);
    }
    if !header.strings.is_empty() {
        dst.put_u8(INFO_KEY_VALUE);
        dst.put_u16(count_u16(header.strings.len(), "string key/values")?);
        for (k, v) in &header.strings {
            put_string(dst, k);
            put_string(dst, v);
        }
    }
    if !header.ints.is_empty() {
        dst.put_u8(INFO_INT_KEY_VALUE);
        dst.put_u16(count_u16(header.ints.len(), "int key/values")?);
        for (k, v) in &header.ints {
            dst.put_u16(*k);
            put_string(dst, v);
        }
    }
    dst.put_bytes(0, padded - unpadded);
    if let Some(inner_len) = inner_len {
        dst.put_u32(inner_len);
    }
    dst.extend_from_slice(message);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_data::*;
    use super::super::{
        decode_frame, encode_frame, read_message_header, Frame, FrameKind, Framing, MessageType,
    };
    use super::*;

    /// Int key: transport type (`"framed"`, `"unframed"`).
    const INT_KEY_TRANSPORT_TYPE: u16 = 1;
    /// Int key: the caller's service name.
    const INT_KEY_FROM_SERVICE: u16 = 3;
    /// Int key: the caller's method.
    const INT_KEY_FROM_METHOD: u16 = 20;

    const MAX: usize = 16 << 20;

    fn decode_one(wire: &[u8]) -> Frame {
        let mut buf = BytesMut::from(wire);
        let frame = decode_frame(&mut buf, FrameKind::TTHeader, MAX)
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        frame
    }

    fn decode_err(wire: &[u8]) -> String {
        let mut buf = BytesMut::from(wire);
        let err = decode_frame(&mut buf, FrameKind::TTHeader, MAX).unwrap_err();
        assert_eq!(buf.len(), wire.len(), "buffer must stay untouched");
        err.to_string()
    }

    fn strings(h: &TTHeader) -> Vec<(&str, &str)> {
        h.strings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn ints(h: &TTHeader) -> Vec<(u16, &str)> {
        h.ints.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[test]
    fn decodes_captured_unframed_call() {
        let wire = hex(TTHEADER_CALL);
        let frame = decode_one(&wire);
        assert_eq!(
            frame.framing,
            Framing::TTHeader {
                inner_framed: false
            }
        );
        let h = frame.header.as_ref().unwrap();
        assert_eq!(h.flags, 0);
        assert_eq!(h.seq_id, 1);
        assert_eq!(h.protocol_id, 0);
        assert!(h.transforms.is_empty());
        assert_eq!(h.acl_token, None);
        assert_eq!(
            strings(h),
            [
                ("RPC_PERSIST_TEST_PERSIST", "pv1"),
                ("isn", "TestService"),
                ("RPC_TRANSIT_TEST_KEY", "tv1"),
            ]
        );
        assert_eq!(
            ints(h),
            [
                (INT_KEY_FROM_SERVICE, ""),
                (INT_KEY_FROM_METHOD, ""),
                (INT_KEY_TO_SERVICE, "TestService"),
                (INT_KEY_TO_METHOD, "EchoPingPong"),
                (INT_KEY_MSG_TYPE, "1"),
                (INT_KEY_TRANSPORT_TYPE, "unframed"),
                (INT_KEY_RPC_TIMEOUT, "5000"),
            ]
        );
        assert_eq!(h.string("isn"), Some("TestService"));
        assert_eq!(h.string("missing"), None);
        assert_eq!(h.int(INT_KEY_RPC_TIMEOUT), Some("5000"));
        assert_eq!(h.int(2), None);
        // 14 fixed bytes + 148 header bytes, then the message.
        assert_eq!(&frame.message[..], &wire[162..]);
        let (m, body) = read_message_header(&frame.message).unwrap();
        assert_eq!(m.name, "EchoPingPong");
        assert_eq!(m.message_type, MessageType::Call);
        assert_eq!(m.seq_id, 1);
        assert_eq!(
            &body[..],
            b"\x0c\x00\x01\x0b\x00\x01\x00\x00\x00\x05hello\x00\x00"
        );
    }

    #[test]
    fn decodes_captured_inner_framed_call() {
        let wire = hex(TTHEADER_FRAMED_CALL);
        let frame = decode_one(&wire);
        assert_eq!(frame.framing, Framing::TTHeader { inner_framed: true });
        let h = frame.header.as_ref().unwrap();
        assert_eq!((h.flags, h.seq_id, h.protocol_id), (0, 1, 0));
        assert_eq!(strings(h), [("isn", "TestService")]);
        assert_eq!(
            ints(h),
            [
                (6, "TestService"),
                (9, "EchoPingPong"),
                (22, "1"),
                (1, "framed"),
                (12, "5000"),
                (3, ""),
                (20, ""),
            ]
        );
        // 14 fixed + 88 header + 4 inner length.
        assert_eq!(&frame.message[..], &wire[106..]);
        assert_eq!(frame.message.len(), 41);
        let (m, _) = read_message_header(&frame.message).unwrap();
        assert_eq!(m.name, "EchoPingPong");
    }

    #[test]
    fn decodes_captured_replies() {
        for (cap, inner) in [(TTHEADER_REPLY, false), (TTHEADER_FRAMED_REPLY, true)] {
            let frame = decode_one(&hex(cap));
            assert_eq!(
                frame.framing,
                Framing::TTHeader {
                    inner_framed: inner
                }
            );
            let h = frame.header.unwrap();
            assert!(h.strings.is_empty());
            assert_eq!(ints(&h), [(INT_KEY_MSG_TYPE, "2")]);
            assert_eq!(&frame.message[..], &hex(BUFFERED_REPLY)[..]);
        }
        let frame = decode_one(&hex(TTHEADER_BIZ_REPLY));
        let h = frame.header.unwrap();
        assert_eq!(h.string("biz-status"), Some("1001"));
        assert_eq!(h.string("biz-message"), Some("biz error msg"));
        assert_eq!(h.string("biz-extra"), Some("{\"k\":\"v\"}"));
        let frame = decode_one(&hex(TTHEADER_EXCEPTION_REPLY));
        let h = frame.header.unwrap();
        assert_eq!(h.string("crrst"), Some("1"));
        assert_eq!(h.int(INT_KEY_MSG_TYPE), Some("3"));
        let (m, _) = read_message_header(&frame.message).unwrap();
        assert_eq!(m.message_type, MessageType::Exception);
        assert_eq!(m.name, "MissingPingPong");
    }

    #[test]
    fn encodes_captured_reply_exactly() {
        let message = hex(BUFFERED_REPLY);
        let mut header = TTHeader {
            seq_id: 1,
            ..TTHeader::default()
        };
        header.set_int(INT_KEY_MSG_TYPE, "2");
        let mut dst = BytesMut::new();
        let unframed = Framing::TTHeader {
            inner_framed: false,
        };
        encode_frame(&mut dst, unframed, Some(&header), &message).unwrap();
        assert_eq!(
            &dst[..26],
            &[
                0x00, 0x00, 0x00, 0x3f, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03,
                0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x16, 0x00, 0x01, 0x32, 0x00, 0x00
            ]
        );
        assert_eq!(&dst[..], &hex(TTHEADER_REPLY)[..]);
        let mut dst = BytesMut::new();
        let framed = Framing::TTHeader { inner_framed: true };
        encode_frame(&mut dst, framed, Some(&header), &message).unwrap();
        assert_eq!(&dst[..], &hex(TTHEADER_FRAMED_REPLY)[..]);
    }

    #[test]
    fn every_capture_reencodes_byte_for_byte() {
        for cap in ALL_TTHEADER {
            let wire = hex(cap);
            let frame = decode_one(&wire);
            let mut dst = BytesMut::new();
            encode_frame(
                &mut dst,
                frame.framing,
                frame.header.as_ref(),
                &frame.message,
            )
            .unwrap();
            assert_eq!(&dst[..], &wire[..]);
        }
    }

    #[test]
    fn default_header_takes_the_message_seq_id() {
        let mut message = hex(BUFFERED_REPLY);
        message[23] = 9; // seq id 9
        let mut dst = BytesMut::new();
        encode_frame(
            &mut dst,
            Framing::TTHeader {
                inner_framed: false,
            },
            None,
            &message,
        )
        .unwrap();
        // Header: protocol id, no transforms, two bytes of padding.
        assert_eq!(
            &dst[..18],
            &[0, 0, 0, 0x37, 0x10, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 0, 0, 0]
        );
        let frame = decode_one(&dst);
        assert_eq!(
            frame.header.unwrap(),
            TTHeader {
                seq_id: 9,
                ..TTHeader::default()
            }
        );
        assert_eq!(&frame.message[..], &message[..]);
    }

    #[test]
    fn round_trip_everything() {
        let mut h = TTHeader {
            flags: 0x0001,
            seq_id: -7,
            protocol_id: 0,
            transforms: vec![1, 2, 3],
            acl_token: Some("token".into()),
            ..TTHeader::default()
        };
        h.set_string("k1", "v1");
        h.set_string("k2", "");
        h.set_string("", "empty key");
        h.set_string("ключ", "значение");
        h.set_int(INT_KEY_TO_METHOD, "Echo");
        h.set_int(u16::MAX, "x".repeat(300));
        let message = hex(BUFFERED_CALL);
        for inner_framed in [false, true] {
            let mut dst = BytesMut::new();
            let framing = Framing::TTHeader { inner_framed };
            encode_frame(&mut dst, framing, Some(&h), &message).unwrap();
            assert_eq!((dst.len() - 14 - message.len()) % 4, 0);
            let f = decode_one(&dst);
            assert_eq!(f.framing, framing);
            assert_eq!(f.header.as_ref(), Some(&h));
            assert_eq!(&f.message[..], &message[..]);
        }
    }

    #[test]
    fn set_replaces_existing_keys() {
        let mut h = TTHeader::default();
        h.set_string("a", "1");
        h.set_string("b", "2");
        h.strings.push(("a".into(), "3".into()));
        assert_eq!(h.string("a"), Some("3"));
        h.set_string("a", "4");
        assert_eq!(strings(&h), [("a", "4"), ("b", "2")]);
        h.set_int(1, "x");
        h.set_int(2, "y");
        h.set_int(1, "z");
        assert_eq!(ints(&h), [(1, "z"), (2, "y")]);
    }

    #[test]
    fn every_prefix_is_incomplete_and_pipelining_works() {
        let mut all = BytesMut::new();
        for cap in ALL_TTHEADER {
            let wire = hex(cap);
            for n in 0..wire.len() {
                let mut buf = BytesMut::from(&wire[..n]);
                assert!(
                    decode_frame(&mut buf, FrameKind::TTHeader, MAX)
                        .unwrap()
                        .is_none(),
                    "prefix {n}"
                );
                assert_eq!(buf.len(), n);
            }
            all.extend_from_slice(&wire);
        }
        all.extend_from_slice(&hex(TTHEADER_CALL)[..20]);
        for cap in ALL_TTHEADER {
            let f = decode_frame(&mut all, FrameKind::TTHeader, MAX)
                .unwrap()
                .unwrap();
            let wire = hex(cap);
            assert!(wire.ends_with(&f.message));
        }
        assert!(decode_frame(&mut all, FrameKind::TTHeader, MAX)
            .unwrap()
            .is_none());
        assert_eq!(all.len(), 20);
    }

    #[test]
    fn length_errors_come_before_the_bytes() {
        assert_eq!(
            decode_err(&[0x01, 0x31, 0x2d, 0x00]),
            "frame length 20000004 exceeds the limit of 16777216 bytes"
        );
        assert_eq!(
            decode_err(&[0xff, 0xff, 0xff, 0xfb]),
            "negative frame length -5"
        );
        assert_eq!(
            decode_err(&[0, 0, 0, 5, 0x10, 0]),
            "ttheader frame of 9 bytes is shorter than its 14-byte fixed header"
        );
    }

    #[test]
    fn header_errors() {
        // Header size 400 in a 120-byte frame, detected from the fixed part.
        let mut wire = vec![0, 0, 0, 116, 0x10, 0, 0, 0, 0, 0, 0, 1, 0, 100];
        assert_eq!(
            decode_err(&wire),
            "ttheader header size 400 points past the end of the 120-byte frame"
        );
        wire[13] = 0;
        assert_eq!(decode_err(&wire), "ttheader header size 0 is invalid");

        let good = hex(TTHEADER_REPLY);
        let mut bad = good.clone();
        bad[14] = 3;
        assert_eq!(decode_err(&bad), "unknown ttheader protocol id 3");
        let mut bad = good.clone();
        bad[4] = 0x11;
        assert!(decode_err(&bad[..6]).starts_with("bad ttheader magic 0x1100"));
        let mut bad = good.clone();
        bad[7] = 0x02;
        assert_eq!(
            decode_err(&bad[..8]),
            "ttheader streaming frames are not supported"
        );
        let mut bad = good.clone();
        bad[16] = 0x12; // info id
        assert_eq!(decode_err(&bad), "unknown ttheader info id 0x12");
        let mut bad = good.clone();
        bad[18] = 0x05; // int count 5, runs into padding then past the end
        assert_eq!(
            decode_err(&bad),
            "ttheader header ends inside its int key/values"
        );
        let mut bad = good.clone();
        bad[15] = 0x20;
        assert_eq!(
            decode_err(&bad),
            "ttheader header ends inside its transform ids"
        );
        // Payload that is neither framed nor unframed Thrift.
        let mut bad = good.clone();
        bad[26] = 0x00;
        assert!(decode_err(&bad).starts_with("ttheader payload is neither"));
        // Inner framed length that does not match.
        let mut bad = hex(TTHEADER_FRAMED_REPLY);
        bad[29] = 0x28;
        assert!(decode_err(&bad).starts_with("ttheader payload is neither"));
        // Empty payload.
        let empty = [0, 0, 0, 14, 0x10, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        assert_eq!(
            decode_err(&empty),
            "ttheader payload is neither a framed nor an unframed thrift message of its protocol id 0 (first bytes none)"
        );
    }

    #[test]
    fn non_utf8_values_are_replaced() {
        let mut h = TTHeader::default();
        h.set_string("k", "ab");
        let mut dst = BytesMut::new();
        let framing = Framing::TTHeader {
            inner_framed: false,
        };
        encode_frame(&mut dst, framing, Some(&h), &hex(BUFFERED_CALL)).unwrap();
        // key "k" at 14+2+3+2, value "ab" at 22+2
        assert_eq!(&dst[24..26], b"ab");
        dst[24] = 0xff;
        let f = decode_one(&dst);
        assert_eq!(f.header.unwrap().string("k"), Some("\u{fffd}b"));
    }

    #[test]
    fn encode_errors_leave_dst_untouched() {
        let mut dst = BytesMut::from(&b"xy"[..]);
        let framing = Framing::TTHeader { inner_framed: true };
        let h = TTHeader {
            transforms: vec![0; 256],
            ..TTHeader::default()
        };
        assert!(encode_frame(&mut dst, framing, Some(&h), b"").is_err());
        let mut h = TTHeader::default();
        h.set_string("k", "v".repeat(70_000));
        assert!(encode_frame(&mut dst, framing, Some(&h), b"").is_err());
        let mut h = TTHeader::default();
        for i in 0..=u16::MAX {
            h.ints.push((i, FastStr::empty()));
        }
        assert!(encode_frame(&mut dst, framing, Some(&h), b"").is_err());
        let mut h = TTHeader::default();
        for i in 0..20 {
            h.set_string(format!("k{i}"), "v".repeat(20_000));
        }
        let e = encode_frame(&mut dst, framing, Some(&h), b"").unwrap_err();
        assert!(e.message().contains("exceeds the maximum"), "{e}");
        assert_eq!(&dst[..], b"xy");
    }
}
