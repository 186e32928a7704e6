//! Deadlines: how a call's timeout is chosen, carried and reported, on
//! both transports.
//!
//! - Precedence ([`call_timeout`]): the call's own ([`CallOptions::timeout`],
//!   else `tonic::Request::set_timeout`), else the client's default
//!   (`GrpcOptions::timeout`, `PingPongOptions::timeout`), as Kitex's
//!   `callopt.WithRPCTimeout` wins over its client option `WithRPCTimeout`.
//! - gRPC carries it in the `grpc-timeout` header: `<up to 8 digits><unit>`,
//!   unit one of `H` (hours), `M` (minutes), `S` (seconds), `m`
//!   (milliseconds), `u` (microseconds), `n` (nanoseconds), per the gRPC
//!   over HTTP/2 spec.
//! - TTHeader carries it as the RPC timeout (int key 12), in milliseconds.
//! - A call that runs out of time fails with [`deadline_exceeded`].

use std::time::Duration;

use http::HeaderMap;
use tonic::Status;

use crate::grpc::CallOptions;

/// The status of a call whose deadline passed.
pub(crate) fn deadline_exceeded() -> Status {
    Status::deadline_exceeded("deadline exceeded: the call's deadline passed")
}

/// The deadline of one call: its own ([`CallOptions::timeout`], else the
/// `grpc-timeout` that `tonic::Request::set_timeout` writes), else the
/// client's `default`.
pub(crate) fn call_timeout<T>(
    request: &tonic::Request<T>,
    default: Option<Duration>,
) -> Option<Duration> {
    request
        .extensions()
        .get::<CallOptions>()
        .and_then(|o| o.timeout)
        .or_else(|| grpc_timeout(request.metadata().as_ref())?.ok())
        .or(default)
}

/// Sets the deadline of a gRPC call (see [`call_timeout`]) on its request
/// as the `grpc-timeout` header, unless the header already says it.
pub(crate) fn set_call_timeout<T>(request: &mut tonic::Request<T>, default: Option<Duration>) {
    if let Some(t) = call_timeout(request, default) {
        if grpc_timeout(request.metadata().as_ref()).and_then(Result::ok) != Some(t) {
            request.set_timeout(t);
        }
    }
}

/// The `grpc-timeout` header of `headers`, if there is one, parsed.
pub(crate) fn grpc_timeout(headers: &HeaderMap) -> Option<Result<Duration, String>> {
    let value = headers.get("grpc-timeout")?;
    Some(
        value
            .to_str()
            .map_err(|_| "invalid grpc-timeout header: not text".to_string())
            .and_then(parse_grpc_timeout),
    )
}

/// A timeout as a `grpc-timeout` value in whole milliseconds, as a
/// ping-pong handler sees the caller's TTHeader RPC timeout.
pub(crate) fn grpc_timeout_millis(d: Duration) -> String {
    format!("{}m", d.as_millis())
}

/// A timeout as the TTHeader RPC timeout: milliseconds, rounded up, at least 1.
pub(crate) fn to_rpc_timeout(d: Duration) -> String {
    d.as_micros().div_ceil(1000).max(1).to_string()
}

/// The TTHeader RPC timeout (milliseconds); `None` when absent, zero or not
/// a number.
pub(crate) fn from_rpc_timeout(value: &str) -> Option<Duration> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// Parses a `grpc-timeout` value. The error says what is wrong with it.
pub fn parse_grpc_timeout(value: &str) -> Result<Duration, String> {
    let bad = |why: &str| format!("invalid grpc-timeout header `{value}`: {why}");
    let unit = value.chars().last().ok_or_else(|| bad("it is empty"))?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected 1 to 8 digits followed by a unit"));
    }
    let n: u64 = digits.parse().map_err(|_| bad("not a number"))?;
    Ok(match unit {
        'H' => Duration::from_secs(n * 3600),
        'M' => Duration::from_secs(n * 60),
        'S' => Duration::from_secs(n),
        'm' => Duration::from_millis(n),
        'u' => Duration::from_micros(n),
        'n' => Duration::from_nanos(n),
        _ => return Err(bad("expected the unit to be one of H, M, S, m, u, n")),
    })
}

/// Formats a deadline as Kitex writes it: microseconds (`u`), falling back
/// to coarser units when the value would need more than 8 digits.
pub fn format_grpc_timeout(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 100_000_000 {
        format!("{}u", micros.max(1))
    } else if d.as_millis() < 100_000_000 {
        format!("{}m", d.as_millis())
    } else if d.as_secs() < 100_000_000 {
        format!("{}S", d.as_secs())
    } else {
        format!("{}H", (d.as_secs() / 3600).min(99_999_999))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_grpc_timeout("2H"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("4S"), Ok(Duration::from_secs(4)));
        assert_eq!(parse_grpc_timeout("5m"), Ok(Duration::from_millis(5)));
        assert_eq!(
            parse_grpc_timeout("999999u"),
            Ok(Duration::from_micros(999_999))
        );
        assert_eq!(parse_grpc_timeout("7n"), Ok(Duration::from_nanos(7)));
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for bad in ["", "S", "12", "1x", "123456789S", "-1S", "1.5S", "1é"] {
            let e = parse_grpc_timeout(bad).unwrap_err();
            assert!(e.contains("invalid grpc-timeout header"), "{bad}: {e}");
        }
    }

    #[test]
    fn formats_in_microseconds_like_kitex() {
        assert_eq!(format_grpc_timeout(Duration::from_secs(5)), "5000000u");
        assert_eq!(
            parse_grpc_timeout(&format_grpc_timeout(Duration::from_secs(3600))),
            Ok(Duration::from_secs(3600))
        );
    }
}
