tonic_thrift::thrift_service!("tests/ui/does_not_exist.thrift");

fn main() {}
