//! A real etcd per test (Debian's `etcd-server`), `etcdctl` (Debian's
//! `etcd-client`), and helpers to read the resolver's pushes.

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tonic_thrift::balance::{Instance, Resolver};
use tonic_thrift_registry_etcd::{EtcdOptions, LocalEtcd};

/// Starts etcd, or returns `None` (the test is skipped) when the binary is
/// missing, unless `TONIC_THRIFT_REQUIRE_ETCD=1` says it must be there.
pub(crate) async fn etcd() -> Option<LocalEtcd> {
    if !LocalEtcd::available() {
        if std::env::var("TONIC_THRIFT_REQUIRE_ETCD").is_ok_and(|v| v == "1") {
            panic!(
                "TONIC_THRIFT_REQUIRE_ETCD=1 but {} cannot be run (apt-get install etcd-server etcd-client)",
                LocalEtcd::binary().display()
            );
        }
        eprintln!("skipped: no etcd binary (install Debian's etcd-server)");
        return None;
    }
    Some(LocalEtcd::start().await.expect("etcd starts"))
}

/// Options for `etcd` with a short TTL and quick retries.
pub(crate) fn options(etcd: &LocalEtcd, ttl_secs: u64) -> EtcdOptions {
    EtcdOptions::new([etcd.endpoint()])
        .ttl(Duration::from_secs(ttl_secs))
        .retry_backoff(Duration::from_millis(100), Duration::from_millis(500))
        .request_timeout(Duration::from_secs(2))
}

/// Runs `etcdctl` (API v3) against `etcd`; its stdout.
pub(crate) fn etcdctl(etcd: &LocalEtcd, args: &[&str]) -> String {
    let bin = std::env::var("ETCDCTL_BIN").unwrap_or_else(|_| "etcdctl".into());
    let out = Command::new(&bin)
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", etcd.endpoint()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin} (apt-get install etcd-client): {e}"));
    assert!(
        out.status.success(),
        "etcdctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("etcdctl prints UTF-8")
}

/// The lists a resolver pushes.
pub(crate) struct Pushes(watch::Receiver<Vec<Instance>>);

impl Pushes {
    /// Subscribes to `resolver`'s pushes (this starts its watch).
    pub(crate) fn of(resolver: &impl Resolver) -> Self {
        Pushes(resolver.updates().expect("a watch-based resolver pushes"))
    }

    /// Waits (at most `within`) until the pushed list satisfies `ok`;
    /// returns how long it took.
    pub(crate) async fn wait(
        &mut self,
        within: Duration,
        what: &str,
        ok: impl Fn(&[Instance]) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let waited = tokio::time::timeout(within, self.0.wait_for(|l| ok(l)))
            .await
            .is_ok_and(|r| r.is_ok());
        match waited {
            true => start.elapsed(),
            _ => panic!(
                "{what}: not within {within:?}; last pushed list: {:?}",
                *self.0.borrow()
            ),
        }
    }
}

/// The addresses of `list`, sorted.
pub(crate) fn addrs(list: &[Instance]) -> Vec<String> {
    let mut a: Vec<String> = list.iter().map(|i| i.addr.clone()).collect();
    a.sort();
    a
}
