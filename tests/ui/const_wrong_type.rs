tonic_thrift::thrift_service!("tests/ui/const_wrong_type.thrift");

fn main() {}
