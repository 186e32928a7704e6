tonic_thrift::thrift_service!("tests/ui/many_errors.thrift");

fn main() {}
