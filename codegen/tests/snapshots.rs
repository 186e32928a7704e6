//! Snapshots of the generated source for the repository's echo and
//! kitchen-sink IDLs: every change to the generator shows up as a
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
