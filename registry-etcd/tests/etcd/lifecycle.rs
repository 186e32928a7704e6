//! Registration, lease expiry, watch latency and an etcd restart.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tonic_thrift::balance::{Instance, Registration, Registry, Resolver};
use tonic_thrift_registry_etcd::EtcdRegistry;

use crate::support::{addrs, etcd, etcdctl, options, Pushes};

#[tokio::test]
async fn register_then_deregister() {
    let Some(etcd) = etcd().await else { return };
    let registry = EtcdRegistry::new(options(&etcd, 5));
    let resolver = EtcdRegistry::new(options(&etcd, 5)).resolver("echo");
    let mut pushes = Pushes::of(&resolver);
    pushes
        .wait(Duration::from_secs(5), "the first (empty) list", |l| {
            l.is_empty()
        })
        .await;

    let a = Registration::new("echo", Instance::new("127.0.0.1:7001").with_weight(3));
    let b = Registration::new(
        "echo",
        Instance::new("127.0.0.1:7002").with_tag("zone", "b"),
    );
    registry.register(&a).await.expect("a registered");
    registry.register(&b).await.expect("b registered");
    pushes
        .wait(Duration::from_secs(1), "both registered", |l| l.len() == 2)
        .await;
    assert_eq!(
        resolver.resolve().await.unwrap(),
        vec![a.instance.clone(), b.instance.clone()]
    );

    registry.deregister(&a).await.expect("a deregistered");
    pushes
        .wait(Duration::from_secs(1), "a gone", |l| {
            addrs(l) == ["127.0.0.1:7002"]
        })
        .await;
    assert_eq!(
        etcdctl(
            &etcd,
            &["get", "--prefix", "--keys-only", "kitex/registry-etcd/"]
        )
        .trim(),
        "kitex/registry-etcd/echo/127.0.0.1:7002"
    );
    // Its lease was revoked, not left to expire.
    let leases = etcdctl(&etcd, &["lease", "list"]);
    assert!(leases.starts_with("found 1 leases"), "{leases}");

    // A bad service name is refused with a reason.
    let err = registry
        .register(&Registration::new("a/b", Instance::new("127.0.0.1:1")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("must not contain '/'"), "{err}");
}

/// A process that registered and is killed with SIGKILL (no deregistration)
/// disappears from clients when its lease expires, within the TTL.
#[tokio::test]
async fn sigkill_expires_within_ttl() {
    let Some(etcd) = etcd().await else { return };
    let ttl = 2;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_registers_and_waits",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ETCD_TEST_CHILD_ENDPOINT", etcd.endpoint())
        .env("ETCD_TEST_CHILD_TTL", ttl.to_string())
        .env("ETCD_TEST_CHILD_ADDR", "127.0.0.1:7100")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().unwrap();
    let registered = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .any(|l| l.is_ok_and(|l| l.contains("REGISTERED")))
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(20), registered)
            .await
            .unwrap()
            .unwrap(),
        "the child did not register"
    );

    let resolver = EtcdRegistry::new(options(&etcd, 5)).resolver("victim");
    let mut pushes = Pushes::of(&resolver);
    pushes
        .wait(Duration::from_secs(5), "the child is listed", |l| {
            addrs(l) == ["127.0.0.1:7100"]
        })
        .await;
    // Alive past its TTL: the keepalive works.
    tokio::time::sleep(Duration::from_secs(ttl + 1)).await;
    assert_eq!(
        addrs(&resolver.resolve().await.unwrap()),
        ["127.0.0.1:7100"]
    );

    child.kill().expect("SIGKILL");
    let killed = Instant::now();
    let _ = child.wait();
    pushes
        .wait(
            Duration::from_secs(ttl + 2),
            "the killed child's lease expires",
            |l| l.is_empty(),
        )
        .await;
    let gone_after = killed.elapsed();
    eprintln!("killed server gone after {gone_after:?} (TTL {ttl} s)");
    // etcd checks expiry every 500 ms; the lease was last renewed at most
    // TTL/3 before the kill, so it is gone within the TTL (plus a check).
    assert!(
        gone_after <= Duration::from_millis(ttl * 1000 + 600),
        "{gone_after:?}"
    );
}

