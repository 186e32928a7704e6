//! Builds examples of this package for a test that runs them, with the
//! test's own profile and target directory and the workspace's features,
//! so that under `cargo test --workspace` (which already built them) it is
//! a no-op. Included by the test crates that need it with
//! `#[path = "../support/examples.rs"] mod examples;`.

use std::path::PathBuf;
use std::process::Command;

/// `<target>/<profile>`, from the running test's own path
/// (`…/<profile>/deps/<test>-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("executable directory");
    assert_eq!(deps.file_name().and_then(|n| n.to_str()), Some("deps"));
    deps.parent().expect("profile directory").to_path_buf()
}

/// Builds the examples `names` and returns the directory holding them.
pub fn build(names: &[&str]) -> PathBuf {
    let profile = profile_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--workspace"]);
    for name in names {
        cmd.args(["--example", name]);
    }
    cmd.arg("--target-dir")
        .arg(profile.parent().expect("target directory"));
    match profile.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => panic!("no profile directory"),
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "building the examples {names:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile.join("examples")
}

/// The path of example `name` in `dir` (from [`build`]).
pub fn path(dir: &std::path::Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}
