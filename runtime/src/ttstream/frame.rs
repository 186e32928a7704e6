//! The TTHeader Streaming frame: one TTHeader frame with the STREAMING flag,
//! the stream id in the seqid slot, the frame type in int key 27 and the
//! method in int key 9.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use faststr::FastStr;

use crate::transport::{
    be_u16, encode_ttheader, hex_prefix, parse_header_for, read_length_prefix, scan_int_key,
    FrameError, TTHeader, FLAG_STREAMING, INT_KEY_TO_METHOD, TTHEADER_FIXED_SIZE, TTHEADER_MAGIC,
};

/// Int key of the frame type (`FrameType` in gopkg's `ttheader/metakey.go`).
pub const INT_KEY_FRAME_TYPE: u16 = 27;
/// Protocol id of a TTHeader Streaming frame: a bare Thrift struct.
pub const PROTOCOL_THRIFT_STRUCT: u8 = 0x10;

/// What a frame is for (int key 27, an ASCII digit on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// `"1"`: connection-level metadata; Kitex v0.16 never sends it.
    Meta,
    /// `"2"`: opens a stream (client) or answers it (server); headers only.
    Header,
    /// `"3"`: one message, a bare Thrift Binary struct.
    Data,
    /// `"4"`: half-close (client) or end of stream (server), with the
    /// result: nothing, business-error keys, or an exception payload.
    Trailer,
    /// `"5"`: cancels the stream; the payload is an exception.
    Rst,
}

impl FrameType {
    /// The wire value of int key 27.
    pub fn as_str(self) -> &'static str {
        match self {
            FrameType::Meta => "1",
            FrameType::Header => "2",
            FrameType::Data => "3",
            FrameType::Trailer => "4",
            FrameType::Rst => "5",
        }
    }

    /// Reads the wire value of int key 27; `None` for anything else.
    pub fn parse(value: &str) -> Option<FrameType> {
        Some(match value {
            "1" => FrameType::Meta,
            "2" => FrameType::Header,
            "3" => FrameType::Data,
            "4" => FrameType::Trailer,
            "5" => FrameType::Rst,
            _ => return None,
        })
    }
}

/// One TTHeader Streaming frame.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamFrame {
    /// The frame type; `None` when int key 27 is missing or unknown (a
    /// receiver drops such a frame).
    pub frame_type: Option<FrameType>,
    /// The stream id (signed; Kitex ids start at 1 and may wrap).
    pub stream_id: i32,
    /// The whole header: string keys (`isn`, metainfo, `biz-*`) and int
    /// keys (27 frame type, 9 method, any others received).
    pub header: TTHeader,
    /// The payload: a bare struct (DATA), an exception message (TRAILER,
    /// RST) or nothing.
    pub payload: Bytes,
}

impl StreamFrame {
    /// A frame of `frame_type` for `method` on `stream_id`, with no string
    /// keys and no payload.
    pub fn new(frame_type: FrameType, stream_id: i32, method: &str) -> Self {
        let mut header = TTHeader {
            flags: FLAG_STREAMING,
            seq_id: stream_id,
            protocol_id: PROTOCOL_THRIFT_STRUCT,
            ..TTHeader::default()
        };
        header.set_int(INT_KEY_TO_METHOD, FastStr::new(method));
        header.set_int(INT_KEY_FRAME_TYPE, frame_type.as_str());
        StreamFrame {
            frame_type: Some(frame_type),
            stream_id,
            header,
            payload: Bytes::new(),
        }
    }

    /// This frame with `payload`.
    pub fn with_payload(mut self, payload: Bytes) -> Self {
        self.payload = payload;
        self
    }

    /// The method name (int key 9), `""` when absent.
    pub fn method(&self) -> &str {
        self.header.int(INT_KEY_TO_METHOD).unwrap_or_default()
    }

    /// Decodes one frame from the front of `buf`, removing its bytes.
    ///
    /// `Ok(None)`: the frame is not complete yet (read more, call again).
    /// An error means the connection's framing is lost: a length over
    /// `max_frame` (checked before any payload is buffered), a bad magic, a
    /// frame without the STREAMING flag, a header that points past the
    /// frame or a malformed info block.
    pub fn decode(buf: &mut BytesMut, max_frame: usize) -> Result<Option<StreamFrame>, FrameError> {
        let mut at = Located::default();
        if !locate(buf, max_frame, &mut at)? {
            return Ok(None);
        }
        Self::decode_located(buf, at).map(Some)
    }

