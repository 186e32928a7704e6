//! [`ServerTlsConfig`] and the handshake of an accepted connection.

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;

use super::{add_roots, certs, key, provider, PeerCertificates, TlsError};

/// The TLS side of a [`Server`](crate::Server): its certificate and key,
/// and for mTLS the CA of client certificates. See [`crate::tls`].
#[derive(Clone)]
pub struct ServerTlsConfig {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    client_roots: Option<rustls::RootCertStore>,
    client_auth_optional: bool,
    allow_plaintext: bool,
}

impl std::fmt::Debug for ServerTlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTlsConfig")
            .field("chain_len", &self.chain.len())
            .field("mtls", &self.client_roots.is_some())
            .field("client_auth_optional", &self.client_auth_optional)
            .field("allow_plaintext", &self.allow_plaintext)
            .finish_non_exhaustive()
    }
}

impl ServerTlsConfig {
    /// A server identity from PEM: the certificate chain (end-entity
    /// first) and its private key (PKCS#8, PKCS#1 or SEC1).
    pub fn new(cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Result<Self, TlsError> {
        let config = ServerTlsConfig {
            chain: certs(cert_pem.as_ref(), "server certificate")?,
            key: Arc::new(key(key_pem.as_ref(), "server key")?),
            client_roots: None,
            client_auth_optional: false,
            allow_plaintext: false,
        };
        // Fail here, not at the first connection, on a key that does not
        // match its certificate.
        config.rustls()?;
        Ok(config)
    }

    /// Requires client certificates signed by a CA in `ca_pem` (mTLS); a
    /// client without one, or with one from another CA, fails the
    /// handshake. Call it again to trust several CAs.
    pub fn client_ca(mut self, ca_pem: impl AsRef<[u8]>) -> Result<Self, TlsError> {
        let roots = self
            .client_roots
            .get_or_insert_with(rustls::RootCertStore::empty);
        add_roots(roots, ca_pem.as_ref(), "client CA certificate")?;
        Ok(self)
    }

    /// With [`client_ca`](Self::client_ca): also serves clients that send
    /// no certificate (their calls carry no [`PeerCertificates`]); a
    /// certificate that is sent must still verify. Default: required.
    #[must_use]
    pub fn client_auth_optional(mut self, optional: bool) -> Self {
        self.client_auth_optional = optional;
        self
    }

    /// Also serves plaintext connections on the same port, told apart from
    /// TLS by their first byte (default: refused). See [`crate::tls`].
    #[must_use]
    pub fn allow_plaintext(mut self, allow: bool) -> Self {
        self.allow_plaintext = allow;
        self
    }

    fn rustls(&self) -> Result<rustls::ServerConfig, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::with("TLS protocol versions", e))?;
        let builder = match &self.client_roots {
            None => builder.with_no_client_auth(),
            Some(roots) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots.clone()),
                    provider(),
                );
                let verifier = if self.client_auth_optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| TlsError::with("client CA certificates", e))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| TlsError::with("server certificate and key do not fit together", e))?;
        // gRPC needs h2; Thrift clients offer no ALPN and are served.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(config)
    }

    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        Ok(TlsAcceptor {
            inner: tokio_rustls::TlsAcceptor::from(Arc::new(self.rustls()?)),
            allow_plaintext: self.allow_plaintext,
        })
    }
}

/// What the server's accept path holds: the rustls acceptor and whether
/// plaintext is served beside it.
#[derive(Clone)]
pub(crate) struct TlsAcceptor {
    inner: tokio_rustls::TlsAcceptor,
    pub(crate) allow_plaintext: bool,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("allow_plaintext", &self.allow_plaintext)
            .finish_non_exhaustive()
    }
}

/// The first byte of a TLS connection: a handshake record.
pub(crate) const TLS_HANDSHAKE_RECORD: u8 = 0x16;

impl TlsAcceptor {
    /// The server side of a handshake over `io`, and the client's verified
    /// certificates if it sent any.
    pub(crate) async fn accept<IO>(
        &self,
        io: IO,
    ) -> std::io::Result<(TlsStream<IO>, Option<PeerCertificates>)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let tls = self.inner.accept(io).await?;
        let certs = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| PeerCertificates::new(c.to_vec()));
        Ok((tls, certs))
    }
}
