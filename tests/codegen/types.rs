//! Generated types: construction, defaults and Thrift Binary round trips.

tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::Message;

fn roundtrip<M: Message + PartialEq + std::fmt::Debug>(m: &M) -> M {
    let mut buf = bytes::BytesMut::new();
    m.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    let mut bytes = buf.freeze();
    M::decode(&mut BinaryInput::new(&mut bytes)).unwrap()
}

#[test]
fn defaults_come_from_the_idl() {
    let a = kitchen_sink::AllTypes::default();
    assert_eq!(a.int32, 42);
    assert_eq!(a.dbl, 1.5);
    assert_eq!(a.str, "default");
    assert_eq!(a.count, Some(3));
    assert_eq!(a.maybe, None);
    assert_eq!(shared::Item::default().color, shared::Color::Green);
    assert_eq!(kitchen_sink::MAX_ITEMS, 100);
    assert_eq!(kitchen_sink::PRIMES.len(), 4);
    assert_eq!(kitchen_sink::DEFAULT_ITEM.id, 7);
}

#[test]
fn kitchen_sink_roundtrips() {
    let all = kitchen_sink::AllTypes {
        b: true,
        maybe: Some("x".into()),
        negative_id: Some(-5),
        ..Default::default()
    };
    assert_eq!(roundtrip(&all), all);
    let node = kitchen_sink::Node {
        value: 1,
        next: Some(Box::new(kitchen_sink::Node {
            value: 2,
            ..Default::default()
        })),
        children: vec![kitchen_sink::Node::default()],
    };
    assert_eq!(roundtrip(&node), node);
    let choice = kitchen_sink::Choice::Many(vec![kitchen_sink::Choice::Text("t".into())]);
    assert_eq!(roundtrip(&choice), choice);
}

#[tokio::test]
async fn async_decoding_reads_the_same_values() {
    use tonic_thrift::codec::TAsyncBinaryProtocol;

    async fn via_async<M: Message + PartialEq + std::fmt::Debug>(m: &M) -> M {
        let mut buf = bytes::BytesMut::new();
        m.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
        let bytes = buf.freeze();
        let mut p = TAsyncBinaryProtocol::new(&bytes[..]);
        M::decode_async(&mut p).await.unwrap()
    }

    let all = kitchen_sink::AllTypes {
        b: true,
        maybe: Some("x".into()),
        negative_id: Some(-5),
        ..Default::default()
    };
    assert_eq!(via_async(&all).await, all);
    let node = kitchen_sink::Node {
        value: 1,
        next: Some(Box::new(kitchen_sink::Node::default())),
        children: vec![kitchen_sink::Node::default()],
    };
    assert_eq!(via_async(&node).await, node);
    let choice = kitchen_sink::Choice::Many(vec![kitchen_sink::Choice::Number(3)]);
    assert_eq!(via_async(&choice).await, choice);

    // Invalid UTF-8 is still refused on this path.
    let bad = [0x0b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00];
    let mut p = TAsyncBinaryProtocol::new(&bad[..]);
    let err = kitchen_sink::Keywords::decode_async(&mut p)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("utf-8"), "{err}");
}
