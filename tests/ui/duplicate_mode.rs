tonic_thrift::thrift_service!("tests/ui/duplicate_mode.thrift");

fn main() {}
