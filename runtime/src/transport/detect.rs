//! Protocol detection from the first bytes of a connection.

use super::{hex_prefix, FrameError};

/// The HTTP/2 client connection preface.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Largest frame length Kitex accepts in a TTHeader or Framed length prefix
/// (`MaxFrameSize` in gopkg's `protocol/ttheader`). A connection whose first
/// byte implies a larger length is not Thrift.
const MAX_THRIFT_LEN_FIRST_BYTE: u8 = 0x3f;

/// First byte of a Thrift Compact message.
const COMPACT: u8 = crate::codec::Protocol::COMPACT_ID;

/// The protocol a connection speaks, as detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// gRPC over HTTP/2 (the connection starts with the HTTP/2 preface).
    Http2,
    /// TTHeader ping-pong frames.
    TTHeader,
    /// TTHeader Streaming frames (TTHeader with flag `0x0002`), served by
    /// [`ttstream`](crate::ttstream).
    TTHeaderStreaming,
    /// Framed Thrift (Binary or Compact).
    Framed,
    /// Buffered (unframed) Thrift (Binary or Compact).
    Buffered,
}

/// Classifies a connection from its first bytes (never consumes them).
///
/// * HTTP/2: the bytes are a prefix of `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`
///   (decided as soon as nothing else is possible: a first byte `P` implies
///   a Thrift frame length above Kitex's 1 GiB maximum);
/// * Buffered: bytes 0..2 are `80 01` (the strict Binary message version)
///   or `82` and a byte whose low 5 bits are 1 (Compact, version 1);
/// * Framed: the same at bytes 4..6;
/// * TTHeader: bytes 4..6 are `10 00`, with the flags (bytes 6..8) telling
///   TTHeader Streaming (flag `0x0002`) from ping-pong TTHeader.
///
/// Returns `Ok(None)` while the bytes seen do not yet decide (the caller
/// should read more and call again with the longer prefix), and an error
/// naming the first bytes in hex when they cannot be any supported protocol.
pub fn detect(prefix: &[u8]) -> Result<Option<Detected>, FrameError> {
    let Some(&first) = prefix.first() else {
        return Ok(None);
    };
    if first == 0x80 {
        // A length with the top bit set is never valid, so only Buffered fits.
        return match prefix.get(1) {
            None => Ok(None),
            Some(0x01) => Ok(Some(Detected::Buffered)),
            Some(_) => Err(not_thrift(prefix, 4)),
        };
    }
    if first == COMPACT {
        // A Compact message: protocol id, then version 1 in the low bits.
        return match prefix.get(1) {
            None => Ok(None),
            Some(b) if b & 0x1f == 1 => Ok(Some(Detected::Buffered)),
            Some(_) => Err(not_thrift(prefix, 4)),
        };
    }
    if first > MAX_THRIFT_LEN_FIRST_BYTE {
        let n = prefix.len().min(HTTP2_PREFACE.len());
        return if prefix.get(..n) == HTTP2_PREFACE.get(..n) {
            Ok(Some(Detected::Http2))
        } else {
            Err(not_thrift(prefix, 4))
        };
    }
    // A plausible 4-byte length: the magic or version at bytes 4..6 decides.
    match (prefix.get(4), prefix.get(5)) {
        (None, _) => Ok(None),
        (Some(0x80), None) | (Some(0x10), None) | (Some(0x0f), None) | (Some(&COMPACT), None) => {
            Ok(None)
        }
        // Apache Thrift's THeader (magic 0x0fff): decoded with TTHeader.
        (Some(0x0f), Some(0xff)) => Ok(Some(Detected::TTHeader)),
        (Some(0x80), Some(0x01)) => Ok(Some(Detected::Framed)),
        (Some(&COMPACT), Some(b)) if b & 0x1f == 1 => Ok(Some(Detected::Framed)),
        (Some(0x10), Some(0x00)) => match prefix.get(7) {
            None => Ok(None),
            Some(flags_low) if flags_low & 0x02 != 0 => Ok(Some(Detected::TTHeaderStreaming)),
            Some(_) => Ok(Some(Detected::TTHeader)),
        },
        _ => Err(not_thrift(prefix, 8)),
    }
}

/// The HTTP/2 frame type of SETTINGS.
const SETTINGS: u8 = 0x4;

/// The largest SETTINGS frame waited for: the frame size every HTTP/2
/// peer must accept before SETTINGS say otherwise (RFC 9113 §4.2).
const MAX_FIRST_FRAME: usize = 16_384;

/// True once `prefix` holds the whole HTTP/2 client connection preface:
/// the 24-byte magic and the SETTINGS frame that must follow it
/// (RFC 9113 §3.4). A first frame that is not SETTINGS, or is larger than
/// 16 KiB, also counts as complete: it is a protocol error for the HTTP/2
/// layer to answer, and waiting for more would only hold the connection.
pub(crate) fn http2_preface_complete(prefix: &[u8]) -> bool {
    let Some(header) = prefix.get(HTTP2_PREFACE.len()..HTTP2_PREFACE.len() + 9) else {
        return false;
    };
    let len = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    if header[3] != SETTINGS || len > MAX_FIRST_FRAME {
        return true;
    }
    prefix.len() >= HTTP2_PREFACE.len() + 9 + len
}

