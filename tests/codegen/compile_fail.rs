//! Mistakes in the IDL are compile errors naming the `.thrift` file, line and
//! column, saying what is wrong and what was expected — never a panic.
//!
//! Each case is `tests/ui/<case>.thrift` plus `tests/ui/<case>.rs`, which just
//! expands `thrift_service!("tests/ui/<case>.thrift")`. (The other `.thrift`
//! files there, `shared`, `broken` and `include_cycle_b`, are only included.)
//! Two independent tests cover them:
//!
//! - [`diagnostics`] runs the code generator directly and asserts the exact
//!   `file:line:col: message` of every diagnostic, and the token the column
//!   points at. It does not involve rustc, so it stays exact across compiler
//!   upgrades: this is the test that pins the behaviour down.
//! - [`ui`] compiles every case through the macro with trybuild and compares
//!   the compiler's output with `tests/ui/<case>.stderr`, and checks that the
//!   `tests/ui/pass/*.rs` cases compile and run. rustc's rendering changes
//!   from release to release: if the `.stderr` files drift after a toolchain
//!   upgrade, regenerate them with
//!   `TRYBUILD=overwrite cargo test --test codegen compile_fail::ui` and
//!   review the diff (only the rustc framing should change; the messages are
//!   pinned above).

use std::path::Path;

/// One expected diagnostic: `file:line:col: message`, and the text the
/// column points at in that line (the offending token).
type Expect = (&'static str, &'static str);

