//! Where etcd is and how the registry uses it.

use std::time::Duration;

use etcd_client::{Client, ConnectOptions};

use crate::kitex::{DEFAULT_PREFIX, DEFAULT_WEIGHT};

/// How to reach etcd and how to lay entries out in it.
///
/// Defaults: Kitex's prefix `kitex/registry-etcd`, a lease TTL of 60 s (as
/// Kitex), weight 10 for entries with weight 0 or less (as Kitex's
/// resolver), each etcd request given 3 s, connections given 1 s, and a
/// retry after a failure starting at 200 ms and doubling up to 2 s.
///
/// ```
/// use std::time::Duration;
/// use tonic_thrift_registry_etcd::EtcdOptions;
///
/// let options = EtcdOptions::new(["http://127.0.0.1:2379"]).ttl(Duration::from_secs(10));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct EtcdOptions {
    pub(crate) endpoints: Vec<String>,
    pub(crate) prefix: String,
    pub(crate) ttl: Duration,
    pub(crate) default_weight: u32,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: (Duration, Duration),
    pub(crate) user: Option<(String, String)>,
}

impl EtcdOptions {
    /// etcd at these endpoints (`http://host:port`), with the defaults.
    pub fn new<E: Into<String>>(endpoints: impl IntoIterator<Item = E>) -> Self {
        EtcdOptions {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            prefix: DEFAULT_PREFIX.to_string(),
            ttl: Duration::from_secs(60),
            default_weight: DEFAULT_WEIGHT,
            request_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
            retry: (Duration::from_millis(200), Duration::from_secs(2)),
            user: None,
        }
    }

    /// The key prefix (default `kitex/registry-etcd`; no trailing `/`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().trim_end_matches('/').to_string();
        self
    }

    /// The TTL of a server's lease (default 60 s; whole seconds, at least
    /// 1): a server that dies without deregistering disappears within it.
    /// The lease is kept alive every third of it.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// The weight given to entries whose weight is 0 or less (default 10,
    /// as Kitex).
    pub fn default_weight(mut self, weight: u32) -> Self {
        self.default_weight = weight;
        self
    }

    /// How long one etcd request may take (default 3 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long connecting to etcd may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The pause after a failure before trying etcd again: `initial`
    /// (default 200 ms), doubled after each further failure up to `max`
    /// (default 2 s).
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.retry = (initial, max.max(initial));
        self
    }

    /// Authenticates as `user` with `password`.
    pub fn user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = Some((user.into(), password.into()));
        self
    }

    pub(crate) fn ttl_secs(&self) -> i64 {
        i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX).max(1)
    }

    /// A client (connections are made lazily, and remade after a failure).
    pub(crate) async fn client(&self) -> Result<Client, String> {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_keep_alive(Duration::from_secs(5), Duration::from_secs(3));
        if let Some((user, password)) = &self.user {
            options = options.with_user(user.clone(), password.clone());
        }
        let connect = Client::connect(&self.endpoints, Some(options));
        match tokio::time::timeout(self.request_timeout, connect).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(format!(
                "cannot connect to etcd at {}: {e}",
                self.endpoints.join(",")
            )),
            Err(_) => Err(format!(
                "cannot connect to etcd at {}: timed out",
                self.endpoints.join(",")
            )),
        }
    }

    /// Runs one etcd request under the request timeout.
    pub(crate) async fn timed<T>(
        &self,
        what: &str,
        request: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(self.request_timeout, request).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("etcd {what} failed: {e}")),
            Err(_) => Err(format!(
                "etcd {what} timed out after {:?}",
                self.request_timeout
            )),
        }
    }
}
