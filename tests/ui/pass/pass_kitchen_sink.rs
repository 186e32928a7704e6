// Every construct of the IDL that tonic-thrift supports compiles.
tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

fn main() {
    let all = kitchen_sink::AllTypes::default();
    assert_eq!(all.int32, 42);
    assert_eq!(shared::Item::default().color, shared::Color::Green);
}
