//! Fuzzes the ping-pong framing layer with random and mutated valid frames.
//!
//! Every input goes through `detect`, `decode_frame` with each `FrameKind`
//! (repeatedly, as a server loop would on a pipelined buffer),
//! `read_message_header` and, for the TTHeader and Apache THeader key/values
//! decoded, `MetaInfo::from_ttheader`; none may panic. Unmutated frames
//! must decode back to what was encoded, metainfo included.

use bytes::{BufMut, Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic_thrift::metainfo::{is_valid_key, MetaInfo};
use tonic_thrift::transport::*;

mod fuzz_support;
use fuzz_support::Fuzz;

const MAX: usize = 16 << 20;

/// A Kitex capture of each framing (`kitex-peer/traces/decoded/pingpong_*.txt`).
const CAPTURES: [(&str, Detected, FrameKind); 4] = [
    (
        "800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000",
        Detected::Buffered,
        FrameKind::Buffered,
    ),
    (
        "00000029800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000",
        Detected::Framed,
        FrameKind::Framed,
    ),
    (
        "000000c710000000000000010025000001000300185250435f504552534953545f544553545f504552534953540003707631000369736e000b546573745365727669636500145250435f5452414e5349545f544553545f4b4559000374763110000700030000001400000006000b54657374536572766963650009000c4563686f50696e67506f6e67001600013100010008756e6672616d6564000c000435303030800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000",
        Detected::TTHeader,
        FrameKind::TTHeader,
    ),
    (
        "0000008f100000000000000100160000010001000369736e000b54657374536572766963651000070006000b54657374536572766963650009000c4563686f50696e67506f6e670016000131000100066672616d6564000c000435303030000300000014000000000029800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000",
        Detected::TTHeader,
        FrameKind::TTHeader,
    ),
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn random_string(rng: &mut StdRng, max: usize) -> String {
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| match rng.random_range(0..10) {
            0 => 'é',
            1 => '_',
            _ => char::from(rng.random_range(b'a'..=b'z')),
        })
        .collect()
}

/// A string key: metainfo (`RPC_TRANSIT_`, `RPC_PERSIST_`, `RPC_BACKWARD_`
/// and a valid or invalid name) or anything.
fn random_key(rng: &mut StdRng) -> String {
    let prefix = ["RPC_TRANSIT_", "RPC_PERSIST_", "RPC_BACKWARD_", ""][rng.random_range(0..4)];
    let name: String = if rng.random_bool(0.7) {
        let len = rng.random_range(0..8);
        (0..len)
            .map(|_| char::from(b"ABCXYZ019_"[rng.random_range(0..10)]))
            .collect()
    } else {
        random_string(rng, 10)
    };
    format!("{prefix}{name}")
}

/// Metainfo read from a header holds exactly its well-formed metainfo keys
/// (the last of duplicates).
fn check_metainfo(h: &TTHeader) {
    let m = MetaInfo::from_ttheader(h);
    let mut want = 0;
    for (k, v) in &h.strings {
        for (i, prefix) in ["RPC_TRANSIT_", "RPC_PERSIST_", "RPC_BACKWARD_"]
            .into_iter()
            .enumerate()
        {
            let Some(name) = k.strip_prefix(prefix) else {
                continue;
            };
            if !is_valid_key(name) {
                continue;
            }
            want += 1;
            let m = m.as_ref().expect("metainfo keys but no metainfo");
            if h.string(k) == Some(v.as_str()) {
                let got = match i {
                    0 => m.transient(name),
                    1 => m.persistent(name),
                    _ => m.backward(name),
                };
                assert_eq!(got, Some(v.as_str()), "{k}");
            }
        }
    }
    if want == 0 {
        assert!(m.is_none(), "metainfo from no metainfo key");
    }
}

/// Writes a random value of Thrift type `ty`.
fn write_value(rng: &mut StdRng, out: &mut Vec<u8>, ty: u8, depth: u32) {
    match ty {
        2 | 3 => out.push(rng.random()),
        4 | 10 => out.extend_from_slice(&rng.random::<u64>().to_be_bytes()),
        6 => out.extend_from_slice(&rng.random::<u16>().to_be_bytes()),
        8 => out.extend_from_slice(&rng.random::<u32>().to_be_bytes()),
        16 => out.extend_from_slice(&rng.random::<u128>().to_be_bytes()),
        11 => {
            let s = random_string(rng, 12);
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        12 => write_struct(rng, out, depth + 1),
        13 => {
            let (k, v) = (random_type(rng, depth), random_type(rng, depth));
            let n = rng.random_range(0..3u32);
            out.extend_from_slice(&[k, v]);
            out.extend_from_slice(&n.to_be_bytes());
            for _ in 0..n {
                write_value(rng, out, k, depth + 1);
                write_value(rng, out, v, depth + 1);
            }
        }
        _ => {
            // 14 set / 15 list
            let e = random_type(rng, depth);
            let n = rng.random_range(0..4u32);
            out.push(e);
            out.extend_from_slice(&n.to_be_bytes());
            for _ in 0..n {
                write_value(rng, out, e, depth + 1);
            }
        }
    }
}

fn random_type(rng: &mut StdRng, depth: u32) -> u8 {
    const LEAF: [u8; 8] = [2, 3, 4, 6, 8, 10, 11, 16];
    const ALL: [u8; 12] = [2, 3, 4, 6, 8, 10, 11, 16, 12, 13, 14, 15];
    if depth >= 3 {
        LEAF[rng.random_range(0..LEAF.len())]
    } else {
        ALL[rng.random_range(0..ALL.len())]
    }
}

fn write_struct(rng: &mut StdRng, out: &mut Vec<u8>, depth: u32) {
    for _ in 0..rng.random_range(0..4) {
        let ty = random_type(rng, depth);
        out.push(ty);
        out.extend_from_slice(&rng.random::<u16>().to_be_bytes());
        write_value(rng, out, ty, depth);
    }
    out.push(0);
}

fn random_message(rng: &mut StdRng) -> (MessageHeader, Vec<u8>) {
    let types = [
        MessageType::Call,
        MessageType::Reply,
        MessageType::Exception,
        MessageType::Oneway,
    ];
    let header = MessageHeader {
        name: random_string(rng, 16).into(),
        message_type: types[rng.random_range(0..4)],
        seq_id: rng.random(),
    };
    let mut dst = BytesMut::new();
    write_message_header(&mut dst, &header);
    let mut body = Vec::new();
    write_struct(rng, &mut body, 0);
    dst.extend_from_slice(&body);
    (header, dst.to_vec())
}

fn random_ttheader(rng: &mut StdRng, seq_id: i32) -> TTHeader {
    let mut h = TTHeader {
        // Never the streaming flag.
        flags: rng.random::<u16>() & !0x0002,
        seq_id,
        protocol_id: 0,
        transforms: (0..rng.random_range(0..3)).map(|_| rng.random()).collect(),
        acl_token: rng.random_bool(0.2).then(|| random_string(rng, 8).into()),
        ..TTHeader::default()
    };
    for _ in 0..rng.random_range(0..5) {
        h.strings
            .push((random_key(rng).into(), random_string(rng, 10).into()));
    }
    for _ in 0..rng.random_range(0..8) {
        h.ints.push((rng.random(), random_string(rng, 10).into()));
    }
    h
}

/// A random valid frame: its bytes, the detection and kind it should give,
/// and what it should decode to.
struct Valid {
    bytes: Vec<u8>,
    detected: Detected,
    kind: FrameKind,
    framing: Framing,
    header: Option<TTHeader>,
    message: Vec<u8>,
    message_header: MessageHeader,
}

fn random_valid(rng: &mut StdRng) -> Valid {
    let (message_header, message) = random_message(rng);
    let (framing, detected, kind) = match rng.random_range(0..5) {
        0 => (Framing::Buffered, Detected::Buffered, FrameKind::Buffered),
        1 => (Framing::Framed, Detected::Framed, FrameKind::Framed),
        4 => (Framing::THeader, Detected::TTHeader, FrameKind::TTHeader),
        n => (
            Framing::TTHeader {
                inner_framed: n == 3,
            },
            Detected::TTHeader,
            FrameKind::TTHeader,
        ),
    };
    let header = match framing {
        Framing::TTHeader { .. } => Some(random_ttheader(rng, message_header.seq_id)),
        // Apache THeader: string key/values only.
        Framing::THeader => Some(TTHeader {
            flags: rng.random(),
            seq_id: message_header.seq_id,
            strings: (0..rng.random_range(0..5))
                .map(|_| (random_key(rng).into(), random_string(rng, 10).into()))
                .collect(),
            ..TTHeader::default()
        }),
        _ => None,
    };
    let mut dst = BytesMut::new();
    encode_frame(&mut dst, framing, header.as_ref(), &message).unwrap();
    Valid {
        bytes: dst.to_vec(),
        detected,
        kind,
        framing,
        header,
        message,
        message_header,
    }
}

fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..rng.random_range(1..4) {
        let len = bytes.len();
        match rng.random_range(0..8) {
            0 | 1 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes[i] = rng.random();
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            3 => {
                let i = rng.random_range(0..=len);
                bytes.truncate(i);
            }
            4 => {
                let i = rng.random_range(0..=len);
                for _ in 0..rng.random_range(1..8) {
                    bytes.insert(i, rng.random());
                }
            }
            5 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes.remove(i);
            }
            6 if len >= 4 => {
                // Overwrite a would-be length or count with an extreme value.
                let i = rng.random_range(0..=len - 4);
                let v: u32 = match rng.random_range(0..4) {
                    0 => 0xffff_ffff,
                    1 => 0x7fff_ffff,
                    2 => rng.random_range(0..300),
                    _ => rng.random(),
                };
                bytes[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            _ => {
                // Splice in part of another frame.
                let i = rng.random_range(0..=len);
                let j = rng.random_range(0..=other.len());
                bytes.truncate(i);
                bytes.extend_from_slice(&other[j..]);
            }
        }
    }
}

/// Runs every entry point on `bytes`; returns how many frames decoded.
fn exercise(rng: &mut StdRng, bytes: &[u8]) -> usize {
    let _ = detect(bytes);
    let _ = read_message_header(&Bytes::copy_from_slice(bytes));
    let mut decoded = 0;
    for kind in [FrameKind::TTHeader, FrameKind::Framed, FrameKind::Buffered] {
        let max = if rng.random_bool(0.2) {
            rng.random_range(0..400)
        } else {
            MAX
        };
        let mut buf = BytesMut::from(bytes);
        // At most a few frames, as a server loop would pull them.
        for _ in 0..4 {
            let before = buf.len();
            match decode_frame(&mut buf, kind, max) {
                Ok(Some(frame)) => {
                    if let Some(h) = &frame.header {
                        check_metainfo(h);
                    }
                    assert!(buf.len() < before, "a decoded frame consumes bytes");
                    assert!(before - buf.len() <= max);
                    let _ = read_message_header(&frame.message);
                    decoded += 1;
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "incomplete leaves the buffer");
                    break;
                }
                Err(e) => {
                    assert_eq!(buf.len(), before, "errors leave the buffer");
                    assert!(!e.message().is_empty());
                    break;
                }
            }
        }
    }
    decoded
}

fn check_valid(v: &Valid) {
    assert_eq!(detect(&v.bytes).unwrap(), Some(v.detected));
    let mut buf = BytesMut::from(&v.bytes[..]);
    buf.put_slice(&v.bytes); // pipelined copy
    for _ in 0..2 {
        let frame = decode_frame(&mut buf, v.kind, MAX).unwrap().unwrap();
        assert_eq!(frame.framing, v.framing);
        assert_eq!(frame.header, v.header);
        if let Some(h) = &frame.header {
            check_metainfo(h);
        }
        assert_eq!(&frame.message[..], &v.message[..]);
        let (h, _) = read_message_header(&frame.message).unwrap();
        assert_eq!(h, v.message_header);
    }
    assert!(buf.is_empty());
}

#[test]
fn captures_decode() {
    for (capture, detected, kind) in CAPTURES {
        let wire = hex(capture);
        assert_eq!(detect(&wire).unwrap(), Some(detected));
        for n in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..n]);
            assert!(decode_frame(&mut buf, kind, MAX).unwrap().is_none());
        }
        let mut buf = BytesMut::from(&wire[..]);
        let frame = decode_frame(&mut buf, kind, MAX).unwrap().unwrap();
        let (h, _) = read_message_header(&frame.message).unwrap();
        assert_eq!(h.name, "EchoPingPong");
        assert_eq!(h.message_type, MessageType::Call);
        assert_eq!(h.seq_id, 1);
    }
}

