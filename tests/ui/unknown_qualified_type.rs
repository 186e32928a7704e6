tonic_thrift::thrift_service!("tests/ui/unknown_qualified_type.thrift");

fn main() {}
