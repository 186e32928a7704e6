//! Fuzzes the TTHeader Streaming frame decoder: [`StreamFrame::decode`] and
//! the reader's [`Decoded::decode`] (which scans the header for the frame
//! type with `scan_int_key` instead of parsing it), the header's key/value
//! blocks, the metainfo read from them and the exception in TRAILER and
//! RST payloads.
//!
//! Inputs: frames of every type built by our encoder (metainfo keys,
//! `biz-*` keys, exception payloads, ACL tokens, transforms), the Kitex
//! captures of `frame.rs`, their mutations (see `fuzz_support::mutate`,
//! often with the length prefix made to fit again so the header parser
//! is reached), pipelined pairs and random bytes. Asserts: no panic, at
//! most 1 s and a bounded allocation per input, both decoders agree on
//! every input, a decoded frame re-encodes to itself, a valid frame
//! decodes to what was encoded, and a frame over the limit is refused
//! from its length prefix alone, before anything is allocated for it.

use bytes::{BufMut, BytesMut};
use rand::rngs::StdRng;
use rand::Rng;

use super::frame::tests::CAPTURES;
use super::frame::{Decoded, KnownDataHeader};
use super::server::decode_exception;
use super::{FrameType, StreamFrame, INT_KEY_FRAME_TYPE, PROTOCOL_THRIFT_STRUCT};
use crate::fuzz_support::{mutate, Fuzz};
use crate::metainfo::MetaInfo;
use crate::transport::test_data::hex;
use crate::transport::{parse_header_for, scan_int_key, TTHEADER_FIXED_SIZE};

const MAX: usize = 16 << 20;

fn random_string(rng: &mut StdRng, max: usize) -> String {
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| match rng.random_range(0..12) {
            0 => 'é',
            1 => '_',
            2 => '-',
            _ => char::from(rng.random_range(b'a'..=b'z')),
        })
        .collect()
}

/// An exception message as Kitex puts it in a TRAILER or RST payload.
fn exception_payload(rng: &mut StdRng, method: &str) -> Vec<u8> {
    let mut b = BytesMut::new();
    crate::transport::write_message_header(
        &mut b,
        &crate::transport::MessageHeader {
            name: method.to_owned().into(),
            message_type: crate::transport::MessageType::Exception,
            seq_id: rng.random(),
        },
    );
    let message = random_string(rng, 40);
    b.put_u8(11);
    b.put_i16(1);
    b.put_u32(u32::try_from(message.len()).unwrap_or(0));
    b.put_slice(message.as_bytes());
    b.put_u8(8);
    b.put_i16(2);
    b.put_i32(rng.random_range(0..13_000));
    b.put_u8(0);
    b.to_vec()
}

/// A random frame our encoder can write.
fn random_frame(rng: &mut StdRng) -> StreamFrame {
    const TYPES: [FrameType; 5] = [
        FrameType::Meta,
        FrameType::Header,
        FrameType::Data,
        FrameType::Trailer,
        FrameType::Rst,
    ];
    let ty = TYPES[rng.random_range(0..TYPES.len())];
    let method = random_string(rng, 12);
    let mut f = StreamFrame::new(ty, rng.random(), &method);
    f.header.flags |= rng.random::<u16>() & !0x0002;
    if rng.random_bool(0.1) {
        f.header.transforms = (0..rng.random_range(1..3)).map(|_| rng.random()).collect();
    }
    if rng.random_bool(0.1) {
        f.header.acl_token = Some(random_string(rng, 16).into());
    }
    if rng.random_bool(0.1) {
        // Unknown (or missing) frame type: still decodes, as `None`.
        f.header.ints.retain(|(k, _)| *k != INT_KEY_FRAME_TYPE);
        if rng.random_bool(0.5) {
            f.header.set_int(INT_KEY_FRAME_TYPE, random_string(rng, 2));
        }
    }
    for _ in 0..rng.random_range(0..3) {
        f.header.set_int(rng.random(), random_string(rng, 8));
    }
    // What the receiver will make of int key 27 (a random key above may be
    // 27 too).
    f.frame_type = f.header.int(INT_KEY_FRAME_TYPE).and_then(FrameType::parse);
    for _ in 0..rng.random_range(0..5) {
        let prefix =
            ["RPC_TRANSIT_", "RPC_PERSIST_", "RPC_BACKWARD_", "isn", ""][rng.random_range(0..5)];
        let key = format!("{prefix}{}", random_string(rng, 10));
        f.header.set_string(key, random_string(rng, 16));
    }
    let payload = match ty {
        FrameType::Data => {
            let len = if rng.random_bool(0.1) {
                rng.random_range(0..6000)
            } else {
                rng.random_range(0..200)
            };
            (0..len).map(|_| rng.random()).collect()
        }
        FrameType::Trailer if rng.random_bool(0.5) => {
            f.header
                .set_string("biz-status", rng.random::<u16>().to_string());
            f.header.set_string("biz-message", random_string(rng, 20));
            Vec::new()
        }
        FrameType::Trailer | FrameType::Rst => exception_payload(rng, &method),
        _ => Vec::new(),
    };
    f.with_payload(payload.into())
}

