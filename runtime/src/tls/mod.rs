//! TLS and mutual TLS (feature `tls`): rustls with the ring provider.
//!
//! # Server
//!
//! [`Server::tls_config`](crate::Server::tls_config) takes a
//! [`ServerTlsConfig`]: the server's certificate chain and key and,
//! optionally, the CA that signs client certificates (mTLS). Every
//! connection then starts with a TLS handshake, within the server's
//! handshake timeout, and the protocol is detected on the decrypted bytes:
//! gRPC (HTTP/2), TTHeader Streaming, and ping-pong (TTHeader, Framed,
//! Buffered) all share the one TLS port, as they share the plaintext one.
//! The server offers ALPN `h2`; a client that offers only other protocols
//! is refused with a `no_application_protocol` alert, and a client that
//! offers none (Thrift clients) is served.
//!
//! **Plaintext next to TLS.** A TLS port refuses plaintext by default: a
//! connection whose first byte is not a TLS handshake record (`0x16`) is
//! closed and logged ("plaintext client on a TLS port"), so a
//! misconfigured client fails at once instead of sending its calls in
//! clear; a plaintext HTTP/2 client is first sent
//! `GOAWAY(INADEQUATE_SECURITY, "this port requires TLS: connect with
//! https")`, which gRPC libraries show in their error. [`ServerTlsConfig::allow_plaintext`] serves both side by side on
//! one port (for a migration), told apart by that first byte.
//!
//! **Peer identity.** With mTLS, the client's verified certificate chain is
//! put in every call's request extensions as [`PeerCertificates`]: a
//! middleware sees it in [`Call::extensions`](crate::call::Call::extensions)
//! and a handler in `request.extensions()`, on gRPC, TTHeader Streaming
//! and ping-pong calls alike.
//!
//! # Clients
//!
//! [`ClientTlsConfig`] names the roots to trust (custom CA certificates,
//! the webpki roots, or both), the name to verify and send as SNI, and a
//! client certificate for mTLS. Give it to
//! [`GrpcOptions::tls`](crate::grpc::GrpcOptions::tls) and connect to an
//! `https://` URL: gRPC goes over tonic's TLS (ALPN `h2` required), and
//! streams sent with TTHeader Streaming over rustls without ALPN, as Kitex.
//! Give it to [`PingPongOptions::tls`](crate::pingpong::PingPongOptions::tls)
//! and the ping-pong client ([`PingPongClient`](crate::pingpong::PingPongClient),
//! single-address or balanced) opens every pooled connection with a TLS
//! handshake, without ALPN as Thrift clients, in any framing (TTHeader,
//! Framed, Buffered, THeader); SNI and the name verified are
//! [`ClientTlsConfig::domain_name`], else the host of the address.
//!
//! A client's TLS failure is its call's `UNAVAILABLE` error and says what
//! failed: "the server's certificate is signed by an unknown CA", "not
//! valid for the name we connected to (name mismatch)", "the server
//! requires a client certificate (mTLS) and none was sent", "the server
//! does not trust the CA of our client certificate", each followed by
//! rustls's own words. (In TLS 1.3 the server refuses a client certificate
//! after the client's side of the handshake is done, so a ping-pong call
//! sees that refusal when reading its reply.)
//!
//! ```no_run
//! use tonic_thrift::grpc::GrpcOptions;
//! use tonic_thrift::tls::{ClientTlsConfig, ServerTlsConfig};
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (cert, key, ca) = (std::fs::read("server.pem")?, std::fs::read("server.key")?, std::fs::read("ca.pem")?);
//! let server = tonic_thrift::Server::builder()
//!     .tls_config(ServerTlsConfig::new(&cert, &key)?.client_ca(&ca)?)?;
//! let client_tls = ClientTlsConfig::new()
//!     .ca_certificate(&ca)?
//!     .domain_name("echo.example")
//!     .identity(std::fs::read("client.pem")?, std::fs::read("client.key")?)?;
//! // gRPC (and TTHeader Streaming) to an `https://` URL ...
//! let options = GrpcOptions::default().tls(client_tls.clone());
//! // ... and ping-pong Thrift to `host:port`.
//! let pingpong = tonic_thrift::pingpong::PingPongOptions::default().tls(client_tls);
//! # let _ = (server, options, pingpong);
//! # Ok(())
//! # }
//! ```

mod client;
pub(crate) mod server;

pub(crate) use client::describe_client_error;
pub use client::ClientTlsConfig;
pub use server::ServerTlsConfig;
pub(crate) use server::TlsAcceptor;

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

/// A TLS configuration that cannot be used: a PEM that does not parse, a
/// key that does not match its certificate, an empty CA list.
#[derive(Debug)]
pub struct TlsError {
    what: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TlsError {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        TlsError {
            what: what.into(),
            source: None,
        }
    }

    pub(crate) fn with(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        TlsError {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {s}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The certificate chain a TLS peer presented and the server verified
/// (mTLS), end-entity certificate first. Servers put it in the request
/// extensions of every call on a TLS connection whose client sent one.
#[derive(Debug, Clone)]
pub struct PeerCertificates(Arc<Vec<CertificateDer<'static>>>);

impl PeerCertificates {
    pub(crate) fn new(chain: Vec<CertificateDer<'static>>) -> Option<Self> {
        (!chain.is_empty()).then(|| PeerCertificates(Arc::new(chain)))
    }

    /// The whole chain, DER-encoded, end-entity certificate first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.0
    }

    /// The peer's own (end-entity) certificate, DER-encoded.
    pub fn end_entity(&self) -> &CertificateDer<'static> {
        // `new` refuses an empty chain.
        &self.0[0]
    }
}

/// The crypto provider of every TLS configuration here: ring.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in `pem`; `what` names it in errors.
fn certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::with(format!("{what}: not a PEM certificate"), e))?;
    if certs.is_empty() {
        return Err(TlsError::new(format!(
            "{what}: no `BEGIN CERTIFICATE` block in the PEM"
        )));
    }
    Ok(certs)
}

/// The private key in `pem` (PKCS#8, PKCS#1 or SEC1).
fn key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| TlsError::with(format!("{what}: no private key in the PEM"), e))
}

/// A root store of every certificate in `pem`.
fn add_roots(store: &mut rustls::RootCertStore, pem: &[u8], what: &str) -> Result<(), TlsError> {
    for cert in certs(pem, what)? {
        store
            .add(cert)
            .map_err(|e| TlsError::with(format!("{what}: not a usable CA certificate"), e))?;
    }
    Ok(())
}
