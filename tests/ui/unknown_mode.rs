tonic_thrift::thrift_service!("tests/ui/unknown_mode.thrift");

fn main() {}
