//! The address a spawned server reports. Included by the test crates that
//! need it with `#[path = "../support/listening.rs"] mod listening;`.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print its address.
const LIMIT: Duration = Duration::from_secs(30);

/// Reads the `LISTENING <addr>` line that `child` (the program `name`, with
/// its stdout piped) prints once it accepts connections; its stdout is then
/// drained in the background. Kills `child` and panics if no such line
/// comes within 30 s.
pub fn addr(child: &mut Child, name: &str) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("LISTENING ") {
                let _ = tx.send(addr.trim().to_string());
                break;
            }
        }
        for _ in lines {} // keep the pipe drained
    });
    match rx.recv_timeout(LIMIT) {
        Ok(addr) => addr,
        Err(_) => {
            let status = child.try_wait().ok().flatten();
            let _ = child.kill();
            panic!(
                "{name} printed no `LISTENING <addr>` line within 30 s (exit status: {status:?})"
            )
        }
    }
}
