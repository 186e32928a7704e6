//! Ping-pong framing: how Kitex carries ordinary (non-streaming) Thrift calls.
//!
//! A Kitex server serves ping-pong methods next to its HTTP/2 streaming
//! methods on the same port and picks the protocol per connection from the
//! first bytes ([`detect`]). A ping-pong connection then carries Thrift Binary
//! messages (strict message header + body, see [`read_message_header`]) or
//! Thrift Compact ones (first byte `0x82`, see
//! [`Protocol`](crate::codec::Protocol)) in one of these framings
//! ([`Framing`]):
//!
//! * **TTHeader** (Kitex's default): a length, a small header of key/values
//!   ([`TTHeader`]), then the message, since Kitex 0.13 by default itself
//!   prefixed with a 4-byte Framed length;
//! * **Framed**: a 4-byte big-endian length, then the message;
//! * **Buffered**: the bare message, delimited by parsing it;
//! * **THeader**: Apache Thrift's sibling of TTHeader (magic `0x0fff`,
//!   varint header fields), decoded with [`FrameKind::TTHeader`].
//!
//! ```text
//!  TTHeader   [u32 length][10 00][flags][seq id][header size][protocol, key/values, padding]
//!                         [u32 length]? [80 01 .. message header][body struct]
//!  Framed     [u32 length][80 01 .. message header][body struct]
//!  Buffered               [80 01 .. message header][body struct]
//! ```
//!
//! [`decode_frame`] takes one frame off the front of a read buffer and
//! [`encode_frame`] appends one to a write buffer. Nothing here panics on any
//! input: every length read from the wire is checked before use.
//!
//! The [`Server`](crate::Server) and the ping-pong clients use this module;
//! it is public for tools that read or write ping-pong traffic by hand (a
//! proxy, a capture decoder, a test peer):
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use tonic_thrift::transport::{
//!     decode_frame, detect, encode_frame, read_message_header, write_message_header,
//!     Detected, FrameKind, Framing, MessageHeader, MessageType, TTHeader,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A CALL of `EchoPingPong` with an empty Args struct (just the stop byte).
//! let mut message = BytesMut::new();
//! let header = MessageHeader {
//!     name: "EchoPingPong".into(),
//!     message_type: MessageType::Call,
//!     seq_id: 1,
//! };
//! write_message_header(&mut message, &header);
//! message.extend_from_slice(b"\x00");
//!
//! // Frame it as a Kitex 0.13+ client does, naming the callee's service.
//! let mut ttheader = TTHeader::default();
//! ttheader.set_string("isn", "TestService");
//! let mut wire = BytesMut::new();
//! let framing = Framing::TTHeader { inner_framed: true };
//! encode_frame(&mut wire, framing, Some(&ttheader), &message)?;
//!
//! // The receiving side: which protocol is this connection?
//! assert_eq!(detect(&wire)?, Some(Detected::TTHeader));
//!
//! // Frames arrive in pieces: a prefix decodes to `None` until the rest is in.
//! let mut partial = BytesMut::from(&wire[..10]);
//! assert!(decode_frame(&mut partial, FrameKind::TTHeader, 16 << 20)?.is_none());
//!
//! let frame = decode_frame(&mut wire, FrameKind::TTHeader, 16 << 20)?.expect("a whole frame");
//! assert_eq!(frame.framing, framing);
//! assert_eq!(frame.header.as_ref().and_then(|h| h.string("isn")), Some("TestService"));
//! let (read, body) = read_message_header(&frame.message)?;
//! assert_eq!(read, header);
//! assert_eq!(body, Bytes::from_static(b"\x00"));
//! # Ok(())
//! # }
//! ```

mod buffered;
mod compact;
mod detect;
#[cfg(test)]
mod detect_fuzz;
mod framed;
mod message;
mod theader;
mod ttheader;

use std::fmt;

use bytes::{Bytes, BytesMut};

pub(crate) use compact::{read_any_header, write_header as write_compact_header};
pub(crate) use detect::http2_preface_complete;
pub use detect::{detect, Detected};
pub use message::{read_message_header, write_message_header, MessageHeader, MessageType};
pub use ttheader::TTHeader;
pub(crate) use ttheader::{
    encode as encode_ttheader, parse_header_for, scan_int_key, FIXED_SIZE as TTHEADER_FIXED_SIZE,
    FLAG_STREAMING, INT_KEY_MSG_TYPE, INT_KEY_RPC_TIMEOUT, INT_KEY_TO_METHOD, INT_KEY_TO_SERVICE,
    MAGIC as TTHEADER_MAGIC,
};

/// How a ping-pong connection frames its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// TTHeader framing (Kitex's default).
    TTHeader {
        /// Whether the payload inside the TTHeader carries its own 4-byte
        /// Framed length before the message (Kitex ≥ 0.13 sends it by default).
        inner_framed: bool,
    },
    /// Framed Thrift: a 4-byte big-endian length, then the message.
    Framed,
    /// Buffered (unframed) Thrift: the bare message.
    Buffered,
    /// Apache Thrift's THeader transport (`THeaderTransport`, magic
    /// `0x0fff`): Kitex's TTHeader's sibling, with varint header fields and
    /// only string key/values. Decoded as [`FrameKind::TTHeader`].
    THeader,
}

