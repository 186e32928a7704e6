//! A user crate outside the repository: the kitchen-sink IDL (every
//! construct, split across an include) through `thrift_service!`.

tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::Message;

fn main() {
    let node = kitchen_sink::Node {
        value: 1,
        next: Some(Box::new(kitchen_sink::Node::default())),
        children: vec![],
    };
    let mut buf = bytes::BytesMut::new();
    node.encode(&mut BinaryOutput::new(&mut buf)).expect("encode");
    let mut bytes = buf.freeze();
    let back = kitchen_sink::Node::decode(&mut BinaryInput::new(&mut bytes)).expect("decode");
    assert_eq!(back, node);
    let item = shared::Item::default();
    assert_eq!(item.color, shared::Color::Green);
    println!("outside crate OK: {back:?}");
}
