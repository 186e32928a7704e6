//! Benchmarks of tonic-thrift side by side with what a user would pick
//! instead: tonic + prost (gRPC), volo-thrift 0.12 (ping-pong) and, where
//! `../shared/kitex-peer/bin` exists, CloudWeGo Kitex.
//!
//! ```sh
//! cargo run --release -p tonic-thrift-bench -- [--quick] [--only PATTERNS] [--reps N]
//! ```
//!
//! Every measurement runs the server and the client as two processes (this
//! binary re-executed with the hidden `--serve` / `--client` modes, or the
//! Kitex peer's programs); the systems take turns within each repetition.
//! The run prints a table of absolute figures with their ratio to the
//! comparison system and writes `target/bench/results.json`.

mod apache;
mod buildcost;
mod churn;
mod common;
mod generic;
mod idle;
mod kitex;
mod micro;
mod noop_tt;
mod ours;
mod pb;
mod tcp;
mod tls;
mod volo_sys;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BenchResult, Report};

/// The framing of a ping-pong workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PpFraming {
    /// TTHeader with a Framed payload inside (the stock default of Kitex and volo).
    TTHeader,
    /// Framed.
    Framed,
    /// Framed, with the message in Thrift Compact instead of Binary.
    FramedCompact,
}

/// One workload, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Work {
    /// Echo on one bidi stream, sender and receiver pipelined.
    Bidi { size: usize },
    /// One request, a stream of replies of `size` bytes.
    ServerStream { size: usize },
    /// gRPC unary calls from concurrent callers.
    Unary { size: usize, callers: usize },
    /// Ping-pong Thrift calls from concurrent callers.
    PingPong {
        framing: PpFraming,
        size: usize,
        callers: usize,
    },
    /// Concurrent idle bidi streams on one connection.
    Idle { streams: usize },
    /// Lock-step echo (send one, wait for its echo) on `callers` open bidi
    /// streams.
    Lockstep { size: usize, callers: usize },
    /// Whole short bidi streams (open, one echo, close) from `callers` tasks.
    StreamOpen { size: usize, callers: usize },
    /// One client stream of `size`-byte messages, `mib` MiB in all, to a
    /// handler that reads slowly: the server's memory must stay bounded.
    SlowConsumer { size: usize, mib: usize },
    /// `conns` connections, each opened, used for one unary call and closed.
    Churn { conns: usize },
}

impl Work {
    /// The form passed on the command line of `--serve` / `--client`.
    fn arg(self) -> String {
        match self {
            Work::Bidi { size } => format!("bidi:{size}"),
            Work::ServerStream { size } => format!("sstream:{size}"),
            Work::Unary { size, callers } => format!("unary:{size}:{callers}"),
            Work::PingPong {
                framing,
                size,
                callers,
            } => format!(
                "pp-{}:{size}:{callers}",
                match framing {
                    PpFraming::TTHeader => "ttheader",
                    PpFraming::Framed => "framed",
                    PpFraming::FramedCompact => "framed-compact",
                }
            ),
            Work::Idle { streams } => format!("idle:{streams}"),
            Work::SlowConsumer { size, mib } => format!("slow:{size}:{mib}"),
            Work::Churn { conns } => format!("churn:{conns}"),
            Work::Lockstep { size, callers } => format!("lockstep:{size}:{callers}"),
            Work::StreamOpen { size, callers } => format!("open:{size}:{callers}"),
        }
    }

    fn parse(s: &str) -> BenchResult<Work> {
        let mut parts = s.split(':');
        let kind = parts.next().unwrap_or("");
        let mut num = || -> BenchResult<usize> {
            parts
                .next()
                .ok_or_else(|| format!("workload `{s}`: missing number"))?
                .parse()
                .map_err(|e| format!("workload `{s}`: {e}"))
        };
        Ok(match kind {
            "bidi" => Work::Bidi { size: num()? },
            "sstream" => Work::ServerStream { size: num()? },
            "unary" => Work::Unary {
                size: num()?,
                callers: num()?,
            },
            "pp-ttheader" | "pp-framed" | "pp-framed-compact" => Work::PingPong {
                framing: match kind {
                    "pp-ttheader" => PpFraming::TTHeader,
                    "pp-framed" => PpFraming::Framed,
                    _ => PpFraming::FramedCompact,
                },
                size: num()?,
                callers: num()?,
            },
            "idle" => Work::Idle { streams: num()? },
            "churn" => Work::Churn { conns: num()? },
            "slow" => Work::SlowConsumer {
                size: num()?,
                mib: num()?,
            },
            "lockstep" => Work::Lockstep {
                size: num()?,
                callers: num()?,
            },
            "open" => Work::StreamOpen {
                size: num()?,
                callers: num()?,
            },
            _ => return Err(format!("unknown workload `{s}`")),
        })
    }

