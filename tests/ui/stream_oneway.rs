tonic_thrift::thrift_service!("tests/ui/stream_oneway.thrift");

fn main() {}
