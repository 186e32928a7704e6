//! Kitex's layout both ways, with keys and values written out by hand.

use std::time::Duration;

use tonic_thrift::balance::{Instance, Registration, Registry, Resolver};
use tonic_thrift_registry_etcd::EtcdRegistry;

use crate::support::{etcd, etcdctl, options, Pushes};

/// Entries a Kitex server would write (one with tags, one as a Kitex
/// server without tags or weight writes them), put with `etcdctl`, are
/// found by our resolver; another service's entries are not.
#[tokio::test]
async fn etcdctl_written_kitex_entries_are_resolved() {
    let Some(etcd) = etcd().await else { return };
    etcdctl(
        &etcd,
        &[
            "put",
            "kitex/registry-etcd/echo/10.0.0.7:8888",
            r#"{"network":"tcp","address":"10.0.0.7:8888","weight":5,"tags":{"cluster":"c1","idc":"hl"}}"#,
        ],
    );
    etcdctl(
        &etcd,
        &[
            "put",
            "kitex/registry-etcd/echo/10.0.0.8:8888",
            r#"{"network":"tcp","address":"10.0.0.8:8888","weight":0,"tags":null}"#,
        ],
    );
    etcdctl(
        &etcd,
        &[
            "put",
            "kitex/registry-etcd/echo2/10.0.0.9:8888",
            r#"{"network":"tcp","address":"10.0.0.9:8888","weight":1,"tags":{}}"#,
        ],
    );
    let resolver = EtcdRegistry::new(options(&etcd, 5)).resolver("echo");
    let found = resolver.resolve().await.expect("resolved");
    assert_eq!(
        found,
        vec![
            Instance::new("10.0.0.7:8888")
                .with_weight(5)
                .with_tag("cluster", "c1")
                .with_tag("idc", "hl"),
            // Kitex's resolver gives weight 0 the default weight, 10.
            Instance::new("10.0.0.8:8888").with_weight(10),
        ]
    );

    // A Kitex entry written later is pushed too.
    let mut pushes = Pushes::of(&resolver);
    etcdctl(
        &etcd,
        &[
            "put",
            "kitex/registry-etcd/echo/10.0.0.10:9000",
            r#"{"network":"tcp","address":"10.0.0.10:9000","weight":3,"tags":{"env":"prod"}}"#,
        ],
    );
    pushes
        .wait(Duration::from_secs(1), "the etcdctl entry is pushed", |l| {
            l.iter().any(|i| {
                i.addr == "10.0.0.10:9000"
                    && i.weight == 3
                    && i.tags.get("env").map(String::as_str) == Some("prod")
            })
        })
        .await;
}

/// What we register reads back through `etcdctl` exactly in Kitex's
/// format, attached to a lease of our TTL.
#[tokio::test]
async fn our_entry_reads_back_in_kitex_format() {
    let Some(etcd) = etcd().await else { return };
    let registry = EtcdRegistry::new(options(&etcd, 7));
    let me = Registration::new(
        "echo",
        Instance::new("127.0.0.1:9999")
            .with_weight(7)
            .with_tag("env", "prod")
            .with_tag("az", "b<1>&"),
    );
    registry.register(&me).await.expect("registered");

    let got = etcdctl(&etcd, &["get", "--prefix", "kitex/registry-etcd/"]);
    assert_eq!(
        got,
        "kitex/registry-etcd/echo/127.0.0.1:9999\n\
         {\"network\":\"tcp\",\"address\":\"127.0.0.1:9999\",\"weight\":7,\"tags\":{\"az\":\"b\\u003c1\\u003e\\u0026\",\"env\":\"prod\"}}\n"
    );

    // No tags: an empty object, as the issue's layout says.
    let bare = Registration::new("bare", Instance::new("127.0.0.1:1"));
    registry.register(&bare).await.expect("registered");
    let got = etcdctl(
        &etcd,
        &[
            "get",
            "kitex/registry-etcd/bare/127.0.0.1:1",
            "--print-value-only",
        ],
    );
    assert_eq!(
        got,
        "{\"network\":\"tcp\",\"address\":\"127.0.0.1:1\",\"weight\":1,\"tags\":{}}\n"
    );

    // Each key is on a lease of the TTL asked for.
    let leases = etcdctl(&etcd, &["lease", "list"]);
    let ids: Vec<&str> = leases.lines().skip(1).collect();
    assert_eq!(ids.len(), 2, "one lease per registration: {leases}");
    let mut attached = Vec::new();
    for id in ids {
        let ttl = etcdctl(&etcd, &["lease", "timetolive", id, "--keys"]);
        assert!(ttl.contains("granted with TTL(7s)"), "{ttl}");
        attached.push(ttl);
    }
    assert!(
        attached
            .iter()
            .any(|t| t.contains("kitex/registry-etcd/echo/127.0.0.1:9999")),
        "{attached:?}"
    );
}
