//! Fuzzes protocol detection: what a server decides from a connection's
//! first bytes, as `server::tls::serve_tls` and
//! `server::connection::serve_detected` decide it ([`decide`] restates
//! their order: a TLS record first on a TLS port, then [`detect`], and for
//! HTTP/2 [`http2_preface_complete`]).
//!
//! Inputs: prefixes of an HTTP/2 client preface with its SETTINGS, of
//! ping-pong Buffered, Framed, TTHeader and THeader frames (Binary and
//! Compact), of TTHeader Streaming frames and of TLS ClientHello records;
//! their mutations; random bytes. Asserts: no panic, at most 1 s and 4 KiB
//! allocated per input; a decision (a protocol or a refusal) by 8 bytes for
//! Thrift and by the end of the SETTINGS frame (at most 16 KiB) for
//! HTTP/2, never "need more bytes" after that; a decision never changes
//! when more bytes arrive; every valid start is decided as what it is; a
//! ClientHello reaching a plaintext port is never served as a frame.

use bytes::BytesMut;
use rand::rngs::StdRng;
use rand::Rng;

use super::test_data::{hex, ALL_TTHEADER, BUFFERED_CALL, FRAMED_CALL};
use super::{
    decode_frame, detect, encode_frame, http2_preface_complete, Detected, FrameKind, Framing,
    MessageHeader, MessageType, TTHeader,
};
use crate::fuzz_support::{mutate, Fuzz};
use crate::ttstream::{FrameType, StreamFrame};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The bytes after which HTTP/2 must be decided: the preface and the
/// largest first frame waited for.
const HTTP2_DECIDED_BY: usize = PREFACE.len() + 9 + 16_384;
/// The bytes after which every Thrift framing is decided.
const THRIFT_DECIDED_BY: usize = 8;

/// What a server does with a connection that starts with these bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    NeedMore,
    Tls,
    Serve(Detected),
    Refuse,
}

fn decide(buf: &[u8], tls_port: bool) -> Decision {
    match buf.first() {
        None => return Decision::NeedMore,
        Some(&0x16) if tls_port => return Decision::Tls,
        Some(_) => {}
    }
    match detect(buf) {
        Ok(Some(Detected::Http2)) if !http2_preface_complete(buf) => Decision::NeedMore,
        Ok(Some(d)) => Decision::Serve(d),
        Ok(None) => Decision::NeedMore,
        Err(e) => {
            assert!(e.message().contains("not thrift"), "{e}");
            Decision::Refuse
        }
    }
}

/// What a start of a connection is, when generated as something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http2,
    PingPong(Detected),
    TtStream,
    ClientHello,
}

fn random_message(rng: &mut StdRng) -> Vec<u8> {
    let header = MessageHeader {
        name: "Echo".into(),
        message_type: MessageType::Call,
        seq_id: rng.random(),
    };
    let mut dst = BytesMut::new();
    if rng.random_bool(0.3) {
        super::write_compact_header(&mut dst, &header);
    } else {
        super::write_message_header(&mut dst, &header);
    }
    let len = rng.random_range(0..40);
    dst.extend((0..len).map(|_| rng.random::<u8>()));
    dst.extend_from_slice(&[0]);
    dst.to_vec()
}

/// A valid start of a connection of a random kind.
fn random_start(rng: &mut StdRng) -> (Kind, Vec<u8>) {
    match rng.random_range(0..6) {
        0 => {
            let mut b = PREFACE.to_vec();
            let settings = rng.random_range(0..8usize);
            let len = u32::try_from(settings * 6).unwrap_or(0).to_be_bytes();
            b.extend_from_slice(&[len[1], len[2], len[3], 4, 0, 0, 0, 0, 0]);
            for _ in 0..settings * 6 {
                b.push(rng.random());
            }
            // A HEADERS frame may follow in the same write.
            if rng.random_bool(0.5) {
                b.extend_from_slice(&[0, 0, 4, 1, 4, 0, 0, 0, 1, 0x83, 0x86, 0x84, 0x41]);
            }
            (Kind::Http2, b)
        }
        1 => {
            let message = random_message(rng);
            let (framing, detected) = match rng.random_range(0..5) {
                0 => (Framing::Buffered, Detected::Buffered),
                1 => (Framing::Framed, Detected::Framed),
                2 => (Framing::THeader, Detected::TTHeader),
                n => (
                    Framing::TTHeader {
                        inner_framed: n == 3,
                    },
                    Detected::TTHeader,
                ),
            };
            let mut header = (framing != Framing::THeader).then(|| TTHeader {
                seq_id: 1,
                ..TTHeader::default()
            });
            if let Some(h) = header.as_mut() {
                h.protocol_id = if message[0] == 0x82 { 2 } else { 0 };
                h.set_string("isn", "TestService");
            }
            let mut b = BytesMut::new();
            encode_frame(&mut b, framing, header.as_ref(), &message).unwrap();
            (Kind::PingPong(detected), b.to_vec())
        }
        2 => {
            let captures = [BUFFERED_CALL, FRAMED_CALL];
            let all: Vec<&str> = captures
                .iter()
                .chain(ALL_TTHEADER.iter())
                .copied()
                .collect();
            let b = hex(all[rng.random_range(0..all.len())]);
            let d = detect(&b).unwrap().unwrap();
            (Kind::PingPong(d), b)
        }
        3 | 4 => {
            let f = StreamFrame::new(FrameType::Header, rng.random(), "Echo");
            let mut b = BytesMut::new();
            f.encode(&mut b).unwrap();
            (Kind::TtStream, b.to_vec())
        }
        _ => {
            // A TLS 1.2/1.3 ClientHello record (its body random).
            let body = rng.random_range(40..600usize);
            let mut b = vec![0x16, 0x03, 0x01];
            b.extend_from_slice(&u16::try_from(body).unwrap_or(0).to_be_bytes());
            b.push(0x01);
            b.extend_from_slice(&u32::try_from(body - 4).unwrap_or(0).to_be_bytes()[1..]);
            b.extend_from_slice(&[0x03, 0x03]);
            b.extend((0..body - 6).map(|_| rng.random::<u8>()));
            (Kind::ClientHello, b)
        }
    }
}