#[tokio::test]
async fn watch_latency_under_a_second() {
    let Some(etcd) = etcd().await else { return };
    let resolver = EtcdRegistry::new(options(&etcd, 5)).resolver("fast");
    let mut pushes = Pushes::of(&resolver);
    pushes
        .wait(Duration::from_secs(5), "the first list", |l| l.is_empty())
        .await;
    let registry = EtcdRegistry::new(options(&etcd, 5));
    let me = Registration::new("fast", Instance::new("127.0.0.1:7200"));
    registry.register(&me).await.unwrap(); // connect once before timing
    pushes
        .wait(Duration::from_secs(1), "registered", |l| l.len() == 1)
        .await;

    let mut worst = Duration::ZERO;
    for round in 0..5 {
        let start = Instant::now();
        registry.deregister(&me).await.unwrap();
        pushes
            .wait(Duration::from_secs(1), "deregistered", |l| l.is_empty())
            .await;
        let gone = start.elapsed();
        let start = Instant::now();
        registry.register(&me).await.unwrap();
        pushes
            .wait(Duration::from_secs(1), "registered", |l| l.len() == 1)
            .await;
        let back = start.elapsed();
        eprintln!("round {round}: deregistration seen after {gone:?}, registration after {back:?}");
        worst = worst.max(gone).max(back);
    }
    assert!(worst < Duration::from_secs(1), "{worst:?}");
}

/// etcd goes down: the client keeps its list and says why; etcd comes
/// back: the registration is still there and new changes arrive again.
#[tokio::test]
async fn etcd_restart_is_survived() {
    let Some(mut etcd) = etcd().await else { return };
    let registry = EtcdRegistry::new(options(&etcd, 3));
    let me = Registration::new("sturdy", Instance::new("127.0.0.1:7300"));
    registry.register(&me).await.unwrap();
    let resolver = EtcdRegistry::new(options(&etcd, 3)).resolver("sturdy");
    let mut pushes = Pushes::of(&resolver);
    pushes
        .wait(Duration::from_secs(5), "listed", |l| {
            addrs(l) == ["127.0.0.1:7300"]
        })
        .await;

    etcd.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let err = resolver.resolve().await.expect_err("etcd is down");
    assert!(err.to_string().contains("etcd"), "{err}");
    // The last good list is kept.
    assert_eq!(resolver.instances(), vec![me.instance.clone()]);

    etcd.restart().await.expect("etcd restarts");
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), async {
        while resolver.resolve().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the resolver reconnects");
    eprintln!("resolver back {:?} after etcd restarted", started.elapsed());
    etcdctl(
        &etcd,
        &[
            "put",
            "kitex/registry-etcd/sturdy/127.0.0.1:7301",
            r#"{"network":"tcp","address":"127.0.0.1:7301","weight":10,"tags":{}}"#,
        ],
    );
    pushes
        .wait(Duration::from_secs(1), "a change after the restart", |l| {
            addrs(l) == ["127.0.0.1:7300", "127.0.0.1:7301"]
        })
        .await;
    // Past the TTL: the keepalive went on after the restart.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        addrs(&resolver.resolve().await.unwrap()),
        ["127.0.0.1:7300", "127.0.0.1:7301"]
    );
}

/// etcd is down when the client starts: the client says why, and finds
/// the instances once etcd is up.
#[tokio::test]
async fn etcd_down_at_start_then_up() {
    let Some(mut etcd) = etcd().await else { return };
    etcd.stop();
    let resolver = EtcdRegistry::new(options(&etcd, 3)).resolver("late");
    let err = tokio::time::timeout(Duration::from_secs(10), resolver.resolve())
        .await
        .expect("an answer while etcd is down")
        .expect_err("etcd is down");
    assert!(err.to_string().contains("etcd"), "{err}");
    assert!(resolver.instances().is_empty());

    etcd.restart().await.expect("etcd starts");
    let registry = EtcdRegistry::new(options(&etcd, 3));
    let me = Registration::new("late", Instance::new("127.0.0.1:7400"));
    registry.register(&me).await.unwrap();
    let mut pushes = Pushes::of(&resolver);
    let took = pushes
        .wait(Duration::from_secs(5), "found once etcd is up", |l| {
            addrs(l) == ["127.0.0.1:7400"]
        })
        .await;
    eprintln!("found {took:?} after registering, etcd having been down at start");
}
