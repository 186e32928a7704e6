//! `examples/cluster.rs` runs to the end against a real etcd: three
//! registered servers take calls, a SIGKILLed one disappears, a new one
//! joins, the rest deregister. Skipped when etcd is not installed, unless
//! `TONIC_THRIFT_REQUIRE_ETCD=1`.

use std::path::PathBuf;
use std::process::Command;

use tonic_thrift_registry_etcd::LocalEtcd;

#[path = "../support/examples.rs"]
mod examples;

/// Builds `examples/cluster.rs` and returns its path.
fn cluster_example() -> PathBuf {
    examples::path(&examples::build(&["cluster"]), "cluster")
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