fn encode(f: &StreamFrame) -> Vec<u8> {
    let mut out = BytesMut::new();
    f.encode(&mut out).unwrap();
    out.to_vec()
}

/// Makes the length prefix of `bytes` announce the rest, if it has one.
fn fix_length(bytes: &mut [u8]) {
    if bytes.len() >= 4 {
        let n = u32::try_from(bytes.len() - 4).unwrap_or(u32::MAX);
        bytes[..4].copy_from_slice(&n.to_be_bytes());
    }
}

/// A valid frame decodes, with either decoder, to what was encoded, and
/// every strict prefix is incomplete.
fn check_valid(f: &StreamFrame, prefixes: bool) {
    let wire = encode(f);
    let mut buf = BytesMut::from(&wire[..]);
    buf.put_slice(&wire); // pipelined copy
    for _ in 0..2 {
        let back = StreamFrame::decode(&mut buf, MAX).unwrap().unwrap();
        assert_eq!(&back, f, "a valid frame decoded to something else");
    }
    assert!(buf.is_empty());
    // One remembered DATA header for both rounds: the second recognises a
    // DATA frame by its header bytes alone.
    let mut known = KnownDataHeader::default();
    for copy_max in [0, usize::MAX] {
        let mut buf = BytesMut::from(&wire[..]);
        let mut copied = None;
        let d = Decoded::decode(&mut buf, MAX, copy_max, &mut known, |id, p| {
            copied = Some((id, p.to_vec()));
        })
        .unwrap()
        .unwrap();
        assert!(buf.is_empty());
        match d {
            Decoded::Copied => {
                assert_eq!(f.frame_type, Some(FrameType::Data));
                assert_eq!(copied, Some((f.stream_id, f.payload.to_vec())));
            }
            Decoded::Data { stream_id, payload } => {
                assert_eq!(f.frame_type, Some(FrameType::Data));
                assert_eq!((stream_id, &payload[..]), (f.stream_id, &f.payload[..]));
            }
            Decoded::Other(g) => assert_eq!(&g, f),
        }
    }
    if prefixes {
        for n in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..n]);
            assert_eq!(
                StreamFrame::decode(&mut buf, MAX).unwrap(),
                None,
                "prefix {n}"
            );
        }
    }
}

/// Both header readers accept and refuse the same bytes, and find the same
/// value for every int key the parser found.
fn check_header_readers(header: &[u8]) {
    let parsed = parse_header_for(header, PROTOCOL_THRIFT_STRUCT);
    let scanned = scan_int_key(header, PROTOCOL_THRIFT_STRUCT, INT_KEY_FRAME_TYPE);
    assert_eq!(
        parsed.is_ok(),
        scanned.is_ok(),
        "parse_header_for {parsed:?}, scan_int_key {scanned:?}"
    );
    if let Ok(h) = parsed {
        let _ = MetaInfo::from_ttheader(&h);
        for (key, _) in &h.ints {
            let raw = scan_int_key(header, PROTOCOL_THRIFT_STRUCT, *key).unwrap();
            let raw = raw.map(String::from_utf8_lossy);
            assert_eq!(raw.as_deref(), h.int(*key), "int key {key}");
        }
    }
}

