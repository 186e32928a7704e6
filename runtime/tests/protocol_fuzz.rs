//! Protocol tests for `BinaryInput` / `BinaryOutput`: golden bytes, round
//! trips, truncation, hostile lengths and a fixed-seed fuzz loop that feeds
//! random and mutated input to the reader, which must never panic.

use bytes::{BufMut, Bytes, BytesMut};
use rand::Rng;
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::codegen::pilota::thrift::{
    ProtocolExceptionKind, TInputProtocol, TLengthProtocol, TListIdentifier, TMapIdentifier,
    TMessageIdentifier, TMessageType, TOutputProtocol, TSetIdentifier, TStructIdentifier, TType,
    ThriftException,
};
use tonic_thrift::codegen::pilota::FastStr;

mod fuzz_support;
use fuzz_support::Fuzz;

type Res = Result<(), ThriftException>;

/// Asserts `r` is a protocol error of `kind` whose message contains `needle`.
#[track_caller]
fn assert_protocol_err<T: std::fmt::Debug>(
    r: Result<T, ThriftException>,
    kind: ProtocolExceptionKind,
    needle: &str,
) {
    match r {
        Err(ThriftException::Protocol(e)) => {
            assert_eq!(e.kind(), kind, "unexpected kind for error {e}");
            assert!(
                e.message().contains(needle),
                "error message {:?} does not contain {needle:?}",
                e.message()
            );
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

fn encode(f: impl FnOnce(&mut BinaryOutput<'_, BytesMut>) -> Res) -> Bytes {
    let mut buf = BytesMut::new();
    f(&mut BinaryOutput::new(&mut buf)).expect("encoding succeeds");
    buf.freeze()
}

fn raw(f: impl FnOnce(&mut BytesMut)) -> Bytes {
    let mut buf = BytesMut::new();
    f(&mut buf);
    buf.freeze()
}

/// Writes a struct exercising every type and nesting (fields only + stop).
fn write_rich_struct(o: &mut BinaryOutput<'_, BytesMut>) -> Res {
    o.write_struct_begin(&TStructIdentifier::new("Rich"))?;
    o.write_field_begin(TType::Bool, 1)?;
    o.write_bool(true)?;
    o.write_field_begin(TType::I8, 2)?;
    o.write_i8(-7)?;
    o.write_field_begin(TType::I16, 3)?;
    o.write_i16(-300)?;
    o.write_field_begin(TType::I32, 4)?;
    o.write_i32(123_456)?;
    o.write_field_begin(TType::I64, 5)?;
    o.write_i64(-9_876_543_210)?;
    o.write_field_begin(TType::Double, 6)?;
    o.write_double(2.5)?;
    o.write_field_begin(TType::Binary, 7)?;
    o.write_string("héllo wörld")?;
    o.write_field_begin(TType::Binary, 8)?;
    o.write_bytes(Bytes::from_static(&[0, 0xff, 0x80, 1]))?;
    o.write_field_begin(TType::Uuid, 9)?;
    o.write_uuid([0xab; 16])?;
    // Nested struct containing a list<struct> and a map<string, list<i64>>.
    o.write_field_begin(TType::Struct, 10)?;
    {
        o.write_field_begin(TType::List, 1)?;
        o.write_list_begin(TListIdentifier::new(TType::Struct, 3))?;
        for i in 0..3 {
            o.write_field_begin(TType::I32, 1)?;
            o.write_i32(i)?;
            o.write_field_begin(TType::Binary, 2)?;
            o.write_faststr(FastStr::from_static_str("inner"))?;
            o.write_field_stop()?;
        }
        o.write_list_end()?;
        o.write_field_begin(TType::Map, 2)?;
        o.write_map_begin(TMapIdentifier::new(TType::Binary, TType::List, 2))?;
        for (k, n) in [("a", 2), ("bb", 0)] {
            o.write_string(k)?;
            o.write_list_begin(TListIdentifier::new(TType::I64, n))?;
            for j in 0..n {
                o.write_i64(j as i64)?;
            }
            o.write_list_end()?;
        }
        o.write_map_end()?;
        o.write_field_stop()?;
    }
    o.write_field_begin(TType::Set, 11)?;
    o.write_set_begin(TSetIdentifier::new(TType::I16, 3))?;
    for v in [1i16, 2, 3] {
        o.write_i16(v)?;
    }
    o.write_set_end()?;
    o.write_field_begin(TType::List, 12)?;
    o.write_list_begin(TListIdentifier::new(TType::List, 2))?;
    for words in [
        &["x", "yz"][..],
        &["long string value that is not inlined"][..],
    ] {
        o.write_list_begin(TListIdentifier::new(TType::Binary, words.len()))?;
        for w in words {
            o.write_string(w)?;
        }
        o.write_list_end()?;
    }
    o.write_list_end()?;
    o.write_field_begin(TType::Map, 13)?;
    o.write_map_begin(TMapIdentifier::new(TType::I32, TType::Struct, 2))?;
    for k in 0..2 {
        o.write_i32(k)?;
        o.write_field_begin(TType::Set, 1)?;
        o.write_set_begin(TSetIdentifier::new(TType::Uuid, 1))?;
        o.write_uuid([k as u8; 16])?;
        o.write_set_end()?;
        o.write_field_stop()?;
    }
    o.write_map_end()?;
    o.write_field_begin(TType::Map, 14)?;
    o.write_map_begin(TMapIdentifier::new(TType::I8, TType::Double, 2))?;
    for k in 0..2i8 {
        o.write_i8(k)?;
        o.write_double(f64::from(k) * 0.5)?;
    }
    o.write_map_end()?;
    o.write_field_stop()?;
    o.write_struct_end()
}

fn rich_struct() -> Bytes {
    encode(write_rich_struct)
}

fn rich_message() -> Bytes {
    encode(|o| {
        o.write_message_begin(&TMessageIdentifier::new(
            FastStr::from_static_str("Echo"),
            TMessageType::Call,
            42,
        ))?;
        write_rich_struct(o)?;
        o.write_message_end()
    })
}

#[test]
fn golden_field_string_stop() {
    let bytes = encode(|o| {
        o.write_field_begin(TType::Binary, 1)?;
        o.write_string("a")?;
        o.write_field_stop()
    });
    assert_eq!(
        &bytes[..],
        &[0x0b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x61, 0x00][..]
    );

    let mut buf = bytes.clone();
    let mut input = BinaryInput::new(&mut buf);
    let field = input.read_field_begin().unwrap();
    assert_eq!(field.field_type, TType::Binary);
    assert_eq!(field.id, Some(1));
    assert_eq!(input.read_string().unwrap(), "a");
    let stop = input.read_field_begin().unwrap();
    assert_eq!(stop.field_type, TType::Stop);
    assert_eq!(stop.id, None);
    assert!(buf.is_empty());
}

#[test]
fn round_trip_primitives_and_headers() {
    let uuid: [u8; 16] = core::array::from_fn(|i| i as u8);
    let long = "x".repeat(tonic_thrift::codec::ZERO_COPY_THRESHOLD + 10);
    let msg = TMessageIdentifier::new(
        FastStr::from_static_str("Svc.Method"),
        TMessageType::Reply,
        -3,
    );
    let bytes = encode(|o| {
        o.write_message_begin(&msg)?;
        o.write_struct_begin(&TStructIdentifier::new("S"))?;
        o.write_field_begin(TType::I64, -2)?;
        o.write_bool(true)?;
        o.write_bool(false)?;
        o.write_byte(0xfe)?;
        o.write_i8(i8::MIN)?;
        o.write_i16(i16::MAX)?;
        o.write_i32(i32::MIN)?;
        o.write_i64(i64::MAX)?;
        o.write_double(-1.25e300)?;
        o.write_string("ünïcode")?;
        o.write_faststr(FastStr::new(&long))?;
        o.write_bytes(Bytes::from_static(b"\x00\x01\xff"))?;
        o.write_bytes_vec(b"vec")?;
        o.write_bytes_without_len(Bytes::from_static(b"RAW"))?;
        o.write_uuid(uuid)?;
        o.write_list_begin(TListIdentifier::new(TType::I32, 0))?;
        o.write_list_end()?;
        o.write_set_begin(TSetIdentifier::new(TType::Binary, 1))?;
        o.write_string("s")?;
        o.write_set_end()?;
        o.write_map_begin(TMapIdentifier::new(TType::I16, TType::Bool, 1))?;
        o.write_i16(5)?;
        o.write_bool(true)?;
        o.write_map_end()?;
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()?;
        o.write_message_end()?;
        o.flush()
    });

    let mut buf = bytes.clone();
    let mut i = BinaryInput::new(&mut buf);
    assert_eq!(i.read_message_begin().unwrap(), msg);
    assert_eq!(i.read_struct_begin().unwrap(), None);
    let f = i.read_field_begin().unwrap();
    assert_eq!((f.field_type, f.id), (TType::I64, Some(-2)));
    assert!(i.read_bool().unwrap());
    assert!(!i.read_bool().unwrap());
    assert_eq!(i.read_byte().unwrap(), 0xfe);
    assert_eq!(i.read_i8().unwrap(), i8::MIN);
    assert_eq!(i.read_i16().unwrap(), i16::MAX);
    assert_eq!(i.read_i32().unwrap(), i32::MIN);
    assert_eq!(i.read_i64().unwrap(), i64::MAX);
    assert_eq!(i.read_double().unwrap(), -1.25e300);
    assert_eq!(i.read_string().unwrap(), "ünïcode");
    let fs = i.read_faststr().unwrap();
    assert_eq!(fs, long.as_str());
    // Strings of ZERO_COPY_THRESHOLD bytes or more are split off the input, not copied.
    let fs_ptr = fs.as_ptr() as usize;
    let base = bytes.as_ptr() as usize;
    assert!(
        fs_ptr >= base && fs_ptr < base + bytes.len(),
        "read_faststr copied"
    );
    let b = i.read_bytes().unwrap();
    assert_eq!(&b[..], b"\x00\x01\xff");
    assert_eq!(i.read_bytes_vec().unwrap(), b"vec".to_vec());
    assert_eq!(&i.get_bytes(None, 3).unwrap()[..], b"RAW");
    assert_eq!(i.read_uuid().unwrap(), uuid);
    assert_eq!(
        i.read_list_begin().unwrap(),
        TListIdentifier::new(TType::I32, 0)
    );
    i.read_list_end().unwrap();
    assert_eq!(
        i.read_set_begin().unwrap(),
        TSetIdentifier::new(TType::Binary, 1)
    );
    assert_eq!(i.read_faststr().unwrap(), "s");
    i.read_set_end().unwrap();
    assert_eq!(
        i.read_map_begin().unwrap(),
        TMapIdentifier::new(TType::I16, TType::Bool, 1)
    );
    assert_eq!(i.read_i16().unwrap(), 5);
    assert!(i.read_bool().unwrap());
    i.read_map_end().unwrap();
    i.read_field_end().unwrap();
    assert_eq!(i.read_field_begin().unwrap().field_type, TType::Stop);
    i.read_struct_end().unwrap();
    i.read_message_end().unwrap();
    assert_eq!(i.buf().len(), 0);
    assert!(buf.is_empty());

    // Reading past the end is an error, not a panic.
    let mut i = BinaryInput::new(&mut buf);
    assert!(i.read_byte().is_err());
    assert!(i.get_bytes(None, 1).is_err());
}

#[test]
fn message_header_bytes_and_length_protocol() {
    let msg = TMessageIdentifier::new(FastStr::from_static_str("ab"), TMessageType::OneWay, 7);
    let bytes = encode(|o| o.write_message_begin(&msg));
    assert_eq!(
        &bytes[..],
        &[0x80, 0x01, 0x00, 0x04, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 7][..]
    );

    // The size computed by both protocols matches what is written.
    let mut out_buf = BytesMut::new();
    let mut out = BinaryOutput::new(&mut out_buf);
    assert_eq!(out.message_begin_len(&msg), bytes.len());
    let mut empty = Bytes::new();
    let mut input = BinaryInput::new(&mut empty);
    assert_eq!(input.message_begin_len(&msg), bytes.len());
    assert_eq!(input.field_begin_len(TType::I32, Some(1)), 3);
    assert_eq!(input.field_stop_len(), 1);
    assert_eq!(input.string_len("abc"), 7);
    assert_eq!(out.faststr_len(&FastStr::from_static_str("abc")), 7);
    assert_eq!(out.list_begin_len(TListIdentifier::new(TType::I8, 1)), 5);
    assert_eq!(out.set_begin_len(TSetIdentifier::new(TType::I8, 1)), 5);
    assert_eq!(
        out.map_begin_len(TMapIdentifier::new(TType::I8, TType::I8, 1)),
        6
    );
    assert_eq!(out.uuid_len([0; 16]), 16);
    assert_eq!(out.struct_begin_len(&TStructIdentifier::new("S")), 0);

    // Non-strict (old-style) header: positive name length first.
    let old = raw(|b| {
        b.put_i32(2);
        b.put_slice(b"ab");
        b.put_u8(1);
        b.put_i32(7);
    });
    let mut buf = old;
    assert_protocol_err(
        BinaryInput::new(&mut buf).read_message_begin(),
        ProtocolExceptionKind::BadVersion,
        "non-strict thrift message header is not supported",
    );
    // Wrong version.
    let mut buf = raw(|b| b.put_u32(0x8002_0001));
    assert_protocol_err(
        BinaryInput::new(&mut buf).read_message_begin(),
        ProtocolExceptionKind::BadVersion,
        "version",
    );
    // Bad message type.
    for t in [0u32, 5, 0xff] {
        let mut buf = raw(|b| b.put_u32(0x8001_0000 | t));
        assert_protocol_err(
            BinaryInput::new(&mut buf).read_message_begin(),
            ProtocolExceptionKind::InvalidData,
            "message type",
        );
    }
}

#[test]
fn rich_struct_skips_exactly() {
    let bytes = rich_struct();
    let mut buf = bytes.clone();
    let n = BinaryInput::new(&mut buf).skip(TType::Struct).unwrap();
    assert_eq!(n, bytes.len());
    assert!(buf.is_empty());

    let mut buf = rich_message();
    let mut input = BinaryInput::new(&mut buf);
    let msg = input.read_message_begin().unwrap();
    assert_eq!(msg.name, "Echo");
    assert_eq!(msg.sequence_number, 42);
    assert_eq!(input.skip(TType::Struct).unwrap(), bytes.len());
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = rich_struct();
    for len in 0..bytes.len() {
        let mut prefix = bytes.slice(..len);
        let r = BinaryInput::new(&mut prefix).skip(TType::Struct);
        assert!(
            r.is_err(),
            "prefix of {len} bytes skipped successfully: {r:?}"
        );
    }
    let message = rich_message();
    for len in 0..message.len() {
        let mut prefix = message.slice(..len);
        let mut input = BinaryInput::new(&mut prefix);
        let r = input
            .read_message_begin()
            .and_then(|_| input.skip(TType::Struct));
        assert!(r.is_err(), "message prefix of {len} bytes decoded: {r:?}");
    }
}

#[test]
fn hostile_lengths_and_sizes() {
    use ProtocolExceptionKind::{InvalidData, NegativeSize, SizeLimit};

    // Strings and binaries.
    let neg = raw(|b| b.put_i32(-5));
    assert_protocol_err(
        BinaryInput::new(&mut neg.clone()).read_string(),
        NegativeSize,
        "negative string length -5",
    );
    assert_protocol_err(
        BinaryInput::new(&mut neg.clone()).read_faststr(),
        NegativeSize,
        "negative",
    );
    assert_protocol_err(
        BinaryInput::new(&mut neg.clone()).read_bytes(),
        NegativeSize,
        "negative binary length",
    );
    assert_protocol_err(
        BinaryInput::new(&mut neg.clone()).read_bytes_vec(),
        NegativeSize,
        "negative",
    );
    let short = raw(|b| {
        b.put_i32(100);
        b.put_slice(b"abc");
    });
    assert_protocol_err(
        BinaryInput::new(&mut short.clone()).read_string(),
        SizeLimit,
        "string length 100 exceeds the 3 bytes remaining",
    );
    assert_protocol_err(
        BinaryInput::new(&mut short.clone()).read_faststr(),
        SizeLimit,
        "exceeds",
    );
    assert_protocol_err(
        BinaryInput::new(&mut short.clone()).read_bytes(),
        SizeLimit,
        "exceeds",
    );
    assert_protocol_err(
        BinaryInput::new(&mut short.clone()).read_bytes_vec(),
        SizeLimit,
        "exceeds",
    );
    let huge = raw(|b| b.put_i32(i32::MAX));
    assert_protocol_err(
        BinaryInput::new(&mut huge.clone()).read_bytes(),
        SizeLimit,
        "exceeds",
    );
    assert_protocol_err(
        BinaryInput::new(&mut huge.clone()).skip(TType::Binary),
        SizeLimit,
        "exceeds",
    );

    // Containers.
    for (name, ttype) in [("list", TType::List), ("set", TType::Set)] {
        let neg = raw(|b| {
            b.put_u8(TType::I32.into());
            b.put_i32(-1);
        });
        let huge = raw(|b| {
            b.put_u8(TType::I64.into());
            b.put_i32(i32::MAX);
            b.put_slice(&[0; 64]);
        });
        // 2 x i64 needs 16 bytes; only 15 are present.
        let just_short = raw(|b| {
            b.put_u8(TType::I64.into());
            b.put_i32(2);
            b.put_slice(&[0; 15]);
        });
        let bad_elem = raw(|b| {
            b.put_u8(7);
            b.put_i32(1);
            b.put_u8(0);
        });
        let read = |mut buf: Bytes| {
            let mut i = BinaryInput::new(&mut buf);
            if ttype == TType::List {
                i.read_list_begin().map(|l| l.size)
            } else {
                i.read_set_begin().map(|s| s.size)
            }
        };
        assert_protocol_err(
            read(neg.clone()),
            NegativeSize,
            &format!("negative {name} size -1"),
        );
        assert_protocol_err(read(huge.clone()), SizeLimit, name);
        assert_protocol_err(read(just_short.clone()), SizeLimit, name);
        assert_protocol_err(read(bad_elem.clone()), InvalidData, "type 7");
        for b in [neg, huge, just_short, bad_elem] {
            assert!(BinaryInput::new(&mut b.clone()).skip(ttype).is_err());
        }
        // Exactly enough bytes is accepted.
        let exact = raw(|b| {
            b.put_u8(TType::I64.into());
            b.put_i32(2);
            b.put_slice(&[0; 16]);
        });
        assert_eq!(read(exact.clone()).unwrap(), 2);
        assert_eq!(
            BinaryInput::new(&mut exact.clone()).skip(ttype).unwrap(),
            21
        );
        // A list of 2^20 structs needs at least 2^20 stop bytes.
        let structs = raw(|b| {
            b.put_u8(TType::Struct.into());
            b.put_i32(1 << 20);
            b.put_slice(&[0; 1024]);
        });
        assert_protocol_err(read(structs), SizeLimit, name);
    }

    let map = |k: u8, v: u8, size: i32, tail: usize| {
        raw(|b| {
            b.put_u8(k);
            b.put_u8(v);
            b.put_i32(size);
            b.put_slice(&vec![0; tail]);
        })
    };
    let read_map = |mut buf: Bytes| BinaryInput::new(&mut buf).read_map_begin().map(|m| m.size);
    assert_protocol_err(
        read_map(map(8, 8, -1, 0)),
        NegativeSize,
        "negative map size -1",
    );
    assert_protocol_err(read_map(map(8, 8, i32::MAX, 64)), SizeLimit, "map size");
    // i32 -> i64 entries are 12 bytes each.
    assert_protocol_err(read_map(map(8, 10, 2, 23)), SizeLimit, "map size 2");
    assert_eq!(read_map(map(8, 10, 2, 24)).unwrap(), 2);
    assert_protocol_err(read_map(map(8, 99, 1, 64)), InvalidData, "type 99");
    assert_protocol_err(read_map(map(200, 8, 1, 64)), InvalidData, "type 200");
    assert!(BinaryInput::new(&mut map(8, 8, i32::MAX, 64))
        .skip(TType::Map)
        .is_err());
    // stop / void element types are only tolerated for empty containers.
    assert_eq!(read_map(map(0, 0, 0, 0)).unwrap(), 0);
    assert_protocol_err(read_map(map(0, 0, 1, 64)), InvalidData, "stop");
    assert_protocol_err(read_map(map(8, 1, 1, 64)), InvalidData, "void");

    // Invalid UTF-8.
    let bad_utf8 = raw(|b| {
        b.put_i32(3);
        b.put_slice(&[b'a', 0xc3, 0x28]);
    });
    assert_protocol_err(
        BinaryInput::new(&mut bad_utf8.clone()).read_string(),
        InvalidData,
        "invalid utf-8 in string field",
    );
    assert_protocol_err(
        BinaryInput::new(&mut bad_utf8.clone()).read_faststr(),
        InvalidData,
        "invalid utf-8 in string field",
    );
    // Binary reads and skipping do not care about UTF-8.
    assert_eq!(
        BinaryInput::new(&mut bad_utf8.clone())
            .read_bytes()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        BinaryInput::new(&mut bad_utf8.clone())
            .skip(TType::Binary)
            .unwrap(),
        7
    );

    // Unknown ttype in a field header, inside a struct being skipped.
    for t in [5u8, 7, 9, 17, 255] {
        let field = raw(|b| {
            b.put_u8(t);
            b.put_i16(1);
            b.put_u8(0);
        });
        assert_protocol_err(
            BinaryInput::new(&mut field.clone()).read_field_begin(),
            InvalidData,
            &format!("unknown field type {t}"),
        );
        assert!(BinaryInput::new(&mut field.clone())
            .skip(TType::Struct)
            .is_err());
    }
    // get_bytes cannot split past the end.
    assert_protocol_err(
        BinaryInput::new(&mut Bytes::from_static(b"ab")).get_bytes(None, 3),
        SizeLimit,
        "3 bytes",
    );
}

#[test]
fn deep_nesting_hits_the_depth_limit() {
    // struct { 1: struct { 1: struct { ... } } } nested 1000 deep.
    let deep = |levels: usize| {
        raw(|b| {
            for _ in 0..levels {
                b.put_u8(TType::Struct.into());
                b.put_i16(1);
            }
            b.put_bytes(0, levels + 1);
        })
    };
    let r = BinaryInput::new(&mut deep(1000)).skip(TType::Struct);
    assert_protocol_err(r, ProtocolExceptionKind::DepthLimit, "depth");
    // Nesting within the limit is fine.
    let ok = deep(10);
    assert_eq!(
        BinaryInput::new(&mut ok.clone())
            .skip(TType::Struct)
            .unwrap(),
        ok.len()
    );
    // Lists of lists, too: each header is "list<list> of size 1".
    let lists = raw(|b| {
        for _ in 0..1000 {
            b.put_u8(TType::List.into());
            b.put_i32(1);
        }
        b.put_bytes(0, 64);
    });
    let mut buf = lists;
    assert_protocol_err(
        BinaryInput::new(&mut buf).skip(TType::List),
        ProtocolExceptionKind::DepthLimit,
        "depth",
    );
    // Void and stop are not skippable values.
    assert!(BinaryInput::new(&mut Bytes::from_static(&[0; 8]))
        .skip(TType::Void)
        .is_err());
    assert!(BinaryInput::new(&mut Bytes::from_static(&[0; 8]))
        .skip(TType::Stop)
        .is_err());
}

#[test]
fn fuzz_reader_never_panics() {
    let mut fuzz = Fuzz::new("binary_reader", 120_000, 0x7468_7269_6674);
    let mut rng = fuzz.rng();
    let valid_struct = rich_struct();
    let valid_message = rich_message();

    // The unmutated inputs decode, so the loop below is not vacuous.
    let mut buf = valid_struct.clone();
    assert_eq!(
        BinaryInput::new(&mut buf).skip(TType::Struct).unwrap(),
        valid_struct.len()
    );
    let mut buf = valid_message.clone();
    let mut input = BinaryInput::new(&mut buf);
    input.read_message_begin().unwrap();
    input.skip(TType::Struct).unwrap();
    assert!(buf.is_empty());

    let mut scratch = Vec::with_capacity(512);
    let (mut ok_struct, mut ok_message) = (0usize, 0usize);
    for iteration in 0..fuzz.cases {
        scratch.clear();
        match iteration % 4 {
            // Pure noise.
            0 => {
                let len = rng.random_range(0..256);
                scratch.extend((0..len).map(|_| rng.random::<u8>()));
            }
            // Mutated struct / message: flip, overwrite, insert or delete bytes.
            1 | 2 => {
                let base = if iteration % 4 == 1 {
                    &valid_struct
                } else {
                    &valid_message
                };
                scratch.extend_from_slice(base);
                for _ in 0..rng.random_range(1..6) {
                    if scratch.is_empty() {
                        break;
                    }
                    let at = rng.random_range(0..scratch.len());
                    match rng.random_range(0..5) {
                        0 => scratch[at] ^= 1 << rng.random_range(0..8),
                        1 => scratch[at] = rng.random::<u8>(),
                        // Interesting values: 0, 0x7f, 0x80, 0xff.
                        2 => scratch[at] = [0u8, 0x7f, 0x80, 0xff][rng.random_range(0..4)],
                        3 => scratch.insert(at, rng.random::<u8>()),
                        _ => {
                            scratch.remove(at);
                        }
                    }
                }
            }
            // Truncation (possibly also mutated) of a valid input.
            _ => {
                let base = if rng.random::<bool>() {
                    &valid_struct
                } else {
                    &valid_message
                };
                let cut = rng.random_range(0..=base.len());
                scratch.extend_from_slice(&base[..cut]);
                if !scratch.is_empty() && rng.random::<bool>() {
                    let at = rng.random_range(0..scratch.len());
                    scratch[at] = rng.random::<u8>();
                }
            }
        }
        let input = Bytes::copy_from_slice(&scratch);
        // The reader borrows its input; what it builds is small.
        let max_alloc = 16 * 1024 + 4 * input.len();
        let (s, m) = fuzz.check(&scratch, Some(max_alloc), || {
            let mut buf = input.clone();
            let s = match BinaryInput::new(&mut buf).skip(TType::Struct) {
                Ok(n) => {
                    assert_eq!(n + buf.len(), input.len(), "skip reported a wrong length");
                    1
                }
                Err(_) => 0,
            };
            let mut buf = input.clone();
            let mut reader = BinaryInput::new(&mut buf);
            let m = reader.read_message_begin().is_ok() && reader.skip(TType::Struct).is_ok();
            (s, usize::from(m))
        });
        ok_struct += s;
        ok_message += m;
    }
    fuzz.finish();
    // Some mutations (e.g. of payload bytes) keep the input well-formed.
    assert!(ok_struct > 0, "no fuzz input skipped as a struct");
    assert!(ok_message > 0, "no fuzz input decoded as a message");
}
