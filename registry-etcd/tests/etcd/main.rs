//! The etcd registry against a real etcd server (Debian's `etcd-server`,
//! on loopback ports in a temporary directory, one per test). Skipped
//! when etcd is not installed, unless `TONIC_THRIFT_REQUIRE_ETCD=1`.

mod golden;
mod lifecycle;
mod support;

/// Not a test on its own: the process `lifecycle::sigkill_expires_within_ttl`
/// starts and kills. It registers, says so on stdout, and waits to die.
#[tokio::test]
async fn child_registers_and_waits() {
    let Ok(endpoint) = std::env::var("ETCD_TEST_CHILD_ENDPOINT") else {
        return;
    };
    use tonic_thrift::balance::{Instance, Registration, Registry};
    let ttl: u64 = std::env::var("ETCD_TEST_CHILD_TTL")
        .unwrap()
        .parse()
        .unwrap();
    let addr = std::env::var("ETCD_TEST_CHILD_ADDR").unwrap();
    let registry = tonic_thrift_registry_etcd::EtcdRegistry::new(
        tonic_thrift_registry_etcd::EtcdOptions::new([endpoint])
            .ttl(std::time::Duration::from_secs(ttl)),
    );
    registry
        .register(&Registration::new("victim", Instance::new(addr)))
        .await
        .unwrap();
    println!("REGISTERED");
    std::future::pending::<()>().await;
}
