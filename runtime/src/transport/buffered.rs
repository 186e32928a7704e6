//! Buffered (unframed) Thrift: the bare message, delimited by parsing it.
//!
//! The only way to find where a buffered message ends is to walk it: the
//! strict message header, then the body struct, skipping every field by its
//! type. The walk is bounds-checked, depth-limited and tells "ran out of
//! bytes" (wait for more) from "invalid" (close the connection) and from
//! "longer than the frame limit" (also an error, raised as soon as a declared
//! length makes it certain).

use bytes::BytesMut;

use super::{be_u16, be_u32, hex_prefix, Frame, FrameError, Framing};

/// Deepest nesting of structs and containers followed in a message body.
const MAX_DEPTH: usize = 64;

/// Thrift Binary type ids.
mod ttype {
    pub(super) const STOP: u8 = 0;
    pub(super) const BOOL: u8 = 2;
    pub(super) const BYTE: u8 = 3;
    pub(super) const DOUBLE: u8 = 4;
    pub(super) const I16: u8 = 6;
    pub(super) const I32: u8 = 8;
    pub(super) const I64: u8 = 10;
    pub(super) const STRING: u8 = 11;
    pub(super) const STRUCT: u8 = 12;
    pub(super) const MAP: u8 = 13;
    pub(super) const SET: u8 = 14;
    pub(super) const LIST: u8 = 15;
    pub(super) const UUID: u8 = 16;
}

/// Why measuring stopped short of the message's end.
#[derive(Debug)]
enum Stop {
    /// The buffer ends before the message does: wait for more bytes.
    Incomplete,
    /// The message would extend past `max_frame` bytes.
    TooLong,
    /// The bytes are not a valid strict Thrift Binary message.
    Invalid(String),
}

/// A bounds-checked cursor over a buffer that may hold only part of a
/// message.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    max: usize,
}

impl Cursor<'_> {
    /// Claims the next `n` bytes, returning their start offset.
    fn take(&mut self, n: usize) -> Result<usize, Stop> {
        let start = self.pos;
        let end = start.checked_add(n).ok_or(Stop::TooLong)?;
        if end > self.max {
            return Err(Stop::TooLong);
        }
        if end > self.buf.len() {
            return Err(Stop::Incomplete);
        }
        self.pos = end;
        Ok(start)
    }

    fn u8(&mut self) -> Result<u8, Stop> {
        let at = self.take(1)?;
        self.buf.get(at).copied().ok_or(Stop::Incomplete)
    }

    fn u16(&mut self) -> Result<u16, Stop> {
        let at = self.take(2)?;
        be_u16(self.buf, at).ok_or(Stop::Incomplete)
    }

    fn u32(&mut self) -> Result<u32, Stop> {
        let at = self.take(4)?;
        be_u32(self.buf, at).ok_or(Stop::Incomplete)
    }

    /// Reads a non-negative i32 size or length.
    fn size(&mut self, what: &str) -> Result<usize, Stop> {
        let raw = i32::from_be_bytes(self.u32()?.to_be_bytes());
        usize::try_from(raw).map_err(|_| Stop::Invalid(format!("negative {what} {raw}")))
    }

    /// Skips `count` elements of `width` bytes each.
    fn skip_fixed(&mut self, count: usize, width: usize) -> Result<(), Stop> {
        let n = count.checked_mul(width).ok_or(Stop::TooLong)?;
        self.take(n).map(|_| ())
    }
}

/// A struct or container being walked, with what is left of it.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// A struct: field headers until STOP.
    Struct,
    /// A list or set: `left` more elements of type `elem`.
    List { elem: u8, left: usize },
    /// A map: `left` more entries; `value_next` once an entry's key is done.
    Map {
        key: u8,
        value: u8,
        left: usize,
        value_next: bool,
    },
}

/// How far the measurement of the message at the front of a buffer got:
/// kept between reads so that each byte is walked once, however the
/// message is split across reads.
///
/// It stays valid while the buffer only grows at its end; after a message
/// is taken off the front (or on an error) it starts over.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Bytes of the message measured so far.
    pos: usize,
    /// The strict message header has been measured.
    header_done: bool,
    /// Open structs and containers, innermost last.
    open: Vec<Level>,
    /// For a Compact message: the buffer length below which it cannot be
    /// complete (it is walked again from its start once the buffer holds
    /// that much).
    compact_need: usize,
    /// Measuring steps taken since the last reset (each examines a bounded
    /// number of bytes, or skips a length-prefixed run without reading it).
    #[cfg(test)]
    steps: usize,
}