    fn title(self) -> String {
        match self {
            Work::Bidi { size } => format!("bidi echo {}", size_name(size)),
            Work::ServerStream { size } => format!("server stream {}", size_name(size)),
            Work::Unary { size, callers } => {
                format!(
                    "unary {}, {callers} caller{}",
                    size_name(size),
                    plural(callers)
                )
            }
            Work::PingPong {
                framing,
                size,
                callers,
            } => format!(
                "ping-pong {} {}, {callers} caller{}",
                match framing {
                    PpFraming::TTHeader => "TTHeader",
                    PpFraming::Framed => "Framed",
                    PpFraming::FramedCompact => "Framed Compact",
                },
                size_name(size),
                plural(callers)
            ),
            Work::Idle { streams } => format!("{streams} idle bidi streams"),
            Work::Churn { conns } => format!("connect, call, close: {conns} connections"),
            Work::SlowConsumer { size, mib } => {
                format!("slow consumer, {} MiB in {} messages", mib, size_name(size))
            }
            Work::Lockstep { size, callers } => format!(
                "lock-step {}, {callers} stream{}",
                size_name(size),
                plural(callers)
            ),
            Work::StreamOpen { size, callers } => format!(
                "open+echo+close {}, {callers} caller{}",
                size_name(size),
                plural(callers)
            ),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn size_name(size: usize) -> String {
    if size >= 1 << 20 && size % (1 << 20) == 0 {
        format!("{} MiB", size >> 20)
    } else if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size >> 10)
    } else {
        format!("{size} B")
    }
}

/// `N:S` (N messages of S bytes) or `N` (16 bytes), as the Kitex peer's
/// server-streaming method takes it.
pub(crate) fn parse_count_size(msg: &str) -> Result<(usize, usize), String> {
    let (n, s) = msg.split_once(':').unwrap_or((msg, "16"));
    let n = n.parse().map_err(|_| format!("bad count in {msg:?}"))?;
    let s = s.parse().map_err(|_| format!("bad size in {msg:?}"))?;
    Ok((n, s))
}

// ---------------------------------------------------------------------------
// Systems and the plan.

/// One side of a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// tonic-thrift (this workspace).
    Ours,
    /// tonic-thrift's client with its streams over TTHeader Streaming (its
    /// server is [`Side::Ours`], which serves both transports on one port).
    OursTt,
    /// The generic client (tonic-thrift-generic, JSON) against [`Side::Ours`]'s server.
    Generic,
    /// tonic + prost.
    Prost,
    /// tonic-thrift with TLS on both sides (the `tls-*` rows).
    OursTls,
    /// tonic + prost over tonic's own TLS (`tls-ring`).
    ProstTls,
    /// volo-thrift.
    Volo,
    /// A plain TCP copy.
    Tcp,
    /// The Kitex peer.
    Kitex,
    /// A ttstream peer that does no work (`noop_tt`): the most a Kitex
    /// half of a mixed pair can reach.
    NoopTt,
    /// Apache Thrift's Python library (a server only; reference rows).
    ApachePy,
}

impl Side {
    fn arg(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::OursTt => "ours-tt",
            Side::Generic => "generic",
            Side::Prost => "prost",
            Side::OursTls => "ours-tls",
            Side::ProstTls => "prost-tls",
            Side::Volo => "volo",
            Side::Tcp => "tcp",
            Side::Kitex => "kitex",
            Side::NoopTt => "noop-tt",
            Side::ApachePy => "apache-py",
        }
    }

    fn parse(s: &str) -> BenchResult<Side> {
        Ok(match s {
            "ours" => Side::Ours,
            "ours-tt" => Side::OursTt,
            "generic" => Side::Generic,
            "prost" => Side::Prost,
            "ours-tls" => Side::OursTls,
            "prost-tls" => Side::ProstTls,
            "volo" => Side::Volo,
            "tcp" => Side::Tcp,
            "noop-tt" => Side::NoopTt,
            _ => return Err(format!("unknown system `{s}`")),
        })
    }
}

/// A system as measured: a server and a client.
#[derive(Clone, Copy, Debug)]
struct System {
    name: &'static str,
    server: Side,
    client: Side,
}

const OURS: System = System {
    name: "tonic-thrift",
    server: Side::Ours,
    client: Side::Ours,
};
const PROST: System = System {
    name: "tonic+prost",
    server: Side::Prost,
    client: Side::Prost,
};
const VOLO: System = System {
    name: "volo-thrift",
    server: Side::Volo,
    client: Side::Volo,
};
const TCP: System = System {
    name: "TCP copy",
    server: Side::Tcp,
    client: Side::Tcp,
};
const KITEX: System = System {
    name: "Kitex",
    server: Side::Kitex,
    client: Side::Kitex,
};
const OURS_TO_KITEX: System = System {
    name: "our client → Kitex server",
    server: Side::Kitex,
    client: Side::Ours,
};
const KITEX_TO_OURS: System = System {
    name: "Kitex client → our server",
    server: Side::Ours,
    client: Side::Kitex,
};
/// `ttstream-kitex-*` rows: the Kitex server's ceiling, with a client that
/// does no work.
const NOOP_TO_KITEX: System = System {
    name: "no-op client → Kitex server",
    server: Side::Kitex,
    client: Side::NoopTt,
};
/// `ttstream-kitex-*` rows: the Kitex client's ceiling, with a server that
/// echoes bytes and does nothing else.
const KITEX_TO_NOOP: System = System {
    name: "Kitex client → no-op server",
    server: Side::NoopTt,
    client: Side::Kitex,
};
/// `generic-bidi-16`: the generic client on our server.
const GENERIC: System = System {
    name: "tonic-thrift generic (JSON)",
    server: Side::Ours,
    client: Side::Generic,
};
/// `apache-py-*` rows: our client against Apache Thrift's Python server.
const OURS_TO_APACHE_PY: System = System {
    name: "our client → Apache Python server",
    server: Side::ApachePy,
    client: Side::Ours,
};
/// `ttstream-*` rows: our client's streams over TTHeader Streaming.
const OURS_TT: System = System {
    name: "tonic-thrift ttstream",
    server: Side::Ours,
    client: Side::OursTt,
};
/// `ttstream-*` rows: the same client and server, streams over gRPC.
const OURS_GRPC: System = System {
    name: "tonic-thrift gRPC",
    server: Side::Ours,
    client: Side::Ours,
};
/// `ttstream-kitex-*` rows: our ttstream client against the Kitex server.
const OURS_TT_TO_KITEX: System = System {
    name: "our client → Kitex server",
    server: Side::Kitex,
    client: Side::OursTt,
};

/// `tls-*` rows: ours with TLS on both sides.
const OURS_TLS: System = System {
    name: "tonic-thrift TLS",
    server: Side::OursTls,
    client: Side::OursTls,
};
/// `tls-*` rows: tonic+prost over tonic's TLS.
const PROST_TLS: System = System {
    name: "tonic+prost TLS",
    server: Side::ProstTls,
    client: Side::ProstTls,
};