/// One decoded ping-pong frame: the TTHeader (if any) and the Thrift message
/// bytes (strict message header + body, without any length prefix).
#[derive(Debug, Clone)]
pub struct Frame {
    /// The framing the frame arrived in.
    pub framing: Framing,
    /// The TTHeader of a [`Framing::TTHeader`] frame; `None` otherwise.
    pub header: Option<TTHeader>,
    /// The Thrift message: strict message header + body, without any length
    /// prefix (read it with [`read_message_header`]).
    pub message: Bytes,
}

/// Why a frame could not be decoded (or encoded).
///
/// [`Display`](fmt::Display) gives a lowercase sentence naming the problem,
/// e.g. `frame length 20000004 exceeds the limit of 16777216 bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    message: String,
}

impl FrameError {
    /// Creates an error from a lowercase sentence naming the problem.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The lowercase sentence naming the problem (same text as `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FrameError {}

/// Kind of connection to decode: decided once per connection by [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// TTHeader frames, with or without the inner Framed length, and
    /// Apache THeader frames ([`Framing::THeader`]).
    TTHeader,
    /// Framed Thrift.
    Framed,
    /// Buffered (unframed) Thrift.
    Buffered,
}

/// Decodes one frame from the front of `buf` when it is complete.
///
/// * `Ok(Some(frame))`: a whole frame was decoded and `buf` advanced past it;
///   any bytes after it (a pipelined next frame) stay in `buf`.
/// * `Ok(None)`: more bytes are needed; `buf` is untouched. Every proper
///   prefix of a valid frame gives `Ok(None)`.
/// * `Err(_)`: the bytes cannot be a valid frame; `buf` is untouched and the
///   connection should be closed.
///
/// `max_frame` bounds the whole frame in bytes, including length prefixes and
/// the TTHeader (the server uses 16 MiB). A declared length above it is an
/// error as soon as the length is readable, before waiting for the bytes.
///
/// For [`FrameKind::TTHeader`] the payload is accepted with the inner 4-byte
/// Framed length (a u32 equal to the rest of the payload, followed by the
/// strict version bytes `80 01`, or a Compact message's `82`; reported as
/// `inner_framed: true`) or without it. TTHeader Streaming frames (flag
/// `0x0002`; decoded by [`StreamFrame`](crate::ttstream::StreamFrame)) and
/// protocol ids other than 0 (Thrift Binary) and 2 (Thrift Compact) are
/// errors here. Apache THeader frames (magic `0x0fff`) are decoded too, as
/// [`Framing::THeader`].
///
/// For [`FrameKind::Buffered`] the frame's end is found by measuring the
/// Thrift message (strict header, then the body struct), so a large buffered
/// message is re-measured from its start on each call until it is complete:
/// use a [`FrameDecoder`] to read a connection, which measures each byte once.
pub fn decode_frame(
    buf: &mut BytesMut,
    kind: FrameKind,
    max_frame: usize,
) -> Result<Option<Frame>, FrameError> {
    FrameDecoder::new(kind, max_frame).decode(buf)
}