impl Progress {
    /// Measures the strict Thrift Binary message at the front of `buf`,
    /// resuming where the last call stopped.
    fn measure(&mut self, buf: &[u8], max: usize) -> Result<usize, Stop> {
        if !self.header_done {
            self.count_step();
            let mut cur = Cursor { buf, pos: 0, max };
            let word = cur.u32()?;
            if word & 0xffff_0000 != 0x8001_0000 {
                return Err(Stop::Invalid(format!(
                    "buffered frame does not start with a strict thrift message header (first bytes {})",
                    hex_prefix(buf, 4)
                )));
            }
            let name_len = cur.size("message name length")?;
            cur.take(name_len)?;
            cur.u32()?;
            self.pos = cur.pos;
            self.header_done = true;
            self.open.push(Level::Struct);
        }
        while let Some(&top) = self.open.last() {
            self.count_step();
            let mut cur = Cursor {
                buf,
                pos: self.pos,
                max,
            };
            // Each arm reads one whole step or nothing: `self` changes only
            // once the step is complete.
            match top {
                Level::Struct => {
                    let field_type = cur.u8()?;
                    if field_type == ttype::STOP {
                        self.pos = cur.pos;
                        self.open.pop();
                        continue;
                    }
                    check_type(field_type)?;
                    cur.u16()?;
                    let inner = self.value(&mut cur, field_type)?;
                    self.commit(cur.pos, None, inner);
                }
                Level::List { left: 0, .. } | Level::Map { left: 0, .. } => {
                    self.open.pop();
                }
                Level::List { elem, left } => {
                    let inner = self.value(&mut cur, elem)?;
                    let rest = Level::List {
                        elem,
                        left: left - 1,
                    };
                    self.commit(cur.pos, Some(rest), inner);
                }
                Level::Map {
                    key,
                    value,
                    left,
                    value_next,
                } => {
                    let inner = self.value(&mut cur, if value_next { value } else { key })?;
                    let rest = Level::Map {
                        key,
                        value,
                        left: if value_next { left - 1 } else { left },
                        value_next: !value_next,
                    };
                    self.commit(cur.pos, Some(rest), inner);
                }
            }
        }
        Ok(self.pos)
    }

    /// Records a completed step: the new position, what is left of the
    /// current level, and the level the step opened.
    fn commit(&mut self, pos: usize, rest: Option<Level>, inner: Option<Level>) {
        self.pos = pos;
        if let (Some(rest), Some(top)) = (rest, self.open.last_mut()) {
            *top = rest;
        }
        self.open.extend(inner);
    }

    /// Steps over one value of type `ty` at `cur`: a fixed-width value or a
    /// string whole, the header of a struct or container (returning the
    /// level to walk next), or a container of fixed-width values whole.
    fn value(&self, cur: &mut Cursor<'_>, ty: u8) -> Result<Option<Level>, Stop> {
        if let Some(width) = fixed_width(ty) {
            cur.take(width)?;
            return Ok(None);
        }
        if self.open.len() + 1 > MAX_DEPTH {
            return Err(Stop::Invalid(format!(
                "thrift message nests deeper than {MAX_DEPTH} levels"
            )));
        }
        match ty {
            ttype::STRING => {
                let len = cur.size("string length")?;
                cur.take(len)?;
                Ok(None)
            }
            ttype::STRUCT => Ok(Some(Level::Struct)),
            ttype::MAP => {
                let key = cur.u8()?;
                let value = cur.u8()?;
                let count = cur.size("map size")?;
                if count == 0 {
                    return Ok(None);
                }
                check_type(key)?;
                check_type(value)?;
                match (fixed_width(key), fixed_width(value)) {
                    (Some(k), Some(v)) => cur.skip_fixed(count, k.saturating_add(v)).map(|_| None),
                    _ => Ok(Some(Level::Map {
                        key,
                        value,
                        left: count,
                        value_next: false,
                    })),
                }
            }
            ttype::SET | ttype::LIST => {
                let elem = cur.u8()?;
                let count = cur.size("list size")?;
                if count == 0 {
                    return Ok(None);
                }
                check_type(elem)?;
                match fixed_width(elem) {
                    Some(w) => cur.skip_fixed(count, w).map(|_| None),
                    None => Ok(Some(Level::List { elem, left: count })),
                }
            }
            other => Err(Stop::Invalid(format!("unknown thrift type {other}"))),
        }
    }

