tonic_thrift::thrift_service!("tests/ui/stream_no_args.thrift");

fn main() {}