    fn decode_located(buf: &mut BytesMut, at: Located) -> Result<StreamFrame, FrameError> {
        let mut header = parse_header_for(
            &buf[TTHEADER_FIXED_SIZE..at.payload_start],
            PROTOCOL_THRIFT_STRUCT,
        )?;
        header.flags = at.flags();
        header.seq_id = at.stream_id();
        let payload = buf.split_to(at.total).freeze().split_off(at.payload_start);
        Ok(StreamFrame {
            frame_type: header.int(INT_KEY_FRAME_TYPE).and_then(FrameType::parse),
            stream_id: header.seq_id,
            header,
            payload,
        })
    }

    /// Appends the frame to `dst`; on error (a key or value over 64 KiB,
    /// too many keys, a frame over 4 GiB) `dst` is left as it was.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), FrameError> {
        encode_ttheader(dst, Some(&self.header), false, &self.payload)
    }
}

/// The clock of the frame under way on a connection: it starts when the
/// first bytes of an incomplete frame are buffered and restarts each time a
/// frame completes, so that a peer cannot hold a connection by sending a
/// frame a byte at a time.
pub(crate) struct FrameClock {
    timeout: std::time::Duration,
    since: Option<tokio::time::Instant>,
}

impl FrameClock {
    /// A clock that allows a frame `timeout` from its first byte to its last.
    pub(crate) fn new(timeout: std::time::Duration) -> Self {
        FrameClock {
            timeout,
            since: None,
        }
    }

    /// Called after the buffered frames were decoded, with the buffer's
    /// length `before` decoding and `left` now: the deadline of the frame
    /// under way, or `None` when no bytes wait.
    pub(crate) fn deadline(&mut self, before: usize, left: usize) -> Option<tokio::time::Instant> {
        if left == 0 || left < before {
            self.since = None;
        }
        if left > 0 && self.since.is_none() {
            self.since = Some(tokio::time::Instant::now());
        }
        self.since.map(|t| t + self.timeout)
    }
}

/// A frame as a connection's reader needs it. The header of a DATA frame
/// is checked but not kept, which saves building a [`TTHeader`] per
/// message; a small DATA payload is not even split off the read buffer.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A DATA payload of at most the `copy_max` given to
    /// [`Decoded::decode`], already handed to its `copy` callback.
    Copied,
    /// A larger DATA frame.
    Data {
        /// The stream it belongs to.
        stream_id: i32,
        /// The bare struct it carries.
        payload: Bytes,
    },
    /// Any other frame.
    Other(StreamFrame),
}

impl Decoded {
    /// [`StreamFrame::decode`], with DATA frames decoded lightly: a payload
    /// of at most `copy_max` bytes is given to `copy` (stream id, bytes)
    /// straight from `buf`.
    ///
    /// `known` remembers the last DATA header seen on the connection: the
    /// DATA frames of a stream (and of every stream of one method) carry
    /// the same header, so most are recognised by comparing their bytes
    /// instead of scanning their keys.
    #[inline]
    pub(crate) fn decode(
        buf: &mut BytesMut,
        max_frame: usize,
        copy_max: usize,
        known: &mut KnownDataHeader,
        copy: impl FnOnce(i32, &[u8]),
    ) -> Result<Option<Decoded>, FrameError> {
        let mut at = Located::default();
        if !locate(buf, max_frame, &mut at)? {
            return Ok(None);
        }
        let header = &buf[TTHEADER_FIXED_SIZE..at.payload_start];
        if !known.is(header) {
            let frame_type = scan_int_key(header, PROTOCOL_THRIFT_STRUCT, INT_KEY_FRAME_TYPE)?;
            if frame_type != Some(FrameType::Data.as_str().as_bytes()) {
                return StreamFrame::decode_located(buf, at).map(|f| Some(Decoded::Other(f)));
            }
            known.remember(header);
        }
        if at.total - at.payload_start <= copy_max {
            copy(at.stream_id(), &buf[at.payload_start..at.total]);
            buf.advance(at.total);
            return Ok(Some(Decoded::Copied));
        }
        let payload = buf.split_to(at.total).freeze().split_off(at.payload_start);
        Ok(Some(Decoded::Data {
            stream_id: at.stream_id(),
            payload,
        }))
    }
}

/// The header (after the fixed part) of the last DATA frame a connection
/// received, if it was short: a frame whose header has the same bytes is a
/// DATA frame whose header is valid, without scanning it again.
#[derive(Debug)]
pub(crate) struct KnownDataHeader {
    bytes: [u8; KNOWN_HEADER_MAX],
    /// 0: nothing remembered (a header is never empty).
    len: usize,
}

