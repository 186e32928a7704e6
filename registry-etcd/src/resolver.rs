//! Clients' side: read the service's prefix, then watch it from the
//! revision read, pushing every change; start again after a failure.

use std::collections::BTreeMap;
use std::time::Duration;

use etcd_client::{EventType, GetOptions, KeyValue, WatchOptions};
use tonic_thrift::balance::{Instance, WatchPublisher, WatchResolver};

use crate::kitex;
use crate::options::EtcdOptions;

/// A resolver watching the instances of `service`.
pub(crate) fn watch(options: EtcdOptions, service: String) -> WatchResolver {
    let prefix = kitex::service_prefix(&options.prefix, &service);
    let name = format!("etcd:{prefix}");
    WatchResolver::new(name, move |publisher| {
        tokio::spawn(run(options, prefix, publisher));
    })
}

/// The entries under the prefix, by key.
struct Entries {
    by_key: BTreeMap<Vec<u8>, Instance>,
    default_weight: u32,
}

impl Entries {
    fn put(&mut self, kv: &KeyValue) {
        match kitex::decode_value(kv.value(), self.default_weight) {
            Ok(instance) => {
                self.by_key.insert(kv.key().to_vec(), instance);
            }
            Err(e) => {
                tracing::warn!(
                    key = %String::from_utf8_lossy(kv.key()),
                    error = %e,
                    "ignoring an etcd entry not in Kitex's format"
                );
                self.by_key.remove(kv.key());
            }
        }
    }

    fn list(&self) -> Vec<Instance> {
        self.by_key.values().cloned().collect()
    }
}

async fn run(options: EtcdOptions, prefix: String, publisher: WatchPublisher) {
    let mut backoff = options.retry.0;
    loop {
        let session = tokio::select! {
            r = session(&options, &prefix, &publisher, &mut backoff) => r,
            _ = publisher.closed() => return,
        };
        let Err(e) = session;
        tracing::warn!(prefix, error = %e, "etcd watch failed; keeping the last good list");
        publisher.fail(format!("etcd watch of {prefix}: {e}"));
        let pause = backoff;
        backoff = (backoff * 2).min(options.retry.1);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = publisher.closed() => return,
        }
    }
}

/// Reads the prefix, publishes it, then follows its changes until
/// something fails.
async fn session(
    options: &EtcdOptions,
    prefix: &str,
    publisher: &WatchPublisher,
    backoff: &mut Duration,
) -> Result<std::convert::Infallible, String> {
    let mut client = options.client().await?;
    let get = client.get(prefix, Some(GetOptions::new().with_prefix()));
    let got = options.timed(&format!("get {prefix}"), get).await?;
    let revision = got
        .header()
        .map(|h| h.revision())
        .ok_or("etcd answered without a revision")?;
    let mut entries = Entries {
        by_key: BTreeMap::new(),
        default_weight: options.default_weight,
    };
    for kv in got.kvs() {
        entries.put(kv);
    }
    let watch_options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1);
    let watch = client.watch(prefix, Some(watch_options));
    let mut stream = options.timed(&format!("watch {prefix}"), watch).await?;
    publisher.publish(entries.list());
    *backoff = options.retry.0;
    loop {
        let resp = stream
            .message()
            .await
            .map_err(|e| format!("the watch broke: {e}"))?
            .ok_or("etcd closed the watch")?;
        if resp.canceled() {
            return Err(format!(
                "etcd cancelled the watch: {}",
                resp.cancel_reason()
            ));
        }
        if resp.events().is_empty() {
            continue;
        }
        for event in resp.events() {
            let Some(kv) = event.kv() else { continue };
            match event.event_type() {
                EventType::Put => entries.put(kv),
                EventType::Delete => {
                    entries.by_key.remove(kv.key());
                }
            }
        }
        publisher.publish(entries.list());
    }
}
