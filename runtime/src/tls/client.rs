//! [`ClientTlsConfig`]: what a client trusts and presents.

use tokio_rustls::rustls;

use super::{add_roots, certs, key, TlsError};

/// The TLS side of a client: roots to trust, the server name to verify
/// (and send as SNI), and an optional client certificate (mTLS). See
/// [`crate::tls`].
///
/// ```
/// use tonic_thrift::tls::ClientTlsConfig;
///
/// // Trust the public web PKI; verify the name in the URL.
/// let config = ClientTlsConfig::new().with_webpki_roots();
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientTlsConfig {
    /// Custom roots, PEM-encoded, each already checked to parse.
    ca_pems: Vec<Vec<u8>>,
    webpki_roots: bool,
    domain: Option<String>,
    /// Client certificate chain and key, PEM-encoded, checked to parse.
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl ClientTlsConfig {
    /// No roots yet: add [`ca_certificate`](Self::ca_certificate) or
    /// [`with_webpki_roots`](Self::with_webpki_roots).
    #[must_use]
    pub fn new() -> Self {
        ClientTlsConfig::default()
    }

    /// Trusts the CA certificates in `pem`.
    pub fn ca_certificate(mut self, pem: impl AsRef<[u8]>) -> Result<Self, TlsError> {
        let pem = pem.as_ref();
        add_roots(&mut rustls::RootCertStore::empty(), pem, "CA certificate")?;
        self.ca_pems.push(pem.to_vec());
        Ok(self)
    }

    /// Trusts the Mozilla root program's CAs (the `webpki-roots` crate), as
    /// browsers do.
    #[must_use]
    pub fn with_webpki_roots(mut self) -> Self {
        self.webpki_roots = true;
        self
    }

    /// The name the server's certificate must carry, sent as SNI (default:
    /// the host of the URL).
    #[must_use]
    pub fn domain_name(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Presents this certificate chain and key (PEM) to servers that ask
    /// for one (mTLS).
    pub fn identity(
        mut self,
        cert_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<Self, TlsError> {
        let (cert_pem, key_pem) = (cert_pem.as_ref(), key_pem.as_ref());
        certs(cert_pem, "client certificate")?;
        key(key_pem, "client key")?;
        self.identity = Some((cert_pem.to_vec(), key_pem.to_vec()));
        Ok(self)
    }

    /// The name to verify, if set.
    pub fn get_domain_name(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The same settings as tonic's client TLS configuration, for a
    /// `tonic::transport::Endpoint` (ALPN `h2` required, as tonic does).
    pub fn to_tonic(&self) -> tonic::transport::ClientTlsConfig {
        let mut config = tonic::transport::ClientTlsConfig::new();
        for pem in &self.ca_pems {
            config = config.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        if self.webpki_roots {
            config = config.with_webpki_roots();
        }
        if let Some(domain) = &self.domain {
            config = config.domain_name(domain.clone());
        }
        if let Some((cert, key)) = &self.identity {
            config = config.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        config
    }

    /// A connector for TLS clients other than tonic's (TTHeader Streaming),
    /// with no ALPN, as Kitex's clients send none there.
    pub(crate) fn connector(&self) -> Result<tokio_rustls::TlsConnector, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for pem in &self.ca_pems {
            add_roots(&mut roots, pem, "CA certificate")?;
        }
        if self.webpki_roots || self.ca_pems.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        let builder = rustls::ClientConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::with("TLS protocol versions", e))?
            .with_root_certificates(roots);
        let config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some((cert, key_pem)) => builder
                .with_client_auth_cert(
                    certs(cert, "client certificate")?,
                    key(key_pem, "client key")?,
                )
                .map_err(|e| TlsError::with("client certificate and key do not fit together", e))?,
        };
        Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
            config,
        )))
    }

    /// The name to verify and send as SNI: the configured domain, else `host`.
    pub(crate) fn server_name(
        &self,
        host: &str,
    ) -> Result<rustls_pki_types::ServerName<'static>, TlsError> {
        let name = self.domain.as_deref().unwrap_or(host);
        rustls_pki_types::ServerName::try_from(name.to_string())
            .map_err(|e| TlsError::with(format!("`{name}` is not a valid TLS server name"), e))
    }
}

/// What failed in a client's TLS connection, for the error of the call:
/// a plain phrase (unknown CA, certificate not valid for the name, client
/// certificate refused, ...) followed by rustls's own words; an I/O error
/// that is not a TLS one as it is.
pub(crate) fn describe_client_error(e: &std::io::Error) -> String {
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error};
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) else {
        return e.to_string();
    };
    let what = match tls {
        Error::InvalidCertificate(cert) => match cert {
            Cert::UnknownIssuer => {
                "the server's certificate is signed by an unknown CA (not one of the trusted roots)"
            }
            Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
                "the server's certificate is not valid for the name we connected to (name mismatch)"
            }
            Cert::Expired | Cert::ExpiredContext { .. } => "the server's certificate has expired",
            Cert::NotValidYet | Cert::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet"
            }
            Cert::Revoked => "the server's certificate is revoked",
            _ => "the server's certificate is bad",
        },
        Error::NoCertificatesPresented => "the server presented no certificate",
        Error::AlertReceived(alert) => match alert {
            Alert::CertificateRequired => {
                "the server requires a client certificate (mTLS) and none was sent"
            }
            Alert::UnknownCA => {
                "the server does not trust the CA of our client certificate (unknown CA)"
            }
            Alert::BadCertificate
            | Alert::UnsupportedCertificate
            | Alert::CertificateUnknown
            | Alert::CertificateExpired
            | Alert::CertificateRevoked => {
                "the server refused our client certificate (bad certificate)"
            }
            Alert::NoApplicationProtocol => {
                "the server wants another application protocol (ALPN mismatch)"
            }
            Alert::HandshakeFailure | Alert::ProtocolVersion | Alert::InsufficientSecurity => {
                "the server found no TLS version or cipher suite in common"
            }
            _ => "the server ended the TLS session with an alert",
        },
        _ => return tls.to_string(),
    };
    format!("{what}: {tls}")
}