/// Longest DATA header remembered (a method name of up to about 40 bytes).
const KNOWN_HEADER_MAX: usize = 64;

impl Default for KnownDataHeader {
    fn default() -> Self {
        KnownDataHeader {
            bytes: [0; KNOWN_HEADER_MAX],
            len: 0,
        }
    }
}

impl KnownDataHeader {
    #[inline]
    fn is(&self, header: &[u8]) -> bool {
        header.len() == self.len && header == &self.bytes[..self.len]
    }

    fn remember(&mut self, header: &[u8]) {
        if let Some(slot) = self.bytes.get_mut(..header.len()) {
            slot.copy_from_slice(header);
            self.len = header.len();
        }
    }
}

/// The DATA frames of one stream, encoded from a template made once (the
/// header of a stream's DATA frames never changes), so a message costs two
/// copies and a length, not a header encoding.
#[derive(Debug, Clone)]
pub(crate) struct DataFrames {
    /// A whole DATA frame with an empty payload; `None` if the method name
    /// cannot be encoded (its frames are then dropped with a log).
    template: Option<Bytes>,
    stream_id: i32,
}

impl DataFrames {
    /// DATA frames of `method` on `stream_id`.
    pub(crate) fn new(stream_id: i32, method: &str) -> Self {
        let mut t = BytesMut::new();
        let template = match StreamFrame::new(FrameType::Data, stream_id, method).encode(&mut t) {
            Ok(()) => Some(t.freeze()),
            Err(e) => {
                tracing::warn!(stream = stream_id, reason = %e, "ttstream DATA frames cannot be encoded; they will be dropped");
                None
            }
        };
        DataFrames {
            template,
            stream_id,
        }
    }

    /// Appends the header of a DATA frame carrying `len` payload bytes;
    /// the caller appends the payload. Returns `false` (and appends
    /// nothing) when the frame cannot be encoded.
    pub(crate) fn put_head(&self, dst: &mut BytesMut, len: usize) -> bool {
        let Some(t) = self.template.as_ref() else {
            return false;
        };
        let Some(size) = (t.len() - 4)
            .checked_add(len)
            .and_then(|n| u32::try_from(n).ok())
        else {
            tracing::warn!(
                stream = self.stream_id,
                len,
                "ttstream DATA frame over 4 GiB; dropped"
            );
            return false;
        };
        super::inbox::reserve_chunk(dst, t.len() + len);
        dst.put_u32(size);
        dst.extend_from_slice(&t[4..]);
        true
    }
}

/// Where the complete frame at the front of a buffer lies.
///
/// Every field is a full word: with `flags` and the stream id packed into
/// one, copying the struct stored them separately and loaded them as one
/// word, a store-forwarding stall on every frame.
#[derive(Debug, Clone, Copy, Default)]
struct Located {
    total: usize,
    payload_start: usize,
    /// The TTHeader flags (a `u16` on the wire).
    flags: u64,
    /// The stream id (an `i32` on the wire).
    stream_id: i64,
}

impl Located {
    fn flags(&self) -> u16 {
        self.flags as u16
    }

    fn stream_id(&self) -> i32 {
        self.stream_id as i32
    }
}

/// Checks the fixed part of the frame at the front of `buf` and, once the
/// whole frame is buffered, fills `at` and returns `true`. Inlined, with
/// every unusual case (a short buffer, any error) left to
/// [`check_unusual`]. `at` is written field by field in the caller's frame:
/// returned inside a `Result<Option<_>>`, it was stored as words and
/// reloaded as wider ones, a store-forwarding stall on every frame.
#[inline]
fn locate(buf: &BytesMut, max_frame: usize, at: &mut Located) -> Result<bool, FrameError> {
    let Some(&[l0, l1, l2, l3, m0, m1, f0, f1, s0, s1, s2, s3, w0, w1]) =
        buf.get(..TTHEADER_FIXED_SIZE)
    else {
        check_unusual(buf, max_frame)?;
        return Ok(false);
    };
    let declared = u32::from_be_bytes([l0, l1, l2, l3]);
    let flags = u16::from_be_bytes([f0, f1]);
    let payload_start = TTHEADER_FIXED_SIZE + usize::from(u16::from_be_bytes([w0, w1])) * 4;
    // `declared` is at most 2^31 - 1 here, so `total` cannot overflow.
    let total = declared as usize + 4;
    let usual = declared <= i32::MAX as u32
        && total <= max_frame
        && u16::from_be_bytes([m0, m1]) == TTHEADER_MAGIC
        && flags & FLAG_STREAMING != 0
        && payload_start > TTHEADER_FIXED_SIZE
        && payload_start <= total;
    if !usual {
        // A whole fixed header that is not usual is always one of the
        // errors `check_unusual` names.
        check_unusual(buf, max_frame)?;
        return Err(FrameError::new("malformed ttstream fixed header"));
    }
    if buf.len() < total {
        return Ok(false);
    }
    at.total = total;
    at.payload_start = payload_start;
    at.flags = u64::from(flags);
    at.stream_id = i64::from(i32::from_be_bytes([s0, s1, s2, s3]));
    Ok(true)
}

