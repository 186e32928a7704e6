//! The no-op TTHeader Streaming peer: what a Kitex half of a mixed pair can
//! reach when the other half does no work at all. Blocking threads, no
//! runtime, no message decoded (the client reads frame headers to check
//! what comes back).
//!
//! - Server: every byte a connection sends is written straight back. A
//!   client's own HEADER, DATA and TRAILER frames, echoed, are a valid
//!   answer to the echo workloads (an OK TRAILER has no payload).
//! - Client: lock-step echoes and open+echo+close streams of the `Echo`
//!   method, built around a request message encoded once; in lock-step,
//!   each server DATA frame is sent back as it came. Each echo's bytes are
//!   checked against the request, and each stream's end for an error.
//!
//! It measures the peer, not a design: a real server must decode messages,
//! run handlers and keep streams apart.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tonic_thrift::ttstream::{FrameType, StreamFrame};

use crate::common::{BenchResult, Report};
use crate::Work;

/// Connections the client spreads its streams over: as many as our own
/// ttstream client opens by default.
const CONNECTIONS: usize = tonic_thrift::ttstream::DEFAULT_CONNECTIONS;

/// Echoes every connection's bytes back, one thread per connection.
pub(crate) fn serve(listener: TcpListener) -> BenchResult<()> {
    for conn in listener.incoming() {
        let mut conn = conn.map_err(|e| format!("accept: {e}"))?;
        std::thread::spawn(move || {
            let _ = conn.set_nodelay(true);
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = conn.read(&mut buf) {
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}

/// Runs `work` (lock-step or open+echo+close) against the server at `addr`:
/// `callers` streams at a time over [`CONNECTIONS`] connections, one
/// thread each; a warm-up of a tenth, then `n` measured.
pub(crate) fn client(addr: SocketAddr, work: Work, n: usize) -> BenchResult<Report> {
    let (size, callers, lockstep) = match work {
        Work::Lockstep { size, callers } => (size, callers, true),
        Work::StreamOpen { size, callers } => (size, callers, false),
        _ => return Err(format!("the no-op client has no {} workload", work.arg())),
    };
    let conns = CONNECTIONS.min(callers).max(1);
    let threads: Vec<_> = (0..conns)
        .map(|i| {
            // Callers split as evenly as they go.
            let streams = callers / conns + usize::from(i < callers % conns);
            let share = n / conns + usize::from(i < n % conns);
            let first_id = 1 + (i as i32) * 1_000_000_000 / conns as i32;
            std::thread::spawn(move || {
                let mut conn = Conn::connect(addr, first_id, size)?;
                conn.run(streams, (share / 10).max(streams * 10), lockstep)?;
                let start = Instant::now();
                let lat = conn.run(streams, share, lockstep)?;
                Ok::<_, String>((lat, start.elapsed()))
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    let mut longest = std::time::Duration::ZERO;
    for t in threads {
        let (lat, took) = t.join().map_err(|_| "a no-op client thread panicked")??;
        all.extend(lat);
        longest = longest.max(took);
    }
    if all.len() != n {
        return Err(format!("{} echoes completed, expected {n}", all.len()));
    }
    Ok(Report::calls(all, longest))
}

/// One client connection and the frames it sends.
struct Conn {
    tcp: TcpStream,
    next_id: i32,
    /// The request message, encoded once.
    message: Bytes,
    read: BytesMut,
    out: BytesMut,
}

impl Conn {
    fn connect(addr: SocketAddr, first_id: i32, size: usize) -> BenchResult<Conn> {
        let tcp = TcpStream::connect(addr).map_err(|e| format!("connecting to {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            tcp,
            next_id: first_id,
            message: echo_request(size),
            read: BytesMut::with_capacity(64 * 1024),
            out: BytesMut::with_capacity(64 * 1024),
        })
    }

    /// Queues a new stream's HEADER and first DATA (and its TRAILER unless
    /// it stays open); returns its id.
    fn open(&mut self, half_close: bool) -> BenchResult<i32> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let mut header = StreamFrame::new(FrameType::Header, id, "Echo");
        header.header.set_string("isn", "TestService");
        let data = StreamFrame::new(FrameType::Data, id, "Echo").with_payload(self.message.clone());
        let mut frames = vec![header, data];
        if half_close {
            frames.push(StreamFrame::new(FrameType::Trailer, id, "Echo"));
        }
        for f in frames {
            f.encode(&mut self.out).map_err(|e| e.to_string())?;
        }
        Ok(id)
    }

    fn flush(&mut self) -> BenchResult<()> {
        if !self.out.is_empty() {
            self.tcp
                .write_all(&self.out)
                .map_err(|e| format!("writing: {e}"))?;
            self.out.clear();
        }
        Ok(())
    }

    /// `n` echoes (lock-step: DATA frames back on `streams` open streams,
    /// half-closed at the end; else whole streams, `streams` at a time);
    /// their latencies in ns.
    fn run(&mut self, streams: usize, n: usize, lockstep: bool) -> BenchResult<Vec<u64>> {
        let mut due: HashMap<i32, Instant> = HashMap::with_capacity(streams);
        let mut open = Vec::with_capacity(streams);
        for _ in 0..streams.min(n) {
            let id = self.open(!lockstep)?;
            due.insert(id, Instant::now());
            open.push(id);
        }
        self.flush()?;
        let mut lat = Vec::with_capacity(n);
        while !due.is_empty() {
            self.read_some(lat.len())?;
            while let Some((frame, raw)) = self.next_frame()? {
                let id = frame.stream_id;
                match (frame.frame_type, lockstep) {
                    (Some(FrameType::Data), true) | (Some(FrameType::Trailer), false) => {}
                    _ => continue,
                }
                let t0 = due
                    .remove(&id)
                    .ok_or_else(|| format!("an answer for stream {id}, which has none due"))?;
                lat.push(t0.elapsed().as_nanos() as u64);
                if lat.len() + due.len() < n {
                    let id = if lockstep {
                        self.out.extend_from_slice(&raw);
                        id
                    } else {
                        self.open(true)?
                    };
                    due.insert(id, Instant::now());
                }
            }
            self.flush()?;
        }
        if lockstep {
            self.close(&open)?;
        }
        Ok(lat)
    }

    /// Half-closes the lock-step streams `ids` and waits for the server to
    /// end each.
    fn close(&mut self, ids: &[i32]) -> BenchResult<()> {
        for &id in ids {
            StreamFrame::new(FrameType::Trailer, id, "Echo")
                .encode(&mut self.out)
                .map_err(|e| e.to_string())?;
        }
        self.flush()?;
        let mut left = ids.len();
        while left > 0 {
            self.read_some(0)?;
            while let Some((frame, _)) = self.next_frame()? {
                if frame.frame_type == Some(FrameType::Trailer) {
                    left -= 1;
                }
            }
        }
        Ok(())
    }

    /// The next complete frame the server sent, decoded, with its bytes.
    /// A DATA frame must echo the request; a TRAILER with an error, an RST
    /// or a frame of no known type fails the run.
    fn next_frame(&mut self) -> BenchResult<Option<(StreamFrame, BytesMut)>> {
        let Some(&[a, b, c, d]) = self.read.get(..4) else {
            return Ok(None);
        };
        let total = 4 + u32::from_be_bytes([a, b, c, d]) as usize;
        if self.read.len() < total {
            return Ok(None);
        }
        let raw = self.read.split_to(total);
        let frame = StreamFrame::decode(&mut raw.clone(), usize::MAX)
            .map_err(|e| format!("a bad frame: {e}"))?
            .ok_or("a frame shorter than its length")?;
        let id = frame.stream_id;
        match frame.frame_type {
            None => return Err(format!("a frame of no known type on stream {id}")),
            Some(FrameType::Data) if frame.payload != self.message => {
                return Err(format!(
                    "stream {id}: an echo that differs from its request"
                ))
            }
            Some(FrameType::Trailer) if !frame.payload.is_empty() => {
                return Err(format!("stream {id} ended with an error"))
            }
            Some(FrameType::Rst) => return Err(format!("stream {id} was reset")),
            _ => {}
        }
        Ok(Some((frame, raw)))
    }

    /// Reads what the server has sent into `read`.
    fn read_some(&mut self, echoes: usize) -> BenchResult<()> {
        let mut chunk = [0u8; 64 * 1024];
        let got = self
            .tcp
            .read(&mut chunk)
            .map_err(|e| format!("reading: {e}"))?;
        if got == 0 {
            return Err(format!("the server closed after {echoes} echoes"));
        }
        self.read.extend_from_slice(&chunk[..got]);
        Ok(())
    }
}

/// The `Echo` request `{1: message}` in Thrift Binary.
fn echo_request(size: usize) -> Bytes {
    let mut b = Vec::with_capacity(size + 8);
    b.extend_from_slice(&[0x0b, 0x00, 0x01]);
    b.extend_from_slice(&(size as u32).to_be_bytes());
    b.extend(std::iter::repeat_n(b'x', size));
    b.push(0);
    Bytes::from(b)
}
