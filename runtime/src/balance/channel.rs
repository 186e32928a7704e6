//! A gRPC transport that balances streams over the instances of a service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tower::ServiceExt;

use super::cluster::{BalanceOptions, Cluster, ClusterStatus, Outcome};
use super::lb::PickRequest;
use super::resolver::Instance;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

type EndpointFn = Arc<dyn Fn(Endpoint) -> Endpoint + Send + Sync>;

/// A gRPC transport over the instances of a service: give it to
/// `GrpcClient::with_options` or to a generated
/// `XxxClient::new` / `with_options`.
///
/// Each new stream or call (each HTTP/2 request) goes to the instance the
/// load balancer picks; its messages then all go there (as in Kitex,
/// balancing acts when a stream is created). Each instance has one
/// lazily-connected HTTP/2 connection (`tonic::transport::Channel`), made
/// on its first stream (connect timeout 1 s by default, see
/// [`with_endpoint`](Self::with_endpoint)) and kept while the resolver
/// lists the instance.
///
/// The circuit breakers see how each stream creation ended: a transport
/// error or a timeout before the response headers, or the `grpc-status` of a
/// trailers-only response (an error status returned by the handler, a
/// server limit). A stream whose response headers arrived counts as a
/// success; later errors on it are not seen (nor in Kitex). An instance
/// that fails to connect is skipped (see `BalanceOptions::connect_backoff`).
/// Nothing is retried.
///
/// When no instance can take the stream, it fails at once with
/// `UNAVAILABLE` (`no instances: …`, `circuit open …` or
/// `no available instance …`) without touching the network.
///
/// ```no_run
/// use tonic_thrift::balance::{BalanceOptions, BalancedChannel};
/// use tonic_thrift::grpc::{GrpcClient, GrpcOptions};
///
/// # async fn f() {
/// let channel = BalancedChannel::new(BalanceOptions::from_addrs(["10.0.0.1:8888", "10.0.0.2:8888"]));
/// let client = GrpcClient::with_options(channel, GrpcOptions::default());
/// # let _ = client;
/// # }
/// ```
#[derive(Clone)]
pub struct BalancedChannel {
    cluster: Arc<Cluster<Channel>>,
}

impl fmt::Debug for BalancedChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BalancedChannel")
            .field("options", self.cluster.options())
            .finish()
    }
}

impl BalancedChannel {
    /// Balances over the instances `balance` finds; connections time out
    /// after 1 s.
    pub fn new(balance: BalanceOptions) -> Self {
        let defaults = crate::grpc::GrpcOptions::default();
        Self::with_endpoint(balance, move |e| defaults.configure_endpoint(e))
    }

    /// Like [`new`](Self::new), with each instance's endpoint shaped by
    /// `endpoint` (connect timeout, keep-alive, TLS…).
    pub fn with_endpoint<F>(balance: BalanceOptions, endpoint: F) -> Self
    where
        F: Fn(Endpoint) -> Endpoint + Send + Sync + 'static,
    {
        let endpoint: EndpointFn = Arc::new(endpoint);
        let cluster = Cluster::new(balance, move |instance: &Instance| {
            let uri = if instance.addr.contains("://") {
                instance.addr.clone()
            } else {
                format!("http://{}", instance.addr)
            };
            let e = Endpoint::from_shared(uri).map_err(|e| e.to_string())?;
            Ok(endpoint(e).connect_lazy())
        });
        BalancedChannel {
            cluster: Arc::new(cluster),
        }
    }

    /// The instances, their breakers and health, as of the last stream
    /// created.
    pub fn status(&self) -> ClusterStatus {
        self.cluster.status()
    }
}

/// `/pkg.Service/Method` → (`Service`, `Method`).
fn names(path: &str) -> (&str, &str) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or("");
    let method = parts.next().unwrap_or("");
    (service.rsplit('.').next().unwrap_or(service), method)
}

/// Whether an error is (or wraps) a failure to connect.
fn is_connect_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<tonic::ConnectError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// An error and its sources, joined with `: `, repeated messages dropped.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// How a response's headers end the stream's creation.
fn response_outcome<B>(cluster: &Cluster<Channel>, resp: &http::Response<B>) -> Outcome {
    let headers = resp.headers();
    let Some(code) = headers
        .get("grpc-status")
        .map(|v| Code::from_bytes(v.as_bytes()))
    else {
        if resp.status().is_success() {
            return Outcome::Success;
        }
        // Not gRPC (a proxy's error page): tonic reports it from the HTTP
        // status (503 → UNAVAILABLE…).
        return Outcome::Failure;
    };
    if code == Code::Ok {
        return Outcome::Success;
    }
    // Built by hand: `Status::from_header_map` panics on a malformed
    // `grpc-status-details`.
    let metadata = tonic::metadata::MetadataMap::from_headers(headers.clone());
    let status = Status::with_metadata(code, "", metadata);
    if cluster.is_failure(&status) {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for BalancedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The instance is chosen per request, in `call`; its channel is
        // made ready there.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let cluster = self.cluster.clone();
        Box::pin(async move {
            let picked = {
                let (service, method) = names(req.uri().path());
                let request = PickRequest::new(service, method, req.headers(), req.extensions());
                cluster.pick(&request, &[]).await
            };
            let picked = picked.map_err(|s| Box::new(s) as BoxError)?;
            let channel = picked.state.conn.clone();
            let result = channel.oneshot(req).await;
            let outcome = match &result {
                Ok(resp) => response_outcome(&cluster, resp),
                Err(e) if is_connect_error(e) => Outcome::ConnectFailure,
                Err(_) => Outcome::Failure,
            };
            let addr = picked.state.addr.clone();
            cluster.report(picked, outcome);
            result.map_err(|e| match outcome {
                // Say where: tonic's own message is only "tcp connect error".
                Outcome::ConnectFailure => Box::new(Status::unavailable(format!(
                    "connecting to {addr} failed: {}",
                    chain(&e)
                ))) as BoxError,
                _ => e.into(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_paths() {
        assert_eq!(names("/echo.TestService/Echo"), ("TestService", "Echo"));
        assert_eq!(names("/TestService/Echo"), ("TestService", "Echo"));
        assert_eq!(names("/"), ("", ""));
    }
}
