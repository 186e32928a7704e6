# Names chosen to clash with the generated code, the Rust prelude, generic
# parameters, locals and each other. Everything here must compile cleanly
# (clippy -D warnings) through the macro and build.rs. See the README
# section "IDL names → Rust names".
include "torture/a.b.c.thrift"
include "torture/common.thrift"
include "torture/packa/common.thrift"
include "torture/std.thrift"

namespace go torture

# Prelude and std names as IDL types.
struct Option { 1: i32 some }
struct Result { 1: string ok, 2: string err }
struct Box { 1: Option inner }
struct Vec { 1: list<Box> items }
struct String { 1: string value }
struct Default { 1: i32 x = 7 }
struct Send {}
struct From {}
struct Into {}
struct Some {}
struct Ok {}
struct None {}

# Names the generated code imports or declares.
struct Message { 1: i32 m }
struct Status { 1: i32 code }
struct Request { 1: string text, 2: a.b.c.Request dotted }
struct Response { 1: string text }
struct Arc {}
struct UnionSlot {}

# Generic parameters (T, B, D, L, P) as IDL names.
enum P { X, Y }
struct D { 1: P p = P.Y }
typedef i32 L

# Rust primitives: become `f64_`, `str_`, `usize_`.
struct f64 { 1: double value }
struct str { 1: string s }
struct usize {}

# Named like a generated module: service `Echo` gets `echo_server_`.
struct echo_server { 1: i32 x }

# Types that differ only in case keep their names.
struct Thing { 1: i32 a }
struct thing { 1: i32 b }

# Fields that collide once Rust-cased, or with locals of the generated code.
struct Fields {
    1: i32 NewResult,
    2: i32 new_result,
    3: string self,
    4: string self_,
    5: string type,
    6: i32 p,
    7: i32 ttype,
    8: i32 id,
    9: i32 slot,
    10: i32 f_p,
    11: optional Option opt,
    12: D generic = {"p": P.X},
    13: Color color = Color.A_B,
    14: P pp = P.Y,
    15: f64 float,
    16: str text,
    17: common.Shared shared,
    18: common.Other other,
    19: std.Thing thing,
    20: Result result,
    21: L l = 3,
}

# Enum values that collide once Rust-cased, with the catch-all, with `Self`.
enum Color { A_B, AB, FOO_BAR, FooBar, Unknown, Self }

# Union variants that collide once Rust-cased.
union Choice { 1: i32 a_b, 2: string aB, 3: Option success }

# Constants that collide once SCREAMING_SNAKE_CASE.
const i32 maxSize = 1
const i32 MAX_SIZE = 2
const P DEFAULT_P = P.X
const D DEFAULT_D = {"p": P.Y}

exception Oops { 1: string message }

service Echo {
    Response echo(1: Request req) (streaming.mode = "bidirectional"),
}

# A service named like a generic parameter, with methods named like
# generated methods, tower's, and each other.
service B {
    Response new(1: Request request),
    void call(1: i32 p),
    void layer(1: string self),
    void poll_ready(),
    Result clone(1: Option option) throws (1: Oops success, 2: Oops status),
    i32 getX(1: i32 x),
    i32 get_x(1: i32 x),
    P as_ref(1: P p),
    Box connect(),
    Response stream(1: Request req) (streaming.mode = "server"),
}

service T2 extends B {
    i32 getX(1: i32 x, 2: i32 y),
}

# Services named like a generic parameter, a glob-imported name, prelude
# traits.
service T { Vec run(1: Vec v) }
service Service { void ping() }
service Clone { void ping() }
service Sync { void ping() }
