# A copy of idl/kitchen_sink.thrift that thriftpy2 (0.7.x) can load, used by
# tests/python/thriftpy_peer.py. It differs from the original ONLY where
# thriftpy2 is lacking; none of the differences changes the wire format
# (field ids and types are untouched, constants never go on the wire):
#
#   1. `const binary MAGIC = "\x00abc"` -> `"abc"`: thriftpy2's lexer
#      rejects the `\x` escape ("Unexpected escaping character: x").
#   2. Node field 2 `next` -> `next_`: thriftpy2 refuses identifiers on its
#      reserved-word list ("Cannot use reserved language keyword: 'next'").
#   3. Keywords field 3 `self` -> `self_`: reserved in thriftpy2 too (and it
#      would clash with `self` in the generated Python `__init__`).
#
# The script checks that this file equals the original with exactly these
# substitutions (after this header), so the two cannot drift apart.
# The include below is resolved through include_dirs=[<repo>/idl].
# ---- end of header: the rest is the original, substituted ----
# Every construct of the IDL that tonic-thrift supports, in one file.
/* Block comments,
   line comments with // and # all work. */
include "shared.thrift"

namespace go kitchen
namespace rs kitchen_sink

typedef i32 Count
typedef list<shared.Item> Items
typedef double Ratio

const i32 MAX_ITEMS = 100
const i64 BIG = 0x7fffffffffff
const double PI = 3.14159
const string GREETING = "hello \"world\""
const binary MAGIC = "abc"
const bool ENABLED = true
const shared.Color FAVOURITE = shared.Color.BLUE
const list<i32> PRIMES = [2, 3, 5, 7]
const set<string> TAGS = ["a", "b"]
const map<string, i32> LIMITS = {"low": 1, "high": 10}
const map<double, list<string>> BY_RATIO = {0.5: ["half"], 1.0: ["whole"]}
const shared.Item DEFAULT_ITEM = {"id": 7, "label": "seven"}
const Count ALIAS_CONST = MAX_ITEMS

/// Every base type and requiredness.
struct AllTypes {
    1: required bool b,
    2: byte by,
    3: i8 small,
    4: i16 short_,
    5: i32 int32 = 42,
    6: i64 int64,
    7: double dbl = 1.5,
    8: string str = "default",
    9: binary bin,
    10: optional string maybe,
    -1: optional i32 negative_id,
    100: optional Count count = 3,
    101: Ratio ratio,
}

struct Containers {
    1: list<i32> ints,
    2: set<string> names,
    3: map<string, list<map<i32, set<i64>>>> deep,
    4: list<list<list<string>>> nested_lists,
    5: map<shared.Color, shared.Item> by_color,
    6: set<double> doubles,
    7: map<binary, bool> flags,
    8: optional Items items,
    9: list<AllTypes> all,
}

union Choice {
    1: i32 number,
    2: string text,
    3: shared.Item item,
    4: list<Choice> many,
}

/// A tree: recursion through a direct field is boxed.
struct Node {
    1: i32 value,
    2: optional Node next_,
    3: list<Node> children,
}

struct Keywords {
    1: string type,
    2: i32 match,
    3: bool self_,
    4: string crate,
    5: i64 fn (go.tag = "json:\"fn\""),
}

exception Oops {
    1: string message,
    2: i32 code = 500,
}

service Sink extends shared.Base {
    void Nothing(),
    oneway void Fire(1: string event),
    i32 Add(1: i32 a, 2: i32 b),
    shared.Item Get(1: i64 id) throws (1: shared.NotFound not_found, 2: Oops oops),
    AllTypes Stream(1: AllTypes req) (streaming.mode = "bidirectional"),
    Containers Unary(1: Containers req) (streaming.mode = "unary"),
}

service Second {
    Choice Pick(1: Choice c) (streaming.mode = "server"),
}
