//! The Thrift Compact protocol through the generated code: round trips of
//! every kitchen-sink type, bytes checked by hand, and hostile input
//! (random, truncated and mutated encodings; lying lengths) that must give
//! errors, never panics or allocations the input cannot justify.

use bytes::{Bytes, BytesMut};
use rand::Rng;
use tonic_thrift::codec::{CompactInput, CompactOutput, Protocol};
use tonic_thrift::transport::{decode_frame, FrameKind};
use tonic_thrift::Message;

use super::decode_fuzz::echo;
use super::decode_fuzz::kitchen_sink::{AllTypes, Choice, Containers, Node};
use super::decode_fuzz::shared::Item;
use super::decode_fuzz::{all_types_full, choices, containers_full, node_tree};
use super::fuzz_support::{peak_alloc, Fuzz};

fn encode<M: Message>(m: &M) -> Vec<u8> {
    let mut buf = BytesMut::new();
    m.encode(&mut CompactOutput::new(&mut buf)).unwrap();
    buf.to_vec()
}

fn decode<M: Message>(data: &[u8]) -> Result<M, String> {
    let mut bytes = Bytes::copy_from_slice(data);
    M::decode(&mut CompactInput::new(&mut bytes)).map_err(|e| e.to_string())
}

fn containers() -> Containers {
    Containers {
        all: vec![AllTypes::default(), all_types()],
        ..containers_full()
    }
}

fn all_types() -> AllTypes {
    // NaN never equals itself: a plain value for round-trip checks.
    AllTypes {
        ratio: 0.25,
        ..all_types_full()
    }
}

/// Every sample value, encoded, with a decoder for its type.
type Decoder = fn(&[u8]) -> Result<(), String>;

fn samples() -> Vec<(Vec<u8>, Decoder)> {
    fn d<M: Message>(data: &[u8]) -> Result<(), String> {
        decode::<M>(data).map(|_| ())
    }
    let mut out: Vec<(Vec<u8>, Decoder)> = vec![
        (encode(&all_types()), d::<AllTypes>),
        (encode(&AllTypes::default()), d::<AllTypes>),
        (encode(&containers()), d::<Containers>),
        (encode(&node_tree()), d::<Node>),
        (encode(&Item::default()), d::<Item>),
    ];
    for c in choices() {
        out.push((encode(&c), d::<Choice>));
    }
    out
}

#[test]
fn every_kitchen_sink_type_round_trips_in_compact() {
    assert_eq!(
        decode::<AllTypes>(&encode(&all_types())).unwrap(),
        all_types()
    );
    assert_eq!(
        decode::<Containers>(&encode(&containers())).unwrap(),
        containers()
    );
    assert_eq!(decode::<Node>(&encode(&node_tree())).unwrap(), node_tree());
    for c in choices() {
        assert_eq!(decode::<Choice>(&encode(&c)).unwrap(), c);
    }
    // The Protocol helpers agree with the protocol types.
    let mut buf = BytesMut::new();
    Protocol::Compact.encode(&all_types(), &mut buf).unwrap();
    assert_eq!(buf.to_vec(), encode(&all_types()));
    let back: AllTypes = Protocol::Compact.decode(&mut buf.freeze()).unwrap();
    assert_eq!(back, all_types());
}

#[test]
fn compact_bytes_are_the_specified_ones() {
    // Field 1 (delta 1) of type binary (8): 0x18, varint length, bytes, stop.
    let hi = echo::Request {
        message: "hi".into(),
    };
    assert_eq!(encode(&hi), b"\x18\x02hi\x00");
    // A bool field is its header: field 1 true is 0x11, false 0x12.
    let item = Item {
        id: -1,
        label: None,
        color: Default::default(),
    };
    // id: field 1 i64 (0x16), zigzag(-1) = 1; color: field 3, delta 2, i32
    // (0x25), zigzag(0) = 0.
    assert_eq!(encode(&item), b"\x16\x01\x25\x00\x00");
}