/// Runs both decoders over `bytes` (up to 4 pipelined frames); returns the
/// frames decoded.
fn exercise(bytes: &[u8], max: usize, copy_max: usize) -> usize {
    // The variable header as the fixed one sizes it (or all that follows).
    if let Some(rest) = bytes.get(TTHEADER_FIXED_SIZE..) {
        let words = usize::from(u16::from_be_bytes([bytes[12], bytes[13]]));
        check_header_readers(&rest[..rest.len().min(words * 4)]);
        check_header_readers(rest);
    }
    let mut a = BytesMut::from(bytes);
    let mut b = BytesMut::from(bytes);
    let mut decoded = 0;
    let mut known = KnownDataHeader::default();
    for _ in 0..4 {
        let before = a.len();
        let whole = StreamFrame::decode(&mut a, max);
        let mut copied = None;
        let light = Decoded::decode(&mut b, max, copy_max, &mut known, |id, p| {
            copied = Some((id, p.to_vec()));
        });
        assert_eq!(a.len(), b.len(), "the decoders consumed different lengths");
        match (whole, light) {
            (Ok(None), Ok(None)) | (Err(_), Err(_)) => {
                assert_eq!(a.len(), before, "an incomplete or bad frame was consumed");
                break;
            }
            (Ok(Some(f)), Ok(Some(d))) => {
                decoded += 1;
                let used = before - a.len();
                assert!(
                    used <= max,
                    "a {used}-byte frame passed the {max}-byte limit"
                );
                let is_data = f.frame_type == Some(FrameType::Data);
                match d {
                    Decoded::Copied => {
                        assert!(is_data && f.payload.len() <= copy_max);
                        assert_eq!(copied, Some((f.stream_id, f.payload.to_vec())));
                    }
                    Decoded::Data { stream_id, payload } => {
                        assert!(is_data && f.payload.len() > copy_max);
                        assert_eq!((stream_id, payload), (f.stream_id, f.payload.clone()));
                    }
                    Decoded::Other(g) => {
                        assert!(!is_data);
                        assert_eq!(g, f);
                    }
                }
                let _ = MetaInfo::from_ttheader(&f.header);
                if matches!(f.frame_type, Some(FrameType::Trailer | FrameType::Rst)) {
                    let _ = decode_exception(&f.payload);
                }
                // What was decoded is encodable, and decodes to itself.
                let mut again = BytesMut::new();
                if f.encode(&mut again).is_ok() {
                    let g = StreamFrame::decode(&mut again, usize::MAX).unwrap();
                    assert_eq!(g.as_ref(), Some(&f), "a decoded frame did not re-encode");
                }
            }
            (whole, light) => panic!(
                "StreamFrame::decode gave {:?}, Decoded::decode {:?}",
                whole.map(|f| f.is_some()),
                light.map(|d| d.is_some())
            ),
        }
    }
    decoded
}

#[test]
fn ttstream_frames_fuzz() {
    let mut fuzz = Fuzz::new("ttstream_frames", 30_000, 0x7474_7374_7265_616d);
    let mut rng = fuzz.rng();
    let captures: Vec<Vec<u8>> = CAPTURES.iter().map(|c| hex(c)).collect();
    for c in &captures {
        let n = exercise(c, MAX, 64);
        assert_eq!(n, 1, "a capture did not decode");
    }
    let mut prev = captures[0].clone();
    let (mut decoded, mut refused_early) = (0usize, 0usize);
    for case in 0..fuzz.cases {
        let mut bytes = match case % 8 {
            0 => {
                let len = rng.random_range(0..80);
                let mut b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                if len >= 14 && rng.random_bool(0.7) {
                    // A plausible fixed header: length, magic, streaming flag.
                    b[4..8].copy_from_slice(&[0x10, 0, 0, 0x02]);
                    b[12] = 0;
                    b[13] = rng.random_range(0..8);
                    fix_length(&mut b);
                }
                b
            }
            1 => {
                let mut b = captures[rng.random_range(0..captures.len())].clone();
                mutate(&mut rng, &mut b, &prev);
                if rng.random_bool(0.5) {
                    fix_length(&mut b);
                }
                b
            }
            _ => {
                let f = random_frame(&mut rng);
                if case % 8 == 2 {
                    let prefixes = case % 64 == 2;
                    fuzz.check(&encode(&f), None, || check_valid(&f, prefixes));
                }
                let mut b = encode(&f);
                if rng.random_bool(0.2) {
                    b.extend_from_slice(&encode(&random_frame(&mut rng)));
                }
                if case % 8 == 3 {
                    // Over the limit: refused from the first 4 bytes.
                    let total = encode(&f).len();
                    let max = rng.random_range(0..total);
                    let head = &b[..4];
                    let r = fuzz.check(head, Some(1024), || {
                        let mut buf = BytesMut::from(head);
                        let r = StreamFrame::decode(&mut buf, max).map(|_| ());
                        let s = Decoded::decode(
                            &mut buf,
                            max,
                            0,
                            &mut KnownDataHeader::default(),
                            |_, _| {},
                        )
                        .map(|_| ());
                        (r, s)
                    });
                    if r.0.is_ok() || r.1.is_ok() {
                        fuzz.fail(
                            &b,
                            format!("a frame over the {max}-byte limit was not refused"),
                        )
                    }
                    refused_early += 1;
                } else if rng.random_bool(0.85) {
                    mutate(&mut rng, &mut b, &prev);
                    if rng.random_bool(0.5) {
                        fix_length(&mut b);
                    }
                }
                b
            }
        };
        let max = if rng.random_bool(0.1) {
            rng.random_range(0..300)
        } else {
            MAX
        };
        let copy_max = [0, 64, 4096][rng.random_range(0..3)];
        // Two copies of the input, the headers parsed (a pair of FastStr
        // per 4 input bytes at most) and a re-encoding.
        let max_alloc = 64 * 1024 + 32 * bytes.len();
        decoded += fuzz.check(&bytes, Some(max_alloc), || exercise(&bytes, max, copy_max));
        std::mem::swap(&mut prev, &mut bytes);
    }
    fuzz.finish();
    println!("{decoded} frames decoded, {refused_early} refused from their length");
    assert!(decoded > fuzz.cases / 4, "only {decoded} frames decoded");
}
