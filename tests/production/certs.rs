//! Test PKI made with rcgen: a CA, a server certificate for `localhost`
//! and `127.0.0.1`, a client certificate, and a second, untrusted CA.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// A certificate and its key, PEM-encoded, and the certificate's DER.
pub struct Leaf {
    pub cert: String,
    pub key: String,
    pub der: Vec<u8>,
}

/// A CA and what it signed.
pub struct Pki {
    pub ca: String,
    pub server: Leaf,
    pub client: Leaf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA cert")
}

fn leaf(issuer: &CertifiedIssuer<'static, KeyPair>, names: &[&str], cn: &str) -> Leaf {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf cert");
    Leaf {
        cert: cert.pem(),
        key: key.serialize_pem(),
        der: cert.der().to_vec(),
    }
}

/// A fresh PKI named `name`.
pub fn pki(name: &str) -> Pki {
    let ca = ca(&format!("{name} test CA"));
    Pki {
        ca: ca.pem(),
        server: leaf(&ca, &["localhost", "127.0.0.1"], "server"),
        client: leaf(&ca, &["client.test"], "client"),
    }
}