    #[cfg(test)]
    fn count_step(&mut self) {
        self.steps += 1;
    }

    #[cfg(not(test))]
    fn count_step(&mut self) {}
}

/// The encoded width of a fixed-size Thrift type.
fn fixed_width(ty: u8) -> Option<usize> {
    match ty {
        ttype::BOOL | ttype::BYTE => Some(1),
        ttype::I16 => Some(2),
        ttype::I32 => Some(4),
        ttype::DOUBLE | ttype::I64 => Some(8),
        ttype::UUID => Some(16),
        _ => None,
    }
}

/// Checks that `ty` is a Thrift type that can hold a value.
fn check_type(ty: u8) -> Result<(), Stop> {
    match ty {
        ttype::BOOL
        | ttype::BYTE
        | ttype::DOUBLE
        | ttype::I16
        | ttype::I32
        | ttype::I64
        | ttype::STRING
        | ttype::STRUCT
        | ttype::MAP
        | ttype::SET
        | ttype::LIST
        | ttype::UUID => Ok(()),
        other => Err(Stop::Invalid(format!("unknown thrift type {other}"))),
    }
}

/// Decodes one Buffered frame from the front of `buf` (see
/// [`decode_frame`](super::decode_frame)), resuming the measurement kept in
/// `progress` (see [`FrameDecoder`](super::FrameDecoder)).
pub(crate) fn decode(
    buf: &mut BytesMut,
    max_frame: usize,
    progress: &mut Progress,
) -> Result<Option<Frame>, FrameError> {
    if buf.first() == Some(&crate::codec::Protocol::COMPACT_ID) {
        return decode_compact(buf, max_frame, progress);
    }
    let measured = progress.measure(buf, max_frame);
    if !matches!(measured, Err(Stop::Incomplete)) {
        *progress = Progress::default();
    }
    match measured {
        Ok(len) => Ok(Some(Frame {
            framing: Framing::Buffered,
            header: None,
            message: buf.split_to(len).freeze(),
        })),
        Err(Stop::Incomplete) => Ok(None),
        Err(Stop::TooLong) => Err(FrameError::new(format!(
            "buffered message exceeds the limit of {max_frame} bytes"
        ))),
        Err(Stop::Invalid(why)) => Err(FrameError::new(why)),
    }
}

