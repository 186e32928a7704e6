/*
 * Syntax that real IDL trees use and that tonic-thrift accepts: every
 * construct here compiles through thrift_service! (tests/codegen/syntax.rs).
 */
include "base/legacy_base.thrift" (on_include = "ignored")
cpp_include "<vector>"

namespace * legacy
namespace cpp legacy.cpp

// uuid (Apache Thrift 0.19+), directly and through a typedef chain.
typedef uuid Id
typedef Id RequestId (on_typedef = "1")
const uuid NIL_ID = '00000000-0000-0000-0000-000000000000'
const RequestId FIRST_ID = '{00112233-4455-6677-8899-AABBCCDDEEFF}'
const set<uuid> KNOWN_IDS = ['00112233-4455-6677-8899-aabbccddeeff']

// Old syntax: senum is a string, slist is string.
senum Flavor { "vanilla", "chocolate" }
const Flavor FAVOURITE = "vanilla"

// Constants that refer to constants and enum values across the include.
const i32 LIMIT = legacy_base.BASE_LIMIT
const i32 HIGH_VALUE = legacy_base.Level.HIGH
const legacy_base.Level LEVEL = legacy_base.DEFAULT_LEVEL
const string ESCAPES = "tab\there \"quoted\" back\\slash\nnew line 'single'"

/** Fields without ids get -1, -2, ... (Apache's numbering). */
struct Implicit {
  string first,
  2: i32 explicit;
  i64 second
  slist third
}

struct Point {
  1: double x,
  2: double y,
}

// A struct holding a map and a double, used as a set element and map key.
struct Tagged {
  1: map<string, i32> tags,
  2: Point at,
  3: set<string> labels,
}

/// Recursion through a typedef and containers; `&` is a C++ reference.
typedef list<Tree> Forest
struct Tree {
  1: i32 value,
  2: Forest children,
  3: optional Tree & left,
  4: map<string, Tree> named,
}

struct Everything {
  1: Id id,
  2: list<uuid> ids,
  3: optional RequestId request,
  4: set<Tagged> tagged,
  5: map<set<i32> (python.immutable = ""), string> by_set,
  6: set<map<i32, string>> maps,
  7: list<set<map<string, list<Point>>>> deep,
  8: map<Point, i32> by_point,
  9: optional set<binary> blobs = {},
  10: list<i32> (cpp_type = "std::vector<int>") numbers = [1, 2; 3,],
  11: map cpp_type "std::map<int,int>" <i32, i32> cpp_map,
  12: Flavor flavor = FAVOURITE,
  13: legacy_base.Level level = legacy_base.Level.TOP,
  14: i8 i8, 15: string type; 16: bool optional,
}

const list<Point> CORNERS = [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0},]
const map<string, Point> NAMED_POINTS = {"origin": {"x": 0.0, "y": 0.0}; "one": {"x": 1, "y": 1}}

exception Failure {
  1: string why (on_field = "x"),
  2: optional i32 code,
}

service Legacy extends legacy_base.Pinger {
  Everything get(1: required Id id, 2: optional i32 depth = 3) throws (1: optional Failure failure),
  oneway void forget(1: Id id);
  Implicit implicit(Point p, i32 n) (on_function = "y"),
}
