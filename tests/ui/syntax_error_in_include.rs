tonic_thrift::thrift_service!("tests/ui/syntax_error_in_include.thrift");

fn main() {}
