//! Unit tests of the Thrift parser.

use super::{parse, SyntaxError};
use crate::ast::{
    ConstKind, ConstValue, Definition, Document, Enum, Field, Requiredness, Service, StructKind,
    StructLike, Type, TypeKind, Typedef,
};

const KITCHEN_SINK: &str = r#"// Licensed under something.
// Not a doc comment: a blank line follows.

include "shared.thrift"
cpp_include "<vector>"
namespace rs echo.api
namespace * generic
namespace py "quoted.name" (py.anno = "x")

/** The answer.
 *   Indented.
 * Multi-line doc, caf\u00e9 ünïcode.
 */
const i32 ANSWER = 42;
const i64 BIG = -0x10,
const i64 MIN = -9223372036854775808
const double PI = 2.75
const double SMALL = -2e10
const double ONE = 1.
const double HALF = .5
const string GREETING = "hi \"there\"\n\u00e9\ud83d\ude00"
const string SINGLE = 'it\'s'
const binary MAGIC = "\x00a\x7F\q"
const list<i32> NUMS = [1, 2; +3,]
const map<string, list<i32>> M = {"a": [1], 'b': [], } (const.anno = "1")
const Color FAV = Color.RED
const bool YES = true

/// A color.
///   Second line.
enum Color {
  RED,
  /** green doc */
  GREEN = 5;
  BLUE = 0x10 (rs.name = "Blue")
  NEG = -1,
} (rs.derive = "Hash")

typedef list<map<string, shared.Item>> (cpp.template = "std::vector") ItemList (a.b = "c")
typedef i8 Tiny;
typedef byte Tiny2

# hash comment, not a doc
// Rust keywords are fine as names.
struct type {
  1: required string match = "m",
  2: optional i32 self (go.tag = 'json:"self"'; other,)
  -1: binary fn;
  i16 noid
  // doc for impl
  3: set<i64> impl = [1, 2] // trailing, not a doc
  4: map<i32, map<i32, list<set<string>>>> nested
  5: shared.Item item
  6: double d = 1.5e3
  7: slist s = {"k": Color.RED}
}

union U { 1: i32 a 2: string b } (x)

exception Oops {
  1: string message
}

service Base {}

/** The echo service. */
service Echo extends shared.BaseService {
  /// Say something.
  string echo(1: string msg (anno = "x"), 2: i32 times) throws (1: Oops oops),
  oneway void fire(1: i32 x);
  void ping() (streaming.mode = "server", n = 5)
  list<type> get_all(), map<string,i32> stats()
} (svc.anno = "v")
"#;

fn ok(src: &str) -> Document {
    match parse(src) {
        Ok(doc) => doc,
        Err(e) => panic!("unexpected error {e:?} at {:?}", src.get(e.span.start..)),
    }
}

fn def<'d>(doc: &'d Document, name: &str) -> &'d Definition {
    doc.definitions
        .iter()
        .find(|d| {
            let n = match d {
                Definition::Const(c) => &c.name,
                Definition::Typedef(t) => &t.name,
                Definition::Enum(e) => &e.name,
                Definition::Struct(s) => &s.name,
                Definition::Service(s) => &s.name,
            };
            n.name == name
        })
        .unwrap_or_else(|| panic!("no definition {name}"))
}

fn const_value<'d>(doc: &'d Document, name: &str) -> &'d ConstValue {
    match def(doc, name) {
        Definition::Const(c) => &c.value,
        other => panic!("not a const: {other:?}"),
    }
}

fn strukt<'d>(doc: &'d Document, name: &str) -> &'d StructLike {
    match def(doc, name) {
        Definition::Struct(s) => s,
        other => panic!("not a struct: {other:?}"),
    }
}

