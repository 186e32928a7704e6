//! Servers' side: one key per instance, attached to a lease kept alive
//! while the server runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use etcd_client::{Client, GetOptions, PutOptions};
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::JoinHandle;
use tonic_thrift::balance::{Registration, Registry, RegistryError, WatchResolver};

use crate::kitex;
use crate::options::EtcdOptions;
use crate::resolver;

/// A service registry on etcd, in Kitex's layout: servers register through
/// it ([`Registry`]) and clients find them with [`resolver`](Self::resolver).
///
/// Registering grants a lease of the configured TTL (default 60 s), puts
/// `kitex/registry-etcd/<service>/<host:port>` on it and keeps the lease
/// alive every third of the TTL in a task of its own; if etcd forgot the
/// lease (it was unreachable longer than the TTL), the entry is put again
/// on a new lease. Deregistering stops that task, deletes the key and
/// revokes the lease. A server that dies without deregistering disappears
/// when its lease expires.
///
/// The instance's weight is written as it is; Kitex servers register
/// weight 10. Kitex's resolver, and this crate's, read a weight of 0 or
/// less as the default weight (10), so weight 0 does **not** drain an
/// instance registered in etcd: deregister it instead.
///
/// The client connects on first use; a failed connection is retried on
/// the next request. Clones share the client and the registrations.
///
/// ```no_run
/// use tonic_thrift::balance::{Instance, Registration, Registry};
/// use tonic_thrift_registry_etcd::{EtcdOptions, EtcdRegistry};
///
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = EtcdRegistry::new(EtcdOptions::new(["http://127.0.0.1:2379"]));
/// let me = Registration::new("echo", Instance::new("10.0.0.1:8888").with_weight(10));
/// registry.register(&me).await?;
/// // ... serve, and on graceful shutdown:
/// registry.deregister(&me).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EtcdRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    options: EtcdOptions,
    client: AsyncMutex<Option<Client>>,
    /// Keepalive tasks by key.
    registered: Mutex<HashMap<String, Registered>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdRegistry")
            .field("options", &self.options)
            .field(
                "registered",
                &lock(&self.registered).keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

struct Registered {
    task: JoinHandle<()>,
    lease: Arc<Mutex<i64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Inner {
    fn drop(&mut self) {
        for (_, r) in lock(&self.registered).drain() {
            r.task.abort();
        }
    }
}

impl EtcdRegistry {
    /// A registry on the etcd of `options`.
    pub fn new(options: EtcdOptions) -> Self {
        EtcdRegistry {
            inner: Arc::new(Inner {
                options,
                client: AsyncMutex::new(None),
                registered: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> &EtcdOptions {
        &self.inner.options
    }

    /// A resolver for the instances of `service`: it watches
    /// `<prefix>/<service>/` (no polling) and pushes each change to the
    /// balancer at once. Give it to `BalanceOptions::new`.
    ///
    /// It reads the entries with the same options (prefix, default weight)
    /// but its own etcd connection. When etcd is unreachable it keeps the
    /// last good list, reports the error in the client's `status()`, and
    /// tries again (200 ms, doubling up to 2 s by default); when etcd is
    /// back it reads the list afresh and watches again.
    pub fn resolver(&self, service: impl Into<String>) -> WatchResolver {
        resolver::watch(self.inner.options.clone(), service.into())
    }

    /// Every entry under the prefix, every service's, as `(key, value)`
    /// in key order: what `etcdctl get --prefix kitex/registry-etcd/`
    /// shows.
    pub async fn entries(&self) -> Result<Vec<(String, String)>, RegistryError> {
        let options = &self.inner.options;
        let mut client = self.client().await.map_err(RegistryError::new)?;
        let prefix = format!("{}/", options.prefix);
        let get = client.get(prefix.as_str(), Some(GetOptions::new().with_prefix()));
        let got = options
            .timed(&format!("get {prefix}"), get)
            .await
            .map_err(RegistryError::new)?;
        Ok(got
            .kvs()
            .iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(kv.key()).into_owned(),
                    String::from_utf8_lossy(kv.value()).into_owned(),
                )
            })
            .collect())
    }

    async fn client(&self) -> Result<Client, String> {
        let mut slot = self.inner.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let client = self.inner.options.client().await?;
        *slot = Some(client.clone());
        Ok(client)
    }
}

fn check(registration: &Registration) -> Result<(), RegistryError> {
    if registration.service.is_empty() {
        return Err(RegistryError::new("missing service name in registration"));
    }
    if registration.service.contains('/') {
        return Err(RegistryError::new(format!(
            "service name {:?} must not contain '/' (it is part of the etcd key)",
            registration.service
        )));
    }
    if registration.instance.addr.is_empty() {
        return Err(RegistryError::new(format!(
            "missing address in the registration of {}",
            registration.service
        )));
    }
    Ok(())
}

/// Grants a lease and puts `key` = `value` on it.
async fn put_on_new_lease(
    options: &EtcdOptions,
    client: &mut Client,
    key: &str,
    value: &str,
) -> Result<i64, String> {
    let lease = options
        .timed("lease grant", client.lease_grant(options.ttl_secs(), None))
        .await?
        .id();
    let put = client.put(key, value, Some(PutOptions::new().with_lease(lease)));
    options.timed(&format!("put {key}"), put).await?;
    Ok(lease)
}

#[tonic::async_trait]
impl Registry for EtcdRegistry {
    async fn register(&self, registration: &Registration) -> Result<(), RegistryError> {
        check(registration)?;
        let options = &self.inner.options;
        let key = kitex::instance_key(
            &options.prefix,
            &registration.service,
            &registration.instance.addr,
        );
        let value = kitex::encode_value(&registration.instance);
        let mut client = self.client().await.map_err(RegistryError::new)?;
        let lease = put_on_new_lease(options, &mut client, &key, &value)
            .await
            .map_err(RegistryError::new)?;
        tracing::info!(key, lease, ttl = options.ttl_secs(), "registered in etcd");
        let lease = Arc::new(Mutex::new(lease));
        let task = tokio::spawn(keep_alive(
            options.clone(),
            client,
            key.clone(),
            value,
            lease.clone(),
        ));
        if let Some(old) = lock(&self.inner.registered).insert(key, Registered { task, lease }) {
            old.task.abort();
        }
        Ok(())
    }

    async fn deregister(&self, registration: &Registration) -> Result<(), RegistryError> {
        check(registration)?;
        let options = &self.inner.options;
        let key = kitex::instance_key(
            &options.prefix,
            &registration.service,
            &registration.instance.addr,
        );
        let registered = lock(&self.inner.registered).remove(&key);
        let lease = registered.map(|r| {
            r.task.abort();
            *lock(&r.lease)
        });
        let mut client = self.client().await.map_err(RegistryError::new)?;
        options
            .timed(&format!("delete {key}"), client.delete(key.as_str(), None))
            .await
            .map_err(RegistryError::new)?;
        if let Some(lease) = lease {
            // The key is gone already; an unrevoked lease only expires.
            let _ = options
                .timed("lease revoke", client.lease_revoke(lease))
                .await;
        }
        tracing::info!(key, "deregistered from etcd");
        Ok(())
    }
}

/// Keeps `lease` alive every third of the TTL; puts the entry again on a
/// new lease when etcd has forgotten the old one. Runs until aborted.
async fn keep_alive(
    options: EtcdOptions,
    mut client: Client,
    key: String,
    value: String,
    lease: Arc<Mutex<i64>>,
) {
    let every = (options.ttl / 3).max(Duration::from_millis(300));
    let mut backoff = options.retry.0;
    loop {
        let id = *lock(&lease);
        let kept = keep_once(&options, &mut client, id).await;
        let pause = match kept {
            Ok(true) => {
                backoff = options.retry.0;
                every
            }
            Ok(false) => {
                tracing::warn!(key, lease = id, "etcd forgot the lease; registering again");
                match put_on_new_lease(&options, &mut client, &key, &value).await {
                    Ok(new) => {
                        *lock(&lease) = new;
                        backoff = options.retry.0;
                        every
                    }
                    Err(e) => {
                        tracing::warn!(key, error = %e, "registering again failed");
                        next_backoff(&mut backoff, options.retry.1)
                    }
                }
            }
            Err(e) => {
                tracing::warn!(key, lease = id, error = %e, "lease keepalive failed");
                next_backoff(&mut backoff, options.retry.1)
            }
        };
        tokio::time::sleep(pause).await;
    }
}

fn next_backoff(backoff: &mut Duration, max: Duration) -> Duration {
    let pause = *backoff;
    *backoff = (*backoff * 2).min(max);
    pause
}

/// One keepalive: `Ok(false)` when the lease no longer exists.
async fn keep_once(options: &EtcdOptions, client: &mut Client, id: i64) -> Result<bool, String> {
    let once = async {
        let (mut keeper, mut stream) = client.lease_keep_alive(id).await?;
        keeper.keep_alive().await?;
        stream.message().await
    };
    match options.timed("lease keepalive", once).await? {
        Some(resp) => Ok(resp.ttl() > 0),
        None => Err("the keepalive stream ended".to_string()),
    }
}
