//! Opt-in: real IDL trees compile.
//!
//! Set `TONIC_THRIFT_IDL_CORPUS` to a directory of `.thrift` files (Apache
//! Thrift's `test/`, fb303, Hive's metastore, Cassandra, Evernote, ... kept
//! with their relative include paths) and this test:
//!
//! 1. runs the generator on every file, resolving includes as the macro
//!    does (relative to the including file), and checks that the build.rs
//!    path (`Builder::compile`) writes exactly the same code, and
//! 2. expands every file that generated through `thrift_service!` in a scratch
//!    crate (`<target>/idl-corpus/`, one module per file, each in its own
//!    source file) and runs `cargo check` on it, with the test's own target
//!    directory so the dependencies are already built.
//!
//! It fails listing every file that did not make it, with its errors. Without
//! the variable it prints a notice and passes. The corpus is not part of the
//! repository: the files belong to their projects.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn every_corpus_file_compiles() {
    let Some(root) = std::env::var_os("TONIC_THRIFT_IDL_CORPUS") else {
        println!("skipped: set TONIC_THRIFT_IDL_CORPUS to a directory of .thrift files");
        return;
    };
    let root = std::fs::canonicalize(PathBuf::from(root)).expect("TONIC_THRIFT_IDL_CORPUS");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no .thrift file under {}",
        root.display()
    );

    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    let mut generated = Vec::new();
    let out_dir = target_dir().join("idl-corpus-out");
    for file in &files {
        // As the macro does: includes relative to the including file.
        match tonic_thrift_build::generate(file, &[], Some(&root)) {
            Ok(_) => match same_as_build_rs(file, &out_dir) {
                Ok(()) => generated.push(file.clone()),
                Err(e) => {
                    failures.insert(rel(&root, file), e);
                }
            },
            Err(e) => {
                failures.insert(rel(&root, file), format!("generate: {e}"));
            }
        }
    }

    let check = cargo_check(&generated);
    for (i, file) in generated.iter().enumerate() {
        if let Some(errors) = check.get(&i) {
            failures.insert(rel(&root, file), errors.clone());
        }
    }

    let mut report = String::new();
    for file in &files {
        let name = rel(&root, file);
        let verdict = if failures.contains_key(&name) {
            "FAIL"
        } else {
            "ok"
        };
        let _ = writeln!(report, "{verdict:>4}  {name}");
    }
    println!("{report}");
    if !failures.is_empty() {
        let mut msg = format!("{} of {} corpus files fail:\n", failures.len(), files.len());
        for (file, errors) in &failures {
            let _ = writeln!(msg, "\n== {file}\n{errors}");
        }
        panic!("{msg}");
    }
}

/// The build.rs path (`Builder::compile` into an out dir) writes exactly
/// the code the macro path generated.
fn same_as_build_rs(file: &Path, out_dir: &Path) -> Result<(), String> {
    // `compile` shows paths relative to the current directory: so does this.
    let cwd = std::env::current_dir().ok();
    let generated = tonic_thrift_build::generate(file, &[], cwd.as_deref())
        .map_err(|e| format!("generate: {e}"))?;
    let _ = std::fs::remove_dir_all(out_dir);
    std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
    tonic_thrift_build::configure()
        .out_dir(out_dir)
        .emit_rerun_if_changed(false)
        .compile(&[file], &[] as &[PathBuf])
        .map_err(|e| format!("build.rs path: {e}"))?;
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    let written = std::fs::read_to_string(out_dir.join(format!("{stem}.rs")))
        .map_err(|e| format!("build.rs path wrote no {stem}.rs: {e}"))?;
    let rendered =
        tonic_thrift_build::render(&generated.tokens, file).map_err(|e| e.to_string())?;
    if written == rendered {
        Ok(())
    } else {
        Err("the build.rs path and the macro path generate different code".into())
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "thrift") {
            out.push(path);
        }
    }
}

fn rel(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// The target directory this test binary was built in (`<target>/debug/deps/..`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(3)
        .expect("test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

/// Writes the scratch crate, runs `cargo check` and returns the errors of
/// each module (by index into `files`).
fn cargo_check(files: &[PathBuf]) -> BTreeMap<usize, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir();
    let krate = target.join("idl-corpus");
    let src = krate.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).expect("create scratch crate");
    let manifest = format!(
        "[package]\nname = \"idl-corpus\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\npath = \"src/lib.rs\"\n\n\
         [dependencies]\ntonic-thrift = {{ path = {:?} }}\n\n[workspace]\n",
        repo.join("runtime").display().to_string()
    );
    std::fs::write(krate.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    let _ = std::fs::copy(repo.join("Cargo.lock"), krate.join("Cargo.lock"));
    let mut lib =
        String::from("//! Every corpus file through `thrift_service!`, one module each.\n");
    for (i, file) in files.iter().enumerate() {
        let _ = writeln!(lib, "/// `{}`.\npub mod m{i};", file.display());
        let body = format!(
            "//! {}\ntonic_thrift::thrift_service!({:?});\n",
            file.display(),
            file.display().to_string()
        );
        std::fs::write(src.join(format!("m{i}.rs")), body).expect("write module");
    }
    std::fs::write(src.join("lib.rs"), lib).expect("write lib.rs");

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["check", "--offline", "--quiet", "--message-format=short"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("TONIC_THRIFT_MANIFEST_DIR")
        .output()
        .expect("run cargo check");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut errors: BTreeMap<usize, String> = BTreeMap::new();
    let mut unattributed = String::new();
    // Warnings count too: generated code must expand cleanly.
    for line in stderr.lines() {
        if !line.contains("error") && !line.contains("warning") {
            continue;
        }
        let module = line
            .strip_prefix("src/m")
            .and_then(|rest| rest.split(".rs").next())
            .and_then(|n| n.parse::<usize>().ok());
        match module {
            Some(i) => {
                let entry = errors.entry(i).or_default();
                let _ = writeln!(entry, "{line}");
            }
            None => {
                let _ = writeln!(unattributed, "{line}");
            }
        }
    }
    if !output.status.success() && errors.is_empty() {
        panic!("cargo check of {} failed:\n{stderr}", krate.display());
    }
    if !unattributed.is_empty() && !output.status.success() {
        println!("errors not tied to a corpus file:\n{unattributed}");
    }
    errors
}
