//! [`Uuid`], the Rust type of the Thrift `uuid` type (Apache Thrift 0.19+).

use std::fmt;
use std::str::FromStr;

/// A Thrift `uuid`: 16 bytes, written on the wire as they are (type tag 16,
/// in RFC 4122 byte order), as Apache Thrift and pilota do.
///
/// Shown and parsed in the canonical form
/// `00112233-4455-6677-8899-aabbccddeeff`; parsing also accepts the form in
/// braces (`{...}`) and upper-case hex digits, as IDL constants may use.
///
/// ```
/// use tonic_thrift::Uuid;
///
/// let id: Uuid = "{00112233-4455-6677-8899-AABBCCDDEEFF}".parse().unwrap();
/// assert_eq!(id.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
/// assert_eq!(id.as_bytes()[15], 0xff);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero uuid.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// A uuid from its 16 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Uuid(bytes)
    }

    /// Its 16 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the canonical form, with or without braces. Usable in `const`
    /// items; `None` when `text` is not a uuid.
    #[must_use]
    pub const fn parse_str(text: &str) -> Option<Uuid> {
        let mut s = text.as_bytes();
        if let [b'{', inner @ .., b'}'] = s {
            s = inner;
        }
        if s.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut i = 0;
        let mut n = 0;
        while i < 36 {
            if matches!(i, 8 | 13 | 18 | 23) {
                if s[i] != b'-' {
                    return None;
                }
                i += 1;
                continue;
            }
            let (Some(hi), Some(lo)) = (hex(s[i]), hex(s[i + 1])) else {
                return None;
            };
            out[n] = (hi << 4) | lo;
            n += 1;
            i += 2;
        }
        Some(Uuid(out))
    }
}

const fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl From<[u8; 16]> for Uuid {
    fn from(bytes: [u8; 16]) -> Self {
        Uuid(bytes)
    }
}

impl From<Uuid> for [u8; 16] {
    fn from(u: Uuid) -> Self {
        u.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// The text was not a uuid in the canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseUuidError;

impl fmt::Display for ParseUuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid uuid: expected 8-4-4-4-12 hex digits, optionally in braces")
    }
}

impl std::error::Error for ParseUuidError {}

impl FromStr for Uuid {
    type Err = ParseUuidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).ok_or(ParseUuidError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_prints_canonical() {
        let a: Uuid = "00000000-4444-CCCC-ffff-0123456789ab".parse().unwrap();
        let b: Uuid = "{00000000-4444-cccc-FFFF-0123456789AB}".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "00000000-4444-cccc-ffff-0123456789ab");
        assert_eq!(a.0[6], 0xcc);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "{}",
            "00000000-4444-cccc-ffff-0123456789a",
            "00000000-4444-cccc-ffff-0123456789abc",
            "00000000_4444-cccc-ffff-0123456789ab",
            "0000000g-4444-cccc-ffff-0123456789ab",
            "{00000000-4444-cccc-ffff-0123456789ab",
            "00000000-4444-cccc-ffff-0123456789€",
        ] {
            assert!(bad.parse::<Uuid>().is_err(), "{bad}");
        }
    }
}
