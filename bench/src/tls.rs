//! The `tls-*` rows: a CA and a server certificate for `127.0.0.1` and
//! `localhost`, made once per run with rcgen and written to a temporary
//! folder; the server and client processes find it through
//! [`DIR_ENV`], set on their command lines' environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::common::BenchResult;

/// The environment variable naming the folder of `ca.pem`, `server.pem`
/// and `server.key`.
pub(crate) const DIR_ENV: &str = "TONIC_THRIFT_BENCH_TLS_DIR";

/// The folder of this run's certificates, once made.
static DIR: OnceLock<PathBuf> = OnceLock::new();

/// The PEM files, read back by a server or client process.
pub(crate) struct Pems {
    pub(crate) ca: Vec<u8>,
    pub(crate) cert: Vec<u8>,
    pub(crate) key: Vec<u8>,
}

/// Removes the certificates' folder at the end of the run.
pub(crate) struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Makes the CA and the server certificate in a new temporary folder,
/// which later processes get through [`env`].
pub(crate) fn generate() -> BenchResult<Cleanup> {
    let dir = std::env::temp_dir().join(format!("tonic-thrift-bench-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let cleanup = Cleanup(dir.clone());
    let err = |e: rcgen::Error| format!("making the bench certificates: {e}");
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "tonic-thrift bench CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(err)?).map_err(err)?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().map_err(err)?;
    let cert = leaf.signed_by(&key, &ca).map_err(err)?;
    for (name, pem) in [
        ("ca.pem", ca.pem()),
        ("server.pem", cert.pem()),
        ("server.key", key.serialize_pem()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, pem).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    let _ = DIR.set(dir);
    Ok(cleanup)
}

/// Gives a server or client process the certificates' folder, if made.
pub(crate) fn env(cmd: &mut Command) {
    if let Some(dir) = DIR.get() {
        cmd.env(DIR_ENV, dir);
    }
}

/// The certificates, in a server or client process.
pub(crate) fn pems() -> BenchResult<Pems> {
    let dir = std::env::var_os(DIR_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| format!("a TLS system needs ${DIR_ENV} (set by the orchestrator)"))?;
    let read = |name: &str| {
        let path: PathBuf = Path::new(&dir).join(name);
        std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))
    };
    Ok(Pems {
        ca: read("ca.pem")?,
        cert: read("server.pem")?,
        key: read("server.key")?,
    })
}