fn field<'d>(s: &'d StructLike, name: &str) -> &'d Field {
    s.fields
        .iter()
        .find(|f| f.name.name == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn named(ty: &Type) -> &str {
    match &ty.kind {
        TypeKind::Named(i) => &i.name,
        other => panic!("not named: {other:?}"),
    }
}

fn text(src: &str, span: crate::ast::Span) -> &str {
    &src[span.start..span.end]
}

#[test]
fn kitchen_sink_headers() {
    let doc = ok(KITCHEN_SINK);
    assert_eq!(doc.includes.len(), 1);
    assert_eq!(doc.includes[0].path, "shared.thrift");
    assert_eq!(
        text(KITCHEN_SINK, doc.includes[0].span),
        "\"shared.thrift\""
    );
    let ns: Vec<(&str, &str)> = doc
        .namespaces
        .iter()
        .map(|n| (n.scope.name.as_str(), n.name.name.as_str()))
        .collect();
    assert_eq!(
        ns,
        [("rs", "echo.api"), ("*", "generic"), ("py", "quoted.name")]
    );
    assert_eq!(text(KITCHEN_SINK, doc.namespaces[1].scope.span), "*");
    assert_eq!(doc.definitions.len(), 23);
}

#[test]
fn kitchen_sink_consts() {
    let doc = ok(KITCHEN_SINK);
    let Definition::Const(answer) = def(&doc, "ANSWER") else {
        panic!()
    };
    assert_eq!(answer.ty.kind, TypeKind::I32);
    assert_eq!(answer.value.kind, ConstKind::Int(42));
    assert_eq!(text(KITCHEN_SINK, answer.value.span), "42");
    assert_eq!(
        answer.doc.as_deref(),
        Some("The answer.\n  Indented.\nMulti-line doc, caf\\u00e9 ünïcode.")
    );
    assert_eq!(const_value(&doc, "BIG").kind, ConstKind::Int(-16));
    assert_eq!(const_value(&doc, "MIN").kind, ConstKind::Int(i64::MIN));
    assert_eq!(const_value(&doc, "PI").kind, ConstKind::Double(2.75));
    assert_eq!(const_value(&doc, "SMALL").kind, ConstKind::Double(-2e10));
    assert_eq!(const_value(&doc, "ONE").kind, ConstKind::Double(1.0));
    assert_eq!(const_value(&doc, "HALF").kind, ConstKind::Double(0.5));
    assert_eq!(
        const_value(&doc, "GREETING").kind,
        ConstKind::String("hi \"there\"\né😀".to_string())
    );
    assert_eq!(
        const_value(&doc, "MAGIC").kind,
        ConstKind::String("\0a\x7f\\q".to_string())
    );
    assert_eq!(
        const_value(&doc, "SINGLE").kind,
        ConstKind::String("it's".to_string())
    );
    let nums = const_value(&doc, "NUMS");
    let ConstKind::List(items) = &nums.kind else {
        panic!()
    };
    let ints: Vec<_> = items.iter().map(|v| v.kind.clone()).collect();
    assert_eq!(
        ints,
        [ConstKind::Int(1), ConstKind::Int(2), ConstKind::Int(3)]
    );
    assert_eq!(text(KITCHEN_SINK, nums.span), "[1, 2; +3,]");
    let Definition::Const(m) = def(&doc, "M") else {
        panic!()
    };
    let TypeKind::Map(k, v) = &m.ty.kind else {
        panic!()
    };
    assert_eq!(k.kind, TypeKind::String);
    assert_eq!(v.kind, TypeKind::List(Box::new(v_inner(v))));
    let ConstKind::Map(entries) = &m.value.kind else {
        panic!()
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].0.kind, ConstKind::String("b".to_string()));
    assert_eq!(entries[1].1.kind, ConstKind::List(vec![]));
    assert_eq!(m.annotations[0].key.name, "const.anno");
    assert_eq!(m.annotations[0].value, "1");
    assert_eq!(
        const_value(&doc, "FAV").kind,
        ConstKind::Ident("Color.RED".to_string())
    );
    assert_eq!(
        const_value(&doc, "YES").kind,
        ConstKind::Ident("true".to_string())
    );
}