/// [`decode`] for a Buffered Compact message (first byte `0x82`).
fn decode_compact(
    buf: &mut BytesMut,
    max_frame: usize,
    progress: &mut Progress,
) -> Result<Option<Frame>, FrameError> {
    if buf.len() < progress.compact_need {
        return Ok(None);
    }
    let too_long = || {
        FrameError::new(format!(
            "buffered message exceeds the limit of {max_frame} bytes"
        ))
    };
    let window = &buf[..buf.len().min(max_frame)];
    match super::compact::measure(window) {
        super::compact::Measured::Complete(len) => {
            *progress = Progress::default();
            Ok(Some(Frame {
                framing: Framing::Buffered,
                header: None,
                message: buf.split_to(len).freeze(),
            }))
        }
        super::compact::Measured::Incomplete(need) => {
            if need > max_frame {
                *progress = Progress::default();
                return Err(too_long());
            }
            progress.compact_need = need;
            Ok(None)
        }
        super::compact::Measured::Invalid(why) => {
            *progress = Progress::default();
            Err(FrameError::new(why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{hex, BUFFERED_CALL, BUFFERED_REPLY};
    use super::super::{
        decode_frame, encode_frame, read_message_header, FrameKind, Framing, MessageType,
    };
    use bytes::BytesMut;

    const MAX: usize = 16 << 20;

    fn decode_all(bytes: &[u8]) -> Result<Option<usize>, String> {
        let mut buf = BytesMut::from(bytes);
        decode_frame(&mut buf, FrameKind::Buffered, MAX)
            .map(|f| f.map(|f| f.message.len()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn decodes_captured_call() {
        let wire = hex(BUFFERED_CALL);
        let mut buf = BytesMut::from(&wire[..]);
        let frame = decode_frame(&mut buf, FrameKind::Buffered, MAX)
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        assert_eq!(frame.framing, Framing::Buffered);
        assert!(frame.header.is_none());
        assert_eq!(&frame.message[..], &wire[..]);
        let (h, body) = read_message_header(&frame.message).unwrap();
        assert_eq!(h.name, "EchoPingPong");
        assert_eq!(h.message_type, MessageType::Call);
        assert_eq!(h.seq_id, 1);
        assert_eq!(body.len(), 17);
    }

    #[test]
    fn encodes_captured_reply_exactly() {
        let wire = hex(BUFFERED_REPLY);
        let mut dst = BytesMut::new();
        encode_frame(&mut dst, Framing::Buffered, None, &wire).unwrap();
        assert_eq!(&dst[..], &wire[..]);
    }

    #[test]
    fn every_prefix_is_incomplete_and_pipelining_works() {
        let call = hex(BUFFERED_CALL);
        let reply = hex(BUFFERED_REPLY);
        for n in 0..call.len() {
            assert_eq!(decode_all(&call[..n]), Ok(None), "prefix {n}");
        }
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&call);
        buf.extend_from_slice(&reply);
        buf.extend_from_slice(&call[..3]);
        let a = decode_frame(&mut buf, FrameKind::Buffered, MAX)
            .unwrap()
            .unwrap();
        let b = decode_frame(&mut buf, FrameKind::Buffered, MAX)
            .unwrap()
            .unwrap();
        assert_eq!(&a.message[..], &call[..]);
        assert_eq!(&b.message[..], &reply[..]);
        assert!(decode_frame(&mut buf, FrameKind::Buffered, MAX)
            .unwrap()
            .is_none());
        assert_eq!(buf.len(), 3);
    }

    /// A CALL message named "m" with seq id 1 and the given body.
    fn message(body: &[u8]) -> Vec<u8> {
        let mut m = b"\x80\x01\x00\x01\x00\x00\x00\x01m\x00\x00\x00\x01".to_vec();
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn measures_every_type() {
        let mut body = Vec::new();
        body.extend_from_slice(b"\x02\x00\x01\x01"); // bool
        body.extend_from_slice(b"\x03\x00\x02\x7f"); // byte
        body.extend_from_slice(b"\x04\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00"); // double
        body.extend_from_slice(b"\x06\x00\x04\x00\x01"); // i16
        body.extend_from_slice(b"\x08\x00\x05\x00\x00\x00\x01"); // i32
        body.extend_from_slice(b"\x0a\x00\x06\x00\x00\x00\x00\x00\x00\x00\x01"); // i64
        body.extend_from_slice(b"\x0b\x00\x07\x00\x00\x00\x02hi"); // string
        body.extend_from_slice(b"\x10\x00\x08"); // uuid
        body.extend_from_slice(&[7; 16]);
        // map<i32, string>{1: "a"}
        body.extend_from_slice(
            b"\x0d\x00\x09\x08\x0b\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01a",
        );
        // map<i16, i64>{2 entries}, fixed width
        body.extend_from_slice(b"\x0d\x00\x0a\x06\x0a\x00\x00\x00\x02");
        body.extend_from_slice(&[0; 20]);
        // set<i32>{2 entries}
        body.extend_from_slice(b"\x0e\x00\x0b\x08\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x02");
        // list<struct>[{}, {1: bool}]
        body.extend_from_slice(b"\x0f\x00\x0c\x0c\x00\x00\x00\x02\x00\x02\x00\x01\x01\x00");
        // list<list<byte>>[[1]]
        body.extend_from_slice(b"\x0f\x00\x0d\x0f\x00\x00\x00\x01\x03\x00\x00\x00\x01\x01");
        // empty map with unset types, empty list
        body.extend_from_slice(b"\x0d\x00\x0e\x00\x00\x00\x00\x00\x00");
        body.extend_from_slice(b"\x0f\x00\x0f\x00\x00\x00\x00\x00");
        body.push(0);
        let m = message(&body);
        assert_eq!(decode_all(&m), Ok(Some(m.len())));
        for n in 0..m.len() {
            assert_eq!(decode_all(&m[..n]), Ok(None), "prefix {n}");
        }
    }

    #[test]
    fn invalid_messages() {
        // Non-strict header.
        let e = decode_all(b"\x00\x00\x00\x01m\x01\x00\x00\x00\x01\x00").unwrap_err();
        assert!(e.contains("strict thrift message header"), "{e}");
        // Unknown field type.
        let e = decode_all(&message(b"\x01\x00\x01\x00")).unwrap_err();
        assert_eq!(e, "unknown thrift type 1");
        let e = decode_all(&message(b"\x11\x00\x01\x00")).unwrap_err();
        assert_eq!(e, "unknown thrift type 17");
        // Negative string length and list size.
        let e = decode_all(&message(b"\x0b\x00\x01\xff\xff\xff\xfe")).unwrap_err();
        assert_eq!(e, "negative string length -2");
        let e = decode_all(&message(b"\x0f\x00\x01\x08\x80\x00\x00\x00")).unwrap_err();
        assert_eq!(e, "negative list size -2147483648");
        // Unknown element type in a non-empty list.
        let e = decode_all(&message(b"\x0f\x00\x01\x13\x00\x00\x00\x01")).unwrap_err();
        assert_eq!(e, "unknown thrift type 19");
        // Too deep.
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(b"\x0c\x00\x01");
        }
        let e = decode_all(&message(&deep)).unwrap_err();
        assert!(e.contains("deeper"), "{e}");
    }

    /// A message whose body is a `list<string>` of `n` one-byte strings.
    fn many_small_fields(n: usize) -> Vec<u8> {
        let mut body = b"\x0f\x00\x01\x0b".to_vec();
        body.extend_from_slice(&u32::try_from(n).unwrap().to_be_bytes());
        for _ in 0..n {
            body.extend_from_slice(b"\x00\x00\x00\x01x");
        }
        body.push(0);
        message(&body)
    }

    #[test]
    fn trickled_message_is_measured_once() {
        // 1.6 MB of 5-byte strings, arriving 1 KiB at a time: each call
        // resumes where the last one stopped, so the steps taken are the
        // values in the message plus about one retried step per read, not
        // (as when re-measuring from the start) the values times the reads.
        let n = 320_000;
        let m = many_small_fields(n);
        let mut progress = super::Progress::default();
        let mut reads = 0;
        let mut end = 0;
        let len = loop {
            end = (end + 1024).min(m.len());
            reads += 1;
            match progress.measure(&m[..end], MAX) {
                Ok(len) => break len,
                Err(super::Stop::Incomplete) => {}
                Err(e) => panic!("{e:?}"),
            }
        };
        assert_eq!(len, m.len());
        let steps = progress.steps;
        assert!(
            steps <= n + 2 * reads + 8,
            "{steps} steps for {n} values over {reads} reads"
        );
        // The same through a decoder, with a pipelined message after it.
        let mut decoder = super::super::FrameDecoder::new(FrameKind::Buffered, MAX);
        let mut buf = BytesMut::new();
        let mut wire = m.clone();
        wire.extend_from_slice(&hex(BUFFERED_CALL));
        let mut got = Vec::new();
        for piece in wire.chunks(1000) {
            buf.extend_from_slice(piece);
            while let Some(f) = decoder.decode(&mut buf).unwrap() {
                got.push(f.message.len());
            }
        }
        assert_eq!(got, vec![m.len(), hex(BUFFERED_CALL).len()]);
        assert!(buf.is_empty());
    }

    #[test]
    fn limit_is_enforced_before_the_bytes_arrive() {
        // A 100 MB string, only its length present.
        let e = decode_all(&message(b"\x0b\x00\x01\x05\xf5\xe1\x00")).unwrap_err();
        assert_eq!(e, "buffered message exceeds the limit of 16777216 bytes");
        // A list of 2^31-1 i64s.
        let e = decode_all(&message(b"\x0f\x00\x01\x0a\x7f\xff\xff\xff")).unwrap_err();
        assert!(e.contains("exceeds the limit"));
        // A whole message just over a small limit.
        let wire = hex(BUFFERED_CALL);
        let mut buf = BytesMut::from(&wire[..]);
        assert!(decode_frame(&mut buf, FrameKind::Buffered, wire.len() - 1).is_err());
        let mut buf = BytesMut::from(&wire[..]);
        assert!(decode_frame(&mut buf, FrameKind::Buffered, wire.len())
            .unwrap()
            .is_some());
    }
}