/// Every compile-fail case and the diagnostics it must produce, in order.
const CASES: &[(&str, &[Expect])] = &[
    (
        "syntax_error",
        &[(
            "tests/ui/syntax_error.thrift:4:7: expected `:` after the field id, found `i32`",
            "i32",
        )],
    ),
    (
        "syntax_error_in_service",
        &[(
            "tests/ui/syntax_error_in_service.thrift:10:31: expected `(` after `throws`, found `Oops`",
            "Oops",
        )],
    ),
    (
        // The error is in the included file; the unresolvable `broken.Thing`
        // that follows from it is not reported again.
        "syntax_error_in_include",
        &[(
            "tests/ui/broken.thrift:3:16: expected a constant value, found `,`",
            ",",
        )],
    ),
    (
        "unknown_mode",
        &[(
            "tests/ui/unknown_mode.thrift:6:42: unknown streaming.mode `bidi` on `Api.Chat`; \
             expected one of \"bidirectional\", \"client\", \"server\", \"unary\"",
            "\"bidi\"",
        )],
    ),
    (
        "duplicate_mode",
        &[(
            "tests/ui/duplicate_mode.thrift:6:52: method `Api.Chat` has more than one \
             `streaming.mode` annotation; expected at most one",
            "streaming.mode = \"server\"",
        )],
    ),
    (
        "stream_no_args",
        &[(
            "tests/ui/stream_no_args.thrift:6:9: streaming method `Api.Watch` has 0 arguments; \
             expected exactly one struct argument",
            "Watch()",
        )],
    ),
    (
        "stream_two_args",
        &[(
            "tests/ui/stream_two_args.thrift:6:28: streaming method `Api.Chat` has 2 arguments; \
             expected exactly one struct argument",
            "2: Msg second",
        )],
    ),
    (
        "stream_void",
        &[(
            "tests/ui/stream_void.thrift:6:5: streaming method `Api.Upload` returns `void`; \
             expected a struct result",
            "void",
        )],
    ),
    (
        "stream_oneway",
        &[
            (
                "tests/ui/stream_oneway.thrift:6:5: streaming method `Api.Push` cannot be \
                 `oneway`; expected a method without `oneway` (or no `streaming.mode`)",
                "oneway",
            ),
            (
                "tests/ui/stream_oneway.thrift:6:12: streaming method `Api.Push` returns `void`; \
                 expected a struct result",
                "void",
            ),
        ],
    ),
    (
        "stream_non_struct",
        &[
            (
                "tests/ui/stream_non_struct.thrift:4:18: the argument of streaming method \
                 `Api.Count` must be a struct, union or exception, found typedef `Lines` \
                 (list<string>)",
                "Lines",
            ),
            (
                "tests/ui/stream_non_struct.thrift:4:5: the result of streaming method \
                 `Api.Count` must be a struct, union or exception, found i64",
                "i64",
            ),
        ],
    ),
    (
        "const_wrong_type",
        &[
            (
                "tests/ui/const_wrong_type.thrift:3:19: this value does not fit type i32",
                "\"seven\"",
            ),
            (
                "tests/ui/const_wrong_type.thrift:4:16: this value does not fit type i8",
                "300",
            ),
            (
                "tests/ui/const_wrong_type.thrift:5:17: this string is not a uuid: expected \
                 8-4-4-4-12 hex digits, optionally in braces \
                 (`{00112233-4455-6677-8899-aabbccddeeff}`)",
                "'not-a-uuid'",
            ),
            (
                "tests/ui/const_wrong_type.thrift:6:18: this value does not fit type i32",
                "Color.PURPLE",
            ),
            (
                "tests/ui/const_wrong_type.thrift:8:38: field `x` of `Point` is given twice in \
                 this constant",
                "\"x\"",
            ),
        ],
    ),
    (
        "unknown_type",
        &[(
            "tests/ui/unknown_type.thrift:3:8: unknown type `Strng`; expected a base type or a \
             type defined in this file (or `file.Name` for one from an included file)",
            "Strng",
        )],
    ),
    (
        "unknown_qualified_type",
        &[
            (
                "tests/ui/unknown_qualified_type.thrift:5:8: unknown type `shared.Nope`: \
                 `tests/ui/shared.thrift` defines no `Nope`; expected a type defined there",
                "shared.Nope",
            ),
            (
                "tests/ui/unknown_qualified_type.thrift:6:8: unknown include `other` in \
                 `other.Item`; expected the file stem of an `include`d file",
                "other.Item",
            ),
        ],
    ),
    (
        "unknown_extends",
        &[
            (
                "tests/ui/unknown_extends.thrift:3:21: unknown service `shared.Bsae`: \
                 `tests/ui/shared.thrift` defines no `Bsae`; expected a service defined there",
                "shared.Bsae",
            ),
            (
                "tests/ui/unknown_extends.thrift:7:23: unknown service `Missing`; expected a \
                 service defined in this file (or `file.Name` for one from an included file)",
                "Missing",
            ),
        ],
    ),
    (
        "duplicate_field_id",
        &[(
            "tests/ui/duplicate_field_id.thrift:4:5: duplicate field id 1 in `Msg`: already \
             used by `text`; expected each field to have its own id",
            "1: bool urgent",
        )],
    ),
    (
        "duplicate_field_name",
        &[(
            "tests/ui/duplicate_field_name.thrift:4:15: duplicate field name `text` in `Msg`; \
             expected each field to have its own name",
            "text",
        )],
    ),
    (
        // `nope.Thing`, behind the missing include, is not reported again.
        "missing_include",
        &[(
            "tests/ui/missing_include.thrift:2:9: cannot find included file `nope.thrift` \
             (looked in: tests/ui)",
            "\"nope.thrift\"",
        )],
    ),
    (
        // Reported once, at the include that closes the cycle; the names
        // behind it are not reported again.
        "include_cycle",
        &[(
            "tests/ui/include_cycle_b.thrift:2:9: include cycle: tests/ui/include_cycle.thrift \
             -> tests/ui/include_cycle_b.thrift -> tests/ui/include_cycle.thrift; expected no \
             file to include itself, directly or through other files",
            "\"include_cycle.thrift\"",
        )],
    ),
    (
        // The file itself is missing: no line to point at, so 1:1. The OS
        // part of the message differs between systems (see `matches`).
        "missing_file",
        &[(
            "tests/ui/does_not_exist.thrift:1:1: cannot read IDL file \
             `tests/ui/does_not_exist.thrift`: *",
            "",
        )],
    ),
    (
        // Three independent mistakes, all reported by one build.
        "many_errors",
        &[
            (
                "tests/ui/many_errors.thrift:4:5: duplicate field id 1 in `Msg`: already used by \
                 `text`; expected each field to have its own id",
                "1: i32 count",
            ),
            (
                "tests/ui/many_errors.thrift:8:8: unknown type `Mesage`; expected a base type or \
                 a type defined in this file (or `file.Name` for one from an included file)",
                "Mesage",
            ),
            (
                "tests/ui/many_errors.thrift:12:44: unknown streaming.mode `duplex` on \
                 `Api.Chat`; expected one of \"bidirectional\", \"client\", \"server\", \"unary\"",
                "\"duplex\"",
            ),
        ],
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The IDL path a `tests/ui/<case>.rs` file hands to `thrift_service!`.
fn idl_of_case(case: &str) -> String {
    let rs = root().join("tests/ui").join(format!("{case}.rs"));
    let text = std::fs::read_to_string(&rs).unwrap_or_else(|e| panic!("{}: {e}", rs.display()));
    let start = text
        .find("thrift_service!(\"")
        .expect("a thrift_service! call")
        + 17;
    let len = text[start..].find('"').expect("the end of the path");
    text[start..start + len].to_string()
}

/// `expected` may end in `*`: the rest of the message is system-specific.
fn matches(actual: &str, expected: &str) -> bool {
    match expected.strip_suffix('*') {
        Some(prefix) => actual.starts_with(prefix),
        None => actual == expected,
    }
}

#[test]
fn diagnostics() {
    let mut failures = Vec::new();
    for (case, expected) in CASES {
        let idl = idl_of_case(case);
        let errors = match tonic_thrift_build::generate(&root().join(&idl), &[], Some(root())) {
            Ok(_) => {
                failures.push(format!("{case}: generated code, expected errors"));
                continue;
            }
            Err(e) => e.errors().0.clone(),
        };
        let actual: Vec<String> = errors
            .iter()
            .map(|d| {
                let file = d.file.display().to_string().replace('\\', "/");
                format!("{file}:{}:{}: {}", d.line, d.col, d.message)
            })
            .collect();
        let ok = actual.len() == expected.len()
            && actual
                .iter()
                .zip(*expected)
                .all(|(a, (e, _))| matches(a, e));
        if !ok {
            failures.push(format!(
                "{case}:\n  expected:\n    {}\n  actual:\n    {}",
                expected
                    .iter()
                    .map(|(e, _)| *e)
                    .collect::<Vec<_>>()
                    .join("\n    "),
                actual.join("\n    ")
            ));
            continue;
        }
        for (d, (_, token)) in errors.iter().zip(*expected) {
            let at: String = d.source_line.chars().skip(d.col - 1).collect();
            if !at.starts_with(token) {
                failures.push(format!(
                    "{case}: {}:{} points at {at:?} in {:?}, expected {token:?}",
                    d.line, d.col, d.source_line
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every `tests/ui/*.rs` case has expectations in [`CASES`] and vice versa,
/// so the trybuild test and the diagnostics test cover the same cases.
#[test]
fn every_case_has_expectations() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("tests/ui"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(c, _)| c.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn ui() {
    // trybuild compiles the cases in a project of its own: point the macro
    // at this package's directory so `"tests/ui/..."` paths resolve.
    std::env::set_var("TONIC_THRIFT_MANIFEST_DIR", root());
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