fn v_inner(v: &Type) -> Type {
    match &v.kind {
        TypeKind::List(inner) => {
            assert_eq!(inner.kind, TypeKind::I32);
            (**inner).clone()
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn kitchen_sink_enum_and_typedefs() {
    let doc = ok(KITCHEN_SINK);
    let Definition::Enum(Enum {
        variants,
        annotations,
        doc: edoc,
        ..
    }) = def(&doc, "Color")
    else {
        panic!()
    };
    assert_eq!(edoc.as_deref(), Some("A color.\n  Second line."));
    let vals: Vec<_> = variants
        .iter()
        .map(|v| (v.name.name.as_str(), v.value.map(|x| x.0)))
        .collect();
    assert_eq!(
        vals,
        [
            ("RED", None),
            ("GREEN", Some(5)),
            ("BLUE", Some(16)),
            ("NEG", Some(-1))
        ]
    );
    assert_eq!(variants[1].doc.as_deref(), Some("green doc"));
    assert_eq!(variants[0].doc, None);
    assert_eq!(variants[2].annotations[0].key.name, "rs.name");
    assert_eq!(variants[2].annotations[0].value, "Blue");
    assert_eq!(
        text(KITCHEN_SINK, variants[2].annotations[0].value_span),
        "\"Blue\""
    );
    assert_eq!(annotations[0].key.name, "rs.derive");

    let Definition::Typedef(Typedef {
        ty, annotations, ..
    }) = def(&doc, "ItemList")
    else {
        panic!()
    };
    assert_eq!(
        text(KITCHEN_SINK, ty.span),
        "list<map<string, shared.Item>>"
    );
    let TypeKind::List(inner) = &ty.kind else {
        panic!()
    };
    let TypeKind::Map(k, v) = &inner.kind else {
        panic!()
    };
    assert_eq!(k.kind, TypeKind::String);
    assert_eq!(named(v), "shared.Item");
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations[0].key.name, "a.b");
    let Definition::Typedef(t) = def(&doc, "Tiny2") else {
        panic!()
    };
    assert_eq!(t.ty.kind, TypeKind::I8);
}

#[test]
fn kitchen_sink_structs() {
    let doc = ok(KITCHEN_SINK);
    let s = strukt(&doc, "type");
    assert_eq!(s.kind, StructKind::Struct);
    // The `//` line directly above is the doc; the `#` line before it is not.
    assert_eq!(s.doc.as_deref(), Some("Rust keywords are fine as names."));
    assert_eq!(s.fields.len(), 9);

    let m = field(s, "match");
    assert_eq!(m.id.map(|i| i.0), Some(1));
    assert_eq!(m.requiredness, Requiredness::Required);
    assert_eq!(m.ty.kind, TypeKind::String);
    assert_eq!(
        m.default.as_ref().map(|d| &d.kind),
        Some(&ConstKind::String("m".into()))
    );
    assert_eq!(
        text(KITCHEN_SINK, m.span),
        "1: required string match = \"m\""
    );

    let f = field(s, "self");
    assert_eq!(f.requiredness, Requiredness::Optional);
    assert_eq!(f.annotations.len(), 2);
    assert_eq!(f.annotations[0].key.name, "go.tag");
    assert_eq!(f.annotations[0].value, "json:\"self\"");
    assert_eq!(f.annotations[1].key.name, "other");
    assert_eq!(f.annotations[1].value, "");
    assert_eq!(f.annotations[1].value_span, f.annotations[1].key.span);

    let f = field(s, "fn");
    assert_eq!(f.id.map(|i| i.0), Some(-1));
    assert_eq!(
        text(KITCHEN_SINK, f.id.map(|i| i.1).unwrap_or_default()),
        "-1"
    );
    assert_eq!(f.ty.kind, TypeKind::Binary);

    // No id: Apache's numbering, continuing below the explicit `-1`.
    let f = field(s, "noid");
    assert_eq!(f.id.map(|i| i.0), Some(-2));
    assert!(f.implicit_id);
    assert_eq!(
        text(KITCHEN_SINK, f.id.map(|i| i.1).unwrap_or_default()),
        "noid"
    );
    assert_eq!(f.requiredness, Requiredness::Default);
    assert_eq!(f.ty.kind, TypeKind::I16);

    let f = field(s, "impl");
    assert_eq!(f.doc.as_deref(), Some("doc for impl"));
    let TypeKind::Set(inner) = &f.ty.kind else {
        panic!()
    };
    assert_eq!(inner.kind, TypeKind::I64);
    assert_eq!(text(KITCHEN_SINK, inner.span), "i64");
    // The trailing comment on the `impl` line does not document `nested`.
    let f = field(s, "nested");
    assert_eq!(f.doc, None);
    let TypeKind::Map(_, v) = &f.ty.kind else {
        panic!()
    };
    let TypeKind::Map(_, v) = &v.kind else {
        panic!()
    };
    let TypeKind::List(v) = &v.kind else { panic!() };
    let TypeKind::Set(v) = &v.kind else { panic!() };
    assert_eq!(v.kind, TypeKind::String);
    assert_eq!(
        text(KITCHEN_SINK, f.ty.span),
        "map<i32, map<i32, list<set<string>>>>"
    );

    assert_eq!(named(&field(s, "item").ty), "shared.Item");
    assert_eq!(
        field(s, "d").default.as_ref().map(|d| &d.kind),
        Some(&ConstKind::Double(1500.0))
    );
    let f = field(s, "s");
    assert_eq!(f.ty.kind, TypeKind::String);
    let Some(ConstKind::Map(e)) = f.default.as_ref().map(|d| &d.kind) else {
        panic!()
    };
    assert_eq!(e[0].1.kind, ConstKind::Ident("Color.RED".into()));

    let u = strukt(&doc, "U");
    assert_eq!(u.kind, StructKind::Union);
    assert_eq!(u.fields.len(), 2);
    assert_eq!(u.annotations[0].key.name, "x");
    let e = strukt(&doc, "Oops");
    assert_eq!(e.kind, StructKind::Exception);
    assert_eq!(e.doc, None);
}

#[test]
fn kitchen_sink_services() {
    let doc = ok(KITCHEN_SINK);
    let Definition::Service(base) = def(&doc, "Base") else {
        panic!()
    };
    assert!(base.functions.is_empty());
    assert_eq!(base.extends, None);
    let Definition::Service(Service {
        extends,
        functions,
        annotations,
        doc: sdoc,
        ..
    }) = def(&doc, "Echo")
    else {
        panic!()
    };
    assert_eq!(sdoc.as_deref(), Some("The echo service."));
    assert_eq!(
        extends.as_ref().map(|e| e.name.as_str()),
        Some("shared.BaseService")
    );
    assert_eq!(annotations[0].key.name, "svc.anno");
    assert_eq!(functions.len(), 5);

    let echo = &functions[0];
    assert_eq!(echo.name.name, "echo");
    assert_eq!(echo.doc.as_deref(), Some("Say something."));
    assert_eq!(echo.oneway, None);
    assert_eq!(
        echo.result.as_ref().map(|t| &t.kind),
        Some(&TypeKind::String)
    );
    assert_eq!(text(KITCHEN_SINK, echo.result_span), "string");
    assert_eq!(echo.args.len(), 2);
    assert_eq!(echo.args[0].annotations[0].key.name, "anno");
    assert_eq!(echo.args[1].name.name, "times");
    assert_eq!(echo.throws.len(), 1);
    assert_eq!(named(&echo.throws[0].ty), "Oops");
    assert_eq!(echo.throws[0].id.map(|i| i.0), Some(1));

    let fire = &functions[1];
    assert_eq!(fire.oneway.map(|s| text(KITCHEN_SINK, s)), Some("oneway"));
    assert_eq!(fire.result, None);
    assert_eq!(text(KITCHEN_SINK, fire.result_span), "void");
    assert_eq!(fire.doc, None);

    let ping = &functions[2];
    assert!(ping.args.is_empty());
    assert_eq!(ping.annotations.len(), 2);
    assert_eq!(ping.annotations[0].key.name, "streaming.mode");
    assert_eq!(ping.annotations[0].value, "server");
    assert_eq!(ping.annotations[1].value, "5");

    assert_eq!(functions[3].name.name, "get_all");
    let Some(TypeKind::List(t)) = functions[3].result.as_ref().map(|t| &t.kind) else {
        panic!()
    };
    assert_eq!(named(t), "type");
    assert_eq!(
        text(KITCHEN_SINK, functions[4].result_span),
        "map<string,i32>"
    );
}

#[test]
fn docs() {
    let src = "/**\n * First.\n *\n *   code\n */\nstruct A {}\n\
               /** x */\n\nstruct B {}\n\
               /* plain */\nstruct C {}\n\
               //   one\n//   two\nstruct D {}\n\
               // a\n\n// b\nstruct E {}\n\
               /***/ struct F {}\n\
               /** doc **/ struct G {}\n";
    let doc = ok(src);
    let docs: Vec<Option<&str>> = doc
        .definitions
        .iter()
        .map(|d| match d {
            Definition::Struct(s) => s.doc.as_deref(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        docs,
        [
            Some("First.\n\n  code"),
            None,
            None,
            Some("one\ntwo"),
            Some("b"),
            None,
            Some("doc")
        ]
    );
}

#[test]
fn empty_and_comment_only() {
    assert_eq!(ok(""), Document::default());
    assert_eq!(ok("\u{feff}// x\n# y\n/* z */"), Document::default());
}

fn err(src: &str) -> SyntaxError {
    match parse(src) {
        Ok(doc) => panic!("expected an error for {src:?}, got {doc:?}"),
        Err(e) => e,
    }
}

/// Checks the message and that the span starts at the `nth` occurrence of
/// `at` in `src` (or at the end, for an empty `at`).
fn check(src: &str, message: &str, at: &str, nth: usize) {
    let e = err(src);
    assert_eq!(e.message, message, "for {src:?}");
    let start = if at.is_empty() {
        src.len()
    } else {
        src.match_indices(at)
            .nth(nth)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("{at:?} not in {src:?}"))
    };
    assert_eq!(e.span.start, start, "span of {e:?} in {src:?}");
    assert!(e.span.end >= e.span.start && e.span.end <= src.len());
}

#[test]
fn errors() {
    check(
        "struct S { 1: i32 a = }",
        "expected a constant value, found `}`",
        "}",
        0,
    );
    check(
        "struct S { 1: i32 a; = }",
        "expected `}` or a field, found `=`",
        "=",
        0,
    );
    check(
        "struct S {\n  1: i32 a\n  struct T {}",
        "expected `}` or a field, found `struct`",
        "struct",
        1,
    );
    check("struct S { 1: }", "expected a type, found `}`", "}", 0);
    check(
        "const i32 X 5",
        "expected `=` after const name, found `5`",
        "5",
        0,
    );
    check(
        "const string S = \"abc",
        "unterminated string literal",
        "\"",
        0,
    );
    check("struct A {}\n/* abc", "unterminated block comment", "/*", 0);
    check(
        "struct S {",
        "expected `}` or a field, found end of file",
        "",
        0,
    );
    check(
        "const i32",
        "expected a const name, found end of file",
        "",
        0,
    );
    check(
        "const i64 X = 9223372036854775808",
        "integer literal `9223372036854775808` is out of range for i64",
        "9",
        0,
    );
    check(
        "const i64 X = 0x8000000000000000",
        "integer literal `0x8000000000000000` is out of range for i64",
        "0x",
        0,
    );
    check(
        "enum E { A = 99999999999999999999 }",
        "integer literal `99999999999999999999` is out of range for i64",
        "9",
        0,
    );
    check(
        "struct S { 1: i32 a = 1.2.3 }",
        "invalid number literal `1.2.3`",
        "1.2",
        0,
    );
    check(
        "struct struct {}",
        "expected a struct name, found keyword `struct`",
        "struct",
        1,
    );
    check(
        "struct a.b {}",
        "expected a struct name, found `a.b` (a name cannot contain `.`)",
        "a.b",
        0,
    );
    check(
        "service S { void f(1: i32 a }",
        "expected `)` or an argument, found `}`",
        "}",
        0,
    );
    check(
        "service S { void f() throws (1: X x }",
        "expected `)` or an exception, found `}`",
        "}",
        0,
    );
    check(
        "service S { 1: i32 x }",
        "expected `}` or a function, found `1`",
        "1",
        0,
    );
    check(
        "service S { oneway 5 f() }",
        "expected a result type or `void`, found `5`",
        "5",
        0,
    );
    check(
        "service S { void () }",
        "expected a function name, found `(`",
        "(",
        0,
    );
    check(
        "service S extends { }",
        "expected a service name after `extends`, found `{`",
        "{",
        0,
    );
    check(
        "service S { void f }",
        "expected `(` after function name, found `}`",
        "}",
        0,
    );
    check(
        "enum E { A = B }",
        "expected an integer enum value, found `B`",
        "B",
        0,
    );
    check(
        "enum E { A, 3 }",
        "expected `}` or an enum value, found `3`",
        "3",
        0,
    );
    check(
        "struct S { 1 i32 a }",
        "expected `:` after the field id, found `i32`",
        "i32",
        0,
    );
    check(
        "typedef map<i32 i32> M",
        "expected `,` after the map key type, found `i32`",
        "i32",
        1,
    );
    check("typedef list<i32 M", "expected `>`, found `M`", "M", 0);
    check(
        "typedef list i32",
        "expected `<` after `list`, found `i32`",
        "i32",
        0,
    );
    check(
        "senum X { 1 }",
        "expected `}` or a string literal, found `1`",
        "1",
        0,
    );
    check("struct S {} @", "unexpected character `@`", "@", 0);
    check("struct S {} é", "unexpected character `é`", "é", 0);
    // A syntax error before a lexical error is reported first.
    check("struct { @", "expected a struct name, found `{`", "{", 0);
    check("foo", "expected a definition, found `foo`", "foo", 0);
    check("{", "expected a definition, found `{`", "{", 0);
    check(
        "struct S { 1: i32 a (k = ) }",
        "expected a string literal as the annotation value, found `)`",
        ")",
        0,
    );
    check(
        "struct S { 1: i32 a (= \"x\") }",
        "expected `)` or an annotation, found `=`",
        "=",
        0,
    );
    check(
        "include shared",
        "expected a string literal after `include`, found `shared`",
        "shared",
        0,
    );
    check(
        "namespace { x",
        "expected a namespace scope after `namespace`, found `{`",
        "{",
        0,
    );
    check(
        "namespace rs 5",
        "expected a namespace name, found `5`",
        "5",
        0,
    );
    check(
        "const list<i32> L = [1, 2 :]",
        "expected `]` or a value, found `:`",
        ":",
        0,
    );
    check(
        "const map<i32, i32> L = {1 2}",
        "expected `:` after map key, found `2`",
        "2}",
        0,
    );
    check(
        "const map<i32, i32> L = {1: 2, :}",
        "expected `}` or a map key, found `:`",
        ":",
        1,
    );
    check(
        "const string S = \"\\uZZZZ\"",
        "invalid unicode escape in string literal",
        "\\u",
        0,
    );
    check(
        "const binary B = \"ab\\xff\"",
        "`\\x` escapes above `\\x7f` are not supported in string literals",
        "\\x",
        0,
    );
    check(
        "const binary B = \"ab\\xZ1\"",
        "invalid `\\x` escape in string literal",
        "\\x",
        0,
    );
    check(
        "const i32 X = struct",
        "expected a constant value, found `struct`",
        "struct",
        0,
    );
    check(
        "struct S { 1: i32 a } (x = 1",
        "expected `)` or an annotation, found end of file",
        "",
        0,
    );
    check(
        "struct S { 1: required }",
        "expected a type, found `}`",
        "}",
        0,
    );
    check(
        "typedef i32 void",
        "expected a typedef name, found keyword `void`",
        "void",
        0,
    );
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..n {
        s.push_str(close);
    }
    s
}

#[test]
fn deep_nesting_is_an_error() {
    let prefix = "typedef ";
    let src = format!("{prefix}{} T", nested("list<", "i32", ">", 10_000));
    let e = err(&src);
    assert_eq!(
        e.message,
        "type is nested too deeply (the limit is 64 levels)"
    );
    assert_eq!(e.span.start, prefix.len() + 64 * "list<".len());

    let src = format!("typedef {} T", nested("map<i32, ", "i32", ">", 10_000));
    assert!(err(&src).message.contains("nested too deeply"));

    let prefix = "const list<i32> X = ";
    let src = format!("{prefix}{}", nested("[", "1", "]", 10_000));
    let e = err(&src);
    assert_eq!(
        e.message,
        "constant value is nested too deeply (the limit is 64 levels)"
    );
    assert_eq!(e.span.start, prefix.len() + 64);

    let src = format!(
        "const map<i32,i32> X = {}",
        nested("{1: ", "1", "}", 10_000)
    );
    assert!(err(&src).message.contains("nested too deeply"));

    // 64 levels are fine.
    ok(&format!("typedef {} T", nested("list<", "i32", ">", 63)));
    ok(&format!(
        "const list<i32> X = {}",
        nested("[", "1", "]", 63)
    ));
}

#[test]
fn keywords_of_rust_are_names() {
    let doc = ok(
        "struct match { 1: i32 type, 2: self fn } enum loop { async, await } \
                  service impl { void mod(1: i32 use) } const i32 move = 1",
    );
    let s = strukt(&doc, "match");
    assert_eq!(s.fields[0].name.name, "type");
    assert_eq!(named(&s.fields[1].ty), "self");
    assert_eq!(s.fields[1].name.name, "fn");
    let Definition::Service(svc) = def(&doc, "impl") else {
        panic!()
    };
    assert_eq!(svc.functions[0].name.name, "mod");
    assert_eq!(svc.functions[0].args[0].name.name, "use");
    assert_eq!(const_value(&doc, "move").kind, ConstKind::Int(1));
    assert!(matches!(def(&doc, "loop"), Definition::Enum(e) if e.variants.len() == 2));
}

/// A tiny deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn truncations_never_panic() {
    for i in 0..=KITCHEN_SINK.len() {
        if let Some(prefix) = KITCHEN_SINK.get(..i) {
            if let Err(e) = parse(prefix) {
                assert!(e.span.start <= e.span.end && e.span.end <= prefix.len());
            }
        }
    }
}

#[test]
fn mutations_never_panic() {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "<",
        ">",
        ",",
        ";",
        ":",
        "=",
        "*",
        "\"",
        "'",
        "\\",
        "/",
        "/*",
        "*/",
        "//",
        "#",
        "\n",
        " ",
        ".",
        "-",
        "+",
        "0x",
        "9",
        "e",
        "\\u",
        "\\ud83d",
        "list<",
        "map<",
        "struct",
        "service",
        "oneway",
        "void",
        "throws",
        "é",
        "€",
        "😀",
        "\u{feff}",
        "\0",
        "99999999999999999999",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let base: Vec<char> = KITCHEN_SINK.chars().collect();
    let mut errors = 0;
    for _ in 0..20_000 {
        let mut chars = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    chars.splice(at..at + 1, piece.chars());
                }
                _ => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    chars.splice(at..at, piece.chars());
                }
            }
        }
        let src: String = chars.into_iter().collect();
        if let Err(e) = parse(&src) {
            errors += 1;
            assert!(e.span.start <= e.span.end && e.span.end <= src.len());
            assert!(!e.message.is_empty());
        }
    }
    assert!(errors > 1000, "mutations should mostly fail, got {errors}");
}
