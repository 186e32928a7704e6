tonic_thrift::thrift_service!("tests/ui/syntax_error.thrift");

fn main() {}
