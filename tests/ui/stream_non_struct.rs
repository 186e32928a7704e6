tonic_thrift::thrift_service!("tests/ui/stream_non_struct.thrift");

fn main() {}
