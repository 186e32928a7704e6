tonic_thrift::thrift_service!("tests/ui/stream_two_args.thrift");

fn main() {}
