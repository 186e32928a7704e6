//! A throwaway single-member etcd server, for tests and demos.

use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An etcd server of its own: the `etcd` binary (Debian package
/// `etcd-server`; another binary through the `ETCD_BIN` variable) on
/// loopback ports, with its data in a fresh temporary directory. Dropping
/// it kills the server and removes the directory.
///
/// ```no_run
/// use tonic_thrift_registry_etcd::LocalEtcd;
///
/// # async fn f() -> std::io::Result<()> {
/// let etcd = LocalEtcd::start().await?;
/// println!("etcd at {}", etcd.endpoint());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LocalEtcd {
    child: Option<Child>,
    dir: PathBuf,
    client_port: u16,
    peer_port: u16,
}

/// Two loopback ports free at the time of asking.
fn free_ports() -> io::Result<(u16, u16)> {
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

impl LocalEtcd {
    /// The binary it runs: `$ETCD_BIN`, else `etcd` from `PATH`.
    pub fn binary() -> PathBuf {
        std::env::var_os("ETCD_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("etcd"))
    }

    /// Whether the binary can be run.
    pub fn available() -> bool {
        Command::new(Self::binary())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts a server and waits (up to 20 s) until it is healthy.
    pub async fn start() -> io::Result<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tonic-thrift-etcd-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut etcd = LocalEtcd {
            child: None,
            dir,
            client_port: 0,
            peer_port: 0,
        };
        // Another process may take a port between asking and binding:
        // then try other ports.
        let mut attempts = 0;
        loop {
            (etcd.client_port, etcd.peer_port) = free_ports()?;
            match etcd.launch().await {
                Ok(()) => return Ok(etcd),
                Err(e) if attempts < 2 && e.to_string().contains("address already in use") => {
                    attempts += 1;
                    let _ = std::fs::remove_dir_all(etcd.dir.join("data"));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The client endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL); its data stays for [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports and data (after
    /// [`stop`](Self::stop); kills it first if running).
    pub async fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.launch().await
    }

    async fn launch(&mut self) -> io::Result<()> {
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::File::create(self.dir.join("etcd.log"))?;
        let child = Command::new(Self::binary())
            .arg("--name=local")
            .arg(format!("--data-dir={}", self.dir.join("data").display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=local={peer}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run {} (install Debian's etcd-server or set ETCD_BIN): {e}",
                        Self::binary().display()
                    ),
                )
            })?;
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if self.healthy().await {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
                return Err(io::Error::other(format!("etcd exited ({status}):\n{log}")));
            }
            if tokio::time::Instant::now() > deadline {
                self.stop();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "etcd did not become healthy within 20 s",
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks `/health` on the client port.
    async fn healthy(&self) -> bool {
        let ask = async {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.client_port)).await?;
            s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .await?;
            let mut body = Vec::new();
            s.read_to_end(&mut body).await?;
            io::Result::Ok(String::from_utf8_lossy(&body).contains("\"health\":\"true\""))
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(1), ask).await,
            Ok(Ok(true))
        )
    }
}

impl Drop for LocalEtcd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
