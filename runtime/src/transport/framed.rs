//! Framed Thrift: a 4-byte big-endian length, then the message.

use bytes::{BufMut, BytesMut};

use super::{read_length_prefix, Frame, FrameError, Framing, MAX_PREFIX_LEN};

/// Decodes one Framed frame from the front of `buf` (see
/// [`decode_frame`](super::decode_frame)).
pub(crate) fn decode(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
    let Some(total) = read_length_prefix(buf, max_frame)? else {
        return Ok(None);
    };
    if buf.len() < total {
        return Ok(None);
    }
    let mut frame = buf.split_to(total).freeze();
    let message = frame.split_off(4);
    Ok(Some(Frame {
        framing: Framing::Framed,
        header: None,
        message,
    }))
}

/// Appends `message` with a 4-byte length prefix to `dst`.
pub(crate) fn encode(dst: &mut BytesMut, message: &[u8]) -> Result<(), FrameError> {
    let len = checked_len(message.len())?;
    dst.reserve(message.len().saturating_add(4));
    dst.put_u32(len);
    dst.extend_from_slice(message);
    Ok(())
}

/// Converts a length to the value of a 4-byte length prefix (top bit clear).
pub(crate) fn checked_len(len: usize) -> Result<u32, FrameError> {
    match u32::try_from(len) {
        Ok(value) if len <= MAX_PREFIX_LEN => Ok(value),
        _ => Err(FrameError::new(format!(
            "message of {len} bytes is too long for a 4-byte frame length"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{hex, FRAMED_CALL, FRAMED_REPLY};
    use super::super::{decode_frame, encode_frame, FrameKind, Framing, MessageType};
    use super::super::{read_message_header, MessageHeader};
    use bytes::BytesMut;

    const MAX: usize = 16 << 20;

    #[test]
    fn decodes_captured_call() {
        let wire = hex(FRAMED_CALL);
        let mut buf = BytesMut::from(&wire[..]);
        let frame = decode_frame(&mut buf, FrameKind::Framed, MAX)
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        assert_eq!(frame.framing, Framing::Framed);
        assert!(frame.header.is_none());
        assert_eq!(&frame.message[..], &wire[4..]);
        let (h, body) = read_message_header(&frame.message).unwrap();
        assert_eq!(
            h,
            MessageHeader {
                name: "EchoPingPong".into(),
                message_type: MessageType::Call,
                seq_id: 1,
            }
        );
        assert_eq!(
            &body[..],
            b"\x0c\x00\x01\x0b\x00\x01\x00\x00\x00\x05hello\x00\x00"
        );
    }

    #[test]
    fn encodes_captured_reply_exactly() {
        let wire = hex(FRAMED_REPLY);
        let mut dst = BytesMut::new();
        encode_frame(&mut dst, Framing::Framed, None, &wire[4..]).unwrap();
        assert_eq!(&dst[..], &wire[..]);
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let wire = hex(FRAMED_CALL);
        for n in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..n]);
            assert!(
                decode_frame(&mut buf, FrameKind::Framed, MAX)
                    .unwrap()
                    .is_none(),
                "prefix {n}"
            );
            assert_eq!(buf.len(), n);
        }
    }

    #[test]
    fn pipelined_frames() {
        let call = hex(FRAMED_CALL);
        let reply = hex(FRAMED_REPLY);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&call);
        buf.extend_from_slice(&reply);
        buf.extend_from_slice(&call[..7]);
        let a = decode_frame(&mut buf, FrameKind::Framed, MAX)
            .unwrap()
            .unwrap();
        let b = decode_frame(&mut buf, FrameKind::Framed, MAX)
            .unwrap()
            .unwrap();
        assert_eq!(&a.message[..], &call[4..]);
        assert_eq!(&b.message[..], &reply[4..]);
        assert!(decode_frame(&mut buf, FrameKind::Framed, MAX)
            .unwrap()
            .is_none());
        assert_eq!(buf.len(), 7);
    }

    #[test]
    fn length_above_limit_fails_before_the_bytes_arrive() {
        let mut buf = BytesMut::from(&[0x01, 0x31, 0x2d, 0x00][..]);
        let err = decode_frame(&mut buf, FrameKind::Framed, MAX).unwrap_err();
        assert_eq!(
            err.message(),
            "frame length 20000004 exceeds the limit of 16777216 bytes"
        );
        assert_eq!(buf.len(), 4);
        // The limit counts the length prefix too.
        let mut buf = BytesMut::from(&[0, 0, 0, 97][..]);
        assert!(decode_frame(&mut buf, FrameKind::Framed, 100).is_err());
        let mut buf = BytesMut::from(&[0, 0, 0, 96][..]);
        assert!(decode_frame(&mut buf, FrameKind::Framed, 100)
            .unwrap()
            .is_none());
    }

    #[test]
    fn negative_length() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xfb, 0x80][..]);
        let err = decode_frame(&mut buf, FrameKind::Framed, MAX).unwrap_err();
        assert_eq!(err.to_string(), "negative frame length -5");
    }

    #[test]
    fn truncated_frame_stays_incomplete() {
        let wire = hex(FRAMED_CALL);
        let mut buf = BytesMut::from(&wire[..wire.len() - 1]);
        assert!(decode_frame(&mut buf, FrameKind::Framed, MAX)
            .unwrap()
            .is_none());
    }

    #[test]
    fn round_trip_empty_and_large() {
        for len in [0usize, 1, 1000, 70_000] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut dst = BytesMut::new();
            encode_frame(&mut dst, Framing::Framed, None, &msg).unwrap();
            let f = decode_frame(&mut dst, FrameKind::Framed, MAX)
                .unwrap()
                .unwrap();
            assert_eq!(&f.message[..], &msg[..]);
            assert!(dst.is_empty());
        }
    }
}