#[test]
fn random_and_mutated_frames_never_panic() {
    let mut fuzz = Fuzz::new("pingpong_frames", 100_000, 0x7474_6865_6164_6572);
    let mut rng = fuzz.rng();
    let captures: Vec<Vec<u8>> = CAPTURES.iter().map(|(c, _, _)| hex(c)).collect();
    let mut decoded = 0usize;
    let mut prev = captures[0].clone();
    for case in 0..fuzz.cases {
        let mut bytes = match case % 8 {
            // Pure random bytes, sometimes with a plausible start.
            0 => {
                let len = rng.random_range(0..64);
                let mut b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                if len >= 6 && rng.random_bool(0.5) {
                    let magic: &[u8] = if rng.random_bool(0.5) {
                        &[0x10, 0]
                    } else {
                        &[0x80, 1]
                    };
                    b[4..6].copy_from_slice(magic);
                    b[0] = rng.random_range(0..2);
                }
                b
            }
            // A mutated capture.
            1 => {
                let mut b = captures[rng.random_range(0..captures.len())].clone();
                mutate(&mut rng, &mut b, &prev);
                b
            }
            // A random valid frame: check it, then mutate it.
            _ => {
                let v = random_valid(&mut rng);
                if case % 8 == 2 {
                    check_valid(&v);
                }
                let mut b = v.bytes;
                mutate(&mut rng, &mut b, &prev);
                b
            }
        };
        // Copies of the input, the frames split off it and error texts.
        let max_alloc = 64 * 1024 + 16 * bytes.len();
        decoded += fuzz.check(&bytes, Some(max_alloc), || exercise(&mut rng, &bytes));
        std::mem::swap(&mut prev, &mut bytes);
    }
    // Mutations keep a fair share decodable, so decoding paths are exercised.
    fuzz.finish();
    println!("{decoded} frames decoded");
    assert!(decoded > fuzz.cases / 10, "only {decoded} frames decoded");
}

#[test]
fn every_prefix_of_random_valid_frames_is_incomplete() {
    let mut rng = StdRng::seed_from_u64(42);
    for _ in 0..300 {
        let v = random_valid(&mut rng);
        for n in 0..v.bytes.len() {
            let mut buf = BytesMut::from(&v.bytes[..n]);
            assert!(
                decode_frame(&mut buf, v.kind, MAX).unwrap().is_none(),
                "prefix {n} of {:02x?}",
                v.bytes
            );
            // Detection never fails on a valid prefix, nor decides wrongly.
            match detect(&v.bytes[..n]) {
                Ok(None) => {}
                Ok(Some(d)) => assert_eq!(d, v.detected),
                Err(e) => panic!("detect failed on prefix {n}: {e}"),
            }
        }
        check_valid(&v);
    }
}