/// Each `tls-*` row measured against tonic+prost over TLS, and the
/// plaintext row of the same workload: the issue's rule is that the TLS
/// ratio stays within 10 % of the plaintext one, in the same run.
const TLS_TWINS: [(&str, &str); 3] = [
    ("tls-bidi-16", "bidi-16"),
    ("tls-bidi-1024", "bidi-1024"),
    ("tls-unary-c16", "unary-c16"),
];

/// One row group of the table: a workload measured on several systems.
struct Case {
    id: String,
    title: String,
    work: Work,
    n: usize,
    systems: Vec<System>,
    /// The name of the system the others are compared with.
    comparison: &'static str,
}

struct Options {
    quick: bool,
    reps: usize,
    only: Vec<String>,
    kitex: bool,
    build_cost: Option<bool>,
    /// `--build-cost-idl`: a user's IDL to compare against volo-build.
    build_cost_idl: Option<PathBuf>,
    /// `--build-cost-include`: include folders for that IDL.
    build_cost_includes: Vec<PathBuf>,
}

fn plan(o: &Options, kitex_dir: Option<&Path>, apache: bool) -> Vec<Case> {
    let q = |full: usize, quick: usize| if o.quick { quick } else { full };
    let mut cases = Vec::new();
    let mut add = |id: String, work: Work, n: usize, systems: Vec<System>, comparison| {
        cases.push(Case {
            id,
            title: work.title(),
            work,
            n,
            systems,
            comparison,
        })
    };
    for (size, full, quick) in [
        (16, 6_000_000, 3_000_000),
        (1024, 1_000_000, 400_000),
        (64 * 1024, 30_000, 12_000),
    ] {
        add(
            format!("bidi-{size}"),
            Work::Bidi { size },
            q(full, quick),
            vec![OURS, PROST],
            PROST.name,
        );
    }
    add(
        "sstream-16".into(),
        Work::ServerStream { size: 16 },
        q(15_000_000, 4_000_000),
        vec![OURS, PROST],
        PROST.name,
    );
    add(
        "sstream-1m".into(),
        Work::ServerStream { size: 1 << 20 },
        q(3_000, 1_200),
        vec![OURS, PROST, TCP],
        PROST.name,
    );
    for (callers, full, quick) in [(1, 50_000, 20_000), (16, 150_000, 60_000)] {
        add(
            format!("unary-c{callers}"),
            Work::Unary { size: 16, callers },
            q(full, quick),
            vec![OURS, PROST],
            PROST.name,
        );
    }
    for framing in [
        PpFraming::TTHeader,
        PpFraming::Framed,
        PpFraming::FramedCompact,
    ] {
        for size in [16, 1024] {
            for (callers, full, quick) in [(1, 120_000, 50_000), (16, 200_000, 80_000)] {
                let work = Work::PingPong {
                    framing,
                    size,
                    callers,
                };
                add(
                    work.arg().replace(':', "-"),
                    work,
                    q(full, quick),
                    vec![OURS, VOLO],
                    VOLO.name,
                );
            }
        }
    }
    // 100,000 connections (a bench scenario of the reliability issue): the
    // rate, and whether the server gives back memory and descriptors.
    add(
        "churn-100000".into(),
        Work::Churn {
            conns: q(100_000, 20_000),
        },
        1,
        vec![OURS, PROST],
        PROST.name,
    );
    add(
        "idle-10000".into(),
        Work::Idle { streams: 10_000 },
        10_000,
        vec![OURS, PROST],
        PROST.name,
    );
    if kitex_dir.is_some() && o.kitex {
        let kx = vec![OURS_TO_KITEX, KITEX_TO_OURS, KITEX];
        let mut kitex_work = vec![
            (Work::Bidi { size: 16 }, 800_000, 300_000),
            (Work::Bidi { size: 1024 }, 400_000, 150_000),
            (Work::Bidi { size: 64 * 1024 }, 15_000, 6_000),
            (Work::ServerStream { size: 16 }, 1_500_000, 600_000),
            (Work::ServerStream { size: 1 << 20 }, 1_500, 600),
            (
                Work::Unary {
                    size: 16,
                    callers: 1,
                },
                15_000,
                6_000,
            ),
            (
                Work::Unary {
                    size: 16,
                    callers: 16,
                },
                80_000,
                30_000,
            ),
        ];
        for framing in [PpFraming::TTHeader, PpFraming::Framed] {
            for size in [16, 1024] {
                for (callers, full, quick) in [(1, 30_000, 12_000), (16, 100_000, 40_000)] {
                    kitex_work.push((
                        Work::PingPong {
                            framing,
                            size,
                            callers,
                        },
                        full,
                        quick,
                    ));
                }
            }
        }
        for (work, full, quick) in kitex_work {
            add(
                format!("kitex-{}", work.arg().replace(':', "-")),
                work,
                q(full, quick),
                kx.clone(),
                KITEX.name,
            );
        }
    }
    // TTHeader Streaming: our client's two stream transports, and (with
    // the peer) the Kitex ttstream client and server against ours.
    add(
        "generic-bidi-16".into(),
        Work::Bidi { size: 16 },
        q(1_500_000, 300_000),
        vec![GENERIC, OURS],
        OURS.name,
    );
    add(
        "ttstream-bidi-16".into(),
        Work::Bidi { size: 16 },
        q(1_500_000, 500_000),
        vec![OURS_TT, OURS_GRPC],
        OURS_GRPC.name,
    );
    // A slow consumer: ttstream has no flow control, so its bound comes
    // from pausing the connection; gRPC's from HTTP/2 windows.
    add(
        "ttstream-slow-64k".into(),
        Work::SlowConsumer {
            size: 64 * 1024,
            mib: q(1024, 256),
        },
        1,
        vec![OURS_TT, OURS_GRPC],
        OURS_GRPC.name,
    );
    // TLS: ours and tonic+prost over TLS; ping-pong over TLS against our
    // own plaintext ping-pong, as neither tonic+prost nor volo-thrift has
    // TLS ping-pong.
    for (size, full, quick) in [(16, 6_000_000, 3_000_000), (1024, 1_000_000, 400_000)] {
        add(
            format!("tls-bidi-{size}"),
            Work::Bidi { size },
            q(full, quick),
            vec![OURS_TLS, PROST_TLS],
            PROST_TLS.name,
        );
    }
    add(
        "tls-unary-c16".into(),
        Work::Unary {
            size: 16,
            callers: 16,
        },
        q(150_000, 60_000),
        vec![OURS_TLS, PROST_TLS],
        PROST_TLS.name,
    );
    add(
        "tls-pp-ttheader-16-16".into(),
        Work::PingPong {
            framing: PpFraming::TTHeader,
            size: 16,
            callers: 16,
        },
        q(200_000, 80_000),
        vec![OURS_TLS, OURS],
        OURS.name,
    );
    if kitex_dir.is_some() && o.kitex {
        let kx = vec![
            OURS_TT_TO_KITEX,
            KITEX_TO_OURS,
            OURS_TT,
            NOOP_TO_KITEX,
            KITEX_TO_NOOP,
            KITEX,
        ];
        for (work, full, quick) in [
            (
                Work::Lockstep {
                    size: 16,
                    callers: 16,
                },
                150_000,
                40_000,
            ),
            (
                Work::StreamOpen {
                    size: 16,
                    callers: 16,
                },
                60_000,
                15_000,
            ),
        ] {
            add(
                format!("ttstream-kitex-{}", work.arg().replace(':', "-")),
                work,
                q(full, quick),
                kx.clone(),
                KITEX.name,
            );
        }
    }
    if apache {
        // Reference only: Python is not a bar to clear. One caller, since
        // the Python server runs one call at a time anyway (the GIL).
        for framing in [PpFraming::Framed, PpFraming::FramedCompact] {
            let work = Work::PingPong {
                framing,
                size: 16,
                callers: 1,
            };
            add(
                format!("apache-py-{}", work.arg().replace(':', "-")),
                work,
                q(20_000, 5_000),
                vec![OURS, OURS_TO_APACHE_PY],
                OURS.name,
            );
        }
    }
    for c in cases.iter_mut() {
        if c.id.starts_with("apache-py-") {
            c.title = format!("Apache Python (reference): {}", c.title);
        } else if c.id.starts_with("kitex-") {
            c.title = format!("Kitex peer: {}", c.title);
        } else if c.id.starts_with("ttstream-kitex-") {
            c.title = format!("Kitex ttstream: {}", c.title);
        } else if c.id.starts_with("ttstream-") {
            c.title = format!("ttstream vs gRPC: {}", c.title);
        } else if c.id.starts_with("tls-") {
            c.title = format!("TLS: {}", c.title);
        }
    }
    if !o.only.is_empty() {
        let wanted = |id: &str| o.only.iter().any(|p| id.contains(p.as_str()));
        // A TLS row is read against its plaintext twin of the same run.
        let twin_wanted = |id: &str| TLS_TWINS.iter().any(|(t, p)| *p == id && wanted(t));
        cases.retain(|c| wanted(&c.id) || twin_wanted(&c.id));
    }
    cases
}

