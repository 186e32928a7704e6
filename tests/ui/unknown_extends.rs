tonic_thrift::thrift_service!("tests/ui/unknown_extends.thrift");

fn main() {}
