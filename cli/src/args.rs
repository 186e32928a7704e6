//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  tonic-thrift describe --idl idl/echo.thrift
  tonic-thrift describe --idl idl/echo.thrift TestService.Echo
  tonic-thrift call --idl idl/echo.thrift --addr 127.0.0.1:8888 TestService.EchoPingPong '{\"message\":\"hi\"}'
  tonic-thrift call --idl idl/echo.thrift --addr 127.0.0.1:8888 --transport framed TestService.EchoPingPong '{\"message\":\"hi\"}'
  tonic-thrift call --idl idl/echo.thrift --addr 127.0.0.1:8888 TestService.EchoServer '{\"message\":\"3\"}'
  printf '{\"message\":\"a\"}\\n{\"message\":\"b\"}\\n' | \\
    tonic-thrift call --idl idl/echo.thrift --addr 127.0.0.1:8888 --stream-transport ttstream TestService.Echo
  tonic-thrift serve --idl idl/echo.thrift --addr 127.0.0.1:0 --mock
  tonic-thrift completions bash > /etc/bash_completion.d/tonic-thrift";

/// Describe, call and mock any Thrift service from its IDL: gRPC and TTHeader
/// Streaming (every streaming mode), TTHeader, Framed and Buffered.
#[derive(Debug, Parser)]
#[command(name = "tonic-thrift", version, after_help = EXAMPLES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The IDL options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct Idl {
    /// The .thrift file.
    #[arg(long, value_name = "PATH")]
    pub(crate) idl: PathBuf,
    /// A directory searched for includes (repeatable).
    #[arg(short = 'I', value_name = "DIR")]
    pub(crate) include: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List services, methods (with their modes) and types.
    #[command(after_help = "Examples:
  tonic-thrift describe --idl api.thrift
  tonic-thrift describe --idl api.thrift Sink
  tonic-thrift describe --idl api.thrift Sink.Get")]
    Describe {
        #[command(flatten)]
        idl: Idl,
        /// `Service` or `Service.Method` to describe (default: everything).
        target: Option<String>,
    },
    /// Call a method with JSON: prints the reply as JSON, one line per
    /// message for streams.
    #[command(after_help = "JSON:
  The request is the method's argument (an object keyed by argument name when
  it has several). Without REQUEST, unary, ping-pong and server-streaming
  methods read it from stdin; client and bidirectional streams read one JSON
  message per line from stdin (bidi prints replies as they come).

Exit codes:
  0 OK, 1 bad usage or IDL, 2 could not connect, 3 business error or declared
  exception, 64 + the gRPC status code for any other failure.

Examples:
  tonic-thrift call --idl echo.thrift --addr 127.0.0.1:8888 TestService.EchoPingPong '{\"message\":\"hi\"}'
  tonic-thrift call --idl echo.thrift --addr 127.0.0.1:8888 --transport buffered TestService.EchoPingPong '{\"message\":\"hi\"}'
  tonic-thrift call --idl echo.thrift --addr 127.0.0.1:8888 -H TEST_KEY=v --timeout 2s TestService.EchoUnary '{\"message\":\"metainfo\"}'
  seq 3 | sed 's/.*/{\"message\":\"&\"}/' | tonic-thrift call --idl echo.thrift --addr 127.0.0.1:8888 TestService.EchoClient")]
    Call {
        #[command(flatten)]
        idl: Idl,
        #[command(flatten)]
        call: CallArgs,
    },
    /// Serve every service of the IDL.
    #[command(after_help = "Prints `LISTENING <addr>` once bound.

Examples:
  tonic-thrift serve --idl api.thrift --addr 127.0.0.1:0 --mock")]
    Serve {
        #[command(flatten)]
        idl: Idl,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8888")]
        addr: String,
        /// Answer every method with default values (streams: one message).
        #[arg(long)]
        mock: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The server, `host:port`.
    #[arg(long)]
    pub(crate) addr: String,
    /// Transport of streaming and `unary` methods; `grpc` also sends
    /// ping-pong methods over HTTP/2.
    #[arg(long, value_enum)]
    pub(crate) stream_transport: Option<StreamTransportArg>,
    /// Transport of ping-pong methods.
    #[arg(long, value_enum, default_value = "ttheader")]
    pub(crate) transport: TransportArg,
    /// Transient metainfo, `KEY=value` (repeatable).
    #[arg(short = 'H', value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) header: Vec<(String, String)>,
    /// Persistent metainfo, `KEY=value` (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) persist: Vec<(String, String)>,
    /// Deadline of the call: `500ms`, `2s`, `1m` (a bare number is seconds).
    #[arg(long, value_parser = duration)]
    pub(crate) timeout: Option<Duration>,
    /// `Service.Method`.
    pub(crate) method: String,
    /// The request as JSON (see below).
    pub(crate) request: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StreamTransportArg {
    /// gRPC over HTTP/2.
    Grpc,
    /// TTHeader Streaming.
    Ttstream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    /// TTHeader.
    Ttheader,
    /// TTHeader with a Framed length inside.
    #[value(name = "ttheader_framed")]
    TtheaderFramed,
    /// Framed.
    Framed,
    /// Buffered.
    Buffered,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=value, got {s:?}")),
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("expected a duration such as 500ms or 2s, got {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("bad duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(duration("2 weeks").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
