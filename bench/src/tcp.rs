//! The physical limit: a plain TCP copy over loopback, one connection,
//! blocking reads and writes of 1 MiB buffers, no framing and no runtime.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Instant;

use crate::common::{BenchResult, Report};

const CHUNK: usize = 1024 * 1024;

/// Each connection sends an 8-byte count; the server writes that many
/// `x` bytes and waits for the next count.
pub(crate) fn serve(listener: TcpListener) -> BenchResult<()> {
    for conn in listener.incoming() {
        let conn = conn.map_err(|e| format!("accept: {e}"))?;
        std::thread::spawn(move || {
            let _ = serve_one(conn);
        });
    }
    Ok(())
}

fn serve_one(mut conn: TcpStream) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let chunk = vec![b'x'; CHUNK];
    let mut want = [0u8; 8];
    loop {
        if conn.read_exact(&mut want).is_err() {
            return Ok(());
        }
        let mut left = u64::from_le_bytes(want) as usize;
        while left > 0 {
            let n = left.min(CHUNK);
            conn.write_all(&chunk[..n])?;
            left -= n;
        }
    }
}

fn copy_once(conn: &mut TcpStream, total: usize, buf: &mut [u8]) -> BenchResult<()> {
    conn.write_all(&(total as u64).to_le_bytes())
        .map_err(|e| format!("sending the count: {e}"))?;
    let mut got = 0;
    let mut first = true;
    while got < total {
        let want = (total - got).min(buf.len());
        let n = conn
            .read(&mut buf[..want])
            .map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            return Err(format!("the server closed after {got} of {total} bytes"));
        }
        if first && buf[..n].iter().any(|&b| b != b'x') {
            return Err("unexpected bytes in the copy".into());
        }
        first = false;
        got += n;
    }
    if buf[..total.min(buf.len()).min(got)]
        .iter()
        .any(|&b| b != b'x')
    {
        return Err("unexpected bytes in the copy".into());
    }
    Ok(())
}

/// Receives `n` × `size` bytes over one connection; reports MB/s (and the
/// equivalent messages per second of `size` bytes).
pub(crate) fn copy(addr: SocketAddr, size: usize, n: usize) -> BenchResult<Report> {
    let mut conn = TcpStream::connect(addr).map_err(|e| format!("connecting to {addr}: {e}"))?;
    conn.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; CHUNK];
    copy_once(&mut conn, size * (n / 10).max(1), &mut buf)?;
    let start = Instant::now();
    copy_once(&mut conn, size * n, &mut buf)?;
    Ok(Report::throughput(n as u64, size, start.elapsed()))
}
