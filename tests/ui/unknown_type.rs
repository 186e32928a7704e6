tonic_thrift::thrift_service!("tests/ui/unknown_type.thrift");

fn main() {}
