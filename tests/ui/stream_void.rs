tonic_thrift::thrift_service!("tests/ui/stream_void.thrift");

fn main() {}
