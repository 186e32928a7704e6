//! A Prometheus endpoint: a meter provider whose metrics a scrape reads,
//! and a small HTTP server that answers `GET /metrics`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tonic_thrift_otel::{PrometheusMetrics, Telemetry};
//!
//! let metrics = PrometheusMetrics::new()?;
//! let telemetry = Telemetry::builder()
//!     .meter_provider(metrics.meter_provider())
//!     .build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9464").await?;
//! tokio::spawn(metrics.clone().serve(listener));
//! # let _ = telemetry;
//! # Ok(())
//! # }
//! ```

use std::io;

use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head the endpoint reads.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Metrics kept for Prometheus to scrape: a meter provider to give to
/// [`TelemetryBuilder::meter_provider`](crate::TelemetryBuilder::meter_provider)
/// and the text a scrape returns.
#[derive(Clone, Debug)]
pub struct PrometheusMetrics {
    registry: prometheus::Registry,
    provider: SdkMeterProvider,
}

/// The exporter could not be set up.
#[derive(Debug)]
pub struct PrometheusError(String);

impl std::fmt::Display for PrometheusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot set up the Prometheus exporter: {}", self.0)
    }
}

impl std::error::Error for PrometheusError {}

impl PrometheusMetrics {
    /// A fresh registry with an OpenTelemetry meter provider exporting to it.
    pub fn new() -> Result<Self, PrometheusError> {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| PrometheusError(e.to_string()))?;
        let provider = SdkMeterProvider::builder().with_reader(exporter).build();
        Ok(PrometheusMetrics { registry, provider })
    }

    /// The meter provider whose instruments this endpoint exposes.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// The current metrics in Prometheus' text format, as a scrape gets them.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode the Prometheus metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Answers `GET /metrics` on `listener` until the task is dropped; other
    /// paths get 404. One short-lived HTTP/1.1 exchange per connection.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        loop {
            let (conn, _) = listener.accept().await?;
            let me = self.clone();
            tokio::spawn(async move {
                if let Err(e) = me.answer(conn).await {
                    tracing::debug!(error = %e, "a metrics scrape failed");
                }
            });
        }
    }

    async fn answer(&self, mut conn: TcpStream) -> io::Result<()> {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if head.len() > MAX_REQUEST_HEAD {
                return conn
                    .write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
            let n = conn.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
        let mut parts = line.split(|b| *b == b' ');
        let (method, path) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let path = path.split(|b| *b == b'?').next().unwrap_or_default();
        let (status, body) = match (method, path) {
            (b"GET", b"/metrics") => ("200 OK", self.render()),
            _ => ("404 Not Found", "only GET /metrics is served\n".to_string()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(response.as_bytes()).await?;
        conn.shutdown().await
    }
}
