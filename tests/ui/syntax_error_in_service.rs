tonic_thrift::thrift_service!("tests/ui/syntax_error_in_service.thrift");

fn main() {}
