//! Starting the Apache Thrift Python peer (`tests/python/apache_peer.py`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// The protocol × transport combinations every test runs.
pub(crate) const COMBINATIONS: [(&str, &str); 12] = [
    ("binary", "framed"),
    ("binary", "buffered"),
    ("binary", "header"),
    ("compact", "framed"),
    ("compact", "buffered"),
    ("compact", "header"),
    ("binary", "mux-framed"),
    ("binary", "mux-buffered"),
    ("binary", "mux-header"),
    ("compact", "mux-framed"),
    ("compact", "mux-buffered"),
    ("compact", "mux-header"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    root().join("tests/python/apache_peer.py")
}

/// Generates the Python side of `idl/thrift_test.thrift` with Debian's
/// `thrift` compiler (once per test binary), returning its directory; or
/// `None` (after a skip notice) when the peer is missing and not required.
pub(crate) fn generated() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let required = crate::python_env::required();
        let python = Command::new("python3")
            .args(["-c", "import thrift.protocol.TCompactProtocol"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let compiler = Command::new("thrift")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !(python && compiler) {
            let why =
                "needs python3 with Apache Thrift's library (`python3 -m pip install thrift`) \
                       and the `thrift` compiler (`apt-get install thrift-compiler`)";
            assert!(
                !required,
                "TONIC_THRIFT_REQUIRE_PYTHON is set but the Apache peer {why}"
            );
            println!("skipped: the Apache Thrift peer {why}");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("tonic-thrift-apache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the directory for generated Python");
        let out = Command::new("thrift")
            .args(["--gen", "py", "-out"])
            .arg(&dir)
            .arg(root().join("idl/thrift_test.thrift"))
            .output()
            .expect("run thrift --gen py");
        assert!(
            out.status.success(),
            "thrift --gen py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir)
    })
    .as_deref()
}

/// A running Apache Python server; stops when dropped.
pub(crate) struct PyServer {
    child: Child,
    stdin: Option<ChildStdin>,
    _stdout: BufReader<ChildStdout>,
    pub(crate) port: u16,
}

impl PyServer {
    pub(crate) fn start(gen: &Path, protocol: &str, transport: &str) -> Self {
        let mut child = Command::new("python3")
            .arg(script())
            .arg(gen)
            .args(["server", protocol, transport])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Apache Python server");
        let stdin = child.stdin.take();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut line).expect("read the server's port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the Apache server did not print its port: {line:?}"));
        PyServer {
            child,
            stdin,
            _stdout: out,
            port,
        }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        // Closing stdin ends the server; kill it in case it hangs.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs Apache's Python client against `port`; returns its stdout, or its
/// stdout and stderr as the error when it fails.
pub(crate) fn run_client(
    gen: &Path,
    protocol: &str,
    transport: &str,
    port: u16,
) -> Result<String, String> {
    let out = Command::new("python3")
        .arg(script())
        .arg(gen)
        .args(["client", protocol, transport, &port.to_string()])
        .output()
        .expect("run the Apache Python client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