// ---------------------------------------------------------------------------
// Running one measurement: a server process, then a client process.

struct ServerProc {
    child: Child,
    addr: String,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(side: Side, work: Work, kitex_dir: Option<&Path>) -> BenchResult<ServerProc> {
    let mut cmd = match side {
        Side::Kitex => kitex::server_command(kitex_dir.ok_or("no Kitex peer")?),
        Side::ApachePy => apache::server_command(work)?,
        _ => {
            let mut c = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
            c.args(["--serve", side.arg(), &work.arg()]);
            tls::env(&mut c);
            c
        }
    };
    // The server exits when its stdin closes (our processes) or is killed.
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting the {side:?} server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut server = ServerProc {
        child,
        addr: String::new(),
    };
    for line in lines.by_ref() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(addr) = line.trim().strip_prefix("LISTENING ") {
            server.addr = addr.trim().to_string();
            break;
        }
    }
    if server.addr.is_empty() {
        return Err(format!("the {side:?} server ended without listening"));
    }
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(server)
}

/// What a finished client process left.
struct Finished {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs a command to completion within `limit`.
fn run_with_limit(mut cmd: Command, limit: Duration, what: &str) -> BenchResult<Finished> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("starting {what}: {e}"))?;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut err = child.stderr.take().ok_or("no stderr")?;
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    match status {
        None => Err(format!("{what} did not finish within {limit:?}")),
        Some(st) => Ok(Finished {
            success: st.success(),
            stdout,
            stderr,
        }),
    }
}

/// The last JSON line a client printed.
fn json_line(out: &str) -> Option<&str> {
    out.lines().rfind(|l| l.trim_start().starts_with('{'))
}

/// A failure message without backtraces, on one line, at most 300 characters.
fn condense(msg: &str) -> String {
    let mut out = String::new();
    for line in msg.lines().map(str::trim) {
        let backtrace = line == "stack backtrace:"
            || line.starts_with("at ")
            || line.starts_with("note: ")
            || line
                .split_once(": ")
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok());
        if line.is_empty() || backtrace || out.contains(line) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(" | ");
        }
        out.push_str(line);
    }
    if out.chars().count() > 300 {
        out = out.chars().take(297).collect::<String>() + "...";
    }
    out
}

