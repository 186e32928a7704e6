//! `examples/cluster.rs` runs to the end against a real etcd: three
//! registered servers take calls, a SIGKILLed one disappears, a new one
//! joins, the rest deregister. Skipped when etcd is not installed, unless
//! `TONIC_THRIFT_REQUIRE_ETCD=1`.

use std::path::PathBuf;
use std::process::Command;

use tonic_thrift_registry_etcd::LocalEtcd;

/// `<target>/<profile>`, from this test's own path (`…/deps/cluster-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("executable directory");
    assert_eq!(deps.file_name().and_then(|n| n.to_str()), Some("deps"));
    deps.parent().expect("profile directory").to_path_buf()
}

/// Builds the example (a no-op under `cargo test --workspace`, which built
/// it with the same workspace-wide features) and
/// returns its path.
fn cluster_example() -> PathBuf {
    let profile = profile_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--workspace",
            "--example",
            "cluster",
            "--target-dir",
        ])
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
        "`cargo build --example cluster` failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile
        .join("examples")
        .join(format!("cluster{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn cluster_example_runs() {
    if !LocalEtcd::available() {
        assert!(
            std::env::var("TONIC_THRIFT_REQUIRE_ETCD").as_deref() != Ok("1"),
            "TONIC_THRIFT_REQUIRE_ETCD=1 but etcd cannot be run (apt-get install etcd-server)"
        );
        eprintln!("skipped: no etcd binary (install Debian's etcd-server)");
        return;
    }
    let out = Command::new(cluster_example())
        .output()
        .expect("the example runs");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the example failed ({}):\n{transcript}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{transcript}");
    // The keys it printed are Kitex's, one per server, with its weight and
    // tags; the killed server's key went away with its lease.
    let keys_seen = transcript
        .lines()
        .filter(|l| {
            l.trim_start()
                .starts_with("kitex/registry-etcd/echo/127.0.0.1:")
        })
        .count();
    assert_eq!(keys_seen, 3 + 2 + 3, "{transcript}");
    assert!(
        transcript.contains(r#","weight":10,"tags":{"name":"s4"}}"#),
        "{transcript}"
    );
    for step in [
        "killed s2 with SIGKILL",
        "s2 left the client's list",
        "s4 joined the client's list",
        "stopped s4 with SIGTERM: deregistered, exited",
        "(none)",
        // The client's OpenTelemetry metrics, scraped from its endpoint.
        "the client's metrics, scraped from http://",
        r#"rpc_client_duration_milliseconds_count{"#,
        r#"rpc_method="EchoUnary""#,
        "== done ==",
    ] {
        assert!(
            transcript.contains(step),
            "missing {step:?} in:\n{transcript}"
        );
    }
}