/// Decodes the frames of one connection as its bytes arrive, like
/// [`decode_frame`], remembering between calls how far it got into a
/// partial frame, so that the work per frame is proportional to its size
/// however finely the peer splits it (only Buffered framing, which has no
/// length prefix, needs this).
///
/// Between calls, `buf` may only grow at its end: a decoder belongs to one
/// read buffer.
#[derive(Debug)]
pub struct FrameDecoder {
    kind: FrameKind,
    max_frame: usize,
    buffered: buffered::Progress,
}

impl FrameDecoder {
    /// A decoder of `kind` frames of at most `max_frame` bytes (the server
    /// uses 16 MiB).
    pub fn new(kind: FrameKind, max_frame: usize) -> Self {
        FrameDecoder {
            kind,
            max_frame,
            buffered: buffered::Progress::default(),
        }
    }

    /// Decodes one frame from the front of `buf`, with the results of
    /// [`decode_frame`].
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match self.kind {
            FrameKind::TTHeader => ttheader::decode(buf, self.max_frame),
            FrameKind::Framed => framed::decode(buf, self.max_frame),
            FrameKind::Buffered => buffered::decode(buf, self.max_frame, &mut self.buffered),
        }
    }
}

/// Appends one frame carrying `message` (strict message header + body) to
/// `dst`, framed as `framing`.
///
/// A TTHeader frame uses `header`, or when `None` a default header (no
/// flags, protocol Thrift Binary, no key/values) whose sequence id is taken
/// from the message's strict header when it has one. The header size
/// (including zero padding to a multiple of 4), the total length and, for
/// `inner_framed`, the inner Framed length are computed here; `header` fields
/// are written as given (the key/values in their order, the ACL token first
/// as Kitex does).
///
/// Errors (and leaves `dst` untouched) when a length does not fit its field:
/// a message of 2 GiB or more, more than 255 transforms, more than 65535
/// key/values of a kind, a key or value longer than 65535 bytes, or a header
/// longer than 262140 bytes.
pub fn encode_frame(
    dst: &mut BytesMut,
    framing: Framing,
    header: Option<&TTHeader>,
    message: &[u8],
) -> Result<(), FrameError> {
    match framing {
        Framing::TTHeader { inner_framed } => ttheader::encode(dst, header, inner_framed, message),
        Framing::Framed => framed::encode(dst, message),
        Framing::Buffered => {
            dst.extend_from_slice(message);
            Ok(())
        }
        Framing::THeader => {
            let default;
            let header = match header {
                Some(h) => h,
                None => {
                    default = ttheader::default_for(message);
                    &default
                }
            };
            theader::encode(dst, header, message)
        }
    }
}

/// Largest declared length a 4-byte length prefix may carry (top bit clear).
const MAX_PREFIX_LEN: usize = i32::MAX as usize;

/// Reads a 4-byte length prefix at the front of `buf` and checks it against
/// `max_frame`, returning the whole frame size (prefix included), or
/// `Ok(None)` when fewer than 4 bytes are buffered.
pub(crate) fn read_length_prefix(
    buf: &[u8],
    max_frame: usize,
) -> Result<Option<usize>, FrameError> {
    let Some(&[a, b, c, d]) = buf.get(..4) else {
        return Ok(None);
    };
    let declared = i32::from_be_bytes([a, b, c, d]);
    let Ok(declared) = usize::try_from(declared) else {
        return Err(FrameError::new(format!("negative frame length {declared}")));
    };
    let total = declared.saturating_add(4);
    if total > max_frame {
        return Err(FrameError::new(format!(
            "frame length {total} exceeds the limit of {max_frame} bytes"
        )));
    }
    Ok(Some(total))
}