fn measure(case: &Case, sys: System, kitex_dir: Option<&Path>) -> BenchResult<Report> {
    let server = start_server(sys.server, case.work, kitex_dir)?;
    let limit = Duration::from_secs(300);
    let what = format!("the {} client", sys.name);
    match sys.client {
        Side::Kitex => {
            let dir = kitex_dir.ok_or("no Kitex peer")?;
            let cmd = kitex::client_command(dir, case.work, &server.addr, case.n)?;
            let done = run_with_limit(cmd, limit, &what)?;
            match json_line(&done.stdout) {
                Some(line) => kitex::parse(case.work, line),
                None => Err(format!(
                    "kitex-peer-client printed no result: {}",
                    done.stderr.trim()
                )),
            }
        }
        side => {
            let mut cmd = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
            cmd.args([
                "--client",
                side.arg(),
                &case.work.arg(),
                &server.addr,
                &case.n.to_string(),
                &server.child.id().to_string(),
            ]);
            tls::env(&mut cmd);
            let done = run_with_limit(cmd, limit, &what)?;
            let v: serde_json::Value = json_line(&done.stdout)
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or_default();
            match (done.success, v.get("ok").and_then(|o| o.as_bool())) {
                (true, Some(true)) => Ok(Report::from_json(&v)),
                (_, Some(false)) => Err(v
                    .get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("failed")
                    .to_string()),
                _ => Err(format!("{what} failed: {}", done.stderr.trim())),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The hidden modes.

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `--serve <system> <workload>`: binds 127.0.0.1:0, prints
/// `LISTENING <addr>`, serves until stdin closes.
fn serve_mode(args: &[String]) -> BenchResult<()> {
    let [side, work] = args else {
        return Err("usage: --serve <system> <workload>".into());
    };
    let side = Side::parse(side)?;
    let work = Work::parse(work)?;
    // Exit when the parent goes away (it holds our stdin).
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    if matches!(side, Side::Tcp | Side::NoopTt) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        announce(listener.local_addr().map_err(|e| e.to_string())?);
        return match side {
            Side::Tcp => tcp::serve(listener),
            _ => noop_tt::serve(listener),
        };
    }
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        announce(listener.local_addr().map_err(|e| e.to_string())?);
        // The idle-streams workload holds more streams on one connection
        // than either server's default allows: raise the limit explicitly.
        let max_streams = match work {
            Work::Idle { streams } => Some(streams as u32 * 2),
            _ => None,
        };
        match side {
            // One server for both stream transports.
            Side::Ours | Side::OursTt | Side::Generic => {
                ours::serve(listener, max_streams, false).await
            }
            Side::OursTls => ours::serve(listener, max_streams, true).await,
            Side::Prost => pb::serve(listener, max_streams, false).await,
            Side::ProstTls => pb::serve(listener, max_streams, true).await,
            Side::Volo => match work {
                Work::PingPong { framing, .. } => volo_sys::serve(listener, framing).await,
                _ => Err(format!("volo serves ping-pong only, not {}", work.arg())),
            },
            Side::Tcp | Side::NoopTt | Side::Kitex | Side::ApachePy => unreachable!(),
        }
    })
}

fn announce(addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "LISTENING {addr}");
    let _ = out.flush();
}

/// `--client <system> <workload> <addr> <n> <server pid>`: runs the
/// workload, prints one JSON line.
fn client_mode(args: &[String]) -> BenchResult<()> {
    let [side, work, addr, n, pid] = args else {
        return Err("usage: --client <system> <workload> <addr> <n> <server pid>".into());
    };
    let side = Side::parse(side)?;
    let work = Work::parse(work)?;
    let addr: SocketAddr = addr.parse().map_err(|e| format!("bad address: {e}"))?;
    let n: usize = n.parse().map_err(|e| format!("bad count: {e}"))?;
    let pid: u32 = pid.parse().map_err(|e| format!("bad pid: {e}"))?;
    let tls = matches!(side, Side::OursTls | Side::ProstTls);
    let report = match (side, work) {
        (Side::Tcp, Work::ServerStream { size }) => tcp::copy(addr, size, n)?,
        (Side::NoopTt, work) => noop_tt::client(addr, work, n)?,
        _ => runtime().block_on(async move {
            match (side, work) {
                (Side::Ours | Side::OursTls, Work::Bidi { size }) => {
                    ours::bidi(addr, size, n, false, tls).await
                }
                (Side::OursTt, Work::Bidi { size }) => ours::bidi(addr, size, n, true, false).await,
                (Side::Generic, Work::Bidi { size }) => generic::bidi(addr, size, n).await,
                (Side::Ours | Side::OursTt, Work::Lockstep { size, callers }) => {
                    ours::lockstep(addr, size, callers, n, side == Side::OursTt).await
                }
                (Side::Ours | Side::OursTt, Work::StreamOpen { size, callers }) => {
                    ours::stream_open(addr, size, callers, n, side == Side::OursTt).await
                }
                (Side::Prost | Side::ProstTls, Work::Bidi { size }) => {
                    pb::bidi(addr, size, n, tls).await
                }
                (Side::Ours, Work::ServerStream { size }) => {
                    ours::server_stream(addr, size, n).await
                }
                (Side::Prost, Work::ServerStream { size }) => {
                    pb::server_stream(addr, size, n).await
                }
                (Side::Ours | Side::OursTls, Work::Unary { size, callers }) => {
                    ours::unary(addr, size, callers, n, tls).await
                }
                (Side::Prost | Side::ProstTls, Work::Unary { size, callers }) => {
                    pb::unary(addr, size, callers, n, tls).await
                }
                (
                    Side::Ours | Side::OursTls,
                    Work::PingPong {
                        framing,
                        size,
                        callers,
                    },
                ) => ours::ping_pong(addr, framing, size, callers, n, tls).await,
                (
                    Side::Volo,
                    Work::PingPong {
                        framing,
                        size,
                        callers,
                    },
                ) => volo_sys::ping_pong(addr, framing, size, callers, n).await,
                (Side::Ours, Work::Idle { streams }) => {
                    ours::idle_streams(addr, streams, pid).await
                }
                (Side::Ours | Side::OursTt, Work::SlowConsumer { size, mib }) => {
                    ours::slow_consumer(addr, size, mib, pid, side == Side::OursTt).await
                }
                (Side::Prost, Work::Idle { streams }) => pb::idle_streams(addr, streams, pid).await,
                (Side::Ours, Work::Churn { conns }) => ours::churn(addr, conns, pid).await,
                (Side::Prost, Work::Churn { conns }) => pb::churn(addr, conns, pid).await,
                _ => Err(format!("{} has no client for {}", side.arg(), work.arg())),
            }
        })?,
    };
    println!("{}", report.to_json());
    Ok(())
}

