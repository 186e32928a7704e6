//! Golden bytes: Thrift Binary encodings computed by hand from the protocol
//! spec (field header = type byte + big-endian i16 id; i32 length prefixes;
//! list/set header = element type + i32 size; map header = key type + value
//! type + i32 size; 0x00 ends a struct). Each value must encode to exactly
//! these bytes, decode back from them, and report their length as `size()`.

tonic_thrift::thrift_service!("idl/echo.thrift");
tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use kitchen_sink::{AllTypes, Choice, Containers, Node};
use shared::{Color, Item};
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::codec::{TInputProtocol, TOutputProtocol};
use tonic_thrift::codec::{TMessageIdentifier, TMessageType};
use tonic_thrift::FastStr;
use tonic_thrift::Message;

/// Hex with optional spaces (for readability) to bytes.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(digits.len() % 2, 0, "odd hex {s:?}");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` encodes to exactly `golden`, decodes back from it (consuming all
/// of it) and `size()` agrees.
fn golden<M: Message + PartialEq + Debug>(value: &M, golden: &str) {
    let want = hex(golden);
    let mut buf = BytesMut::new();
    value.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    assert_eq!(
        to_hex(&buf),
        to_hex(&want),
        "encoding of {value:?} (left: ours, right: golden)"
    );
    assert_eq!(
        value.size(&mut BinaryOutput::new(&mut BytesMut::new())),
        want.len(),
        "size() of {value:?}"
    );
    let mut bytes = Bytes::from(want);
    let back = M::decode(&mut BinaryInput::new(&mut bytes)).unwrap();
    assert_eq!(&back, value);
    assert!(
        bytes.is_empty(),
        "{} bytes left after decoding",
        bytes.len()
    );
}

#[test]
fn echo_request() {
    // struct { 1: string message = "a" }
    golden(
        &echo::Request {
            message: "a".into(),
        },
        "0b 0001 00000001 61 00",
    );
    golden(
        &echo::Response { message: "".into() },
        "0b 0001 00000000 00",
    );
}

#[test]
fn item_with_enum_field() {
    golden(
        &Item {
            id: 7,
            label: Some("x".into()),
            color: Color::Blue,
        },
        "0a 0001 0000000000000007
         0b 0002 00000001 78
         08 0003 00000006
         00",
    );
    // `label` unset: not written; a negative enum value.
    golden(
        &Item {
            id: 1,
            label: None,
            color: Color::Negative,
        },
        "0a 0001 0000000000000001 08 0003 fffffffd 00",
    );
    // A value this IDL does not name goes on the wire as it is.
    golden(
        &Item {
            id: -1,
            label: None,
            color: Color::Unknown(1234),
        },
        "0a 0001 ffffffffffffffff 08 0003 000004d2 00",
    );
}

#[test]
fn i32_and_lists_of_strings() {
    // Non-optional containers are always written, empty ones with their
    // declared element types; the unset optional `items` is not.
    golden(
        &Containers {
            ints: vec![1, 2],
            nested_lists: vec![vec![vec!["a".into(), "bc".into()]]],
            ..Default::default()
        },
        "0f 0001 08 00000002 00000001 00000002
         0e 0002 0b 00000000
         0d 0003 0b 0f 00000000
         0f 0004 0f 00000001 0f 00000001 0b 00000002 00000001 61 00000002 6263
         0d 0005 08 0c 00000000
         0e 0006 04 00000000
         0d 0007 0b 02 00000000
         0f 0009 0c 00000000
         00",
    );
}

#[test]
fn all_base_types_with_defaults_and_negative_id() {
    golden(
        &AllTypes::default(),
        "02 0001 00
         03 0002 00
         03 0003 00
         06 0004 0000
         08 0005 0000002a
         0a 0006 0000000000000000
         04 0007 3ff8000000000000
         0b 0008 00000007 64656661756c74
         0b 0009 00000000
         08 0064 00000003
         04 0065 0000000000000000
         00",
    );
    golden(
        &AllTypes {
            b: true,
            by: -1,
            small: 1,
            short_: -2,
            int32: 3,
            int64: -4,
            dbl: -2.0,
            str: "é".into(),
            bin: Bytes::from_static(b"\x00\xff"),
            maybe: Some("m".into()),
            negative_id: Some(-1),
            count: None,
            ratio: 0.5,
        },
        "02 0001 01
         03 0002 ff
         03 0003 01
         06 0004 fffe
         08 0005 00000003
         0a 0006 fffffffffffffffc
         04 0007 c000000000000000
         0b 0008 00000002 c3a9
         0b 0009 00000002 00ff
         0b 000a 00000001 6d
         08 ffff ffffffff
         04 0065 3fe0000000000000
         00",
    );
}

#[test]
fn union_variants() {
    golden(&Choice::Number(5), "08 0001 00000005 00");
    golden(&Choice::Text("hi".into()), "0b 0002 00000002 6869 00");
    golden(
        &Choice::Item(Item {
            id: 1,
            ..Default::default()
        }),
        "0c 0003 0a 0001 0000000000000001 08 0003 00000005 00 00",
    );
    golden(
        &Choice::Many(vec![Choice::Number(5)]),
        "0f 0004 0c 00000001 08 0001 00000005 00 00",
    );
}

#[test]
fn recursive_node() {
    golden(
        &Node {
            value: 1,
            next: Some(Box::new(Node {
                value: 2,
                ..Default::default()
            })),
            children: vec![],
        },
        "08 0001 00000001
         0c 0002 08 0001 00000002 0f 0003 0c 00000000 00
         0f 0003 0c 00000000
         00",
    );
}

#[test]
fn strict_message_header() {
    // version 0x8001 | type CALL, name "Get", seq 1, then the arguments.
    let want = hex("80010001 00000003 476574 00000001 0a 0001 0000000000000001 00");
    let args = tonic_thrift::OneArg::<i64, 1>(1);
    let mut buf = BytesMut::new();
    let mut p = BinaryOutput::new(&mut buf);
    p.write_message_begin(&TMessageIdentifier::new(
        FastStr::from_static_str("Get"),
        TMessageType::Call,
        1,
    ))
    .unwrap();
    args.encode(&mut p).unwrap();
    p.write_message_end().unwrap();
    assert_eq!(to_hex(&buf), to_hex(&want));

    let mut bytes = Bytes::from(want);
    let mut p = BinaryInput::new(&mut bytes);
    let header = p.read_message_begin().unwrap();
    assert_eq!(header.name, "Get");
    assert_eq!(header.message_type, TMessageType::Call);
    assert_eq!(header.sequence_number, 1);
    assert_eq!(
        tonic_thrift::OneArg::<i64, 1>::decode(&mut p).unwrap(),
        args
    );
    p.read_message_end().unwrap();
    assert!(bytes.is_empty());
}
