//! Snapshots of the generated source for the repository's echo,
//! kitchen-sink and torture IDLs: every change to the generator shows up as a
//! reviewable diff of `tests/snapshots/*.rs`.
//!
//! After an intended change, rewrite them with
//! `UPDATE_SNAPSHOTS=1 cargo test -p tonic-thrift-build --test snapshots`
//! and review the diff.

use std::path::{Path, PathBuf};

/// The repository root (the IDLs live in `idl/` there).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen/ has a parent")
        .to_path_buf()
}

fn check(idl: &str, snapshot: &str) {
    let root = repo();
    let generated = tonic_thrift_build::generate(&root.join(idl), &[], Some(&root))
        .unwrap_or_else(|e| panic!("{idl} does not compile: {e}"));
    let text = tonic_thrift_build::render(&generated.tokens, Path::new(idl)).expect("renders");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(snapshot);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != text {
        let first = expected
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(text.lines().count()));
        panic!(
            "generated code for {idl} differs from {} from line {}:\n  snapshot:  {:?}\n  generated: {:?}\n\
             if the change is intended, run UPDATE_SNAPSHOTS=1 cargo test -p tonic-thrift-build --test snapshots",
            path.display(),
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            text.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

#[test]
fn echo() {
    check("idl/echo.thrift", "echo.rs");
}

#[test]
fn kitchen_sink() {
    check("idl/kitchen_sink.thrift", "kitchen_sink.rs");
}

/// Names chosen to clash with the generated code and with each other: the
/// snapshot shows every rename.
#[test]
fn torture() {
    check("idl/torture.thrift", "torture.rs");
}

/// Lines of the rendered (prettyplease-formatted) code for an IDL text.
fn rendered_lines(name: &str, idl: &str) -> usize {
    let dir = std::env::temp_dir().join(format!("tonic-thrift-lines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.thrift"));
    std::fs::write(&file, idl).unwrap();
    let generated = tonic_thrift_build::generate(&file, &[], Some(&dir)).expect("compiles");
    let text = tonic_thrift_build::render(&generated.tokens, Path::new(name)).unwrap();
    text.lines().count()
}

/// What one more method of each Args/Result shape costs in generated
/// lines (docs included): the lean-code budget is under 100 per method.
#[test]
fn generated_lines_per_method_stay_under_budget() {
    let header = "struct Req { 1: required string m }\nstruct Resp { 1: required string m }\n";
    let service = |methods: &[&str]| format!("{header}service S {{\n{}\n}}\n", methods.join(",\n"));
    let base = rendered_lines("base", &service(&["Resp A(1: Req r)"]));
    for (shape, method) in [
        ("ping-pong", "Resp B(1: Req r)"),
        ("unary", "Resp B(1: Req r) (streaming.mode = \"unary\")"),
        (
            "bidirectional",
            "Resp B(1: Req r) (streaming.mode = \"bidirectional\")",
        ),
    ] {
        let with = rendered_lines("with", &service(&["Resp A(1: Req r)", method]));
        let cost = with - base;
        eprintln!("a {shape} method costs {cost} generated lines");
        assert!(cost < 100, "a {shape} method costs {cost} generated lines");
    }
}

/// The whole generated file for `idl/echo.thrift` (5 methods, 2 structs).
#[test]
fn echo_stays_under_650_lines() {
    let root = repo();
    let generated = tonic_thrift_build::generate(&root.join("idl/echo.thrift"), &[], Some(&root))
        .expect("compiles");
    let text = tonic_thrift_build::render(&generated.tokens, Path::new("idl/echo.thrift")).unwrap();
    let lines = text.lines().count();
    assert!(lines <= 650, "echo.rs is {lines} lines");
}

/// `build_server(false)` / `build_pingpong_client(false)` leave those parts
/// out; the per-method types then live in the client module.
#[test]
fn switches_leave_parts_out() {
    let root = repo();
    let idl = root.join("idl/kitchen_sink.thrift");
    let tokens = tonic_thrift_build::configure()
        .build_server(false)
        .build_pingpong_client(false)
        .generate(&idl, &[], Some(&root))
        .expect("compiles")
        .tokens
        .to_string();
    assert!(!tokens.contains("sink_server"), "no server module");
    assert!(
        !tokens.contains("SinkPingPongClient"),
        "no ping-pong client"
    );
    assert!(tokens.contains("pub mod sink_client"));
    assert!(
        tokens.contains("pub struct AddArgs"),
        "Args live in the client module"
    );
    let tokens = tonic_thrift_build::configure()
        .build_client(false)
        .build_pingpong_client(false)
        .generate(&idl, &[], Some(&root))
        .expect("compiles")
        .tokens
        .to_string();
    assert!(!tokens.contains("sink_client"), "no client module");
    assert!(tokens.contains("pub mod sink_server"));
}