// ---------------------------------------------------------------------------
// Results.

/// One figure of the table.
struct Metric {
    unit: &'static str,
    higher_is_better: bool,
    get: fn(&Report) -> Option<f64>,
}

fn metrics(work: Work, sys: System) -> Vec<Metric> {
    let rate = |unit| Metric {
        unit,
        higher_is_better: true,
        get: |r| r.rate,
    };
    let latencies = [
        Metric {
            unit: "p50 µs",
            higher_is_better: false,
            get: |r| r.p50_us,
        },
        Metric {
            unit: "p99 µs",
            higher_is_better: false,
            get: |r| r.p99_us,
        },
    ];
    let mb = Metric {
        unit: "MB/s",
        higher_is_better: true,
        get: |r| r.mb_s,
    };
    match work {
        Work::Bidi { .. } => vec![rate("msgs/s")],
        Work::ServerStream { .. } if sys.server == Side::Tcp => vec![mb],
        Work::ServerStream { .. } => vec![rate("msgs/s"), mb],
        Work::Unary { .. } | Work::PingPong { .. } => {
            let mut m = vec![rate("calls/s")];
            m.extend(latencies);
            m
        }
        Work::Lockstep { .. } => {
            let mut m = vec![rate("msgs/s")];
            m.extend(latencies);
            m
        }
        Work::StreamOpen { .. } => {
            let mut m = vec![rate("streams/s")];
            m.extend(latencies);
            m
        }
        Work::Idle { .. } => vec![Metric {
            unit: "KiB/stream",
            higher_is_better: false,
            get: |r| r.kib_per_stream,
        }],
        Work::Churn { .. } => vec![
            rate("conns/s"),
            Metric {
                unit: "server RSS growth KiB",
                higher_is_better: false,
                get: |r| r.kib_per_stream,
            },
        ],
        Work::SlowConsumer { .. } => vec![
            Metric {
                unit: "peak RSS growth KiB",
                higher_is_better: false,
                get: |r| r.kib_per_stream,
            },
            mb,
        ],
    }
}

/// All repetitions of one system on one case.
struct Outcome {
    reports: Vec<Report>,
    failure: Option<String>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

fn human(v: f64, unit: &str) -> String {
    if unit.contains("µs") || unit.contains("KiB") || unit == "s" || unit.starts_with("s ") {
        return if v >= 100.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        };
    }
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// One line of the table and one row of the JSON file.
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) workload: String,
    pub(crate) system: String,
    pub(crate) comparison: String,
    pub(crate) unit: String,
    pub(crate) higher_is_better: bool,
    pub(crate) value: Option<f64>,
    pub(crate) runs: Vec<f64>,
    pub(crate) ratio: Option<f64>,
    pub(crate) failure: Option<String>,
}

fn rows_of(case: &Case, outcomes: &[Outcome]) -> Vec<Row> {
    let comp = case
        .systems
        .iter()
        .position(|s| s.name == case.comparison)
        .expect("the comparison system is one of the case's");
    let mut rows = Vec::new();
    for (i, sys) in case.systems.iter().enumerate() {
        for m in metrics(case.work, *sys) {
            let runs: Vec<f64> = outcomes[i].reports.iter().filter_map(m.get).collect();
            let value = if outcomes[i].failure.is_some() {
                None
            } else {
                median(runs.clone())
            };
            let comp_value = if outcomes[comp].failure.is_some() {
                None
            } else {
                median(outcomes[comp].reports.iter().filter_map(m.get).collect())
            };
            let ratio = match (value, comp_value) {
                (Some(v), Some(c)) if c > 0.0 => Some(v / c),
                _ => None,
            };
            rows.push(Row {
                id: case.id.clone(),
                workload: case.title.clone(),
                system: sys.name.to_string(),
                comparison: case.comparison.to_string(),
                unit: m.unit.to_string(),
                higher_is_better: m.higher_is_better,
                value,
                runs,
                ratio,
                failure: outcomes[i].failure.clone(),
            });
        }
    }
    rows
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<48} {:<11} {:<27} {:>10}   {:<19} {:>10}   {:>7}",
        "workload", "metric", "system", "value", "comparison", "value", "ratio"
    );
    println!("{}", "-".repeat(142));
    let mut last = String::new();
    for r in rows.iter().filter(|r| r.system != r.comparison) {
        let comp = rows
            .iter()
            .find(|c| c.id == r.id && c.unit == r.unit && c.system == r.comparison);
        let workload = if r.workload == last {
            String::new()
        } else {
            r.workload.clone()
        };
        last = r.workload.clone();
        let value = match (&r.failure, r.value) {
            (Some(_), _) => "FAILED".to_string(),
            (None, Some(v)) => human(v, &r.unit),
            (None, None) => "-".to_string(),
        };
        let comp_value = match comp {
            Some(c) if c.failure.is_some() => "FAILED".to_string(),
            Some(c) => c.value.map(|v| human(v, &c.unit)).unwrap_or("-".into()),
            None => "-".into(),
        };
        let ratio = match r.ratio {
            Some(x) => format!("{x:.2}×{}", if r.higher_is_better { "↑" } else { "↓" }),
            None => "-".into(),
        };
        println!(
            "{:<48} {:<11} {:<27} {:>10}   {:<19} {:>10}   {:>7}",
            workload, r.unit, r.system, value, r.comparison, comp_value, ratio
        );
    }
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        if let Some(f) = &r.failure {
            if seen.insert((r.id.clone(), r.system.clone())) {
                println!("FAILED {} / {}: {f}", r.workload, r.system);
            }
        }
    }
    println!();
    println!(
        "ratio = system / comparison; ↑ higher is better, ↓ lower is better. MB = 10^6 bytes."
    );
}

