tonic_thrift::thrift_service!("tests/ui/duplicate_field_name.thrift");

fn main() {}