/// Formats up to `n` leading bytes of `bytes` as space-separated hex.
pub(crate) fn hex_prefix(bytes: &[u8], n: usize) -> String {
    bytes
        .iter()
        .take(n)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads a big-endian u16 at `pos`, if in bounds.
pub(crate) fn be_u16(buf: &[u8], pos: usize) -> Option<u16> {
    let end = pos.checked_add(2)?;
    match buf.get(pos..end)? {
        &[a, b] => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

/// Reads a big-endian u32 at `pos`, if in bounds.
pub(crate) fn be_u32(buf: &[u8], pos: usize) -> Option<u32> {
    let end = pos.checked_add(4)?;
    match buf.get(pos..end)? {
        &[a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    }
}

/// Frames captured between a real Kitex v0.16.3 client and server
/// (`kitex-peer/traces/decoded/pingpong_*.txt`), as hex.
#[cfg(test)]
pub(crate) mod test_data {
    /// Buffered CALL `EchoPingPong(seq 1, {1: {1: "hello"}})`.
    pub(crate) const BUFFERED_CALL: &str =
        "800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000";
    /// Buffered REPLY `EchoPingPong(seq 1, {0: {1: "hello"}})`.
    pub(crate) const BUFFERED_REPLY: &str =
        "800100020000000c4563686f50696e67506f6e67000000010c00000b00010000000568656c6c6f0000";
    /// Framed CALL.
    pub(crate) const FRAMED_CALL: &str = "00000029800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000";
    /// Framed REPLY.
    pub(crate) const FRAMED_REPLY: &str = "00000029800100020000000c4563686f50696e67506f6e67000000010c00000b00010000000568656c6c6f0000";
    /// TTHeader CALL, unframed payload, 3 string keys and 7 int keys.
    pub(crate) const TTHEADER_CALL: &str = "000000c710000000000000010025000001000300185250435f504552534953545f544553545f504552534953540003707631000369736e000b546573745365727669636500145250435f5452414e5349545f544553545f4b4559000374763110000700030000001400000006000b54657374536572766963650009000c4563686f50696e67506f6e67001600013100010008756e6672616d6564000c000435303030800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000";
    /// TTHeader REPLY, unframed payload.
    pub(crate) const TTHEADER_REPLY: &str = "0000003f10000000000000010003000010000100160001320000800100020000000c4563686f50696e67506f6e67000000010c00000b00010000000568656c6c6f0000";
    /// TTHeader CALL with the inner Framed length.
    pub(crate) const TTHEADER_FRAMED_CALL: &str = "0000008f100000000000000100160000010001000369736e000b54657374536572766963651000070006000b54657374536572766963650009000c4563686f50696e67506f6e670016000131000100066672616d6564000c000435303030000300000014000000000029800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000";
    /// TTHeader REPLY with the inner Framed length.
    pub(crate) const TTHEADER_FRAMED_REPLY: &str = "000000431000000000000001000300001000010016000132000000000029800100020000000c4563686f50696e67506f6e67000000010c00000b00010000000568656c6c6f0000";
    /// TTHeader CALL of an unknown method (inner framed, one byte of padding).
    pub(crate) const TTHEADER_EXCEPTION_CALL: &str = "00000092100000000000000100170000010001000369736e000b5465737453657276696365100007000c00043530303000030000001400000006000b54657374536572766963650009000f4d697373696e6750696e67506f6e670016000131000100066672616d65640000000028800100010000000f4d697373696e6750696e67506f6e67000000010c00010b000100000001780000";
    /// TTHeader EXCEPTION reply (UNKNOWN_METHOD), string key `crrst`.
    pub(crate) const TTHEADER_EXCEPTION_REPLY: &str = "00000084100000000000000100060000010001000563727273740001311000010016000133000000005e800100030000000f4d697373696e6750696e67506f6e67000000010b000100000034756e6b6e6f776e206d6574686f64204d697373696e6750696e67506f6e67202873657276696365205465737453657276696365290800020000000100";
    /// TTHeader CALL answered with a business error (unframed).
    pub(crate) const TTHEADER_BIZ_CALL: &str = "00000093100000000000000100170000010001000369736e000b546573745365727669636510000700030000001400000006000b54657374536572766963650009000c4563686f50696e67506f6e67001600013100010008756e6672616d6564000c0004353030300000800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000962697a2d6572726f720000";
    /// TTHeader REPLY carrying a business error in string keys.
    pub(crate) const TTHEADER_BIZ_REPLY: &str = "00000077100000000000000100150000010003000962697a2d657874726100097b226b223a2276227d000a62697a2d737461747573000431303031000b62697a2d6d657373616765000d62697a206572726f72206d73671000010016000132000000800100020000000c4563686f50696e67506f6e670000000100";
    /// Every TTHeader capture.
    pub(crate) const ALL_TTHEADER: [&str; 8] = [
        TTHEADER_CALL,
        TTHEADER_REPLY,
        TTHEADER_FRAMED_CALL,
        TTHEADER_FRAMED_REPLY,
        TTHEADER_EXCEPTION_CALL,
        TTHEADER_EXCEPTION_REPLY,
        TTHEADER_BIZ_CALL,
        TTHEADER_BIZ_REPLY,
    ];

    /// Decodes a hex string; whitespace between bytes is ignored.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn frame_error_is_an_error() {
        let e = FrameError::new("negative frame length -5");
        let boxed: Box<dyn std::error::Error> = Box::new(e.clone());
        assert_eq!(boxed.to_string(), "negative frame length -5");
        assert_eq!(e.message(), "negative frame length -5");
    }

    #[test]
    fn random_bytes_never_panic_and_leave_errors_untouched() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..5_000 {
            let len = rng.random_range(0..48);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let _ = detect(&bytes);
            let _ = read_message_header(&Bytes::copy_from_slice(&bytes));
            let _ = read_any_header(&Bytes::copy_from_slice(&bytes));
            // The same bytes as the rest of a Compact message.
            let mut compact = vec![0x82, 0x21];
            compact.extend_from_slice(&bytes);
            let _ = read_any_header(&Bytes::from(compact.clone()));
            for prefix in [&[][..], &[0, 0, 0, 9][..]] {
                let mut framed = prefix.to_vec();
                framed.extend_from_slice(&compact);
                let kind = if prefix.is_empty() {
                    FrameKind::Buffered
                } else {
                    FrameKind::Framed
                };
                let mut buf = BytesMut::from(&framed[..]);
                match decode_frame(&mut buf, kind, 1 << 20) {
                    Ok(Some(_)) => assert!(buf.len() < framed.len()),
                    Ok(None) | Err(_) => assert_eq!(&buf[..], &framed[..]),
                }
            }
            for kind in [FrameKind::TTHeader, FrameKind::Framed, FrameKind::Buffered] {
                let mut buf = BytesMut::from(&bytes[..]);
                match decode_frame(&mut buf, kind, 1 << 20) {
                    Ok(Some(_)) => assert!(buf.len() < bytes.len()),
                    Ok(None) | Err(_) => assert_eq!(&buf[..], &bytes[..]),
                }
            }
        }
    }

    #[test]
    fn buffered_framing_encodes_as_is() {
        let mut dst = BytesMut::new();
        encode_frame(&mut dst, Framing::Buffered, None, b"\x80\x01").unwrap();
        assert_eq!(&dst[..], b"\x80\x01");
    }
}
