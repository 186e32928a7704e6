// Constructs the real-IDL work added, in the subset Python thriftpy2 parses:
// string escapes, fields without ids (implicit negative ids, numbered as
// Apache Thrift and thriftpy2 do), `;` separators. Used by
// tests/codegen/thriftpy_new.rs and tests/python/new_constructs.py.

const string ESCAPED = "tab\there \"q\" back\\slash\nnl 'single'"

struct Implicit {
  string name,
  i32 count;
  5: optional i64 big,
  list<string> tags
}
