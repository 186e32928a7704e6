tonic_thrift::thrift_service!("tests/ui/include_cycle.thrift");

fn main() {}