/// The checks every input gets.
fn check_any(bytes: &[u8]) {
    for tls_port in [false, true] {
        let full = decide(bytes, tls_port);
        // Bounded waiting.
        if full == Decision::NeedMore {
            let http2 = bytes.first() == Some(&b'P');
            let bound = if http2 {
                HTTP2_DECIDED_BY
            } else {
                THRIFT_DECIDED_BY
            };
            assert!(
                bytes.len() < bound,
                "{} bytes and still undecided (tls port {tls_port})",
                bytes.len()
            );
        }
        // A decision stands: every prefix is undecided or decided alike.
        let step = if bytes.len() > 64 { 7 } else { 1 };
        for n in (0..bytes.len()).step_by(step) {
            let early = decide(&bytes[..n], tls_port);
            assert!(
                early == Decision::NeedMore || early == full,
                "prefix of {n} bytes decided {early:?}, the whole {full:?}"
            );
        }
    }
}

/// What a valid start of `kind` must be decided as.
fn check_valid(kind: Kind, bytes: &[u8]) {
    let want = match kind {
        Kind::Http2 => Decision::Serve(Detected::Http2),
        Kind::PingPong(d) => Decision::Serve(d),
        Kind::TtStream => Decision::Serve(Detected::TTHeaderStreaming),
        Kind::ClientHello => Decision::Tls,
    };
    assert_eq!(decide(bytes, true), want);
    match kind {
        Kind::ClientHello => match decide(bytes, false) {
            Decision::Serve(d) => {
                // Plaintext port: never read as a frame (its "length" is
                // over 350 MB).
                let kind = match d {
                    Detected::Framed => FrameKind::Framed,
                    Detected::Buffered => FrameKind::Buffered,
                    _ => FrameKind::TTHeader,
                };
                let mut buf = BytesMut::from(bytes);
                let r = decode_frame(&mut buf, kind, 16 << 20);
                assert!(
                    !matches!(r, Ok(Some(_))),
                    "a ClientHello was served as {d:?}"
                );
            }
            other => assert!(matches!(other, Decision::Refuse | Decision::NeedMore)),
        },
        _ => assert_eq!(decide(bytes, false), want),
    }
}

#[test]
fn protocol_detection_fuzz() {
    let mut fuzz = Fuzz::new("protocol_detection", 30_000, 0x6465_7465_6374);
    let mut rng = fuzz.rng();
    let mut prev = PREFACE.to_vec();
    let mut decided = [0usize; 4];
    for case in 0..fuzz.cases {
        let (kind, mut bytes) = random_start(&mut rng);
        match case % 4 {
            0 => fuzz.check(&bytes, Some(4096), || check_valid(kind, &bytes)),
            1 => {
                let len = rng.random_range(0..24);
                bytes = (0..len).map(|_| rng.random()).collect();
            }
            _ => {
                if rng.random_bool(0.3) {
                    let cut = rng.random_range(0..=bytes.len());
                    bytes.truncate(cut);
                }
                mutate(&mut rng, &mut bytes, &prev);
            }
        }
        fuzz.check(&bytes, Some(4096), || check_any(&bytes));
        let slot = match decide(&bytes, false) {
            Decision::NeedMore => 0,
            Decision::Tls => 1,
            Decision::Serve(_) => 2,
            Decision::Refuse => 3,
        };
        decided[slot] += 1;
        std::mem::swap(&mut prev, &mut bytes);
    }
    fuzz.finish();
    println!("need more / tls / served / refused: {decided:?}");
    // Every outcome is reached, so no branch is left unfuzzed.
    assert!(
        decided[0] > 0 && decided[2] > 0 && decided[3] > 0,
        "{decided:?}"
    );
}
