tonic_thrift::thrift_service!("tests/ui/missing_include.thrift");

fn main() {}
