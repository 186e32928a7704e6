//! The `grpc-timeout` header: `<up to 8 digits><unit>`, unit one of
//! `H` (hours), `M` (minutes), `S` (seconds), `m` (milliseconds),
//! `u` (microseconds), `n` (nanoseconds), per the gRPC over HTTP/2 spec.

use std::time::Duration;

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