fn write_json(path: &Path, rows: &[Row], o: &Options, notes: &[String]) -> BenchResult<()> {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "workload": r.workload,
                "system": r.system,
                "value": r.value,
                "unit": r.unit,
                "ratio": r.ratio,
                "comparison": r.comparison,
                "better": if r.higher_is_better { "higher" } else { "lower" },
                "runs": r.runs,
                "error": r.failure,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "quick": o.quick,
        "repetitions": o.reps,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "notes": notes,
        "rows": rows,
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))
}

/// `<target dir>/bench/results.json`, the target dir being the one this
/// binary was built into (`target/release/tonic-thrift-bench`).
fn results_path() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench").join("results.json")
}

fn parse_options(args: &[String]) -> BenchResult<Options> {
    let mut o = Options {
        quick: false,
        reps: 3,
        only: Vec::new(),
        kitex: true,
        build_cost: None,
        build_cost_idl: None,
        build_cost_includes: Vec::new(),
    };
    let mut reps = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--reps" => {
                reps = Some(
                    it.next()
                        .ok_or("--reps needs a number")?
                        .parse()
                        .map_err(|e| format!("--reps: {e}"))?,
                )
            }
            "--only" => {
                o.only = it
                    .next()
                    .ok_or("--only needs a comma-separated list of workload ids")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--no-kitex" => o.kitex = false,
            "--build-cost" => o.build_cost = Some(true),
            "--no-build-cost" => o.build_cost = Some(false),
            "--build-cost-idl" => {
                o.build_cost_idl = Some(
                    it.next()
                        .ok_or("--build-cost-idl needs a .thrift file")?
                        .into(),
                )
            }
            "--build-cost-include" => o.build_cost_includes.push(
                it.next()
                    .ok_or("--build-cost-include needs a folder")?
                    .into(),
            ),
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    o.reps = reps.unwrap_or(if o.quick { 1 } else { 3 }).max(1);
    Ok(o)
}

const USAGE: &str = "usage: tonic-thrift-bench [--quick] [--reps N] [--only ID,ID..] [--no-kitex] [--build-cost|--no-build-cost]
  --quick          one repetition, smaller counts, no build-cost workload (under 3 minutes on 2 cores)
  --reps N         repetitions (default 3; medians are reported)
  --only IDS       only the workloads whose id contains one of IDS (ids: bidi-16, sstream-1m,
                   unary-c16, pp-ttheader-16-16, idle-10000, kitex-..., ttstream-..., tls-...,
                   build-cost; a tls-* row brings its plaintext twin)
  --decode-micro   only time one message decode, ours against prost, in one thread
  --no-kitex       skip the Kitex peer even where ../shared/kitex-peer/bin exists
  --build-cost     run the build-cost workload (default: on without --quick)
  --build-cost-idl FILE [--build-cost-include DIR]..
                   only compare `cargo check` of FILE's generated crate: tonic-thrift-build
                   against volo-build (for example Hive's hive_metastore.thrift)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--serve") => serve_mode(&args[1..]),
        Some("--client") => client_mode(&args[1..]),
        Some("--decode-micro") => micro::run(&[16, 1024]),
        _ => orchestrate(&args),
    };
    if let Err(e) = result {
        // A failed client still prints one JSON line, for the orchestrator.
        if args.first().map(String::as_str) == Some("--client") {
            println!("{}", serde_json::json!({ "ok": false, "error": e }));
        }
        eprintln!("{e}");
        std::process::exit(1);
    }
}

