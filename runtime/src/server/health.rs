//! The `grpc.health.v1.Health` service of a [`Router`](super::Router)
//! (feature `health`): every Thrift service added is reported `SERVING`
//! while the server runs, under its full name (`echo.TestService`) and the
//! server as a whole under `""`; a graceful shutdown reports them
//! `NOT_SERVING` before it stops taking calls.

use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

/// What the router keeps for health reporting.
#[derive(Clone)]
pub(super) struct Health {
    pub(super) reporter: HealthReporter,
}

impl Health {
    /// Reports every one of `names`, and the whole server, as `status`.
    pub(super) async fn report(&self, names: &[&'static str], status: ServingStatus) {
        for name in names.iter().copied().chain([""]) {
            self.reporter.set_service_status(name, status).await;
        }
    }
}
