//! Syntax that real IDL trees use (`idl/syntax/syntax_coverage.thrift`):
//! it compiles, and what it means survives on the wire.

tonic_thrift::thrift_service!("idl/syntax/syntax_coverage.thrift");

use std::collections::{HashMap, HashSet};

use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::{HashableMap, HashableSet, Message, OrderedFloat, Uuid};

fn encode<M: Message>(m: &M) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    m.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    buf.to_vec()
}

fn roundtrip<M: Message + PartialEq + std::fmt::Debug>(m: &M) -> M {
    let mut bytes = bytes::Bytes::from(encode(m));
    M::decode(&mut BinaryInput::new(&mut bytes)).unwrap()
}

const ID: Uuid = Uuid::from_bytes([
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);

#[test]
fn constants_follow_constants_enum_values_and_uuids() {
    assert_eq!(syntax_coverage::NIL_ID, Uuid::NIL);
    assert_eq!(syntax_coverage::FIRST_ID, ID);
    assert!(syntax_coverage::KNOWN_IDS.contains(&ID));
    assert_eq!(syntax_coverage::LIMIT, 7);
    assert_eq!(syntax_coverage::HIGH_VALUE, 2);
    assert_eq!(syntax_coverage::LEVEL, legacy_base::Level::High);
    assert_eq!(syntax_coverage::FAVOURITE, "vanilla");
    assert_eq!(
        syntax_coverage::ESCAPES,
        "tab\there \"quoted\" back\\slash\nnew line 'single'"
    );
    assert_eq!(syntax_coverage::CORNERS[1].y, 1.0);
    assert_eq!(syntax_coverage::NAMED_POINTS["one"].x, 1.0);
    let e = syntax_coverage::Everything::default();
    assert_eq!(e.numbers, vec![1, 2, 3]);
    assert_eq!(e.blobs, Some(HashSet::new()));
    assert_eq!(e.flavor, "vanilla");
    assert_eq!(e.level, legacy_base::Level::Top);
}

#[test]
fn uuid_is_sixteen_bytes_with_type_tag_16() {
    let s = syntax_coverage::Everything {
        id: ID,
        ..Default::default()
    };
    let bytes = encode(&s);
    // Field 1: type 16 (uuid), id 1, then the 16 bytes as they are.
    assert_eq!(&bytes[..3], &[16, 0, 1]);
    assert_eq!(&bytes[3..19], ID.as_bytes());
    assert_eq!(roundtrip(&s), s);
}

#[test]
fn fields_without_ids_get_negative_ids_on_the_wire() {
    let s = syntax_coverage::Implicit {
        first: "a".into(),
        explicit: 5,
        second: 9,
        third: "c".into(),
    };
    let bytes = encode(&s);
    // first: string (11), id -1.
    assert_eq!(&bytes[..3], &[11, 0xff, 0xff]);
    // second is the next field without an id: -2 (not 3, as thriftgo counts).
    let second = [10u8, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 9];
    assert!(bytes.windows(second.len()).any(|w| w == second));
    assert_eq!(roundtrip(&s), s);
}

#[test]
fn sets_maps_and_doubles_can_be_keys() {
    let tagged = syntax_coverage::Tagged {
        tags: HashableMap::from(HashMap::from([("a".into(), 1)])),
        at: syntax_coverage::Point {
            x: OrderedFloat(0.5),
            y: OrderedFloat(-1.0),
        },
        labels: ["x".into()].into_iter().collect(),
    };
    let point = syntax_coverage::Point {
        x: OrderedFloat(1.0),
        y: OrderedFloat(2.0),
    };
    let s = syntax_coverage::Everything {
        tagged: HashSet::from([tagged.clone()]),
        by_set: HashMap::from([(HashableSet::from(HashSet::from([1, 2])), "one-two".into())]),
        maps: HashSet::from([HashableMap::from(HashMap::from([(1, "x".into())]))]),
        deep: vec![HashSet::from([HashableMap::from(HashMap::from([(
            "k".into(),
            vec![point.clone()],
        )]))])],
        by_point: HashMap::from([(point, 3)]),
        i8: -1,
        r#type: "keyword names".into(),
        optional: true,
        ..Default::default()
    };
    assert_eq!(roundtrip(&s), s);
}

#[test]
fn recursion_through_typedefs_and_containers() {
    let leaf = syntax_coverage::Tree {
        value: 2,
        ..Default::default()
    };
    let tree = syntax_coverage::Tree {
        value: 1,
        children: vec![leaf.clone()],
        left: Some(Box::new(leaf.clone())),
        named: HashMap::from([("leaf".into(), leaf)]),
    };
    assert_eq!(roundtrip(&tree), tree);
}

#[test]
fn services_extend_across_includes_with_oneway_and_optional_throws() {
    use syntax_coverage::legacy_server::{GetArgs, GetError, ImplicitArgs};
    let args = GetArgs {
        id: ID,
        depth: Some(3),
    };
    let _: GetError = GetError::Failure(syntax_coverage::Failure::default());
    let _ = ImplicitArgs {
        p: syntax_coverage::Point::default(),
        n: 1,
    };
    assert_eq!(args.id, ID);
}