/// The error in the fixed header at the front of `buf`, naming what is
/// wrong; `Ok` while the bytes buffered so far show none.
#[cold]
#[inline(never)]
fn check_unusual(buf: &BytesMut, max_frame: usize) -> Result<(), FrameError> {
    let Some(total) = read_length_prefix(buf, max_frame)? else {
        return Ok(());
    };
    if total < TTHEADER_FIXED_SIZE {
        return Err(FrameError::new(format!(
            "ttstream frame of {total} bytes is shorter than its {TTHEADER_FIXED_SIZE}-byte fixed header"
        )));
    }
    if let Some(magic) = be_u16(buf, 4) {
        if magic != TTHEADER_MAGIC {
            return Err(FrameError::new(format!(
                "bad ttstream magic 0x{magic:04x} (first bytes {})",
                hex_prefix(buf, 8)
            )));
        }
    }
    let (Some(flags), Some(words)) = (be_u16(buf, 6), be_u16(buf, 12)) else {
        return Ok(());
    };
    if flags & FLAG_STREAMING == 0 {
        return Err(FrameError::new(format!(
            "frame without the streaming flag on a ttstream connection (flags 0x{flags:04x})"
        )));
    }
    let header_size = usize::from(words) * 4;
    if header_size == 0 {
        return Err(FrameError::new("ttstream header size 0 is invalid"));
    }
    let payload_start = TTHEADER_FIXED_SIZE + header_size;
    if payload_start > total {
        return Err(FrameError::new(format!(
            "ttstream header size {header_size} points past the end of the {total}-byte frame"
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::transport::test_data::hex;

    const MAX: usize = 16 << 20;

    fn decode_all(wire: &[u8]) -> StreamFrame {
        let mut buf = BytesMut::from(wire);
        let f = StreamFrame::decode(&mut buf, MAX).unwrap().unwrap();
        assert!(buf.is_empty(), "bytes left after the frame");
        f
    }

    /// tts_bidi_biz_error.txt, C->S HEADER (54 bytes).
    const CLIENT_HEADER: &str = "00 00 00 32 10 00 00 02 00 00 00 01 00 0a 10 00
        01 00 01 00 03 69 73 6e 00 0b 54 65 73 74 53 65 72 76 69 63 65 10 00 02 00 09 00 04
        45 63 68 6f 00 1b 00 01 32 00";
    /// tts_bidi_biz_error.txt, C->S DATA {1: "ok1"} (45 bytes).
    const CLIENT_DATA: &str = "00 00 00 29 10 00 00 02 00 00 00 01 00 05 10 00
        10 00 02 00 1b 00 01 33 00 09 00 04 45 63 68 6f 00 00 0b 00 01 00 00 00 03 6f 6b 31 00";
    /// tts_bidi_biz_error.txt, S->C HEADER (34 bytes).
    const SERVER_HEADER: &str = "00 00 00 1e 10 00 00 02 00 00 00 01 00 05 10 00
        10 00 02 00 09 00 04 45 63 68 6f 00 1b 00 01 32 00 00";
    /// TTSTREAM-NOTES.md §5, S->C TRAILER with a business error (106 bytes).
    const SERVER_BIZ_TRAILER: &str = "00 00 00 66 10 00 00 02 00 00 00 01 00 17 10 00
        01 00 03 00 0a 62 69 7a 2d 73 74 61 74 75 73 00 04 31 30 30 31
        00 0b 62 69 7a 2d 6d 65 73 73 61 67 65 00 0d 62 69 7a 20 65 72 72 6f 72 20 6d 73 67
        00 09 62 69 7a 2d 65 78 74 72 61 00 09 7b 22 6b 22 3a 22 76 22 7d
        10 00 02 00 1b 00 01 34 00 09 00 04 45 63 68 6f 00 00 00";
    /// TTSTREAM-NOTES.md §5, C->S RST with exception 12015 (107 bytes).
    const CLIENT_RST: &str =
        "00 00 00 67 10 00 00 02 00 00 00 01 00 05 10 00 10 00 02 00 1b 00 01 35
        00 09 00 04 45 63 68 6f 00 00
        80 01 00 03 00 00 00 04 45 63 68 6f 00 00 00 01
        0b 00 01 00 00 00 2a 73 74 72 65 61 6d 20 74 69 6d 65 6f 75 74 2c 20 74 69 6d 65 6f 75 74
        20 69 6e 20 63 74 78 3a 20 34 39 39 2e 38 32 38 34 6d 73 08 00 02 00 00 2e ef 00";

    /// Every capture above, for the fuzz target's seeds.
    pub(crate) const CAPTURES: [&str; 5] = [
        CLIENT_HEADER,
        CLIENT_DATA,
        SERVER_HEADER,
        SERVER_BIZ_TRAILER,
        CLIENT_RST,
    ];

    #[test]
    fn decodes_captured_client_frames() {
        let h = decode_all(&hex(CLIENT_HEADER));
        assert_eq!(h.frame_type, Some(FrameType::Header));
        assert_eq!((h.stream_id, h.method()), (1, "Echo"));
        assert_eq!(h.header.string("isn"), Some("TestService"));
        assert!(h.payload.is_empty());

        let d = decode_all(&hex(CLIENT_DATA));
        assert_eq!(d.frame_type, Some(FrameType::Data));
        assert_eq!(&d.payload[..], &hex("0b 00 01 00 00 00 03 6f 6b 31 00")[..]);

        let r = decode_all(&hex(CLIENT_RST));
        assert_eq!(r.frame_type, Some(FrameType::Rst));
        let e = crate::ttstream::server::decode_exception(&r.payload).unwrap();
        assert_eq!(e.kind.0, 12015);
        assert_eq!(&e.message[..], "stream timeout, timeout in ctx: 499.8284ms");
    }

    #[test]
    fn encodes_captured_server_frames_exactly() {
        let mut out = BytesMut::new();
        StreamFrame::new(FrameType::Header, 1, "Echo")
            .encode(&mut out)
            .unwrap();
        assert_eq!(&out[..], &hex(SERVER_HEADER)[..]);

        // Key order is Go map order on the wire; ours is the order set.
        let mut t = StreamFrame::new(FrameType::Trailer, 1, "Echo");
        t.header.ints.reverse(); // FrameType first, as in this capture
        t.header.set_string("biz-status", "1001");
        t.header.set_string("biz-message", "biz error msg");
        t.header.set_string("biz-extra", r#"{"k":"v"}"#);
        let mut out = BytesMut::new();
        t.encode(&mut out).unwrap();
        assert_eq!(&out[..], &hex(SERVER_BIZ_TRAILER)[..]);
        assert_eq!(decode_all(&out), t);
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let wire = hex(CLIENT_RST);
        for n in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..n]);
            assert_eq!(
                StreamFrame::decode(&mut buf, MAX).unwrap(),
                None,
                "prefix {n}"
            );
            assert_eq!(buf.len(), n);
        }
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let good = hex(CLIENT_DATA);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (hex("7f ff ff ff"), "exceeds the limit"),
            (hex("ff ff ff ff"), "negative frame length"),
            (hex("00 00 00 04 10 00 00 02"), "shorter than"),
            (
                {
                    let mut w = good.clone();
                    w[4] = 0x20;
                    w
                },
                "bad ttstream magic",
            ),
            (
                {
                    let mut w = good.clone();
                    w[7] = 0;
                    w
                },
                "without the streaming flag",
            ),
            (
                {
                    let mut w = good.clone();
                    w[13] = 0;
                    w
                },
                "header size 0",
            ),
            (
                {
                    let mut w = good.clone();
                    w[13] = 0x40;
                    w
                },
                "points past the end",
            ),
            (
                {
                    let mut w = good.clone();
                    w[14] = 0;
                    w
                },
                "protocol id",
            ),
            (
                {
                    let mut w = good.clone();
                    w[16] = 0x42;
                    w
                },
                "info id",
            ),
        ];
        for (wire, want) in cases {
            let mut buf = BytesMut::from(&wire[..]);
            let err = StreamFrame::decode(&mut buf, MAX).unwrap_err();
            assert!(err.message().contains(want), "{want}: got {err}");
        }
    }

    #[test]
    fn unknown_frame_type_decodes_as_none() {
        let mut f = StreamFrame::new(FrameType::Data, 7, "Echo");
        f.header.set_int(INT_KEY_FRAME_TYPE, "9");
        let mut out = BytesMut::new();
        f.encode(&mut out).unwrap();
        let back = decode_all(&out);
        assert_eq!((back.frame_type, back.stream_id), (None, 7));
    }
}