/// The error for bytes that are no supported protocol, naming up to `n`
/// leading bytes.
fn not_thrift(prefix: &[u8], n: usize) -> FrameError {
    FrameError::new(format!(
        "unknown framing: first bytes {} are not thrift",
        hex_prefix(prefix, n)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{
        hex, BUFFERED_CALL, FRAMED_CALL, TTHEADER_CALL, TTHEADER_FRAMED_CALL,
    };
    use super::*;

    fn decided_at(bytes: &[u8], want: Detected) -> usize {
        for n in 0..=bytes.len() {
            match detect(&bytes[..n]).unwrap() {
                None => {}
                Some(d) => {
                    assert_eq!(d, want, "prefix {n}");
                    // Longer prefixes agree.
                    for m in n..=bytes.len() {
                        assert_eq!(detect(&bytes[..m]).unwrap(), Some(want));
                    }
                    return n;
                }
            }
        }
        panic!("never decided");
    }

    #[test]
    fn captures() {
        assert_eq!(decided_at(&hex(BUFFERED_CALL), Detected::Buffered), 2);
        assert_eq!(decided_at(&hex(FRAMED_CALL), Detected::Framed), 6);
        assert_eq!(decided_at(&hex(TTHEADER_CALL), Detected::TTHeader), 8);
        assert_eq!(
            decided_at(&hex(TTHEADER_FRAMED_CALL), Detected::TTHeader),
            8
        );
    }

    #[test]
    fn http2_preface() {
        let mut conn = HTTP2_PREFACE.to_vec();
        conn.extend_from_slice(&[0, 0, 0x12, 4, 0, 0, 0, 0, 0]);
        assert_eq!(decided_at(&conn, Detected::Http2), 1);
        assert_eq!(detect(b"PRI ").unwrap(), Some(Detected::Http2));
        assert!(detect(b"PRX").is_err());
    }

    #[test]
    fn http2_preface_needs_the_whole_settings_frame() {
        let mut conn = HTTP2_PREFACE.to_vec();
        assert!(!http2_preface_complete(&conn));
        // SETTINGS with one setting (6 bytes).
        conn.extend_from_slice(&[0, 0, 6, SETTINGS, 0, 0, 0, 0, 0]);
        assert!(!http2_preface_complete(&conn));
        conn.extend_from_slice(&[0, 3, 0, 0, 0, 100]);
        assert!(http2_preface_complete(&conn));
        // An empty SETTINGS frame is complete at its header.
        let mut empty = HTTP2_PREFACE.to_vec();
        empty.extend_from_slice(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);
        assert!(http2_preface_complete(&empty));
        // Anything but SETTINGS is for the HTTP/2 layer to refuse.
        let mut headers = HTTP2_PREFACE.to_vec();
        headers.extend_from_slice(&[0, 0, 6, 1, 4, 0, 0, 0, 1]);
        assert!(http2_preface_complete(&headers));
        let mut huge = HTTP2_PREFACE.to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, SETTINGS, 0, 0, 0, 0, 0]);
        assert!(http2_preface_complete(&huge));
    }

    #[test]
    fn ttheader_streaming_flag() {
        let bytes = [0, 0, 0, 0x20, 0x10, 0x00, 0x00, 0x02, 0, 0, 0, 1];
        assert_eq!(decided_at(&bytes, Detected::TTHeaderStreaming), 8);
        let bytes = [0, 0, 0, 0x20, 0x10, 0x00, 0x00, 0x03];
        assert_eq!(detect(&bytes).unwrap(), Some(Detected::TTHeaderStreaming));
        let bytes = [0, 0, 0, 0x20, 0x10, 0x00, 0x00, 0x01];
        assert_eq!(detect(&bytes).unwrap(), Some(Detected::TTHeader));
    }

    #[test]
    fn garbage() {
        assert_eq!(
            detect(b"GET / HTTP/1.1\r\n").unwrap_err().message(),
            "unknown framing: first bytes 47 45 54 20 are not thrift"
        );
        assert!(detect(b"\x80\x02").is_err());
        assert!(detect(b"\x00\x00\x00\x10\x81\x01").is_err());
        assert!(detect(b"\x00\x00\x00\x10\x10\x01").is_err());
        assert_eq!(
            detect(b"\x00\x00\x00\x10\x11").unwrap_err().message(),
            "unknown framing: first bytes 00 00 00 10 11 are not thrift"
        );
        assert!(detect(b"\x40").is_err());
        assert!(detect(b"\xff\xff\xff\xff").is_err());
    }

    #[test]
    fn undecided() {
        assert_eq!(detect(b"").unwrap(), None);
        assert_eq!(detect(b"\x80").unwrap(), None);
        assert_eq!(detect(b"\x00\x00\x00").unwrap(), None);
        assert_eq!(detect(b"\x00\x00\x00\x29").unwrap(), None);
        assert_eq!(detect(b"\x00\x00\x00\x29\x80").unwrap(), None);
        assert_eq!(detect(b"\x00\x00\x00\x29\x10\x00\x00").unwrap(), None);
    }
}
