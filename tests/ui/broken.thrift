// Included by syntax_error_in_include.thrift.
struct Thing {
    1: i32 a = ,
}
