tonic_thrift::thrift_service!("tests/ui/duplicate_field_id.thrift");

fn main() {}