/// Decodes `data` with `f` and walks it as a Buffered compact message;
/// returns whether `f` decoded it.
fn run(data: &[u8], f: Decoder) -> bool {
    let decoded = f(data).is_ok();
    // The Buffered framing walks compact messages too.
    let mut framed = vec![0x82, 0x21, 0x01, 0x01, b'm'];
    framed.extend_from_slice(data);
    let mut buf = BytesMut::from(&framed[..]);
    let _ = decode_frame(&mut buf, FrameKind::Buffered, 1 << 16);
    decoded
}

#[test]
fn compact_fuzz_never_panics() {
    let mut fuzz = Fuzz::new("compact_decoders", 40_000, 0x82);
    let mut rng = fuzz.rng();
    let samples = samples();
    let max_alloc = |len: usize| 256 * 1024 + len * (std::mem::size_of::<AllTypes>() + 64);
    let mut decoded = 0usize;
    for (data, f) in &samples {
        decoded += usize::from(fuzz.check(data, None, || run(data, *f)));
        // Every truncation.
        for n in 0..data.len() {
            let cut = &data[..n];
            if fuzz.check(cut, Some(max_alloc(n)), || run(cut, *f)) {
                fuzz.fail(cut, "a truncated encoding decoded");
            }
        }
    }
    for _ in 0..fuzz.cases {
        let (base, f) = &samples[rng.random_range(0..samples.len())];
        let mut data = base.clone();
        match rng.random_range(0..3) {
            // Random bytes.
            0 => {
                let len = rng.random_range(0..64);
                data = (0..len).map(|_| rng.random()).collect();
            }
            // A few flipped bytes.
            1 => {
                for _ in 0..rng.random_range(1..4) {
                    if !data.is_empty() {
                        let i = rng.random_range(0..data.len());
                        data[i] = rng.random();
                    }
                }
            }
            // A random run of 0xff (huge varints and sizes) spliced in.
            _ => {
                let i = rng.random_range(0..=data.len());
                let run_len = rng.random_range(1..8);
                data.splice(i..i, std::iter::repeat_n(0xff, run_len));
            }
        }
        decoded += usize::from(fuzz.check(&data, Some(max_alloc(data.len())), || run(&data, *f)));
    }
    fuzz.finish();
    assert!(decoded > 0);
}

#[test]
fn lying_lengths_are_errors_before_any_allocation() {
    // Containers.ints (field 1, list<i32>): a list header claiming
    // 2^31 - 1 elements (long form: 0xf5, varint) with 2 bytes behind it.
    let list = b"\x19\xf5\xff\xff\xff\xff\x07\x02\x04\x00";
    let (r, peak) = peak_alloc(|| decode::<Containers>(list));
    let e = r.unwrap_err();
    assert!(e.contains("list size 2147483647 needs at least"), "{e}");
    assert!(
        peak < 4096,
        "allocated {peak} bytes for a {}-byte input",
        list.len()
    );
    // A string claiming 2^31 - 1 bytes.
    let (r, peak) = peak_alloc(|| decode::<echo::Request>(b"\x18\xff\xff\xff\xff\x07hi\x00"));
    let e = r.unwrap_err();
    assert!(e.contains("string length 2147483647 exceeds"), "{e}");
    assert!(peak < 4096, "allocated {peak} bytes");
    // A negative length (a 32-bit varint with the top bit set).
    let e = decode::<echo::Request>(b"\x18\xff\xff\xff\xff\x0fhi\x00").unwrap_err();
    assert!(e.contains("negative string length"), "{e}");
    // A varint longer than 5 bytes.
    let e = decode::<echo::Request>(b"\x18\xff\xff\xff\xff\xff\x01").unwrap_err();
    assert!(e.contains("longer than 5 bytes"), "{e}");
    // A map claiming more entries than bytes.
    let e = decode::<Containers>(b"\x5b\xff\xff\xff\xff\x07\x58\x00").unwrap_err();
    assert!(e.contains("map size"), "{e}");
    // An unknown compact type.
    let e = decode::<echo::Request>(b"\x1e\x00").unwrap_err();
    assert!(e.contains("unknown compact type 14"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // Node.next (field 2, struct) nested 10 000 times.
    let mut data = vec![0x2c; 10_000];
    data.extend(std::iter::repeat_n(0u8, 10_001));
    let e = decode::<Node>(&data).unwrap_err();
    assert!(e.contains("nested deeper than"), "{e}");
}
