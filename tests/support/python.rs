//! Whether a Python peer can run here. Included by the test crates that
//! need it with `#[path = "../support/python.rs"] mod python_env;`.

use std::process::{Command, Stdio};

/// True when `TONIC_THRIFT_REQUIRE_PYTHON` is set (and not `0`): a missing
/// Python peer then fails its tests instead of skipping them, so that CI
/// never passes a test that did not run.
pub fn required() -> bool {
    std::env::var("TONIC_THRIFT_REQUIRE_PYTHON").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// True when `python3` can `import {modules}`. Otherwise prints a skip
/// notice naming the pip package `pip`, or panics when [`required`].
pub fn has(modules: &str, pip: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    assert!(
        !required(),
        "TONIC_THRIFT_REQUIRE_PYTHON is set but `python3 -c \"import {modules}\"` failed: \
         install it with `python3 -m pip install {pip}`"
    );
    println!("skipped: {pip} not installed (python3 -m pip install {pip})");
    false
}
