//! `Builder::compile`: what it writes, and the mistakes it refuses.

use std::path::Path;

/// A scratch folder of its own for each test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tonic-thrift-compile-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn two_files_with_one_stem_are_refused_naming_both() {
    let dir = scratch("stem");
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(sub).join("api.thrift"), "struct S { 1: i32 x }\n").unwrap();
    }
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let err = tonic_thrift_build::configure()
        .out_dir(&out)
        .emit_rerun_if_changed(false)
        .compile(
            &[dir.join("a/api.thrift"), dir.join("b/api.thrift")],
            &[] as &[&Path],
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("a/api.thrift") && text.contains("b/api.thrift"),
        "{text}"
    );
    assert!(text.contains("same file"), "{text}");
    assert!(!out.join("api.rs").exists(), "nothing is written");
}

#[test]
fn each_file_is_written_under_its_stem() {
    let dir = scratch("write");
    std::fs::write(dir.join("one.thrift"), "struct One { 1: i32 x }\n").unwrap();
    std::fs::write(
        dir.join("two.thrift"),
        "include \"one.thrift\"\nstruct Two { 1: one.One o }\n",
    )
    .unwrap();
    tonic_thrift_build::configure()
        .out_dir(&dir)
        .emit_rerun_if_changed(false)
        .compile(
            &[dir.join("one.thrift"), dir.join("two.thrift")],
            &[] as &[&Path],
        )
        .unwrap();
    let two = std::fs::read_to_string(dir.join("two.rs")).unwrap();
    assert!(
        two.contains("pub mod two") && two.contains("pub mod one"),
        "{two}"
    );
    assert!(std::fs::read_to_string(dir.join("one.rs"))
        .unwrap()
        .contains("pub struct One"));
}
