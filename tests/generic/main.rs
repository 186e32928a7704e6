//! tonic-thrift-generic end to end: JSON ⇄ Thrift Binary against golden
//! payloads (Kitex's JSON generic tests), the generated code and thriftpy2;
//! the generic client and server against generated ones and the Kitex peer.
//!
//! One test binary; each file is a module.

mod e2e;
mod kitex;
#[path = "../support/listening.rs"]
mod listening;
#[path = "../support/python.rs"]
mod python_env;
mod thriftpy;
mod transcode;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tonic_thrift_build::descriptor::{self, Descriptor, Ty};

/// A file of the repository.
pub(crate) fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The descriptor of an IDL file of the repository.
pub(crate) fn load(path: &str) -> Arc<Descriptor> {
    Arc::new(descriptor::load(&repo(path), &[], None).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// A named type of `desc`.
pub(crate) fn ty(desc: &Descriptor, name: &str) -> Ty {
    let (id, _) = desc
        .type_by_name(name)
        .unwrap_or_else(|| panic!("no type {name}"));
    Ty::Named(id)
}