fn orchestrate(args: &[String]) -> BenchResult<()> {
    let o = parse_options(args)?;
    if let Some(idl) = &o.build_cost_idl {
        let rows = buildcost::run_idl(idl, &o.build_cost_includes, o.reps)?;
        print_table(&rows);
        return Ok(());
    }
    let started = Instant::now();
    let kitex_dir = kitex::bin_dir();
    let mut notes = Vec::new();
    match (&kitex_dir, o.kitex) {
        (None, _) => notes.push(
            "Kitex rows skipped: ../shared/kitex-peer/bin (or $KITEX_PEER_BIN) not found".into(),
        ),
        (Some(_), false) => notes.push("Kitex rows skipped: --no-kitex".into()),
        (Some(d), true) => notes.push(format!("Kitex peer: {}", d.display())),
    }
    let apache_missing = apache::missing();
    match &apache_missing {
        Some(why) => notes.push(format!("Apache Python rows skipped: {why}")),
        None => notes.push("Apache Python rows: reference only, not a target".into()),
    }
    let cases = plan(&o, kitex_dir.as_deref(), apache_missing.is_none());
    // Made once, for every TLS server and client of the run.
    let _tls_files = if cases.iter().any(|c| c.id.starts_with("tls-")) {
        Some(tls::generate()?)
    } else {
        None
    };
    eprintln!(
        "{} workloads × {} repetition(s){}; server and client are separate processes",
        cases.len(),
        o.reps,
        if o.quick { " (quick)" } else { "" }
    );
    let mut outcomes: Vec<Vec<Outcome>> = cases
        .iter()
        .map(|c| {
            c.systems
                .iter()
                .map(|_| Outcome {
                    reports: Vec::new(),
                    failure: None,
                })
                .collect()
        })
        .collect();
    for rep in 0..o.reps {
        for (ci, case) in cases.iter().enumerate() {
            // Interleave: each repetition starts with a different system.
            let k = case.systems.len();
            for j in 0..k {
                let si = (j + rep) % k;
                let sys = case.systems[si];
                let out = &mut outcomes[ci][si];
                if out.failure.is_some() {
                    continue;
                }
                let t = Instant::now();
                match measure(case, sys, kitex_dir.as_deref()) {
                    Ok(r) => {
                        eprintln!(
                            "[{:>5.1}s] rep {} {:<34} {:<27} {} ({:.2}s)",
                            started.elapsed().as_secs_f64(),
                            rep + 1,
                            case.title,
                            sys.name,
                            summary(&r),
                            t.elapsed().as_secs_f64()
                        );
                        out.reports.push(r);
                    }
                    Err(e) => {
                        let e = condense(&e);
                        eprintln!("rep {} {} {}: FAILED: {e}", rep + 1, case.title, sys.name);
                        out.failure = Some(e);
                    }
                }
            }
        }
    }
    let mut rows: Vec<Row> = cases
        .iter()
        .zip(&outcomes)
        .flat_map(|(c, o)| rows_of(c, o))
        .collect();

    let want_build_cost = o.build_cost.unwrap_or(!o.quick)
        && (o.only.is_empty() || o.only.iter().any(|p| "build-cost".contains(p.as_str())));
    if want_build_cost {
        match buildcost::run(o.reps) {
            Ok(mut r) => rows.append(&mut r),
            Err(e) => {
                eprintln!("build cost skipped: {e}");
                notes.push(format!("build cost skipped: {e}"));
            }
        }
    } else {
        let why = if o.quick {
            "build cost not measured: --quick (add --build-cost to include it)"
        } else {
            "build cost not measured: --no-build-cost or --only"
        };
        eprintln!("{why}");
        notes.push(why.to_string());
    }

    // The physical limit: each system's 1 MiB server-streaming MB/s as a
    // share of the TCP copy's.
    let mbs = |sys: &str| {
        rows.iter()
            .find(|r| r.id == "sstream-1m" && r.unit == "MB/s" && r.system == sys)
            .and_then(|r| r.value)
    };
    if let Some(limit) = mbs(TCP.name) {
        for sys in [OURS.name, PROST.name] {
            if let Some(v) = mbs(sys) {
                notes.push(format!(
                    "server stream 1 MiB: {sys} reaches {:.0} % of the TCP copy ({v:.0} of {limit:.0} MB/s)",
                    100.0 * v / limit
                ));
            }
        }
    }
    notes.extend(tls_notes(&rows));
    print_table(&rows);
    for n in &notes {
        println!("note: {n}");
    }
    let path = results_path();
    write_json(&path, &rows, &o, &notes)?;
    println!(
        "wrote {} ({:.0} s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    if rows.iter().any(|r| r.failure.is_some()) {
        return Err("some measurements failed (see above)".into());
    }
    Ok(())
}

/// After the table: each TLS row's ratio next to the plaintext ratio of
/// the same workload (the rule: within 10 %), and what TLS costs our
/// ping-pong (against tonic+prost's unary cost, the nearest thing to compare).
fn tls_notes(rows: &[Row]) -> Vec<String> {
    let find = |id: &str, sys: &str, unit: &str| {
        rows.iter()
            .find(|r| r.id == id && r.system == sys && r.unit == unit)
    };
    let mut notes = Vec::new();
    for (tls_id, plain_id) in TLS_TWINS {
        for r in rows
            .iter()
            .filter(|r| r.id == tls_id && r.system == OURS_TLS.name)
        {
            let plain = find(plain_id, OURS.name, &r.unit).and_then(|p| p.ratio);
            let line = match (r.ratio, plain) {
                (Some(t), Some(p)) => {
                    let within = if r.higher_is_better {
                        t >= 0.9 * p
                    } else {
                        t <= 1.1 * p
                    };
                    format!(
                        "TLS rule, {tls_id} {}: ratio over TLS {t:.2}× vs plaintext ({plain_id}) {p:.2}× (TLS/plaintext {:.2}): {}",
                        r.unit,
                        t / p,
                        if within { "within 10 %" } else { "OUTSIDE 10 %" }
                    )
                }
                _ => format!(
                    "TLS rule, {tls_id} {}: no ratio (a measurement failed or {plain_id} did not run)",
                    r.unit
                ),
            };
            notes.push(line);
        }
    }
    let rate = |id: &str, sys: &str| find(id, sys, "calls/s").and_then(|r| r.value);
    if let (Some(t), Some(p)) = (
        rate("tls-pp-ttheader-16-16", OURS_TLS.name),
        rate("tls-pp-ttheader-16-16", OURS.name),
    ) {
        let mut line = format!(
            "TLS cost, tls-pp-ttheader-16-16 (against our plaintext ping-pong: neither tonic+prost nor volo-thrift has TLS ping-pong): ours over TLS at {:.0} % of its plaintext rate",
            100.0 * t / p
        );
        if let (Some(pt), Some(pp)) = (
            rate("tls-unary-c16", PROST_TLS.name),
            rate("unary-c16", PROST.name),
        ) {
            line.push_str(&format!(
                " (tonic+prost unary ×16 over TLS: {:.0} % of its plaintext rate)",
                100.0 * pt / pp
            ));
        }
        notes.push(line);
    }
    notes
}

fn summary(r: &Report) -> String {
    let mut parts = Vec::new();
    if let Some(v) = r.rate {
        parts.push(format!("{}/s", human(v, "")));
    }
    if let Some(v) = r.mb_s {
        parts.push(format!("{v:.0} MB/s"));
    }
    if let (Some(a), Some(b)) = (r.p50_us, r.p99_us) {
        parts.push(format!("p50 {a:.0} µs p99 {b:.0} µs"));
    }
    if let Some(v) = r.kib_per_stream {
        parts.push(format!("{v:.2} KiB/stream"));
    }
    parts.join(", ")
}
