//! A registry backend plugged in through the runtime's `Registry` trait and
//! `WatchResolver`, with no change to the balancer: an in-memory store that
//! servers register in and clients watch. Weights and tags reach the
//! client's status; an outage of the store keeps the last list; the
//! backend's watch ends when the client is gone.

use crate::support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::echo::test_service_client::TestServiceClient;
use support::{req, who, TestServer};
use tokio::sync::watch;
use tonic_thrift::balance::{
    BalanceOptions, BalancedChannel, Instance, Registration, Registry, RegistryError, WatchResolver,
};
use tonic_thrift::grpc::GrpcOptions;

/// Entries by `(service, addr)`, and whether the store is reachable.
#[derive(Clone)]
struct MemoryRegistry {
    entries: Arc<watch::Sender<BTreeMap<(String, String), Instance>>>,
    up: Arc<watch::Sender<bool>>,
    watch_ended: Arc<AtomicBool>,
}

impl MemoryRegistry {
    fn new() -> Self {
        MemoryRegistry {
            entries: Arc::new(watch::Sender::new(BTreeMap::new())),
            up: Arc::new(watch::Sender::new(true)),
            watch_ended: Arc::default(),
        }
    }

    /// A resolver watching `service`: pushes on every change.
    fn resolver(&self, service: &str) -> WatchResolver {
        let store = self.clone();
        let service = service.to_string();
        WatchResolver::new(format!("memory:{service}"), move |publisher| {
            tokio::spawn(async move {
                let mut entries = store.entries.subscribe();
                let mut up = store.up.subscribe();
                loop {
                    if *up.borrow_and_update() {
                        let list = entries
                            .borrow_and_update()
                            .iter()
                            .filter(|((s, _), _)| *s == service)
                            .map(|(_, i)| i.clone())
                            .collect();
                        publisher.publish(list);
                    } else {
                        publisher.fail("the store is unreachable");
                    }
                    tokio::select! {
                        _ = entries.changed() => {}
                        _ = up.changed() => {}
                        _ = publisher.closed() => break,
                    }
                }
                store.watch_ended.store(true, Ordering::SeqCst);
            });
        })
    }
}

#[tonic::async_trait]
impl Registry for MemoryRegistry {
    async fn register(&self, r: &Registration) -> Result<(), RegistryError> {
        if !*self.up.borrow() {
            return Err(RegistryError::new("the store is unreachable"));
        }
        self.entries.send_modify(|m| {
            m.insert(
                (r.service.clone(), r.instance.addr.clone()),
                r.instance.clone(),
            );
        });
        Ok(())
    }

    async fn deregister(&self, r: &Registration) -> Result<(), RegistryError> {
        self.entries.send_modify(|m| {
            m.remove(&(r.service.clone(), r.instance.addr.clone()));
        });
        Ok(())
    }
}

async fn answers(client: &mut TestServiceClient<BalancedChannel>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        match client.echo_unary(req(&format!("{i}"))).await {
            Ok(r) => out.push(who(&r.into_inner().message).to_string()),
            Err(s) => out.push(format!("error {:?}", s.code())),
        }
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn a_registry_backend_plugs_into_the_balancer() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let registry = MemoryRegistry::new();
    let ra = Registration::new(
        "echo",
        Instance::new(a.addr())
            .with_weight(3)
            .with_tag("zone", "z1"),
    );
    let rb = Registration::new("echo", Instance::new(b.addr()).with_tag("zone", "z2"));
    registry.register(&ra).await.unwrap();
    registry.register(&rb).await.unwrap();
    // Another service's entry is not ours.
    let other = TestServer::start("other").await;
    registry
        .register(&Registration::new("other", Instance::new(other.addr())))
        .await
        .unwrap();

    let channel = BalancedChannel::new(BalanceOptions::new(registry.resolver("echo")));
    let mut client = TestServiceClient::with_options(channel.clone(), GrpcOptions::default());
    assert_eq!(answers(&mut client, 6).await, ["a", "b"]);
    // Weights and tags from the registry are what the balancer sees.
    let status = channel.status();
    let mut listed: Vec<(u32, Option<&str>)> = status
        .instances
        .iter()
        .map(|i| {
            (
                i.instance.weight,
                i.instance.tags.get("zone").map(String::as_str),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, [(1, Some("z2")), (3, Some("z1"))]);

    // Deregistered: pushed, so the very next calls avoid it.
    registry.deregister(&ra).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(answers(&mut client, 6).await, ["b"]);

    // The store goes away: the last list is kept, the error is reported.
    registry.up.send_replace(false);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(answers(&mut client, 4).await, ["b"]);
    let error = channel.status().resolver_error;
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("the store is unreachable")),
        "{error:?}"
    );
    // Back: the list is read again and the error cleared.
    registry.up.send_replace(true);
    registry.register(&ra).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(answers(&mut client, 6).await, ["a", "b"]);
    assert_eq!(channel.status().resolver_error, None);

    // The client is gone: the backend's watch ends.
    drop(client);
    drop(channel);
    tokio::time::timeout(Duration::from_secs(2), async {
        while !registry.watch_ended.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the watch ended with its last client");
}
